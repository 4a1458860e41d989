//! Shared streams (`SHARED="true"`): one source instance (one MQTT subscription, say) feeds
//! every rule that reads the stream. It starts with the first such rule and stops with the last.
//!
//! The source runs into a private set of in-process topics, and each rule subscribes to it like
//! a memory stream: fan-out, backpressure (the slowest rule paces the source) and unsubscribing
//! come from there. Rows are decoded and checked against the stream's schema once, and every
//! rule reports the one connection's state.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::memory::MemorySource;
use super::{Source, SourceOutput};
use crate::activity::Activity;
use crate::clock::Clock;
use crate::memory_topics::{MemoryTopics, RowBatch};
use crate::metrics::{ConnectionState, OpMetrics};
use crate::stream::{Schema, StreamDef};

/// The one topic of a shared stream's private hub.
const FEED: &str = "rows";
/// Batches a rule may hold before the shared source waits for it.
const SUBSCRIBER_BATCHES: usize = 4;

struct Running {
    hub: Arc<MemoryTopics>,
    connection: Arc<ConnectionState>,
    users: usize,
    cancel: CancellationToken,
}

/// The shared streams whose source runs, by stream name.
pub(crate) struct SharedSources {
    running: Mutex<HashMap<String, Running>>,
    activity: Arc<Activity>,
}

/// A rule's hold on a shared stream's source; the source stops when the last one goes.
pub(crate) struct Lease {
    sources: Arc<SharedSources>,
    stream: String,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut running = self
            .sources
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = running.get_mut(&self.stream) {
            entry.users -= 1;
            if entry.users == 0 {
                entry.cancel.cancel();
                running.remove(&self.stream);
            }
        }
    }
}

impl SharedSources {
    pub(crate) fn new(activity: Arc<Activity>) -> SharedSources {
        SharedSources {
            running: Mutex::default(),
            activity,
        }
    }

    /// A rule's feed from a shared stream, starting the stream's source with `open` if no rule
    /// reads it yet. Returns the rule's source and the connection state it reports. Call it
    /// inside the engine's runtime.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        stream: &StreamDef,
        clock: Arc<dyn Clock>,
        connection: impl FnOnce() -> Arc<ConnectionState>,
        open: impl FnOnce() -> Result<Box<dyn Source>, String>,
    ) -> Result<(Box<dyn Source>, Arc<ConnectionState>), String> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let (entry, launch) = match running.entry(stream.name.clone()) {
            Entry::Occupied(entry) => (entry.into_mut(), None),
            Entry::Vacant(slot) => {
                let (entry, launch) = prepare(stream, clock, connection(), &self.activity, open()?);
                (slot.insert(entry), Some(launch))
            }
        };
        // Subscribed before the source starts, so that the first rule sees its first rows.
        let (subscription, rx) = entry.hub.subscribe(FEED, SUBSCRIBER_BATCHES)?;
        entry.users += 1;
        if let Some(launch) = launch {
            launch.spawn();
        }
        let lease = Lease {
            sources: self.clone(),
            stream: stream.name.clone(),
        };
        let feed = MemorySource {
            _subscription: subscription,
            rx,
            _lease: Some(lease),
        };
        Ok((Box::new(feed), entry.connection.clone()))
    }
}

/// A shared source ready to start.
struct Launch {
    stream: String,
    source: Box<dyn Source>,
    output: SourceOutput,
    rx: mpsc::Receiver<(usize, RowBatch)>,
    hub: Arc<MemoryTopics>,
}

/// Sets up a shared stream's hub and the output its source will run into.
fn prepare(
    stream: &StreamDef,
    clock: Arc<dyn Clock>,
    connection: Arc<ConnectionState>,
    activity: &Arc<Activity>,
    source: Box<dyn Source>,
) -> (Running, Launch) {
    let hub = MemoryTopics::new(activity.clone());
    let cancel = CancellationToken::new();
    let (tx, rx) = mpsc::channel::<(usize, RowBatch)>(SUBSCRIBER_BATCHES);
    let output = SourceOutput {
        tx,
        emitter: 0,
        // Each rule counts what it receives; these counts are the source's own.
        metrics: Arc::new(OpMetrics::for_source(
            format!("shared_{}", stream.name),
            connection.clone(),
        )),
        schema: stream
            .fields
            .as_ref()
            .map(|f| Schema::new(f, stream.options.strict_validation)),
        clock,
        cancel: cancel.clone(),
        connection: connection.clone(),
        activity: activity.clone(),
    };
    let running = Running {
        hub: hub.clone(),
        connection,
        users: 0,
        cancel,
    };
    let launch = Launch {
        stream: stream.name.clone(),
        source,
        output,
        rx,
        hub,
    };
    (running, launch)
}

impl Launch {
    /// Runs the source, and a task that forwards what it emits to the rules subscribed.
    fn spawn(self) {
        let Launch {
            stream,
            source,
            output,
            mut rx,
            hub,
        } = self;
        let connection = output.connection.clone();
        tokio::spawn(async move {
            if let Err(e) = source.run(output).await {
                tracing::error!(target: "sinkbridge.rule", "the shared source of stream {stream} failed: {e}");
                connection.disconnected(&format!("the shared source failed: {e}"));
            }
        });
        tokio::spawn(async move {
            while let Some((_, batch)) = rx.recv().await {
                // No subscriber left means the source is being stopped.
                let _ = hub.publish_batch(FEED, batch).await;
                hub.activity().end(1);
            }
        });
    }
}
