//! The standalone `sinkbridge` command: the engine with an embedded CPython for Python sinks.

fn main() {
    std::process::exit(sinkbridge_python::embedded::main());
}
