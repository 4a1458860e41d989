//! An action's queue: rule results waiting for the action's sink instances, bounded by
//! `bufferLength` results. When it is full the rule waits (backpressure reaches the source),
//! unless `bufferFullPolicy` opts into dropping, and then every drop is counted.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::conf::BufferFullPolicy;
use crate::activity::Activity;
use crate::metrics::QueueGauge;
use crate::value::Value;

/// The most results handed to one delivery when no batch size is set.
const DRAIN_MAX: usize = 4096;

#[derive(Default)]
struct State {
    items: VecDeque<Value>,
    closed: bool,
}

pub(crate) struct ActionQueue {
    state: Mutex<State>,
    capacity: usize,
    policy: BufferFullPolicy,
    /// Signalled when results arrive or the queue closes.
    arrived: Notify,
    /// Signalled when results leave.
    left: Notify,
    gauge: Arc<QueueGauge>,
    /// Counts each queued result as work in progress until its instance is done with it.
    activity: Arc<Activity>,
}

/// How the instances take results off the queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    /// Results per delivery; 0 takes whatever is queued.
    pub size: usize,
    /// How long a delivery waits for more results; zero waits for none (or for `size`).
    pub linger: Duration,
}

impl ActionQueue {
    pub fn new(capacity: usize, policy: BufferFullPolicy, activity: Arc<Activity>) -> ActionQueue {
        ActionQueue {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            policy,
            arrived: Notify::new(),
            left: Notify::new(),
            gauge: Arc::default(),
            activity,
        }
    }

    /// An instance is done with `n` results it took (delivered, given up on, or cached).
    pub fn done(&self, n: usize) {
        self.activity.end(n);
    }

    /// The length and drop count, for the metrics of the action's sinks.
    pub fn gauge(&self) -> Arc<QueueGauge> {
        self.gauge.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Results dropped by the buffer-full policy so far.
    #[cfg(test)]
    fn dropped(&self) -> u64 {
        self.gauge.dropped.load(Ordering::Relaxed)
    }

    /// Adds results, waiting for room unless the policy drops.
    pub async fn push(&self, results: Vec<Value>) {
        let mut pending = results.into_iter().peekable();
        while pending.peek().is_some() {
            let room = self.left.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut state = self.state();
                if state.closed {
                    return;
                }
                while state.items.len() < self.capacity {
                    match pending.next() {
                        Some(item) => {
                            self.activity.begin(1);
                            state.items.push_back(item);
                        }
                        None => break,
                    }
                }
                if pending.peek().is_some() {
                    match self.policy {
                        BufferFullPolicy::Block => {}
                        BufferFullPolicy::DropNewest => {
                            let n = pending.by_ref().count();
                            self.gauge.dropped.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        BufferFullPolicy::DropOldest => {
                            for item in pending.by_ref() {
                                // The one dropped is done with; the newcomer takes its place.
                                state.items.pop_front();
                                state.items.push_back(item);
                                self.gauge.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
                self.gauge
                    .length
                    .store(state.items.len(), Ordering::Relaxed);
            }
            self.arrived.notify_one();
            if pending.peek().is_some() {
                room.await;
            }
        }
    }

    /// No more results will come: instances take what is left, then stop.
    pub fn close(&self) {
        self.state().closed = true;
        self.arrived.notify_waiters();
        self.left.notify_waiters();
    }

    /// Takes up to `max` queued results without waiting; also says whether the queue is closed.
    pub fn try_take(&self, max: usize) -> (Vec<Value>, bool) {
        let taken: Vec<Value> = {
            let mut state = self.state();
            let n = state.items.len().min(max);
            let taken = state.items.drain(..n).collect();
            self.gauge
                .length
                .store(state.items.len(), Ordering::Relaxed);
            if state.items.is_empty() && state.closed {
                return (taken, true);
            }
            taken
        };
        if !taken.is_empty() {
            self.left.notify_one();
        }
        (taken, false)
    }

    /// Resolves when results may have arrived (or the queue closed). Safe to cancel.
    pub async fn arrival(&self) {
        self.arrived.notified().await;
    }

    /// Takes the next delivery's results; `None` once the queue is closed and empty.
    pub async fn pop(&self, batching: Batching) -> Option<Vec<Value>> {
        let max = if batching.size > 0 {
            batching.size
        } else {
            DRAIN_MAX
        };
        let mut taken: Vec<Value> = Vec::new();
        let mut deadline: Option<Instant> = None;
        loop {
            let arrival = self.arrived.notified();
            tokio::pin!(arrival);
            arrival.as_mut().enable();
            let closed = {
                let mut state = self.state();
                while taken.len() < max {
                    match state.items.pop_front() {
                        Some(item) => taken.push(item),
                        None => break,
                    }
                }
                self.gauge
                    .length
                    .store(state.items.len(), Ordering::Relaxed);
                // Others may be waiting for what is still queued.
                if !state.items.is_empty() {
                    self.arrived.notify_one();
                }
                state.closed
            };
            if !taken.is_empty() {
                self.left.notify_one();
            }
            let full = taken.len() >= max;
            let batching_on = batching.size > 0 || !batching.linger.is_zero();
            if full || closed || (!taken.is_empty() && !batching_on) {
                return (!taken.is_empty()).then_some(taken);
            }
            if !taken.is_empty() && !batching.linger.is_zero() {
                let until = *deadline.get_or_insert_with(|| Instant::now() + batching.linger);
                tokio::select! {
                    _ = arrival => {}
                    _ = tokio::time::sleep_until(until) => return Some(taken),
                }
            } else {
                arrival.await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn values(range: std::ops::Range<i64>) -> Vec<Value> {
        range.map(Value::Int).collect()
    }

    fn ints(items: &[Value]) -> Vec<i64> {
        items
            .iter()
            .map(|v| if let Value::Int(i) = v { *i } else { -1 })
            .collect()
    }

    const DRAIN: Batching = Batching {
        size: 0,
        linger: Duration::ZERO,
    };

    #[tokio::test]
    async fn drop_policies_count_what_they_drop() {
        let q = ActionQueue::new(3, BufferFullPolicy::DropNewest, Arc::default());
        q.push(values(0..5)).await;
        assert_eq!(ints(&q.pop(DRAIN).await.unwrap()), [0, 1, 2]);
        assert_eq!(q.dropped(), 2);
        let q = ActionQueue::new(3, BufferFullPolicy::DropOldest, Arc::default());
        q.push(values(0..5)).await;
        assert_eq!(ints(&q.pop(DRAIN).await.unwrap()), [2, 3, 4]);
        assert_eq!(q.dropped(), 2);
    }

    #[tokio::test]
    async fn block_waits_for_room_and_loses_nothing() {
        let q = Arc::new(ActionQueue::new(2, BufferFullPolicy::Block, Arc::default()));
        let producer = {
            let q = q.clone();
            tokio::spawn(async move {
                q.push(values(0..10)).await;
                q.close();
            })
        };
        let mut seen = Vec::new();
        while let Some(batch) = q.pop(DRAIN).await {
            assert!(batch.len() <= 2);
            seen.extend(ints(&batch));
        }
        producer.await.unwrap();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(q.dropped(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn batches_close_on_size_or_linger() {
        let q = ActionQueue::new(100, BufferFullPolicy::Block, Arc::default());
        q.push(values(0..5)).await;
        let by_size = Batching {
            size: 2,
            linger: Duration::from_secs(10),
        };
        assert_eq!(ints(&q.pop(by_size).await.unwrap()), [0, 1]);
        let started = Instant::now();
        let by_linger = Batching {
            size: 10,
            linger: Duration::from_millis(50),
        };
        assert_eq!(ints(&q.pop(by_linger).await.unwrap()), [2, 3, 4]);
        assert_eq!(started.elapsed(), Duration::from_millis(50));
        q.close();
        assert!(q.pop(by_linger).await.is_none());
    }
}
