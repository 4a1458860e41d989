//! The pyo3 layer of sinkbridge, kept thin: Python sinks as engine sinks, the Python-visible
//! classes, the mapping of errors, and the standalone binary that embeds CPython.

mod allocator;
mod async_sink;
mod cli;
mod clock;
mod connection;
mod convert;
pub mod embedded;
mod engine;
mod errors;
mod logging;
mod resolver;
mod sink_adapter;

use pyo3::prelude::*;

#[global_allocator]
static ALLOCATOR: allocator::MiMalloc = allocator::MiMalloc;

/// Fills the `sinkbridge._core` module: shared by the extension module and the binary.
pub fn init_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    allocator::tune();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<clock::PyManualClock>()?;
    m.add_class::<connection::PyConnectionStatus>()?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    Ok(())
}

#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    init_module(m)
}
