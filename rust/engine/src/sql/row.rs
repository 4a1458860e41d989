//! A rule that takes rows one at a time: each row through the analytic functions, WHERE (and
//! the `last_hit_*` counts) and SELECT, whose `unnest()` may make several result rows.

use crate::clock::Clock;
use crate::value::{Row, Tuple, Value};

use super::expr::{EvalContext, RowInfo};
use super::ops::describe;
use super::plan::{RowError, SelectField, SelectPlan, Unit};

impl SelectPlan {
    /// Whether rows need their time: for `event_time()`, or for `last_hit_time()`.
    pub fn reads_time(&self) -> bool {
        self.reads_event_time || self.hits.is_some()
    }

    /// The result rows of one row, as objects (none when WHERE filters it out: `Ok(None)`);
    /// `event_time` is its timestamp in event time, else its arrival.
    pub fn run_row(
        &self,
        tuple: &Tuple,
        event_time: i64,
        clock: &dyn Clock,
        send_nil: bool,
        send_meta: bool,
    ) -> Result<Option<Vec<Value>>, RowError> {
        let analytics = self.analyze(tuple, clock)?;
        let mut info = RowInfo {
            event_time: Some(event_time),
            row_number: Some(1),
            ..RowInfo::default()
        };
        if let Some(hits) = &self.hits {
            info = hits.before(info);
        }
        let ctx = EvalContext::row(&tuple.row, tuple.meta.as_deref(), clock)
            .with_analytics(&analytics)
            .with_info(info);
        if let Some(condition) = &self.condition {
            let pass = condition
                .eval_condition(&ctx)
                .map_err(|e| RowError::Where(format!("run Where error: {e}")))?;
            if !pass {
                return Ok(None);
            }
        }
        if let Some(hits) = &self.hits {
            hits.hit(Some(event_time));
        }
        let unit = Unit {
            tuple,
            parts: None,
            analytics: &analytics,
            time: Some(event_time),
        };
        let row = self.project_in(&ctx, unit, send_nil, send_meta)?;
        // Most rules make one row of a row: no list of rows to build on the way.
        if !self
            .fields
            .iter()
            .any(|f| matches!(f, SelectField::Unnest { .. }))
        {
            return Ok(Some(match self.limit {
                Some(0) => Vec::new(),
                _ => vec![Value::object(row)],
            }));
        }
        let mut rows = self.unnest(row, send_nil)?;
        if let Some(limit) = self.limit {
            rows.truncate(limit);
        }
        Ok(Some(rows.into_iter().map(Value::object).collect()))
    }

    /// A result row as the rows it makes: itself, or with `unnest(array)`, one per element
    /// (an object's keys become columns; a null or missing array makes none).
    pub(super) fn unnest(&self, mut row: Row, send_nil: bool) -> Result<Vec<Row>, RowError> {
        let Some(name) = self.fields.iter().find_map(|f| match f {
            SelectField::Unnest { name, .. } => Some(name),
            _ => None,
        }) else {
            return Ok(vec![row]);
        };
        let items = match row.remove(name) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(RowError::Select(format!(
                    "run Select error: unnest(): the argument must be an array, found {}",
                    describe(&other)
                )));
            }
        };
        let mut rows = Vec::with_capacity(items.len());
        for item in items.iter() {
            let mut out = row.clone();
            match item {
                Value::Object(fields) => {
                    for (k, v) in fields.iter() {
                        out.insert(k.clone(), v.clone());
                    }
                }
                Value::Null if !send_nil => {}
                other => {
                    out.insert(name.clone(), other.clone());
                }
            }
            rows.push(out);
        }
        Ok(rows)
    }
}
