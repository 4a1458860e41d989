//! The functions that read the rule rather than the row (`event_time()`, `row_number()`, the
//! `last_hit_*` counts), and the select-list functions that make columns or rows of their own
//! (`changed_cols`, `unnest`).

use std::sync::Arc;

use sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArguments};

use super::{Compiler, Place, sql_error};
use crate::error::Result;
use crate::sql::changed_cols::{ChangedArg, ChangedCols};
use crate::sql::expr::{Expr, HitKind};
use crate::sql::numbering::Numbering;
use crate::sql::over_when;
use crate::sql::plan::SelectField;
use crate::value::{Key, Value, intern};

impl Compiler {
    /// `event_time()`, `row_number()` and the `last_hit_*` functions; `None` for any other.
    pub(super) fn special(
        &mut self,
        whole: &ast::Expr,
        function: &ast::Function,
        name: &str,
    ) -> Result<Option<Expr>> {
        let expr = match name {
            "event_time" => {
                self.reads_event_time = true;
                Expr::EventTime
            }
            "row_number" => {
                if matches!(self.aggregates, Place::Where | Place::GroupBy) {
                    return Err(sql_error(format!(
                        "row_number() numbers the results, so it cannot be used in WHERE or \
                         GROUP BY, found {whole}"
                    )));
                }
                self.row_number_over(whole, function.over.as_ref())?;
                Expr::RowNumber
            }
            "unnest" | "changed_cols" => {
                return Err(sql_error(format!(
                    "{name}() makes {} of its own, so it must be a field of the select list by \
                     itself, found in {whole}",
                    if name == "unnest" { "rows" } else { "columns" }
                )));
            }
            _ => match HitKind::lookup(name) {
                Some(kind) => self.last_hit(whole, kind)?,
                None => return Ok(None),
            },
        };
        if (function.over.is_some() && name != "row_number") || function.filter.is_some() {
            return Err(sql_error(format!(
                "{name}() takes no OVER or FILTER clause, found {whole}"
            )));
        }
        if !no_arguments(&function.args) {
            return Err(sql_error(format!(
                "{name}() takes no arguments, found {whole}"
            )));
        }
        Ok(Some(expr))
    }

    /// `row_number() [OVER ([PARTITION BY ...] [ORDER BY ...])]`: a rule numbers its results
    /// one way, so every `row_number()` of a statement has the same OVER.
    fn row_number_over(&mut self, whole: &ast::Expr, over: Option<&ast::WindowType>) -> Result<()> {
        let text = over.map(|o| o.to_string()).unwrap_or_default();
        if let Some((seen, _)) = &self.row_number {
            if *seen != text {
                return Err(sql_error(format!(
                    "a rule numbers its results one way: every row_number() takes the same OVER, \
                     found {whole}"
                )));
            }
            return Ok(());
        }
        let numbering = match over {
            None => None,
            Some(ast::WindowType::WindowSpec(spec))
                if spec.window_name.is_none() && spec.window_frame.is_none() =>
            {
                let partition = spec
                    .partition_by
                    .iter()
                    .map(|e| self.expr(e))
                    .collect::<Result<Vec<_>>>()?;
                let mut order = Vec::with_capacity(spec.order_by.len());
                for o in &spec.order_by {
                    let descending = match &o.options.sort {
                        None | Some(ast::OrderBySort::Asc) => false,
                        Some(ast::OrderBySort::Desc) => true,
                        Some(_) => {
                            return Err(sql_error(format!("unsupported ORDER BY in {whole}")));
                        }
                    };
                    if matches!(&o.expr, ast::Expr::Function(f) if f.name.to_string() == over_when::WHEN_MARKER)
                    {
                        return Err(sql_error(
                            "row_number() takes OVER (PARTITION BY ... ORDER BY ...), not \
                             OVER (WHEN ...)",
                        ));
                    }
                    order.push((self.expr(&o.expr)?, descending));
                }
                Some(Numbering { partition, order })
            }
            Some(other) => {
                return Err(sql_error(format!(
                    "row_number() takes OVER (PARTITION BY ... ORDER BY ...), found OVER {other}"
                )));
            }
        };
        self.row_number = Some((text, numbering));
        Ok(())
    }

    fn last_hit(&mut self, whole: &ast::Expr, kind: HitKind) -> Result<Expr> {
        // In a sliding window's WHEN, eKuiper counts the rows that met it.
        if self.in_trigger && !kind.aggregate() {
            self.trigger_hits = true;
            return Ok(Expr::LastHit(kind));
        }
        if kind.aggregate() && matches!(self.aggregates, Place::Where | Place::GroupBy) {
            return Err(sql_error(format!(
                "{whole} counts the groups that pass HAVING, so it cannot be used in WHERE or \
                 GROUP BY; use last_hit_count() or last_hit_time() in a rule without a window"
            )));
        }
        match self.hits {
            Some(aggregate) if aggregate != kind.aggregate() => {
                return Err(sql_error(format!(
                    "a rule counts rows (last_hit_count(), last_hit_time()) or groups \
                     (last_agg_hit_count(), last_agg_hit_time()), not both; found {whole}"
                )));
            }
            _ => self.hits = Some(kind.aggregate()),
        }
        Ok(Expr::LastHit(kind))
    }

    /// A select item that is `unnest(...)` or `changed_cols(...)`, compiled; `None` otherwise.
    pub(super) fn select_function(
        &mut self,
        expr: &ast::Expr,
        alias: Option<&ast::Ident>,
    ) -> Result<Option<SelectField>> {
        let ast::Expr::Function(function) = expr else {
            return Ok(None);
        };
        let name = function.name.to_string().to_lowercase();
        if name != "unnest" && name != "changed_cols" {
            return Ok(None);
        }
        if function.over.is_some() || function.filter.is_some() {
            return Err(sql_error(format!(
                "{name}() takes no OVER or FILTER clause, found {expr}"
            )));
        }
        let args = arguments(expr, &function.args)?;
        if name == "unnest" {
            if self.unnests > 0 {
                return Err(sql_error(format!(
                    "a select list takes one unnest(), found a second: {expr}"
                )));
            }
            let [FunctionArg::Unnamed(FunctionArgExpr::Expr(array))] = args else {
                return Err(sql_error(format!(
                    "unnest() takes 1 argument, an array, found {} in {expr}",
                    args.len()
                )));
            };
            self.unnests += 1;
            let name = alias.map_or_else(|| intern("unnest"), |a| intern(a.value.as_str()));
            return Ok(Some(SelectField::Unnest {
                name,
                expr: self.expr(array)?,
            }));
        }
        if let Some(alias) = alias {
            return Err(sql_error(format!(
                "changed_cols() names its columns prefix + column, so it takes no alias, found \
                 AS {alias} in {expr}; to name a column, use changed_col(ignoreNull, x) AS name"
            )));
        }
        self.changed_cols(expr, args).map(Some)
    }

    fn changed_cols(&mut self, whole: &ast::Expr, args: &[FunctionArg]) -> Result<SelectField> {
        let [prefix, ignore_null, columns @ ..] = args else {
            return Err(sql_error(format!(
                "changed_cols() takes a prefix, ignoreNull and at least one column, found {} \
                 argument(s) in {whole}",
                args.len()
            )));
        };
        if columns.is_empty() {
            return Err(sql_error(format!(
                "changed_cols() takes a prefix, ignoreNull and at least one column, found 2 \
                 arguments in {whole}"
            )));
        }
        let prefix = match self.literal_argument(prefix)? {
            Some(Value::String(p)) => p.to_string(),
            _ => {
                return Err(sql_error(format!(
                    "changed_cols(): the prefix must be a string such as \"c_\" or \"\", found \
                     {prefix} in {whole}"
                )));
            }
        };
        let ignore_null = match self.literal_argument(ignore_null)? {
            Some(Value::Bool(b)) => b,
            _ => {
                return Err(sql_error(format!(
                    "changed_cols(): ignoreNull must be true or false, found {ignore_null} in \
                     {whole}"
                )));
            }
        };
        let mut compiled = Vec::with_capacity(columns.len());
        for column in columns {
            compiled.push(match column {
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => {
                    self.reads_whole_rows = true;
                    ChangedArg::Wildcard
                }
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                    let name: Key = self.field_name(e);
                    ChangedArg::Expr(name, self.expr(e)?)
                }
                other => {
                    return Err(sql_error(format!(
                        "unsupported argument {other} in {whole}"
                    )));
                }
            });
        }
        Ok(SelectField::ChangedCols(Arc::new(ChangedCols::new(
            prefix,
            ignore_null,
            compiled,
        ))))
    }

    /// The value of an argument that must be a constant, if it is one.
    fn literal_argument(&mut self, arg: &FunctionArg) -> Result<Option<Value>> {
        Ok(match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => match self.expr(e)? {
                Expr::Literal(v) => Some(v),
                _ => None,
            },
            _ => None,
        })
    }
}

fn no_arguments(args: &FunctionArguments) -> bool {
    match args {
        FunctionArguments::None => true,
        FunctionArguments::List(list) => list.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    }
}

fn arguments<'a>(whole: &ast::Expr, args: &'a FunctionArguments) -> Result<&'a [FunctionArg]> {
    match args {
        FunctionArguments::None => Ok(&[]),
        FunctionArguments::List(list)
            if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
        {
            Ok(&list.args)
        }
        _ => Err(sql_error(format!("unsupported arguments in {whole}"))),
    }
}
