//! `row_number() OVER (PARTITION BY ... ORDER BY ...)`, as eKuiper numbers a collection's
//! results: after HAVING and before the statement's ORDER BY, the results are split by the
//! partition keys (partitions in the order of their keys), each partition sorted by its ORDER
//! BY and numbered from 1; the results then come partition by partition.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::value::{Value, to_json_string};

use super::expr::{EvalContext, Expr, RowInfo};
use super::plan::{RowError, order_values};

#[derive(Debug, Clone)]
pub struct Numbering {
    pub partition: Vec<Expr>,
    /// ORDER BY: expressions, descending or not.
    pub order: Vec<(Expr, bool)>,
}

impl Numbering {
    /// Orders and numbers the results `kept` (each an index and what its row knows);
    /// `context` gives a result's context. A result whose keys fail is reported and left out.
    pub fn number<'c>(
        &self,
        kept: Vec<(usize, RowInfo)>,
        context: impl Fn(usize, RowInfo) -> EvalContext<'c>,
        errors: &mut Vec<RowError>,
    ) -> Vec<(usize, RowInfo)> {
        // Partitions by the text of their keys, as eKuiper sorts them.
        let mut partitions: BTreeMap<String, Vec<(Vec<Value>, usize, RowInfo)>> = BTreeMap::new();
        for (i, info) in kept {
            let ctx = context(i, info);
            let keys = |exprs: &mut dyn Iterator<Item = &Expr>| {
                exprs
                    .map(|e| e.eval(&ctx))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| RowError::Select(format!("run row_number() error: {e}")))
            };
            let outcome = keys(&mut self.partition.iter()).and_then(|partition| {
                Ok((partition, keys(&mut self.order.iter().map(|(e, _)| e))?))
            });
            match outcome {
                Ok((partition, order)) => partitions
                    .entry(to_json_string(&Value::array(partition)))
                    .or_default()
                    .push((order, i, info)),
                Err(e) => errors.push(e),
            }
        }
        let mut numbered = Vec::new();
        for (_, mut members) in partitions {
            members.sort_by(|(a, ..), (b, ..)| {
                for ((x, y), (_, descending)) in a.iter().zip(b).zip(&self.order) {
                    let order = order_values(x, y);
                    if order != Ordering::Equal {
                        return if *descending { order.reverse() } else { order };
                    }
                }
                Ordering::Equal
            });
            for (n, (_, i, info)) in members.into_iter().enumerate() {
                let info = RowInfo {
                    row_number: Some(n as i64 + 1),
                    ..info
                };
                numbered.push((i, info));
            }
        }
        numbered
    }
}
