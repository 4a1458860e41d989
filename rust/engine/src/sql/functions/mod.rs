//! Scalar functions, with eKuiper's names and semantics (docs/functions.md has the table).
//! Function names are case-insensitive; `lookup` takes any case.
//!
//! One module per eKuiper category registers its functions in a `FUNCTIONS` table; the helpers
//! here read arguments and word the errors, which name the offending value (`describe`). A
//! function given null returns null unless eKuiper documents otherwise (`startswith` is false,
//! `cardinality` is 0, and so on: each module says so where it happens).

mod array;
mod convert;
mod datetime;
mod hash;
mod json;
mod math;
mod object;
mod other;
mod string;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use crate::value::{Map, Value, convert as value_convert};

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

    /// Whether a call with `n` arguments is allowed.
    fn takes(&self, n: usize) -> bool {
        n >= self.min_args && self.max_args.is_none_or(|max| n <= max)
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

/// Every category's table; names are unique across them (a test checks).
static CATEGORIES: &[&[ScalarFunction]] = &[
    math::FUNCTIONS,
    string::FUNCTIONS,
    convert::FUNCTIONS,
    hash::FUNCTIONS,
    json::FUNCTIONS,
    datetime::FUNCTIONS,
    array::FUNCTIONS,
    object::FUNCTIONS,
    other::FUNCTIONS,
];

/// Aggregate, analytic and window functions: known names this version rejects with a clear
/// message instead of "unknown function".
pub const NOT_YET_SUPPORTED: &[&str] = &["rule_start"];

pub fn lookup(name: &str) -> Option<&'static ScalarFunction> {
    all().find(|f| f.name.eq_ignore_ascii_case(name))
}

fn all() -> impl Iterator<Item = &'static ScalarFunction> {
    CATEGORIES.iter().flat_map(|c| c.iter())
}

// ---- Argument helpers -------------------------------------------------------------------------

fn ordinal(i: usize) -> Cow<'static, str> {
    match i {
        0 => "first".into(),
        1 => "second".into(),
        2 => "third".into(),
        3 => "fourth".into(),
        n => format!("{}th", n + 1).into(),
    }
}

/// "expects a bigint, found string(x)" for a one-argument call, "the second argument must be
/// a bigint, found string(x)" otherwise.
fn arg_error(args: &[Value], i: usize, what: &str) -> String {
    if args.len() == 1 {
        format!("expects {what}, found {}", describe(&args[0]))
    } else {
        format!(
            "the {} argument must be {what}, found {}",
            ordinal(i),
            describe(&args[i])
        )
    }
}

fn any_null(args: &[Value]) -> bool {
    args.iter().any(Value::is_null)
}

/// A number as a float: bigint or float only, as eKuiper's same-kind conversion.
fn num_at(args: &[Value], i: usize) -> Result<f64, String> {
    args[i]
        .as_f64()
        .ok_or_else(|| arg_error(args, i, "a number"))
}

/// An integer: a bigint, or a float with no fraction.
fn int_at(args: &[Value], i: usize) -> Result<i64, String> {
    match &args[i] {
        Value::Int(n) => Ok(*n),
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => Ok(*x as i64),
        _ => Err(arg_error(args, i, "a bigint")),
    }
}

/// A string, and nothing else.
fn str_at(args: &[Value], i: usize) -> Result<&str, String> {
    args[i]
        .as_str()
        .ok_or_else(|| arg_error(args, i, "a string"))
}

fn array_at(args: &[Value], i: usize) -> Result<&[Value], String> {
    match &args[i] {
        Value::Array(items) => Ok(items),
        _ => Err(arg_error(args, i, "an array")),
    }
}

fn object_at(args: &[Value], i: usize) -> Result<&Map, String> {
    args[i]
        .as_object()
        .ok_or_else(|| arg_error(args, i, "an object"))
}

/// The text of any value, as eKuiper's string functions take it (`cast.ToStringAlways`):
/// strings as they are, numbers without a needless `.0`, the rest as JSON.
fn text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(value_convert::display_plain(other)),
    }
}

/// A float result; NaN (no answer, such as `acos(2)`) is null, as in eKuiper.
fn float_or_null(x: f64) -> Value {
    if x.is_nan() {
        Value::Null
    } else {
        Value::Float(x)
    }
}

/// `op` over one numeric argument, null for null.
fn float_op(v: &Value, op: impl Fn(f64) -> f64) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        _ => v
            .as_f64()
            .map(|x| Value::Float(op(x)))
            .ok_or_else(|| format!("expects a number, found {}", describe(v))),
    }
}

/// `op` over the text of one argument, null for null.
fn text_op(v: &Value, op: impl Fn(&str) -> String) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        other => Ok(Value::from(op(&text(other)))),
    }
}

/// Compiles `pattern`, remembering the last few per thread: a rule calls a regexp function
/// with the same (usually literal) pattern on every row, and the function table has no place
/// to keep a per-call-site regex, so this cache stands in for one.
fn with_regex<T>(pattern: &str, use_it: impl FnOnce(&Regex) -> T) -> Result<T, String> {
    const MAX_CACHED: usize = 64;
    thread_local! {
        static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return Ok(use_it(re));
        }
        let re = Regex::new(pattern).map_err(|e| format!("invalid regular expression: {e}"))?;
        let out = use_it(&re);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re);
        Ok(out)
    })
}

#[cfg(test)]
pub(super) mod testing {
    //! What the category modules' tests share: calling a function by name, and running SQL.

    use super::*;
    use crate::clock::SystemClock;
    use crate::sql::{RowError, compile_select};
    use crate::value::{Tuple, to_json_string};

    pub fn call(name: &str, args: &[Value]) -> Result<Value, String> {
        let row = Map::new();
        let ctx = EvalContext::row(&row, None, &SystemClock);
        let function = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
        assert!(
            function.takes(args.len()),
            "{name}() takes {}, given {}",
            function.arity(),
            args.len()
        );
        (function.eval)(args, &ctx)
    }

    pub fn s(v: &str) -> Value {
        Value::string(v)
    }

    pub fn i(v: i64) -> Value {
        Value::Int(v)
    }

    pub fn fl(v: f64) -> Value {
        Value::Float(v)
    }

    /// A value from JSON text.
    pub fn j(json: &str) -> Value {
        Value::from(&serde_json::from_str::<serde_json::Value>(json).unwrap())
    }

    /// Compiles `sql` and runs it over one row given as JSON: the result row as JSON, `-` when
    /// WHERE filters it out, or the error message.
    pub fn sql(sql: &str, row: &str) -> String {
        let plan = compile_select(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let tuple = Tuple::from(j(row).as_object().unwrap().clone());
        let outcome = plan.analyze(&tuple, &SystemClock).and_then(|analytics| {
            if plan.filter(&tuple, &analytics, &SystemClock)? {
                plan.project(&tuple, &analytics, &SystemClock, false, false)
                    .map(|out| to_json_string(&out))
            } else {
                Ok("-".to_string())
            }
        });
        match outcome {
            Ok(out) => out,
            Err(RowError::Select(e) | RowError::Where(e)) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn names_are_lowercase_unique_and_found_in_any_case() {
        let mut seen = std::collections::HashSet::new();
        for function in all() {
            assert_eq!(function.name, function.name.to_lowercase());
            assert!(seen.insert(function.name), "{} twice", function.name);
            assert!(
                !NOT_YET_SUPPORTED.contains(&function.name),
                "{} is both implemented and not yet supported",
                function.name
            );
            let upper = function.name.to_uppercase();
            assert!(std::ptr::eq(lookup(&upper).unwrap(), function));
        }
        assert!(lookup("no_such_function").is_none());
    }

    #[test]
    fn every_function_is_in_the_reference() {
        let doc = include_str!("../../../../../docs/functions.md");
        for function in all() {
            assert!(
                doc.contains(&format!("`{}(", function.name)),
                "docs/functions.md does not describe {}()",
                function.name
            );
        }
    }

    /// Names such as `values`, `day` or `current_date` are SQL keywords too: each must still
    /// parse as a call.
    #[test]
    fn every_function_compiles_in_sql() {
        let mut failed = Vec::new();
        for function in all() {
            let args = vec!["a"; function.min_args].join(", ");
            let statement = format!("SELECT {}({args}) AS x FROM s", function.name);
            if let Err(e) = crate::sql::compile_select(&statement) {
                failed.push(format!("{statement}: {e}"));
            }
        }
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }

    #[test]
    fn arity_reads_well() {
        assert_eq!(lookup("abs").unwrap().arity(), "1 argument");
        assert_eq!(lookup("round").unwrap().arity(), "1 or 2 arguments");
        assert_eq!(lookup("concat").unwrap().arity(), "at least 1 argument");
        assert_eq!(lookup("sequence").unwrap().arity(), "2 or 3 arguments");
    }

    #[test]
    fn argument_errors_name_the_argument_and_the_value() {
        assert_eq!(
            call("sqrt", &[s("x")]),
            Err("expects a number, found string(x)".into())
        );
        assert_eq!(
            call("bitand", &[i(1), s("x")]),
            Err("the second argument must be a bigint, found string(x)".into())
        );
    }

    #[test]
    fn regexes_are_compiled_once_per_pattern_and_bad_ones_say_why() {
        assert_eq!(with_regex("b+", |re| re.is_match("abbc")), Ok(true));
        assert_eq!(with_regex("b+", |re| re.is_match("ac")), Ok(false));
        let err = with_regex("(", |_| ()).unwrap_err();
        assert!(err.starts_with("invalid regular expression"), "{err}");
    }

    #[test]
    fn functions_run_in_sql() {
        assert_eq!(
            sql(
                "SELECT upper(name) AS u, Sqrt(x) AS r, md5(name) AS h FROM s",
                r#"{"name": "abc", "x": 16}"#
            ),
            r#"{"u":"ABC","r":4.0,"h":"900150983cd24fb0d6963f7d28e17f72"}"#
        );
        assert_eq!(
            sql(
                "SELECT name FROM s WHERE regexp_matches(name, 'b') AND startswith(name, 'a')",
                r#"{"name": "abc"}"#
            ),
            r#"{"name":"abc"}"#
        );
        let err = sql("SELECT sqrt(name) AS r FROM s", r#"{"name": "abc"}"#);
        assert!(
            err.ends_with("sqrt(): expects a number, found string(abc)"),
            "{err}"
        );
    }
}
