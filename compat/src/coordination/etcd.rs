//! `Coordinator` over etcd v3 (etcd-client).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp, WatchOptions};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{CoordinationError, Coordinator, WatchEvent};

/// How often the lease is refreshed, as the stock components do.
const KEEP_ALIVE_EVERY: Duration = Duration::from_millis(500);
/// How often a watch starts again from a fresh snapshot, even without errors.
const RESYNC_EVERY: Duration = Duration::from_secs(60);
/// Pause before a failed watch or lease is retried.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// etcd with one lease for this process.
#[derive(Clone)]
pub struct EtcdCoordinator {
    client: Client,
    lease: Arc<AtomicI64>,
    epoch: watch::Receiver<u64>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for EtcdCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdCoordinator")
            .field("lease", &self.lease_id())
            .finish()
    }
}

fn request_error(
    operation: &'static str,
    key: &str,
    e: impl std::fmt::Display,
) -> CoordinationError {
    CoordinationError::Request {
        operation,
        key: key.to_owned(),
        reason: e.to_string(),
    }
}

impl EtcdCoordinator {
    /// Connects, grants a lease of `ttl`, writes `lease_key` (the stock
    /// `<cluster>/instance/<id>/lease`) with it, and keeps it alive until `shutdown`.
    pub async fn connect(
        endpoints: &[String],
        ttl: Duration,
        lease_key: String,
        shutdown: CancellationToken,
    ) -> Result<Self, CoordinationError> {
        let endpoint_list = endpoints.join(",");
        let mut client = Client::connect(endpoints, None)
            .await
            .map_err(|e| request_error("connect", &endpoint_list, e))?;
        let ttl_secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(10);
        let id = grant(&mut client, ttl_secs, &lease_key).await?;
        let lease = Arc::new(AtomicI64::new(id));
        let (epoch_tx, epoch) = watch::channel(0);
        let keeper = LeaseKeeper {
            client: client.clone(),
            lease: Arc::clone(&lease),
            ttl_secs,
            lease_key,
            epoch_tx,
        };
        tokio::spawn(keeper.run(shutdown.clone()));
        Ok(Self {
            client,
            lease,
            epoch,
            shutdown,
        })
    }

    /// The current lease id.
    pub fn lease_id(&self) -> i64 {
        self.lease.load(Ordering::Acquire)
    }

    /// Revokes the lease (its keys vanish at once) and stops the keep-alive.
    pub async fn revoke(&self) {
        self.shutdown.cancel();
        let mut client = self.client.clone();
        if let Err(e) = client.lease_revoke(self.lease_id()).await {
            tracing::warn!(error = %e, "could not revoke the etcd lease; its keys expire with the TTL");
        }
    }

    fn leased(&self) -> PutOptions {
        PutOptions::new().with_lease(self.lease_id())
    }
}

async fn grant(
    client: &mut Client,
    ttl_secs: i64,
    lease_key: &str,
) -> Result<i64, CoordinationError> {
    let id = client
        .lease_grant(ttl_secs, None)
        .await
        .map_err(|e| request_error("lease grant", lease_key, e))?
        .id();
    client
        .put(
            lease_key,
            id.to_string(),
            Some(PutOptions::new().with_lease(id)),
        )
        .await
        .map_err(|e| request_error("put", lease_key, e))?;
    Ok(id)
}

struct LeaseKeeper {
    client: Client,
    lease: Arc<AtomicI64>,
    ttl_secs: i64,
    lease_key: String,
    epoch_tx: watch::Sender<u64>,
}

impl LeaseKeeper {
    /// Keeps the lease alive; when that fails (etcd unreachable long enough, lease revoked) it
    /// says so loudly, grants a new lease and bumps the epoch so owners write their keys again.
    async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let outcome = tokio::select! {
                () = shutdown.cancelled() => return,
                r = self.keep_alive_until_failure() => r,
            };
            tracing::error!(lease = self.lease.load(Ordering::Acquire), reason = %outcome,
                "etcd lease lost: every key of this process is gone; granting a new lease");
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RETRY_AFTER) => {}
                }
                match grant(&mut self.client, self.ttl_secs, &self.lease_key).await {
                    Ok(id) => {
                        self.lease.store(id, Ordering::Release);
                        self.epoch_tx.send_modify(|e| *e += 1);
                        tracing::warn!(
                            lease = id,
                            "new etcd lease granted; keys are being written again"
                        );
                        break;
                    }
                    Err(e) => tracing::error!(error = %e, "etcd lease grant failed; retrying"),
                }
            }
        }
    }

    async fn keep_alive_until_failure(&mut self) -> String {
        let id = self.lease.load(Ordering::Acquire);
        let (mut keeper, mut responses) = match self.client.lease_keep_alive(id).await {
            Ok(pair) => pair,
            Err(e) => return e.to_string(),
        };
        let mut ticker = tokio::time::interval(KEEP_ALIVE_EVERY);
        loop {
            ticker.tick().await;
            if let Err(e) = keeper.keep_alive().await {
                return e.to_string();
            }
            match responses.message().await {
                Ok(Some(r)) if r.ttl() > 0 => {}
                Ok(Some(_)) => return "the lease expired or was revoked".into(),
                Ok(None) => return "the keep-alive stream ended".into(),
                Err(e) => return e.to_string(),
            }
        }
    }
}

fn utf8_pairs(
    kvs: &[etcd_client::KeyValue],
    prefix: &str,
) -> Result<Vec<(String, String)>, CoordinationError> {
    kvs.iter()
        .map(|kv| match (kv.key_str(), kv.value_str()) {
            (Ok(k), Ok(v)) => Ok((k.to_owned(), v.to_owned())),
            _ => Err(CoordinationError::NotUtf8 {
                key: prefix.to_owned(),
            }),
        })
        .collect()
}

impl Coordinator for EtcdCoordinator {
    async fn put(&self, key: &str, value: &str) -> Result<(), CoordinationError> {
        let mut c = self.client.clone();
        c.put(key, value, Some(self.leased()))
            .await
            .map(|_| ())
            .map_err(|e| request_error("put", key, e))
    }

    async fn put_if_absent(&self, key: &str, value: &str) -> Result<bool, CoordinationError> {
        let mut c = self.client.clone();
        let txn = Txn::new()
            .when([Compare::version(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value, Some(self.leased()))]);
        c.txn(txn)
            .await
            .map(|r| r.succeeded())
            .map_err(|e| request_error("create-if-absent", key, e))
    }

    async fn delete(&self, key: &str) -> Result<(), CoordinationError> {
        let mut c = self.client.clone();
        c.delete(key, None)
            .await
            .map(|_| ())
            .map_err(|e| request_error("delete", key, e))
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CoordinationError> {
        let mut c = self.client.clone();
        let resp = c
            .get(key, None)
            .await
            .map_err(|e| request_error("get", key, e))?;
        Ok(utf8_pairs(resp.kvs(), key)?
            .into_iter()
            .next()
            .map(|(_, v)| v))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, CoordinationError> {
        let mut c = self.client.clone();
        let resp = c
            .get(prefix, Some(GetOptions::new().with_prefix()))
            .await
            .map_err(|e| request_error("list", prefix, e))?;
        utf8_pairs(resp.kvs(), prefix)
    }

    async fn count(&self, prefix: &str) -> Result<u64, CoordinationError> {
        let mut c = self.client.clone();
        let options = GetOptions::new().with_prefix().with_count_only();
        let resp = c
            .get(prefix, Some(options))
            .await
            .map_err(|e| request_error("count", prefix, e))?;
        Ok(u64::try_from(resp.count()).unwrap_or(0))
    }

    fn watch(&self, prefix: &str) -> mpsc::Receiver<WatchEvent> {
        let (tx, rx) = mpsc::channel(1024);
        let follower = PrefixFollower {
            client: self.client.clone(),
            prefix: prefix.to_owned(),
            tx,
        };
        tokio::spawn(follower.run(self.shutdown.clone()));
        rx
    }

    fn lease_epoch(&self) -> watch::Receiver<u64> {
        self.epoch.clone()
    }
}

struct PrefixFollower {
    client: Client,
    prefix: String,
    tx: mpsc::Sender<WatchEvent>,
}

impl PrefixFollower {
    async fn run(mut self, shutdown: CancellationToken) {
        let tx = self.tx.clone();
        loop {
            let reason = tokio::select! {
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                // A fresh snapshot now and then repairs anything a watch could have missed.
                () = tokio::time::sleep(RESYNC_EVERY) => continue,
                r = self.follow_once() => r,
            };
            tracing::warn!(prefix = %self.prefix, %reason, "etcd watch interrupted; resynchronising");
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(RETRY_AFTER) => {}
            }
        }
    }

    /// Lists the prefix, sends the snapshot, then watches from the snapshot's revision on.
    async fn follow_once(&mut self) -> String {
        let resp = match self
            .client
            .get(self.prefix.as_str(), Some(GetOptions::new().with_prefix()))
            .await
        {
            Ok(r) => r,
            Err(e) => return e.to_string(),
        };
        let revision = resp.header().map_or(0, |h| h.revision());
        let snapshot = match utf8_pairs(resp.kvs(), &self.prefix) {
            Ok(s) => s,
            Err(e) => return e.to_string(),
        };
        if self.tx.send(WatchEvent::Snapshot(snapshot)).await.is_err() {
            return "receiver gone".into();
        }
        let options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(revision + 1);
        let mut stream = match self.client.watch(self.prefix.as_str(), Some(options)).await {
            Ok(s) => s,
            Err(e) => return e.to_string(),
        };
        loop {
            let resp = match stream.message().await {
                Ok(Some(r)) => r,
                Ok(None) => return "watch stream ended".into(),
                Err(e) => return e.to_string(),
            };
            if resp.canceled() {
                return format!("watch canceled: {}", resp.cancel_reason());
            }
            for event in resp.events() {
                if let Some(e) = to_event(event)
                    && self.tx.send(e).await.is_err()
                {
                    return "receiver gone".into();
                }
            }
        }
    }
}

fn to_event(event: &etcd_client::Event) -> Option<WatchEvent> {
    let kv = event.kv()?;
    let key = kv.key_str().ok()?.to_owned();
    match event.event_type() {
        etcd_client::EventType::Put => Some(WatchEvent::Put {
            key,
            value: kv.value_str().ok()?.to_owned(),
        }),
        etcd_client::EventType::Delete => Some(WatchEvent::Delete { key }),
    }
}
