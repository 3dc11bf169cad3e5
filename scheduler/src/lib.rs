//! The OpenWhisk scheduler: per-action queues, pull-based dispatch over gRPC and container
//! provisioning coordinated through etcd, speaking the stock contracts.
//!
//! Pure decisions: [`decision`] (provisioning rule), [`placement`] (invoker choice), [`queue`]
//! (per-action state machine), [`config`] (settings). I/O edges: Kafka through `ow_compat::bus`, `ow_compat::store`
//! (CouchDB), etcd through `ow_compat::coordination`. Wiring: [`engine`] (tasks and shared
//! state), [`service`] (gRPC), [`admin`] (HTTP), [`metrics`].

pub mod admin;
pub mod config;
pub mod decision;
pub mod engine;
pub mod metrics;
pub mod placement;
pub mod queue;
pub mod service;
pub mod standalone;
