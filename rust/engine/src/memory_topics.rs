//! In-process topics: what the memory sink publishes and the memory source subscribes to, and
//! what `Engine::publish` feeds. Subscriptions take MQTT-style filters (`+` one level, `#` the
//! rest). A publish waits for room in every matching subscriber, so a slow rule slows its
//! publishers instead of losing rows; a topic nobody subscribes to drops what is published.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::activity::Activity;
use crate::value::{Map, Row, Tuple, Value, intern};

/// Rows shared between every subscriber that receives them.
pub type RowBatch = Arc<Vec<Tuple>>;

struct Subscriber {
    id: u64,
    filter: Vec<String>,
    tx: mpsc::Sender<RowBatch>,
}

/// The engine's in-process topics.
#[derive(Default)]
pub struct MemoryTopics {
    subscribers: Mutex<Vec<Subscriber>>,
    next_id: AtomicU64,
    /// Each batch delivered is work in progress until its subscriber passed it on.
    activity: Arc<Activity>,
}

/// Ends its subscription when dropped.
pub struct Subscription {
    topics: Arc<MemoryTopics>,
    id: u64,
}

impl Subscription {
    /// What counts the batches delivered to this subscription as work in progress.
    pub fn activity(&self) -> &Arc<Activity> {
        &self.topics.activity
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut subs) = self.topics.subscribers.lock() {
            subs.retain(|s| s.id != self.id);
        }
    }
}

/// Checks a subscription filter: `#` only as the last level, wildcards only as whole levels.
pub fn validate_filter(filter: &str) -> Result<(), String> {
    if filter.is_empty() {
        return Err("the topic must not be empty".into());
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i != levels.len() - 1) {
            return Err(format!(
                "invalid topic {filter}: # must be the whole last level"
            ));
        }
        if level.contains('+') && *level != "+" {
            return Err(format!("invalid topic {filter}: + must be a whole level"));
        }
    }
    Ok(())
}

/// Checks a topic to publish to: no wildcards.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("the topic must not be empty".into());
    }
    if topic.contains(['+', '#']) {
        return Err(format!(
            "cannot publish to {topic}: a topic to publish to has no wildcards"
        ));
    }
    Ok(())
}

fn matches(filter: &[String], topic: &str) -> bool {
    let mut levels = topic.split('/');
    for f in filter {
        match f.as_str() {
            "#" => return true,
            "+" => {
                if levels.next().is_none() {
                    return false;
                }
            }
            exact => {
                if levels.next() != Some(exact) {
                    return false;
                }
            }
        }
    }
    levels.next().is_none()
}

impl MemoryTopics {
    /// What counts the batches published here as work in progress.
    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    pub fn new(activity: Arc<Activity>) -> Arc<MemoryTopics> {
        Arc::new(MemoryTopics {
            activity,
            ..MemoryTopics::default()
        })
    }

    /// Subscribes to a filter; rows arrive on the receiver until the subscription is dropped.
    pub fn subscribe(
        self: &Arc<Self>,
        filter: &str,
        capacity: usize,
    ) -> Result<(Subscription, mpsc::Receiver<RowBatch>), String> {
        validate_filter(filter)?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let subscriber = Subscriber {
            id,
            filter: filter.split('/').map(str::to_string).collect(),
            tx,
        };
        self.subscribers
            .lock()
            .map_err(|_| "memory topics are poisoned".to_string())?
            .push(subscriber);
        Ok((
            Subscription {
                topics: self.clone(),
                id,
            },
            rx,
        ))
    }

    fn senders_for(&self, topic: &str) -> Vec<mpsc::Sender<RowBatch>> {
        self.subscribers
            .lock()
            .map(|subs| {
                subs.iter()
                    .filter(|s| matches(&s.filter, topic))
                    .map(|s| s.tx.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Publishes rows to every subscriber whose filter matches, waiting for room in each; each
    /// row carries the topic as metadata (`meta(topic)`). Returns how many subscribers received
    /// them.
    pub async fn publish(&self, topic: &str, rows: Vec<Row>) -> Result<usize, String> {
        validate_topic(topic)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut meta = Map::with_capacity(1);
        meta.insert(intern("topic"), Value::string(topic));
        let meta = Some(Arc::new(meta));
        let rows: RowBatch = Arc::new(
            rows.into_iter()
                .map(|row| Tuple::new(row, meta.clone()))
                .collect(),
        );
        self.publish_batch(topic, rows).await
    }

    /// Publishes tuples as they are, sharing the batch between subscribers.
    pub async fn publish_batch(&self, topic: &str, rows: RowBatch) -> Result<usize, String> {
        validate_topic(topic)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut delivered = 0;
        for tx in self.senders_for(topic) {
            // A subscriber that went away between the lookup and the send simply misses it.
            self.activity.begin(1);
            if tx.send(rows.clone()).await.is_ok() {
                delivered += 1;
            } else {
                self.activity.end(1);
            }
        }
        Ok(delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(f: &str) -> Vec<String> {
        f.split('/').map(str::to_string).collect()
    }

    #[test]
    fn wildcards_match_like_mqtt() {
        assert!(matches(&filter("a/b"), "a/b"));
        assert!(!matches(&filter("a/b"), "a/b/c"));
        assert!(matches(&filter("a/+/c"), "a/x/c"));
        assert!(!matches(&filter("a/+"), "a"));
        assert!(matches(&filter("a/#"), "a/x/y"));
        assert!(matches(&filter("#"), "anything/at/all"));
        assert!(
            validate_filter("a/#/b")
                .unwrap_err()
                .contains("# must be the whole last level")
        );
        assert!(validate_filter("a/b+").is_err());
        assert!(validate_topic("a/+").is_err());
    }

    #[tokio::test]
    async fn publish_reaches_matching_subscribers_until_they_unsubscribe() {
        let topics = MemoryTopics::new(Arc::default());
        let (sub_a, mut rx_a) = topics.subscribe("s/+", 4).unwrap();
        let (_sub_b, mut rx_b) = topics.subscribe("other", 4).unwrap();
        let mut row = Map::new();
        row.insert("x".into(), Value::Int(1));
        assert_eq!(topics.publish("s/1", vec![row.clone()]).await, Ok(1));
        let received = rx_a.recv().await.unwrap();
        assert_eq!(received.len(), 1);
        let meta = received[0].meta.as_ref().unwrap();
        assert_eq!(meta.get("topic").map(|v| v.to_string()), Some("s/1".into()));
        assert!(rx_b.try_recv().is_err());
        drop(sub_a);
        assert_eq!(topics.publish("s/1", vec![row]).await, Ok(0));
    }
}
