//! Dropping large collections off the thread that is done with them.
//!
//! A closing window hands back every row it held: a thousand rows a second in bench/'s windows
//! scenario, each a map and its strings, allocated by the source's thread. Freeing them is a
//! tenth of the rule's thread's work, and that thread is the one the whole rule waits on, while
//! the machine's other cores have room. So such collections go to one process-wide thread that
//! drops them. The queue is bounded: when that thread falls behind, the caller drops its
//! collection itself, as it always did, so memory stays bounded and nothing waits.

use std::sync::OnceLock;
use std::sync::mpsc::{self, SyncSender, TrySendError};

/// Collections waiting to be dropped, at most.
const QUEUE: usize = 64;

type Garbage = Box<dyn Send>;

fn dropper() -> Option<&'static SyncSender<Garbage>> {
    static DROPPER: OnceLock<Option<SyncSender<Garbage>>> = OnceLock::new();
    DROPPER
        .get_or_init(|| {
            let (sender, receiver) = mpsc::sync_channel::<Garbage>(QUEUE);
            std::thread::Builder::new()
                .name("sinkbridge-drop".into())
                .spawn(move || receiver.into_iter().for_each(drop))
                .ok()
                .map(|_| sender)
        })
        .as_ref()
}

/// Drops `value` on the dropping thread, or here when it is busy (or could not start).
pub fn drop_later<T: Send + 'static>(value: T) {
    let Some(sender) = dropper() else {
        return drop(value);
    };
    match sender.try_send(Box::new(value)) {
        Ok(()) => {}
        Err(TrySendError::Full(value) | TrySendError::Disconnected(value)) => drop(value),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Everything handed over is dropped, soon, whether it went to the thread or (with the
    /// queue full) was dropped on the spot.
    #[test]
    fn every_collection_handed_over_is_dropped() {
        let dropped = Arc::new(AtomicUsize::new(0));
        for _ in 0..1000 {
            drop_later(vec![Counted(dropped.clone()), Counted(dropped.clone())]);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while dropped.load(Ordering::SeqCst) < 2000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(dropped.load(Ordering::SeqCst), 2000);
    }
}
