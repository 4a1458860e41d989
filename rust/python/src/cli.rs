//! The command line with Python as a host of sinks: the same code behind the wheel's console
//! script (`_core.cli_main`, Python hosts the engine) and the standalone binary (the engine
//! hosts Python).

use std::ffi::OsString;
use std::path::Path;

use pyo3::prelude::*;

use sinkbridge_engine::Engine;
use sinkbridge_server::Host;

use crate::errors::one_line;

struct PythonHost {
    /// Why the `sinkbridge` package cannot be imported, when it cannot (the binary outside
    /// any environment that has it). `--help` and `--version` still work; running rules does not.
    unavailable: Option<String>,
}

impl Host for PythonHost {
    fn init_logging(&self, level: &str) {
        if self.unavailable.is_some() {
            return;
        }
        let level = if level.eq_ignore_ascii_case("warn") {
            "warning"
        } else {
            level
        };
        let configured = Python::attach(|py| {
            py.import("sinkbridge._cli")
                .and_then(|cli| cli.call_method1("setup_logging", (level,)))
                .map(|_| ())
                .map_err(|e| one_line(py, &e))
        });
        if let Err(e) = configured {
            #[allow(
                clippy::print_stderr,
                reason = "logging could not be set up, so stderr it is"
            )]
            {
                eprintln!("warning: cannot set the log level {level:?}: {e}");
            }
        }
        crate::logging::forward_to_python();
    }

    fn prepare(&self, engine: &Engine, plugins_dir: &Path) -> Result<(), String> {
        if let Some(why) = &self.unavailable {
            return Err(why.clone());
        }
        let async_loop = std::sync::Arc::new(crate::async_sink::AsyncLoop::default());
        crate::resolver::install(engine, &plugins_dir.to_string_lossy(), async_loop);
        Ok(())
    }
}

/// Runs the command line; returns the exit code. Call without holding the GIL.
pub fn run(args: Vec<OsString>, unavailable: Option<String>) -> i32 {
    sinkbridge_server::main(args, &PythonHost { unavailable })
}

/// `sinkbridge._core.cli_main(argv)`: the wheel's `sinkbridge` command.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    let args = argv.into_iter().map(OsString::from).collect();
    py.detach(|| run(args, None))
}
