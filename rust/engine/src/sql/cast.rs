//! `cast(x, "type")` and `CAST(x AS type)`.

use crate::value::{Value, convert};

/// The types a value can be cast to, with eKuiper's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastType {
    Bigint,
    Float,
    String,
    Boolean,
    Datetime,
    Bytea,
}

impl CastType {
    pub const NAMES: &'static str = "bigint, float, string, boolean, datetime, bytea";

    pub fn from_name(name: &str) -> Option<CastType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bigint" | "int" | "integer" => CastType::Bigint,
            "float" | "double" | "real" => CastType::Float,
            "string" | "text" | "varchar" => CastType::String,
            "boolean" | "bool" => CastType::Boolean,
            "datetime" | "timestamp" => CastType::Datetime,
            "bytea" => CastType::Bytea,
            _ => return None,
        })
    }

    pub fn convert(self, v: Value) -> Result<Value, String> {
        match self {
            CastType::Bigint => convert::to_bigint(&v),
            CastType::Float => convert::to_float(&v),
            CastType::String => convert::to_string(&v),
            CastType::Boolean => convert::to_bool(&v),
            CastType::Datetime => convert::to_datetime(&v),
            CastType::Bytea => convert::to_bytes(&v),
        }
    }
}
