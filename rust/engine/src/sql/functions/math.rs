//! Mathematical functions. Numbers in, numbers out; null in, null out. A result that is not a
//! number (NaN, such as `acos(2)` or `sqrt(-1)`) is null, as in eKuiper.

use std::f64::consts::PI;

use crate::value::Value;

use super::{ScalarFunction, any_null, f, float_op, float_or_null, int_at, num_at};
use crate::sql::expr::EvalContext;
use crate::sql::ops::describe;

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("abs", 1, Some(1), abs),
    f("acos", 1, Some(1), |a, _| unary(a, f64::acos)),
    f("asin", 1, Some(1), |a, _| unary(a, f64::asin)),
    f("atan", 1, Some(1), |a, _| unary(a, f64::atan)),
    f("atan2", 2, Some(2), |a, _| binary(a, f64::atan2)),
    f("bitand", 2, Some(2), |a, _| bitwise(a, |x, y| x & y)),
    f("bitor", 2, Some(2), |a, _| bitwise(a, |x, y| x | y)),
    f("bitxor", 2, Some(2), |a, _| bitwise(a, |x, y| x ^ y)),
    f("bitnot", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        Ok(Value::Int(!int_at(a, 0)?))
    }),
    f("ceil", 1, Some(1), |a, _| float_op(&a[0], f64::ceil)),
    f("ceiling", 1, Some(1), |a, _| float_op(&a[0], f64::ceil)),
    f("cos", 1, Some(1), |a, _| unary(a, f64::cos)),
    f("cosh", 1, Some(1), |a, _| unary(a, f64::cosh)),
    f("cot", 1, Some(1), cot),
    f("degrees", 1, Some(1), |a, _| unary(a, f64::to_degrees)),
    f("exp", 1, Some(1), |a, _| unary(a, f64::exp)),
    f("floor", 1, Some(1), |a, _| float_op(&a[0], f64::floor)),
    // Null where there is no finite logarithm, as `log` (eKuiper gives -Inf for 0).
    f("ln", 1, Some(1), |a, _| {
        unary(a, |x| if x > 0.0 { x.ln() } else { f64::NAN })
    }),
    f("log", 1, Some(2), log),
    f("mod", 2, Some(2), |a, _| binary(a, |x, y| x % y)),
    f("pi", 0, Some(0), |_, _| Ok(Value::Float(PI))),
    f("power", 2, Some(2), |a, _| binary(a, f64::powf)),
    f("pow", 2, Some(2), |a, _| binary(a, f64::powf)),
    f("radians", 1, Some(1), |a, _| unary(a, f64::to_radians)),
    f("rand", 0, Some(0), |_, _| {
        Ok(Value::Float(rand::random::<f64>()))
    }),
    f("round", 1, Some(2), round),
    f("sign", 1, Some(1), sign),
    f("sin", 1, Some(1), |a, _| unary(a, f64::sin)),
    f("sinh", 1, Some(1), |a, _| unary(a, f64::sinh)),
    f("sqrt", 1, Some(1), |a, _| unary(a, f64::sqrt)),
    f("tan", 1, Some(1), |a, _| unary(a, f64::tan)),
    f("tanh", 1, Some(1), |a, _| unary(a, f64::tanh)),
];

/// A float function of one number.
fn unary(a: &[Value], op: fn(f64) -> f64) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    Ok(float_or_null(op(num_at(a, 0)?)))
}

/// A float function of two numbers.
fn binary(a: &[Value], op: fn(f64, f64) -> f64) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    Ok(float_or_null(op(num_at(a, 0)?, num_at(a, 1)?)))
}

fn bitwise(a: &[Value], op: fn(i64, i64) -> i64) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    Ok(Value::Int(op(int_at(a, 0)?, int_at(a, 1)?)))
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

/// `cot(x)`: cos/sin; an error where it is infinite (x = 0), as eKuiper's "out-of-range".
fn cot(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let x = num_at(a, 0)?;
    let r = x.cos() / x.sin();
    if r.is_infinite() {
        return Err(format!("out of range: cot({x}) is infinite"));
    }
    Ok(float_or_null(r))
}

/// `log(x)` is the decimal logarithm; `log(b, x)` the base-b logarithm of x. Null where x is
/// not positive, or b is not above 1, as eKuiper documents.
fn log(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let (base, x) = match a.len() {
        1 => (10.0, num_at(a, 0)?),
        _ => (num_at(a, 0)?, num_at(a, 1)?),
    };
    if x <= 0.0 || base <= 1.0 {
        return Ok(Value::Null);
    }
    Ok(float_or_null(if a.len() == 1 {
        x.log10()
    } else {
        x.ln() / base.ln()
    }))
}

/// `sign(x)`: 1, -1 or 0, a bigint.
fn sign(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let x = num_at(a, 0)?;
    Ok(Value::Int(if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn close(v: Result<Value, String>, want: f64) {
        match v {
            Ok(Value::Float(x)) => assert!((x - want).abs() < 1e-9, "{x} != {want}"),
            other => panic!("expected {want}, found {other:?}"),
        }
    }

    #[test]
    fn existing_rounding_and_abs() {
        assert_eq!(call("abs", &[i(-3)]), Ok(i(3)));
        assert_eq!(call("ABS", &[fl(-2.5)]), Ok(fl(2.5)));
        assert_eq!(call("abs", &[i(i64::MIN)]), Err("integer overflow".into()));
        assert_eq!(call("round", &[fl(2.5)]), Ok(fl(3.0)));
        assert_eq!(call("round", &[fl(-2.5)]), Ok(fl(-3.0)));
        assert_eq!(call("round", &[fl(1.23456), i(2)]), Ok(fl(1.23)));
        assert_eq!(call("floor", &[fl(2.7)]), Ok(fl(2.0)));
        assert_eq!(call("ceil", &[i(2)]), Ok(fl(2.0)));
        assert_eq!(call("ceiling", &[fl(2.1)]), Ok(fl(3.0)));
        assert_eq!(
            call("abs", &[s("x")]),
            Err("expects a number, found string(x)".into())
        );
        assert_eq!(call("abs", &[Value::Null]), Ok(Value::Null));
    }

    #[test]
    fn trigonometry() {
        close(call("sin", &[fl(PI / 2.0)]), 1.0);
        close(call("cos", &[i(0)]), 1.0);
        close(call("tan", &[fl(PI / 4.0)]), 1.0);
        close(call("asin", &[i(1)]), PI / 2.0);
        close(call("acos", &[i(1)]), 0.0);
        close(call("atan", &[i(1)]), PI / 4.0);
        close(call("atan2", &[i(1), i(1)]), PI / 4.0);
        close(call("sinh", &[i(0)]), 0.0);
        close(call("cosh", &[i(0)]), 1.0);
        close(call("tanh", &[i(0)]), 0.0);
        close(call("cot", &[fl(PI / 4.0)]), 1.0);
        assert!(call("cot", &[i(0)]).unwrap_err().contains("out of range"));
        close(call("degrees", &[fl(PI)]), 180.0);
        close(call("radians", &[i(180)]), PI);
        close(call("pi", &[]), PI);
        // No answer is null, as eKuiper's NaN check gives.
        assert_eq!(call("acos", &[i(2)]), Ok(Value::Null));
        assert_eq!(call("asin", &[fl(-1.5)]), Ok(Value::Null));
        assert_eq!(call("sin", &[Value::Null]), Ok(Value::Null));
        assert_eq!(call("atan2", &[i(1), Value::Null]), Ok(Value::Null));
    }

    #[test]
    fn exponents_and_logarithms() {
        close(call("exp", &[i(0)]), 1.0);
        close(call("ln", &[fl(std::f64::consts::E)]), 1.0);
        close(call("log", &[i(100)]), 2.0);
        close(call("log", &[i(2), i(8)]), 3.0);
        assert_eq!(call("log", &[i(0)]), Ok(Value::Null));
        assert_eq!(call("log", &[i(-10)]), Ok(Value::Null));
        assert_eq!(call("log", &[i(1), i(8)]), Ok(Value::Null));
        assert_eq!(call("ln", &[i(-1)]), Ok(Value::Null));
        assert_eq!(call("ln", &[i(0)]), Ok(Value::Null));
        close(call("power", &[i(2), i(10)]), 1024.0);
        close(call("pow", &[fl(9.0), fl(0.5)]), 3.0);
        close(call("sqrt", &[i(16)]), 4.0);
        assert_eq!(call("sqrt", &[i(-1)]), Ok(Value::Null));
        assert_eq!(call("power", &[Value::Null, i(2)]), Ok(Value::Null));
    }

    #[test]
    fn mod_sign_and_rand() {
        close(call("mod", &[i(7), i(3)]), 1.0);
        close(call("mod", &[fl(-7.5), i(2)]), -1.5);
        assert_eq!(call("mod", &[i(1), i(0)]), Ok(Value::Null));
        assert_eq!(call("sign", &[fl(-2.5)]), Ok(i(-1)));
        assert_eq!(call("sign", &[i(3)]), Ok(i(1)));
        assert_eq!(call("sign", &[i(0)]), Ok(i(0)));
        assert_eq!(call("sign", &[Value::Null]), Ok(Value::Null));
        for _ in 0..100 {
            match call("rand", &[]) {
                Ok(Value::Float(x)) => assert!((0.0..1.0).contains(&x)),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            call("sign", &[s("1")]),
            Err("expects a number, found string(1)".into())
        );
    }

    #[test]
    fn bitwise_on_bigints() {
        assert_eq!(call("bitand", &[i(12), i(10)]), Ok(i(8)));
        assert_eq!(call("bitor", &[i(12), i(10)]), Ok(i(14)));
        assert_eq!(call("bitxor", &[i(12), i(10)]), Ok(i(6)));
        assert_eq!(call("bitnot", &[i(0)]), Ok(i(-1)));
        assert_eq!(call("bitand", &[Value::Null, i(1)]), Ok(Value::Null));
        assert_eq!(
            call("bitor", &[fl(1.5), i(1)]),
            Err("the first argument must be a bigint, found float(1.5)".into())
        );
        assert_eq!(
            call("bitnot", &[s("1")]),
            Err("expects a bigint, found string(1)".into())
        );
    }

    #[test]
    fn in_sql() {
        assert_eq!(
            sql(
                "SELECT power(x, 2) AS p, bitand(n, 6) AS b, sign(x) AS g, pi() AS pi FROM s",
                r#"{"x": -3, "n": 7}"#
            ),
            r#"{"p":9.0,"b":6,"g":-1,"pi":3.141592653589793}"#
        );
    }
}
