//! `[[plugins.exec.commands]]`: what each command is, checked once at load into a
//! [`Plan`]. Every refusal names the key and the command (`commands[2]` until its name
//! is known), in backticks so the host can point at the line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use monitoring_plugin_api::sections::scripted::ScriptFormat;
use monitoring_plugin_api::PluginError;
use script_formats::process::CommandSpec;
use serde::Deserialize;

/// `[plugins.exec]`: the commands. Each table is read on its own (see [`CommandConfig`])
/// so that an error can name the command it is in.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// One `[[plugins.exec.commands]]` table per command.
    pub commands: Vec<serde_json::Value>,
}

/// One `[[plugins.exec.commands]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// Its name: the key of its status in the `exec` section and its section's default
    /// name. Letters, digits, `_` and `-`.
    pub name: String,
    /// The program and its arguments, as an array (no shell). With `shell = true`, one
    /// string (or a one-string array) run by `/bin/sh -c`.
    pub command: CommandLine,
    /// Run `command` through `/bin/sh -c`. Default false.
    #[serde(default)]
    pub shell: bool,
    /// What it prints: `json`, `prometheus`, `influx` or `nagios`.
    pub format: ScriptFormat,
    /// Seconds between runs (`once`), or between the newlines a daemon with
    /// `signal = "stdin"` is sent. Results are read at the host's next tick. Default 10.
    #[serde(default = "default_interval")]
    pub interval: f64,
    /// Seconds a run may take before its process group is killed. Default 5.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// Its environment; nothing of the server's is inherited. `PATH` defaults to
    /// [`DEFAULT_PATH`].
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Its working directory. Default: the server's.
    pub cwd: Option<PathBuf>,
    /// The section it fills. Default: its `name`.
    pub section: Option<String>,
    /// The user it runs as; needs the server to run as root.
    pub user: Option<String>,
    /// `once` (run every `interval`, default) or `daemon` (started once, one reading
    /// per line; restarted with back-off when it exits).
    #[serde(default)]
    pub mode: Mode,
    /// For a daemon: `stdin` sends it a newline every `interval` to ask for a reading
    /// (Telegraf `execd`'s `signal = "STDIN"`). Default: none.
    pub signal: Option<Signal>,
    /// Most bytes of stdout per run (per reading for a daemon). Default 1 MiB.
    #[serde(default = "default_max_output")]
    pub max_output: usize,
}

/// `command`: an argv array, or with `shell = true` a script.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CommandLine {
    /// A shell script (only with `shell = true`).
    Script(String),
    /// The program and its arguments.
    Argv(Vec<String>),
}

/// How a command runs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Run every `interval`, to its end or its timeout.
    #[default]
    Once,
    /// Started once and read line by line.
    Daemon,
}

impl Mode {
    /// As the `exec` section spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Once => "once",
            Mode::Daemon => "daemon",
        }
    }
}

/// How a daemon is asked for a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// A newline on its stdin every `interval`.
    Stdin,
}

/// `PATH` of a command whose `env` does not set one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Most commands.
pub const MAX_COMMANDS: usize = 256;
/// Largest `max_output`: 64 MiB.
pub const MAX_OUTPUT_CAP: usize = 64 * 1024 * 1024;
/// Longest `interval` and `timeout`: a day.
pub const MAX_SECONDS: f64 = 86_400.0;
/// Shortest `interval` and `timeout`.
pub const MIN_SECONDS: f64 = 0.1;

fn default_interval() -> f64 {
    10.0
}
fn default_timeout() -> f64 {
    5.0
}
fn default_max_output() -> usize {
    1024 * 1024
}

/// One command, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What to run.
    pub spec: CommandSpec,
    /// The section it fills.
    pub section: String,
    /// What it prints.
    pub format: ScriptFormat,
    /// Between runs.
    pub interval: Duration,
    /// Longest run.
    pub timeout: Duration,
    /// `once` or `daemon`.
    pub mode: Mode,
    /// For a daemon: send a newline every `interval`.
    pub signal_stdin: bool,
}

/// Checks every command; the first problem is the error.
pub fn plans(config: Config) -> Result<Vec<Plan>, PluginError> {
    if config.commands.len() > MAX_COMMANDS {
        return Err(PluginError::config(format_args!(
            "`commands`: {} commands, at most {MAX_COMMANDS}",
            config.commands.len()
        )));
    }
    let mut names = BTreeSet::new();
    let mut sections = BTreeSet::new();
    let mut plans = Vec::with_capacity(config.commands.len());
    for (index, raw) in config.commands.into_iter().enumerate() {
        let label = raw
            .get("name")
            .and_then(|n| n.as_str())
            .filter(|n| valid_name(n))
            .map_or_else(
                || format!("commands[{index}]"),
                |n| format!("command `{n}`"),
            );
        let command: CommandConfig = serde_json::from_value(raw)
            .map_err(|e| PluginError::config(format_args!("`commands`: {label}: {e}")))?;
        let plan = plan(command).map_err(|message| {
            PluginError::config(format_args!("`commands`: {label}: {message}"))
        })?;
        if !names.insert(plan.spec.name.clone()) {
            return Err(PluginError::config(format_args!(
                "`commands`: {label}: `name` is used by an earlier command"
            )));
        }
        if !sections.insert(plan.section.clone()) {
            return Err(PluginError::config(format_args!(
                "`commands`: {label}: `section` `{}` is filled by an earlier command",
                plan.section
            )));
        }
        plans.push(plan);
    }
    Ok(plans)
}

fn plan(command: CommandConfig) -> Result<Plan, String> {
    if !valid_name(&command.name) {
        return Err("`name` must be 1 to 64 letters, digits, `_` or `-`".into());
    }
    let section = command.section.unwrap_or_else(|| command.name.clone());
    if !valid_name(&section) || section == "exec" {
        return Err(format!(
            "`section` `{section}` must be 1 to 64 letters, digits, `_` or `-`, and not `exec`"
        ));
    }
    let argv = argv(command.command, command.shell)?;
    let interval = seconds("interval", command.interval)?;
    let timeout = seconds("timeout", command.timeout)?;
    if command.max_output == 0 || command.max_output > MAX_OUTPUT_CAP {
        return Err(format!("`max_output` must be 1 to {MAX_OUTPUT_CAP} bytes"));
    }
    match (command.mode, command.format, command.signal) {
        (Mode::Daemon, ScriptFormat::Nagios, _) => {
            return Err(
                "`mode` `daemon` cannot be used with `format` `nagios` (its state is an exit code)"
                    .into(),
            )
        }
        (Mode::Once, _, Some(_)) => return Err("`signal` is for `mode = \"daemon\"` only".into()),
        _ => {}
    }
    let account = match &command.user {
        Some(user) => Some(script_formats::user::lookup(user).map_err(|e| format!("`user`: {e}"))?),
        None => None,
    };
    if command.env.len() > 256 {
        return Err("`env` has more than 256 variables".into());
    }
    if let Some(key) = command
        .env
        .keys()
        .find(|k| k.is_empty() || k.contains(['=', '\0']))
    {
        return Err(format!("`env`: `{key}` is not a variable name"));
    }
    if command.env.values().any(|v| v.contains('\0')) {
        // The value may be a secret: name no value.
        return Err("`env`: a value contains a NUL byte".into());
    }
    let mut env: Vec<(String, String)> = command.env.into_iter().collect();
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), DEFAULT_PATH.into()));
    }
    Ok(Plan {
        spec: CommandSpec {
            name: command.name,
            argv,
            env,
            cwd: command.cwd,
            account,
            max_output: command.max_output,
        },
        section,
        format: command.format,
        interval,
        timeout,
        mode: command.mode,
        signal_stdin: command.signal == Some(Signal::Stdin),
    })
}

fn argv(command: CommandLine, shell: bool) -> Result<Vec<String>, String> {
    let argv = match (command, shell) {
        (CommandLine::Script(script), true) => vec!["/bin/sh".into(), "-c".into(), script],
        (CommandLine::Argv(mut one), true) if one.len() == 1 => {
            vec!["/bin/sh".into(), "-c".into(), one.remove(0)]
        }
        (CommandLine::Argv(_), true) => {
            return Err("`command` with `shell = true` must be one string (the script)".into())
        }
        (CommandLine::Script(_), false) => return Err(
            "`command` is a string: give an array (program, then arguments), or set `shell = true`"
                .into(),
        ),
        (CommandLine::Argv(argv), false) => argv,
    };
    if argv.first().is_none_or(|program| program.is_empty()) {
        return Err("`command` is empty".into());
    }
    if argv.iter().any(|arg| arg.contains('\0')) {
        return Err("`command` contains a NUL byte".into());
    }
    Ok(argv)
}

fn seconds(key: &str, value: f64) -> Result<Duration, String> {
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&value) {
        return Err(format!(
            "`{key}` must be seconds between {MIN_SECONDS} and {MAX_SECONDS}, got {value}"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
