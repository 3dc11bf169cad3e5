//! etcd v3 through etcd-client: connection, leases and keep-alive, the key operations OpenWhisk uses
//! (spec 5), and a per-test cluster name so tests don't see each other's keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow};
use std::collections::VecDeque;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions, PutOptions,
    Txn, TxnOp, WatchOptions, WatchStream,
};
use tokio::task::JoinHandle;

use crate::env::{services, unreachable};
use crate::unique;

/// Connects to `OW_ETCD_ENDPOINTS` and checks that etcd answers (`Status`).
pub async fn connect() -> anyhow::Result<Client> {
    connect_to(&services().etcd_endpoints).await
}

/// Connects to `endpoints` and checks that etcd answers (`Status`).
pub async fn connect_to(endpoints: &[String]) -> anyhow::Result<Client> {
    let shown = endpoints.join(",");
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(3))
        .with_timeout(Duration::from_secs(5));
    let mut client = Client::connect(endpoints, Some(options))
        .await
        .with_context(|| unreachable("etcd", &shown))?;
    client
        .status()
        .await
        .with_context(|| unreachable("etcd", &shown))?;
    Ok(client)
}

/// Grants a lease of `ttl_s` seconds; returns its id.
pub async fn grant_lease(client: &mut Client, ttl_s: i64) -> anyhow::Result<i64> {
    let r = client
        .lease_grant(ttl_s, None)
        .await
        .with_context(|| format!("etcd: grant a lease of {ttl_s} s"))?;
    Ok(r.id())
}

/// The remaining TTL of `lease` in seconds (-1 if it has expired or was revoked).
pub async fn lease_ttl(client: &mut Client, lease: i64) -> anyhow::Result<i64> {
    let r = client
        .lease_time_to_live(lease, None)
        .await
        .with_context(|| format!("etcd: time to live of lease {lease:x}"))?;
    Ok(r.ttl())
}

/// `Put(key, value)` attached to `lease` (OpenWhisk writes every key with its component's lease).
pub async fn put_with_lease(
    client: &mut Client,
    key: &str,
    value: &str,
    lease: i64,
) -> anyhow::Result<()> {
    client
        .put(key, value, Some(PutOptions::new().with_lease(lease)))
        .await
        .with_context(|| format!("etcd: put {key} = {value:?} with lease {lease:x}"))?;
    Ok(())
}

/// The value of `key`, if present.
pub async fn get(client: &mut Client, key: &str) -> anyhow::Result<Option<String>> {
    let r = client
        .get(key, None)
        .await
        .with_context(|| format!("etcd: get {key}"))?;
    r.kvs()
        .first()
        .map(|kv| kv.value_str().map(str::to_owned))
        .transpose()
        .with_context(|| format!("etcd: value of {key} is not UTF-8"))
}

/// Every key below `prefix` with its value, in key order.
pub async fn list_prefix(
    client: &mut Client,
    prefix: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let r = client
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await
        .with_context(|| format!("etcd: list prefix {prefix}"))?;
    r.kvs()
        .iter()
        .map(|kv| Ok((kv.key_str()?.to_owned(), kv.value_str()?.to_owned())))
        .collect::<Result<_, etcd_client::Error>>()
        .with_context(|| format!("etcd: keys below {prefix} are not UTF-8"))
}

/// Deletes every key below `prefix`; returns how many were deleted.
pub async fn delete_prefix(client: &mut Client, prefix: &str) -> anyhow::Result<i64> {
    anyhow::ensure!(
        !prefix.is_empty(),
        "etcd: refusing to delete the empty prefix (every key)"
    );
    let r = client
        .delete(prefix, Some(DeleteOptions::new().with_prefix()))
        .await
        .with_context(|| format!("etcd: delete prefix {prefix}"))?;
    Ok(r.deleted())
}

/// OpenWhisk's create-if-absent (`RegisterInitialData`, queue leader election):
/// `Txn(If Version(key) == 0 Then Put(key, value[, lease]))`. Returns whether the put happened.
pub async fn create_if_absent(
    client: &mut Client,
    key: &str,
    value: &str,
    lease: Option<i64>,
) -> anyhow::Result<bool> {
    let options = lease.map(|l| PutOptions::new().with_lease(l));
    let txn = Txn::new()
        .when([Compare::version(key, CompareOp::Equal, 0)])
        .and_then([TxnOp::put(key, value, options)]);
    let r = client
        .txn(txn)
        .await
        .with_context(|| format!("etcd: create-if-absent {key} = {value:?}"))?;
    Ok(r.succeeded())
}

/// A lease kept alive in the background, as OpenWhisk components do (one `LeaseKeepAlive` every
/// `interval`, 500 ms in OpenWhisk). Stopping (or dropping) it ends the keep-alive stream without
/// revoking the lease, so the lease then expires after its TTL, as when a component dies.
#[derive(Debug)]
pub struct KeepAlive {
    lease: i64,
    acks: Arc<AtomicU64>,
    last_ttl: Arc<AtomicI64>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl KeepAlive {
    /// Starts keeping `lease` alive.
    pub async fn start(
        client: &mut Client,
        lease: i64,
        interval: Duration,
    ) -> anyhow::Result<Self> {
        let (mut keeper, mut stream) = client
            .lease_keep_alive(lease)
            .await
            .with_context(|| format!("etcd: open the keep-alive stream of lease {lease:x}"))?;
        let acks = Arc::new(AtomicU64::new(0));
        let last_ttl = Arc::new(AtomicI64::new(0));
        let (a, t) = (acks.clone(), last_ttl.clone());
        let task = tokio::spawn(async move {
            loop {
                keeper
                    .keep_alive()
                    .await
                    .with_context(|| format!("etcd: keep-alive of lease {lease:x}"))?;
                let resp = stream
                    .message()
                    .await
                    .with_context(|| format!("etcd: keep-alive answer for lease {lease:x}"))?
                    .ok_or_else(|| anyhow!("etcd: keep-alive stream of lease {lease:x} ended"))?;
                t.store(resp.ttl(), Ordering::SeqCst);
                a.fetch_add(1, Ordering::SeqCst);
                if resp.ttl() <= 0 {
                    anyhow::bail!(
                        "etcd: lease {lease:x} is gone (keep-alive answered TTL {})",
                        resp.ttl()
                    );
                }
                tokio::time::sleep(interval).await;
            }
        });
        Ok(Self {
            lease,
            acks,
            last_ttl,
            task,
        })
    }

    /// The lease id.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// How many keep-alives etcd has answered.
    pub fn acks(&self) -> u64 {
        self.acks.load(Ordering::SeqCst)
    }

    /// The TTL etcd answered last (seconds).
    pub fn last_ttl(&self) -> i64 {
        self.last_ttl.load(Ordering::SeqCst)
    }

    /// Whether the keep-alive loop still runs (it stops on any error).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Stops sending keep-alives; returns the loop's error if it had already failed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if self.task.is_finished() {
            return (&mut self.task).await.context("etcd: keep-alive task")?;
        }
        self.task.abort();
        let _ = (&mut self.task).await;
        Ok(())
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One watch event: a put or a delete of a key (with the value put, empty for deletes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// `true` for a put, `false` for a delete (also by lease expiry).
    pub put: bool,
    /// The key.
    pub key: String,
    /// The value put (empty for a delete).
    pub value: String,
}

/// A watch on every key below a prefix, delivering events one at a time.
#[derive(Debug)]
pub struct PrefixWatch {
    prefix: String,
    stream: WatchStream,
    pending: VecDeque<WatchEvent>,
}

impl PrefixWatch {
    /// Starts watching `prefix`; events of writes made after this returns are delivered.
    pub async fn start(client: &mut Client, prefix: &str) -> anyhow::Result<Self> {
        let stream = client
            .watch(prefix, Some(WatchOptions::new().with_prefix()))
            .await
            .with_context(|| format!("etcd: watch prefix {prefix}"))?;
        Ok(Self {
            prefix: prefix.to_owned(),
            stream,
            pending: VecDeque::new(),
        })
    }

    /// The next event, waiting at most `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> anyhow::Result<WatchEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(e);
            }
            let msg = tokio::time::timeout_at(deadline, self.stream.message())
                .await
                .map_err(|_| anyhow!("etcd: no event below {} within {timeout:?}", self.prefix))?
                .with_context(|| format!("etcd: watch of {}", self.prefix))?
                .ok_or_else(|| anyhow!("etcd: the watch of {} ended", self.prefix))?;
            if msg.canceled() {
                anyhow::bail!(
                    "etcd: the watch of {} was canceled: {}",
                    self.prefix,
                    msg.cancel_reason()
                );
            }
            for e in msg.events() {
                let Some(kv) = e.kv() else { continue };
                self.pending.push_back(WatchEvent {
                    put: e.event_type() == EventType::Put,
                    key: String::from_utf8_lossy(kv.key()).into_owned(),
                    value: String::from_utf8_lossy(kv.value()).into_owned(),
                });
            }
        }
    }
}

/// A cluster name (`whisk.cluster.name`) unique to one test: every key the test writes goes below
/// `<name>/`, and [`TestCluster::cleanup`] deletes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCluster {
    name: String,
}

impl TestCluster {
    /// A fresh cluster name tagged with `tag`.
    pub fn new(tag: &str) -> Self {
        Self {
            name: unique::cluster_name(tag),
        }
    }

    /// The cluster name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<name>/<rest>`.
    pub fn key(&self, rest: &str) -> String {
        format!("{}/{rest}", self.name)
    }

    /// `<name>/`, the prefix of all this test's keys.
    pub fn prefix(&self) -> String {
        format!("{}/", self.name)
    }

    /// Deletes every key of this cluster; returns how many.
    pub async fn cleanup(&self, client: &mut Client) -> anyhow::Result<i64> {
        delete_prefix(client, &self.prefix()).await
    }
}
