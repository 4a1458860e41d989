//! eKuiper's `changed_cols(prefix, ignoreNull, x, ...)`: a select-list function that returns
//! one column per argument whose value changed since the last result of the rule (the last row
//! for a rule without a window, the last group otherwise), named prefix + the column's name.
//! `*` stands for every column of the row. The first value of a column counts as a change
//! unless it is null (a column is null before it has a value).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::value::{Key, Map, Value, intern};

use super::analytic::same;
use super::expr::{EvalContext, Expr};
use super::plan::Unit;

/// One argument after the first two.
#[derive(Debug)]
pub enum ChangedArg {
    /// `*`: every column of the row, each by its name.
    Wildcard,
    /// An expression and the name of its column (as the select list would name it).
    Expr(Key, Expr),
}

#[derive(Debug)]
pub struct ChangedCols {
    pub prefix: String,
    pub ignore_null: bool,
    pub args: Vec<ChangedArg>,
    /// The last value of each column, by name.
    last: Mutex<HashMap<Key, Value>>,
}

impl ChangedCols {
    pub fn new(prefix: String, ignore_null: bool, args: Vec<ChangedArg>) -> ChangedCols {
        ChangedCols {
            prefix,
            ignore_null,
            args,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Adds this result's changed columns to `out`, and remembers them. Null values are added
    /// only with `send_nil`, as for any column.
    pub fn project(
        &self,
        ctx: &EvalContext<'_>,
        unit: Unit<'_>,
        out: &mut Map,
        send_nil: bool,
    ) -> Result<(), String> {
        let mut columns: Vec<(Key, Value)> = Vec::new();
        for arg in &self.args {
            match arg {
                ChangedArg::Expr(name, expr) => columns.push((name.clone(), expr.eval(ctx)?)),
                ChangedArg::Wildcard => {
                    let parts: Vec<_> = match unit.parts {
                        None => vec![unit.tuple],
                        Some(parts) => parts.iter().flatten().copied().collect(),
                    };
                    for (k, v) in parts.iter().flat_map(|t| t.row.iter()) {
                        if !columns.iter().any(|(c, _)| c == k) {
                            columns.push((k.clone(), v.clone()));
                        }
                    }
                }
            }
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        for (name, value) in columns {
            if self.ignore_null && value.is_null() {
                continue;
            }
            let before = last.get(&name).unwrap_or(&Value::Null);
            if same(before, &value) {
                continue;
            }
            if send_nil || !value.is_null() {
                out.insert(intern(&format!("{}{name}", self.prefix)), value.clone());
            }
            last.insert(name, value);
        }
        Ok(())
    }
}
