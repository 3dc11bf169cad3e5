//! What the scheduler follows in etcd: running, in-progress and paused containers, invokers,
//! and its own leader keys. Every watch starts from a snapshot and resynchronises after a
//! failure; differences against the previous snapshot are applied as puts and deletes, so a
//! missed event cannot hide state.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use ow_compat::Codec;
use ow_compat::coordination::{Coordinator, WatchEvent};
use ow_compat::etcd_keys::{ContainerKind, EtcdKey};
use ow_compat::messages::InvokerResourceMessage;

use super::{Engine, QueueKey, effects};
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

/// Keys of one namespace's running containers and in-progress creations.
type NamespaceKeys = (BTreeSet<String>, BTreeSet<String>);

/// The cluster as seen through the watches.
#[derive(Debug, Default)]
pub struct ClusterView {
    /// Per invocation namespace: running container keys, in-progress creation keys.
    namespaces: Mutex<HashMap<String, NamespaceKeys>>,
    /// Keys of paused containers.
    pub warmed: Mutex<BTreeSet<String>>,
    /// Invoker key → its resource message (unparsable values are left out: offline).
    pub invokers: Mutex<BTreeMap<String, InvokerResourceMessage>>,
}

/// (existing, in-progress) containers of `namespace`, across all schedulers and actions.
pub fn namespace_counts<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    namespace: &str,
) -> (u32, u32) {
    let map = engine.view.namespaces.lock();
    let Ok(map) = map else { return (0, 0) };
    map.get(namespace).map_or((0, 0), |(e, p)| {
        (
            u32::try_from(e.len()).unwrap_or(u32::MAX),
            u32::try_from(p.len()).unwrap_or(u32::MAX),
        )
    })
}

/// Starts the watches.
pub async fn start<B: MessageBus, C: Coordinator, S: Store>(engine: &Engine<B, C, S>) {
    for kind in [
        ContainerKind::Namespace,
        ContainerKind::InProgress,
        ContainerKind::Warmed,
    ] {
        follow(engine, engine.cluster.container_root(kind));
    }
    follow(engine, engine.cluster.invokers_prefix());
    follow(engine, engine.cluster.queue_prefix());
}

fn follow<B: MessageBus, C: Coordinator, S: Store>(engine: &Engine<B, C, S>, prefix: String) {
    let mut rx = engine.coord.watch(&prefix);
    let engine = Arc::clone(engine);
    tokio::spawn(async move {
        let mut known: BTreeMap<String, String> = BTreeMap::new();
        while let Some(event) = rx.recv().await {
            for change in diff(&mut known, event) {
                apply(&engine, change).await;
            }
        }
    });
}

enum Change {
    Put(String, String),
    Delete(String),
}

/// Turns a watch event into changes against what is already known.
fn diff(known: &mut BTreeMap<String, String>, event: WatchEvent) -> Vec<Change> {
    match event {
        WatchEvent::Put { key, value } => {
            known.insert(key.clone(), value.clone());
            vec![Change::Put(key, value)]
        }
        WatchEvent::Delete { key } => {
            known.remove(&key);
            vec![Change::Delete(key)]
        }
        WatchEvent::Snapshot(pairs) => {
            let fresh: BTreeMap<String, String> = pairs.into_iter().collect();
            let mut out: Vec<Change> = known
                .keys()
                .filter(|k| !fresh.contains_key(*k))
                .map(|k| Change::Delete(k.clone()))
                .collect();
            out.extend(
                fresh
                    .iter()
                    .filter(|(k, v)| known.get(*k) != Some(*v))
                    .map(|(k, v)| Change::Put(k.clone(), v.clone())),
            );
            *known = fresh;
            out
        }
    }
}

async fn apply<B: MessageBus, C: Coordinator, S: Store>(engine: &Engine<B, C, S>, change: Change) {
    let (key, value) = match &change {
        Change::Put(k, v) => (k.as_str(), Some(v.as_str())),
        Change::Delete(k) => (k.as_str(), None),
    };
    let Ok(parsed) = engine.cluster.parse(key) else {
        return;
    };
    match parsed {
        EtcdKey::NamespaceContainer {
            inv_ns,
            fqn,
            rev,
            container_id,
            ..
        } => {
            track(engine, &inv_ns, key, value.is_some(), true);
            let qkey = QueueKey {
                invocation_namespace: inv_ns,
                doc_id: fqn,
                revision: rev.unwrap_or_else(|| "null".into()),
            };
            container_changed(engine, &qkey, &container_id, value.is_some()).await;
        }
        EtcdKey::InProgress {
            inv_ns,
            fqn,
            rev,
            creation_id,
            ..
        } => {
            track(engine, &inv_ns, key, value.is_some(), false);
            let qkey = QueueKey {
                invocation_namespace: inv_ns,
                doc_id: fqn,
                revision: rev.unwrap_or_else(|| "null".into()),
            };
            if let Some(cell) = engine.registry.get(&qkey)
                && let Ok(mut q) = cell.queue.lock()
            {
                if value.is_some() {
                    q.creation_started(&creation_id)
                } else {
                    q.creation_key_gone(&creation_id)
                }
            }
        }
        EtcdKey::WarmedContainer { .. } => {
            if let Ok(mut w) = engine.view.warmed.lock() {
                if value.is_some() {
                    w.insert(key.to_owned())
                } else {
                    w.remove(key)
                };
            }
        }
        EtcdKey::Invoker { .. } => invoker_changed(engine, key, value),
        EtcdKey::QueueLeader { inv_ns, fqn } if value.is_none() => {
            let ours = engine
                .registry
                .all()
                .into_iter()
                .filter(|c| c.key.invocation_namespace == inv_ns && c.key.doc_id == fqn);
            for cell in ours.collect::<Vec<_>>() {
                super::failover::reclaim(engine, &cell).await;
            }
        }
        _ => {}
    }
}

fn track<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    ns: &str,
    key: &str,
    present: bool,
    running: bool,
) {
    let Ok(mut map) = engine.view.namespaces.lock() else {
        return;
    };
    let entry = map.entry(ns.to_owned()).or_default();
    let set = if running { &mut entry.0 } else { &mut entry.1 };
    if present {
        set.insert(key.to_owned());
    } else {
        set.remove(key);
    }
}

async fn container_changed<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    qkey: &QueueKey,
    container_id: &str,
    present: bool,
) {
    let Some(cell) = engine.registry.get(qkey) else {
        return;
    };
    let out = match cell.queue.lock() {
        Ok(mut q) if present => {
            q.container_seen(container_id, engine.now());
            Vec::new()
        }
        Ok(mut q) => q.container_gone(container_id),
        Err(_) => return,
    };
    effects::run(engine, &cell, out).await;
}

fn invoker_changed<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    key: &str,
    value: Option<&str>,
) {
    let Ok(mut invokers) = engine.view.invokers.lock() else {
        return;
    };
    match value.map(|v| InvokerResourceMessage::decode(v.as_bytes())) {
        Some(Ok(msg)) => {
            invokers.insert(key.to_owned(), msg);
        }
        Some(Err(e)) => {
            tracing::warn!(%key, error = %e, "invoker state does not decode; treating the invoker as offline");
            invokers.remove(key);
        }
        None => {
            invokers.remove(key);
        }
    }
}
