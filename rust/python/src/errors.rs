//! The one place engine errors become Python exceptions, and Python exceptions become the
//! engine's sink errors.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTraceback, PyType};

use sinkbridge_engine::Error;
use sinkbridge_engine::error::Cause;
use sinkbridge_engine::sink::SinkError;

static SQL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static RULE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static STREAM_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static SINK_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static RETRYABLE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "sinkbridge._errors", name)
}

/// The Python exception for an engine error; a sink's original exception becomes `__cause__`.
pub fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    let (cell, name) = match &error {
        Error::Sql(_) => (&SQL_ERROR, "SqlError"),
        Error::Rule(_) | Error::RuleNotFound(_) => (&RULE_ERROR, "RuleError"),
        Error::Stream(_) | Error::StreamNotFound(_) => (&STREAM_ERROR, "StreamError"),
        Error::Sink { .. } => (&SINK_ERROR, "SinkError"),
    };
    let ty = match class(py, cell, name) {
        Ok(ty) => ty.clone(),
        Err(e) => return e,
    };
    let err = PyErr::from_type(ty, error.to_string());
    if let Error::Sink {
        cause: Some(Cause(cause)),
        ..
    } = &error
    {
        if let Some(original) = cause.downcast_ref::<Py<PyAny>>() {
            err.set_cause(py, Some(PyErr::from_value(original.bind(py).clone())));
        }
    }
    err
}

/// `Type: message`, as Python prints the last line of a traceback.
pub fn one_line(py: Python<'_>, err: &PyErr) -> String {
    let name = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let text = err
        .value(py)
        .str()
        .map(|s| s.to_string())
        .unwrap_or_default();
    if text.is_empty() {
        name
    } else {
        format!("{name}: {text}")
    }
}

/// Where the exception was raised: the innermost frame, as `file:line in function`.
fn location(py: Python<'_>, err: &PyErr) -> Option<String> {
    let mut tb: Bound<'_, PyTraceback> = err.traceback(py)?;
    while let Ok(next) = tb.getattr("tb_next") {
        match next.cast_into::<PyTraceback>() {
            Ok(next) => tb = next,
            Err(_) => break,
        }
    }
    let line: u32 = tb.getattr("tb_lineno").ok()?.extract().ok()?;
    let code = tb.getattr("tb_frame").ok()?.getattr("f_code").ok()?;
    let file: String = code.getattr("co_filename").ok()?.extract().ok()?;
    let function: String = code.getattr("co_name").ok()?.extract().ok()?;
    Some(format!("{file}:{line} in {function}"))
}

/// The full traceback text, as Python would print it.
pub fn traceback_text(py: Python<'_>, err: &PyErr) -> String {
    let formatted = py.import("traceback").and_then(|tb| {
        tb.call_method1(
            "format_exception",
            (err.get_type(py), err.value(py), err.traceback(py)),
        )?
        .extract::<Vec<String>>()
    });
    match formatted {
        Ok(lines) => lines.concat().trim_end().to_string(),
        Err(_) => one_line(py, err),
    }
}

/// A sink's exception as the engine counts it: short (`Type: message (at file:line in f)`),
/// retryable for `RetryableError`, `OSError` and `TimeoutError`, with the original attached.
pub fn sink_error(py: Python<'_>, err: PyErr) -> SinkError {
    let retryable = class(py, &RETRYABLE_ERROR, "RetryableError")
        .map(|ty| err.is_instance(py, ty.as_any()))
        .unwrap_or(false)
        || err.is_instance_of::<pyo3::exceptions::PyOSError>(py)
        || err.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py);
    let mut message = one_line(py, &err);
    if let Some(at) = location(py, &err) {
        message.push_str(&format!(" (at {at})"));
    }
    SinkError {
        message,
        retryable,
        cause: Some(Cause(Arc::new(err.into_value(py).into_any()))),
    }
}

/// A failure of `configure` or `open`: what the call raised, with the whole traceback, for
/// the message of the failed start.
pub fn lifecycle_error(py: Python<'_>, call: &str, err: PyErr) -> SinkError {
    let text = traceback_text(py, &err);
    let mut error = sink_error(py, err);
    error.message = format!("{call} raised {}\n{text}", error.message);
    error
}
