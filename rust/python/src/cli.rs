//! The command line with Python as a host of sinks: the same code behind the wheel's console
//! script (`_core.cli_main`, Python hosts the engine) and the standalone binary (the engine
//! hosts Python).

use std::ffi::OsString;
use std::path::Path;

use pyo3::prelude::*;

use sinkbridge_engine::Engine;
use std::sync::Arc;

use sinkbridge_server::Host;
use sinkbridge_server::rest::Plugins;

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
        let async_loop = Arc::new(crate::async_sink::AsyncLoop::default());
        crate::resolver::install(engine, &plugins_dir.to_string_lossy(), async_loop);
        Ok(())
    }

    fn plugins(&self, plugins_dir: &Path) -> Arc<dyn Plugins> {
        Arc::new(PythonPlugins {
            plugins_dir: plugins_dir.to_string_lossy().into_owned(),
            unavailable: self.unavailable.clone(),
        })
    }
}

/// The plugins folder as the Python package sees it.
struct PythonPlugins {
    plugins_dir: String,
    unavailable: Option<String>,
}

impl PythonPlugins {
    fn call<T>(&self, f: impl for<'py> FnOnce(Python<'py>) -> PyResult<T>) -> Result<T, String> {
        if let Some(why) = &self.unavailable {
            return Err(why.clone());
        }
        Python::attach(|py| f(py).map_err(|e| one_line(py, &e)))
    }
}

impl Plugins for PythonPlugins {
    fn sinks(&self) -> Result<Vec<serde_json::Value>, String> {
        let text: String = self.call(|py| {
            py.import("sinkbridge._sink_catalog")?
                .call_method1("describe_json", (&self.plugins_dir,))?
                .extract()
        })?;
        serde_json::from_str(&text).map_err(|e| format!("the sink catalogue: {e}"))
    }

    fn install_portable(&self, name: &str, zip: &Path) -> Result<Vec<String>, String> {
        self.call(|py| {
            py.import("sinkbridge._plugins")?
                .call_method1(
                    "install_portable",
                    (name, zip.to_string_lossy().as_ref(), &self.plugins_dir),
                )?
                .extract()
        })
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
