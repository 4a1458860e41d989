//! `sinkbridge._core.ConnectionStatus`: what a Python sink reports about its connection, as
//! `ctx.connection`. It writes the engine's [`ConnectionState`] of the sink instance, which the
//! rule's status shows as `sink_<op>_<instance>_connection_status` (and its companions); and
//! [`context`], which builds the `Context` both adapters hand to a sink.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use sinkbridge_engine::metrics::ConnectionState;
use sinkbridge_engine::sink::SinkContext;

#[pyclass(name = "ConnectionStatus", module = "sinkbridge._core", frozen)]
pub struct PyConnectionStatus {
    state: Arc<ConnectionState>,
}

#[pymethods]
impl PyConnectionStatus {
    /// A status of its own, reported nowhere: for a `Context` built outside an engine (tests).
    #[new]
    fn new() -> PyConnectionStatus {
        PyConnectionStatus {
            state: ConnectionState::new(),
        }
    }

    /// An attempt to connect starts.
    fn connecting(&self) {
        self.state.trying();
    }

    fn connected(&self) {
        self.state.connected();
    }

    fn disconnected(&self, message: &str) {
        self.state.disconnected(message);
    }

    /// 1 connected, 0 connecting, -1 disconnected (eKuiper's values).
    #[getter]
    fn status(&self) -> i64 {
        self.state.status()
    }

    /// Why the connection was last lost or could not be made.
    #[getter]
    fn last_message(&self) -> String {
        self.state.last_disconnect_message()
    }

    fn __repr__(&self) -> String {
        format!("ConnectionStatus(status={})", self.state.status())
    }
}

/// The `sinkbridge.Context` of one sink instance, its `connection` reporting to the instance's
/// metrics.
pub fn context<'py>(py: Python<'py>, ctx: &SinkContext) -> PyResult<Bound<'py, PyAny>> {
    let logger = py.import("logging")?.call_method1(
        "getLogger",
        (format!("sinkbridge.rule.{}.{}", ctx.rule_id, ctx.op_id),),
    )?;
    let connection = Bound::new(
        py,
        PyConnectionStatus {
            state: ctx.connection.clone(),
        },
    )?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("connection", connection)?;
    py.import("sinkbridge")?.getattr("Context")?.call(
        (&ctx.rule_id, &ctx.op_id, ctx.instance_id, logger),
        Some(&kwargs),
    )
}
