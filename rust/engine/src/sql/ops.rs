//! Operators on values, with eKuiper's semantics:
//!
//! - a null operand makes arithmetic null; `<` and `>` against null are false, `=`, `<=` and
//!   `>=` are true only when both sides are null, `!=` is the opposite of `=`;
//! - an integer meets a float as a float, so `1 = 1.0`;
//! - `/` always divides as floats. eKuiper decodes every JSON number as a float, so its users
//!   get `235 / 10 = 23.5`; we keep JSON integers as integers and keep that result;
//! - mismatched types (a string against a number) are an error that names both operands.

use std::cmp::Ordering;
use std::fmt;

use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "^",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
        })
    }
}

impl BinaryOp {
    fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }
}

/// Renders an operand for an error message: its type, then its value.
pub fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        let short: String = text.chars().take(40).collect();
        format!("{}({short}...)", v.type_name())
    } else {
        format!("{}({text})", v.type_name())
    }
}

fn invalid(lhs: &Value, op: impl fmt::Display, rhs: &Value) -> String {
    format!("invalid operation {} {op} {}", describe(lhs), describe(rhs))
}

/// Applies a binary operator.
pub fn binary(op: BinaryOp, lhs: &Value, rhs: &Value) -> Result<Value, String> {
    if lhs.is_null() || rhs.is_null() {
        return Ok(null_operand(op, lhs.is_null() && rhs.is_null()));
    }
    if op.is_comparison() {
        let ordering = compare(lhs, rhs).ok_or_else(|| invalid(lhs, op, rhs))?;
        return Ok(Value::Bool(match op {
            BinaryOp::Eq => ordering == Some(Ordering::Equal),
            BinaryOp::NotEq => ordering != Some(Ordering::Equal),
            BinaryOp::Lt => ordering == Some(Ordering::Less),
            BinaryOp::LtEq => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
            BinaryOp::Gt => ordering == Some(Ordering::Greater),
            BinaryOp::GtEq => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
            _ => unreachable!("comparison operators only"),
        }));
    }
    let result = match (lhs, rhs) {
        (Value::Int(a), Value::Int(b)) => int_arithmetic(op, *a, *b),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => float_arithmetic(
            op,
            lhs.as_f64().unwrap_or_default(),
            rhs.as_f64().unwrap_or_default(),
        ),
        _ => None,
    };
    result.unwrap_or_else(|| Err(invalid(lhs, op, rhs)))
}

fn null_operand(op: BinaryOp, both_null: bool) -> Value {
    match op {
        BinaryOp::Eq | BinaryOp::LtEq | BinaryOp::GtEq => Value::Bool(both_null),
        BinaryOp::NotEq => Value::Bool(!both_null),
        BinaryOp::Lt | BinaryOp::Gt => Value::Bool(false),
        _ => Value::Null,
    }
}

/// Integer arithmetic; `None` when the operator does not apply to integers.
fn int_arithmetic(op: BinaryOp, a: i64, b: i64) -> Option<Result<Value, String>> {
    let checked = |r: Option<i64>| {
        r.map(Value::Int)
            .ok_or_else(|| format!("integer overflow in {a} {op} {b}"))
    };
    Some(match op {
        BinaryOp::Add => checked(a.checked_add(b)),
        BinaryOp::Sub => checked(a.checked_sub(b)),
        BinaryOp::Mul => checked(a.checked_mul(b)),
        BinaryOp::Div | BinaryOp::Mod if b == 0 => Err("divided by zero".into()),
        BinaryOp::Div => Ok(Value::Float(a as f64 / b as f64)),
        BinaryOp::Mod => Ok(Value::Int(a.wrapping_rem(b))),
        BinaryOp::BitAnd => Ok(Value::Int(a & b)),
        BinaryOp::BitOr => Ok(Value::Int(a | b)),
        BinaryOp::BitXor => Ok(Value::Int(a ^ b)),
        _ => return None,
    })
}

/// Float arithmetic; `None` when the operator does not apply to floats (the bitwise ones).
fn float_arithmetic(op: BinaryOp, a: f64, b: f64) -> Option<Result<Value, String>> {
    Some(match op {
        BinaryOp::Add => Ok(Value::Float(a + b)),
        BinaryOp::Sub => Ok(Value::Float(a - b)),
        BinaryOp::Mul => Ok(Value::Float(a * b)),
        BinaryOp::Div | BinaryOp::Mod if b == 0.0 => Err("divided by zero".into()),
        BinaryOp::Div => Ok(Value::Float(a / b)),
        BinaryOp::Mod => Ok(Value::Float(a % b)),
        _ => return None,
    })
}

/// Orders two non-null values of comparable types; `None` when the types do not compare.
/// The inner `None` is for floats that do not order (NaN), which are unequal to everything.
pub fn compare(lhs: &Value, rhs: &Value) -> Option<Option<Ordering>> {
    Some(match (lhs, rhs) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            lhs.as_f64()?.partial_cmp(&rhs.as_f64()?)
        }
        (Value::String(a), Value::String(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Datetime(a), Value::Datetime(b)) => Some(a.cmp(b)),
        (Value::Bytes(a), Value::Bytes(b)) => Some(a.cmp(b)),
        _ => return None,
    })
}

/// `a = b` for IN lists and simple CASE: null never matches; mismatched types are an error.
pub fn equals(lhs: &Value, rhs: &Value) -> Result<bool, String> {
    if lhs.is_null() || rhs.is_null() {
        return Ok(lhs.is_null() && rhs.is_null());
    }
    match compare(lhs, rhs) {
        Some(ordering) => Ok(ordering == Some(Ordering::Equal)),
        None => Err(invalid(lhs, BinaryOp::Eq, rhs)),
    }
}

/// Three-valued AND/OR operands: a boolean, null, or an error for anything else.
pub fn as_logical(v: &Value, op: &str, other: &Value) -> Result<Option<bool>, String> {
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Null => Ok(None),
        _ => Err(format!(
            "invalid operation {} {op} {}",
            describe(v),
            describe(other)
        )),
    }
}

/// A compiled LIKE pattern: `%` matches any run of characters, `_` exactly one, and the escape
/// character (backslash unless `ESCAPE` names another) makes the next character literal.
#[derive(Debug, Clone, PartialEq)]
pub struct LikePattern {
    parts: Vec<LikePart>,
}

#[derive(Debug, Clone, PartialEq)]
enum LikePart {
    Literal(char),
    AnyOne,
    AnyRun,
}

impl LikePattern {
    pub fn new(pattern: &str, escape: Option<char>) -> LikePattern {
        let escape = escape.unwrap_or('\\');
        let mut parts = Vec::with_capacity(pattern.len());
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            parts.push(match c {
                c if c == escape => LikePart::Literal(chars.next().unwrap_or(escape)),
                '%' => LikePart::AnyRun,
                '_' => LikePart::AnyOne,
                c => LikePart::Literal(c),
            });
        }
        LikePattern { parts }
    }

    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        // Greedy wildcard matching with one backtrack point: linear for patterns like '%abc%'.
        let (mut t, mut p) = (0, 0);
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.parts.get(p) {
                Some(LikePart::AnyRun) => {
                    backtrack = Some((p, t));
                    p += 1;
                }
                Some(LikePart::AnyOne) => {
                    t += 1;
                    p += 1;
                }
                Some(LikePart::Literal(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                _ => match backtrack {
                    Some((bp, bt)) => {
                        backtrack = Some((bp, bt + 1));
                        p = bp + 1;
                        t = bt + 1;
                    }
                    None => return false,
                },
            }
        }
        self.parts[p..].iter().all(|part| *part == LikePart::AnyRun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    #[test]
    fn null_comparisons_follow_ekuiper() {
        let n = Value::Null;
        let one = Value::Int(1);
        assert_eq!(binary(BinaryOp::Gt, &n, &one), Ok(Value::Bool(false)));
        assert_eq!(binary(BinaryOp::Lt, &n, &one), Ok(Value::Bool(false)));
        assert_eq!(binary(BinaryOp::Eq, &n, &n), Ok(Value::Bool(true)));
        assert_eq!(binary(BinaryOp::GtEq, &n, &one), Ok(Value::Bool(false)));
        assert_eq!(binary(BinaryOp::NotEq, &n, &one), Ok(Value::Bool(true)));
        assert_eq!(binary(BinaryOp::Add, &n, &one), Ok(Value::Null));
    }

    #[test]
    fn numbers_mix_as_floats_and_division_is_float() {
        assert_eq!(
            binary(BinaryOp::Eq, &Value::Int(1), &Value::Float(1.0)),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            binary(BinaryOp::Add, &Value::Int(1), &Value::Int(2)),
            Ok(Value::Int(3))
        );
        assert_eq!(
            binary(BinaryOp::Div, &Value::Int(235), &Value::Int(10)),
            Ok(Value::Float(23.5))
        );
        assert_eq!(
            binary(BinaryOp::Mod, &Value::Int(7), &Value::Int(3)),
            Ok(Value::Int(1))
        );
        assert_eq!(
            binary(BinaryOp::Mul, &Value::Float(1.5), &Value::Int(2)),
            Ok(Value::Float(3.0))
        );
        assert_eq!(
            binary(BinaryOp::Div, &Value::Int(1), &Value::Int(0)),
            Err("divided by zero".into())
        );
        assert_eq!(
            binary(BinaryOp::Mod, &Value::Float(1.0), &Value::Float(0.0)),
            Err("divided by zero".into())
        );
        assert!(
            binary(BinaryOp::Add, &Value::Int(i64::MAX), &Value::Int(1))
                .unwrap_err()
                .contains("overflow")
        );
    }

    #[test]
    fn mismatched_types_name_both_operands() {
        assert_eq!(
            binary(BinaryOp::Gt, &s("abc"), &Value::Int(20)),
            Err("invalid operation string(abc) > bigint(20)".into())
        );
        assert_eq!(
            binary(BinaryOp::Add, &s("a"), &s("b")),
            Err("invalid operation string(a) + string(b)".into())
        );
        assert_eq!(
            binary(BinaryOp::Lt, &s("a"), &s("b")),
            Ok(Value::Bool(true))
        );
    }

    #[test]
    fn like_patterns() {
        let p = LikePattern::new("dev-%", None);
        assert!(p.matches("dev-17"));
        assert!(!p.matches("xdev-17"));
        let p = LikePattern::new("%a_c%", None);
        assert!(p.matches("xxabcxx"));
        assert!(!p.matches("xxacxx"));
        let p = LikePattern::new(r"100\%", None);
        assert!(p.matches("100%"));
        assert!(!p.matches("1000"));
        assert!(LikePattern::new("", None).matches(""));
        assert!(LikePattern::new("%%", None).matches(""));
        assert!(LikePattern::new("ü_", None).matches("üß"));
    }
}
