//! The engine's notion of "now", injectable so that tests (ours and users') control time:
//! processing-time windows wait on the clock's timers, never on tokio's directly.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::activity::{Activity, Token};

/// A timer's future. It yields a token that counts the wake-up as work in progress until the
/// one who waited drops it, having handled the wake-up.
pub type Sleep = Pin<Box<dyn Future<Output = Token> + Send>>;

/// A source of the current time, and of timers on that time.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Resolves once the clock reads `at_ms` or later.
    fn sleep_until(&self, at_ms: i64) -> Sleep;

    /// Called once by the engine the clock is given to, with what the engine counts as work
    /// in progress.
    fn bind(&self, _activity: &Arc<Activity>) {}
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep {
        let wait = at_ms.saturating_sub(self.now_ms()).max(0) as u64;
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            Token::none()
        })
    }
}

/// A clock that moves only when told to: its timers fire in time order as it is advanced.
///
/// Bound to an engine, each step waits until the engine has handled what fired (and whatever
/// that set off) before the clock moves on, so that a test sees time pass the way it would.
#[derive(Debug)]
pub struct ManualClock {
    now_ms: AtomicI64,
    timers: Mutex<BTreeMap<(i64, u64), oneshot::Sender<Token>>>,
    next_id: AtomicI64,
    activity: OnceLock<Arc<Activity>>,
    /// How long a step waits for the engine to settle.
    settle_timeout: Duration,
}

impl ManualClock {
    pub fn new(start_ms: i64) -> ManualClock {
        ManualClock {
            now_ms: AtomicI64::new(start_ms),
            timers: Mutex::new(BTreeMap::new()),
            next_id: AtomicI64::new(0),
            activity: OnceLock::new(),
            settle_timeout: Duration::from_secs(30),
        }
    }

    /// Moves the clock forward by `ms`; see [`ManualClock::advance_to`].
    pub fn advance(&self, ms: i64) -> usize {
        self.advance_to(self.now_ms.load(Ordering::SeqCst) + ms.max(0))
    }

    /// Moves the clock to `at_ms` (never back), firing every timer due on the way in time
    /// order, the clock reading each timer's time as it fires; bound to an engine, it returns
    /// once the engine has handled them. Returns how many fired. Never call it from the
    /// engine's own threads.
    pub fn advance_to(&self, at_ms: i64) -> usize {
        let mut fired = 0;
        loop {
            let due = {
                let mut timers = self.timers.lock().unwrap_or_else(|p| p.into_inner());
                match timers.first_key_value() {
                    Some((&(time, _), _)) if time <= at_ms => timers.pop_first(),
                    _ => None,
                }
            };
            let Some(((time, _), timer)) = due else { break };
            self.now_ms.fetch_max(time, Ordering::SeqCst);
            let token = match self.activity.get() {
                Some(activity) => Token::begin(activity),
                None => Token::none(),
            };
            // A timer nobody waits for any more hands its token back, and it is dropped.
            if timer.send(token).is_ok() {
                fired += 1;
                self.settle();
            }
        }
        self.now_ms.fetch_max(at_ms, Ordering::SeqCst);
        self.settle();
        fired
    }

    fn settle(&self) {
        if let Some(activity) = self.activity.get() {
            activity.wait_idle(self.settle_timeout);
        }
    }

    /// Timers waiting, for tests that need to know a task is asleep before advancing.
    pub fn pending_timers(&self) -> usize {
        self.timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|t| !t.is_closed())
            .count()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_default()
    }

    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn bind(&self, activity: &Arc<Activity>) {
        let _ = self.activity.set(activity.clone());
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep {
        let (tx, rx) = oneshot::channel();
        if at_ms <= self.now_ms() {
            return Box::pin(async { Token::none() });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) as u64;
        self.timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((at_ms, id), tx);
        Box::pin(async move {
            match rx.await {
                Ok(token) => token,
                // A clock dropped with the timer pending never fires it: wait forever, like
                // time that stopped.
                Err(_) => std::future::pending().await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_fires_timers_in_order_as_it_advances() {
        let clock = Arc::new(ManualClock::new(1_000));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for at in [1_300, 1_100, 1_200] {
            let (clock, order) = (clock.clone(), order.clone());
            let sleep = clock.sleep_until(at);
            tasks.push(tokio::spawn(async move {
                sleep.await;
                order.lock().unwrap().push((at, clock.now_ms()));
            }));
        }
        assert_eq!(clock.pending_timers(), 3);
        assert_eq!(clock.advance(250), 2);
        assert_eq!(clock.now_ms(), 1_250);
        assert_eq!(clock.advance_to(2_000), 1);
        for task in tasks {
            task.await.unwrap();
        }
        let mut seen = order.lock().unwrap().clone();
        seen.sort();
        assert_eq!(
            seen.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
            [1_100, 1_200, 1_300]
        );
        // A timer already due resolves at once.
        drop(clock.sleep_until(1_500).await);
    }
}
