//! Running accumulators: `count`, `sum`, `avg`, `min` and `max` taken one value at a time, as
//! rows arrive, with exactly the results [`Aggregate::compute`] gives over the same values in
//! the same order (the same integer and float totals, the same first-of-equals for min and
//! max). A value the aggregate would fail on is refused: the caller then computes the group the
//! general way, which reports the error as it always has.

use std::cmp::Ordering;

use crate::value::Value;

use super::aggregate::{Aggregate, compare};

/// One aggregate's state over the values seen so far.
#[derive(Debug, Clone)]
pub enum Accumulator {
    /// `count`: the values that are not null.
    Count(i64),
    /// `sum` and `avg`: the totals [`Aggregate::compute`] keeps, and how many values.
    Total {
        int: i64,
        float: f64,
        any_float: bool,
        count: i64,
        average: bool,
    },
    /// `min` (`Less`) or `max` (`Greater`): the best value so far.
    Extreme(Ordering, Option<Value>),
}

impl Accumulator {
    /// The empty state of `aggregate`, if it can be kept as rows arrive.
    pub fn new(aggregate: Aggregate) -> Option<Accumulator> {
        let total = |average| Accumulator::Total {
            int: 0,
            float: 0.0,
            any_float: false,
            count: 0,
            average,
        };
        Some(match aggregate {
            Aggregate::Count => Accumulator::Count(0),
            Aggregate::Sum => total(false),
            Aggregate::Avg => total(true),
            Aggregate::Min => Accumulator::Extreme(Ordering::Less, None),
            Aggregate::Max => Accumulator::Extreme(Ordering::Greater, None),
            _ => return None,
        })
    }

    /// Takes the next value; `Err` when the aggregate would fail over it (the accumulator is
    /// then of no more use).
    pub fn add(&mut self, value: &Value) -> Result<(), ()> {
        if value.is_null() {
            return Ok(());
        }
        match self {
            Accumulator::Count(n) => *n += 1,
            Accumulator::Total {
                int,
                float,
                any_float,
                count,
                ..
            } => {
                match value {
                    Value::Int(i) => {
                        *int = int.checked_add(*i).ok_or(())?;
                        *float += *i as f64;
                    }
                    Value::Float(f) => {
                        *any_float = true;
                        *float += f;
                    }
                    _ => return Err(()),
                }
                *count += 1;
            }
            Accumulator::Extreme(want, best) => match best {
                None => *best = Some(value.clone()),
                Some(b) => {
                    if compare(value, b).map_err(|_| ())? == *want {
                        *best = Some(value.clone());
                    }
                }
            },
        }
        Ok(())
    }

    /// Takes one more row for `count(*)`: every row counts.
    pub fn add_row(&mut self) {
        if let Accumulator::Count(n) = self {
            *n += 1;
        }
    }

    /// The aggregate's value over what was taken.
    pub fn finish(&self) -> Value {
        match self {
            Accumulator::Count(n) => Value::Int(*n),
            Accumulator::Total { count: 0, .. } => Value::Null,
            Accumulator::Total {
                int,
                float,
                any_float,
                count,
                average,
            } => match (*any_float, *average) {
                (false, false) => Value::Int(*int),
                (true, false) => Value::Float(*float),
                // As in eKuiper, the average of integers is an integer (truncated).
                (false, true) => Value::Int(int / count),
                (true, true) => Value::Float(float / *count as f64),
            },
            Accumulator::Extreme(_, best) => best.clone().unwrap_or(Value::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The accumulator's result, or `None` where it refuses a value.
    fn run(aggregate: Aggregate, values: &[Value]) -> Option<Value> {
        let mut acc = Accumulator::new(aggregate)?;
        for v in values {
            acc.add(v).ok()?;
        }
        Some(acc.finish())
    }

    #[test]
    fn accumulators_agree_with_the_aggregates_over_all_values() {
        let cases: Vec<Vec<Value>> = vec![
            vec![],
            vec![Value::Null],
            vec![Value::Int(3), Value::Null, Value::Int(-7), Value::Int(4)],
            vec![Value::Float(0.1), Value::Float(0.2), Value::Float(0.3)],
            vec![
                Value::Int(1),
                Value::Float(1.0),
                Value::Int(2),
                Value::Float(2.0),
            ],
            vec![
                Value::Float(2.0),
                Value::Int(2),
                Value::Float(1.0),
                Value::Int(1),
            ],
            vec![Value::Int(i64::MAX), Value::Int(1)],
            vec![Value::Int(i64::MAX), Value::Float(1.5), Value::Int(-1)],
            vec![Value::string("b"), Value::string("a"), Value::string("c")],
            vec![Value::Int(1), Value::string("a")],
            vec![Value::Bool(true), Value::Bool(false)],
            vec![Value::Int(5), Value::Int(-2), Value::Int(3)],
        ];
        for aggregate in [
            Aggregate::Count,
            Aggregate::Sum,
            Aggregate::Avg,
            Aggregate::Min,
            Aggregate::Max,
        ] {
            for values in &cases {
                let general = aggregate.compute(values.clone(), &[]);
                match run(aggregate, values) {
                    Some(value) => {
                        let general = general.unwrap_or_else(|e| {
                            panic!("{aggregate:?} over {values:?}: accepted, but {e}")
                        });
                        // Same value and same type (1 and 1.0 are equal as values).
                        assert_eq!(
                            format!("{value:?}"),
                            format!("{general:?}"),
                            "{aggregate:?} over {values:?}"
                        );
                    }
                    None => assert!(general.is_err(), "{aggregate:?} over {values:?} refused"),
                }
            }
        }
    }

    #[test]
    fn count_star_counts_rows() {
        let mut acc = Accumulator::new(Aggregate::Count).unwrap();
        acc.add_row();
        acc.add_row();
        assert_eq!(acc.finish(), Value::Int(2));
        assert!(Accumulator::new(Aggregate::Median).is_none());
    }
}
