//! A tuple: one row of a stream with the metadata its source attached (the MQTT topic, QoS and
//! message id; the memory topic), which SQL reads with `meta()` and which never shows in `*`.

use std::sync::Arc;

use super::{Map, Row};

#[derive(Debug, Clone, Default)]
pub struct Tuple {
    pub row: Row,
    /// Shared by the rows of one message; `None` when the source has nothing to tell.
    pub meta: Option<Arc<Map>>,
}

impl Tuple {
    pub fn new(row: Row, meta: Option<Arc<Map>>) -> Tuple {
        Tuple { row, meta }
    }
}

impl From<Row> for Tuple {
    fn from(row: Row) -> Tuple {
        Tuple { row, meta: None }
    }
}
