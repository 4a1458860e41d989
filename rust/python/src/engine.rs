//! `sinkbridge._core.Engine`: the engine as Python sees it. Every call that may wait releases
//! the GIL first, because the sinks it waits for need it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use sinkbridge_engine::{Engine, EngineConfig, Error};
use sinkbridge_server::{ManagedEngine, Restored};

use crate::async_sink::AsyncLoop;
use crate::clock::PyManualClock;
use crate::convert::FromPython;
use crate::errors::to_py_err;
use crate::resolver;
use crate::sink_adapter::PySinkFactory;

#[pyclass(name = "Engine", module = "sinkbridge._core", frozen)]
pub struct PyEngine {
    engine: Engine,
    /// The same engine, writing its definitions through to the data directory's catalog.
    managed: ManagedEngine,
    /// Persisted rules come back at the first start, once the script registered its sinks.
    rules_restored: std::sync::atomic::AtomicBool,
    /// Where this engine's async sinks run.
    async_loop: Arc<AsyncLoop>,
}

/// Runs an engine call without the GIL and maps its error.
fn call<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, Error> + Send) -> PyResult<T> {
    py.detach(f).map_err(|e| to_py_err(py, e))
}

fn json(text: &str, what: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::Rule(format!("{what}: invalid JSON: {e}")))
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (plugins_dir, stop_timeout, data_dir=None, clock=None))]
    fn new(
        py: Python<'_>,
        plugins_dir: String,
        stop_timeout: f64,
        data_dir: Option<String>,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<PyEngine> {
        crate::logging::forward_to_python();
        let stop_timeout = Duration::try_from_secs_f64(stop_timeout).map_err(|_| {
            PyValueError::new_err(format!(
                "stop_timeout must be a number of seconds >= 0, found {stop_timeout}"
            ))
        })?;
        let mut config = EngineConfig {
            stop_timeout,
            data_dir: data_dir.map(Into::into),
            ..EngineConfig::default()
        };
        if let Some(clock) = clock {
            config.clock = clock.clock.clone();
        }
        let data_dir = config.data_dir.clone();
        let engine = call(py, || Engine::new(config))?;
        let async_loop = Arc::new(AsyncLoop::default());
        resolver::install(&engine, &plugins_dir, async_loop.clone());
        let managed = ManagedEngine::open(engine.clone(), data_dir.as_deref())
            .map_err(PyValueError::new_err)?;
        let mut restored = Restored::default();
        py.detach(|| managed.restore_streams(&mut restored))
            .map_err(PyValueError::new_err)?;
        report_unrestored(&restored);
        Ok(PyEngine {
            engine,
            managed,
            rules_restored: false.into(),
            async_loop,
        })
    }

    fn wait_idle(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            PyValueError::new_err(format!(
                "timeout must be a number of seconds >= 0, found {timeout}"
            ))
        })?;
        Ok(py.detach(|| self.engine.wait_idle(timeout)))
    }

    fn create_stream(&self, py: Python<'_>, sql: &str) -> PyResult<String> {
        call(py, || self.managed.create_stream(sql))
    }

    fn drop_stream(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        call(py, || self.managed.drop_stream(name))
    }

    fn streams(&self) -> Vec<String> {
        self.engine.streams()
    }

    fn describe_stream(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        call(py, || {
            self.engine.describe_stream(name).map(|d| d.to_string())
        })
    }

    fn set_source_conf(
        &self,
        py: Python<'_>,
        source_type: &str,
        conf_key: &str,
        props_json: &str,
    ) -> PyResult<()> {
        call(py, || {
            let props = match json(props_json, "source properties")? {
                serde_json::Value::Object(props) => props,
                _ => return Err(Error::Stream("source properties must be a dict".into())),
            };
            self.managed.set_source_conf(source_type, conf_key, props)
        })
    }

    fn load_source_conf_file(
        &self,
        py: Python<'_>,
        path: PathBuf,
    ) -> PyResult<(String, Vec<String>)> {
        call(py, || self.engine.load_source_conf_file(&path))
    }

    fn create_rule(&self, py: Python<'_>, rule_json: &str) -> PyResult<String> {
        call(py, || {
            let rule = json(rule_json, "rule")?;
            // A rule created whose start failed exists, stopped; Python hears of the failure.
            match self
                .engine
                .handle()
                .block_on(self.managed.create_rule(&rule))?
            {
                (id, None) => Ok(id),
                (_, Some(start_error)) => Err(start_error),
            }
        })
    }

    fn validate_rule(&self, py: Python<'_>, rule_json: &str) -> PyResult<()> {
        call(py, || {
            self.engine
                .validate_rule(&json(rule_json, "rule")?)
                .map(|_| ())
        })
    }

    fn start_rule(&self, py: Python<'_>, rule_id: &str) -> PyResult<()> {
        call(py, || {
            self.engine
                .handle()
                .block_on(self.managed.start_rule(rule_id))
        })
    }

    fn stop_rule(&self, py: Python<'_>, rule_id: &str) -> PyResult<()> {
        call(py, || {
            self.engine
                .handle()
                .block_on(self.managed.stop_rule(rule_id))
        })
    }

    fn delete_rule(&self, py: Python<'_>, rule_id: &str) -> PyResult<()> {
        call(py, || {
            self.engine
                .handle()
                .block_on(self.managed.delete_rule(rule_id))
        })
    }

    fn rules(&self) -> String {
        let rules: Vec<serde_json::Value> = self
            .engine
            .rules()
            .into_iter()
            .map(|r| serde_json::json!({"id": r.id, "name": r.name, "status": r.status, "tags": r.tags}))
            .collect();
        serde_json::Value::Array(rules).to_string()
    }

    fn rule_status(&self, py: Python<'_>, rule_id: &str) -> PyResult<String> {
        call(py, || {
            self.engine
                .rule_status(rule_id)
                .map(|s| serde_json::Value::Object(s).to_string())
        })
    }

    fn register_sink(&self, py: Python<'_>, name: &str, sink: Py<PyAny>) -> PyResult<()> {
        let origin = format!("registered: {}", sink.bind(py).repr()?);
        let factory = Arc::new(PySinkFactory::new(
            py,
            sink,
            origin,
            self.async_loop.clone(),
        )?);
        self.engine
            .register_sink(name, factory)
            .map_err(|e| to_py_err(py, e))
    }

    fn sinks(&self, py: Python<'_>) -> Vec<(String, String)> {
        // Listing asks the Python resolver, which attaches on its own.
        py.detach(|| self.engine.sinks().available())
    }

    fn publish(&self, py: Python<'_>, topic: &str, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let rows = FromPython::default().rows(data)?;
        call(py, || self.engine.publish(topic, rows))
    }

    fn start(&self, py: Python<'_>) -> PyResult<()> {
        call(py, || {
            if !self
                .rules_restored
                .swap(true, std::sync::atomic::Ordering::AcqRel)
            {
                let mut restored = Restored::default();
                self.engine
                    .handle()
                    .block_on(self.managed.restore_rules(&mut restored))
                    .map_err(Error::Rule)?;
                report_unrestored(&restored);
            }
            self.engine.start()
        })
    }

    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.engine.stop());
    }
}

/// Definitions that were persisted but could not come back stay in the catalog (a later
/// engine may have what they need); each is logged.
fn report_unrestored(restored: &Restored) {
    for failure in &restored.failures {
        tracing::warn!(target: "sinkbridge.engine", "not restored from the data directory: {failure}");
    }
}
