//! eKuiper's `INVISIBLE` select fields (`SELECT a + 1 AS b INVISIBLE, b * 2 AS c ...`: `b` may
//! be used by the other fields and ORDER BY, but is not in the result) are not SQL that
//! sqlparser knows. Before parsing, each `INVISIBLE` that ends an item of the outermost select
//! list is cut out of the text, and the items it ended are returned, by position.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::dialect::EkuiperDialect;
use super::over_when::LineOffsets;

/// The statement without the `INVISIBLE` markers, and the positions (from 0) of the select
/// items they marked. Text the tokenizer rejects is returned as it is, for the parser to
/// report.
pub fn rewrite(sql: &str) -> (String, Vec<usize>) {
    let unchanged = || (sql.to_string(), Vec::new());
    let Ok(spanned) = Tokenizer::new(&EkuiperDialect, sql).tokenize_with_location() else {
        return unchanged();
    };
    let is_invisible = |t: &Token| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("INVISIBLE"));
    if !spanned.iter().any(|t| is_invisible(&t.token)) {
        return unchanged();
    }
    let offsets = LineOffsets::new(sql);
    let mut depth = 0usize;
    let mut in_select = false;
    let mut item = 0;
    // The last significant token of the current item, if it is INVISIBLE: its index.
    let mut last_invisible: Option<usize> = None;
    // Significant tokens of the current item: a lone `invisible` is a column of that name.
    let mut in_item = 0;
    let mut cuts = Vec::new();
    let mut marked = Vec::new();
    let mut end_item = |last: Option<usize>, item: usize, cuts: &mut Vec<usize>| {
        if let Some(at) = last {
            cuts.push(at);
            marked.push(item);
        }
    };
    for (i, spanned_token) in spanned.iter().enumerate() {
        let token = &spanned_token.token;
        match token {
            Token::Whitespace(_) => continue,
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w) if depth == 0 && w.keyword == Keyword::SELECT && !in_select => {
                in_select = true;
                last_invisible = None;
                in_item = 0;
                continue;
            }
            Token::Word(w) if depth == 0 && in_select && w.keyword == Keyword::FROM => {
                end_item(last_invisible, item, &mut cuts);
                break;
            }
            Token::Comma if depth == 0 && in_select => {
                end_item(last_invisible.take(), item, &mut cuts);
                item += 1;
                in_item = 0;
                continue;
            }
            _ => {}
        }
        if in_select {
            last_invisible = (depth == 0 && in_item > 0 && is_invisible(token)).then_some(i);
            in_item += 1;
        }
    }
    if cuts.is_empty() {
        return unchanged();
    }
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    for at in cuts {
        let span = spanned[at].span;
        let (Some(start), Some(end)) = (
            offsets.byte(span.start.line, span.start.column),
            offsets.byte(span.end.line, span.end.column),
        ) else {
            return unchanged();
        };
        out.push_str(&sql[copied..start]);
        copied = end;
    }
    out.push_str(&sql[copied..]);
    (out, marked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_is_cut_from_the_items_it_ends() {
        assert_eq!(
            rewrite("SELECT a + 1 AS b INVISIBLE, b * 2 AS c, d invisible FROM s"),
            (
                "SELECT a + 1 AS b , b * 2 AS c, d  FROM s".to_string(),
                vec![0, 2]
            )
        );
        let plain = "SELECT invisible, f(a, b) AS x FROM s WHERE x > 1";
        assert_eq!(rewrite(plain), (plain.to_string(), vec![]));
        let quoted = "SELECT a AS `INVISIBLE`, 'INVISIBLE' AS s FROM s";
        assert_eq!(rewrite(quoted), (quoted.to_string(), vec![]));
    }
}
