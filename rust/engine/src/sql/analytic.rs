//! Analytic functions: they keep state from row to row (`lag`, `latest`, `changed_col`,
//! `had_changed`, `acc_*`), per partition with `OVER (PARTITION BY ...)`. As in eKuiper they
//! run first, for every row, before WHERE, so that WHERE cannot starve their state; with
//! `OVER (WHEN condition)`, a row where the condition does not hold leaves the state alone and
//! gets the last result again.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::value::{Value, to_json_string};

use super::aggregate::Aggregate;
use super::expr::{EvalContext, Expr};
use super::ops::describe;

/// The analytic functions' names.
pub const ANALYTIC_NAMES: &[&str] = &[
    "lag",
    "latest",
    "changed_col",
    "had_changed",
    "acc_sum",
    "acc_avg",
    "acc_min",
    "acc_max",
    "acc_count",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyticKind {
    /// `lag(expr[, offset[, default[, ignoreNull]]])`
    Lag,
    /// `latest(expr[, default])`
    Latest,
    /// `changed_col(ignoreNull, expr)`
    ChangedCol,
    /// `had_changed(ignoreNull, expr, ...)`
    HadChanged,
    AccSum,
    AccAvg,
    AccMin,
    AccMax,
    AccCount,
}

impl AnalyticKind {
    pub fn lookup(name: &str) -> Option<AnalyticKind> {
        Some(match name {
            "lag" => AnalyticKind::Lag,
            "latest" => AnalyticKind::Latest,
            "changed_col" => AnalyticKind::ChangedCol,
            "had_changed" => AnalyticKind::HadChanged,
            "acc_sum" => AnalyticKind::AccSum,
            "acc_avg" => AnalyticKind::AccAvg,
            "acc_min" => AnalyticKind::AccMin,
            "acc_max" => AnalyticKind::AccMax,
            "acc_count" => AnalyticKind::AccCount,
            _ => return None,
        })
    }

    /// (least, most) arguments; `None`: any number from the least.
    pub fn arity(self) -> (usize, Option<usize>) {
        match self {
            AnalyticKind::Lag => (1, Some(4)),
            AnalyticKind::Latest => (1, Some(2)),
            AnalyticKind::ChangedCol => (2, Some(2)),
            AnalyticKind::HadChanged => (2, None),
            _ => (1, Some(1)),
        }
    }
}

/// One analytic call of a rule, with its state.
#[derive(Debug)]
pub struct AnalyticCall {
    pub name: &'static str,
    pub kind: AnalyticKind,
    pub args: Vec<Expr>,
    /// `lag`'s offset, read when the rule is compiled.
    pub offset: usize,
    pub partition: Vec<Expr>,
    pub when: Option<Expr>,
    state: Mutex<HashMap<String, State>>,
}

#[derive(Debug, Default)]
struct State {
    /// The values seen (lag: the last `offset` of them; changes: the last one per argument).
    seen: Vec<Value>,
    /// The running result (latest, acc_*), and the last result returned.
    total: Option<Value>,
    count: i64,
    last_result: Option<Value>,
}

fn flag(v: &Value, what: &str) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(format!(
            "{what} must be true or false, found {}",
            describe(other)
        )),
    }
}

impl AnalyticCall {
    pub fn new(
        name: &'static str,
        kind: AnalyticKind,
        args: Vec<Expr>,
        partition: Vec<Expr>,
        when: Option<Expr>,
    ) -> Result<AnalyticCall, String> {
        let offset = match (kind, args.get(1)) {
            (AnalyticKind::Lag, Some(Expr::Literal(Value::Int(n)))) if *n > 0 => *n as usize,
            (AnalyticKind::Lag, Some(other)) => {
                return Err(format!(
                    "lag(): the offset must be a whole number above 0, found {other:?}"
                ));
            }
            _ => 1,
        };
        Ok(AnalyticCall {
            name,
            kind,
            args,
            offset,
            partition,
            when,
            state: Mutex::new(HashMap::new()),
        })
    }

    /// The call's result for this row, updating its state.
    pub fn compute(&self, ctx: &EvalContext<'_>) -> Result<Value, String> {
        let key = if self.partition.is_empty() {
            String::new()
        } else {
            let keys = self
                .partition
                .iter()
                .map(|e| e.eval(ctx))
                .collect::<Result<Vec<_>, _>>()?;
            to_json_string(&Value::array(keys))
        };
        let valid = match &self.when {
            None => true,
            Some(when) => when.eval_condition(ctx)?,
        };
        let mut states = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = states.entry(key).or_default();
        if !valid {
            // An invalid event leaves the state alone and gets the last result again.
            return Ok(match &state.last_result {
                Some(v) => v.clone(),
                None => self.default(ctx)?,
            });
        }
        let result = self.step(state, ctx)?;
        state.last_result = Some(result.clone());
        Ok(result)
    }

    /// The default value of `lag` and `latest` (null when none is given).
    fn default(&self, ctx: &EvalContext<'_>) -> Result<Value, String> {
        let at = match self.kind {
            AnalyticKind::Lag => 2,
            AnalyticKind::Latest => 1,
            _ => return Ok(Value::Null),
        };
        self.args.get(at).map_or(Ok(Value::Null), |e| e.eval(ctx))
    }

    fn step(&self, state: &mut State, ctx: &EvalContext<'_>) -> Result<Value, String> {
        match self.kind {
            AnalyticKind::Lag => {
                let value = self.args[0].eval(ctx)?;
                let ignore_null = match self.args.get(3) {
                    Some(e) => flag(&e.eval(ctx)?, "lag(): ignore null")?,
                    None => false,
                };
                let result = if state.seen.len() >= self.offset {
                    state.seen[state.seen.len() - self.offset].clone()
                } else {
                    self.default(ctx)?
                };
                if !(ignore_null && value.is_null()) {
                    state.seen.push(value);
                    if state.seen.len() > self.offset {
                        state.seen.remove(0);
                    }
                }
                Ok(result)
            }
            AnalyticKind::Latest => {
                let value = self.args[0].eval(ctx)?;
                if !value.is_null() {
                    state.total = Some(value);
                }
                match &state.total {
                    Some(v) => Ok(v.clone()),
                    None => self.default(ctx),
                }
            }
            AnalyticKind::ChangedCol | AnalyticKind::HadChanged => {
                let ignore_null =
                    flag(&self.args[0].eval(ctx)?, "the first argument (ignore null)")?;
                let values = self.args[1..]
                    .iter()
                    .map(|e| e.eval(ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                let first = state.seen.is_empty();
                if first {
                    state.seen = vec![Value::Null; values.len()];
                }
                let mut changed = false;
                for (value, last) in values.iter().zip(state.seen.iter_mut()) {
                    if ignore_null && value.is_null() {
                        continue;
                    }
                    if first || !same(value, last) {
                        changed = true;
                        *last = value.clone();
                    }
                }
                Ok(match self.kind {
                    AnalyticKind::HadChanged => Value::Bool(changed),
                    _ if changed => values.into_iter().next().unwrap_or_default(),
                    _ => Value::Null,
                })
            }
            AnalyticKind::AccCount => {
                if !self.args[0].eval(ctx)?.is_null() {
                    state.count += 1;
                }
                Ok(Value::Int(state.count))
            }
            AnalyticKind::AccSum
            | AnalyticKind::AccAvg
            | AnalyticKind::AccMin
            | AnalyticKind::AccMax => {
                let value = self.args[0].eval(ctx)?;
                if !value.is_null() {
                    let aggregate = match self.kind {
                        AnalyticKind::AccMin => Aggregate::Min,
                        AnalyticKind::AccMax => Aggregate::Max,
                        _ => Aggregate::Sum,
                    };
                    let before = state.total.take().unwrap_or(Value::Null);
                    state.total = Some(aggregate.compute(vec![before, value], &[])?);
                    state.count += 1;
                }
                let total = state.total.clone().unwrap_or(Value::Null);
                Ok(match (self.kind, &total) {
                    (AnalyticKind::AccAvg, Value::Int(t)) => {
                        Value::Float(*t as f64 / state.count as f64)
                    }
                    (AnalyticKind::AccAvg, Value::Float(t)) => Value::Float(t / state.count as f64),
                    _ => total,
                })
            }
        }
    }
}

/// Whether two values are the same for change detection: an integer equals the same float.
pub(super) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => *x as f64 == *y,
        _ => to_json_string(a) == to_json_string(b),
    }
}
