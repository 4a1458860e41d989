//! Rules: their definitions and how they run.

mod def;
mod event_time;
#[cfg(test)]
mod incremental_tests;
mod operator;
pub(crate) mod runtime;
mod table;
mod topo;
mod window;

pub use def::{Action, RestartStrategy, RuleDef, RuleOptions, json_type_name};
pub(crate) use topo::topo;
