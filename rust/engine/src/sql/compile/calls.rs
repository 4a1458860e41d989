//! The calls that carry clauses of their own: aggregates (and where they may appear), analytic
//! functions with their OVER clause, and the windows of GROUP BY.

use sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArguments};

use super::{Compiler, Place, not_yet, sql_error};
use crate::error::Result;
use crate::sql::aggregate::Aggregate;
use crate::sql::analytic::{ANALYTIC_NAMES, AnalyticCall, AnalyticKind};
use crate::sql::cast::CastType;
use crate::sql::expr::Expr;
use crate::sql::over_when;
use crate::sql::window::{WINDOW_FUNCTIONS, WindowKind, WindowSpec, unit_ms};
use crate::value::{Value, intern};

impl Compiler {
    /// An aggregate call: its first argument is evaluated per row of the group (or `*`), the
    /// others are constants.
    pub(super) fn aggregate(
        &mut self,
        whole: &ast::Expr,
        function: &ast::Function,
        aggregate: Aggregate,
    ) -> Result<Expr> {
        let name = aggregate.name();
        match self.aggregates {
            Place::Allowed => {}
            Place::Where => {
                return Err(sql_error(format!(
                    "the aggregate function {name}() cannot be used in WHERE, found {whole}; use HAVING"
                )));
            }
            Place::GroupBy => {
                return Err(sql_error(format!(
                    "the aggregate function {name}() cannot be used in GROUP BY, found {whole}"
                )));
            }
            Place::InAggregate => {
                return Err(sql_error(format!(
                    "aggregate functions cannot be nested, found {whole}"
                )));
            }
        }
        if function.filter.is_some() || function.over.is_some() {
            return Err(not_yet(&format!("FILTER/OVER on {name}()")));
        }
        let list = match &function.args {
            FunctionArguments::List(list)
                if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
            {
                &list.args
            }
            _ => return Err(sql_error(format!("unsupported arguments in {whole}"))),
        };
        let (least, most) = aggregate.arity();
        if list.len() < least || list.len() > most {
            let want = if least == most {
                format!("{least}")
            } else {
                format!("{least} or {most}")
            };
            return Err(sql_error(format!(
                "{name}() takes {want} argument(s), found {} in {whole}",
                list.len()
            )));
        }
        self.aggregates = Place::InAggregate;
        let compiled = list
            .iter()
            .map(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) if aggregate.takes_star() => {
                    // count(*) counts rows; collect(*) keeps them whole.
                    self.reads_whole_rows |= aggregate != Aggregate::Count;
                    Ok(None)
                }
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => self.expr(e).map(Some),
                other => Err(sql_error(format!(
                    "unsupported argument {other} in {whole}"
                ))),
            })
            .collect::<Result<Vec<_>>>();
        self.aggregates = Place::Allowed;
        let mut compiled = compiled?.into_iter();
        let arg = compiled.next().flatten().map(Box::new);
        let mut extra = Vec::new();
        for e in compiled {
            match e {
                Some(Expr::Literal(v)) => extra.push(v),
                _ => {
                    return Err(sql_error(format!(
                        "{name}(): the arguments after the first must be constants, in {whole}"
                    )));
                }
            }
        }
        if aggregate == Aggregate::Deduplicate && !matches!(extra.first(), Some(Value::Bool(_))) {
            return Err(sql_error(format!(
                "deduplicate(): the second argument (all) must be true or false, in {whole}"
            )));
        }
        Ok(Expr::Aggregate {
            aggregate,
            arg,
            extra,
        })
    }

    /// An analytic call: compiled, registered with its OVER clause, and referred to by index.
    pub(super) fn analytic(
        &mut self,
        whole: &ast::Expr,
        function: &ast::Function,
        kind: AnalyticKind,
    ) -> Result<Expr> {
        let name = ANALYTIC_NAMES
            .iter()
            .find(|n| function.name.to_string().eq_ignore_ascii_case(n))
            .copied()
            .unwrap_or("analytic");
        if function.filter.is_some() {
            return Err(sql_error(format!(
                "{name}() takes OVER (WHEN ...), not FILTER, in {whole}"
            )));
        }
        let args = match &function.args {
            FunctionArguments::List(list)
                if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
            {
                list.args
                    .iter()
                    .map(|arg| match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => self.expr(e),
                        other => Err(sql_error(format!(
                            "unsupported argument {other} in {whole}"
                        ))),
                    })
                    .collect::<Result<Vec<_>>>()?
            }
            FunctionArguments::None => Vec::new(),
            _ => return Err(sql_error(format!("unsupported arguments in {whole}"))),
        };
        let (least, most) = kind.arity();
        if args.len() < least || most.is_some_and(|m| args.len() > m) {
            let want = match most {
                Some(m) if m == least => format!("{least}"),
                Some(m) => format!("{least} to {m}"),
                None => format!("at least {least}"),
            };
            return Err(sql_error(format!(
                "{name}() takes {want} argument(s), found {} in {whole}",
                args.len()
            )));
        }
        let (partition, when) = self.over(whole, function.over.as_ref())?;
        let call = AnalyticCall::new(name, kind, args, partition, when)
            .map_err(|e| sql_error(format!("{e} in {whole}")))?;
        self.analytics.push(call);
        Ok(Expr::Analytic(self.analytics.len() - 1))
    }

    /// `OVER ([PARTITION BY ...] [WHEN ...])`: the partition keys and the condition.
    fn over(
        &mut self,
        whole: &ast::Expr,
        over: Option<&ast::WindowType>,
    ) -> Result<(Vec<Expr>, Option<Expr>)> {
        let spec = match over {
            None => return Ok((Vec::new(), None)),
            Some(ast::WindowType::WindowSpec(spec))
                if spec.window_name.is_none() && spec.window_frame.is_none() =>
            {
                spec
            }
            Some(other) => return Err(not_yet(&format!("OVER {other}"))),
        };
        let partition = spec
            .partition_by
            .iter()
            .map(|e| self.expr(e))
            .collect::<Result<Vec<_>>>()?;
        let when = match spec.order_by.as_slice() {
            [] => None,
            [only] => match &only.expr {
                ast::Expr::Function(f) if f.name.to_string() == over_when::WHEN_MARKER => {
                    match &f.args {
                        FunctionArguments::List(list) => match list.args.as_slice() {
                            [FunctionArg::Unnamed(FunctionArgExpr::Expr(condition))] => {
                                Some(self.expr(condition)?)
                            }
                            _ => return Err(sql_error(format!("invalid WHEN in {whole}"))),
                        },
                        _ => return Err(sql_error(format!("invalid WHEN in {whole}"))),
                    }
                }
                _ => return Err(not_yet(&format!("ORDER BY in OVER, in {whole}"))),
            },
            _ => return Err(not_yet(&format!("ORDER BY in OVER, in {whole}"))),
        };
        Ok((partition, when))
    }

    /// The window of a GROUP BY expression, if it is one.
    pub(super) fn window(&mut self, expr: &ast::Expr) -> Result<Option<WindowSpec>> {
        let ast::Expr::Function(function) = expr else {
            return Ok(None);
        };
        let name = function.name.to_string().to_lowercase();
        if !WINDOW_FUNCTIONS.contains(&name.as_str()) {
            return Ok(None);
        }
        if name == "statewindow" {
            return self.state_window(expr, function).map(Some);
        }
        let trigger = match function.over.as_ref() {
            None => None,
            Some(_) if name != "slidingwindow" => {
                return Err(sql_error(format!(
                    "OVER (WHEN ...) applies to SLIDINGWINDOW only, found on {name}() in {expr}"
                )));
            }
            over => {
                self.aggregates = Place::Where;
                self.in_trigger = true;
                let compiled = self.over(expr, over);
                self.in_trigger = false;
                self.aggregates = Place::GroupBy;
                let (partition, when) = compiled?;
                if !partition.is_empty() {
                    return Err(sql_error(format!(
                        "a window's OVER takes WHEN only, not PARTITION BY, in {expr}"
                    )));
                }
                when
            }
        };
        let args = match &function.args {
            FunctionArguments::List(list) => list.args.as_slice(),
            _ => &[],
        };
        let mut args = args.iter();
        let unit = if WindowKind::timed(&name) {
            let unit = match args.next() {
                Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(ast::Expr::Identifier(i)))) => {
                    window_unit(&i.value)
                }
                Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(ast::Expr::Value(v)))) => {
                    match &v.value {
                        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                            window_unit(s)
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            Some(unit.ok_or_else(|| {
                sql_error(format!(
                    "{name}() takes a time unit first (dd, hh, mi, ss or ms), in {expr}"
                ))
            })?)
        } else {
            None
        };
        let numbers = args
            .map(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => match self.expr(e)? {
                    Expr::Literal(Value::Int(n)) => Ok(n),
                    _ => Err(sql_error(format!(
                        "{name}() takes whole numbers after its unit, found {e} in {expr}"
                    ))),
                },
                other => Err(sql_error(format!("unsupported argument {other} in {expr}"))),
            })
            .collect::<Result<Vec<i64>>>()?;
        let kind = WindowKind::new(&name, unit, &numbers)
            .map_err(|e| sql_error(format!("{e}, in {expr}")))?;
        let filter = match &function.filter {
            None => None,
            Some(condition) => {
                self.aggregates = Place::Where;
                let compiled = self.expr(condition);
                self.aggregates = Place::GroupBy;
                Some(compiled?)
            }
        };
        Ok(Some(WindowSpec {
            kind,
            filter,
            trigger_hits: self
                .trigger_hits
                .then(|| std::sync::Arc::new(crate::sql::hits::Hits::new(false))),
            trigger,
            state: None,
        }))
    }

    /// `STATEWINDOW(beginCondition, emitCondition)`.
    fn state_window(&mut self, expr: &ast::Expr, function: &ast::Function) -> Result<WindowSpec> {
        if function.over.is_some() {
            return Err(sql_error(format!(
                "OVER (WHEN ...) applies to SLIDINGWINDOW only, found on statewindow() in {expr}"
            )));
        }
        let args = match &function.args {
            FunctionArguments::List(list) => list.args.as_slice(),
            _ => &[],
        };
        let [
            FunctionArg::Unnamed(FunctionArgExpr::Expr(begin)),
            FunctionArg::Unnamed(FunctionArgExpr::Expr(emit)),
        ] = args
        else {
            return Err(sql_error(format!(
                "statewindow takes a begin and an emit condition, in {expr}"
            )));
        };
        self.aggregates = Place::Where;
        let compiled = (|| -> Result<_> {
            let begin = self.expr(begin)?;
            let emit = self.expr(emit)?;
            let filter = function.filter.as_ref().map(|c| self.expr(c)).transpose()?;
            Ok((begin, emit, filter))
        })();
        self.aggregates = Place::GroupBy;
        let (begin, emit, filter) = compiled?;
        Ok(WindowSpec {
            kind: WindowKind::State,
            filter,
            trigger: None,
            trigger_hits: None,
            state: Some((begin, emit)),
        })
    }

    /// eKuiper's `cast(x, "bigint")`: the type is a string literal, checked here.
    pub(super) fn cast_call(&mut self, whole: &ast::Expr, args: &[&ast::Expr]) -> Result<Expr> {
        let [value, to] = args else {
            return Err(sql_error(format!(
                "cast takes 2 arguments, the value and the type name, found {} in {whole}",
                args.len()
            )));
        };
        let to = match self.expr(to)? {
            Expr::Literal(Value::String(t)) => CastType::from_name(&t),
            _ => None,
        }
        .ok_or_else(|| {
            sql_error(format!(
                "the second argument of cast must be one of {} (as a string), found {to} in {whole}",
                CastType::NAMES
            ))
        })?;
        Ok(Expr::Cast(self.boxed(value)?, to))
    }
}

fn window_unit(unit: &str) -> Option<i64> {
    unit_ms(unit)
}

/// eKuiper's `meta(topic)` names a metadata key as a bare identifier; `meta(*)` takes them all.
pub(super) fn meta_call(whole: &ast::Expr, args: &FunctionArguments) -> Result<Expr> {
    let arg = match args {
        FunctionArguments::List(list) if list.args.len() == 1 => &list.args[0],
        _ => {
            return Err(sql_error(format!(
                "meta() takes 1 argument, a metadata key such as topic or *, in {whole}"
            )));
        }
    };
    match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => Ok(Expr::Meta(None)),
        FunctionArg::Unnamed(FunctionArgExpr::Expr(ast::Expr::Identifier(ident))) => {
            Ok(Expr::Meta(Some(intern(ident.value.as_str()))))
        }
        other => Err(sql_error(format!(
            "meta() takes a metadata key such as topic, or *, found {other} in {whole}"
        ))),
    }
}
