//! Applying a stream's declared schema to decoded rows: only declared fields are kept, each
//! converted to its declared type, as eKuiper's decoder does.

use std::sync::Arc;

use crate::value::{Key, Map, Row, Value, convert};

use super::def::{FieldDef, FieldType};

/// A compiled schema; `None` where the stream is schemaless.
#[derive(Debug, Clone)]
pub struct Schema {
    fields: Vec<(Key, FieldType)>,
    /// `STRICT_VALIDATION`: a missing field is an error rather than absent.
    strict: bool,
}

impl Schema {
    pub fn new(fields: &[FieldDef], strict: bool) -> Schema {
        Schema {
            fields: fields
                .iter()
                .map(|f| (Key::from(f.name.as_str()), f.ty.clone()))
                .collect(),
            strict,
        }
    }

    /// Converts a decoded row; the error names the field and what could not be converted.
    pub fn apply(&self, row: &Row) -> Result<Row, String> {
        apply_fields(&self.fields, row, self.strict, "")
    }
}

fn apply_fields(
    fields: &[(Key, FieldType)],
    row: &Map,
    strict: bool,
    path: &str,
) -> Result<Map, String> {
    let mut out = Map::with_capacity(fields.len());
    for (name, ty) in fields {
        match row.get_ignore_case(name) {
            Some(v) => {
                let field_path = format!("{path}{name}");
                out.push_unique(name.clone(), coerce(v, ty, strict, &field_path)?);
            }
            None if strict => return Err(format!("field {path}{name} is not found")),
            None => {}
        }
    }
    Ok(out)
}

fn coerce(v: &Value, ty: &FieldType, strict: bool, path: &str) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let converted = match ty {
        FieldType::Bigint => convert::to_bigint(v),
        FieldType::Float => convert::to_float(v),
        FieldType::String => convert::to_string(v),
        FieldType::Boolean => convert::to_bool(v),
        FieldType::Datetime => convert::to_datetime(v),
        FieldType::Bytea => convert::to_bytes(v),
        FieldType::Array(inner) => match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| coerce(item, inner, strict, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::array),
            other => Err(format!("expected an array, found {}", other.type_name())),
        },
        FieldType::Struct(fields) => match v {
            Value::Object(map) => {
                let fields: Vec<(Key, FieldType)> = fields
                    .iter()
                    .map(|f| (Key::from(f.name.as_str()), f.ty.clone()))
                    .collect();
                apply_fields(&fields, map, strict, &format!("{path}."))
                    .map(|m| Value::Object(Arc::new(m)))
            }
            other => Err(format!("expected a struct, found {}", other.type_name())),
        },
    };
    converted.map_err(|e| {
        if e.starts_with("field ") {
            e
        } else {
            format!("field {path}: {e}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{StreamStatement, parse_stream_statement};
    use crate::value::JsonDecoder;

    fn schema(columns: &str, strict: bool) -> Schema {
        let sql = format!(r#"CREATE STREAM s ({columns}) WITH (DATASOURCE="x")"#);
        match parse_stream_statement(&sql).unwrap() {
            StreamStatement::Create(def) => Schema::new(&def.fields.unwrap(), strict),
            _ => unreachable!(),
        }
    }

    fn row(json: &str) -> Row {
        let v = JsonDecoder::new().decode(json.as_bytes()).unwrap();
        v.as_object().unwrap().clone()
    }

    #[test]
    fn keeps_declared_fields_converted() {
        let s = schema(
            "id bigint, t float, name string, ok boolean, tags array(bigint), pos struct(x float)",
            false,
        );
        let out = s
            .apply(&row(r#"{"id":"12","t":3,"name":7,"ok":1,"extra":true,"tags":[1.9,"2"],"pos":{"x":1,"y":2}}"#))
            .unwrap();
        assert_eq!(
            crate::value::to_json_string(&out),
            r#"{"id":12,"t":3.0,"name":"7","ok":true,"tags":[1,2],"pos":{"x":1.0}}"#
        );
    }

    #[test]
    fn missing_fields_are_absent_unless_strict_and_nulls_stay() {
        let s = schema("id bigint, t float", false);
        assert_eq!(
            crate::value::to_json_string(&s.apply(&row(r#"{"t":null}"#)).unwrap()),
            r#"{"t":null}"#
        );
        let strict = schema("id bigint, t float", true);
        assert_eq!(
            strict.apply(&row(r#"{"t":1}"#)).unwrap_err(),
            "field id is not found"
        );
    }

    #[test]
    fn conversion_errors_name_the_field() {
        let s = schema("id bigint, pos struct(x float)", false);
        assert_eq!(
            s.apply(&row(r#"{"id":"abc"}"#)).unwrap_err(),
            "field id: cannot convert string(abc) to bigint"
        );
        assert_eq!(
            s.apply(&row(r#"{"pos":{"x":"far"}}"#)).unwrap_err(),
            "field pos.x: cannot convert string(far) to float"
        );
        assert_eq!(
            s.apply(&row(r#"{"pos":3}"#)).unwrap_err(),
            "field pos: expected a struct, found bigint"
        );
    }
}
