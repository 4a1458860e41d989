//! Stream definitions: what `CREATE STREAM` declares.

use std::fmt;

use serde_json::{Map as JsonMap, Value as Json};

/// A declared field type, with eKuiper's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Bigint,
    Float,
    String,
    Datetime,
    Boolean,
    Bytea,
    Array(Box<FieldType>),
    Struct(Vec<FieldDef>),
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::Bigint => f.write_str("bigint"),
            FieldType::Float => f.write_str("float"),
            FieldType::String => f.write_str("string"),
            FieldType::Datetime => f.write_str("datetime"),
            FieldType::Boolean => f.write_str("boolean"),
            FieldType::Bytea => f.write_str("bytea"),
            FieldType::Array(inner) => write!(f, "array({inner})"),
            FieldType::Struct(fields) => {
                f.write_str("struct(")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", field.name, field.ty)?;
                }
                f.write_str(")")
            }
        }
    }
}

/// One declared field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub name: String,
    pub ty: FieldType,
}

/// The `WITH (...)` options of a stream, with eKuiper's names and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    pub datasource: String,
    /// The source type, lower case: `mqtt` (the default), `memory`, `file`.
    pub source_type: String,
    /// The payload format, lower case; `json` is the default.
    pub format: String,
    /// The name of the source property set to use; `default` when none is named.
    pub conf_key: Option<String>,
    /// One source feeds every rule that reads the stream.
    pub shared: bool,
    pub strict_validation: bool,
    /// The field that holds a row's event time (used by event-time rules).
    pub timestamp: Option<String>,
    pub timestamp_format: Option<String>,
    pub key: Option<String>,
    pub retain_size: Option<u64>,
    pub schema_id: Option<String>,
    pub kind: Option<String>,
    pub delimiter: Option<String>,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions {
            datasource: String::new(),
            source_type: "mqtt".into(),
            format: "json".into(),
            conf_key: None,
            shared: false,
            strict_validation: false,
            timestamp: None,
            timestamp_format: None,
            key: None,
            retain_size: None,
            schema_id: None,
            kind: None,
            delimiter: None,
        }
    }
}

/// A stream: its name, its schema (none when schemaless) and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDef {
    pub name: String,
    /// `None` for a schemaless stream, declared with `()`.
    pub fields: Option<Vec<FieldDef>>,
    /// Declared with CREATE TABLE: rules join its rows as they stand, without a window.
    pub table: bool,
    pub options: StreamOptions,
    /// The statement as the user wrote it.
    pub statement: String,
}

impl StreamDef {
    /// The stream as `DESCRIBE STREAM` reports it.
    pub fn describe(&self) -> Json {
        let fields = match &self.fields {
            None => Json::Null,
            Some(fields) => Json::Array(
                fields
                    .iter()
                    .map(|f| serde_json::json!({"name": f.name, "type": f.ty.to_string()}))
                    .collect(),
            ),
        };
        let o = &self.options;
        let mut options = JsonMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                options.insert(k.into(), Json::String(v));
            }
        };
        put("DATASOURCE", Some(o.datasource.clone()));
        put("TYPE", Some(o.source_type.clone()));
        put("FORMAT", Some(o.format.clone()));
        put("CONF_KEY", o.conf_key.clone());
        put("SHARED", Some(o.shared.to_string()));
        put("STRICT_VALIDATION", Some(o.strict_validation.to_string()));
        put("TIMESTAMP", o.timestamp.clone());
        put("TIMESTAMP_FORMAT", o.timestamp_format.clone());
        put("KEY", o.key.clone());
        put("RETAIN_SIZE", o.retain_size.map(|n| n.to_string()));
        put("SCHEMAID", o.schema_id.clone());
        put("KIND", o.kind.clone());
        put("DELIMITER", o.delimiter.clone());
        if self.table {
            put_kind(&mut options, o.kind.as_deref().unwrap_or("scan"));
        }
        serde_json::json!({
            "name": self.name,
            "type": if self.table { "table" } else { "stream" },
            "fields": fields,
            "options": options,
            "statement": self.statement,
        })
    }
}

fn put_kind(options: &mut JsonMap<String, Json>, kind: &str) {
    options.insert("KIND".into(), Json::String(kind.to_string()));
}
