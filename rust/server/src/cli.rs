//! The `sinkbridge` command line, shared by both hosts.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use sinkbridge_engine::{Engine, EngineConfig};

use crate::ruleset;

/// What a host adds to the command line: its logging, and what it adds to each engine (the
/// Python host adds the resolver of Python sinks).
pub trait Host {
    fn init_logging(&self, level: &str);

    fn prepare(&self, engine: &Engine, plugins_dir: &Path) -> Result<(), String>;
}

#[derive(Parser)]
#[command(
    name = "sinkbridge",
    version,
    about = "A streaming SQL rule engine for IoT and edge data, with sinks written in Python."
)]
struct Cli {
    /// The folder searched for drop-in Python sinks (`<key>.py` or `<key>/`).
    #[arg(long, global = true, default_value = "sinks", value_name = "DIR")]
    plugins_dir: PathBuf,

    /// The folder of sources config files in eKuiper's layout (`mqtt.yaml` with `default:` and
    /// named property sets, which streams select with CONF_KEY). Default: etc/sources, when it
    /// exists.
    #[arg(long, global = true, value_name = "DIR")]
    sources_dir: Option<PathBuf>,

    /// The least severe log level shown: error, warning, info or debug.
    #[arg(long, global = true, default_value = "info", value_name = "LEVEL")]
    log_level: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the streams and rules of a ruleset file in the foreground, until Ctrl-C or SIGTERM.
    ///
    /// The file is eKuiper's ruleset format: {"streams": {"name": "CREATE STREAM ..."},
    /// "rules": {"id": {rule JSON}}, "sourceConfig": {"file": {"confKey": {...}}}}.
    Run {
        /// The ruleset file.
        file: PathBuf,
    },
}

/// Runs the command line; returns the process exit code.
pub fn main(args: Vec<OsString>, host: &dyn Host) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version end here too, with exit code 0.
            let _ = e.print();
            return e.exit_code();
        }
    };
    host.init_logging(&cli.log_level);
    let result = match &cli.command {
        Command::Run { file } => run(file, &cli, host),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            #[allow(
                clippy::print_stderr,
                reason = "the command line reports its errors on stderr"
            )]
            {
                eprintln!("error: {message}");
            }
            1
        }
    }
}

fn run(file: &Path, cli: &Cli, host: &dyn Host) -> Result<(), String> {
    let place = file.display();
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {place}: {e}"))?;
    let ruleset = ruleset::parse(&text).map_err(|e| format!("{place}: {e}"))?;
    let engine = Engine::new(EngineConfig::default()).map_err(|e| e.to_string())?;
    host.prepare(&engine, &cli.plugins_dir)?;
    load_sources_dir(&engine, cli.sources_dir.as_deref())?;
    ruleset::load(&engine, &ruleset).map_err(|e| format!("{place}: {e}"))?;
    if let Err(e) = engine.start() {
        engine.stop();
        return Err(format!("{place}: {e}"));
    }
    let rules = engine.rules().len();
    tracing::info!(target: "sinkbridge.cli", "running {rules} rule(s) from {place}; press Ctrl-C to stop");
    wait_for_shutdown()?;
    tracing::info!(target: "sinkbridge.cli", "stopping: sinks take what is queued, then close");
    engine.stop();
    Ok(())
}

/// Loads every `*.yaml`, `*.yml` and `*.json` file of the sources config folder.
fn load_sources_dir(engine: &Engine, dir: Option<&Path>) -> Result<(), String> {
    let default = Path::new("etc/sources");
    let dir = match dir {
        Some(dir) => dir,
        None if default.is_dir() => default,
        None => return Ok(()),
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("sources dir {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        })
        .collect();
    files.sort();
    for file in files {
        let (source_type, keys) = engine
            .load_source_conf_file(&file)
            .map_err(|e| e.to_string())?;
        tracing::info!(
            target: "sinkbridge.cli",
            "{}: {source_type} property sets {}",
            file.display(),
            keys.join(", ")
        );
    }
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
fn wait_for_shutdown() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot wait for signals: {e}"))?;
    runtime.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r.map_err(|e| format!("cannot handle Ctrl-C: {e}")),
                _ = term.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .map_err(|e| format!("cannot handle Ctrl-C: {e}"))
        }
    })
}
