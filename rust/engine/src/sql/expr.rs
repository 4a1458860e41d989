//! Compiled expressions and their evaluation over one row.

use std::borrow::Cow;
use std::sync::Arc;

use crate::clock::Clock;
use crate::value::{Column, Key, Map, Row, Tuple, Value};

use super::plan::Unit;

use super::aggregate::{self, Aggregate};

use super::cast::CastType;
use super::functions::ScalarFunction;
use super::ops::{self, BinaryOp, LikePattern};

/// What an expression sees while it is evaluated.
pub struct EvalContext<'a> {
    /// The row; for a group, its first row (a column neither grouped nor aggregated takes its
    /// value from there, as in eKuiper).
    pub row: &'a Row,
    /// What the source attached to the row, read by `meta()`.
    pub meta: Option<&'a Map>,
    pub clock: &'a dyn Clock,
    /// For a row of a join: each stream's row, or none (outer joins).
    pub parts: Option<&'a [Option<&'a Tuple>]>,
    /// The rows of the group that aggregates run over.
    pub group: Option<&'a [Unit<'a>]>,
    /// The window being emitted: start and end, Unix milliseconds.
    pub window: Option<(i64, i64)>,
    /// The row's analytic function results, computed before anything else looks at the row.
    pub analytics: &'a [Value],
    /// What the row knows of its place in the rule: its time, its number, the hits before it.
    pub info: RowInfo,
}

/// What a row (or group) knows of its place in the rule, read by `event_time()`,
/// `row_number()` and the `last_hit_*` functions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowInfo {
    /// The row's event time (Unix ms): its timestamp, its arrival, or its window's end.
    pub event_time: Option<i64>,
    /// Its number among the results of its collection, from 1.
    pub row_number: Option<i64>,
    /// How many rows (or groups) passed WHERE (or HAVING) before this one, and the event time
    /// of the last of them (0 before the first).
    pub hit_count: i64,
    pub hit_time: i64,
}

impl<'a> EvalContext<'a> {
    /// The context of one row, outside any window.
    pub fn row(row: &'a Row, meta: Option<&'a Map>, clock: &'a dyn Clock) -> EvalContext<'a> {
        EvalContext {
            row,
            meta,
            clock,
            parts: None,
            group: None,
            window: None,
            analytics: &[],
            info: RowInfo::default(),
        }
    }

    /// The same row with its analytic function results.
    pub fn with_analytics(self, analytics: &'a [Value]) -> EvalContext<'a> {
        EvalContext { analytics, ..self }
    }

    /// The same row with what it knows of its place in the rule.
    pub fn with_info(self, info: RowInfo) -> EvalContext<'a> {
        EvalContext { info, ..self }
    }
}

/// An expression compiled from SQL, ready to evaluate once per row.
#[derive(Debug, Clone)]
pub enum Expr {
    Literal(Value),
    Column(Column),
    /// `stream.column` in a rule that joins streams: the column of that stream's row (by its
    /// index in FROM).
    Qualified(usize, Column),
    /// `a->b`: a field of an object; null when either is missing.
    Field(Box<Expr>, Key),
    /// `a[i]`: an element of an array; negative indexes count from the end.
    Index(Box<Expr>, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Negate(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: LikeSource,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Call {
        function: &'static ScalarFunction,
        args: Vec<Expr>,
    },
    Cast(Box<Expr>, CastType),
    /// `meta(key)`, or `meta(*)` (`None`) for all of the row's metadata as an object.
    Meta(Option<Key>),
    /// An aggregate over the rows of the group: `arg` per row (`None` for `*`: the whole row),
    /// then constant arguments.
    Aggregate {
        aggregate: Aggregate,
        arg: Option<Box<Expr>>,
        extra: Vec<Value>,
    },
    WindowStart,
    WindowEnd,
    /// The result of the rule's n-th analytic call for this row.
    Analytic(usize),
    /// `event_time()`.
    EventTime,
    /// `row_number()`.
    RowNumber,
    /// `last_hit_count()`, `last_hit_time()`, `last_agg_hit_count()`, `last_agg_hit_time()`.
    LastHit(HitKind),
}

/// Which of the `last_hit_*` functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    Count,
    Time,
    AggCount,
    AggTime,
}

impl HitKind {
    pub fn lookup(name: &str) -> Option<HitKind> {
        Some(match name {
            "last_hit_count" => HitKind::Count,
            "last_hit_time" => HitKind::Time,
            "last_agg_hit_count" => HitKind::AggCount,
            "last_agg_hit_time" => HitKind::AggTime,
            _ => return None,
        })
    }

    /// The agg variants count groups that pass HAVING, so they make a rule an aggregate one.
    pub fn aggregate(self) -> bool {
        matches!(self, HitKind::AggCount | HitKind::AggTime)
    }
}

/// A LIKE pattern: compiled once when it is a literal, per row otherwise.
#[derive(Debug, Clone)]
pub enum LikeSource {
    Compiled(Arc<LikePattern>),
    Dynamic(Box<Expr>, Option<char>),
}

/// What a column missing from its row reads as.
static NULL: Value = Value::Null;

impl Expr {
    /// The value of a literal or a column, borrowed from the statement or the row: operators
    /// read their operands in place, where a copy of a string would cost a reference count's
    /// round trip. `None` for anything that must be computed.
    #[inline]
    fn borrowed<'a>(&'a self, ctx: &EvalContext<'a>) -> Option<&'a Value> {
        match self {
            Expr::Literal(v) => Some(v),
            Expr::Column(name) => Some(
                match ctx.parts {
                    None => ctx.row.find(name),
                    // Over a join, the first stream's row that has the column.
                    Some(parts) => parts.iter().flatten().find_map(|t| t.row.find(name)),
                }
                .unwrap_or(&NULL),
            ),
            Expr::Qualified(stream, name) => Some(
                match ctx.parts {
                    None => ctx.row.find(name),
                    Some(parts) => parts
                        .get(*stream)
                        .copied()
                        .flatten()
                        .and_then(|t| t.row.find(name)),
                }
                .unwrap_or(&NULL),
            ),
            _ => None,
        }
    }

    /// The value, borrowed where it can be (see [`Expr::borrowed`]), computed otherwise.
    #[inline]
    pub fn eval_ref<'a>(&'a self, ctx: &EvalContext<'a>) -> Result<Cow<'a, Value>, String> {
        match self.borrowed(ctx) {
            Some(value) => Ok(Cow::Borrowed(value)),
            None => self.eval(ctx).map(Cow::Owned),
        }
    }

    pub fn eval(&self, ctx: &EvalContext<'_>) -> Result<Value, String> {
        match self {
            Expr::Literal(_) | Expr::Column(_) | Expr::Qualified(..) => {
                Ok(self.borrowed(ctx).cloned().unwrap_or_default())
            }
            Expr::Field(object, name) => field(&object.eval(ctx)?, name),
            Expr::Index(array, index) => element(&array.eval(ctx)?, &index.eval(ctx)?),
            Expr::Binary(op, lhs, rhs) => {
                ops::binary(*op, &*lhs.eval_ref(ctx)?, &*rhs.eval_ref(ctx)?)
            }
            Expr::Negate(inner) => negate(inner.eval(ctx)?),
            Expr::And(lhs, rhs) => {
                let l = lhs.eval(ctx)?;
                if let Value::Bool(false) = l {
                    return Ok(l);
                }
                let r = rhs.eval(ctx)?;
                let (lb, rb) = (
                    ops::as_logical(&l, "AND", &r)?,
                    ops::as_logical(&r, "AND", &l)?,
                );
                Ok(match (lb, rb) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                })
            }
            Expr::Or(lhs, rhs) => {
                let l = lhs.eval(ctx)?;
                if let Value::Bool(true) = l {
                    return Ok(l);
                }
                let r = rhs.eval(ctx)?;
                let (lb, rb) = (
                    ops::as_logical(&l, "OR", &r)?,
                    ops::as_logical(&r, "OR", &l)?,
                );
                Ok(match (lb, rb) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                })
            }
            Expr::Not(inner) => match inner.eval(ctx)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                Value::Null => Ok(Value::Null),
                other => Err(format!(
                    "NOT expects a boolean, found {}",
                    ops::describe(&other)
                )),
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => in_list(&expr.eval(ctx)?, list, *negated, ctx),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = expr.eval(ctx)?;
                let (lo, hi) = (low.eval(ctx)?, high.eval(ctx)?);
                let cannot = |e: String| format!("BETWEEN cannot compare: {e}");
                let above = ops::binary(BinaryOp::GtEq, &v, &lo).map_err(cannot)?;
                let below = ops::binary(BinaryOp::LtEq, &v, &hi).map_err(cannot)?;
                let inside = above == Value::Bool(true) && below == Value::Bool(true);
                Ok(Value::Bool(inside != *negated))
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                let text = match expr.eval(ctx)? {
                    Value::String(s) => s,
                    // A missing field is not an error: it simply does not match (see docs/sql.md).
                    Value::Null => return Ok(Value::Null),
                    other => {
                        return Err(format!(
                            "LIKE expects a string on its left, found {}",
                            ops::describe(&other)
                        ));
                    }
                };
                let matched = match pattern {
                    LikeSource::Compiled(p) => p.matches(&text),
                    LikeSource::Dynamic(p, escape) => match p.eval(ctx)? {
                        Value::String(p) => LikePattern::new(&p, *escape).matches(&text),
                        Value::Null => return Ok(Value::Null),
                        other => {
                            return Err(format!(
                                "LIKE expects a string pattern, found {}",
                                ops::describe(&other)
                            ));
                        }
                    },
                };
                Ok(Value::Bool(matched != *negated))
            }
            Expr::IsNull { expr, negated } => {
                Ok(Value::Bool(expr.eval(ctx)?.is_null() != *negated))
            }
            Expr::Case {
                operand,
                branches,
                otherwise,
            } => {
                let operand = operand.as_ref().map(|o| o.eval(ctx)).transpose()?;
                for (when, then) in branches {
                    let w = when.eval(ctx)?;
                    let hit = match &operand {
                        Some(o) => ops::equals(o, &w)?,
                        None => match w {
                            Value::Bool(b) => b,
                            Value::Null => false,
                            other => {
                                return Err(format!(
                                    "CASE WHEN expects a boolean condition, found {}",
                                    ops::describe(&other)
                                ));
                            }
                        },
                    };
                    if hit {
                        return then.eval(ctx);
                    }
                }
                otherwise.as_ref().map_or(Ok(Value::Null), |e| e.eval(ctx))
            }
            Expr::Call { function, args } => {
                let values = args
                    .iter()
                    .map(|a| a.eval(ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                (function.eval)(&values, ctx).map_err(|e| format!("{}(): {e}", function.name))
            }
            Expr::Cast(inner, to) => to.convert(inner.eval(ctx)?),
            Expr::Aggregate {
                aggregate,
                arg,
                extra,
            } => {
                let group = ctx
                    .group
                    .ok_or_else(|| format!("{}() needs a window or GROUP BY", aggregate.name()))?;
                let mut values = Vec::with_capacity(group.len());
                for unit in group {
                    values.push(match arg {
                        None => Value::object(unit.tuple.row.clone()),
                        Some(arg) => arg.eval(&EvalContext {
                            row: &unit.tuple.row,
                            meta: unit.tuple.meta.as_deref(),
                            clock: ctx.clock,
                            parts: unit.parts,
                            group: None,
                            window: ctx.window,
                            analytics: unit.analytics,
                            info: ctx.info,
                        })?,
                    });
                }
                let outcome = match aggregate {
                    // deduplicate() keys on its argument and returns whole rows.
                    Aggregate::Deduplicate => {
                        let rows = group
                            .iter()
                            .map(|u| Value::object(u.tuple.row.clone()))
                            .collect();
                        aggregate::deduplicate(values, rows, extra)
                    }
                    _ => aggregate.compute(values, extra),
                };
                outcome.map_err(|e| format!("{}(): {e}", aggregate.name()))
            }
            // A row of a join without a row of the first stream has no analytic results.
            Expr::Analytic(n) => Ok(ctx.analytics.get(*n).cloned().unwrap_or_default()),
            Expr::WindowStart => Ok(ctx
                .window
                .map_or(Value::Null, |(start, _)| Value::Int(start))),
            Expr::WindowEnd => Ok(ctx.window.map_or(Value::Null, |(_, end)| Value::Int(end))),
            Expr::EventTime => Ok(ctx.info.event_time.map_or(Value::Null, Value::Int)),
            Expr::RowNumber => Ok(ctx.info.row_number.map_or(Value::Null, Value::Int)),
            Expr::LastHit(kind) => Ok(Value::Int(match kind {
                HitKind::Count | HitKind::AggCount => ctx.info.hit_count,
                HitKind::Time | HitKind::AggTime => ctx.info.hit_time,
            })),
            Expr::Meta(key) => Ok(match (ctx.meta, key) {
                (None, _) => Value::Null,
                (Some(meta), Some(key)) => meta.lookup(key).cloned().unwrap_or_default(),
                (Some(meta), None) => Value::object(meta.clone()),
            }),
        }
    }

    /// Whether an aggregate appears anywhere in the expression.
    pub fn has_aggregate(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| {
            found |= match e {
                Expr::Aggregate { .. } => true,
                Expr::LastHit(kind) => kind.aggregate(),
                _ => false,
            }
        });
        found
    }

    /// Whether the expression reads something `pick` chooses.
    pub fn uses(&self, pick: impl Fn(&Expr) -> bool) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= pick(e));
        found
    }

    /// Calls `f` on this expression and every expression inside it.
    fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Literal(_)
            | Expr::Column(_)
            | Expr::Qualified(..)
            | Expr::Meta(_)
            | Expr::WindowStart
            | Expr::WindowEnd
            | Expr::Analytic(_)
            | Expr::EventTime
            | Expr::RowNumber
            | Expr::LastHit(_) => {}
            Expr::Field(inner, _)
            | Expr::Negate(inner)
            | Expr::Not(inner)
            | Expr::Cast(inner, _) => inner.visit(f),
            Expr::Index(a, b) | Expr::Binary(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.visit(f);
                list.iter().for_each(|e| e.visit(f));
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.visit(f);
                low.visit(f);
                high.visit(f);
            }
            Expr::Like { expr, pattern, .. } => {
                expr.visit(f);
                if let LikeSource::Dynamic(p, _) = pattern {
                    p.visit(f);
                }
            }
            Expr::IsNull { expr, .. } => expr.visit(f),
            Expr::Case {
                operand,
                branches,
                otherwise,
            } => {
                if let Some(o) = operand {
                    o.visit(f);
                }
                for (when, then) in branches {
                    when.visit(f);
                    then.visit(f);
                }
                if let Some(o) = otherwise {
                    o.visit(f);
                }
            }
            Expr::Call { args, .. } => args.iter().for_each(|e| e.visit(f)),
            Expr::Aggregate { arg, .. } => {
                if let Some(arg) = arg {
                    arg.visit(f);
                }
            }
        }
    }

    /// Evaluates a condition: only `true` passes; null is false, anything else an error.
    pub fn eval_condition(&self, ctx: &EvalContext<'_>) -> Result<bool, String> {
        match self.eval(ctx)? {
            Value::Bool(b) => Ok(b),
            Value::Null => Ok(false),
            other => Err(format!(
                "the condition returned {} where a boolean was expected",
                ops::describe(&other)
            )),
        }
    }
}

fn field(object: &Value, name: &Key) -> Result<Value, String> {
    match object {
        Value::Object(map) => Ok(map.lookup(name).cloned().unwrap_or_default()),
        Value::Null => Ok(Value::Null),
        other => Err(format!(
            "-> expects an object on its left, found {}",
            ops::describe(other)
        )),
    }
}

fn element(array: &Value, index: &Value) -> Result<Value, String> {
    let items = match array {
        Value::Array(items) => items,
        Value::Null => return Ok(Value::Null),
        other => {
            return Err(format!(
                "[] expects an array on its left, found {}",
                ops::describe(other)
            ));
        }
    };
    let i = match index {
        Value::Int(i) => *i,
        Value::Null => return Ok(Value::Null),
        other => {
            return Err(format!(
                "an array index must be a bigint, found {}",
                ops::describe(other)
            ));
        }
    };
    let len = items.len() as i64;
    let position = if i < 0 { len + i } else { i };
    if position < 0 || position >= len {
        return Err(format!("out of index: {i} of {len}"));
    }
    Ok(items[position as usize].clone())
}

fn negate(v: Value) -> Result<Value, String> {
    match v {
        Value::Int(i) => i
            .checked_neg()
            .map(Value::Int)
            .ok_or_else(|| format!("integer overflow in -({i})")),
        Value::Float(f) => Ok(Value::Float(-f)),
        Value::Null => Ok(Value::Null),
        other => Err(format!("cannot negate {}", ops::describe(&other))),
    }
}

fn in_list(
    v: &Value,
    list: &[Expr],
    negated: bool,
    ctx: &EvalContext<'_>,
) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let mut candidates = Vec::with_capacity(list.len());
    for item in list {
        match item.eval(ctx)? {
            // `x IN arr` where arr is an array-valued expression tests its elements.
            Value::Array(items) if list.len() == 1 => candidates.extend(items.iter().cloned()),
            other => candidates.push(other),
        }
    }
    for candidate in &candidates {
        if ops::equals(v, candidate).map_err(|e| format!("IN cannot compare: {e}"))? {
            return Ok(Value::Bool(!negated));
        }
    }
    Ok(Value::Bool(negated))
}
