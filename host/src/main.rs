//! `monitoring-websocket-server`: parses the command line, starts logging, binds the
//! port and hands over to [`monitoring_websocket_server::run`]; or, for the operator's
//! `--check-config` and `--print-config`, checks or prints and exits (see `operator`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use monitoring_websocket_server::accept::tls::{reload_channel, ReloadTrigger};
use monitoring_websocket_server::config::{Config, Overrides};
use monitoring_websocket_server::operator::{self, check, logging::LogFormat, readiness};
use monitoring_websocket_server::plugins::probe::{self, Isolation};
use monitoring_websocket_server::plugins::probe_child;
use monitoring_websocket_server::shutdown;
use tokio::net::TcpListener;

/// Real-time system monitoring over WebSocket.
#[derive(Debug, Parser)]
#[command(name = "monitoring-websocket-server", version = operator::VERSION.as_str(), about)]
struct Args {
    /// Interface to listen on [default: from the config, else 0.0.0.0].
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on [default: from the config, else 8765].
    #[arg(long)]
    port: Option<u16>,
    /// The config file. Without this flag, ./plugins.toml is used if it exists.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Folder of plugin libraries [default: from the config, else plugins/ beside it].
    #[arg(long)]
    plugins_dir: Option<PathBuf>,
    /// Check the config file and every plugin table (each enabled plugin is loaded and
    /// created with its settings), print what a start would refuse, exit 0 or 1.
    #[arg(long, conflicts_with = "print_config")]
    check_config: bool,
    /// Print the effective configuration (defaults filled in, these flags applied) as
    /// TOML and exit.
    #[arg(long)]
    print_config: bool,
    /// Log lines as human-readable text or as one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() -> anyhow::Result<ExitCode> {
    // The hidden `--probe-plugin <path>` (see `plugins::probe`): the server re-runs
    // itself this way to open a library where a crash costs only this child. It comes
    // before clap, logging and the runtime, so it stays out of --help and does no more
    // than load the file.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == probe::PROBE_FLAG) {
        let code = match (args.next(), args.next()) {
            (Some(path), None) => probe_child::run(std::path::Path::new(&path)),
            _ => 2,
        };
        std::process::exit(code);
    }
    let args = Args::parse();
    operator::logging::init(args.log_format);
    if args.check_config || args.print_config {
        return operator_command(&args);
    }
    monitoring_websocket_server::allocator::limit_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let served = runtime.block_on(serve(args));
    // Dropping a runtime waits for every blocking task; one stuck in a file system
    // call (a reload, a plugin's constructor) must not keep a stopped server alive.
    runtime.shutdown_timeout(EXIT_GRACE);
    served.map(|()| ExitCode::SUCCESS)
}

/// `--check-config` or `--print-config`: no port, no runtime, no history store.
fn operator_command(args: &Args) -> anyhow::Result<ExitCode> {
    let config = match configured(args) {
        Ok(config) => config,
        Err(error) => {
            // The same words the server would log at start, on stderr, exit 1.
            eprintln!("{error:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.print_config {
        print!("{}", operator::print::effective(&config)?);
        return Ok(ExitCode::SUCCESS);
    }
    let isolation = Isolation::ChildProcess {
        exe: std::env::current_exe().context("cannot find this program's own file")?,
    };
    let report = check::plugins(&config, isolation)?;
    for line in report.lines() {
        println!("{line}");
    }
    let refused: Vec<_> = report.refused().collect();
    if refused.is_empty() {
        println!(
            "{}: OK ({} plugin files in {})",
            config.display_path(),
            report.records.len(),
            config.plugins_dir().display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for record in &refused {
            eprintln!(
                "{}: refused: {}",
                record.name,
                record.reason.as_deref().unwrap_or("no reason given")
            );
        }
        Ok(ExitCode::FAILURE)
    }
}

/// The config file with the command-line values applied over it.
fn configured(args: &Args) -> anyhow::Result<Config> {
    let mut config = load_config(args.config.as_deref())?;
    config.apply_overrides(Overrides {
        host: args.host.clone(),
        port: args.port,
        // A directory given on the command line is relative to where the user is.
        plugins_dir: args
            .plugins_dir
            .as_ref()
            .map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.clone())),
    });
    Ok(config)
}

/// How long a stopping server waits for work still running on the blocking pool.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

async fn serve(args: Args) -> anyhow::Result<()> {
    let config = configured(&args)?;
    // Before the port opens, so no SIGHUP can find the default disposition (exit).
    let (reload, reload_requests) = reload_channel();
    let tls = config.tls().is_some();
    #[cfg(unix)]
    reload_on_hangup(reload, tls)?;
    #[cfg(not(unix))]
    drop(reload);
    let address = (config.server.host.as_str(), config.server.port);
    let listener = TcpListener::bind(address).await.with_context(|| {
        format!(
            "cannot listen on {}:{}",
            config.server.host, config.server.port
        )
    })?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    if tls {
        tracing::info!(address = %local, "Listening on wss://{local}/ (also /ws), dashboard at https://{local}/.");
    } else {
        tracing::info!(address = %local, "Listening on ws://{local}/ (also /ws).");
    }

    // Clients can connect from here on (the plugins load next, and the first
    // snapshots follow within a tick): what `systemctl start` waits for.
    readiness::ready();

    let (trigger, handle) = shutdown::channel();
    tokio::spawn(async move {
        shutdown::signal().await;
        tracing::info!("Shutting down.");
        readiness::stopping();
        trigger.fire();
    });
    // Every library is opened first by a child running this same binary (see
    // `plugins::probe`), so a file that crashes the dynamic loader cannot end the server.
    let isolation = Isolation::ChildProcess {
        exe: std::env::current_exe().context("cannot find this program's own file")?,
    };
    monitoring_websocket_server::run(config, listener, handle, reload_requests, isolation)
        .await
        .context("server failed")
}

/// Replaces SIGHUP's default disposition (exit) with a reload: of `plugins.toml`
/// (applied as a difference, see `live`), and of the TLS certificate and key.
#[cfg(unix)]
fn reload_on_hangup(trigger: ReloadTrigger, tls: bool) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    // SIGUSR1 and SIGUSR2 would end the server without a word (their default): say
    // they mean nothing here instead.
    for (kind, name) in [
        (SignalKind::user_defined1(), "SIGUSR1"),
        (SignalKind::user_defined2(), "SIGUSR2"),
    ] {
        let mut stream = signal(kind).with_context(|| format!("cannot listen for {name}"))?;
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                tracing::info!("{name} ignored (SIGHUP reloads the configuration, SIGTERM stops).");
            }
        });
    }
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if tls {
                tracing::info!("SIGHUP: reloading the configuration, the TLS certificate and key.");
            } else {
                tracing::info!("SIGHUP: reloading the configuration.");
            }
            trigger.fire();
        }
    });
    Ok(())
}

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    match path {
        Some(path) => Ok(Config::load(path)?),
        None => {
            let default = std::path::Path::new("plugins.toml");
            if default.exists() {
                Ok(Config::load(default)?)
            } else {
                tracing::info!("No plugins.toml here; using the built-in defaults.");
                Ok(Config::default())
            }
        }
    }
}
