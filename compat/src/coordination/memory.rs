//! An in-process `Coordinator` for benchmarks and the standalone mode: one map, prefix watches,
//! and a lease that never expires.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, watch};

use super::{CoordinationError, Coordinator, WatchEvent};

#[derive(Debug, Default)]
struct State {
    kv: BTreeMap<String, String>,
    watchers: Vec<(String, mpsc::UnboundedSender<WatchEvent>)>,
}

/// Keys and watches held in memory.
#[derive(Debug, Clone)]
pub struct MemoryCoordinator {
    state: Arc<Mutex<State>>,
    epoch: watch::Receiver<u64>,
    _epoch_tx: Arc<watch::Sender<u64>>,
}

impl Default for MemoryCoordinator {
    fn default() -> Self {
        let (tx, rx) = watch::channel(0);
        Self {
            state: Arc::default(),
            epoch: rx,
            _epoch_tx: Arc::new(tx),
        }
    }
}

impl MemoryCoordinator {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }
}

fn notify(state: &mut State, key: &str, event: &WatchEvent) {
    state
        .watchers
        .retain(|(prefix, tx)| !key.starts_with(prefix.as_str()) || tx.send(event.clone()).is_ok());
}

impl Coordinator for MemoryCoordinator {
    async fn put(&self, key: &str, value: &str) -> Result<(), CoordinationError> {
        self.with(|s| {
            s.kv.insert(key.to_owned(), value.to_owned());
            notify(
                s,
                key,
                &WatchEvent::Put {
                    key: key.to_owned(),
                    value: value.to_owned(),
                },
            );
        });
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &str) -> Result<bool, CoordinationError> {
        Ok(self.with(|s| {
            if s.kv.contains_key(key) {
                return false;
            }
            s.kv.insert(key.to_owned(), value.to_owned());
            notify(
                s,
                key,
                &WatchEvent::Put {
                    key: key.to_owned(),
                    value: value.to_owned(),
                },
            );
            true
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), CoordinationError> {
        self.with(|s| {
            if s.kv.remove(key).is_some() {
                notify(
                    s,
                    key,
                    &WatchEvent::Delete {
                        key: key.to_owned(),
                    },
                );
            }
        });
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CoordinationError> {
        Ok(self.with(|s| s.kv.get(key).cloned()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, CoordinationError> {
        Ok(self.with(|s| {
            s.kv.range(prefix.to_owned()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }))
    }

    async fn count(&self, prefix: &str) -> Result<u64, CoordinationError> {
        self.list(prefix).await.map(|l| l.len() as u64)
    }

    fn watch(&self, prefix: &str) -> mpsc::Receiver<WatchEvent> {
        let (inner_tx, mut inner_rx) = mpsc::unbounded_channel();
        self.with(|s| {
            let snapshot =
                s.kv.range(prefix.to_owned()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
            // The snapshot goes first: it is queued before any later change can be.
            let _ = inner_tx.send(WatchEvent::Snapshot(snapshot));
            s.watchers.push((prefix.to_owned(), inner_tx));
        });
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(event) = inner_rx.recv().await {
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        rx
    }

    fn lease_epoch(&self) -> watch::Receiver<u64> {
        self.epoch.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn watches_see_a_snapshot_then_changes_under_their_prefix_only() {
        let c = MemoryCoordinator::default();
        c.put("a/1", "x").await.ok();
        let mut rx = c.watch("a/");
        assert_eq!(
            rx.recv().await,
            Some(WatchEvent::Snapshot(vec![("a/1".into(), "x".into())]))
        );
        assert_eq!(c.put_if_absent("a/1", "y").await, Ok(false));
        c.put("b/1", "z").await.ok();
        c.delete("a/1").await.ok();
        assert_eq!(
            rx.recv().await,
            Some(WatchEvent::Delete { key: "a/1".into() })
        );
        assert_eq!(c.count("a/").await, Ok(0));
    }
}
