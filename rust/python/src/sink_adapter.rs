//! A Python `Sink` as an engine sink (the pattern of tokenizers' `CustomNormalizer`).
//!
//! Each sink instance owns one long-lived worker thread. The thread attaches to the
//! interpreter once and keeps its thread state; it waits for work on a bounded channel with
//! the GIL released, and takes the GIL once per batch of results, so the per-row cost is the
//! dict building and the call, not the attach. The engine's side never touches the GIL: it
//! sends a job and awaits the reply.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use async_trait::async_trait;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value as Json;
use tokio::sync::oneshot;

use sinkbridge_engine::sink::{
    ActionProps, Batch, CollectReport, Sink, SinkContext, SinkError, SinkFactory, SinkItem,
};
use sinkbridge_engine::value::Value;

use crate::async_sink::{AsyncLoop, PyAsyncSink};
use crate::connection;
use crate::convert::ToPython;
use crate::errors::{lifecycle_error, sink_error};

/// Makes sinks from a Python class, or from a callable with no arguments that returns a sink.
pub struct PySinkFactory {
    target: Arc<Py<PyAny>>,
    origin: String,
    /// The class has `async def` lifecycle methods: its instances run on the engine's loop.
    is_async: bool,
    async_loop: Arc<AsyncLoop>,
}

impl std::fmt::Debug for PySinkFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PySinkFactory")
            .field("origin", &self.origin)
            .finish()
    }
}

impl PySinkFactory {
    pub fn new(
        py: Python<'_>,
        target: Py<PyAny>,
        origin: String,
        async_loop: Arc<AsyncLoop>,
    ) -> PyResult<PySinkFactory> {
        let is_async = py
            .import("sinkbridge._async")?
            .call_method1("is_async", (target.bind(py),))?
            .is_truthy()?;
        Ok(PySinkFactory {
            target: Arc::new(target),
            origin,
            is_async,
            async_loop,
        })
    }
}

enum Job {
    Open(oneshot::Sender<Result<(), SinkError>>),
    Collect(Batch, oneshot::Sender<CollectReport>),
    Close(oneshot::Sender<Result<(), SinkError>>),
}

fn worker_gone() -> SinkError {
    SinkError::new("the Python sink's worker thread has stopped")
}

#[async_trait]
impl SinkFactory for PySinkFactory {
    fn concurrent_collects(&self) -> bool {
        self.is_async
    }

    async fn create(
        &self,
        ctx: &SinkContext,
        props: ActionProps<'_>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        if self.is_async {
            let sink =
                PyAsyncSink::create(self.target.clone(), &self.async_loop, ctx, props.all).await?;
            return Ok(Box::new(sink));
        }
        // One job in flight at a time: the sink task waits for each reply before the next.
        let (jobs, inbox) = sync_channel::<Job>(1);
        let (ready_tx, ready_rx) = oneshot::channel();
        let target = self.target.clone();
        let props = Value::from(&Json::Object(props.all.clone()));
        let worker_ctx = ctx.clone();
        std::thread::Builder::new()
            .name(format!("sinkbridge-sink:{}:{}", ctx.rule_id, ctx.op_id))
            .spawn(move || run_worker(target, props, worker_ctx, ready_tx, inbox))
            .map_err(|e| SinkError::new(format!("cannot start the sink's worker thread: {e}")))?;
        ready_rx.await.map_err(|_| worker_gone())??;
        Ok(Box::new(PySink { jobs }))
    }

    fn describe(&self) -> String {
        self.origin.clone()
    }
}

/// The engine's handle on a Python sink instance.
struct PySink {
    jobs: SyncSender<Job>,
}

impl PySink {
    fn send(&self, job: Job) -> Result<(), SinkError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => {
                SinkError::new("the Python sink is still busy with an earlier call")
            }
            TrySendError::Disconnected(_) => worker_gone(),
        })
    }
}

#[async_trait]
impl Sink for PySink {
    async fn open(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Open(tx))?;
        rx.await.map_err(|_| worker_gone())?
    }

    async fn collect(&mut self, _: &SinkContext, items: Batch) -> CollectReport {
        let count = items.len();
        let (tx, rx) = oneshot::channel();
        if let Err(e) = self.send(Job::Collect(items, tx)) {
            return CollectReport::all_failed(count, e);
        }
        rx.await
            .unwrap_or_else(|_| CollectReport::all_failed(count, worker_gone()))
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Close(tx))?;
        rx.await.map_err(|_| worker_gone())?
    }
}

/// The Python side of one sink instance, living on its worker thread.
struct Worker<'py> {
    sink: Bound<'py, PyAny>,
    ctx: Bound<'py, PyAny>,
    /// `collect_batch` if the class defines it, else `collect`.
    collect: Bound<'py, PyAny>,
    batched: bool,
    /// `collect_batch` takes a third argument: the items' rendered dynamic properties.
    with_props: bool,
    to_python: ToPython,
}

/// Whether a sink's `collect_batch` takes the items' dynamic properties (a third parameter).
pub(crate) fn takes_props(py: Python<'_>, collect_batch: &Bound<'_, PyAny>) -> PyResult<bool> {
    py.import("sinkbridge._sink")?
        .call_method1("takes_props", (collect_batch,))?
        .is_truthy()
}

/// The rendered dynamic properties of each item, as a list of dicts parallel to the items.
pub(crate) fn item_props<'py>(py: Python<'py>, items: &[SinkItem]) -> PyResult<Bound<'py, PyList>> {
    let dicts = items
        .iter()
        .map(|item| {
            let dict = PyDict::new(py);
            for (path, value) in &item.props {
                dict.set_item(path, value)?;
            }
            Ok(dict)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, dicts)
}

fn run_worker(
    target: Arc<Py<PyAny>>,
    props: Value,
    ctx: SinkContext,
    ready: oneshot::Sender<Result<(), SinkError>>,
    mut inbox: Receiver<Job>,
) {
    Python::attach(|py| {
        let mut worker = match Worker::configure(py, &target, &props, &ctx) {
            Ok(worker) => {
                let _ = ready.send(Ok(()));
                worker
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        drop(target);
        // Wait with the GIL released; the thread state is kept, so taking the GIL back is cheap.
        loop {
            // Reborrowed as `&mut`, which is Send, where a shared reference would need Sync.
            let waiting = &mut inbox;
            let Ok(job) = py.detach(move || waiting.recv()) else {
                break;
            };
            match job {
                Job::Open(reply) => {
                    let _ = reply.send(worker.call("open"));
                }
                Job::Collect(items, reply) => {
                    let _ = reply.send(worker.collect(py, items));
                }
                Job::Close(reply) => {
                    let _ = reply.send(worker.call("close"));
                    break;
                }
            }
        }
    });
}

impl<'py> Worker<'py> {
    /// Creates the instance, its context, and calls `configure(props)`.
    fn configure(
        py: Python<'py>,
        target: &Py<PyAny>,
        props: &Value,
        ctx: &SinkContext,
    ) -> Result<Worker<'py>, SinkError> {
        let setup = || -> PyResult<Worker<'py>> {
            // Python would call this thread "Dummy-N"; name it for logs and tracebacks.
            let name = std::thread::current()
                .name()
                .unwrap_or("sinkbridge-sink")
                .to_string();
            py.import("threading")?
                .call_method0("current_thread")?
                .setattr("name", name)?;
            let sinkbridge = py.import("sinkbridge")?;
            let sink_class = sinkbridge.getattr("Sink")?;
            let sink = target.bind(py).call0()?;
            if !sink.is_instance(&sink_class)? {
                return Err(PyTypeError::new_err(format!(
                    "{} returned {}, not a sinkbridge.Sink",
                    target.bind(py).repr()?,
                    sink.repr()?
                )));
            }
            if py
                .import("sinkbridge._async")?
                .call_method1("is_async", (&sink,))?
                .is_truthy()?
            {
                return Err(PyTypeError::new_err(format!(
                    "{} returned an async sink; register or name its class, so that it runs on the engine's event loop",
                    target.bind(py).repr()?
                )));
            }
            let context = connection::context(py, ctx)?;
            let batched = sink.hasattr("collect_batch")?;
            let collect = sink.getattr(if batched { "collect_batch" } else { "collect" })?;
            let with_props = batched && takes_props(py, &collect)?;
            Ok(Worker {
                sink,
                ctx: context,
                collect,
                batched,
                with_props,
                to_python: ToPython::default(),
            })
        };
        let mut worker = setup().map_err(|e| lifecycle_error(py, "creating the sink", e))?;
        let props = worker
            .to_python
            .value(py, props)
            .map_err(|e| lifecycle_error(py, "configure", e))?;
        worker
            .sink
            .call_method1("configure", (props,))
            .map_err(|e| lifecycle_error(py, "configure", e))?;
        Ok(worker)
    }

    /// Calls `open(ctx)` or `close(ctx)`.
    fn call(&self, method: &str) -> Result<(), SinkError> {
        let py = self.sink.py();
        self.sink
            .call_method1(method, (&self.ctx,))
            .map(|_| ())
            .map_err(|e| lifecycle_error(py, method, e))
    }

    /// Hands a batch of results to the sink: one `collect_batch` call, or one `collect` call
    /// per result, all under one hold of the GIL. A transient failure stops the batch there,
    /// so that the retry keeps the order.
    fn collect(&mut self, py: Python<'py>, items: Batch) -> CollectReport {
        if self.batched {
            let converted: PyResult<Bound<'py, PyList>> = (|| {
                let data = items
                    .iter()
                    .map(|item| self.to_python.value(py, &item.data))
                    .collect::<PyResult<Vec<_>>>()?;
                PyList::new(py, data)
            })();
            let called = converted.and_then(|list| {
                if self.with_props {
                    self.collect
                        .call1((&self.ctx, list, item_props(py, &items)?))
                } else {
                    self.collect.call1((&self.ctx, list))
                }
            });
            return match called {
                Ok(_) => CollectReport::default(),
                Err(e) => CollectReport::all_failed(items.len(), sink_error(py, e)),
            };
        }
        let mut report = CollectReport::default();
        for (i, item) in items.iter().enumerate() {
            let outcome = self
                .to_python
                .value(py, &item.data)
                .and_then(|data| self.collect.call1((&self.ctx, data)));
            if let Err(e) = outcome {
                let error = sink_error(py, e);
                if error.retryable {
                    report.retry = CollectReport::retry_from(i, items.len(), error).retry;
                    break;
                }
                report.failures.push((i, error));
            }
        }
        report
    }
}
