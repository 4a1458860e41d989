//! Streams: definitions, the DDL that creates them, and the schema applied to their rows.

mod ddl;
mod def;
mod schema;

pub use ddl::{StreamStatement, parse_stream_statement};
pub use def::{FieldDef, FieldType, StreamDef, StreamOptions};
pub use schema::Schema;
