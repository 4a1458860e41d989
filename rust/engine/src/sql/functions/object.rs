//! Object functions. Objects keep their field order, so `keys`, `values` and `items` list
//! fields in order (eKuiper's Go maps give them in no particular order). Null in, null out,
//! except `object_size`, which is 0 for null.

use crate::sql::expr::EvalContext;
use crate::sql::ops::describe;
use crate::value::{Key, Map, Value, intern};

use super::{ScalarFunction, any_null, arg_error, array_at, f, object_at};

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("erase", 2, Some(2), erase),
    f("items", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        let map = object_at(a, 0)?;
        if map.is_empty() {
            return Ok(Value::Null);
        }
        Ok(Value::array(
            map.iter()
                .map(|(k, v)| Value::array(vec![Value::string(k), v.clone()]))
                .collect(),
        ))
    }),
    f("keys", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        Ok(Value::array(
            object_at(a, 0)?.keys().map(|k| Value::string(k)).collect(),
        ))
    }),
    f("obj_to_kvpair_array", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        let (key, value) = (intern("key"), intern("value"));
        Ok(Value::array(
            object_at(a, 0)?
                .iter()
                .map(|(k, v)| {
                    let mut pair = Map::with_capacity(2);
                    pair.insert(key.clone(), Value::string(k));
                    pair.insert(value.clone(), v.clone());
                    Value::object(pair)
                })
                .collect(),
        ))
    }),
    f("object", 2, Some(2), object),
    f("object_concat", 2, None, |a, _| {
        let mut out = Map::new();
        for i in 0..a.len() {
            if !a[i].is_null() {
                for (k, v) in object_at(a, i)?.iter() {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(Value::object(out))
    }),
    f("object_construct", 0, None, object_construct),
    f("object_pick", 2, None, object_pick),
    f("object_size", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Int(0));
        }
        Ok(Value::Int(object_at(a, 0)?.len() as i64))
    }),
    f("values", 1, Some(1), |a, _| {
        if a[0].is_null() {
            return Ok(Value::Null);
        }
        Ok(Value::array(
            object_at(a, 0)?.iter().map(|(_, v)| v.clone()).collect(),
        ))
    }),
    f("zip", 1, Some(1), zip),
];

/// `object(keys, values)`: the object with the i-th key holding the i-th value; null when
/// both are empty.
fn object(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let (keys, values) = (array_at(a, 0)?, array_at(a, 1)?);
    if keys.len() != values.len() {
        return Err(format!(
            "the keys ({}) and the values ({}) must be as many",
            keys.len(),
            values.len()
        ));
    }
    if keys.is_empty() {
        return Ok(Value::Null);
    }
    let mut out = Map::with_capacity(keys.len());
    for (key, value) in keys.iter().zip(values.iter()) {
        let key = key
            .as_str()
            .ok_or_else(|| format!("the keys must be strings, found {}", describe(key)))?;
        out.insert(Key::from(key), value.clone());
    }
    Ok(Value::object(out))
}

/// `zip([[k, v], ...])`: the object of those entries; null for no entries.
fn zip(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let entries = array_at(a, 0)?;
    if entries.is_empty() {
        return Ok(Value::Null);
    }
    let mut out = Map::with_capacity(entries.len());
    for entry in entries.iter().filter(|e| !e.is_null()) {
        let pair = match entry {
            Value::Array(pair) if pair.len() == 2 => pair,
            other => {
                return Err(format!(
                    "each entry must be an array of a key and a value, found {}",
                    describe(other)
                ));
            }
        };
        let key = pair[0].as_str().ok_or_else(|| {
            format!(
                "an entry's key must be a string, found {}",
                describe(&pair[0])
            )
        })?;
        out.insert(Key::from(key), pair[1].clone());
    }
    Ok(Value::object(out))
}

/// `object_construct(k1, v1, k2, v2, ...)`: the object of those pairs, leaving out a pair whose
/// key or value is null.
fn object_construct(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a.len() % 2 != 0 {
        return Err(format!(
            "takes keys and values in pairs, found {} arguments",
            a.len()
        ));
    }
    let mut out = Map::with_capacity(a.len() / 2);
    for (i, pair) in a.chunks(2).enumerate() {
        if any_null(pair) {
            continue;
        }
        let key = pair[0]
            .as_str()
            .ok_or_else(|| arg_error(a, 2 * i, "a string key"))?;
        out.insert(Key::from(key), pair[1].clone());
    }
    Ok(Value::object(out))
}

/// `erase(obj, key)` or `erase(obj, [key, ...])`: the object without those keys.
fn erase(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let map = object_at(a, 0)?;
    let keys: Vec<String> = match &a[1] {
        Value::String(k) => vec![k.to_string()],
        Value::Array(items) => items
            .iter()
            .map(|k| match k {
                Value::Array(_) | Value::Object(_) | Value::Null => Err(format!(
                    "the keys to erase must be strings, found {}",
                    describe(k)
                )),
                other => Ok(super::text(other).into_owned()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(arg_error(a, 1, "a string or an array of strings")),
    };
    Ok(Value::object(
        map.iter()
            .filter(|(k, _)| !keys.iter().any(|e| e.as_str() == k.as_ref()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// `object_pick(obj, key, ...)` or `object_pick(obj, [key, ...])`: the object with only those
/// keys; `a.b` picks the field `b` of the object in `a`, keeping the nesting. Keys that are
/// missing (or not strings) are skipped, as in eKuiper.
fn object_pick(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let map = object_at(a, 0)?;
    let keys: Vec<&str> = match &a[1] {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => a[1..].iter().filter_map(Value::as_str).collect(),
    };
    let mut out = Map::new();
    for key in keys {
        let path: Vec<&str> = key.split('.').collect();
        if let Some(found) = find(map, &path) {
            put(&mut out, &path, found.clone());
        }
    }
    Ok(Value::object(out))
}

fn find<'a>(map: &'a Map, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut at = map;
    for name in parents {
        at = at.get(name)?.as_object()?;
    }
    at.get(last)
}

fn put(map: &mut Map, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => map.insert(Key::from(*last), value),
        [first, rest @ ..] => {
            let mut inner = map
                .get(first)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            put(&mut inner, rest, value);
            map.insert(Key::from(*first), Value::object(inner));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const NULL: Value = Value::Null;

    #[test]
    fn keys_values_items() {
        let obj = || j(r#"{"a": 1, "b": [2]}"#);
        assert_eq!(call("keys", &[obj()]), Ok(j(r#"["a","b"]"#)));
        assert_eq!(call("values", &[obj()]), Ok(j("[1,[2]]")));
        assert_eq!(call("items", &[obj()]), Ok(j(r#"[["a",1],["b",[2]]]"#)));
        assert_eq!(call("items", &[j("{}")]), Ok(NULL));
        assert_eq!(call("keys", &[j("{}")]), Ok(j("[]")));
        assert_eq!(call("object_size", &[obj()]), Ok(i(2)));
        assert_eq!(call("object_size", &[NULL]), Ok(i(0)));
        assert_eq!(
            call("obj_to_kvpair_array", &[obj()]),
            Ok(j(r#"[{"key":"a","value":1},{"key":"b","value":[2]}]"#))
        );
        for name in ["keys", "values", "items", "obj_to_kvpair_array"] {
            assert_eq!(call(name, &[NULL]), Ok(NULL), "{name}");
        }
        assert_eq!(
            call("keys", &[j("[1]")]),
            Err("expects an object, found array([1])".into())
        );
    }

    #[test]
    fn building_objects() {
        assert_eq!(
            call("object", &[j(r#"["a","b"]"#), j("[1,2]")]),
            Ok(j(r#"{"a":1,"b":2}"#))
        );
        assert_eq!(call("object", &[j("[]"), j("[]")]), Ok(NULL));
        assert!(
            call("object", &[j(r#"["a"]"#), j("[1,2]")])
                .unwrap_err()
                .contains("as many")
        );
        assert!(
            call("object", &[j("[1]"), j("[1]")])
                .unwrap_err()
                .contains("strings")
        );
        assert_eq!(
            call("zip", &[j(r#"[["a",1],["b",2]]"#)]),
            Ok(j(r#"{"a":1,"b":2}"#))
        );
        assert_eq!(call("zip", &[j("[]")]), Ok(NULL));
        assert!(call("zip", &[j(r#"[["a"]]"#)]).is_err());
        assert_eq!(
            call(
                "object_construct",
                &[s("a"), i(1), s("b"), NULL, s("c"), s("x")]
            ),
            Ok(j(r#"{"a":1,"c":"x"}"#))
        );
        assert_eq!(call("object_construct", &[]), Ok(j("{}")));
        assert!(
            call("object_construct", &[s("a")])
                .unwrap_err()
                .contains("pairs")
        );
        assert_eq!(
            call("object_construct", &[i(1), i(2)]),
            Err("the first argument must be a string key, found bigint(1)".into())
        );
        assert_eq!(
            call(
                "object_concat",
                &[j(r#"{"a":1}"#), j(r#"{"b":2}"#), j(r#"{"b":3}"#)]
            ),
            Ok(j(r#"{"a":1,"b":3}"#))
        );
        assert_eq!(
            call("object_concat", &[NULL, j(r#"{"b":2}"#)]),
            Ok(j(r#"{"b":2}"#))
        );
        assert!(call("object_concat", &[j("{}"), j("[]")]).is_err());
    }

    #[test]
    fn erase_and_pick() {
        let obj =
            j(r#"{"baz": [1, 2, 3], "bar": "hello world", "foo": "emq", "n": {"x": 1, "y": 2}}"#);
        assert_eq!(
            call("erase", &[obj.clone(), s("foo")]),
            Ok(j(
                r#"{"baz":[1,2,3],"bar":"hello world","n":{"x":1,"y":2}}"#
            ))
        );
        assert_eq!(
            call("erase", &[obj.clone(), j(r#"["foo","bar","n"]"#)]),
            Ok(j(r#"{"baz":[1,2,3]}"#))
        );
        assert!(call("erase", &[obj.clone(), i(1)]).is_err());
        assert_eq!(call("erase", &[NULL, s("a")]), Ok(NULL));
        assert_eq!(
            call("object_pick", &[obj.clone(), s("foo"), s("bar")]),
            Ok(j(r#"{"foo":"emq","bar":"hello world"}"#))
        );
        assert_eq!(
            call(
                "object_pick",
                &[obj.clone(), j(r#"["foo", "missing", "n.y"]"#)]
            ),
            Ok(j(r#"{"foo":"emq","n":{"y":2}}"#))
        );
        assert_eq!(
            call("object_pick", &[obj, s("n.x"), s("n.y")]),
            Ok(j(r#"{"n":{"x":1,"y":2}}"#))
        );
        assert_eq!(call("object_pick", &[NULL, s("a")]), Ok(NULL));
    }

    #[test]
    fn in_sql() {
        assert_eq!(
            sql(
                "SELECT object_construct('id', id, 'v', v) AS o, object_size(m) AS n, \
                 object_pick(m, 'a') AS p FROM s",
                r#"{"id": "d1", "v": null, "m": {"a": 1, "b": 2}}"#
            ),
            r#"{"o":{"id":"d1"},"n":2,"p":{"a":1}}"#
        );
    }
}
