//! The etcd coordinator against the real etcd of `tests/services/up` (127.0.0.1:2379, or
//! `OW_ETCD_ENDPOINTS`).

use std::time::Duration;

use ow_compat::coordination::{Coordinator, EtcdCoordinator, WatchEvent};
use tokio_util::sync::CancellationToken;

fn endpoints() -> Vec<String> {
    std::env::var("OW_ETCD_ENDPOINTS")
        .unwrap_or_else(|_| "127.0.0.1:2379".into())
        .split(',')
        .map(str::to_owned)
        .collect()
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("t{}-{nanos}-{name}", std::process::id())
}

async fn connect(cluster: &str, ttl: Duration, shutdown: &CancellationToken) -> EtcdCoordinator {
    EtcdCoordinator::connect(
        &endpoints(),
        ttl,
        format!("{cluster}/instance/scheduler0/lease"),
        shutdown.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e} (is etcd up? run tests/services/up)"))
}

async fn next(rx: &mut tokio::sync::mpsc::Receiver<WatchEvent>) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("watch event within 5 s")
        .expect("watch open")
}

#[tokio::test]
async fn leader_election_is_create_if_absent_on_the_lease() {
    let cluster = unique("leader");
    let shutdown = CancellationToken::new();
    let c = connect(&cluster, Duration::from_secs(10), &shutdown).await;
    let key = format!("{cluster}/queue/guest/guest/hello/leader");
    assert!(
        c.put_if_absent(&key, "{\"host\":\"a\"}")
            .await
            .expect("txn")
    );
    assert!(
        !c.put_if_absent(&key, "{\"host\":\"b\"}")
            .await
            .expect("txn")
    );
    assert_eq!(
        c.get(&key).await.expect("get").as_deref(),
        Some("{\"host\":\"a\"}")
    );
    assert_eq!(
        c.count(&format!("{cluster}/queue/")).await.expect("count"),
        1
    );
    c.revoke().await;
    let observer = connect(&unique("observer"), Duration::from_secs(10), &shutdown).await;
    assert_eq!(
        observer.get(&key).await.expect("get"),
        None,
        "revoking the lease removes its keys"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn keys_outlive_the_ttl_while_kept_alive_and_vanish_after() {
    let cluster = unique("lease");
    let owner_stop = CancellationToken::new();
    let owner = connect(&cluster, Duration::from_secs(2), &owner_stop).await;
    let key = format!("{cluster}/invokers/0");
    owner.put(&key, "{}").await.expect("put");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        owner.get(&key).await.expect("get").is_some(),
        "kept alive past the TTL"
    );
    owner_stop.cancel();
    let watcher_stop = CancellationToken::new();
    let watcher = connect(&unique("watcher"), Duration::from_secs(10), &watcher_stop).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while watcher.get(&key).await.expect("get").is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "key still there 8 s after the keep-alive stopped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    watcher_stop.cancel();
}

#[tokio::test]
async fn a_watch_starts_with_a_snapshot_then_follows_changes() {
    let cluster = unique("watch");
    let shutdown = CancellationToken::new();
    let c = connect(&cluster, Duration::from_secs(10), &shutdown).await;
    let prefix = format!("{cluster}/namespace/guest/");
    c.put(&format!("{prefix}a"), "").await.expect("put");
    let mut rx = c.watch(&prefix);
    assert_eq!(
        next(&mut rx).await,
        WatchEvent::Snapshot(vec![(format!("{prefix}a"), String::new())])
    );
    c.put(&format!("{prefix}b"), "x").await.expect("put");
    assert_eq!(
        next(&mut rx).await,
        WatchEvent::Put {
            key: format!("{prefix}b"),
            value: "x".into()
        }
    );
    c.delete(&format!("{prefix}a")).await.expect("delete");
    assert_eq!(
        next(&mut rx).await,
        WatchEvent::Delete {
            key: format!("{prefix}a")
        }
    );
    shutdown.cancel();
}
