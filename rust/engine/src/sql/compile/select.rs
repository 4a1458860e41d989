//! The select list's items: expressions and their result names, `*` and its `EXCEPT` and
//! `REPLACE`.

use sqlparser::ast::{self, SelectItem, SelectItemQualifiedWildcardKind};

use super::{Compiler, not_yet, sql_error};
use crate::error::Result;
use crate::sql::plan::SelectField;
use crate::value::{Key, intern};

impl Compiler {
    pub(super) fn select_item(&mut self, item: &SelectItem) -> Result<SelectField> {
        let function = match item {
            SelectItem::UnnamedExpr(expr) => self.select_function(expr, None)?,
            SelectItem::ExprWithAlias { expr, alias } => self.select_function(expr, Some(alias))?,
            _ => None,
        };
        if let Some(field) = function {
            return Ok(field);
        }
        match item {
            SelectItem::Wildcard(options)
                if options.opt_except.is_some() || options.opt_replace.is_some() =>
            {
                self.wildcard_except_replace(options)
            }
            SelectItem::Wildcard(options) => {
                self.plain_wildcard(options)?;
                Ok(SelectField::Wildcard)
            }
            SelectItem::QualifiedWildcard(
                SelectItemQualifiedWildcardKind::ObjectName(name),
                options,
            ) => {
                self.plain_wildcard(options)?;
                match name.0.as_slice() {
                    [part] => match part.as_ident().and_then(|i| self.source(i)) {
                        Some(i) if self.joins() => Ok(SelectField::StreamWildcard(i)),
                        Some(_) => Ok(SelectField::Wildcard),
                        None => Err(sql_error(format!(
                            "{name}.* does not name a stream of the rule ({})",
                            self.streams
                                .iter()
                                .map(|(n, _)| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))),
                    },
                    _ => Err(sql_error(format!("{name}.* does not name a stream"))),
                }
            }
            SelectItem::UnnamedExpr(expr) => {
                let name = self.field_name(expr);
                Ok(SelectField::Expr {
                    name,
                    expr: self.expr(expr)?,
                })
            }
            SelectItem::ExprWithAlias { expr, alias } => Ok(SelectField::Expr {
                name: intern(alias.value.as_str()),
                expr: self.expr(expr)?,
            }),
            other => Err(sql_error(format!("unsupported select item: {other}"))),
        }
    }

    /// `* EXCEPT (a, b)` and `* REPLACE (expr AS a, ...)`: every field of the row but those, or
    /// with those replaced in place.
    fn wildcard_except_replace(
        &mut self,
        options: &ast::WildcardAdditionalOptions,
    ) -> Result<SelectField> {
        if options.opt_ilike.is_some()
            || options.opt_exclude.is_some()
            || options.opt_rename.is_some()
            || options.opt_alias.is_some()
        {
            return Err(not_yet(&format!("* {}", options.to_string().trim())));
        }
        let except = options.opt_except.as_ref().map_or_else(Vec::new, |e| {
            std::iter::once(&e.first_element)
                .chain(&e.additional_elements)
                .map(|i| intern(i.value.as_str()))
                .collect()
        });
        let mut replace = Vec::new();
        if let Some(r) = &options.opt_replace {
            for item in &r.items {
                replace.push((
                    intern(item.column_name.value.as_str()),
                    self.expr(&item.expr)?,
                ));
            }
        }
        Ok(SelectField::WildcardExcept { except, replace })
    }

    fn plain_wildcard(&self, options: &ast::WildcardAdditionalOptions) -> Result<()> {
        let text = options.to_string();
        if text.trim().is_empty() {
            Ok(())
        } else {
            Err(not_yet(&format!("* {}", text.trim())))
        }
    }

    /// The result key of an unaliased select expression, as eKuiper names it: a column keeps its
    /// name, a function call takes the function's name, anything else is `kuiper_field_N`.
    pub(super) fn field_name(&mut self, expr: &ast::Expr) -> Key {
        let name = match expr {
            ast::Expr::Identifier(ident) => Some(ident.value.clone()),
            ast::Expr::CompoundIdentifier(parts)
                if parts.len() == 2 && self.is_source(&parts[0]) =>
            {
                Some(parts[1].value.clone())
            }
            ast::Expr::Function(f) => Some(f.name.to_string().to_lowercase()),
            ast::Expr::Cast { .. } => Some("cast".into()),
            ast::Expr::Substring { .. } => Some("substring".into()),
            ast::Expr::Trim { .. } => Some("trim".into()),
            ast::Expr::Ceil { .. } => Some("ceil".into()),
            ast::Expr::Floor { .. } => Some("floor".into()),
            _ => None,
        };
        let name = name.unwrap_or_else(|| {
            let n = self.anonymous_fields;
            self.anonymous_fields += 1;
            format!("kuiper_field_{n}")
        });
        intern(name.as_str())
    }
}
