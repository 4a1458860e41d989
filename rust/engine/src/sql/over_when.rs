//! eKuiper's `OVER ([PARTITION BY ...] WHEN condition)` is not SQL that sqlparser knows. Before
//! parsing, each `WHEN condition` at the top of an OVER clause becomes
//! `ORDER BY __when(condition)`, which it parses; the compiler reads the condition back from
//! there. (`CASE ... WHEN` inside the clause is left alone.)

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::dialect::EkuiperDialect;

/// The function name that carries the WHEN condition through the parser.
pub const WHEN_MARKER: &str = "__when";

/// Rewrites the statement, splicing the original text (so literals stay exactly as written);
/// text the tokenizer rejects is returned as it is, for the parser to report.
pub fn rewrite(sql: &str) -> String {
    let Ok(spanned) = Tokenizer::new(&EkuiperDialect, sql).tokenize_with_location() else {
        return sql.to_string();
    };
    let tokens: Vec<Token> = spanned.iter().map(|t| t.token.clone()).collect();
    if !tokens.iter().any(|t| is_keyword(t, Keyword::OVER)) {
        return sql.to_string();
    }
    let offsets = LineOffsets::new(sql);
    // (where WHEN starts, where WHEN ends, where the closing parenthesis starts)
    let mut edits = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if is_keyword(token, Keyword::OVER)
            && let Some(open) = next_significant(&tokens, i + 1)
            && tokens[open] == Token::LParen
            && let Some((when, close)) = find_when(&tokens, open)
        {
            let at = |l: sqlparser::tokenizer::Location| offsets.byte(l.line, l.column);
            match (
                at(spanned[when].span.start),
                at(spanned[when].span.end),
                at(spanned[close].span.start),
            ) {
                (Some(a), Some(b), Some(c)) => edits.push((a, b, c)),
                _ => return sql.to_string(),
            }
        }
    }
    let mut out = String::with_capacity(sql.len() + 32);
    let mut copied = 0;
    for (when_start, when_end, close) in edits {
        out.push_str(&sql[copied..when_start]);
        out.push_str(&format!("ORDER BY {WHEN_MARKER}("));
        out.push_str(&sql[when_end..close]);
        out.push(')');
        copied = close;
    }
    out.push_str(&sql[copied..]);
    out
}

/// From the tokenizer's line and column (1-based, in characters) to a byte offset.
pub(super) struct LineOffsets<'a> {
    sql: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineOffsets<'a> {
    pub(super) fn new(sql: &'a str) -> LineOffsets<'a> {
        let mut starts = vec![0];
        starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        LineOffsets { sql, starts }
    }

    pub(super) fn byte(&self, line: u64, column: u64) -> Option<usize> {
        let start = *self.starts.get((line as usize).checked_sub(1)?)?;
        let rest = &self.sql[start..];
        let column = (column as usize).checked_sub(1)?;
        match rest.char_indices().nth(column) {
            Some((i, _)) => Some(start + i),
            None => Some(self.sql.len()),
        }
    }
}

fn is_keyword(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(w) if w.keyword == keyword)
}

fn next_significant(tokens: &[Token], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !matches!(tokens[i], Token::Whitespace(_)))
}

/// In the parenthesis opening at `open`: the top-level WHEN and the closing parenthesis.
fn find_when(tokens: &[Token], open: usize) -> Option<(usize, usize)> {
    let mut depth = 0;
    let mut cases = 0;
    let mut when = None;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return when.map(|w| (w, i));
                }
            }
            Token::Word(w) if w.keyword == Keyword::CASE => cases += 1,
            Token::Word(w) if w.keyword == Keyword::END => cases -= 1,
            Token::Word(w) if w.keyword == Keyword::WHEN && depth == 1 && cases == 0 => {
                when.get_or_insert(i);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_moves_into_order_by() {
        assert_eq!(
            rewrite("SELECT lag(a) OVER (PARTITION BY d WHEN a > 1) FROM s"),
            "SELECT lag(a) OVER (PARTITION BY d ORDER BY __when( a > 1)) FROM s"
        );
        assert_eq!(
            rewrite("SELECT lag(a) OVER (WHEN CASE WHEN a THEN 1 END = 1) FROM s"),
            "SELECT lag(a) OVER (ORDER BY __when( CASE WHEN a THEN 1 END = 1)) FROM s"
        );
        let plain = "SELECT lag(a) OVER (PARTITION BY d) FROM s";
        assert_eq!(rewrite(plain), plain);
        let text = "SELECT 'it\\'s OVER (WHEN', lag(\"é\")\nOVER (WHEN x) FROM s";
        assert_eq!(
            rewrite(text),
            "SELECT 'it\\'s OVER (WHEN', lag(\"é\")\nOVER (ORDER BY __when( x)) FROM s"
        );
    }
}
