//! SQL: eKuiper's dialect parsed by sqlparser, compiled once per rule into a [`SelectPlan`].

mod accumulate;
pub mod aggregate;
mod analytic;
mod cast;
mod changed_cols;
mod compile;
mod dialect;
pub mod expr;
pub mod functions;
mod group_key;
pub mod hits;
mod incremental;
mod invisible;
mod numbering;
pub mod ops;
mod over_when;
mod plan;
mod row;
pub mod window;

pub use cast::CastType;
pub use compile::{compile_rule_select, compile_select};
pub use dialect::EkuiperDialect;
pub(crate) use incremental::{IncrementalPlan, PartialGroups};
pub use plan::{Input, RowError, SelectField, SelectPlan, WindowResult};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_select_list;
#[cfg(test)]
mod tests_state;
