//! What the engine still has to do with what it was given: batches published but not yet
//! through a rule, results queued for a sink whose call has not returned, timers fired but not
//! yet handled. `Engine::wait_idle` and a manual clock's `advance` wait for it to reach zero.
//!
//! Every hand-over counts up before the work is passed on and the receiver counts down once it
//! has passed it on in turn (or finished with it), so the count never touches zero while
//! something is still on its way.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Activity {
    pending: Mutex<i64>,
    idle: Condvar,
}

impl Activity {
    pub fn new() -> Activity {
        Activity::default()
    }

    fn count(&self) -> std::sync::MutexGuard<'_, i64> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `n` pieces of work are handed over.
    pub fn begin(&self, n: usize) {
        if n > 0 {
            *self.count() += n as i64;
        }
    }

    /// `n` pieces of work are done with.
    pub fn end(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut pending = self.count();
        *pending -= n as i64;
        if *pending <= 0 {
            *pending = 0;
            self.idle.notify_all();
        }
    }

    /// Blocks until nothing is pending, for at most `timeout`; whether it got there. Never call
    /// it from the engine's own threads.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut pending = self.count();
        while *pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            pending = self
                .idle
                .wait_timeout(pending, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }
}

/// One piece of work, counted down when dropped.
#[derive(Debug)]
pub struct Token(Option<std::sync::Arc<Activity>>);

impl Token {
    /// Counts one piece of work up; it is counted down when the token goes.
    pub fn begin(activity: &std::sync::Arc<Activity>) -> Token {
        activity.begin(1);
        Token(Some(activity.clone()))
    }

    /// A token for work nobody waits on.
    pub fn none() -> Token {
        Token(None)
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if let Some(activity) = self.0.take() {
            activity.end(1);
        }
    }
}
