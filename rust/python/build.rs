fn main() {
    // The standalone binary and the tests link libpython: let them find it at run time
    // without LD_LIBRARY_PATH. (No-op for the extension module, which links no libpython.)
    pyo3_build_config::add_libpython_rpath_link_args();
}
