//! The standalone `sinkbridge` binary: Rust starts CPython, makes this binary's own engine the
//! `sinkbridge._core` module, imports the `sinkbridge` package from the active virtual
//! environment, and runs the same command line as the wheel.

use std::ffi::{CString, OsString};

use pyo3::prelude::*;
use pyo3::types::PyModule;

use crate::errors::{one_line, traceback_text};

const ACTIVATE_VENV: &str = include_str!("venv.py");

fn prepare_interpreter(py: Python<'_>) -> PyResult<()> {
    let activate = CString::new(ACTIVATE_VENV)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    py.run(&activate, None, None)?;
    // Registered before `import sinkbridge`, so the package binds to this binary's engine and
    // an installed extension module is never loaded beside it.
    let core = PyModule::new(py, "sinkbridge._core")?;
    crate::init_module(&core)?;
    py.import("sys")?
        .getattr("modules")?
        .set_item("sinkbridge._core", &core)?;
    py.import("sinkbridge")?;
    Ok(())
}

fn flush_python_streams() {
    Python::attach(|py| {
        if let Ok(sys) = py.import("sys") {
            for stream in ["stdout", "stderr"] {
                if let Ok(s) = sys.getattr(stream) {
                    let _ = s.call_method0("flush");
                }
            }
        }
    });
}

/// The binary's main; returns the exit code.
pub fn main() -> i32 {
    Python::initialize();
    let unavailable = Python::attach(|py| {
        prepare_interpreter(py).err().map(|e| {
            let path = py
                .import("sys")
                .and_then(|s| s.getattr("path"))
                .map(|p| p.to_string())
                .unwrap_or_default();
            let why = if e.is_instance_of::<pyo3::exceptions::PyImportError>(py) {
                one_line(py, &e)
            } else {
                traceback_text(py, &e)
            };
            format!(
                "the sinkbridge Python package cannot be imported ({why}). Install it in a virtual \
                 environment (pip install sinkbridge, or pip install . in a clone) and activate that \
                 environment: the binary imports packages from $VIRTUAL_ENV. sys.path is {path}"
            )
        })
    });
    let args: Vec<OsString> = std::env::args_os().collect();
    let code = crate::cli::run(args, unavailable);
    // The process ends without finalising the interpreter; what sinks printed must not be lost.
    flush_python_streams();
    code
}
