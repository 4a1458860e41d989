//! The engine's log (tracing events) forwarded to Python's `logging`, so that Python users
//! configure it the way they configure everything else. Engine threads never wait for the GIL
//! to log: records go through a bounded queue to one forwarding thread, and when that queue is
//! full the record is counted and dropped, and the count is reported once there is room.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Records waiting for the forwarding thread.
const QUEUE: usize = 10_000;

struct Record {
    level: Level,
    target: String,
    message: String,
}

struct ForwardLayer {
    queue: SyncSender<Record>,
}

static DROPPED: AtomicU64 = AtomicU64::new(0);

struct MessageVisitor<'a>(&'a mut String);

impl Visit for MessageVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for ForwardLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut message = String::new();
        event.record(&mut MessageVisitor(&mut message));
        let record = Record {
            level: *event.metadata().level(),
            target: logger_name(event.metadata().target()),
            message,
        };
        if self.queue.try_send(record).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `sinkbridge_engine::engine` becomes `sinkbridge.engine`; dotted targets stay as they are.
fn logger_name(target: &str) -> String {
    let dotted = target.replace("::", ".");
    match dotted.strip_prefix("sinkbridge_") {
        Some(rest) => format!("sinkbridge.{rest}"),
        None => dotted,
    }
}

fn python_level(level: Level) -> u8 {
    match level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

fn forward(rx: Receiver<Record>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter().take(1024));
        // try_attach: once the interpreter is finalising, records are dropped, not forwarded.
        let _ = Python::try_attach(|py| -> PyResult<()> {
            let logging = py.import("logging")?;
            let dropped = DROPPED.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                logging
                    .call_method1("getLogger", ("sinkbridge",))?
                    .call_method1(
                        "warning",
                        (format!(
                            "{dropped} log records were dropped: the log was not read fast enough"
                        ),),
                    )?;
            }
            for record in batch {
                let logger = logging.call_method1("getLogger", (record.target,))?;
                logger.call_method1("log", (python_level(record.level), "%s", record.message))?;
            }
            Ok(())
        });
    }
}

/// Installs the forwarding once per process; later calls do nothing. The level comes from
/// `SINKBRIDGE_LOG` (an `EnvFilter` directive such as `debug`), `info` for sinkbridge by default.
pub fn forward_to_python() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let (tx, rx) = sync_channel(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("sinkbridge-log".into())
            .spawn(move || forward(rx));
        if spawned.is_err() {
            return;
        }
        let filter = std::env::var("SINKBRIDGE_LOG")
            .ok()
            .and_then(|f| EnvFilter::try_new(f).ok())
            .unwrap_or_else(|| {
                EnvFilter::new("warn,sinkbridge=info,sinkbridge_engine=info,sinkbridge_server=info")
            });
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(ForwardLayer { queue: tx });
        // An embedding application may have installed its own subscriber: keep it.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_become_logger_names() {
        assert_eq!(logger_name("sinkbridge.sink.log"), "sinkbridge.sink.log");
        assert_eq!(
            logger_name("sinkbridge_engine::engine"),
            "sinkbridge.engine.engine"
        );
        assert_eq!(logger_name("tokio::runtime"), "tokio.runtime");
    }
}
