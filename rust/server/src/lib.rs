//! Everything around the sinkbridge engine that is not Python: the command line (which runs
//! ruleset files, runs the server, and talks to a running server like eKuiper's CLI), the
//! REST API, persistence and configuration. One implementation serves both hosts (the
//! standalone binary and the wheel's console script); a host plugs in what it adds to an
//! engine through [`Host`].

pub mod catalog;
pub mod cli;
mod client;
pub mod config;
pub mod managed;
pub mod rest;
pub mod ruleset;
mod serve;

pub use cli::{Host, main};
pub use managed::{ManagedEngine, Restored};
