//! The engine's notion of "now", injectable so that tests (ours and users') control time.

use std::fmt::Debug;

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
