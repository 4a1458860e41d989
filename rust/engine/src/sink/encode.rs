//! Encoding results for sinks that write bytes (`log`, `file`, `rest`): the `format` property.
//! What a `dataTemplate` rendered passes through as it is.

use super::SinkItem;
use super::conf::Format;
use crate::value::convert::display_plain;
use crate::value::{Key, Value, json_text, to_json_string, write_json};

/// Encodes items in one format. Delimited output keeps its columns from the first row it
/// sees (or `fields`), so every line of a stream has the same columns.
#[derive(Debug)]
pub struct Encoder {
    format: Format,
    columns: Option<Vec<Key>>,
}

impl Encoder {
    pub fn new(format: Format, fields: Option<&[String]>) -> Encoder {
        Encoder {
            format,
            columns: fields.map(|f| f.iter().map(|c| Key::from(c.as_str())).collect()),
        }
    }

    /// The header line of delimited output, once columns are known.
    pub fn header(&self) -> Option<String> {
        match &self.format {
            Format::Delimited { delimiter, .. } => self.columns.as_ref().map(|c| {
                c.iter()
                    .map(|k| k.as_ref())
                    .collect::<Vec<_>>()
                    .join(delimiter)
            }),
            Format::Json => None,
        }
    }

    /// Whether a delimited item should start with its header line.
    fn with_header(&self) -> bool {
        matches!(
            self.format,
            Format::Delimited {
                has_header: true,
                ..
            }
        )
    }

    /// The bytes of one item: JSON, or delimited lines (with the header line first when
    /// `hasHeader`), or the rendered text of a template.
    pub fn encode(&mut self, item: &SinkItem) -> String {
        if let Value::String(text) = &item.data {
            return text.to_string();
        }
        match &self.format {
            Format::Json => json_text(&item.data),
            Format::Delimited { .. } => {
                let lines = self.lines(&item.data);
                match (self.with_header(), self.header()) {
                    (true, Some(header)) => format!("{header}\n{}", lines.join("\n")),
                    _ => lines.join("\n"),
                }
            }
        }
    }

    /// [`Encoder::encode`], appended to `out`: JSON goes straight in, with no string between.
    pub fn encode_into(&mut self, item: &SinkItem, out: &mut Vec<u8>) {
        match (&item.data, &self.format) {
            (Value::String(_), _) | (_, Format::Delimited { .. }) => {
                out.extend_from_slice(self.encode(item).as_bytes())
            }
            (data, Format::Json) => write_json(data, out),
        }
    }

    /// One delimited line per row of an item, without a header.
    pub fn lines(&mut self, data: &Value) -> Vec<String> {
        let Format::Delimited { delimiter, .. } = &self.format else {
            return vec![to_json_string(data)];
        };
        let delimiter = delimiter.clone();
        let rows: Vec<&Value> = match data {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        rows.into_iter()
            .map(|row| match row {
                Value::Object(map) => {
                    let columns = self
                        .columns
                        .get_or_insert_with(|| map.keys().cloned().collect());
                    columns
                        .iter()
                        .map(|c| match map.get(c) {
                            Some(Value::Array(_) | Value::Object(_)) => to_json_string(&map.get(c)),
                            Some(v) => display_plain(v),
                            None => String::new(),
                        })
                        .collect::<Vec<_>>()
                        .join(&delimiter)
                }
                other => display_plain(other),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: serde_json::Value) -> SinkItem {
        SinkItem::new(Value::from(&v))
    }

    #[test]
    fn json_and_template_text() {
        let mut e = Encoder::new(Format::Json, None);
        assert_eq!(e.encode(&item(json!([{"a": 1}]))), r#"[{"a":1}]"#);
        assert_eq!(
            e.encode(&SinkItem::new(Value::string("as rendered"))),
            "as rendered"
        );
    }

    #[test]
    fn delimited_keeps_the_first_rows_columns() {
        let format = Format::Delimited {
            delimiter: ";".into(),
            has_header: true,
        };
        let mut e = Encoder::new(format, None);
        assert_eq!(
            e.encode(&item(
                json!([{"id": 1, "name": "x"}, {"name": "y", "id": 2}])
            )),
            "id;name\n1;x\n2;y"
        );
        assert_eq!(
            e.encode(&item(json!({"name": "z", "extra": true, "tags": [1]}))),
            "id;name\n;z"
        );
        let mut e = Encoder::new(
            Format::Delimited {
                delimiter: ",".into(),
                has_header: false,
            },
            Some(&["b".into()]),
        );
        assert_eq!(e.encode(&item(json!({"a": 1, "b": 2.5}))), "2.5");
        assert_eq!(e.header().as_deref(), Some("b"));
    }
}
