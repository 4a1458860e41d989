//! String functions. Arguments are taken as text (a number as it prints), as eKuiper's
//! `cast.ToStringAlways` does. Positions count characters, not bytes (see docs/functions.md).

use crate::sql::expr::EvalContext;
use crate::sql::ops::describe;
use crate::value::{Value, convert};

use super::{ScalarFunction, any_null, f, int_at, num_at, str_at, text, text_op, with_regex};

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("concat", 1, None, |a, _| {
        Ok(Value::from(
            a.iter().map(convert::display_plain).collect::<String>(),
        ))
    }),
    f("endswith", 2, Some(2), |a, _| {
        Ok(Value::Bool(
            !any_null(a) && text(&a[0]).ends_with(text(&a[1]).as_ref()),
        ))
    }),
    f("format", 2, Some(3), format),
    f("indexof", 2, Some(2), indexof),
    f("length", 1, Some(1), length),
    f("lower", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.to_lowercase())
    }),
    f("lpad", 2, Some(2), |a, _| pad(a, true)),
    f("ltrim", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.trim_start().to_string())
    }),
    f("numbytes", 1, Some(1), |a, _| {
        Ok(Value::Int(if a[0].is_null() {
            0
        } else {
            text(&a[0]).len() as i64
        }))
    }),
    f("regexp_matches", 2, Some(2), |a, _| {
        if any_null(a) {
            return Ok(Value::Bool(false));
        }
        with_regex(&text(&a[1]), |re| Value::Bool(re.is_match(&text(&a[0]))))
    }),
    f("regexp_replace", 3, Some(3), |a, _| {
        if any_null(a) {
            return Ok(Value::Null);
        }
        with_regex(&text(&a[1]), |re| {
            Value::from(
                re.replace_all(&text(&a[0]), text(&a[2]).as_ref())
                    .into_owned(),
            )
        })
    }),
    f("regexp_substr", 2, Some(2), regexp_substring),
    f("regexp_substring", 2, Some(2), regexp_substring),
    f("rpad", 2, Some(2), |a, _| pad(a, false)),
    f("rtrim", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.trim_end().to_string())
    }),
    f("split_value", 3, Some(3), split_value),
    f("startswith", 2, Some(2), |a, _| {
        Ok(Value::Bool(
            !any_null(a) && text(&a[0]).starts_with(text(&a[1]).as_ref()),
        ))
    }),
    f("substring", 2, Some(3), substring),
    f("trim", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.trim().to_string())
    }),
    f("upper", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.to_uppercase())
    }),
];

/// Characters of a string, elements of an array, fields of an object; null has length 0.
fn length(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    let n = match &a[0] {
        Value::Null => 0,
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        Value::Bytes(b) => b.len(),
        other => convert::display_plain(other).chars().count(),
    };
    Ok(Value::Int(n as i64))
}

/// `substring(s, start[, end])`: characters from `start` (0-based) up to `end` (exclusive).
fn substring(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let text = match &a[0] {
        Value::String(s) => s.clone(),
        other => return Err(format!("expects a string, found {}", describe(other))),
    };
    let index = |v: &Value, what: &str| match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        Value::Int(i) => Err(format!("the {what} index must not be negative, found {i}")),
        other => Err(format!(
            "the {what} index must be a bigint, found {}",
            describe(other)
        )),
    };
    let start = index(&a[1], "start")?;
    let chars = text.chars().count();
    let end = match a.get(2) {
        Some(v) => index(v, "end")?.min(chars),
        None => chars,
    };
    if start >= end {
        if a.get(2).is_some() && start > end && start <= chars {
            return Err(format!(
                "the start index {start} is greater than the end index {end}"
            ));
        }
        return Ok(Value::string(""));
    }
    Ok(Value::from(
        text.chars()
            .skip(start)
            .take(end - start)
            .collect::<String>(),
    ))
}

/// `indexof(s, sub)`: the position (in characters) of the first `sub` in `s`, or -1; -1 for
/// null too, as in eKuiper.
fn indexof(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Int(-1));
    }
    let haystack = text(&a[0]);
    Ok(Value::Int(match haystack.find(text(&a[1]).as_ref()) {
        Some(byte) => haystack[..byte].chars().count() as i64,
        None => -1,
    }))
}

/// `lpad(s, n)` / `rpad(s, n)`: `s` with `n` spaces added on the left or right (eKuiper adds
/// `n` spaces; it does not pad to a width).
fn pad(a: &[Value], left: bool) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let n = int_at(a, 1)?;
    let n = usize::try_from(n)
        .map_err(|_| format!("the number of spaces must not be negative, found {n}"))?;
    let s = text(&a[0]);
    let spaces = " ".repeat(n);
    Ok(Value::from(if left {
        spaces + &s
    } else {
        s.into_owned() + &spaces
    }))
}

/// `regexp_substr(s, re)`: the first match of `re` in `s`, or the empty string.
fn regexp_substring(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    with_regex(&text(&a[1]), |re| {
        Value::from(re.find(&text(&a[0])).map_or("", |m| m.as_str()))
    })
}

/// `split_value(s, sep, i)`: the i-th part of `s` split at `sep`; a negative `i` counts from
/// the end. Out of range is an error, as in eKuiper.
fn split_value(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let s = text(&a[0]);
    let sep = text(&a[1]);
    let index = int_at(a, 2)?;
    // Go's strings.Split with an empty separator splits into characters.
    let parts: Vec<&str> = if sep.is_empty() {
        s.char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect()
    } else {
        s.split(sep.as_ref()).collect()
    };
    let len = parts.len() as i64;
    let at = if index < 0 { len + index } else { index };
    if !(0..len).contains(&at) {
        return Err(format!("{index} out of index array (size = {len})"));
    }
    Ok(Value::string(parts[at as usize]))
}

/// `format(x, d[, locale])`: `x` with `d` decimals (rounded) as text; with the locale `en_US`,
/// thousands separated by commas and the decimals cut, not rounded, as eKuiper does.
fn format(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let x = num_at(a, 0)?;
    let digits = int_at(a, 1)?;
    let digits = usize::try_from(digits)
        .map_err(|_| format!("the decimal places must not be negative, found {digits}"))?;
    let Some(locale) = a.get(2) else {
        return Ok(Value::from(format!("{x:.digits$}")));
    };
    match str_at(a, 2)? {
        "en_US" => Ok(Value::from(format_en_us(&text(&a[0]), digits))),
        _ => Err(format!("the locale {} is not supported", describe(locale))),
    }
}

/// `12332.1234567` with 4 decimals: `12,332.1234`.
fn format_en_us(number: &str, digits: usize) -> String {
    let (sign, number) = match number.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", number),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole = if whole.is_empty() { "0" } else { whole };
    let mut out = String::from(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if digits > 0 {
        out.push('.');
        out.extend(fraction.chars().chain(std::iter::repeat('0')).take(digits));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const NULL: Value = Value::Null;

    #[test]
    fn existing_case_trim_concat_length_substring() {
        assert_eq!(call("lower", &[s("AbC")]), Ok(s("abc")));
        assert_eq!(call("upper", &[s("AbC")]), Ok(s("ABC")));
        assert_eq!(call("trim", &[s("  a b ")]), Ok(s("a b")));
        assert_eq!(call("ltrim", &[s(" \ta ")]), Ok(s("a ")));
        assert_eq!(call("rtrim", &[s(" a \t")]), Ok(s(" a")));
        assert_eq!(call("upper", &[NULL]), Ok(NULL));
        assert_eq!(call("concat", &[s("a"), i(1), fl(2.0), NULL]), Ok(s("a12")));
        assert_eq!(call("length", &[s("héllo")]), Ok(i(5)));
        assert_eq!(call("length", &[j("[null,null,null]")]), Ok(i(3)));
        assert_eq!(call("length", &[NULL]), Ok(i(0)));
        assert_eq!(call("substring", &[s("hello"), i(1), i(3)]), Ok(s("el")));
        assert_eq!(call("substring", &[s("hello"), i(2)]), Ok(s("llo")));
        assert_eq!(call("substring", &[s("hello"), i(9)]), Ok(s("")));
        assert_eq!(call("substring", &[s("hello"), i(1), i(99)]), Ok(s("ello")));
        assert!(call("substring", &[s("hello"), i(3), i(1)]).is_err());
        assert!(call("substring", &[s("hello"), i(-1)]).is_err());
    }

    #[test]
    fn starts_ends_and_index() {
        assert_eq!(
            call("startswith", &[s("abc"), s("ab")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call("startswith", &[s("abc"), s("b")]),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            call("endswith", &[s("abc"), s("bc")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call("endswith", &[s("abc"), s("a")]),
            Ok(Value::Bool(false))
        );
        // Null is false for these two, not null.
        assert_eq!(call("startswith", &[NULL, s("a")]), Ok(Value::Bool(false)));
        assert_eq!(call("endswith", &[s("a"), NULL]), Ok(Value::Bool(false)));
        assert_eq!(call("indexof", &[s("abcb"), s("b")]), Ok(i(1)));
        assert_eq!(call("indexof", &[s("héllo"), s("l")]), Ok(i(2)));
        assert_eq!(call("indexof", &[s("abc"), s("x")]), Ok(i(-1)));
        assert_eq!(call("indexof", &[NULL, s("x")]), Ok(i(-1)));
        assert_eq!(call("indexof", &[i(1234), i(3)]), Ok(i(2)));
    }

    #[test]
    fn padding_and_bytes() {
        assert_eq!(call("lpad", &[s("ab"), i(2)]), Ok(s("  ab")));
        assert_eq!(call("rpad", &[s("ab"), i(3)]), Ok(s("ab   ")));
        assert_eq!(call("lpad", &[NULL, i(2)]), Ok(NULL));
        assert_eq!(
            call("rpad", &[s("ab"), s("2")]),
            Err("the second argument must be a bigint, found string(2)".into())
        );
        assert!(
            call("lpad", &[s("ab"), i(-1)])
                .unwrap_err()
                .contains("negative")
        );
        assert_eq!(call("numbytes", &[s("héllo")]), Ok(i(6)));
        assert_eq!(call("numbytes", &[NULL]), Ok(i(0)));
    }

    #[test]
    fn regular_expressions() {
        assert_eq!(
            call("regexp_matches", &[s("abc"), s("b")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call("regexp_matches", &[s("abc"), s("^b")]),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            call("regexp_matches", &[NULL, s("b")]),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            call("regexp_replace", &[s("a1b22c"), s("[0-9]+"), s("#")]),
            Ok(s("a#b#c"))
        );
        assert_eq!(
            call(
                "regexp_replace",
                &[s("john smith"), s("(\\w+) (\\w+)"), s("$2 $1")]
            ),
            Ok(s("smith john"))
        );
        assert_eq!(call("regexp_replace", &[s("abc"), NULL, s("x")]), Ok(NULL));
        assert_eq!(
            call("regexp_substr", &[s("ab12cd345"), s("[0-9]+")]),
            Ok(s("12"))
        );
        assert_eq!(
            call("REGEXP_SUBSTRING", &[s("abc"), s("[0-9]+")]),
            Ok(s(""))
        );
        assert_eq!(call("regexp_substr", &[NULL, s("a")]), Ok(NULL));
        let err = call("regexp_matches", &[s("abc"), s("(")]).unwrap_err();
        assert!(err.starts_with("invalid regular expression"), "{err}");
    }

    #[test]
    fn split_value_picks_a_part() {
        assert_eq!(call("split_value", &[s("a/b/c"), s("/"), i(1)]), Ok(s("b")));
        assert_eq!(
            call("split_value", &[s("/test/device001/message"), s("/"), i(0)]),
            Ok(s(""))
        );
        assert_eq!(
            call("split_value", &[s("/test/device001/message"), s("/"), i(3)]),
            Ok(s("message"))
        );
        assert_eq!(
            call("split_value", &[s("a/b/c"), s("/"), i(-1)]),
            Ok(s("c"))
        );
        assert_eq!(call("split_value", &[s("héj"), s(""), i(1)]), Ok(s("é")));
        assert_eq!(
            call("split_value", &[s("a/b/c"), s("/"), i(3)]),
            Err("3 out of index array (size = 3)".into())
        );
        assert_eq!(
            call("split_value", &[s("a/b/c"), s("/"), i(-4)]),
            Err("-4 out of index array (size = 3)".into())
        );
        assert_eq!(call("split_value", &[NULL, s("/"), i(0)]), Ok(NULL));
    }

    #[test]
    fn format_numbers() {
        assert_eq!(
            call("format", &[fl(12332.1234567), i(4)]),
            Ok(s("12332.1235"))
        );
        assert_eq!(call("format", &[i(3), i(2)]), Ok(s("3.00")));
        assert_eq!(
            call("format", &[fl(12332.1234567), i(4), s("en_US")]),
            Ok(s("12,332.1234"))
        );
        assert_eq!(
            call("format", &[fl(-1234567.5), i(0), s("en_US")]),
            Ok(s("-1,234,567"))
        );
        assert_eq!(call("format", &[i(123), i(2), s("en_US")]), Ok(s("123.00")));
        assert!(call("format", &[i(1), i(2), s("zh_CN")]).is_err());
        assert!(call("format", &[i(1), i(-1)]).is_err());
        assert_eq!(call("format", &[NULL, i(2)]), Ok(NULL));
    }

    #[test]
    fn in_sql() {
        assert_eq!(
            sql(
                "SELECT split_value(topic, '/', 2) AS d, regexp_replace(topic, '[0-9]', '') AS t, \
                 lpad(x, 1) AS p FROM s",
                r#"{"topic": "/dev/d42/temp", "x": "v"}"#
            ),
            r#"{"d":"d42","t":"/dev/d/temp","p":" v"}"#
        );
    }
}
