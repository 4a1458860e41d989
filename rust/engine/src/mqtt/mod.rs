//! MQTT, with rumqttc: the connection properties the source and the sink share, and a
//! connection that stays up across broker outages.

mod client;
mod conf;

pub use client::{Message, MqttClient, Options, PublishError};
pub use conf::{CONNECTION_PROPERTIES, ConnConf, read_conn, read_qos, read_size};
