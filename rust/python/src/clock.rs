//! `sinkbridge._core.ManualClock`: the engine's manual clock, for tests. Advancing releases the
//! GIL, since the sinks that handle what fires need it.

use std::sync::Arc;

use pyo3::prelude::*;

use sinkbridge_engine::clock::{Clock, ManualClock};

#[pyclass(name = "ManualClock", module = "sinkbridge._core", frozen)]
pub struct PyManualClock {
    pub(crate) clock: Arc<ManualClock>,
}

#[pymethods]
impl PyManualClock {
    #[new]
    fn new(start_ms: i64) -> PyManualClock {
        PyManualClock {
            clock: Arc::new(ManualClock::new(start_ms)),
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn advance(&self, py: Python<'_>, ms: i64) -> usize {
        py.detach(|| self.clock.advance(ms))
    }

    fn advance_to(&self, py: Python<'_>, at_ms: i64) -> usize {
        py.detach(|| self.clock.advance_to(at_ms))
    }
}
