//! Python sinks by action key: the plugins folder, entry points and `module:Class` paths,
//! searched by `sinkbridge._plugins` and handed to the engine as [`PySinkFactory`]s.

use std::sync::Arc;

use pyo3::prelude::*;

use sinkbridge_engine::Engine;
use sinkbridge_engine::sink::{SinkFactory, SinkResolver};

use crate::async_sink::AsyncLoop;
use crate::errors::one_line;
use crate::sink_adapter::PySinkFactory;

pub struct PythonSinkResolver {
    plugins_dir: String,
    async_loop: Arc<AsyncLoop>,
}

/// Adds the Python sink resolver to an engine; async sinks it finds run on `async_loop`.
pub fn install(engine: &Engine, plugins_dir: &str, async_loop: Arc<AsyncLoop>) {
    engine.add_sink_resolver(Arc::new(PythonSinkResolver {
        plugins_dir: plugins_dir.to_string(),
        async_loop,
    }));
}

/// The message of an exception from `_plugins`: a `SinkError`'s text says it all.
fn message(py: Python<'_>, err: PyErr) -> String {
    let is_sink_error = py
        .import("sinkbridge._errors")
        .and_then(|m| m.getattr("SinkError"))
        .map(|ty| err.is_instance(py, &ty))
        .unwrap_or(false);
    if is_sink_error {
        err.value(py)
            .str()
            .map(|s| s.to_string())
            .unwrap_or_default()
    } else {
        one_line(py, &err)
    }
}

impl SinkResolver for PythonSinkResolver {
    fn resolve(&self, key: &str) -> Result<Option<Arc<dyn SinkFactory>>, String> {
        Python::attach(|py| {
            let found = py
                .import("sinkbridge._plugins")
                .and_then(|p| p.call_method1("resolve", (key, &self.plugins_dir)))
                .map_err(|e| message(py, e))?;
            if found.is_none() {
                return Ok(None);
            }
            let (target, origin): (Py<PyAny>, String) =
                found.extract().map_err(|e| message(py, e))?;
            let factory = PySinkFactory::new(py, target, origin, self.async_loop.clone())
                .map_err(|e| message(py, e))?;
            Ok(Some(Arc::new(factory) as Arc<dyn SinkFactory>))
        })
    }

    fn searched(&self, key: &str) -> Vec<String> {
        Python::attach(|py| {
            py.import("sinkbridge._plugins")
                .and_then(|p| p.call_method1("searched", (key, &self.plugins_dir)))
                .and_then(|places| places.extract())
                .unwrap_or_else(|e| {
                    vec![format!(
                        "Python sinks (the search failed: {})",
                        one_line(py, &e)
                    )]
                })
        })
    }

    fn available(&self) -> Vec<(String, String)> {
        Python::attach(|py| {
            py.import("sinkbridge._plugins")
                .and_then(|p| p.call_method1("available", (&self.plugins_dir,)))
                .and_then(|found| found.extract())
                .unwrap_or_default()
        })
    }
}
