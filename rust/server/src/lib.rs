//! Everything around the sinkbridge engine that is not Python: the command line, and the
//! ruleset files it runs. One implementation serves both hosts (the standalone binary and the
//! wheel's console script); a host plugs in what it adds to an engine through [`Host`].

pub mod cli;
pub mod ruleset;

pub use cli::{Host, main};
