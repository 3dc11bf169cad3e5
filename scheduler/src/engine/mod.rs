//! The running scheduler: queues fed by the activation topic, a decision loop per queue,
//! container creation through the invokers' topics, and the state shared with the gRPC service
//! and the admin routes. I/O goes through the `MessageBus`, `Coordinator` and `Store` edges.

mod acks;
mod containers;
mod deletions;
mod driver;
mod effects;
mod failover;
mod ids;
mod ingress;
mod registry;
mod watcher;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::etcd_keys::Cluster;
use ow_compat::values::SchedulerStates;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::SchedulerConfig;
use crate::decision::Policy;
use crate::metrics::Metrics;
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

pub use effects::run as effects_for;
pub use registry::{PollOutcome, QueueCell, QueueKey, Registry};
pub use watcher::ClusterView;

/// Everything the scheduler's tasks share.
#[derive(Debug)]
pub struct Shared<B, C, S> {
    pub config: SchedulerConfig,
    pub bus: B,
    pub coord: C,
    pub store: S,
    pub cluster: Cluster,
    pub registry: Registry,
    pub view: ClusterView,
    pub jobs: containers::Jobs,
    pub policy: Policy,
    pub metrics: Metrics,
    /// The JSON of this scheduler's endpoints, exactly as published (leader key values).
    pub endpoints_json: String,
    /// Activations handed back by queues, to be routed again.
    pub reroute: mpsc::UnboundedSender<Arc<ow_compat::messages::ActivationMessage>>,
    pub draining: AtomicBool,
    pub shutdown: CancellationToken,
    started: Instant,
    forwarded: Mutex<std::collections::HashMap<String, u8>>,
}

/// A handle on the running scheduler.
pub type Engine<B, C, S> = Arc<Shared<B, C, S>>;

impl<B: MessageBus, C: Coordinator, S: Store> Shared<B, C, S> {
    /// Milliseconds since the scheduler started (the queues' clock).
    pub fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Wall-clock epoch milliseconds.
    pub fn epoch_millis() -> i64 {
        ow_compat::ids::epoch_millis()
    }

    /// Topic name with the configured prefix.
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.config.topics_prefix)
    }

    /// This scheduler's `SchedulerStates` value.
    pub fn states(&self) -> SchedulerStates {
        let leaders = self.registry.all().len();
        SchedulerStates {
            sid: self.config.instance.clone(),
            endpoints: self.config.endpoints.clone(),
            queue_size: i64::try_from(leaders).unwrap_or(i64::MAX),
        }
    }

    /// Creation jobs waiting for an invoker's ack.
    pub fn jobs_in_flight(&self) -> usize {
        self.jobs.len()
    }

    /// Total activations waiting in all queues.
    pub fn waiting(&self) -> usize {
        self.registry
            .all()
            .iter()
            .map(|c| c.queue.lock().map_or(0, |q| q.len()))
            .sum()
    }
}

/// A fresh transaction id for admin responses (32 alphanumeric characters).
pub fn new_transaction_id() -> String {
    ids::random_hex32()
}

/// Starts every task; returns once the scheduler is registered and consuming.
pub async fn start<B: MessageBus, C: Coordinator, S: Store>(
    config: SchedulerConfig,
    bus: B,
    coord: C,
    store: S,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<Engine<B, C, S>> {
    let (reroute_tx, reroute_rx) = mpsc::unbounded_channel();
    let cluster = Cluster::new(config.cluster_name.clone());
    let endpoints_json = config.endpoints.encode();
    let engine = Arc::new(Shared {
        cluster,
        registry: Registry::default(),
        view: ClusterView::default(),
        jobs: containers::Jobs::default(),
        policy: Policy::new(config.policy, config.decision),
        metrics,
        endpoints_json,
        reroute: reroute_tx,
        draining: AtomicBool::new(false),
        shutdown,
        started: Instant::now(),
        forwarded: Mutex::new(std::collections::HashMap::new()),
        config,
        bus,
        coord,
        store,
    });
    watcher::start(&engine).await;
    containers::start(&engine).await?;
    ingress::start(&engine, reroute_rx).await?;
    tokio::spawn(publish_state(Arc::clone(&engine)));
    Ok(engine)
}

/// Keeps `<cluster>/scheduler/<sid>` current (every second if changed, and after a new lease).
async fn publish_state<B: MessageBus, C: Coordinator, S: Store>(engine: Engine<B, C, S>) {
    let key = engine.cluster.scheduler(&engine.config.instance.as_string);
    let mut epoch = engine.coord.lease_epoch();
    let mut last = String::new();
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            () = engine.shutdown.cancelled() => return,
            _ = ticker.tick() => {}
            _ = epoch.changed() => {
                last.clear();
                failover::reassert(&engine).await;
            }
        }
        if engine.draining.load(Ordering::Acquire) {
            continue;
        }
        let value = engine.states().encode();
        if value != last {
            match engine.coord.put(&key, &value).await {
                Ok(()) => last = value,
                Err(e) => tracing::warn!(error = %e, "publishing the scheduler state failed"),
            }
        }
    }
}

/// Graceful drain (`POST /disable`, SIGTERM): unregister, let every queue hand over, stop.
pub async fn drain<B: MessageBus, C: Coordinator, S: Store>(engine: &Engine<B, C, S>) {
    if engine.draining.swap(true, Ordering::AcqRel) {
        return;
    }
    let key = engine.cluster.scheduler(&engine.config.instance.as_string);
    if let Err(e) = engine.coord.delete(&key).await {
        tracing::warn!(error = %e, "could not delete the scheduler state key");
    }
    let now = engine.now();
    for cell in engine.registry.all() {
        let out = cell
            .queue
            .lock()
            .map(|mut q| q.graceful_shutdown(now))
            .unwrap_or_default();
        effects::run(engine, &cell, out).await;
    }
    tracing::info!("draining: queues are handing over their work");
}
