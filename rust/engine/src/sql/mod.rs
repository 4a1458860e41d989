//! SQL: eKuiper's dialect parsed by sqlparser, compiled once per rule into a [`SelectPlan`].

mod cast;
mod compile;
mod dialect;
pub mod expr;
pub mod functions;
pub mod ops;
mod plan;

pub use cast::CastType;
pub use compile::compile_select;
pub use dialect::EkuiperDialect;
pub use plan::{RowError, SelectField, SelectPlan};

#[cfg(test)]
mod tests;
