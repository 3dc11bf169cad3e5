//! The OpenWhisk scheduler: per-action queues, pull-based dispatch over gRPC and container
//! provisioning coordinated through etcd. Work in progress; see the project's issues.
//!
//! - [`decision`]: the provisioning rule run every tick for each queue (pure).
//! - [`placement`]: choosing invokers for a batch of container creations (pure).
//! - [`queue`]: the per-action queue state machine (pure).

pub mod config;
pub mod decision;
pub mod placement;
pub mod queue;
