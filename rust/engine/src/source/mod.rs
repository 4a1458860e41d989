//! Sources: what feeds a stream's rows into the rules that read it.

mod file;
mod memory;
mod mqtt;
mod shared;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::activity::Activity;
use crate::clock::Clock;
use crate::memory_topics::RowBatch;
use crate::metrics::{ConnectionState, OpMetrics};
use crate::stream::{Schema, StreamDef};
use crate::value::{Fields, Tuple};

pub use file::FileSourceType;
pub use memory::MemorySourceType;
pub use mqtt::MqttSourceType;
pub(crate) use shared::SharedSources;

/// A kind of source (`memory`, `file`, ...), as named by a stream's `TYPE`.
pub trait SourceType: Send + Sync {
    fn name(&self) -> &'static str;

    /// Whether its sources connect to an external system: then their connection status starts
    /// as "connecting" rather than "connected".
    fn connects(&self) -> bool {
        false
    }

    /// Checks a stream and its source properties when the stream is created.
    fn validate(&self, def: &StreamDef, props: &JsonMap<String, Json>) -> Result<(), String>;

    /// Opens a source for a rule that starts: errors here fail the rule's start. `fields`,
    /// when given, are the only fields of a row the rule reads: a source that decodes may skip
    /// the others (a shared source, which serves several rules, is given none).
    fn open(
        &self,
        def: &StreamDef,
        props: &JsonMap<String, Json>,
        fields: Option<Fields>,
    ) -> Result<Box<dyn Source>, String>;
}

/// A running source instance.
#[async_trait]
pub trait Source: Send {
    /// Emits rows until the output says to stop. An error ends the rule with that message.
    async fn run(self: Box<Self>, out: SourceOutput) -> Result<(), String>;
}

/// Where a source sends its rows: applies the stream's schema, counts, and waits for room.
pub struct SourceOutput {
    /// Batches go out tagged with the index of the stream in the rule's FROM (joins).
    pub(crate) tx: mpsc::Sender<(usize, RowBatch)>,
    pub(crate) emitter: usize,
    pub(crate) metrics: Arc<OpMetrics>,
    pub(crate) schema: Option<Schema>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cancel: CancellationToken,
    pub(crate) connection: Arc<ConnectionState>,
    /// A batch sent on is work in progress until the rule has passed it on.
    pub(crate) activity: Arc<Activity>,
}

impl SourceOutput {
    /// Sends decoded rows on; `false` once the rule is stopping. Shared batches pass through
    /// untouched unless the stream's schema has to convert them.
    pub async fn emit(&self, rows: RowBatch) -> bool {
        let rows = match &self.schema {
            None => rows,
            Some(schema) => Arc::new(
                rows.iter()
                    .filter_map(|tuple| match schema.apply(&tuple.row) {
                        Ok(row) => Some(Tuple::new(row, tuple.meta.clone())),
                        Err(e) => {
                            self.error(&e);
                            None
                        }
                    })
                    .collect::<Vec<Tuple>>(),
            ),
        };
        if rows.is_empty() {
            return !self.cancel.is_cancelled();
        }
        let n = rows.len();
        self.activity.begin(1);
        let sent = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => false,
            sent = self.tx.send((self.emitter, rows)) => sent.is_ok(),
        };
        if sent {
            self.metrics.add_out(n);
        } else {
            self.activity.end(1);
        }
        sent
    }

    /// Counts rows read (decoded or not).
    pub fn received(&self, n: usize) {
        self.metrics.add_in(n, self.clock.now_ms());
    }

    /// Counts a message that could not be decoded; it is skipped.
    pub fn error(&self, message: &str) {
        self.metrics.add_exception(message, self.clock.now_ms());
    }

    /// Resolves when the rule stops.
    pub async fn stopped(&self) {
        self.cancel.cancelled().await;
    }

    /// The state of the source's connection, which it keeps up to date if it has one.
    pub fn connection(&self) -> &Arc<ConnectionState> {
        &self.connection
    }

    pub fn is_stopped(&self) -> bool {
        self.cancel.is_cancelled()
    }
}
