//! Scalar functions, with eKuiper's names and semantics (see docs/sql.md for the table).
//! Function names are case-insensitive; `lookup` takes any case.

use chrono::{Local, Timelike};

use crate::value::{Value, convert};

use super::expr::EvalContext;
use super::ops::describe;

type Eval = fn(&[Value], &EvalContext<'_>) -> Result<Value, String>;

/// A built-in scalar function.
#[derive(Debug)]
pub struct ScalarFunction {
    pub name: &'static str,
    pub min_args: usize,
    /// `None`: any number of arguments from `min_args` up.
    pub max_args: Option<usize>,
    pub eval: Eval,
}

impl ScalarFunction {
    /// "1 argument", "1 or 2 arguments", "at least 1 argument".
    pub fn arity(&self) -> String {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match self.max_args {
            Some(max) if max == self.min_args => format!("{max} {}", plural(max)),
            Some(max) if max == self.min_args + 1 => {
                format!("{} or {max} {}", self.min_args, plural(max))
            }
            Some(max) => format!("{} to {max} {}", self.min_args, plural(max)),
            None => format!("at least {} {}", self.min_args, plural(self.min_args)),
        }
    }
}

const fn f(
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    eval: Eval,
) -> ScalarFunction {
    ScalarFunction {
        name,
        min_args,
        max_args,
        eval,
    }
}

static FUNCTIONS: &[ScalarFunction] = &[
    f("abs", 1, Some(1), abs),
    f("round", 1, Some(2), round),
    f("floor", 1, Some(1), |a, _| float_op(&a[0], f64::floor)),
    f("ceil", 1, Some(1), |a, _| float_op(&a[0], f64::ceil)),
    f("ceiling", 1, Some(1), |a, _| float_op(&a[0], f64::ceil)),
    f("lower", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.to_lowercase())
    }),
    f("upper", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.to_uppercase())
    }),
    f("trim", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.trim().to_string())
    }),
    f("ltrim", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.trim_start().to_string())
    }),
    f("rtrim", 1, Some(1), |a, _| {
        text_op(&a[0], |s| s.trim_end().to_string())
    }),
    f("concat", 1, None, |a, _| {
        Ok(Value::from(
            a.iter().map(convert::display_plain).collect::<String>(),
        ))
    }),
    f("length", 1, Some(1), length),
    f("substring", 2, Some(3), substring),
    f("coalesce", 1, None, |a, _| {
        Ok(a.iter().find(|v| !v.is_null()).cloned().unwrap_or_default())
    }),
    f("isnull", 1, Some(1), |a, _| Ok(Value::Bool(a[0].is_null()))),
    f("now", 0, Some(1), now),
    f("current_timestamp", 0, Some(1), now),
    f("tstamp", 0, Some(0), |_, ctx| {
        Ok(Value::Int(ctx.clock.now_ms()))
    }),
];

/// Aggregate, analytic and window functions: known names this version rejects with a clear
/// message instead of "unknown function".
pub const NOT_YET_SUPPORTED: &[&str] = &[
    "deduplicate",
    "lag",
    "latest",
    "changed_col",
    "changed_cols",
    "had_changed",
    "acc_sum",
    "acc_avg",
    "acc_min",
    "acc_max",
    "acc_count",
];

pub fn lookup(name: &str) -> Option<&'static ScalarFunction> {
    FUNCTIONS.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

fn abs(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    match &a[0] {
        Value::Int(i) => i
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| "integer overflow".into()),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        Value::Null => Ok(Value::Null),
        other => Err(format!("expects a number, found {}", describe(other))),
    }
}

/// `round(x[, digits])`: half away from zero, returning a float as eKuiper does.
fn round(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    let digits = match a.get(1) {
        None => 0,
        Some(Value::Int(d)) => {
            i32::try_from(*d).map_err(|_| format!("digits out of range: {d}"))?
        }
        Some(Value::Null) => return Ok(Value::Null),
        Some(other) => {
            return Err(format!(
                "digits must be a bigint, found {}",
                describe(other)
            ));
        }
    };
    let scale = 10f64.powi(digits);
    float_op(&a[0], |x| (x * scale).round() / scale)
}

fn float_op(v: &Value, op: impl Fn(f64) -> f64) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        _ => v
            .as_f64()
            .map(|x| Value::Float(op(x)))
            .ok_or_else(|| format!("expects a number, found {}", describe(v))),
    }
}

fn text_op(v: &Value, op: impl Fn(&str) -> String) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::String(s) => Ok(Value::from(op(s))),
        other => Ok(Value::from(op(&convert::display_plain(other)))),
    }
}

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
    if a.iter().any(Value::is_null) {
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

/// `now([fsp])`: the local time as `yyyy-MM-dd HH:mm:ss[.fff]`, with `fsp` (0-6) fraction digits.
fn now(a: &[Value], ctx: &EvalContext<'_>) -> Result<Value, String> {
    let digits = match a.first() {
        None => 0,
        Some(Value::Int(d)) if (0..=6).contains(d) => *d as usize,
        Some(other) => {
            return Err(format!(
                "fsp must be a bigint from 0 to 6, found {}",
                describe(other)
            ));
        }
    };
    let local = ctx.clock.now().with_timezone(&Local);
    let mut text = local.format("%Y-%m-%d %H:%M:%S").to_string();
    if digits > 0 {
        let micros = format!("{:06}", local.nanosecond() / 1000 % 1_000_000);
        text.push('.');
        text.push_str(&micros[..digits]);
    }
    Ok(Value::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::value::Map;

    fn call(name: &str, args: &[Value]) -> Result<Value, String> {
        let row = Map::new();
        let ctx = EvalContext::row(&row, None, &SystemClock);
        (lookup(name).unwrap().eval)(args, &ctx)
    }

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    #[test]
    fn math() {
        assert_eq!(call("abs", &[Value::Int(-3)]), Ok(Value::Int(3)));
        assert_eq!(call("ABS", &[Value::Float(-2.5)]), Ok(Value::Float(2.5)));
        assert_eq!(call("round", &[Value::Float(2.5)]), Ok(Value::Float(3.0)));
        assert_eq!(call("round", &[Value::Float(-2.5)]), Ok(Value::Float(-3.0)));
        assert_eq!(
            call("round", &[Value::Float(1.23456), Value::Int(2)]),
            Ok(Value::Float(1.23))
        );
        assert_eq!(call("floor", &[Value::Float(2.7)]), Ok(Value::Float(2.0)));
        assert_eq!(call("ceil", &[Value::Int(2)]), Ok(Value::Float(2.0)));
        assert_eq!(
            call("abs", &[s("x")]),
            Err("expects a number, found string(x)".into())
        );
        assert_eq!(call("abs", &[Value::Null]), Ok(Value::Null));
    }

    #[test]
    fn strings() {
        assert_eq!(call("lower", &[s("AbC")]), Ok(s("abc")));
        assert_eq!(call("upper", &[s("AbC")]), Ok(s("ABC")));
        assert_eq!(call("trim", &[s("  a b ")]), Ok(s("a b")));
        assert_eq!(
            call(
                "concat",
                &[s("a"), Value::Int(1), Value::Float(2.0), Value::Null]
            ),
            Ok(s("a12"))
        );
        assert_eq!(call("length", &[s("héllo")]), Ok(Value::Int(5)));
        assert_eq!(
            call("length", &[Value::array(vec![Value::Null; 3])]),
            Ok(Value::Int(3))
        );
        assert_eq!(
            call("substring", &[s("hello"), Value::Int(1), Value::Int(3)]),
            Ok(s("el"))
        );
        assert_eq!(
            call("substring", &[s("hello"), Value::Int(2)]),
            Ok(s("llo"))
        );
        assert_eq!(call("substring", &[s("hello"), Value::Int(9)]), Ok(s("")));
        assert_eq!(
            call("substring", &[s("hello"), Value::Int(1), Value::Int(99)]),
            Ok(s("ello"))
        );
        assert!(call("substring", &[s("hello"), Value::Int(3), Value::Int(1)]).is_err());
        assert!(call("substring", &[s("hello"), Value::Int(-1)]).is_err());
    }

    #[test]
    fn null_handling_and_time() {
        assert_eq!(
            call("coalesce", &[Value::Null, Value::Int(2), Value::Int(3)]),
            Ok(Value::Int(2))
        );
        assert_eq!(call("coalesce", &[Value::Null]), Ok(Value::Null));
        assert_eq!(call("isnull", &[Value::Null]), Ok(Value::Bool(true)));
        assert_eq!(call("isNull", &[Value::Int(0)]), Ok(Value::Bool(false)));
        let now = call("now", &[]).unwrap();
        assert_eq!(now.as_str().unwrap().len(), "2024-01-01 00:00:00".len());
        let precise = call("now", &[Value::Int(3)]).unwrap();
        assert_eq!(
            precise.as_str().unwrap().len(),
            "2024-01-01 00:00:00.000".len()
        );
        assert!(call("now", &[Value::Int(9)]).is_err());
    }

    #[test]
    fn arity_reads_well() {
        assert_eq!(lookup("abs").unwrap().arity(), "1 argument");
        assert_eq!(lookup("round").unwrap().arity(), "1 or 2 arguments");
        assert_eq!(lookup("concat").unwrap().arity(), "at least 1 argument");
    }
}
