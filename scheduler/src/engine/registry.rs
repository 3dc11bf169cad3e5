//! The queues this scheduler holds and the fetches waiting on them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use ow_compat::messages::ActivationMessage;
use ow_compat::records::WhiskActionMetaData;
use ow_compat::values::FullyQualifiedEntityName;
use tokio::sync::oneshot;

use crate::queue::{ActionQueue, PollAnswer, PollId};

/// (invocation namespace, action document id, revision text or `null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    pub invocation_namespace: String,
    pub doc_id: String,
    pub revision: String,
}

impl QueueKey {
    /// The key of the queue an activation belongs to.
    pub fn of(msg: &ActivationMessage) -> Self {
        Self {
            invocation_namespace: msg.user.namespace.name.to_string(),
            doc_id: msg.action.doc_id(),
            revision: msg.revision.to_string(),
        }
    }

    /// The revision as etcd keys and documents want it (`None` for `null`).
    pub fn rev(&self) -> Option<&str> {
        (self.revision != "null").then_some(self.revision.as_str())
    }
}

/// One queue and what the scheduler knows about its action.
#[derive(Debug)]
pub struct QueueCell {
    pub key: QueueKey,
    /// The name activations carry (with version and binding); fetches must match it.
    pub fqn: FullyQualifiedEntityName,
    pub action: WhiskActionMetaData,
    /// The state machine; never held across an `.await`.
    pub queue: Mutex<ActionQueue<Arc<ActivationMessage>>>,
    /// Namespace container limit in force (refreshed from the subjects database).
    pub namespace_limit: AtomicI64,
}

/// How a fetch ends.
#[derive(Debug, Clone)]
pub enum PollOutcome {
    /// An activation to run.
    Activation(Arc<ActivationMessage>),
    /// No activation.
    Empty(PollAnswer),
}

/// Queues by key, and the oneshot of every parked fetch.
#[derive(Debug, Default)]
pub struct Registry {
    queues: RwLock<HashMap<QueueKey, Arc<QueueCell>>>,
    polls: Mutex<HashMap<PollId, oneshot::Sender<PollOutcome>>>,
    next_poll: AtomicU64,
}

impl Registry {
    /// The queue for `key`.
    pub fn get(&self, key: &QueueKey) -> Option<Arc<QueueCell>> {
        self.queues.read().ok()?.get(key).cloned()
    }

    /// A queue of the same action with another revision.
    pub fn other_revision(&self, key: &QueueKey) -> Option<Arc<QueueCell>> {
        let queues = self.queues.read().ok()?;
        queues
            .values()
            .find(|c| {
                c.key.invocation_namespace == key.invocation_namespace
                    && c.key.doc_id == key.doc_id
                    && c.key != *key
            })
            .cloned()
    }

    /// Adds a queue.
    pub fn insert(&self, cell: Arc<QueueCell>) {
        if let Ok(mut q) = self.queues.write() {
            q.insert(cell.key.clone(), cell);
        }
    }

    /// Drops a queue.
    pub fn remove(&self, key: &QueueKey) {
        if let Ok(mut q) = self.queues.write() {
            q.remove(key);
        }
    }

    /// Every queue.
    pub fn all(&self) -> Vec<Arc<QueueCell>> {
        self.queues
            .read()
            .map(|q| q.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Registers a fetch; its outcome arrives on the receiver.
    pub fn park(&self) -> (PollId, oneshot::Receiver<PollOutcome>) {
        let id = self.next_poll.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.polls.lock() {
            p.insert(id, tx);
        }
        (id, rx)
    }

    /// Completes a fetch; false if it had already gone (its caller gave up).
    pub fn complete(&self, poll: PollId, outcome: PollOutcome) -> bool {
        let tx = self.polls.lock().ok().and_then(|mut p| p.remove(&poll));
        tx.is_some_and(|tx| tx.send(outcome).is_ok())
    }

    /// Forgets a fetch whose caller stopped waiting.
    pub fn forget(&self, poll: PollId) {
        if let Ok(mut p) = self.polls.lock() {
            p.remove(&poll);
        }
    }
}
