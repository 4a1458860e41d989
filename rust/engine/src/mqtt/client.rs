//! One MQTT connection that stays up: it connects, subscribes, reconnects with backoff after an
//! outage, reports its state, hands incoming messages on, and tells publishers when the broker
//! acknowledged what they sent.
//!
//! Each connection attempt gets a fresh rumqttc client and event loop. rumqttc would otherwise
//! replay unacknowledged publishes after a reconnect on its own, behind the back of the sink
//! runtime that already retries them; with a fresh loop, a publish that was not acknowledged
//! fails, and the sink runtime decides what happens to it. Subscriptions are made again after
//! every connection; with a persistent session (a fixed client id, QoS 1 or 2) the broker keeps
//! what was published in between and delivers it after the reconnect.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5 as p5;
use rumqttc::{Outgoing, QoS, TlsConfiguration, Transport};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::conf::{ConnConf, Version};
use crate::metrics::ConnectionState;

const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The largest packet MQTT allows. rumqttc drops the whole connection on a packet over its
/// limit, which would make the broker redeliver it forever; the source applies its own, smaller
/// payload limit per message instead.
const MAX_PACKET: usize = 256 * 1024 * 1024 - 1;
/// Publishes in flight (sent, not yet acknowledged) per connection.
const INFLIGHT: u16 = 100;
/// Messages received that go on together at most.
const MAX_INBOX: usize = 256;
/// Requests (publishes, subscriptions, the disconnect) queued for the event loop.
const REQUESTS: usize = 1024;
/// Publishes handed to a connection and not yet acknowledged. Fewer than the request queue
/// holds, so that handing one over never waits: a publish waits for a permit instead, which it
/// can give up on cleanly at its deadline.
const OUTSTANDING: usize = REQUESTS - 16;

/// A message received on a subscription.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: Bytes,
    pub payload: Bytes,
    pub qos: u8,
    pub message_id: u16,
}

/// What a connection is for.
pub struct Options {
    pub conf: ConnConf,
    /// Filters to subscribe to after each connection (none for a sink).
    pub subscriptions: Vec<(String, QoS)>,
    /// A persistent session: the broker keeps subscriptions and queued messages while the
    /// client is away. Needs a fixed client id.
    pub persistent: bool,
    /// Where incoming messages go, in batches (what one read from the network brought); a full
    /// channel stops reading from the broker.
    pub incoming: Option<mpsc::Sender<Vec<Message>>>,
    /// A prefix for generated client ids, naming the rule.
    pub client_id_prefix: String,
}

/// A live connection to the broker: the client to publish with and its acknowledgements.
#[derive(Clone)]
enum Link {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

type AckResult = Result<(), PublishError>;

/// A publish waiting for the broker; it holds one of the connection's permits.
struct Waiter {
    qos: QoS,
    result: oneshot::Sender<AckResult>,
    _permit: OwnedSemaphorePermit,
}

impl Waiter {
    fn resolve(self, result: AckResult) {
        let _ = self.result.send(result);
    }
}

/// Publishes waiting for the broker, for one connection. The event loop reports each publish
/// it writes (in request order) with its packet id, then each acknowledgement by packet id:
/// waiters are queued in request order, so the n-th write is the n-th waiter's.
#[derive(Default)]
struct Acks {
    dead: Option<String>,
    unsent: VecDeque<Waiter>,
    sent: HashMap<u16, Waiter>,
}

impl Acks {
    fn written(&mut self, pkid: u16) {
        if let Some(waiter) = self.unsent.pop_front() {
            if waiter.qos == QoS::AtMostOnce {
                waiter.resolve(Ok(()));
            } else {
                self.sent.insert(pkid, waiter);
            }
        }
    }

    fn acknowledged(&mut self, pkid: u16, result: AckResult) {
        if let Some(waiter) = self.sent.remove(&pkid) {
            waiter.resolve(result);
        }
    }

    fn fail_all(&mut self, why: &str) {
        self.dead = Some(why.to_string());
        let lost = || Err(PublishError::Transient(format!("connection lost: {why}")));
        for waiter in self.unsent.drain(..) {
            waiter.resolve(lost());
        }
        for (_, waiter) in self.sent.drain() {
            waiter.resolve(lost());
        }
    }
}

struct Live {
    link: Link,
    acks: Arc<Mutex<Acks>>,
    permits: Arc<Semaphore>,
}

struct Shared {
    live: Mutex<Option<Live>>,
    connection: Arc<ConnectionState>,
    /// Whether a connection is up, for those who wait for one.
    up: watch::Sender<bool>,
}

/// Why a publish did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// Not connected, or the connection was lost before the broker acknowledged: try again.
    Transient(String),
    /// The broker refused this message (MQTT 5 reason codes): sending it again will not help.
    Refused(String),
}

/// A connection kept up by a background task until [`MqttClient::shutdown`] or drop.
pub struct MqttClient {
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    server: String,
}

static CLIENT_SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl MqttClient {
    /// Starts connecting in the background; the state shows in `connection`.
    pub fn start(options: Options, connection: Arc<ConnectionState>) -> MqttClient {
        connection.trying();
        let shared = Arc::new(Shared {
            live: Mutex::new(None),
            connection,
            up: watch::Sender::new(false),
        });
        let cancel = CancellationToken::new();
        let server = options.conf.server.clone();
        let task = tokio::spawn(run(options, shared.clone(), cancel.clone()));
        MqttClient {
            shared,
            cancel,
            task: Some(task),
            server,
        }
    }

    /// Hands a message to the connection, waiting until `deadline` at most while the broker is
    /// behind. The receiver resolves once the broker acknowledged it (QoS 1, 2) or it was
    /// written (QoS 0), or with the reason it was not.
    pub async fn publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: Vec<u8>,
        deadline: tokio::time::Instant,
    ) -> Result<oneshot::Receiver<AckResult>, PublishError> {
        let (link, acks, permits) = {
            let live = self.shared.live.lock().unwrap_or_else(|p| p.into_inner());
            match live.as_ref() {
                Some(live) => (live.link.clone(), live.acks.clone(), live.permits.clone()),
                None => return Err(PublishError::Transient(self.not_connected())),
            }
        };
        let permit = match tokio::time::timeout_at(deadline, permits.acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(PublishError::Transient(self.not_connected())),
            Err(_) => {
                return Err(PublishError::Transient(format!(
                    "the broker has not acknowledged the {OUTSTANDING} messages sent before"
                )));
            }
        };
        let (tx, rx) = oneshot::channel();
        let mut acks = acks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(why) = &acks.dead {
            return Err(PublishError::Transient(why.clone()));
        }
        // The request never waits (the permits keep the queue from filling up), so the waiter
        // and its request go in together, under the lock, in the same order.
        let sent = match link {
            Link::V4(client) => client.try_publish(topic, qos, retain, payload).is_ok(),
            Link::V5(client) => client
                .try_publish(topic, v5_qos(qos), retain, Bytes::from(payload))
                .is_ok(),
        };
        if !sent {
            // The event loop is gone: the connection dropped.
            return Err(PublishError::Transient(self.not_connected()));
        }
        acks.unsent.push_back(Waiter {
            qos,
            result: tx,
            _permit: permit,
        });
        Ok(rx)
    }

    /// Waits until connected, for at most `timeout`; whether it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut up = self.shared.up.subscribe();
        matches!(
            tokio::time::timeout(timeout, up.wait_for(|up| *up)).await,
            Ok(Ok(_))
        )
    }

    fn not_connected(&self) -> String {
        let why = self.shared.connection.last_disconnect_message();
        if why.is_empty() {
            format!("not connected to the MQTT broker {}", self.server)
        } else {
            format!("not connected to the MQTT broker {}: {why}", self.server)
        }
    }

    /// Disconnects cleanly (waiting a little for the broker) and stops reconnecting.
    pub async fn shutdown(mut self) {
        let live = self
            .shared
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(mut task) = self.task.take() else {
            return;
        };
        if let Some(live) = live {
            let sent = match live.link {
                Link::V4(client) => client.disconnect().await.is_ok(),
                Link::V5(client) => client.disconnect().await.is_ok(),
            };
            // The loop ends once the disconnect went out; a broker that does not take it in a
            // second is left behind.
            if sent
                && tokio::time::timeout(Duration::from_secs(1), &mut task)
                    .await
                    .is_ok()
            {
                return;
            }
        }
        self.cancel.cancel();
        let _ = task.await;
    }
}

impl Drop for MqttClient {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn v5_qos(qos: QoS) -> rumqttc::v5::mqttbytes::QoS {
    match qos {
        QoS::AtMostOnce => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::v5::mqttbytes::QoS::ExactlyOnce,
    }
}

/// What the event loop reported, whatever the protocol version.
enum Event {
    Connected {
        session_present: bool,
    },
    Message(Message),
    Written(u16),
    Acknowledged(u16, AckResult),
    SubscriptionRefused(String),
    /// The broker ended the connection.
    Disconnected,
    /// Our disconnect went out: the client is shutting down.
    Closed,
    Other,
}

#[allow(
    clippy::large_enum_variant,
    reason = "one event loop per connection, held in place while it lives"
)]
enum EventLoop {
    V4(rumqttc::EventLoop),
    V5(rumqttc::v5::EventLoop),
}

impl EventLoop {
    /// Whether the events of the last network read are all taken: the next poll waits.
    fn drained(&self) -> bool {
        match self {
            EventLoop::V4(events) => events.state.events.is_empty(),
            EventLoop::V5(events) => events.state.events.is_empty(),
        }
    }

    async fn poll(&mut self) -> Result<Event, String> {
        match self {
            EventLoop::V4(events) => match events.poll().await {
                Ok(event) => Ok(v4_event(event)),
                Err(e) => Err(v4_error(e)),
            },
            EventLoop::V5(events) => match events.poll().await {
                Ok(event) => Ok(v5_event(event)),
                Err(e) => Err(v5_error(e)),
            },
        }
    }
}

fn v4_event(event: rumqttc::Event) -> Event {
    use rumqttc::{Event as E, Packet};
    match event {
        E::Incoming(Packet::ConnAck(ack)) => Event::Connected {
            session_present: ack.session_present,
        },
        E::Incoming(Packet::Publish(p)) => Event::Message(Message {
            topic: Bytes::from(p.topic.into_bytes()),
            payload: p.payload,
            qos: p.qos as u8,
            message_id: p.pkid,
        }),
        E::Incoming(Packet::PubAck(ack)) => Event::Acknowledged(ack.pkid, Ok(())),
        E::Incoming(Packet::PubComp(comp)) => Event::Acknowledged(comp.pkid, Ok(())),
        E::Incoming(Packet::SubAck(ack)) => {
            if ack
                .return_codes
                .iter()
                .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure))
            {
                Event::SubscriptionRefused("the broker refused the subscription".into())
            } else {
                Event::Other
            }
        }
        E::Incoming(Packet::Disconnect) => Event::Disconnected,
        E::Outgoing(Outgoing::Publish(pkid)) => Event::Written(pkid),
        E::Outgoing(Outgoing::Disconnect) => Event::Closed,
        _ => Event::Other,
    }
}

fn v5_event(event: rumqttc::v5::Event) -> Event {
    use p5::Packet;
    use rumqttc::v5::Event as E;
    match event {
        E::Incoming(Packet::ConnAck(ack)) => Event::Connected {
            session_present: ack.session_present,
        },
        E::Incoming(Packet::Publish(p)) => Event::Message(Message {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos as u8,
            message_id: p.pkid,
        }),
        E::Incoming(Packet::PubAck(ack)) => {
            let result = match ack.reason {
                p5::PubAckReason::Success | p5::PubAckReason::NoMatchingSubscribers => Ok(()),
                other => Err(PublishError::Refused(format!(
                    "the broker refused the message: {other:?}"
                ))),
            };
            Event::Acknowledged(ack.pkid, result)
        }
        E::Incoming(Packet::PubRec(rec)) => match rec.reason {
            p5::PubRecReason::Success | p5::PubRecReason::NoMatchingSubscribers => Event::Other,
            other => Event::Acknowledged(
                rec.pkid,
                Err(PublishError::Refused(format!(
                    "the broker refused the message: {other:?}"
                ))),
            ),
        },
        E::Incoming(Packet::PubComp(comp)) => Event::Acknowledged(comp.pkid, Ok(())),
        E::Incoming(Packet::SubAck(ack)) => {
            match ack
                .return_codes
                .iter()
                .find(|c| !matches!(c, p5::SubscribeReasonCode::Success(_)))
            {
                Some(code) => Event::SubscriptionRefused(format!(
                    "the broker refused the subscription: {code:?}"
                )),
                None => Event::Other,
            }
        }
        E::Incoming(Packet::Disconnect(_)) => Event::Disconnected,
        E::Outgoing(Outgoing::Publish(pkid)) => Event::Written(pkid),
        E::Outgoing(Outgoing::Disconnect) => Event::Closed,
        _ => Event::Other,
    }
}

fn v4_error(e: rumqttc::ConnectionError) -> String {
    use rumqttc::{ConnectReturnCode as C, ConnectionError as E};
    match e {
        E::ConnectionRefused(code) => refused(match code {
            C::BadUserNamePassword => "bad user name or password",
            C::NotAuthorized => "not authorized",
            C::BadClientId => "client id rejected",
            C::RefusedProtocolVersion => "protocol version not supported",
            C::ServiceUnavailable => "server unavailable",
            C::Success => "no reason given",
        }),
        other => other.to_string(),
    }
}

fn v5_error(e: rumqttc::v5::ConnectionError) -> String {
    use rumqttc::v5::ConnectionError as E;
    match e {
        E::ConnectionRefused(code) => refused(&format!("{code:?}")),
        other => other.to_string(),
    }
}

fn refused(why: &str) -> String {
    format!("the broker refused the connection: {why}")
}

fn client_id(options: &Options) -> String {
    options.conf.client_id.clone().unwrap_or_else(|| {
        let n = CLIENT_SEQUENCE.fetch_add(1, Ordering::Relaxed);
        format!("{}-{}-{n}", options.client_id_prefix, std::process::id())
    })
}

fn transport(conf: &ConnConf) -> Result<Transport, String> {
    match &conf.tls {
        None => Ok(Transport::tcp()),
        Some(tls) => Ok(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(tls.client_config()?),
        ))),
    }
}

fn connect(options: &Options) -> Result<(Link, EventLoop), String> {
    let conf = &options.conf;
    let id = client_id(options);
    let transport = transport(conf)?;
    match conf.version {
        Version::V311 => {
            let mut o = rumqttc::MqttOptions::new(id, conf.host.clone(), conf.port);
            o.set_keep_alive(conf.keep_alive)
                .set_clean_session(!options.persistent)
                .set_max_packet_size(MAX_PACKET, MAX_PACKET)
                .set_inflight(INFLIGHT)
                .set_transport(transport);
            if let Some((user, password)) = &conf.credentials {
                o.set_credentials(user.clone(), password.clone());
            }
            let (client, events) = rumqttc::AsyncClient::new(o, REQUESTS);
            Ok((Link::V4(client), EventLoop::V4(events)))
        }
        Version::V5 => {
            let mut o = rumqttc::v5::MqttOptions::new(id, conf.host.clone(), conf.port);
            o.set_keep_alive(conf.keep_alive)
                .set_clean_start(!options.persistent)
                .set_max_packet_size(Some(MAX_PACKET as u32))
                .set_outgoing_inflight_upper_limit(INFLIGHT)
                .set_transport(transport);
            if options.persistent {
                // MQTT 5 ends a session when the connection closes unless told otherwise.
                o.set_session_expiry_interval(Some(u32::MAX));
            }
            if let Some((user, password)) = &conf.credentials {
                o.set_credentials(user.clone(), password.clone());
            }
            let (client, events) = rumqttc::v5::AsyncClient::new(o, REQUESTS);
            Ok((Link::V5(client), EventLoop::V5(events)))
        }
    }
}

async fn subscribe(link: &Link, subscriptions: &[(String, QoS)]) -> Result<(), String> {
    if subscriptions.is_empty() {
        return Ok(());
    }
    let sent = match link {
        Link::V4(client) => {
            let filters = subscriptions
                .iter()
                .map(|(topic, qos)| rumqttc::SubscribeFilter::new(topic.clone(), *qos));
            client
                .subscribe_many(filters)
                .await
                .map_err(|e| e.to_string())
        }
        Link::V5(client) => {
            let filters = subscriptions
                .iter()
                .map(|(topic, qos)| p5::Filter::new(topic.clone(), v5_qos(*qos)));
            client
                .subscribe_many(filters)
                .await
                .map_err(|e| e.to_string())
        }
    };
    sent.map_err(|e| format!("cannot subscribe: {e}"))
}

/// Connects, serves the connection until it drops, and starts over, until cancelled.
async fn run(options: Options, shared: Arc<Shared>, cancel: CancellationToken) {
    let mut backoff = MIN_BACKOFF;
    while !cancel.is_cancelled() {
        shared.connection.trying();
        let why = match connect(&options) {
            Ok((link, events)) => {
                let served = serve(&options, &shared, &cancel, link, events, &mut backoff).await;
                match served {
                    Some(why) => why,
                    None => return,
                }
            }
            Err(e) => e,
        };
        shared.connection.disconnected(&why);
        tracing::warn!(
            target: "sinkbridge.mqtt",
            "MQTT broker {}: {why}; reconnecting in {backoff:?}",
            options.conf.server
        );
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Serves one connection. `None` when it ended because the client is shutting down, else why
/// it was lost.
async fn serve(
    options: &Options,
    shared: &Shared,
    cancel: &CancellationToken,
    link: Link,
    mut events: EventLoop,
    backoff: &mut Duration,
) -> Option<String> {
    let acks = Arc::new(Mutex::new(Acks::default()));
    let mut inbox: Vec<Message> = Vec::new();
    let lost = loop {
        // Messages go on once per network read rather than one by one.
        if let Some(incoming) = &options.incoming
            && !inbox.is_empty()
            && (events.drained() || inbox.len() >= MAX_INBOX)
        {
            let batch = std::mem::take(&mut inbox);
            tokio::select! {
                _ = cancel.cancelled() => break None,
                sent = incoming.send(batch) => if sent.is_err() { break None },
            }
        }
        let event = tokio::select! {
            _ = cancel.cancelled() => break None,
            event = events.poll() => event,
        };
        match event {
            Err(e) => break Some(e),
            Ok(Event::Connected { session_present }) => {
                tracing::info!(
                    target: "sinkbridge.mqtt",
                    "connected to the MQTT broker {} (session present: {session_present})",
                    options.conf.server
                );
                if let Err(e) = subscribe(&link, &options.subscriptions).await {
                    break Some(e);
                }
                *backoff = MIN_BACKOFF;
                shared.connection.connected();
                *shared.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(Live {
                    link: link.clone(),
                    acks: acks.clone(),
                    permits: Arc::new(Semaphore::new(OUTSTANDING)),
                });
                shared.up.send_replace(true);
            }
            Ok(Event::Message(message)) => {
                if options.incoming.is_some() {
                    inbox.push(message);
                }
            }
            Ok(Event::Written(pkid)) => lock(&acks).written(pkid),
            Ok(Event::Acknowledged(pkid, result)) => lock(&acks).acknowledged(pkid, result),
            Ok(Event::SubscriptionRefused(why)) => {
                tracing::error!(target: "sinkbridge.mqtt", "MQTT broker {}: {why}", options.conf.server);
                shared.connection.disconnected(&why);
            }
            Ok(Event::Disconnected) => break Some("the broker closed the connection".into()),
            Ok(Event::Closed) => break None,
            Ok(Event::Other) => {}
        }
    };
    shared.live.lock().unwrap_or_else(|p| p.into_inner()).take();
    shared.up.send_replace(false);
    lock(&acks).fail_all(lost.as_deref().unwrap_or("the connection was closed"));
    lost
}

fn lock(acks: &Mutex<Acks>) -> std::sync::MutexGuard<'_, Acks> {
    acks.lock().unwrap_or_else(|p| p.into_inner())
}
