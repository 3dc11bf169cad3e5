//! The running agent: the container commands consumer, one task per container (the pull loop,
//! pause, resume, removal), the invoker's membership in etcd, and the orderly drain. I/O goes
//! through the `MessageBus`, `Coordinator`, [`ActionStore`] and [`ContainerRuntime`] edges;
//! choices are made by the pure [`Pool`].

mod commands;
mod container;
mod execute;
mod health_probe;
mod membership;
mod prewarm;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::bus::{BusError, MessageBus};
use ow_compat::coordination::Coordinator;
use ow_compat::etcd_keys::Cluster;
use ow_compat::messages::{
    ContainerCreationAckMessage, ContainerCreationMessage, CreationError, InvokerStatus,
};
use ow_compat::topics::{TopicKind, TopicPrefix};
use ow_compat::values::InvokerInstanceId;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::action_http::ActionClient;
use crate::actions::ActionStore;
use crate::config::AgentConfig;
use crate::connections::Connections;
use crate::container_spec::owner_labels;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::pool::{Pool, SlotId};
use crate::runtime::{ContainerRuntime, RuntimeError};

/// The implementations of the agent's edges.
pub trait Deps: Send + Sync + 'static {
    type Bus: MessageBus;
    type Coord: Coordinator;
    type Store: ActionStore;
    type Runtime: ContainerRuntime;
}

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the runtimes manifest does not parse: {0}")]
    Manifest(String),
    #[error("invalid Kafka topic prefix: {0}")]
    Topic(#[from] ow_compat::topics::TopicError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("removing the containers of a previous run failed: {0}")]
    Reconcile(#[from] RuntimeError),
    #[error("the action container HTTP client could not be built: {0}")]
    Http(#[from] reqwest::Error),
}

/// What a container task is told.
#[derive(Debug)]
pub enum Command {
    /// A creation request claimed this container (paused: resume it; prewarmed: give it the
    /// action).
    Claim(Box<ContainerCreationMessage>),
    /// Go away (deletion, eviction, disable, drain).
    Remove,
}

/// Everything the agent's tasks share.
pub struct Agent<D: Deps> {
    pub config: AgentConfig,
    pub bus: D::Bus,
    pub coord: D::Coord,
    pub store: D::Store,
    pub runtime: D::Runtime,
    pub http: ActionClient,
    pub cluster: Cluster,
    pub topics: TopicPrefix,
    /// This invoker as acks carry it.
    pub invoker: InvokerInstanceId,
    pub metrics: Metrics,
    pool: Mutex<Pool>,
    mailboxes: Mutex<HashMap<SlotId, mpsc::UnboundedSender<Command>>>,
    /// Enablement and the ring of recent outcomes (`up` / `unhealthy` / `down`).
    health: Mutex<Health>,
    /// The kind and image the health test action runs in, if the manifest has one.
    health_runtime: Option<health_probe::TestRuntime>,
    /// The health test action is running.
    probing: AtomicBool,
    /// Memory or status changed: publish now rather than at the next tick.
    changed: Notify,
    /// Stops the container commands consumer (drain), before everything else.
    consuming: CancellationToken,
    shutdown: CancellationToken,
    boot: String,
    names: AtomicU64,
    /// Container starts in flight (`whisk.docker.client.parallel-runs`): a daemon that works
    /// one request at a time finishes the first of a hundred starts in a second rather than
    /// all hundred together a minute later, past the scheduler's 20 s creation timeout.
    starts: tokio::sync::Semaphore,
    /// The stem cells this agent keeps, from its own manifest (the process-wide one may be
    /// another agent's in tests).
    stem_cells: Vec<prewarm::StemCell>,
    started: Instant,
    /// HTTP/2 connections to schedulers, shared by the containers' long polls.
    pub connections: Connections,
}

/// Permits for concurrent container starts; 0 configured means no limit, as stock.
fn parallel_runs(config: &AgentConfig) -> usize {
    match config.parallel_runs {
        0 => tokio::sync::Semaphore::MAX_PERMITS,
        n => n,
    }
}

impl<D: Deps> Agent<D> {
    /// `runtime.run`, waiting for one of the `parallel-runs` permits first.
    pub(crate) async fn start_container(
        &self,
        spec: &crate::runtime::ContainerSpec,
    ) -> Result<crate::runtime::StartedContainer, RuntimeError> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.starts.acquire().await.ok();
        self.runtime.run(spec).await
    }
}

/// A handle on the running agent.
pub type Handle<D> = Arc<Agent<D>>;

impl<D: Deps> std::fmt::Debug for Agent<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("invoker", &self.config.invoker_name())
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

impl<D: Deps> Agent<D> {
    /// Runs `f` on the pool under its lock (never held across an await).
    pub fn pool<T>(&self, f: impl FnOnce(&mut Pool) -> T) -> T {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut pool)
    }

    fn mailboxes<T>(
        &self,
        f: impl FnOnce(&mut HashMap<SlotId, mpsc::UnboundedSender<Command>>) -> T,
    ) -> T {
        let mut m = self
            .mailboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut m)
    }

    /// Milliseconds since the agent started (the pool's clock).
    pub fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn health<T>(&self, f: impl FnOnce(&mut Health) -> T) -> T {
        let mut h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut h)
    }

    /// Whether the invoker takes new containers (`/enable`, `/disable`, drain).
    pub fn is_enabled(&self) -> bool {
        self.status() != InvokerStatus::Down
    }

    /// What the invoker reports in etcd: `up`, `unhealthy` or `down`.
    pub fn status(&self) -> InvokerStatus {
        self.health(|h| h.status())
    }

    /// Asks for the invoker's health to be published now.
    pub fn publish_soon(&self) {
        self.changed.notify_one();
    }

    /// Sends `command` to the task of `slot`; false if that task is gone.
    fn tell(&self, slot: SlotId, command: Command) -> bool {
        self.mailboxes(|m| m.get(&slot).is_some_and(|tx| tx.send(command).is_ok()))
    }

    /// A fresh container name counter.
    fn next_name(&self) -> u64 {
        self.names.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Sends the creation ack for `creation`, with `error` and its reason when it failed.
    pub async fn ack_creation(
        &self,
        creation: &ContainerCreationMessage,
        error: Option<(CreationError, String)>,
    ) {
        let ack = ContainerCreationAckMessage::answering(creation, self.invoker.clone(), error);
        let topic = match self
            .topics
            .creation_ack(&creation.root_scheduler_index.as_string)
        {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(tid = %creation.transid.id, error = %e, "creation ack has no valid topic");
                return;
            }
        };
        if let Err(e) = self.bus.send(&topic, ack.encode()).await {
            tracing::warn!(tid = %creation.transid.id, creation_id = %creation.creation_id, error = %e, "creation ack not sent");
        }
    }
}

/// Starts the agent: removes what a previous run left behind, creates `invoker<N>`, publishes
/// the invoker's health and starts consuming container commands.
pub async fn start<D: Deps>(
    config: AgentConfig,
    bus: D::Bus,
    coord: D::Coord,
    store: D::Store,
    runtime: D::Runtime,
    shutdown: CancellationToken,
) -> Result<Handle<D>, StartError> {
    let manifest = match &config.runtimes_manifest {
        Some(text) => {
            let m = ow_compat::runtimes::RuntimesManifest::from_json(text)
                .map_err(|e| StartError::Manifest(e.to_string()))?;
            // Process-wide: the `exec` readers consult it.
            ow_compat::runtimes::set_manifest(m.clone());
            m
        }
        None => (*ow_compat::runtimes::manifest()).clone(),
    };
    let agent = Arc::new(Agent::<D> {
        cluster: Cluster::new(config.cluster_name.clone()),
        topics: TopicPrefix::new(&config.topics_prefix, "")?,
        invoker: config.invoker_id(),
        http: ActionClient::new()?,
        pool: Mutex::new(Pool::new(config.user_memory_mb)),
        mailboxes: Mutex::new(HashMap::new()),
        health: Mutex::new(Health::enabled()),
        health_runtime: health_probe::TestRuntime::from_manifest(&manifest),
        probing: AtomicBool::new(false),
        changed: Notify::new(),
        consuming: shutdown.child_token(),
        boot: crate::ids::random_id()[..6].to_owned(),
        connections: Connections::default(),
        names: AtomicU64::new(0),
        starts: tokio::sync::Semaphore::new(parallel_runs(&config)),
        started: Instant::now(),
        metrics: Metrics::default(),
        stem_cells: prewarm::configured(&manifest),
        shutdown,
        config,
        bus,
        coord,
        store,
        runtime,
    });
    reconcile(&agent).await?;
    let topic = agent.topics.invoker(agent.config.instance);
    agent
        .bus
        .ensure_topic(&topic, TopicKind::Invoker.topic_configs())
        .await?;
    let records = agent.bus.subscribe(&topic, agent.consuming.clone())?;
    tokio::spawn(membership::run(Arc::clone(&agent)));
    tokio::spawn(reconcile_periodically(Arc::clone(&agent)));
    tokio::spawn(commands::consume(Arc::clone(&agent), records));
    prewarm::start_all(&agent);
    tracing::info!(invoker = %agent.config.invoker_name(), %topic, "invoker agent started");
    Ok(agent)
}

/// Removes every container carrying this agent's labels: a previous run that crashed leaks
/// nothing, and nothing unknown serves under this invoker's name.
async fn reconcile<D: Deps>(agent: &Agent<D>) -> Result<(), RuntimeError> {
    let leftovers = agent.runtime.list(&owner_labels(&agent.config)).await?;
    for id in &leftovers {
        tracing::info!(container = %id, "removing a container left by a previous run");
        agent.runtime.remove(id).await?;
    }
    Ok(())
}

/// Between two checks for containers the pool does not know.
const RECONCILE_EVERY: Duration = Duration::from_secs(60);

/// Removes containers with this agent's labels that the pool does not know (a task that died,
/// a removal that failed). Only a container unknown at two checks in a row goes, so one being
/// started right now is never taken for a leak.
async fn reconcile_periodically<D: Deps>(agent: Handle<D>) {
    let mut suspects: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            () = agent.shutdown.cancelled() => return,
            () = tokio::time::sleep(RECONCILE_EVERY) => {}
        }
        if agent.probing.load(Ordering::Acquire) {
            continue; // the health test container is not in the pool
        }
        let listed = match agent.runtime.list(&owner_labels(&agent.config)).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "containers not listed; reconciling later");
                continue;
            }
        };
        let unknown: Vec<String> = agent.pool(|p| {
            let known: Vec<&str> = p
                .slots()
                .filter_map(|(_, s)| s.container_id.as_deref())
                .collect();
            listed
                .into_iter()
                .filter(|id| !known.contains(&id.as_str()))
                .collect()
        });
        for id in unknown.iter().filter(|id| suspects.contains(id)) {
            tracing::warn!(container = %id, "removing a container the pool does not know");
            if let Err(e) = agent.runtime.remove(id).await {
                tracing::warn!(container = %id, error = %e, "leaked container not removed");
            }
        }
        suspects = unknown;
    }
}

/// `POST /disable`: the invoker reports `down`, refuses creations and lets every container go.
pub fn disable<D: Deps>(agent: &Agent<D>) {
    agent.health(Health::disable);
    for slot in agent.pool(Pool::retire_all) {
        agent.tell(slot, Command::Remove);
    }
    agent.publish_soon();
}

/// `POST /enable`: the invoker takes creations again.
pub fn enable<D: Deps>(agent: &Agent<D>) {
    agent.health(Health::enable);
    agent.publish_soon();
}

/// Records one outcome in the health ring (`false`: a whisk error, a container that could not
/// be started or resumed, a container health error). Turning unhealthy starts the health test
/// action, whose successes bring the invoker back up.
pub fn report_health<D: Deps>(agent: &Handle<D>, ok: bool) {
    if !agent.health(|h| h.report(ok)) {
        return;
    }
    let status = agent.status();
    tracing::warn!(?status, "invoker health changed");
    agent.metrics.health_changes.inc();
    agent.publish_soon();
    if status == InvokerStatus::Unhealthy {
        health_probe::start(agent);
    }
}

/// Graceful stop: stop consuming commands, report `down`, let running activations finish, then
/// every container closes its client (`alive=false`), deletes its keys and is removed. Waits at
/// most `limit` for the pool to empty.
pub async fn drain<D: Deps>(agent: &Agent<D>, limit: Duration) {
    agent.consuming.cancel();
    disable(agent);
    let deadline = tokio::time::Instant::now() + limit;
    while agent.pool(|p| p.slots().count()) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = agent.pool(|p| p.slots().count());
    if left > 0 {
        tracing::warn!(left, "drain limit reached; containers still being removed");
    }
    membership::publish_now(agent).await;
    agent.shutdown.cancel();
}
