//! Async Python sinks: a sink whose lifecycle methods are `async def` runs its coroutines on
//! the engine's asyncio loop (one loop thread per engine, through pyo3-async-runtimes), and
//! the engine awaits them without holding the GIL. One instance takes up to `concurrency`
//! collects at once.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3_async_runtimes::TaskLocals;
use serde_json::{Map as JsonMap, Value as Json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use sinkbridge_engine::sink::{
    Batch, CollectReport, Retry, Sink, SinkContext, SinkError, SinkItem,
};
use sinkbridge_engine::value::Value;

use crate::connection;
use crate::convert::ToPython;
use crate::errors::{lifecycle_error, sink_error};
use crate::sink_adapter::{item_props, takes_props};

/// The engine's asyncio loop, started on first use and stopped with the engine.
#[derive(Default)]
pub struct AsyncLoop {
    locals: Mutex<Option<TaskLocals>>,
}

impl AsyncLoop {
    fn locals(&self, py: Python<'_>) -> PyResult<TaskLocals> {
        let mut locals = self.locals.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = locals.as_ref() {
            return Ok(l.clone());
        }
        let event_loop = py.import("sinkbridge._async")?.call_method0("start_loop")?;
        let started = TaskLocals::new(event_loop);
        *locals = Some(started.clone());
        Ok(started)
    }
}

impl Drop for AsyncLoop {
    fn drop(&mut self) {
        let Some(locals) = self.locals.get_mut().ok().and_then(Option::take) else {
            return;
        };
        let _ = Python::try_attach(|py| {
            let _ = py
                .import("sinkbridge._async")
                .and_then(|m| m.call_method1("stop_loop", (locals.event_loop(py),)));
        });
    }
}

type PyFuture = std::pin::Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>;

/// Runs Python code on a blocking thread with the GIL; when it returns an awaitable, awaits
/// that on the loop without the GIL. `what` names the call for lifecycle errors (`None`: a
/// collect, whose errors are counted rather than failing the start).
async fn call(
    locals: &TaskLocals,
    what: Option<&'static str>,
    f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send + 'static,
) -> Result<(), SinkError> {
    let locals = locals.clone();
    let to_error = move |py: Python<'_>, e: PyErr| match what {
        Some(call) => lifecycle_error(py, call, e),
        None => sink_error(py, e),
    };
    let started: Result<Option<PyFuture>, SinkError> = tokio::task::spawn_blocking(move || {
        Python::attach(|py| {
            let result = f(py).map_err(|e| to_error(py, e))?;
            let result = result.bind(py);
            if !result.hasattr("__await__").unwrap_or(false) {
                return Ok(None);
            }
            let kept = py
                .import("sinkbridge._async")
                .and_then(|m| m.call_method1("kept", (result,)))
                .map_err(|e| to_error(py, e))?;
            let future = pyo3_async_runtimes::into_future_with_locals(&locals, kept)
                .map_err(|e| to_error(py, e))?;
            Ok(Some(Box::pin(future) as PyFuture))
        })
    })
    .await
    .map_err(|e| SinkError::new(format!("the call into Python failed: {e}")))?;
    let Some(future) = started? else {
        return Ok(());
    };
    match future.await {
        Ok(_) => Ok(()),
        Err(e) => Err(Python::attach(|py| to_error(py, e))),
    }
}

/// An async sink instance.
pub struct PyAsyncSink {
    sink: Arc<Py<PyAny>>,
    ctx: Arc<Py<PyAny>>,
    locals: TaskLocals,
    batched: bool,
    /// `collect_batch` takes the items' rendered dynamic properties as a third argument.
    with_props: bool,
    concurrency: usize,
    to_python: Arc<Mutex<ToPython>>,
}

impl PyAsyncSink {
    /// Creates the instance and its context, and configures it (awaiting an async
    /// `configure`), on the engine's loop.
    pub async fn create(
        target: Arc<Py<PyAny>>,
        event_loop: &AsyncLoop,
        ctx: &SinkContext,
        props: &JsonMap<String, Json>,
    ) -> Result<PyAsyncSink, SinkError> {
        let concurrency = props
            .get("concurrency")
            .and_then(Json::as_u64)
            .unwrap_or(1)
            .max(1) as usize;
        let props = Value::from(&Json::Object(props.clone()));
        let context = ctx.clone();
        let setup = Python::attach(|py| -> PyResult<_> {
            let locals = event_loop.locals(py)?;
            let sinkbridge = py.import("sinkbridge")?;
            let sink = target.bind(py).call0()?;
            if !sink.is_instance(&sinkbridge.getattr("Sink")?)? {
                return Err(PyTypeError::new_err(format!(
                    "{} returned {}, not a sinkbridge.Sink",
                    target.bind(py).repr()?,
                    sink.repr()?
                )));
            }
            let ctx = connection::context(py, &context)?;
            let batched = sink.hasattr("collect_batch")?;
            let with_props = batched && takes_props(py, &sink.getattr("collect_batch")?)?;
            Ok((
                locals,
                Arc::new(sink.unbind()),
                Arc::new(ctx.unbind()),
                batched,
                with_props,
            ))
        });
        let (locals, sink, ctx, batched, with_props) =
            setup.map_err(|e| Python::attach(|py| lifecycle_error(py, "creating the sink", e)))?;
        let instance = PyAsyncSink {
            sink,
            ctx,
            locals,
            batched,
            with_props,
            concurrency,
            to_python: Arc::default(),
        };
        let (sink, to_python) = (instance.sink.clone(), instance.to_python.clone());
        call(&instance.locals, Some("configure"), move |py| {
            let props = to_python
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .value(py, &props)?;
            sink.bind(py)
                .call_method1("configure", (props,))
                .map(Bound::unbind)
        })
        .await?;
        Ok(instance)
    }

    async fn lifecycle(&self, method: &'static str) -> Result<(), SinkError> {
        let (sink, ctx) = (self.sink.clone(), self.ctx.clone());
        call(&self.locals, Some(method), move |py| {
            sink.bind(py)
                .call_method1(method, (ctx.bind(py),))
                .map(Bound::unbind)
        })
        .await
    }

    /// Calls `collect` (or `collect_batch`) with `items`, awaiting it.
    fn collect_call(
        &self,
        items: Vec<SinkItem>,
    ) -> impl Future<Output = Result<(), SinkError>> + Send + 'static {
        let (sink, ctx, to_python) = (self.sink.clone(), self.ctx.clone(), self.to_python.clone());
        let (locals, batched, with_props) = (self.locals.clone(), self.batched, self.with_props);
        async move {
            call(&locals, None, move |py| {
                let mut to_python = to_python.lock().unwrap_or_else(|p| p.into_inner());
                if batched {
                    let data = items
                        .iter()
                        .map(|item| to_python.value(py, &item.data))
                        .collect::<PyResult<Vec<_>>>()?;
                    let list = PyList::new(py, data)?;
                    let sink = sink.bind(py);
                    let called = if with_props {
                        sink.call_method1(
                            "collect_batch",
                            (ctx.bind(py), list, item_props(py, &items)?),
                        )
                    } else {
                        sink.call_method1("collect_batch", (ctx.bind(py), list))
                    };
                    called.map(Bound::unbind)
                } else {
                    let item = to_python.value(py, &items[0].data)?;
                    sink.bind(py)
                        .call_method1("collect", (ctx.bind(py), item))
                        .map(Bound::unbind)
                }
            })
            .await
        }
    }
}

#[async_trait]
impl Sink for PyAsyncSink {
    async fn open(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        self.lifecycle("open").await
    }

    /// `collect_batch` takes the batch in one call; `collect` is called per item, with at most
    /// `concurrency` calls in flight. Items that fail transiently are retried (in order); the
    /// others in the batch are not sent again.
    async fn collect(&mut self, _: &SinkContext, items: Batch) -> CollectReport {
        if self.batched {
            return match self.collect_call(items.to_vec()).await {
                Ok(()) => CollectReport::default(),
                Err(e) => CollectReport::all_failed(items.len(), e),
            };
        }
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut running = JoinSet::new();
        for (i, item) in items.iter().enumerate() {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let call = self.collect_call(vec![item.clone()]);
            running.spawn(async move {
                let outcome = call.await;
                drop(permit);
                (i, outcome)
            });
        }
        let mut outcomes: Vec<(usize, Result<(), SinkError>)> = running.join_all().await;
        outcomes.sort_by_key(|(i, _)| *i);
        let mut report = CollectReport::default();
        for (i, outcome) in outcomes {
            match outcome {
                Ok(()) => {}
                Err(e) if e.retryable => match &mut report.retry {
                    Some(retry) => retry.items.push(i),
                    None => {
                        report.retry = Some(Retry {
                            items: vec![i],
                            error: e,
                        })
                    }
                },
                Err(e) => report.failures.push((i, e)),
            }
        }
        report
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        self.lifecycle("close").await
    }
}
