//! From sqlparser's AST to a [`SelectPlan`]: names resolved, functions bound, literals typed,
//! once per rule. Everything this version cannot run is rejected here, with the construct named.

mod calls;
mod select;
mod special;

use calls::meta_call;

use std::sync::Arc;

use sqlparser::ast::{
    self, AccessExpr, BinaryOperator, CeilFloorKind, DateTimeField, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, Ident, ObjectName, SetExpr, Statement, Subscript, TableFactor,
    UnaryOperator,
};
use sqlparser::parser::Parser;

use crate::error::{Error, Result};
use crate::value::{Column, Key, Value, intern};

use super::aggregate::Aggregate;
use super::analytic::{AnalyticCall, AnalyticKind};
use super::cast::CastType;
use super::dialect::EkuiperDialect;
use super::expr::{Expr, LikeSource};
use super::functions::{self, NOT_YET_SUPPORTED};
use super::hits::Hits;
use super::invisible;
use super::numbering::Numbering;
use super::ops::{BinaryOp, LikePattern};
use super::over_when;
use super::plan::{Join, JoinKind, SelectField, SelectPlan};
use super::window::WINDOW_FUNCTIONS;

fn sql_error(message: impl Into<String>) -> Error {
    Error::Sql(message.into())
}

fn not_yet(what: &str) -> Error {
    sql_error(format!(
        "{what} is not supported yet: this version runs SELECT ... FROM one stream [WHERE ...] \
         [GROUP BY ... and a time or count window] [HAVING ...] [ORDER BY ...] [LIMIT n]"
    ))
}

/// Parses and compiles a SQL statement (outside a rule: `rule_id()` is null).
pub fn compile_select(sql: &str) -> Result<SelectPlan> {
    compile_rule_select(sql, None)
}

/// Parses and compiles the SQL statement of the rule `rule_id`.
pub fn compile_rule_select(sql: &str, rule_id: Option<&str>) -> Result<SelectPlan> {
    let (text, invisible) = invisible::rewrite(&over_when::rewrite(sql));
    let statements = Parser::parse_sql(&EkuiperDialect, &text)
        .map_err(|e| sql_error(format!("invalid SQL: {e}")))?;
    let statement = match statements.as_slice() {
        [one] => one,
        [] => return Err(sql_error("invalid SQL: the statement is empty")),
        _ => {
            return Err(sql_error(
                "invalid SQL: a rule runs exactly one SELECT statement",
            ));
        }
    };
    let query = match statement {
        Statement::Query(q) => q,
        other => {
            let text = other.to_string();
            let verb = text.split_whitespace().next().unwrap_or("").to_uppercase();
            return Err(sql_error(format!(
                "a rule's SQL must be a SELECT statement, found {verb}"
            )));
        }
    };
    if query.with.is_some() {
        return Err(not_yet("WITH"));
    }
    if query.fetch.is_some() {
        return Err(not_yet("FETCH"));
    }
    let select = match query.body.as_ref() {
        SetExpr::Select(s) => s,
        SetExpr::SetOperation { op, .. } => return Err(not_yet(&op.to_string())),
        _ => return Err(sql_error("a rule's SQL must be a plain SELECT")),
    };
    if select.distinct.is_some() {
        return Err(not_yet("DISTINCT"));
    }
    let group_exprs = match &select.group_by {
        GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs.as_slice(),
        other => return Err(not_yet(&other.to_string())),
    };
    let (streams, join_clauses) = compile_from(&select.from)?;
    let mut compiler = Compiler {
        streams,
        anonymous_fields: 0,
        aggregates: Place::Where,
        aliases: Vec::new(),
        analytics: Vec::new(),
        rule_id: rule_id.map(str::to_string),
        hits: None,
        reads_event_time: false,
        unnests: 0,
        in_trigger: false,
        trigger_hits: false,
        row_number: None,
        columns: Vec::new(),
        reads_whole_rows: false,
    };
    let mut joins = Vec::with_capacity(join_clauses.len());
    for (kind, on) in join_clauses {
        joins.push(Join {
            kind,
            on: on.map(|e| compiler.expr(e)).transpose()?,
        });
    }
    compiler.aggregates = Place::Allowed;
    let mut fields = Vec::with_capacity(select.projection.len());
    for (i, item) in select.projection.iter().enumerate() {
        let field = compiler.select_item(item)?;
        if let SelectField::Expr { name, expr } = &field {
            compiler.aliases.push((name.clone(), expr.clone()));
        }
        if !invisible.contains(&i) {
            fields.push(field);
        } else if !matches!(field, SelectField::Expr { .. }) {
            return Err(sql_error(format!(
                "INVISIBLE applies to an expression of the select list, found it after {item}"
            )));
        }
        // An INVISIBLE field is only its name, for the fields after it, HAVING and ORDER BY.
    }
    // WHERE may use the select list's names, as in eKuiper (`... AS lc ... WHERE lc < 2`).
    compiler.aggregates = Place::Where;
    let condition = select
        .selection
        .as_ref()
        .map(|e| compiler.expr(e))
        .transpose()?;
    if let (Some(condition), Some(text)) = (&condition, &select.selection)
        && condition.has_aggregate()
    {
        return Err(sql_error(format!(
            "WHERE runs before grouping, so it cannot use an aggregate (through a name of the \
             select list), found {text}; use HAVING"
        )));
    }
    compiler.aggregates = Place::GroupBy;
    let mut window = None;
    let mut group_by = Vec::new();
    for expr in group_exprs {
        match compiler.window(expr)? {
            Some(spec) if window.is_some() => {
                return Err(sql_error(format!(
                    "a rule has one window, found a second: {expr} ({:?})",
                    spec.kind
                )));
            }
            Some(spec) => window = Some(spec),
            None => {
                let key = compiler.expr(expr)?;
                if key.has_aggregate() {
                    return Err(sql_error(format!(
                        "GROUP BY cannot use an aggregate (through a name of the select list), \
                         found {expr}"
                    )));
                }
                group_by.push(key);
            }
        }
    }
    compiler.aggregates = Place::Allowed;
    let having = select
        .having
        .as_ref()
        .map(|e| compiler.expr(e))
        .transpose()?;
    let order_by = match &query.order_by {
        None => Vec::new(),
        Some(order) => match &order.kind {
            ast::OrderByKind::Expressions(exprs) => exprs
                .iter()
                .map(|o| {
                    let descending = match &o.options.sort {
                        None | Some(ast::OrderBySort::Asc) => false,
                        Some(ast::OrderBySort::Desc) => true,
                        Some(_) => return Err(not_yet("ORDER BY ... USING")),
                    };
                    Ok((compiler.expr(&o.expr)?, descending))
                })
                .collect::<Result<_>>()?,
            ast::OrderByKind::All(_) => return Err(not_yet("ORDER BY ALL")),
        },
    };
    let limit = match &query.limit_clause {
        None => None,
        Some(ast::LimitClause::LimitOffset {
            limit: Some(limit),
            offset: None,
            limit_by,
        }) if limit_by.is_empty() => match compiler.expr(limit)? {
            Expr::Literal(Value::Int(n)) if n >= 0 => Some(n as usize),
            _ => {
                return Err(sql_error(format!(
                    "LIMIT takes a whole number, found {limit}"
                )));
            }
        },
        Some(other) => return Err(not_yet(&other.to_string())),
    };
    let aggregate = !group_by.is_empty()
        || fields.iter().any(|f| match f {
            SelectField::Expr { expr, .. } | SelectField::Unnest { expr, .. } => {
                expr.has_aggregate()
            }
            SelectField::WildcardExcept { replace, .. } => {
                replace.iter().any(|(_, e)| e.has_aggregate())
            }
            SelectField::ChangedCols(changed) => changed.args.iter().any(|a| match a {
                super::changed_cols::ChangedArg::Expr(_, e) => e.has_aggregate(),
                super::changed_cols::ChangedArg::Wildcard => false,
            }),
            SelectField::Wildcard | SelectField::StreamWildcard(_) => false,
        })
        || having.as_ref().is_some_and(Expr::has_aggregate)
        || order_by.iter().any(|(e, _)| e.has_aggregate());
    if compiler.hits == Some(false) && (window.is_some() || aggregate) {
        return Err(sql_error(
            "last_hit_count() and last_hit_time() count the rows of a rule without a window or \
             GROUP BY; in this rule, use last_agg_hit_count() and last_agg_hit_time(), which \
             count the groups that pass HAVING",
        ));
    }
    let has_wildcard = fields.iter().any(|f| {
        matches!(
            f,
            SelectField::Wildcard
                | SelectField::StreamWildcard(_)
                | SelectField::WildcardExcept { .. }
        )
    });
    let mut names = Vec::with_capacity(fields.len());
    let distinct_names = fields.iter().all(|f| match f {
        SelectField::Expr { name, .. } | SelectField::Unnest { name, .. } => {
            let new = !names.contains(&name);
            names.push(name);
            new
        }
        _ => false,
    });
    Ok(SelectPlan {
        sql: sql.to_string(),
        streams: compiler
            .streams
            .iter()
            .map(|(name, _)| name.clone())
            .collect(),
        joins,
        has_wildcard,
        columns_read: (!has_wildcard && !compiler.reads_whole_rows).then_some(compiler.columns),
        distinct_names,
        fields,
        condition,
        window,
        group_by,
        aggregate,
        having,
        order_by,
        limit,
        analytics: compiler.analytics.into_iter().map(Arc::new).collect(),
        hits: compiler
            .hits
            .map(|aggregate| Arc::new(Hits::new(aggregate))),
        reads_event_time: compiler.reads_event_time,
        numbering: compiler.row_number.and_then(|(_, numbering)| numbering),
    })
}

/// Where the compiler is, for what aggregate functions may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Where,
    GroupBy,
    /// In the select list, HAVING and ORDER BY.
    Allowed,
    /// Inside an aggregate's argument.
    InAggregate,
}

/// A stream read, with its alias.
type StreamRef = (String, Option<String>);

/// The streams of FROM and its JOINs, and each join's kind and ON condition.
#[allow(
    clippy::type_complexity,
    reason = "a private step of the compiler, named by its parts"
)]
fn compile_from(
    from: &[ast::TableWithJoins],
) -> Result<(Vec<StreamRef>, Vec<(JoinKind, Option<&ast::Expr>)>)> {
    let table = match from {
        [one] => one,
        [] => return Err(sql_error("the SELECT has no FROM: name the stream to read")),
        _ => {
            return Err(sql_error(
                "FROM names one stream; join others with JOIN ... ON",
            ));
        }
    };
    let mut streams = vec![stream_ref(&table.relation)?];
    let mut joins = Vec::with_capacity(table.joins.len());
    for join in &table.joins {
        use ast::JoinOperator as J;
        let (kind, constraint) = match &join.join_operator {
            J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
            J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
            J::FullOuter(c) => (JoinKind::Full, c),
            J::CrossJoin(c) => (JoinKind::Cross, c),
            other => return Err(not_yet(&format!("{other:?} joins"))),
        };
        let on = match (kind, constraint) {
            (_, ast::JoinConstraint::On(e)) => Some(e),
            (JoinKind::Cross, ast::JoinConstraint::None) => None,
            (_, ast::JoinConstraint::None) => {
                return Err(sql_error(format!(
                    "the join of {} needs an ON condition",
                    join.relation
                )));
            }
            (_, other) => return Err(not_yet(&format!("JOIN ... {other:?}"))),
        };
        streams.push(stream_ref(&join.relation)?);
        joins.push((kind, on));
    }
    Ok((streams, joins))
}

fn stream_ref(relation: &TableFactor) -> Result<StreamRef> {
    match relation {
        TableFactor::Table {
            name, alias, args, ..
        } if args.is_none() => {
            let stream = single_name(name)?;
            Ok((stream, alias.as_ref().map(|a| a.name.value.clone())))
        }
        other => Err(sql_error(format!("FROM must name a stream, found {other}"))),
    }
}

fn single_name(name: &ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .map(|i| i.value.clone())
            .ok_or_else(|| sql_error(format!("FROM must name a stream, found {name}"))),
        _ => Err(sql_error(format!("FROM must name a stream, found {name}"))),
    }
}

struct Compiler {
    /// The streams read, with their aliases: FROM's, then each JOIN's.
    streams: Vec<StreamRef>,
    /// eKuiper names unnamed expressions `kuiper_field_0`, `kuiper_field_1`, ... in order.
    anonymous_fields: usize,
    aggregates: Place,
    /// The select list's names so far: a later field, HAVING and ORDER BY may use them.
    aliases: Vec<(Key, Expr)>,
    /// The analytic calls met so far; `Expr::Analytic(n)` refers to the n-th.
    analytics: Vec<AnalyticCall>,
    /// The rule's id, for `rule_id()`.
    rule_id: Option<String>,
    /// Whether `last_hit_*` (false) or `last_agg_hit_*` (true) functions are read.
    hits: Option<bool>,
    /// Whether `event_time()` is read.
    reads_event_time: bool,
    /// How many `unnest()` the select list has.
    unnests: usize,
    /// Whether a sliding window's `OVER (WHEN ...)` is being compiled, and whether it reads
    /// `last_hit_count()` or `last_hit_time()`: those count the rows that met it.
    in_trigger: bool,
    trigger_hits: bool,
    /// The OVER clause of `row_number()` (its text, and how it numbers), once one is met.
    row_number: Option<(String, Option<Numbering>)>,
    /// The columns named so far, of any stream: what a source has to decode for this rule.
    columns: Vec<Key>,
    /// Whether something reads whole rows (`collect(*)`, `changed_cols(..., *)`).
    reads_whole_rows: bool,
}

impl Compiler {
    /// The index of the stream a name or alias refers to.
    fn source(&self, ident: &Ident) -> Option<usize> {
        let matches = |(name, alias): &StreamRef| {
            name.eq_ignore_ascii_case(&ident.value)
                || alias
                    .as_ref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&ident.value))
        };
        self.streams.iter().position(matches)
    }

    fn is_source(&self, ident: &Ident) -> bool {
        self.source(ident).is_some()
    }

    fn joins(&self) -> bool {
        self.streams.len() > 1
    }

    fn boxed(&mut self, expr: &ast::Expr) -> Result<Box<Expr>> {
        Ok(Box::new(self.expr(expr)?))
    }

    fn expr(&mut self, expr: &ast::Expr) -> Result<Expr> {
        use ast::Expr as A;
        Ok(match expr {
            A::Identifier(ident) => match self
                .aliases
                .iter()
                .rev()
                .find(|(name, _)| name.as_ref() == ident.value.as_str())
            {
                Some((_, aliased)) => aliased.clone(),
                None => Expr::Column(Column::new(self.column(&ident.value))),
            },
            A::CompoundIdentifier(parts) => self.compound_identifier(parts),
            A::Value(v) => Expr::Literal(literal(&v.value)?),
            A::Nested(inner) => self.expr(inner)?,
            A::BinaryOp { left, op, right } => self.binary(expr, left, op, right)?,
            A::UnaryOp { op, expr: inner } => match op {
                UnaryOperator::Not => Expr::Not(self.boxed(inner)?),
                UnaryOperator::Minus => match inner.as_ref() {
                    // Fold `-5` into a literal so that i64::MIN parses and indexes like a[-1] stay literal.
                    A::Value(v) => Expr::Literal(negative_literal(&v.value)?),
                    _ => Expr::Negate(self.boxed(inner)?),
                },
                UnaryOperator::Plus => self.expr(inner)?,
                other => return Err(sql_error(format!("unsupported operator {other} in {expr}"))),
            },
            A::IsNull(inner) => Expr::IsNull {
                expr: self.boxed(inner)?,
                negated: false,
            },
            A::IsNotNull(inner) => Expr::IsNull {
                expr: self.boxed(inner)?,
                negated: true,
            },
            A::In {
                expr: inner,
                target: ast::InTarget::List(list),
                negated,
                global: false,
            } => Expr::InList {
                expr: self.boxed(inner)?,
                list: list.iter().map(|e| self.expr(e)).collect::<Result<_>>()?,
                negated: *negated,
            },
            A::Between {
                expr: inner,
                negated,
                low,
                high,
            } => Expr::Between {
                expr: self.boxed(inner)?,
                low: self.boxed(low)?,
                high: self.boxed(high)?,
                negated: *negated,
            },
            A::Like {
                negated,
                any: false,
                expr: inner,
                pattern,
                escape_char,
            } => self.like(inner, pattern, escape_char.as_deref(), *negated)?,
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => Expr::Case {
                operand: operand.as_ref().map(|o| self.boxed(o)).transpose()?,
                branches: conditions
                    .iter()
                    .map(|c| Ok((self.expr(&c.condition)?, self.expr(&c.result)?)))
                    .collect::<Result<_>>()?,
                otherwise: else_result.as_ref().map(|e| self.boxed(e)).transpose()?,
            },
            A::Function(function) => self.function(expr, function)?,
            A::Cast {
                kind: ast::CastKind::Cast,
                expr: inner,
                data_type,
                format: None,
            } => {
                let type_name = data_type.to_string();
                let to = CastType::from_name(&type_name).ok_or_else(|| {
                    sql_error(format!(
                        "cannot cast to {type_name} in {expr}: the types are {}",
                        CastType::NAMES
                    ))
                })?;
                Expr::Cast(self.boxed(inner)?, to)
            }
            A::Substring {
                expr: inner,
                substring_from,
                substring_for,
                special: true,
                ..
            } => {
                let mut args = vec![self.expr(inner)?];
                for arg in [substring_from, substring_for].into_iter().flatten() {
                    args.push(self.expr(arg)?);
                }
                self.call("substring", args, expr)?
            }
            A::Trim {
                expr: inner,
                trim_where: None,
                trim_what: None,
                trim_characters: None,
            } => {
                let args = vec![self.expr(inner)?];
                self.call("trim", args, expr)?
            }
            A::Ceil {
                expr: inner,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => {
                let args = vec![self.expr(inner)?];
                self.call("ceil", args, expr)?
            }
            A::Floor {
                expr: inner,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => {
                let args = vec![self.expr(inner)?];
                self.call("floor", args, expr)?
            }
            A::CompoundFieldAccess { root, access_chain } => {
                let base = self.expr(root)?;
                self.access_chain(base, access_chain, expr)?
            }
            other => return Err(sql_error(format!("unsupported expression: {other}"))),
        })
    }

    /// `demo.temperature` reads a column of the stream `demo`; `a.b` where `a` is not a stream
    /// reads field `b` of column `a`, as eKuiper does.
    /// The key of a column the statement reads, noted for the decoder.
    fn column(&mut self, name: &str) -> Key {
        let key = intern(name);
        if !self.columns.contains(&key) {
            self.columns.push(key.clone());
        }
        key
    }

    fn compound_identifier(&mut self, parts: &[Ident]) -> Expr {
        let stream = (parts.len() > 1).then(|| self.source(&parts[0])).flatten();
        let (column, rest) = match stream {
            // With one stream, `demo.a` is simply the column a.
            Some(_) if !self.joins() => (
                Expr::Column(Column::new(self.column(&parts[1].value))),
                &parts[2..],
            ),
            Some(i) => (
                Expr::Qualified(i, Column::new(self.column(&parts[1].value))),
                &parts[2..],
            ),
            None => (
                Expr::Column(Column::new(self.column(&parts[0].value))),
                &parts[1..],
            ),
        };
        rest.iter().fold(column, |acc, part| {
            Expr::Field(Box::new(acc), intern(part.value.as_str()))
        })
    }

    fn binary(
        &mut self,
        whole: &ast::Expr,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
    ) -> Result<Expr> {
        let op = match op {
            BinaryOperator::And => return Ok(Expr::And(self.boxed(left)?, self.boxed(right)?)),
            BinaryOperator::Or => return Ok(Expr::Or(self.boxed(left)?, self.boxed(right)?)),
            BinaryOperator::Arrow => {
                let base = self.expr(left)?;
                return self.arrow(base, right, whole);
            }
            BinaryOperator::Plus => BinaryOp::Add,
            BinaryOperator::Minus => BinaryOp::Sub,
            BinaryOperator::Multiply => BinaryOp::Mul,
            BinaryOperator::Divide => BinaryOp::Div,
            BinaryOperator::Modulo => BinaryOp::Mod,
            BinaryOperator::BitwiseAnd => BinaryOp::BitAnd,
            BinaryOperator::BitwiseOr => BinaryOp::BitOr,
            BinaryOperator::BitwiseXor => BinaryOp::BitXor,
            BinaryOperator::Eq => BinaryOp::Eq,
            BinaryOperator::NotEq => BinaryOp::NotEq,
            BinaryOperator::Lt => BinaryOp::Lt,
            BinaryOperator::LtEq => BinaryOp::LtEq,
            BinaryOperator::Gt => BinaryOp::Gt,
            BinaryOperator::GtEq => BinaryOp::GtEq,
            other => {
                return Err(sql_error(format!(
                    "unsupported operator {other} in {whole}"
                )));
            }
        };
        Ok(Expr::Binary(op, self.boxed(left)?, self.boxed(right)?))
    }

    /// The right side of `->` names a field, possibly followed by `[i]` or `.x` accesses, which
    /// sqlparser attaches to the name; they apply after the field is read.
    fn arrow(&mut self, base: Expr, right: &ast::Expr, whole: &ast::Expr) -> Result<Expr> {
        match right {
            ast::Expr::Identifier(name) => {
                Ok(Expr::Field(Box::new(base), intern(name.value.as_str())))
            }
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                    Ok(Expr::Field(Box::new(base), intern(s.as_str())))
                }
                _ => Err(sql_error(format!(
                    "-> must be followed by a field name in {whole}"
                ))),
            },
            ast::Expr::CompoundFieldAccess { root, access_chain } => {
                let field = self.arrow(base, root, whole)?;
                self.access_chain(field, access_chain, whole)
            }
            ast::Expr::CompoundIdentifier(parts) => Ok(parts.iter().fold(base, |acc, part| {
                Expr::Field(Box::new(acc), intern(part.value.as_str()))
            })),
            _ => Err(sql_error(format!(
                "-> must be followed by a field name in {whole}"
            ))),
        }
    }

    fn access_chain(
        &mut self,
        base: Expr,
        chain: &[AccessExpr],
        whole: &ast::Expr,
    ) -> Result<Expr> {
        let mut acc = base;
        for access in chain {
            acc = match access {
                AccessExpr::Subscript(Subscript::Index { index }) => {
                    Expr::Index(Box::new(acc), self.boxed(index)?)
                }
                AccessExpr::Subscript(Subscript::Slice { .. }) => {
                    return Err(not_yet("array slices a[i:j]"));
                }
                AccessExpr::Dot(ast::Expr::Identifier(name)) => {
                    Expr::Field(Box::new(acc), intern(name.value.as_str()))
                }
                AccessExpr::Dot(other) => {
                    return Err(sql_error(format!(
                        "unsupported field access .{other} in {whole}"
                    )));
                }
            };
        }
        Ok(acc)
    }

    fn like(
        &mut self,
        inner: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::Expr>,
        negated: bool,
    ) -> Result<Expr> {
        let escape = match escape {
            None => None,
            Some(ast::Expr::Value(v)) => match &v.value {
                ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s)
                    if s.chars().count() == 1 =>
                {
                    s.chars().next()
                }
                other => {
                    return Err(sql_error(format!(
                        "ESCAPE takes one character, found {other}"
                    )));
                }
            },
            Some(other) => {
                return Err(sql_error(format!(
                    "ESCAPE takes one character, found {other}"
                )));
            }
        };
        let pattern = match self.expr(pattern)? {
            Expr::Literal(Value::String(p)) => {
                LikeSource::Compiled(Arc::new(LikePattern::new(&p, escape)))
            }
            Expr::Literal(other) => {
                return Err(sql_error(format!(
                    "LIKE needs a string pattern, found {}",
                    other.type_name()
                )));
            }
            dynamic => LikeSource::Dynamic(Box::new(dynamic), escape),
        };
        Ok(Expr::Like {
            expr: self.boxed(inner)?,
            pattern,
            negated,
        })
    }

    fn function(&mut self, whole: &ast::Expr, function: &ast::Function) -> Result<Expr> {
        let name = function.name.to_string();
        let lower = name.to_lowercase();
        // Aggregates and analytic functions read their own FILTER and OVER clauses.
        if let Some(aggregate) = Aggregate::lookup(&lower) {
            return self.aggregate(whole, function, aggregate);
        }
        if let Some(kind) = AnalyticKind::lookup(&lower) {
            return self.analytic(whole, function, kind);
        }
        if let Some(special) = self.special(whole, function, &lower)? {
            return Ok(special);
        }
        if NOT_YET_SUPPORTED.contains(&lower.as_str()) {
            return Err(not_yet(&format!("the function {lower}()")));
        }
        if function.filter.is_some() || function.over.is_some() || !function.within_group.is_empty()
        {
            return Err(not_yet(&format!("FILTER/OVER on {lower}()")));
        }
        if lower == "meta" {
            return meta_call(whole, &function.args);
        }

        if WINDOW_FUNCTIONS.contains(&lower.as_str()) {
            return Err(sql_error(format!(
                "the window {lower}() goes in GROUP BY, found in {whole}"
            )));
        }
        if lower == "rule_id" {
            if !matches!(&function.args, FunctionArguments::List(l) if l.args.is_empty())
                && !matches!(&function.args, FunctionArguments::None)
            {
                return Err(sql_error(format!(
                    "rule_id() takes no arguments, in {whole}"
                )));
            }
            return Ok(Expr::Literal(
                self.rule_id.as_deref().map_or(Value::Null, Value::string),
            ));
        }
        if lower == "window_start" || lower == "window_end" {
            if !matches!(&function.args, FunctionArguments::List(l) if l.args.is_empty())
                && !matches!(&function.args, FunctionArguments::None)
            {
                return Err(sql_error(format!(
                    "{lower}() takes no arguments, in {whole}"
                )));
            }
            return Ok(if lower == "window_start" {
                Expr::WindowStart
            } else {
                Expr::WindowEnd
            });
        }
        let args = match &function.args {
            FunctionArguments::None => Vec::new(),
            FunctionArguments::List(list)
                if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
            {
                list.args
                    .iter()
                    .map(|arg| match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                        other => Err(sql_error(format!(
                            "unsupported argument {other} in {whole}"
                        ))),
                    })
                    .collect::<Result<Vec<_>>>()?
            }
            _ => return Err(sql_error(format!("unsupported arguments in {whole}"))),
        };
        if lower == "cast" {
            return self.cast_call(whole, &args);
        }
        let args = args
            .into_iter()
            .map(|e| self.expr(e))
            .collect::<Result<Vec<_>>>()?;
        self.call(&lower, args, whole)
    }

    fn call(&mut self, name: &str, args: Vec<Expr>, whole: &ast::Expr) -> Result<Expr> {
        let function = functions::lookup(name)
            .ok_or_else(|| sql_error(format!("unknown function {name}() in {whole}")))?;
        let count_ok = args.len() >= function.min_args
            && function.max_args.is_none_or(|max| args.len() <= max);
        if !count_ok {
            return Err(sql_error(format!(
                "{name}() takes {}, found {} in {whole}",
                function.arity(),
                args.len()
            )));
        }
        Ok(Expr::Call { function, args })
    }
}

fn literal(value: &ast::Value) -> Result<Value> {
    Ok(match value {
        ast::Value::Number(text, _) => parse_number(text)?,
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => Value::string(s),
        ast::Value::Boolean(b) => Value::Bool(*b),
        ast::Value::Null => Value::Null,
        other => return Err(sql_error(format!("unsupported literal {other}"))),
    })
}

fn negative_literal(value: &ast::Value) -> Result<Value> {
    match value {
        ast::Value::Number(text, _) => parse_number(&format!("-{text}")),
        other => Err(sql_error(format!("cannot negate {other}"))),
    }
}

fn parse_number(text: &str) -> Result<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    text.parse::<f64>()
        .map(Value::Float)
        .map_err(|_| sql_error(format!("invalid number {text}")))
}
