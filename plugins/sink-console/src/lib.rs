//! Sink plugin `console`: one line per alert on standard output, coloured by level
//! (yellow WARNING, red CRITICAL, green RESOLVED) as the seed's `ConsoleAlertHandler`.
//!
//! Colour follows the usual conventions: on only when standard output is a terminal and
//! `NO_COLOR` is unset or empty (<https://no-color.org>), unless `color` forces it.
//! Snapshots are not for this sink and are ignored.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use monitoring_plugin_api::prelude::*;

/// When to colour the output.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour, even into a pipe or file.
    Always,
    /// Never colour.
    Never,
}

/// Settings of `[plugins.console]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `"auto"` (default), `"always"` or `"never"`.
    pub color: ColorChoice,
}

/// Writes alert lines to standard output.
pub struct ConsoleSink {
    /// Decided once at start: whether stdout is a terminal does not change while we run.
    color: bool,
}

impl Sink for ConsoleSink {
    const NAME: &'static str = "console";
    const DESCRIPTION: &'static str = "Prints alerts on standard output, coloured by level.";
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        let color = match config.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                !no_color && std::io::stdout().is_terminal()
            }
        };
        Ok(Self { color })
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let Some(line) = format_line(event, self.color) else {
            return Ok(());
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| match e.kind() {
                // Nobody will read a closed stdout again; retrying cannot help.
                std::io::ErrorKind::BrokenPipe => {
                    PluginError::fatal(format_args!("stdout is closed: {e}"))
                }
                _ => PluginError::retryable(format_args!("cannot write to stdout: {e}")),
            })
    }
}

declare_sink!(ConsoleSink);

/// The line printed for an event, or `None` for events this sink ignores.
///
/// `2025-01-03T10:15:30 WARNING  memory.usage_percent: High memory usage: 85.5% (threshold: 80.0%)`
pub fn format_line(event: &SinkEvent, color: bool) -> Option<String> {
    let (alert, when, label, text, colour) = match event {
        SinkEvent::Alert { alert } => {
            let (label, colour) = match alert.level {
                AlertLevel::Warning => ("WARNING ", AnsiColor::Yellow),
                AlertLevel::Critical => ("CRITICAL", AnsiColor::Red),
            };
            (
                alert,
                &alert.timestamp,
                label,
                alert.message.clone(),
                colour,
            )
        }
        SinkEvent::Resolved { alert, resolved_at } => {
            let was = format!(
                "cleared (was {}: {})",
                level_name(alert.level),
                alert.message
            );
            (alert, resolved_at, "RESOLVED", was, AnsiColor::Green)
        }
        _ => return None,
    };
    let plain = format!(
        "{when} {label} {}.{}: {text}",
        alert.component, alert.metric
    );
    if color {
        let style = Style::new().fg_color(Some(colour.into()));
        Some(format!("{}{plain}{}", style.render(), style.render_reset()))
    } else {
        Some(plain)
    }
}

fn level_name(level: AlertLevel) -> &'static str {
    match level {
        AlertLevel::Warning => "WARNING",
        AlertLevel::Critical => "CRITICAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::testing::{check_sink, Delivery};
    use monitoring_plugin_api::Exported;

    #[test]
    fn obeys_the_sink_contract_and_wants_no_snapshots() {
        check_sink::<ConsoleSink>(r#"{"color": "never"}"#, Delivery::Succeeds);
        assert!(!ConsoleSink::root_module().wants_snapshots());
    }

    fn alert(level: AlertLevel) -> Alert {
        Alert {
            timestamp: "2025-01-03T10:15:30.123456".into(),
            component: "memory".into(),
            metric: "usage_percent".into(),
            value: 85.5,
            threshold: 80.0,
            level,
            message: "High memory usage: 85.5% (threshold: 80.0%)".into(),
            ..Default::default()
        }
    }

    #[test]
    fn plain_lines_carry_level_component_and_message() {
        let line = format_line(
            &SinkEvent::Alert {
                alert: alert(AlertLevel::Warning),
            },
            false,
        )
        .unwrap();
        assert_eq!(
            line,
            "2025-01-03T10:15:30.123456 WARNING  memory.usage_percent: High memory usage: 85.5% (threshold: 80.0%)"
        );
        assert!(!line.contains('\x1b'));

        let resolved = SinkEvent::Resolved {
            alert: alert(AlertLevel::Critical),
            resolved_at: "2025-01-03T10:20:00".into(),
        };
        let line = format_line(&resolved, false).unwrap();
        assert!(line.starts_with(
            "2025-01-03T10:20:00 RESOLVED memory.usage_percent: cleared (was CRITICAL: "
        ));
        assert!(!line.contains('\x1b'));
    }

    #[test]
    fn colours_by_level_only_when_asked() {
        let yellow = "\x1b[33m";
        let red = "\x1b[31m";
        let green = "\x1b[32m";
        let reset = "\x1b[0m";

        let warning = format_line(
            &SinkEvent::Alert {
                alert: alert(AlertLevel::Warning),
            },
            true,
        )
        .unwrap();
        assert!(
            warning.starts_with(yellow) && warning.ends_with(reset),
            "{warning:?}"
        );
        let critical = format_line(
            &SinkEvent::Alert {
                alert: alert(AlertLevel::Critical),
            },
            true,
        )
        .unwrap();
        assert!(
            critical.starts_with(red) && critical.contains("CRITICAL"),
            "{critical:?}"
        );
        let resolved = SinkEvent::Resolved {
            alert: alert(AlertLevel::Critical),
            resolved_at: "t".into(),
        };
        let resolved = format_line(&resolved, true).unwrap();
        assert!(resolved.starts_with(green), "{resolved:?}");
    }

    #[test]
    fn snapshots_are_ignored() {
        let snapshot = SinkEvent::Snapshot {
            timestamp: "t".into(),
            data: Default::default(),
        };
        assert_eq!(format_line(&snapshot, true), None);
        let mut sink = ConsoleSink::new(Config {
            color: ColorChoice::Never,
        })
        .unwrap();
        assert!(sink.deliver(&snapshot).is_ok());
    }

    #[test]
    fn config_rejects_unknown_keys_and_values() {
        assert!(serde_json::from_str::<Config>(r#"{"colour": "always"}"#).is_err());
        assert!(serde_json::from_str::<Config>(r#"{"color": "sometimes"}"#).is_err());
        let config: Config = serde_json::from_str(r#"{"color": "always"}"#).unwrap();
        assert_eq!(config.color, ColorChoice::Always);
    }
}
