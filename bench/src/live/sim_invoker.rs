//! Simulated invokers that speak the real contracts: each registers `<cluster>/invokers/<N>` (an
//! `InvokerResourceMessage` on its own kept-alive lease), creates `invoker<N>` and consumes the
//! scheduler's container commands, "starts" a container after the Docker cost on its host's
//! daemon, acks the creation on `creationAck<sid>`, and hands the container to
//! [`super::sim_container`], which long-polls `FetchActivation` like the stock container proxy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ow_compat::Codec;
use ow_compat::bus::{KafkaBus, MessageBus, Record};
use ow_compat::coordination::{CoordinationError, Coordinator, EtcdCoordinator};
use ow_compat::etcd_keys::Cluster;
use ow_compat::json::{Path, Wire};
use ow_compat::messages::{
    ContainerCreationAckMessage, ContainerCreationMessage, ContainerDeletionMessage,
    ContainerMessage, CreationError, InvokerResourceMessage, InvokerStatus,
};
use ow_compat::topics::{TopicKind, TopicPrefix};
use ow_compat::values::{ByteSize, InvokerInstanceId};
use ow_invoker_agent::connections::Connections;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::cost::{Costs, Daemon};
use super::sim_container::SimContainer;
use super::slice::Slice;

/// How often a changed memory figure is published (the stock invoker syncs every second).
const HEALTH_INTERVAL: Duration = Duration::from_millis(250);

/// A simulated invoker that could not join.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulated invoker {id}: {source}")]
    Coordination { id: u32, source: CoordinationError },
    #[error("simulated invoker {id}: {source}")]
    Bus {
        id: u32,
        source: ow_compat::bus::BusError,
    },
    #[error("simulated invokers: topic prefix {prefix:?}: {source}")]
    Prefix {
        prefix: String,
        source: ow_compat::topics::TopicError,
    },
}

/// What the simulated invokers are like.
#[derive(Debug, Clone)]
pub struct SimSetup {
    pub invokers: u32,
    /// `userMemory` of each invoker.
    pub user_memory_mb: i64,
    pub costs: Costs,
    /// How long an activation "runs".
    pub exec: Duration,
    /// Idle time after which a container pauses (stock `pause-grace`).
    pub pause_grace: Duration,
}

/// What the simulated invokers did, counted across all of them.
#[derive(Debug, Default)]
pub struct SimCounters {
    pub creations: AtomicU64,
    pub refused: AtomicU64,
    pub executed: AtomicU64,
    pub removed: AtomicU64,
}

/// What every simulated invoker and container shares.
#[derive(Debug, Clone)]
pub struct Shared {
    pub bus: KafkaBus,
    pub topics: TopicPrefix,
    pub cluster: Cluster,
    pub setup: Arc<SimSetup>,
    pub counters: Arc<SimCounters>,
    pub shutdown: CancellationToken,
}

/// One simulated invoker.
#[derive(Debug)]
pub struct SimInvoker {
    pub id: u32,
    pub instance: InvokerInstanceId,
    pub coord: EtcdCoordinator,
    pub daemon: Daemon,
    pub shared: Shared,
    /// Connections to schedulers, shared by this invoker's containers.
    pub connections: Connections,
    /// Memory held by containers (running, starting or paused).
    busy_mb: AtomicI64,
    /// Stop tokens of the containers by action document id.
    containers: Mutex<HashMap<String, Vec<CancellationToken>>>,
}

/// All simulated invokers of a run.
#[derive(Debug)]
pub struct SimFleet {
    pub counters: Arc<SimCounters>,
    invokers: Vec<Arc<SimInvoker>>,
    shutdown: CancellationToken,
}

impl SimFleet {
    /// Registers `setup.invokers` invokers in the slice's cluster and starts consuming.
    pub async fn start(slice: &Slice, bus: KafkaBus, setup: SimSetup) -> Result<Self, SimError> {
        let topics = TopicPrefix::new(&slice.prefix, "").map_err(|source| SimError::Prefix {
            prefix: slice.prefix.clone(),
            source,
        })?;
        let shutdown = CancellationToken::new();
        let shared = Shared {
            bus,
            topics,
            cluster: Cluster::new(slice.cluster.clone()),
            setup: Arc::new(setup),
            counters: Arc::default(),
            shutdown: shutdown.clone(),
        };
        let mut invokers = Vec::new();
        for id in 0..shared.setup.invokers {
            invokers.push(SimInvoker::start(slice, shared.clone(), id).await?);
        }
        Ok(Self {
            counters: Arc::clone(&shared.counters),
            invokers,
            shutdown,
        })
    }

    /// Stops every container (each says goodbye with `alive=false`) and revokes the leases.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::sleep(Duration::from_millis(200)).await;
        for invoker in &self.invokers {
            invoker.coord.revoke().await;
        }
    }
}

impl SimInvoker {
    async fn start(slice: &Slice, shared: Shared, id: u32) -> Result<Arc<Self>, SimError> {
        let lease_key = shared.cluster.instance_lease(&format!("invoker{id}"));
        let coord = EtcdCoordinator::connect(
            std::slice::from_ref(&slice.services.etcd),
            Duration::from_secs(10),
            lease_key,
            shared.shutdown.child_token(),
        )
        .await
        .map_err(|source| SimError::Coordination { id, source })?;
        let topic = shared.topics.invoker(id);
        let bus_error = |source| SimError::Bus { id, source };
        shared
            .bus
            .ensure_topic(&topic, TopicKind::Invoker.topic_configs())
            .await
            .map_err(bus_error)?;
        let (tx, rx) = mpsc::channel(1024);
        ow_compat::bus::consume(&slice.services.kafka, &topic, tx, shared.shutdown.clone())
            .map_err(bus_error)?;
        let memory = u64::try_from(shared.setup.user_memory_mb).unwrap_or(0);
        let invoker = Arc::new(Self {
            id,
            instance: InvokerInstanceId::new(id as i32, ByteSize::mb(memory)),
            coord,
            daemon: Daemon::new(shared.setup.costs, u64::from(id) + 1),
            shared,
            busy_mb: AtomicI64::new(0),
            connections: Connections::default(),
            containers: Mutex::default(),
        });
        invoker.publish().await;
        tokio::spawn(Arc::clone(&invoker).publish_health());
        tokio::spawn(Arc::clone(&invoker).consume(rx));
        Ok(invoker)
    }

    fn health(&self) -> InvokerResourceMessage {
        let busy = self.busy_mb.load(Ordering::Relaxed);
        InvokerResourceMessage {
            status: InvokerStatus::Up,
            free_memory: self.shared.setup.user_memory_mb - busy,
            busy_memory: busy,
            in_progress_memory: 0,
            tags: vec![],
            dedicated_namespaces: vec![],
        }
    }

    async fn publish(&self) -> String {
        let text = self.health().encode();
        let key = self.shared.cluster.invoker(self.id, None, None);
        if let Err(e) = self.coord.put(&key, &text).await {
            tracing::warn!(invoker = self.id, error = %e, "health not written");
        }
        text
    }

    /// Writes the health key when it changed, and after a new lease.
    async fn publish_health(self: Arc<Self>) {
        let epochs = self.coord.lease_epoch();
        let mut written = (String::new(), 0u64);
        loop {
            let now = (self.health().encode(), *epochs.borrow());
            if now != written {
                self.publish().await;
                written = now;
            }
            tokio::select! {
                () = self.shared.shutdown.cancelled() => return,
                () = tokio::time::sleep(HEALTH_INTERVAL) => {}
            }
        }
    }

    async fn consume(self: Arc<Self>, mut records: mpsc::Receiver<Record>) {
        while let Some(record) = records.recv().await {
            let message = ow_compat::json::parse(&record.payload)
                .and_then(|v| ContainerMessage::read(&v, Path::Root));
            match message {
                Ok(ContainerMessage::Creation(c)) => self.create(c).await,
                Ok(ContainerMessage::Deletion(d)) => self.delete(&d),
                Err(e) => {
                    tracing::warn!(invoker = self.id, offset = record.offset, error = %e, "malformed container command skipped");
                }
            }
        }
    }

    /// Admits the creation if memory allows, else refuses it as the stock invoker does.
    async fn create(self: &Arc<Self>, c: ContainerCreationMessage) {
        if c.action.is_warm_up() {
            return;
        }
        let memory = i64::from(c.whisk_action_meta_data.limits.memory_mb);
        let busy = self.busy_mb.fetch_add(memory, Ordering::Relaxed) + memory;
        if busy > self.shared.setup.user_memory_mb {
            self.busy_mb.fetch_sub(memory, Ordering::Relaxed);
            self.shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            let reason = format!(
                "creationId: {}, invoker[{}] doesn't have enough resource for container: {}",
                c.creation_id, self.id, c.action
            );
            self.ack(&c, Some((CreationError::ResourceNotEnoughError, reason)))
                .await;
            return;
        }
        self.shared
            .counters
            .creations
            .fetch_add(1, Ordering::Relaxed);
        let stop = self.shared.shutdown.child_token();
        self.containers_of(|m| m.entry(c.action.doc_id()).or_default().push(stop.clone()));
        tokio::spawn(SimContainer::run(Arc::clone(self), c, stop));
    }

    /// Stops the containers of the action (the scheduler deletes outdated revisions).
    fn delete(&self, d: &ContainerDeletionMessage) {
        let stops = self.containers_of(|m| m.remove(&d.action.doc_id()).unwrap_or_default());
        tracing::info!(invoker = self.id, action = %d.action, containers = stops.len(), "deleting containers");
        for stop in stops {
            stop.cancel();
        }
    }

    fn containers_of<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, Vec<CancellationToken>>) -> T,
    ) -> T {
        let mut guard = self
            .containers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// A container is gone: its memory is free again.
    pub fn release(&self, memory_mb: i64, stop: &CancellationToken) {
        self.busy_mb.fetch_sub(memory_mb, Ordering::Relaxed);
        // Cancelling marks this container's token, whose clone sits in the map.
        stop.cancel();
        self.containers_of(|m| {
            for stops in m.values_mut() {
                stops.retain(|s| !s.is_cancelled());
            }
        });
    }

    /// `ContainerCreationAckMessage` on `creationAck<sid>`.
    pub async fn ack(&self, c: &ContainerCreationMessage, error: Option<(CreationError, String)>) {
        let ack = ContainerCreationAckMessage::answering(c, self.instance.clone(), error);
        let topic = match self
            .shared
            .topics
            .creation_ack(&c.root_scheduler_index.as_string)
        {
            Ok(t) => t,
            Err(e) => return tracing::warn!(error = %e, "creation ack has no valid topic"),
        };
        if let Err(e) = self.shared.bus.send(&topic, ack.encode()).await {
            tracing::warn!(creation_id = %c.creation_id, error = %e, "creation ack not sent");
        }
    }
}
