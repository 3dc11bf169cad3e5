//! Coordination through etcd (feature `etcd`): one lease per process kept alive every 500 ms,
//! writes bound to it, create-if-absent transactions, prefix counts, and watches that start from
//! a consistent snapshot and resynchronise after any stream failure, so a missed event can never
//! hide state.
//!
//! The [`Coordinator`] trait is the narrow edge the scheduler and the invoker agent depend on;
//! [`EtcdCoordinator`] is the real implementation.

mod etcd;
mod memory;

use std::future::Future;

use tokio::sync::mpsc;

pub use etcd::EtcdCoordinator;
pub use memory::MemoryCoordinator;

/// A coordination operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordinationError {
    /// etcd could not be reached or refused the request.
    #[error("etcd {operation} of {key:?} failed: {reason}")]
    Request {
        operation: &'static str,
        key: String,
        reason: String,
    },
    /// A stored key or value is not UTF-8.
    #[error("etcd returned a key or value under {key:?} that is not UTF-8")]
    NotUtf8 { key: String },
}

/// What a watch reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Every key under the prefix, at (re)start: replaces all earlier state.
    Snapshot(Vec<(String, String)>),
    /// A key was written.
    Put { key: String, value: String },
    /// A key was deleted (or its lease expired).
    Delete { key: String },
}

/// The etcd operations OpenWhisk components use.
pub trait Coordinator: Clone + Send + Sync + 'static {
    /// Writes `key` bound to this process's lease.
    fn put(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), CoordinationError>> + Send;
    /// Writes `key` with this process's lease only if it does not exist; true if written.
    fn put_if_absent(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<bool, CoordinationError>> + Send;
    /// Deletes `key`.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), CoordinationError>> + Send;
    /// Reads `key`.
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, CoordinationError>> + Send;
    /// Reads every key under `prefix`, in key order.
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, CoordinationError>> + Send;
    /// Counts the keys under `prefix`.
    fn count(&self, prefix: &str) -> impl Future<Output = Result<u64, CoordinationError>> + Send;
    /// Follows `prefix`: a snapshot first, then changes; a new snapshot after every reconnect.
    fn watch(&self, prefix: &str) -> mpsc::Receiver<WatchEvent>;
    /// Changes each time the lease was lost and replaced: keys written before are gone and must
    /// be written again.
    fn lease_epoch(&self) -> tokio::sync::watch::Receiver<u64>;
}
