//! eKuiper's lexical rules as a sqlparser dialect.

use sqlparser::dialect::Dialect;

/// The SQL dialect of eKuiper: text in double or single quotes is a string literal
/// (`color = "red"`), backticks quote identifiers, and backslash escapes work in strings.
#[derive(Debug, Default, Clone, Copy)]
pub struct EkuiperDialect;

impl Dialect for EkuiperDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_'
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        true
    }

    /// `SELECT * EXCEPT (a, b)`, as eKuiper writes it.
    fn supports_select_wildcard_except(&self) -> bool {
        true
    }

    /// `SELECT * REPLACE (a * 2 AS a)`, as eKuiper writes it.
    fn supports_select_wildcard_replace(&self) -> bool {
        true
    }
}
