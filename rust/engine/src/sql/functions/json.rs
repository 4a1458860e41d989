//! JSON functions: to and from JSON text, and JSONPath queries over objects and arrays.
//!
//! JSONPath is RFC 9535 (`serde_json_path`); eKuiper's own examples, such as
//! `$.friends[? @.age>60].first`, are valid RFC 9535. Like eKuiper, a path that names one
//! place (only names and indexes: `$.a.b[0]`) gives that value itself, and any other path
//! (wildcards, filters, slices, unions, `..`) gives an array of what it selects.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json_path::JsonPath;

use crate::sql::expr::EvalContext;
use crate::sql::ops::describe;
use crate::value::{JsonDecoder, Value, to_json_string};

use super::{ScalarFunction, any_null, arg_error, f, str_at};

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("to_json", 1, Some(1), |a, _| {
        Ok(match &a[0] {
            Value::Null => Value::Null,
            v => Value::from(to_json_string(v)),
        })
    }),
    f("parse_json", 1, Some(1), parse_json),
    f("json_path_query", 2, Some(2), |a, _| {
        Ok(query(a)?.map_or(Value::Null, |(v, _)| v))
    }),
    f("json_path_query_first", 2, Some(2), json_path_query_first),
    f("json_path_exists", 2, Some(2), json_path_exists),
];

/// `parse_json(text)`: the value the JSON text holds; null for null or `"null"`.
fn parse_json(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    let bytes: &[u8] = match &a[0] {
        Value::Null => return Ok(Value::Null),
        Value::String(s) => s.as_bytes(),
        Value::Bytes(b) => b,
        _ => return Err(arg_error(a, 0, "a string")),
    };
    JsonDecoder::new()
        .decode(bytes)
        .map_err(|e| format!("invalid JSON: {e}"))
}

/// The query's result and whether the path names a single place; `None` when an argument is
/// null. A single place that is missing gives null.
fn query(a: &[Value]) -> Result<Option<(Value, bool)>, String> {
    if any_null(a) {
        return Ok(None);
    }
    let text = str_at(a, 1)?;
    let document = serde_json::to_value(&a[0]).map_err(|e| e.to_string())?;
    let singular = is_singular(text);
    with_path(text, |path| {
        let nodes = path.query(&document);
        if singular {
            let found = nodes.all().first().map_or(Value::Null, |v| Value::from(*v));
            (found, true)
        } else {
            let found = nodes.all().into_iter().map(Value::from).collect();
            (Value::array(found), false)
        }
    })
    .map(Some)
}

/// The first item of what `json_path_query` gives, which must be an array (as in eKuiper,
/// where a path naming one non-array value is an error here); null for an empty array.
fn json_path_query_first(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    match query(a)? {
        None => Ok(Value::Null),
        Some((Value::Array(items), _)) => Ok(items.first().cloned().unwrap_or_default()),
        Some((other, _)) => Err(format!(
            "the query result {} is not an array",
            describe(&other)
        )),
    }
}

/// Whether the path selects anything: a single place that holds a value (not null), or any
/// item at all for the other paths. False for null.
fn json_path_exists(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    Ok(Value::Bool(match query(a)? {
        None => false,
        Some((Value::Array(items), false)) => !items.is_empty(),
        Some((found, _)) => !found.is_null(),
    }))
}

/// Whether a (valid) path names at most one place: no wildcard, filter, slice, union or
/// descendant segment outside its quoted names.
fn is_singular(path: &str) -> bool {
    let mut quote = None;
    let mut escaped = false;
    let mut previous = ' ';
    for c in path.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '*' | '?' | ':' | ',' => return false,
                '.' if previous == '.' => return false,
                _ => {}
            },
        }
        previous = c;
    }
    true
}

/// Parses `text`, remembering the last few paths per thread: a rule queries the same
/// (usually literal) path on every row.
fn with_path<T>(text: &str, use_it: impl FnOnce(&JsonPath) -> T) -> Result<T, String> {
    const MAX_CACHED: usize = 64;
    thread_local! {
        static CACHE: RefCell<HashMap<String, JsonPath>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(path) = cache.get(text) {
            return Ok(use_it(path));
        }
        let path = JsonPath::parse(text).map_err(|e| format!("invalid JSON path {text:?}: {e}"))?;
        let out = use_it(&path);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(text.to_string(), path);
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const NULL: Value = Value::Null;

    /// eKuiper's sample document from its JSON expressions page.
    fn sample() -> Value {
        j(r#"{
            "name": {"first": "Tom", "last": "Anderson"},
            "age": 37,
            "children": ["Sara", "Alex", "Jack"],
            "fav.movie": "Deer Hunter",
            "friends": [
                {"first": "Dale", "last": "Murphy", "age": 44},
                {"first": "Roger", "last": "Craig", "age": 68},
                {"first": "Jane", "last": "Murphy", "age": 47}
            ],
            "followers": {
                "Group1": [
                    {"first": "John", "last": "Shavor", "age": 22},
                    {"first": "Ken", "last": "Miller", "age": 33}
                ],
                "Group2": [
                    {"first": "Alice", "last": "Murphy", "age": 33},
                    {"first": "Brian", "last": "Craig", "age": 44}
                ]
            },
            "nothing": null
        }"#)
    }

    #[test]
    fn to_and_from_json_text() {
        assert_eq!(
            call("to_json", &[j(r#"{"a":[1,2.5,"x"]}"#)]),
            Ok(s(r#"{"a":[1,2.5,"x"]}"#))
        );
        assert_eq!(call("to_json", &[s("x")]), Ok(s(r#""x""#)));
        assert_eq!(call("to_json", &[i(3)]), Ok(s("3")));
        assert_eq!(call("to_json", &[NULL]), Ok(NULL));
        assert_eq!(
            call("parse_json", &[s(r#"{"a":[1,true]}"#)]),
            Ok(j(r#"{"a":[1,true]}"#))
        );
        assert_eq!(call("parse_json", &[s("12")]), Ok(i(12)));
        assert_eq!(call("parse_json", &[s("null")]), Ok(NULL));
        assert_eq!(call("parse_json", &[NULL]), Ok(NULL));
        assert!(
            call("parse_json", &[s("{")])
                .unwrap_err()
                .starts_with("invalid JSON")
        );
        assert_eq!(
            call("parse_json", &[i(1)]),
            Err("expects a string, found bigint(1)".into())
        );
    }

    #[test]
    fn a_path_to_one_place_gives_the_value() {
        let doc = sample();
        assert_eq!(
            call("json_path_query", &[doc.clone(), s("$.age")]),
            Ok(i(37))
        );
        assert_eq!(
            call("json_path_query", &[doc.clone(), s("$.friends[0].last")]),
            Ok(s("Murphy"))
        );
        assert_eq!(
            call("json_path_query", &[doc.clone(), s("$['fav.movie']")]),
            Ok(s("Deer Hunter"))
        );
        assert_eq!(
            call("json_path_query", &[doc.clone(), s("$.children")]),
            Ok(j(r#"["Sara","Alex","Jack"]"#))
        );
        assert_eq!(
            call("json_path_query", &[doc.clone(), s("$.missing")]),
            Ok(NULL)
        );
    }

    #[test]
    fn other_paths_give_an_array() {
        let doc = sample();
        assert_eq!(
            call(
                "json_path_query",
                &[doc.clone(), s("$.followers.Group1[*].last")]
            ),
            Ok(j(r#"["Shavor","Miller"]"#))
        );
        assert_eq!(
            call(
                "json_path_query",
                &[doc.clone(), s("$.friends[? @.age>60].first")]
            ),
            Ok(j(r#"["Roger"]"#))
        );
        assert_eq!(
            call(
                "json_path_query",
                &[doc.clone(), s("$.friends[?(@.age>45)].first")]
            ),
            Ok(j(r#"["Roger","Jane"]"#))
        );
        assert_eq!(
            call("json_path_query", &[doc.clone(), s("$.friends[?@.age>99]")]),
            Ok(j("[]"))
        );
        assert_eq!(
            call("json_path_query", &[doc, s("$..Group2[0].first")]),
            Ok(j(r#"["Alice"]"#))
        );
    }

    #[test]
    fn first_and_exists() {
        let doc = sample();
        assert_eq!(
            call(
                "json_path_query_first",
                &[doc.clone(), s("$.friends[*].first")]
            ),
            Ok(s("Dale"))
        );
        // As in eKuiper: a path to an array gives the array's first item.
        assert_eq!(
            call("json_path_query_first", &[doc.clone(), s("$.children")]),
            Ok(s("Sara"))
        );
        assert_eq!(
            call(
                "json_path_query_first",
                &[doc.clone(), s("$.friends[?@.age>99]")]
            ),
            Ok(NULL)
        );
        assert_eq!(
            call("json_path_query_first", &[doc.clone(), s("$.age")]),
            Err("the query result bigint(37) is not an array".into())
        );
        let exists = |path: &str| call("json_path_exists", &[sample(), s(path)]);
        assert_eq!(
            exists("$.followers.Group1[? @.age>30]"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            exists("$.followers.Group1[? @.age>50]"),
            Ok(Value::Bool(false))
        );
        assert_eq!(exists("$.name.first"), Ok(Value::Bool(true)));
        assert_eq!(exists("$.name.middle"), Ok(Value::Bool(false)));
        assert_eq!(exists("$.nothing"), Ok(Value::Bool(false)));
        assert_eq!(
            call("json_path_exists", &[NULL, s("$.a")]),
            Ok(Value::Bool(false))
        );
        assert_eq!(call("json_path_query", &[NULL, s("$.a")]), Ok(NULL));
    }

    #[test]
    fn bad_paths_say_why() {
        let err = call("json_path_query", &[sample(), s("age")]).unwrap_err();
        assert!(err.starts_with("invalid JSON path \"age\""), "{err}");
        assert_eq!(
            call("json_path_query", &[sample(), i(1)]),
            Err("the second argument must be a string, found bigint(1)".into())
        );
    }

    #[test]
    fn singular_paths() {
        for p in [
            "$",
            "$.a",
            "$.a[0]",
            "$['a.b']",
            "$[\"x,y\"].c",
            "$['it''s']",
        ] {
            assert!(is_singular(p), "{p}");
        }
        for p in ["$.*", "$..a", "$[0:2]", "$[0,1]", "$[?@.a]", "$['a'][*]"] {
            assert!(!is_singular(p), "{p}");
        }
    }

    #[test]
    fn in_sql() {
        assert_eq!(
            sql(
                "SELECT json_path_query(followers, \"$.Group1[*].last\") AS last FROM s \
                 WHERE json_path_exists(followers, \"$.Group1[? @.age>30]\")",
                r#"{"followers": {"Group1": [{"last": "Shavor", "age": 22}, {"last": "Miller", "age": 33}]}}"#
            ),
            r#"{"last":["Shavor","Miller"]}"#
        );
        assert_eq!(
            sql(
                "SELECT parse_json(payload)->a AS a, to_json(obj) AS t FROM s",
                r#"{"payload": "{\"a\": 5}", "obj": {"k": [1]}}"#
            ),
            r#"{"a":5,"t":"{\"k\":[1]}"}"#
        );
    }
}
