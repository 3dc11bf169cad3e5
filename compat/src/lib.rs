//! Apache OpenWhisk's wire contracts in Rust, byte-compatible with the Scala implementation.
//!
//! - [`json`]: spray-json's compact printer, Scala's key orders, readers with JSON paths;
//! - [`values`]: ids, names, limits, parameters, `exec`, instance ids;
//! - [`messages`]: Kafka messages (activations, container commands, acks, events);
//! - [`records`]: CouchDB documents, activation records, runtime `/init` and `/run` bodies;
//! - [`runtimes`]: the runtimes manifest;
//! - [`codec`]: decoding and encoding whole documents, and the registry `ow-wire` uses;
//! - `bus` (feature `kafka`): Kafka as OpenWhisk uses it, and an in-process bus;
//! - `coordination` (feature `etcd`): leases, writes, transactions and watches on etcd;
//! - [`grpc`]: `activation.ActivationService` (prost/tonic) and its JSON-in-string fields;
//! - [`etcd_keys`]: the etcd key catalog, builders and parser;
//! - [`duration`]: HOCON / Scala duration strings; [`ids`]: fresh ids and the clock;
//! - `store` (feature `couchdb`): CouchDB documents over HTTP, and an in-memory store;
//! - [`topics`]: Kafka topic names, topic configs, consumer/producer settings;
//! - [`admin`]: the admin routes' basic auth and 401 body, and the shutdown signal wait.

pub mod admin;
#[cfg(feature = "kafka")]
pub mod bus;
pub mod codec;
#[cfg(feature = "etcd")]
pub mod coordination;
pub mod duration;
pub mod etcd_keys;
pub mod grpc;
pub mod ids;
pub mod json;
pub mod messages;
pub mod records;
pub mod runtimes;
#[cfg(feature = "couchdb")]
pub mod store;
pub mod topics;
pub mod values;

pub use codec::{Codec, WireError};
