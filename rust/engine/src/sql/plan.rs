//! A compiled SELECT and how it turns one input row into zero or one result row.

use crate::clock::Clock;
use crate::value::{Key, Map, Row, Tuple, Value, intern};

use super::expr::{EvalContext, Expr};

/// One item of the select list.
#[derive(Debug, Clone)]
pub enum SelectField {
    /// `*` or `stream.*`: every field of the input row, as it came.
    Wildcard,
    Expr {
        name: Key,
        expr: Expr,
    },
}

/// A rule's compiled statement.
#[derive(Debug, Clone)]
pub struct SelectPlan {
    pub sql: String,
    /// The stream named in FROM.
    pub stream: String,
    pub fields: Vec<SelectField>,
    pub condition: Option<Expr>,
    /// Whether a `*` is among the fields, which sizes the result row.
    pub has_wildcard: bool,
}

/// Where a row failed, for the metrics of the operator at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowError {
    Where(String),
    Select(String),
}

impl SelectPlan {
    pub fn has_condition(&self) -> bool {
        self.condition.is_some()
    }

    /// Whether the WHERE clause lets `row` through.
    pub fn filter(&self, tuple: &Tuple, clock: &dyn Clock) -> Result<bool, RowError> {
        match &self.condition {
            None => Ok(true),
            Some(cond) => cond
                .eval_condition(&EvalContext {
                    row: &tuple.row,
                    meta: tuple.meta.as_deref(),
                    clock,
                })
                .map_err(|e| RowError::Where(format!("run Where error: {e}"))),
        }
    }

    /// Builds the result row. Null results are left out unless `send_nil` (the rule option
    /// `sendNilField`) is set; fields taken by `*` pass through as they came, as in eKuiper.
    /// With `send_meta` (the rule option `sendMetaToSink`), the tuple's metadata goes along
    /// under `__meta`, as in eKuiper.
    pub fn project(
        &self,
        tuple: &Tuple,
        clock: &dyn Clock,
        send_nil: bool,
        send_meta: bool,
    ) -> Result<Row, RowError> {
        let row = &tuple.row;
        let ctx = EvalContext {
            row,
            meta: tuple.meta.as_deref(),
            clock,
        };
        let capacity = match self.has_wildcard {
            true => self.fields.len() + row.len(),
            false => self.fields.len(),
        };
        let mut out = Map::with_capacity(capacity);
        for field in &self.fields {
            match field {
                SelectField::Wildcard => {
                    for (k, v) in row.iter() {
                        out.insert(k.clone(), v.clone());
                    }
                }
                SelectField::Expr { name, expr } => {
                    let value = expr
                        .eval(&ctx)
                        .map_err(|e| RowError::Select(format!("run Select error: {name}: {e}")))?;
                    if send_nil || !value.is_null() {
                        out.insert(name.clone(), value);
                    }
                }
            }
        }
        if send_meta && let Some(meta) = &tuple.meta {
            out.insert(intern(META_KEY), Value::Object(meta.clone()));
        }
        Ok(out)
    }
}

/// Where `sendMetaToSink` puts a row's metadata in the result, as eKuiper does.
const META_KEY: &str = "__meta";
