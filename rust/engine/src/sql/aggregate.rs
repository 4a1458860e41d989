//! Aggregate functions, with eKuiper's names and semantics: computed over the rows of a group
//! (a window's rows, or all of them without GROUP BY). Nulls are ignored unless said otherwise.

use std::cmp::Ordering;

use crate::value::{Map, Value};

use super::ops::describe;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Collect,
    LastValue,
    MergeAgg,
    Median,
    Stddev,
    Stddevs,
    Var,
    Vars,
    PercentileCont,
    PercentileDisc,
    /// `deduplicate(col, all)`: the group's rows, deduplicated on `col` (computed apart, by
    /// [`deduplicate`], since it returns whole rows).
    Deduplicate,
}

impl Aggregate {
    pub fn lookup(name: &str) -> Option<Aggregate> {
        Some(match name {
            "count" => Aggregate::Count,
            "sum" => Aggregate::Sum,
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "collect" => Aggregate::Collect,
            "last_value" => Aggregate::LastValue,
            "merge_agg" => Aggregate::MergeAgg,
            "median" => Aggregate::Median,
            "stddev" => Aggregate::Stddev,
            "stddevs" => Aggregate::Stddevs,
            "var" => Aggregate::Var,
            "vars" => Aggregate::Vars,
            "percentile_cont" => Aggregate::PercentileCont,
            "percentile_disc" => Aggregate::PercentileDisc,
            "deduplicate" => Aggregate::Deduplicate,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::Collect => "collect",
            Aggregate::LastValue => "last_value",
            Aggregate::MergeAgg => "merge_agg",
            Aggregate::Median => "median",
            Aggregate::Stddev => "stddev",
            Aggregate::Stddevs => "stddevs",
            Aggregate::Var => "var",
            Aggregate::Vars => "vars",
            Aggregate::PercentileCont => "percentile_cont",
            Aggregate::PercentileDisc => "percentile_disc",
            Aggregate::Deduplicate => "deduplicate",
        }
    }

    /// (least, most) arguments; the first is evaluated per row, the others are constants.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Aggregate::LastValue => (1, 2),
            Aggregate::PercentileCont | Aggregate::PercentileDisc | Aggregate::Deduplicate => {
                (2, 2)
            }
            _ => (1, 1),
        }
    }

    /// Whether `*` may stand for the argument: `count(*)`, and `collect(*)` for whole rows.
    pub fn takes_star(self) -> bool {
        matches!(self, Aggregate::Count | Aggregate::Collect)
    }

    /// Computes the aggregate of one group: `values` holds the first argument per row (the
    /// whole row for `*`), `extra` the constant arguments.
    pub fn compute(self, values: Vec<Value>, extra: &[Value]) -> Result<Value, String> {
        match self {
            Aggregate::Count => Ok(Value::Int(
                values.iter().filter(|v| !v.is_null()).count() as i64
            )),
            Aggregate::Sum => sum(&values).map(|s| s.unwrap_or(Value::Null)),
            Aggregate::Avg => avg(&values),
            Aggregate::Min => extreme(&values, Ordering::Less),
            Aggregate::Max => extreme(&values, Ordering::Greater),
            Aggregate::Collect => Ok(Value::array(values)),
            Aggregate::LastValue => {
                let ignore_null = match extra.first() {
                    None => true,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(format!(
                            "the second argument (ignore nulls) must be a boolean, found {}",
                            describe(other)
                        ));
                    }
                };
                Ok(values
                    .into_iter()
                    .rev()
                    .find(|v| !(ignore_null && v.is_null()))
                    .unwrap_or(Value::Null))
            }
            Aggregate::MergeAgg => {
                let mut merged = Map::new();
                for v in values {
                    match v {
                        Value::Object(o) => {
                            for (k, v) in o.iter() {
                                merged.insert(k.clone(), v.clone());
                            }
                        }
                        Value::Null => {}
                        other => {
                            return Err(format!("expected objects, found {}", describe(&other)));
                        }
                    }
                }
                Ok(Value::object(merged))
            }
            Aggregate::Median => percentile(&values, 0.5, true),
            Aggregate::Stddev => variance(&values, false)
                .map(|v| v.map(f64::sqrt))
                .map(float),
            Aggregate::Stddevs => variance(&values, true).map(|v| v.map(f64::sqrt)).map(float),
            Aggregate::Var => variance(&values, false).map(float),
            Aggregate::Vars => variance(&values, true).map(float),
            Aggregate::PercentileCont | Aggregate::PercentileDisc => {
                let p = match extra.first() {
                    Some(Value::Float(p)) => *p,
                    Some(Value::Int(p)) => *p as f64,
                    _ => return Err("the percentile must be a number between 0 and 1".into()),
                };
                if !(0.0..=1.0).contains(&p) {
                    return Err(format!("the percentile must be between 0 and 1, found {p}"));
                }
                percentile(&values, p, self == Aggregate::PercentileCont)
            }
            Aggregate::Deduplicate => Err("deduplicate() needs the group's rows".into()),
        }
    }
}

/// eKuiper's `deduplicate(col, all)` over a group: `keys` holds `col` per row, `rows` the rows.
/// With `all`, the rows whose key had not been seen before, in order; without, the last row
/// if its key is new, else null (a duplicate: nothing to report).
pub fn deduplicate(keys: Vec<Value>, rows: Vec<Value>, extra: &[Value]) -> Result<Value, String> {
    let all = match extra.first() {
        Some(Value::Bool(b)) => *b,
        other => {
            return Err(format!(
                "the second argument (all) must be a boolean, found {}",
                other.map_or("nothing".to_string(), describe)
            ));
        }
    };
    // Keys compare as eKuiper prints them: 1 and 1.0 are the same key.
    let text = |v: &Value| match v {
        Value::Int(_) | Value::Float(_) => v.as_f64().unwrap_or_default().to_string(),
        other => crate::value::to_json_string(other),
    };
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::new();
    let last = keys.len().saturating_sub(1);
    for (i, (key, row)) in keys.iter().zip(rows).enumerate() {
        let new = seen.insert(text(key));
        if new && (all || i == last) {
            kept.push(row);
        }
    }
    Ok(match all {
        true => Value::array(kept),
        false => kept.pop().unwrap_or(Value::Null),
    })
}

fn float(v: Option<f64>) -> Value {
    v.map_or(Value::Null, Value::Float)
}

/// The numbers among `values`, nulls skipped; anything else is an error.
fn numbers(values: &[Value]) -> Result<Vec<f64>, String> {
    values
        .iter()
        .filter(|v| !v.is_null())
        .map(|v| match v {
            Value::Int(i) => Ok(*i as f64),
            Value::Float(f) => Ok(*f),
            other => Err(format!("expected numbers, found {}", describe(other))),
        })
        .collect()
}

/// Integers sum to an integer, any float makes it a float; `None` when every value is null.
fn sum(values: &[Value]) -> Result<Option<Value>, String> {
    let mut int_total: i64 = 0;
    let mut float_total = 0.0;
    let mut any_float = false;
    let mut any = false;
    for v in values {
        match v {
            Value::Null => continue,
            Value::Int(i) => {
                int_total = int_total
                    .checked_add(*i)
                    .ok_or("the integer sum overflows")?;
                float_total += *i as f64;
            }
            Value::Float(f) => {
                any_float = true;
                float_total += f;
            }
            other => return Err(format!("expected numbers, found {}", describe(other))),
        }
        any = true;
    }
    let total = if any_float {
        Value::Float(float_total)
    } else {
        Value::Int(int_total)
    };
    Ok(any.then_some(total))
}

/// As in eKuiper, the average of integers is an integer (truncated), of floats a float.
fn avg(values: &[Value]) -> Result<Value, String> {
    let count = values.iter().filter(|v| !v.is_null()).count() as i64;
    Ok(match sum(values)? {
        None => Value::Null,
        Some(Value::Int(total)) => Value::Int(total / count),
        Some(Value::Float(total)) => Value::Float(total / count as f64),
        Some(other) => other,
    })
}

/// How `min` and `max` order two values; values of different kinds do not compare.
pub(super) fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (x, y) = (as_f64(a), as_f64(b));
            Ok(x.partial_cmp(&y).unwrap_or(Ordering::Equal))
        }
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        (Value::Datetime(x), Value::Datetime(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "cannot compare {} with {}",
            describe(a),
            describe(b)
        )),
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// The least (`Less`) or greatest (`Greater`) value, nulls skipped.
fn extreme(values: &[Value], want: Ordering) -> Result<Value, String> {
    let mut best: Option<&Value> = None;
    for v in values.iter().filter(|v| !v.is_null()) {
        best = match best {
            Some(b) if compare(v, b)? != want => Some(b),
            _ => Some(v),
        };
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

/// Population (`sample` false) or sample variance; `None` without enough values.
fn variance(values: &[Value], sample: bool) -> Result<Option<f64>, String> {
    let xs = numbers(values)?;
    let n = xs.len();
    if n == 0 || (sample && n < 2) {
        return Ok(None);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let squares: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    Ok(Some(squares / if sample { n - 1 } else { n } as f64))
}

/// `continuous`: interpolated between the two nearest values (percentile_cont, median);
/// otherwise the first value whose cumulative share reaches `p` (percentile_disc).
fn percentile(values: &[Value], p: f64, continuous: bool) -> Result<Value, String> {
    let mut xs = numbers(values)?;
    if xs.is_empty() {
        return Ok(Value::Null);
    }
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    let n = xs.len();
    if continuous {
        let rank = p * (n - 1) as f64;
        let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
        let fraction = rank - lo as f64;
        Ok(Value::Float(xs[lo] + (xs[hi] - xs[lo]) * fraction))
    } else {
        let index = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        Ok(Value::Float(xs[index]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(xs: &[i64]) -> Vec<Value> {
        xs.iter().map(|x| Value::Int(*x)).collect()
    }

    #[test]
    fn aggregates_follow_ekuiper() {
        let vals = || {
            let mut v = ints(&[3, 1, 4, 1, 5]);
            v.push(Value::Null);
            v
        };
        let run = |a: Aggregate, extra: &[Value]| a.compute(vals(), extra).unwrap();
        assert_eq!(run(Aggregate::Count, &[]).to_string(), "5");
        assert_eq!(run(Aggregate::Sum, &[]).to_string(), "14");
        assert_eq!(run(Aggregate::Avg, &[]).to_string(), "2"); // integer average, as eKuiper's
        assert_eq!(run(Aggregate::Min, &[]).to_string(), "1");
        assert_eq!(run(Aggregate::Max, &[]).to_string(), "5");
        assert_eq!(run(Aggregate::Median, &[]).to_string(), "3.0");
        assert_eq!(run(Aggregate::LastValue, &[]).to_string(), "5");
        assert_eq!(
            run(Aggregate::LastValue, &[Value::Bool(false)]).to_string(),
            "null"
        );
        assert_eq!(run(Aggregate::Var, &[]).to_string(), "2.56");
        assert_eq!(run(Aggregate::Vars, &[]).to_string(), "3.2");
        assert_eq!(
            run(Aggregate::PercentileDisc, &[Value::Float(0.5)]).to_string(),
            "3.0"
        );
        assert_eq!(
            run(Aggregate::PercentileCont, &[Value::Float(0.25)]).to_string(),
            "1.0"
        );
        let floats = vec![Value::Float(1.5), Value::Int(2)];
        assert_eq!(
            Aggregate::Avg
                .compute(floats.clone(), &[])
                .unwrap()
                .to_string(),
            "1.75"
        );
        assert_eq!(
            Aggregate::Sum.compute(floats, &[]).unwrap().to_string(),
            "3.5"
        );
        assert!(
            Aggregate::Sum
                .compute(vec![Value::string("x")], &[])
                .unwrap_err()
                .contains("expected numbers")
        );
        assert_eq!(
            Aggregate::Sum
                .compute(vec![Value::Null], &[])
                .unwrap()
                .to_string(),
            "null"
        );
        assert_eq!(
            Aggregate::Max
                .compute(vec![Value::string("b"), Value::string("a")], &[])
                .unwrap()
                .to_string(),
            "b"
        );
    }
}
