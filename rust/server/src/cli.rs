//! The `sinkbridge` command line, shared by both hosts: `run` and `serve` run an engine in
//! this process; the other commands talk to a running server over REST, like eKuiper's CLI.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sinkbridge_engine::{Engine, EngineConfig};

use crate::client::{ClientError, Remote};
use crate::config::{PartialSettings, ServeSettings};
use crate::rest::Plugins;
use crate::{ruleset, serve};

/// What a host adds to the command line: its logging, what it adds to each engine (the
/// Python host adds the resolver of Python sinks), and what it knows of Python plugins.
pub trait Host {
    fn init_logging(&self, level: &str);

    fn prepare(&self, engine: &Engine, plugins_dir: &Path) -> Result<(), String>;

    /// The plugins of `plugins_dir`, as the REST API lists and installs them.
    fn plugins(&self, plugins_dir: &Path) -> Arc<dyn Plugins>;
}

#[derive(Parser)]
#[command(
    name = "sinkbridge",
    version,
    about = "A streaming SQL rule engine for IoT and edge data, with sinks written in Python."
)]
struct Cli {
    /// The folder searched for drop-in Python sinks (`<key>.py` or `<key>/`). Default: sinks.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "SINKBRIDGE_PLUGINS_DIR"
    )]
    plugins_dir: Option<PathBuf>,

    /// The folder of sources config files in eKuiper's layout (`mqtt.yaml` with `default:` and
    /// named property sets, which streams select with CONF_KEY). Default: etc/sources, when it
    /// exists.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "SINKBRIDGE_SOURCES_DIR"
    )]
    sources_dir: Option<PathBuf>,

    /// The least severe log level shown: error, warning, info or debug. Default: info.
    #[arg(
        long,
        global = true,
        value_name = "LEVEL",
        env = "SINKBRIDGE_LOG_LEVEL"
    )]
    log_level: Option<String>,

    #[command(flatten)]
    remote: RemoteArgs,

    #[command(subcommand)]
    command: Command,
}

/// Where the commands that talk to a server find it.
#[derive(Args)]
struct RemoteArgs {
    /// The server's host, for the commands that talk to a server.
    #[arg(long, global = true, default_value = "127.0.0.1")]
    host: String,

    /// The server's port.
    #[arg(long, global = true, default_value_t = 9081)]
    port: u16,

    /// The server's bearer token, when it requires one.
    #[arg(
        long = "token",
        global = true,
        env = "SINKBRIDGE_AUTH_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,

    /// Prints the server's answers as JSON, for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Definition {
    Stream,
    Table,
    Rule,
}

#[derive(Clone, Copy, ValueEnum)]
enum Listing {
    Streams,
    Tables,
    Rules,
}

#[derive(Clone, Copy, ValueEnum)]
enum RuleWord {
    Rule,
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
    /// Runs the server: the REST API, with streams and rules kept in the data directory.
    Serve(ServeArgs),
    /// Creates a stream, table or rule on the server: `create stream NAME '(...) WITH (...)'`,
    /// `create rule ID '{json}'` or `create rule ID -f FILE`.
    Create {
        kind: Definition,
        name: String,
        /// The definition: a stream's `(fields) WITH (options)`, or a rule's JSON.
        definition: Option<String>,
        /// Reads the definition from a file instead.
        #[arg(
            short = 'f',
            long = "file",
            value_name = "FILE",
            conflicts_with = "definition"
        )]
        file: Option<PathBuf>,
    },
    /// Lists the streams, tables or rules.
    Show { what: Listing },
    /// Shows a stream's, table's or rule's definition.
    Describe { kind: Definition, name: String },
    /// Deletes a stream, table or rule.
    Drop { kind: Definition, name: String },
    /// Starts a rule.
    Start { rule: RuleWord, id: String },
    /// Stops a rule.
    Stop { rule: RuleWord, id: String },
    /// Restarts a rule.
    Restart { rule: RuleWord, id: String },
    /// Shows a rule's status and metrics.
    Getstatus { rule: RuleWord, id: String },
    /// An interactive prompt that runs ad-hoc SELECT statements and prints rows as they come.
    Query,
}

/// `serve`'s settings; each also has an environment variable and a key in the config file.
#[derive(Args)]
struct ServeArgs {
    /// A TOML file with any of the settings below (data_dir, bind, auth_token, ...).
    #[arg(long, value_name = "FILE", env = "SINKBRIDGE_CONFIG")]
    config: Option<PathBuf>,

    /// Where streams, rules and sink caches are kept. Default: data.
    #[arg(long, value_name = "DIR", env = "SINKBRIDGE_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// The address and port of the REST API. Default: 127.0.0.1:9081.
    #[arg(long, value_name = "ADDR", env = "SINKBRIDGE_BIND")]
    bind: Option<String>,

    /// A bearer token every request but /ping must carry; required to bind beyond loopback.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SINKBRIDGE_AUTH_TOKEN",
        hide_env_values = true
    )]
    auth_token: Option<String>,

    /// Top-level Python packages whose `package.module:Class` sinks REST rules may name
    /// (comma-separated). Default: none.
    #[arg(
        long,
        value_name = "PACKAGES",
        env = "SINKBRIDGE_ALLOWED_MODULES",
        value_delimiter = ','
    )]
    allowed_modules: Option<Vec<String>>,

    /// The largest request body accepted, in bytes. Default: 1048576.
    #[arg(long, value_name = "BYTES", env = "SINKBRIDGE_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
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
    let result = match &cli.command {
        Command::Run { file } => {
            host.init_logging(cli.log_level.as_deref().unwrap_or("info"));
            run(file, &cli, host)
        }
        Command::Serve(args) => serve_command(args, &cli, host),
        command => {
            host.init_logging(cli.log_level.as_deref().unwrap_or("warning"));
            return match remote_command(command, &cli) {
                Ok(()) => 0,
                Err(e) => {
                    complain(&e.message());
                    e.exit_code()
                }
            };
        }
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            complain(&message);
            1
        }
    }
}

#[allow(
    clippy::print_stderr,
    reason = "the command line reports its errors on stderr"
)]
fn complain(message: &str) {
    eprintln!("error: {message}");
}

fn plugins_dir(cli: &Cli) -> PathBuf {
    cli.plugins_dir.clone().unwrap_or_else(|| "sinks".into())
}

fn serve_command(args: &ServeArgs, cli: &Cli, host: &dyn Host) -> Result<(), String> {
    let file = match &args.config {
        Some(path) => PartialSettings::read(path)?,
        None => PartialSettings::default(),
    };
    host.init_logging(
        cli.log_level
            .as_deref()
            .or(file.log_level.as_deref())
            .unwrap_or("info"),
    );
    let given = PartialSettings {
        data_dir: args.data_dir.clone(),
        plugins_dir: cli.plugins_dir.clone(),
        sources_dir: cli.sources_dir.clone(),
        bind: args.bind.clone(),
        auth_token: args.auth_token.clone(),
        allowed_modules: args.allowed_modules.clone(),
        max_body_bytes: args.max_body_bytes,
        log_level: None,
    };
    serve::serve(ServeSettings::resolve(given, file)?, host)
}

fn remote_command(command: &Command, cli: &Cli) -> Result<(), ClientError> {
    let r = &cli.remote;
    let remote = Remote {
        base: format!("http://{}:{}", r.host, r.port),
        token: r.token.clone(),
        json: r.json,
    };
    let noun = |kind: Definition| match kind {
        Definition::Stream => "stream",
        Definition::Table => "table",
        Definition::Rule => "rule",
    };
    match command {
        Command::Create {
            kind,
            name,
            definition,
            file,
        } => {
            let definition = match (definition, file) {
                (Some(text), None) => text.clone(),
                (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                    ClientError::Usage(format!("cannot read {}: {e}", path.display()))
                })?,
                _ => {
                    return Err(ClientError::Usage(format!(
                        "create {} {name}: give the definition, or -f FILE",
                        noun(*kind)
                    )));
                }
            };
            match kind {
                Definition::Rule => remote.create_rule(name, &definition),
                other => {
                    remote.create_stream(matches!(other, Definition::Table), name, &definition)
                }
            }
        }
        Command::Show { what } => remote.show(match what {
            Listing::Streams => "streams",
            Listing::Tables => "tables",
            Listing::Rules => "rules",
        }),
        Command::Describe { kind, name } => remote.describe(noun(*kind), name),
        Command::Drop { kind, name } => remote.drop(noun(*kind), name),
        Command::Start { id, .. } => remote.rule_action("start", id),
        Command::Stop { id, .. } => remote.rule_action("stop", id),
        Command::Restart { id, .. } => remote.rule_action("restart", id),
        Command::Getstatus { id, .. } => remote.status(id),
        Command::Query => remote.query(),
        Command::Run { .. } | Command::Serve(_) => Ok(()),
    }
}

fn run(file: &Path, cli: &Cli, host: &dyn Host) -> Result<(), String> {
    let place = file.display();
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {place}: {e}"))?;
    let ruleset = ruleset::parse(&text).map_err(|e| format!("{place}: {e}"))?;
    let engine = Engine::new(EngineConfig::default()).map_err(|e| e.to_string())?;
    host.prepare(&engine, &plugins_dir(cli))?;
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
pub(crate) fn load_sources_dir(engine: &Engine, dir: Option<&Path>) -> Result<(), String> {
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

/// Waits for Ctrl-C or SIGTERM, on a runtime of its own.
fn wait_for_shutdown() -> Result<(), String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot wait for signals: {e}"))?
        .block_on(shutdown_signal())
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() -> Result<(), String> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
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
}
