//! Array functions. Elements compare by value (`1` equals `1.0`, arrays and objects compare
//! by content). What a null array gives differs by function, as eKuiper documents: most give
//! null, `cardinality` 0, `array_position` -1, `array_contains` false.

use std::cmp::Ordering;

use rand::seq::SliceRandom;

use crate::sql::expr::EvalContext;
use crate::sql::ops::describe;
use crate::value::{Key, Map, Value, convert};

use super::{ScalarFunction, any_null, arg_error, array_at, f, int_at, lookup, str_at};

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("array_avg", 1, Some(1), array_avg),
    f("array_cardinality", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Int(0));
        }
        let items = array_at(a, 0)?;
        Ok(Value::Int(
            items.iter().filter(|v| !v.is_null()).count() as i64
        ))
    }),
    f("array_concat", 1, None, array_concat),
    f("array_contains", 2, Some(2), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Bool(false));
        }
        Ok(Value::Bool(array_at(a, 0)?.contains(&a[1])))
    }),
    f("array_contains_any", 2, Some(2), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Bool(false));
        }
        let (first, second) = (array_at(a, 0)?, array_at(a, 1)?);
        Ok(Value::Bool(first.iter().any(|v| second.contains(v))))
    }),
    f("array_create", 0, None, |a, _| {
        let items: Vec<Value> = a.iter().filter(|v| !v.is_null()).cloned().collect();
        Ok(if items.is_empty() {
            Value::Null
        } else {
            Value::array(items)
        })
    }),
    f("array_distinct", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        Ok(Value::array(distinct(array_at(a, 0)?.iter())))
    }),
    f("array_except", 2, Some(2), array_except),
    f("array_flatten", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        let mut out = Vec::new();
        for item in array_at(a, 0)? {
            match item {
                Value::Array(inner) => out.extend(inner.iter().cloned()),
                other => out.push(other.clone()),
            }
        }
        Ok(Value::array(out))
    }),
    f("array_intersect", 2, Some(2), |a, _| {
        if any_null(a) {
            return Ok(Value::Null);
        }
        let (first, second) = (array_at(a, 0)?, array_at(a, 1)?);
        Ok(Value::array(distinct(
            second.iter().filter(|v| first.contains(v)),
        )))
    }),
    f("array_join", 2, Some(3), array_join),
    f("array_last_position", 2, Some(2), |a, _| position(a, true)),
    f("array_map", 2, Some(2), array_map),
    f("array_max", 1, Some(1), |a, _| {
        extreme(a, Ordering::Greater)
    }),
    f("array_min", 1, Some(1), |a, _| extreme(a, Ordering::Less)),
    f("array_position", 2, Some(2), |a, _| position(a, false)),
    f("array_remove", 2, Some(2), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        let items = array_at(a, 0)?;
        Ok(Value::array(
            items.iter().filter(|v| **v != a[1]).cloned().collect(),
        ))
    }),
    f("array_shuffle", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        let mut items = array_at(a, 0)?.to_vec();
        items.shuffle(&mut rand::rng());
        Ok(Value::array(items))
    }),
    f("array_sort", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        let mut items = array_at(a, 0)?.to_vec();
        items.sort_by(sort_order);
        Ok(Value::array(items))
    }),
    f("array_union", 2, Some(2), |a, _| {
        let mut all = Vec::new();
        for i in 0..2 {
            if !a[i].is_null() {
                all.extend(array_at(a, i)?.iter());
            }
        }
        Ok(Value::array(distinct(all.into_iter())))
    }),
    f("cardinality", 1, Some(1), |a, _| {
        Ok(Value::Int(match &a[0] {
            Value::Array(items) => items.len() as i64,
            _ => 0,
        }))
    }),
    f("element_at", 2, Some(2), element_at),
    f("kvpair_array_to_obj", 1, Some(1), kvpair_array_to_obj),
    f("repeat", 2, Some(2), |a, _| {
        if any_null(a) {
            return Ok(Value::Null);
        }
        let count = int_at(a, 1)?;
        let count = usize::try_from(count)
            .ok()
            .filter(|n| *n <= MAX_BUILT)
            .ok_or_else(|| format!("the count must be from 0 to {MAX_BUILT}, found {count}"))?;
        Ok(Value::array(vec![a[0].clone(); count]))
    }),
    f("sequence", 2, Some(3), sequence),
];

/// The most elements `repeat` and `sequence` build, against a typo that would fill the memory.
const MAX_BUILT: usize = 1_000_000;

/// The first of each value, in order.
fn distinct<'a>(items: impl Iterator<Item = &'a Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

/// `array_except(a, b)`: the distinct elements of `a` that are not in `b` (null `b` is empty).
fn array_except(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let first = array_at(a, 0)?;
    let second = if a[1].is_null() {
        &[][..]
    } else {
        array_at(a, 1)?
    };
    Ok(Value::array(distinct(
        first.iter().filter(|v| !second.contains(v)),
    )))
}

/// `element_at(array, i)` (negative `i` counts from the end; out of range is an error), or
/// `element_at(object, key)`.
fn element_at(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    match &a[0] {
        Value::Array(items) => {
            let index = int_at(a, 1)?;
            let len = items.len() as i64;
            let at = if index < 0 { len + index } else { index };
            if !(0..len).contains(&at) {
                return Err(format!("index {index} out of range for an array of {len}"));
            }
            Ok(items[at as usize].clone())
        }
        Value::Object(map) => Ok(map.get(str_at(a, 1)?).cloned().unwrap_or_default()),
        _ => Err(arg_error(a, 0, "an array or an object")),
    }
}

/// `array_max` / `array_min`: the greatest or least element, nulls skipped. Elements must be
/// all numbers or all strings; null for an empty array.
fn extreme(a: &[Value], want: Ordering) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let mut best: Option<&Value> = None;
    for item in array_at(a, 0)?.iter().filter(|v| !v.is_null()) {
        let order = match (best, item) {
            (None, Value::Int(_) | Value::Float(_) | Value::String(_)) => {
                best = Some(item);
                continue;
            }
            (None, other) => return Err(element_error("a number or a string", other)),
            (Some(Value::String(b)), Value::String(x)) => x.as_ref().cmp(b.as_ref()),
            (Some(Value::String(_)), other) => return Err(element_error("a string", other)),
            (Some(b), x) => match (b.as_f64(), x.as_f64()) {
                (Some(b), Some(x)) => x.total_cmp(&b),
                _ => return Err(element_error("a number", item)),
            },
        };
        if order == want {
            best = Some(item);
        }
    }
    Ok(best.cloned().unwrap_or_default())
}

fn element_error(what: &str, found: &Value) -> String {
    format!(
        "the array's elements must each be {what}, found {}",
        describe(found)
    )
}

/// `array_avg(array)`: the mean of the numbers, nulls skipped; null when there are none.
fn array_avg(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let (mut total, mut count) = (0.0, 0usize);
    for item in array_at(a, 0)?.iter().filter(|v| !v.is_null()) {
        total += item
            .as_f64()
            .ok_or_else(|| element_error("a number", item))?;
        count += 1;
    }
    Ok(if count == 0 {
        Value::Null
    } else {
        Value::Float(total / count as f64)
    })
}

/// `array_concat(a, b, ...)`: the arrays one after another; null arrays count as empty, and
/// all null gives null.
fn array_concat(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a.iter().all(Value::is_null) {
        return Ok(Value::Null);
    }
    let mut out = Vec::new();
    for i in 0..a.len() {
        if !a[i].is_null() {
            out.extend(array_at(a, i)?.iter().cloned());
        }
    }
    Ok(Value::array(out))
}

/// `array_join(array, delimiter[, null_replacement])`: the elements as text; nulls are left
/// out unless a (non-empty) replacement is given.
fn array_join(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let items = array_at(a, 0)?;
    let delimiter = str_at(a, 1)?;
    let replacement = if a.len() == 3 { str_at(a, 2)? } else { "" };
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Null if replacement.is_empty() => {}
            Value::Null => parts.push(replacement.to_string()),
            Value::Array(_) | Value::Object(_) => {
                return Err(element_error("a string, number or boolean", item));
            }
            other => parts.push(convert::display_plain(other)),
        }
    }
    Ok(Value::from(parts.join(delimiter)))
}

/// `array_map(function_name, array)`: the scalar function of one argument applied to each
/// element.
fn array_map(a: &[Value], ctx: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let name = str_at(a, 0)?;
    let items = array_at(a, 1)?;
    let function = lookup(name).ok_or_else(|| format!("unknown function {name}()"))?;
    if !function.takes(1) {
        return Err(format!(
            "{name}() takes {}, so it cannot be mapped over an array",
            function.arity()
        ));
    }
    let mapped = items
        .iter()
        .map(|item| (function.eval)(std::slice::from_ref(item), ctx))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{name}(): {e}"))?;
    Ok(Value::array(mapped))
}

/// `sequence(start, stop[, step])`: integers from `start` to `stop` inclusive; the step is 1
/// or -1 by default, and must lead from `start` towards `stop`.
fn sequence(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let (start, stop) = (int_at(a, 0)?, int_at(a, 1)?);
    let step = match a.get(2) {
        Some(_) => int_at(a, 2)?,
        None if start <= stop => 1,
        None => -1,
    };
    if step == 0 {
        return Err("the step must not be zero".into());
    }
    let count = (i128::from(stop) - i128::from(start)) / i128::from(step) + 1;
    if count <= 0 {
        return Err(format!(
            "a step of {step} does not lead from {start} to {stop}"
        ));
    }
    if count > MAX_BUILT as i128 {
        return Err(format!(
            "the sequence would have {count} elements, more than {MAX_BUILT}"
        ));
    }
    Ok(Value::array(
        (0..count as i64)
            .map(|i| Value::Int(start + i * step))
            .collect(),
    ))
}

/// `kvpair_array_to_obj([{"key": k, "value": v}, ...])`: the object `{k: v, ...}`.
fn kvpair_array_to_obj(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let mut out = Map::new();
    for item in array_at(a, 0)? {
        let pair = item
            .as_object()
            .filter(|m| m.len() == 2)
            .and_then(|m| Some((m.get("key")?.as_str()?, m.get("value")?)));
        let (key, value) =
            pair.ok_or_else(|| element_error("an object {\"key\": string, \"value\": any}", item))?;
        out.insert(Key::from(key), value.clone());
    }
    Ok(Value::object(out))
}

/// How `array_sort` orders elements: nulls, then booleans, numbers (by value), strings, and
/// anything else by its JSON text.
fn sort_order(x: &Value, y: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Float(_) => 2,
            Value::String(_) => 3,
            _ => 4,
        }
    }
    rank(x).cmp(&rank(y)).then_with(|| match (x, y) {
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        _ => match (x.as_f64(), y.as_f64()) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            _ => x.to_string().cmp(&y.to_string()),
        },
    })
}

/// The index of the first (or, `last`, the last) element equal to the second argument; -1 when
/// there is none, or no array.
fn position(a: &[Value], last: bool) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Int(-1));
    }
    let items = array_at(a, 0)?;
    let found = if last {
        items.iter().rposition(|v| *v == a[1])
    } else {
        items.iter().position(|v| *v == a[1])
    };
    Ok(Value::Int(found.map_or(-1, |p| p as i64)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const NULL: Value = Value::Null;

    fn b(v: bool) -> Value {
        Value::Bool(v)
    }

    #[test]
    fn sizes() {
        assert_eq!(call("cardinality", &[j("[1,null,3]")]), Ok(i(3)));
        assert_eq!(call("cardinality", &[NULL]), Ok(i(0)));
        assert_eq!(call("array_cardinality", &[j("[1,null,3]")]), Ok(i(2)));
        assert_eq!(call("array_cardinality", &[NULL]), Ok(i(0)));
        assert_eq!(
            call("array_cardinality", &[s("x")]),
            Err("expects an array, found string(x)".into())
        );
    }

    #[test]
    fn positions_and_membership() {
        let arr = j(r#"[1, "a", 2.5, 1, {"k": 1}]"#);
        assert_eq!(call("array_position", &[arr.clone(), i(1)]), Ok(i(0)));
        assert_eq!(call("array_last_position", &[arr.clone(), i(1)]), Ok(i(3)));
        assert_eq!(
            call("array_position", &[arr.clone(), j(r#"{"k":1}"#)]),
            Ok(i(4))
        );
        assert_eq!(call("array_position", &[arr.clone(), s("z")]), Ok(i(-1)));
        assert_eq!(call("array_position", &[NULL, i(1)]), Ok(i(-1)));
        assert_eq!(call("array_last_position", &[NULL, i(1)]), Ok(i(-1)));
        assert_eq!(call("array_contains", &[arr.clone(), fl(1.0)]), Ok(b(true)));
        assert_eq!(call("array_contains", &[arr.clone(), i(7)]), Ok(b(false)));
        assert_eq!(call("array_contains", &[NULL, i(7)]), Ok(b(false)));
        assert_eq!(
            call("array_contains_any", &[arr.clone(), j("[9, \"a\"]")]),
            Ok(b(true))
        );
        assert_eq!(call("array_contains_any", &[arr, j("[9]")]), Ok(b(false)));
        assert_eq!(call("array_contains_any", &[NULL, j("[9]")]), Ok(b(false)));
    }

    #[test]
    fn element_at_arrays_and_objects() {
        let arr = j("[10, 20, 30]");
        assert_eq!(call("element_at", &[arr.clone(), i(0)]), Ok(i(10)));
        assert_eq!(call("element_at", &[arr.clone(), i(-1)]), Ok(i(30)));
        assert_eq!(
            call("element_at", &[arr.clone(), i(3)]),
            Err("index 3 out of range for an array of 3".into())
        );
        assert!(call("element_at", &[arr, i(-4)]).is_err());
        assert_eq!(call("element_at", &[j(r#"{"a": 5}"#), s("a")]), Ok(i(5)));
        assert_eq!(call("element_at", &[j(r#"{"a": 5}"#), s("b")]), Ok(NULL));
        assert_eq!(call("element_at", &[NULL, i(0)]), Ok(NULL));
        assert_eq!(
            call("element_at", &[s("abc"), i(0)]),
            Err("the first argument must be an array or an object, found string(abc)".into())
        );
    }

    #[test]
    fn building_arrays() {
        assert_eq!(
            call("array_create", &[i(1), NULL, s("a")]),
            Ok(j(r#"[1,"a"]"#))
        );
        assert_eq!(call("array_create", &[NULL]), Ok(NULL));
        assert_eq!(call("repeat", &[s("x"), i(3)]), Ok(j(r#"["x","x","x"]"#)));
        assert_eq!(call("repeat", &[s("x"), i(0)]), Ok(j("[]")));
        assert!(call("repeat", &[s("x"), i(-1)]).is_err());
        assert_eq!(call("repeat", &[NULL, i(2)]), Ok(NULL));
        assert_eq!(call("sequence", &[i(1), i(5)]), Ok(j("[1,2,3,4,5]")));
        assert_eq!(call("sequence", &[i(5), i(1)]), Ok(j("[5,4,3,2,1]")));
        assert_eq!(call("sequence", &[i(1), i(10), i(4)]), Ok(j("[1,5,9]")));
        assert_eq!(call("sequence", &[i(3), i(3)]), Ok(j("[3]")));
        assert!(
            call("sequence", &[i(1), i(5), i(0)])
                .unwrap_err()
                .contains("zero")
        );
        assert!(
            call("sequence", &[i(1), i(5), i(-1)])
                .unwrap_err()
                .contains("does not lead")
        );
        assert!(
            call("sequence", &[i(0), i(i64::MAX)])
                .unwrap_err()
                .contains("more than")
        );
        assert_eq!(
            call("array_concat", &[j("[1]"), NULL, j("[2,3]")]),
            Ok(j("[1,2,3]"))
        );
        assert_eq!(call("array_concat", &[NULL, NULL]), Ok(NULL));
        assert!(call("array_concat", &[j("[1]"), i(2)]).is_err());
    }

    #[test]
    fn set_operations() {
        let x = j("[1, 2, 2, 3]");
        let y = j("[3, 2, 4]");
        assert_eq!(
            call("array_intersect", &[x.clone(), y.clone()]),
            Ok(j("[3,2]"))
        );
        assert_eq!(
            call("array_union", &[x.clone(), y.clone()]),
            Ok(j("[1,2,3,4]"))
        );
        assert_eq!(call("array_union", &[NULL, y.clone()]), Ok(j("[3,2,4]")));
        assert_eq!(call("array_except", &[x.clone(), y.clone()]), Ok(j("[1]")));
        assert_eq!(call("array_except", &[x.clone(), NULL]), Ok(j("[1,2,3]")));
        assert_eq!(call("array_except", &[NULL, y.clone()]), Ok(NULL));
        assert_eq!(call("array_intersect", &[NULL, y]), Ok(NULL));
        assert_eq!(
            call("array_distinct", &[j(r#"[1, "a", 1, "a", [1], [1]]"#)]),
            Ok(j(r#"[1,"a",[1]]"#))
        );
        assert_eq!(call("array_remove", &[x, i(2)]), Ok(j("[1,3]")));
        assert_eq!(call("array_remove", &[NULL, i(2)]), Ok(NULL));
    }

    #[test]
    fn aggregates_over_an_array() {
        assert_eq!(call("array_max", &[j("[1, null, 7, 3]")]), Ok(i(7)));
        assert_eq!(call("array_min", &[j("[1, null, 7, 3]")]), Ok(i(1)));
        assert_eq!(call("array_max", &[j("[1, 2.5]")]), Ok(fl(2.5)));
        assert_eq!(call("array_min", &[j(r#"["b", "a", "c"]"#)]), Ok(s("a")));
        assert_eq!(call("array_max", &[j("[]")]), Ok(NULL));
        assert_eq!(call("array_max", &[NULL]), Ok(NULL));
        assert_eq!(
            call("array_max", &[j(r#"[1, "a"]"#)]),
            Err("the array's elements must each be a number, found string(a)".into())
        );
        assert!(call("array_min", &[j("[true]")]).is_err());
        assert_eq!(call("array_avg", &[j("[1, 2, null, 6]")]), Ok(fl(3.0)));
        assert_eq!(call("array_avg", &[j("[null]")]), Ok(NULL));
        assert!(call("array_avg", &[j(r#"["x"]"#)]).is_err());
    }

    #[test]
    fn reshaping() {
        assert_eq!(
            call("array_flatten", &[j("[[1, 4], [2, 3], 5]")]),
            Ok(j("[1,4,2,3,5]"))
        );
        assert_eq!(call("array_flatten", &[NULL]), Ok(NULL));
        assert_eq!(
            call("array_sort", &[j(r#"[3, 2, "b", "a"]"#)]),
            Ok(j(r#"[2,3,"a","b"]"#))
        );
        assert_eq!(
            call("array_sort", &[j("[10, 9, 1.5]")]),
            Ok(j("[1.5,9,10]"))
        );
        let shuffled = call("array_shuffle", &[j("[1,2,3,4,5]")]).unwrap();
        assert_eq!(call("array_sort", &[shuffled]), Ok(j("[1,2,3,4,5]")));
        assert_eq!(
            call(
                "kvpair_array_to_obj",
                &[j(r#"[{"key":"key1","value":1},{"key":"key2","value":2}]"#)]
            ),
            Ok(j(r#"{"key1":1,"key2":2}"#))
        );
        assert!(call("kvpair_array_to_obj", &[j(r#"[{"key":"k"}]"#)]).is_err());
        assert_eq!(call("kvpair_array_to_obj", &[NULL]), Ok(NULL));
    }

    #[test]
    fn join_and_map() {
        assert_eq!(
            call("array_join", &[j("[1, 2, 3]"), s(",")]),
            Ok(s("1,2,3"))
        );
        assert_eq!(
            call("array_join", &[j(r#"["a", null, "c"]"#), s("-")]),
            Ok(s("a-c"))
        );
        assert_eq!(
            call("array_join", &[j(r#"["a", null, "c"]"#), s("-"), s("?")]),
            Ok(s("a-?-c"))
        );
        assert!(call("array_join", &[j("[[1]]"), s(",")]).is_err());
        assert_eq!(
            call("array_map", &[s("upper"), j(r#"["a", "b"]"#)]),
            Ok(j(r#"["A","B"]"#))
        );
        assert_eq!(call("array_map", &[s("ABS"), j("[-1, 2]")]), Ok(j("[1,2]")));
        assert_eq!(
            call("array_map", &[s("nope"), j("[1]")]),
            Err("unknown function nope()".into())
        );
        assert!(
            call("array_map", &[s("atan2"), j("[1]")])
                .unwrap_err()
                .contains("takes 2 arguments")
        );
        assert_eq!(
            call("array_map", &[s("sqrt"), j(r#"["x"]"#)]),
            Err("sqrt(): expects a number, found string(x)".into())
        );
    }

    #[test]
    fn in_sql() {
        assert_eq!(
            sql(
                "SELECT element_at(readings, -1) AS last, array_max(readings) AS top, \
                 cardinality(readings) AS n FROM s WHERE array_contains(tags, 'hot')",
                r#"{"readings": [20, 25, 22], "tags": ["hot", "dry"]}"#
            ),
            r#"{"last":22,"top":25,"n":3}"#
        );
    }
}
