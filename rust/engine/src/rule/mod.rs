//! Rules: their definitions and how they run.

mod def;
pub(crate) mod runtime;

pub use def::{Action, RestartStrategy, RuleDef, RuleOptions, json_type_name};
