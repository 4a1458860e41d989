//! SQL: eKuiper's dialect parsed by sqlparser, compiled once per rule into a [`SelectPlan`].

pub mod aggregate;
mod analytic;
mod cast;
mod compile;
mod dialect;
pub mod expr;
pub mod functions;
pub mod ops;
mod over_when;
mod plan;
pub mod window;

pub use cast::CastType;
pub use compile::{compile_rule_select, compile_select};
pub use dialect::EkuiperDialect;
pub use plan::{RowError, SelectField, SelectPlan, WindowResult};

#[cfg(test)]
mod tests;
