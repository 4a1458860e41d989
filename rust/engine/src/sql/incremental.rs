//! Aggregation as rows arrive, for the statements where it gives the results evaluating a
//! closed window over its rows gives ([`SelectPlan::evaluate`]).
//!
//! A grouped statement over tumbling or hopping windows whose per-row parts (WHERE, the GROUP
//! BY keys, the aggregates' arguments) read nothing but the row, and whose aggregates are
//! `count`, `sum`, `avg`, `min` and `max`, keeps per open window and group the index of the
//! group's first row (eKuiper's first-row semantics for columns neither grouped nor
//! aggregated) and running [`Accumulator`]s. When the window closes, HAVING, SELECT, ORDER BY
//! and LIMIT run over the finished groups, each aggregate read from its slot. The rows stay in
//! the window as before: whatever the accumulators cannot reproduce exactly (a row out of time
//! order in its window, so that groups, first rows or float sums would come in another order;
//! an error, which the general path reports as it always has) sends that window back to the
//! general path, over its rows.

use std::collections::hash_map::Entry;

use crate::clock::Clock;

use super::accumulate::Accumulator;
use super::aggregate::Aggregate;
use super::expr::{EvalContext, Expr, LikeSource, RowInfo};
use super::group_key::{GroupIndex, GroupKey};
use super::plan::{Input, Output, SelectField, SelectPlan, Unit, WindowResult};
use super::window::WindowKind;

/// Functions whose result depends on more than their arguments (the clock, chance, another
/// function looked up by name): a per-row part that calls one is not taken as rows arrive.
const CONTEXT_FUNCTIONS: &[&str] = &[
    "now",
    "current_timestamp",
    "local_time",
    "local_timestamp",
    "cur_date",
    "current_date",
    "cur_time",
    "current_time",
    "tstamp",
    "array_map",
    "rand",
    "newuuid",
];

/// How a statement aggregates as rows arrive.
#[derive(Debug)]
pub struct IncrementalPlan {
    /// The statement, each aggregate replaced by the slot that holds its value: a group's
    /// slots are its first row's analytic results, then its aggregates.
    plan: SelectPlan,
    /// How many analytic results come before the aggregates.
    base: usize,
    /// The aggregates, in slot order: which, and the argument (`None` for `count(*)`).
    calls: Vec<(Aggregate, Option<Expr>)>,
    /// A new group's accumulators.
    empty: Vec<Accumulator>,
}

/// One open window's groups so far.
#[derive(Debug, Default)]
pub struct PartialGroups {
    /// Rows taken, and the latest one's time.
    rows: usize,
    latest: i64,
    /// A row came that the accumulators cannot take exactly: the window runs the general way.
    broken: bool,
    index: GroupIndex,
    /// Each group's first row: its index among the window's rows.
    firsts: Vec<usize>,
    /// Each group's accumulators, one per aggregate, group after group.
    accumulators: Vec<Accumulator>,
}

impl PartialGroups {
    /// How many groups so far.
    pub fn len(&self) -> usize {
        self.firsts.len()
    }
}

impl IncrementalPlan {
    /// The plan, when `plan` can aggregate as rows arrive.
    pub fn new(plan: &SelectPlan) -> Option<IncrementalPlan> {
        let window = plan.window.as_ref()?;
        if !matches!(
            window.kind,
            WindowKind::Tumbling { .. } | WindowKind::Hopping { .. }
        ) || !plan.aggregate
            || !plan.joins.is_empty()
            || plan.numbering.is_some()
            || !plan.condition.iter().all(reads_only_the_row)
            || !plan.group_by.iter().all(reads_only_the_row)
        {
            return None;
        }
        let base = plan.analytics.len();
        let mut calls = Vec::new();
        let mut fields = Vec::with_capacity(plan.fields.len());
        for field in &plan.fields {
            fields.push(match field {
                SelectField::Expr { name, expr } => SelectField::Expr {
                    name: name.clone(),
                    expr: rewrite(expr, base, &mut calls)?,
                },
                SelectField::Unnest { name, expr } => SelectField::Unnest {
                    name: name.clone(),
                    expr: rewrite(expr, base, &mut calls)?,
                },
                SelectField::WildcardExcept { except, replace } => {
                    let mut replaced = Vec::with_capacity(replace.len());
                    for (name, expr) in replace {
                        replaced.push((name.clone(), rewrite(expr, base, &mut calls)?));
                    }
                    SelectField::WildcardExcept {
                        except: except.clone(),
                        replace: replaced,
                    }
                }
                SelectField::Wildcard | SelectField::StreamWildcard(_) => field.clone(),
                // Its state and expressions are its own.
                SelectField::ChangedCols(_) => return None,
            });
        }
        let having = match &plan.having {
            Some(having) => Some(rewrite(having, base, &mut calls)?),
            None => None,
        };
        let mut order_by = Vec::with_capacity(plan.order_by.len());
        for (expr, descending) in &plan.order_by {
            order_by.push((rewrite(expr, base, &mut calls)?, *descending));
        }
        let empty = calls
            .iter()
            .map(|(aggregate, _)| Accumulator::new(*aggregate))
            .collect::<Option<Vec<_>>>()?;
        Some(IncrementalPlan {
            plan: SelectPlan {
                fields,
                having,
                order_by,
                ..plan.clone()
            },
            base,
            calls,
            empty,
        })
    }

    /// A window's groups, none yet, with room for about `groups` of them: a window usually has
    /// about as many as the one before, and often a few more. So there is room for a quarter
    /// more: outgrowing it would copy every group's state to a buffer twice the size, which
    /// half the windows of a steady stream did.
    pub fn groups(&self, groups: usize) -> PartialGroups {
        let groups = groups + groups / 4 + 4;
        PartialGroups {
            index: GroupIndex::with_capacity_and_hasher(groups, Default::default()),
            firsts: Vec::with_capacity(groups),
            accumulators: Vec::with_capacity(groups * self.calls.len()),
            ..PartialGroups::default()
        }
    }

    /// Takes the next row of a window, whose time is `time`.
    pub fn add(&self, groups: &mut PartialGroups, row: &Input, time: i64, clock: &dyn Clock) {
        let index = groups.rows;
        groups.rows += 1;
        if groups.broken {
            return;
        }
        if index > 0 && time < groups.latest {
            // Out of time order: the window's rows, in time order, would group otherwise.
            groups.broken = true;
            return;
        }
        groups.latest = time;
        if self.take(groups, index, row, clock).is_err() {
            groups.broken = true;
        }
    }

    fn take(
        &self,
        groups: &mut PartialGroups,
        index: usize,
        row: &Input,
        clock: &dyn Clock,
    ) -> Result<(), String> {
        let tuple = &row.tuple;
        let ctx = EvalContext::row(&tuple.row, tuple.meta.as_deref(), clock)
            .with_analytics(&row.analytics);
        if let Some(condition) = &self.plan.condition
            && !condition.eval_condition(&ctx)?
        {
            return Ok(());
        }
        let key = match self.plan.group_by.as_slice() {
            [one] => GroupKey::One(one.eval(&ctx)?),
            many => GroupKey::Many(
                many.iter()
                    .map(|e| e.eval(&ctx))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let group = match groups.index.entry(key) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                let group = groups.firsts.len();
                entry.insert(group);
                groups.firsts.push(index);
                groups.accumulators.extend_from_slice(&self.empty);
                group
            }
        };
        let accumulators = &mut groups.accumulators[group * self.calls.len()..];
        for ((_, arg), accumulator) in self.calls.iter().zip(accumulators) {
            match arg {
                None => accumulator.add_row(),
                Some(arg) => accumulator
                    .add(&*arg.eval_ref(&ctx)?)
                    .map_err(|()| String::new())?,
            }
        }
        Ok(())
    }

    /// The window's results from its groups, as [`SelectPlan::evaluate`] would make them from
    /// `rows`; `None` when the window must be evaluated the general way.
    #[allow(
        clippy::too_many_arguments,
        reason = "SelectPlan::evaluate's arguments, and the groups"
    )]
    pub fn evaluate(
        &self,
        groups: PartialGroups,
        rows: &[Input],
        window: Option<(i64, i64)>,
        at: i64,
        clock: &dyn Clock,
        send_nil: bool,
        send_meta: bool,
    ) -> Option<WindowResult> {
        if groups.broken || groups.rows != rows.len() {
            return None;
        }
        let stride = self.base + self.calls.len();
        let mut slots = Vec::with_capacity(groups.firsts.len() * stride);
        for (group, first) in groups.firsts.iter().enumerate() {
            let analytics = &rows.get(*first)?.analytics;
            slots.extend((0..self.base).map(|i| analytics.get(i).cloned().unwrap_or_default()));
            let accumulators = &groups.accumulators[group * self.calls.len()..];
            slots.extend(
                accumulators
                    .iter()
                    .take(self.calls.len())
                    .map(Accumulator::finish),
            );
        }
        let firsts: Vec<Unit<'_>> = groups
            .firsts
            .iter()
            .enumerate()
            .map(|(group, first)| {
                let input = &rows[*first];
                Unit {
                    tuple: &input.tuple,
                    parts: None,
                    analytics: &slots[group * stride..(group + 1) * stride],
                    time: input.time,
                }
            })
            .collect();
        let output = Output {
            window,
            info: RowInfo {
                event_time: Some(at),
                ..RowInfo::default()
            },
            clock,
            send_nil,
            send_meta,
        };
        let context = |i: usize, info: RowInfo| firsts[i].context(clock, window, info);
        let mut result = WindowResult::default();
        self.plan
            .finish(&firsts, true, context, &output, &mut result);
        Some(result)
    }
}

/// Whether `expr` reads only its row (its columns, metadata and analytic results): nothing
/// of its window, its group or the clock.
fn reads_only_the_row(expr: &Expr) -> bool {
    !expr.uses(|e| match e {
        Expr::Aggregate { .. }
        | Expr::WindowStart
        | Expr::WindowEnd
        | Expr::EventTime
        | Expr::RowNumber
        | Expr::LastHit(_) => true,
        Expr::Call { function, .. } => CONTEXT_FUNCTIONS.contains(&function.name),
        _ => false,
    })
}

/// `expr` with each aggregate replaced by its slot (added to `calls`); `None` when an
/// aggregate cannot be kept as rows arrive.
fn rewrite(expr: &Expr, base: usize, calls: &mut Vec<(Aggregate, Option<Expr>)>) -> Option<Expr> {
    if !expr.has_aggregate() {
        return Some(expr.clone());
    }
    let mut go = |e: &Expr| rewrite(e, base, calls).map(Box::new);
    Some(match expr {
        Expr::Aggregate {
            aggregate,
            arg,
            extra,
        } => {
            Accumulator::new(*aggregate)?;
            let arg = arg.as_deref();
            if !extra.is_empty()
                || !arg.is_none_or(reads_only_the_row)
                || (arg.is_none() && *aggregate != Aggregate::Count)
            {
                return None;
            }
            calls.push((*aggregate, arg.cloned()));
            Expr::Analytic(base + calls.len() - 1)
        }
        Expr::Field(inner, key) => Expr::Field(go(inner)?, key.clone()),
        Expr::Index(a, b) => Expr::Index(go(a)?, go(b)?),
        Expr::Binary(op, a, b) => Expr::Binary(*op, go(a)?, go(b)?),
        Expr::Negate(inner) => Expr::Negate(go(inner)?),
        Expr::And(a, b) => Expr::And(go(a)?, go(b)?),
        Expr::Or(a, b) => Expr::Or(go(a)?, go(b)?),
        Expr::Not(inner) => Expr::Not(go(inner)?),
        Expr::Cast(inner, to) => Expr::Cast(go(inner)?, *to),
        Expr::IsNull { expr, negated } => Expr::IsNull {
            expr: go(expr)?,
            negated: *negated,
        },
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: go(expr)?,
            list: list
                .iter()
                .map(|e| go(e).map(|e| *e))
                .collect::<Option<_>>()?,
            negated: *negated,
        },
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => Expr::Between {
            expr: go(expr)?,
            low: go(low)?,
            high: go(high)?,
            negated: *negated,
        },
        Expr::Like {
            expr,
            pattern,
            negated,
        } => Expr::Like {
            expr: go(expr)?,
            pattern: match pattern {
                LikeSource::Compiled(p) => LikeSource::Compiled(p.clone()),
                LikeSource::Dynamic(p, escape) => LikeSource::Dynamic(go(p)?, *escape),
            },
            negated: *negated,
        },
        Expr::Case {
            operand,
            branches,
            otherwise,
        } => {
            let operand = match operand {
                Some(o) => Some(go(o)?),
                None => None,
            };
            let mut arms = Vec::with_capacity(branches.len());
            for (when, then) in branches {
                arms.push((*go(when)?, *go(then)?));
            }
            let otherwise = match otherwise {
                Some(o) => Some(go(o)?),
                None => None,
            };
            Expr::Case {
                operand,
                branches: arms,
                otherwise,
            }
        }
        Expr::Call { function, args } => Expr::Call {
            function,
            args: args
                .iter()
                .map(|e| go(e).map(|e| *e))
                .collect::<Option<_>>()?,
        },
        Expr::Literal(_)
        | Expr::Column(_)
        | Expr::Qualified(..)
        | Expr::Meta(_)
        | Expr::WindowStart
        | Expr::WindowEnd
        | Expr::Analytic(_)
        | Expr::EventTime
        | Expr::RowNumber
        | Expr::LastHit(_) => expr.clone(),
    })
}
