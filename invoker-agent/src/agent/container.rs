//! One action container's life (stock `FunctionPullingContainerProxy` and
//! `ActivationClientProxy`, spec 7.2, 7.3, 6.4): register the `namespace/...` key and ack the
//! creation; long-poll the queue and run what comes; after the pause grace without work pause
//! and move to the `warmed/...` key; resume when a creation claims it; leave after the idle
//! timeout, a deletion, a failure or the drain, closing its client with `alive=false`, deleting
//! its keys and removing the container.

use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::messages::{ContainerCreationMessage, CreationError};
use ow_compat::values::SchedulerEndpoints;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{Command, Deps, Handle};
use crate::actions::ExecutableAction;
use crate::pool::SlotId;
use crate::runtime::{ContainerRuntime, LogLine, StartedContainer};
use crate::scheduler_client::{ClientError, Fetched, QueueRef, SchedulerClient};

/// Commands for one container task.
pub type Mailbox = mpsc::UnboundedReceiver<Command>;

/// Stock reason when a container's client could not be set up.
const INIT_FAILED: &str = "ContainerProxy init failed.";
/// The `alive=false` goodbye is best effort.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);
/// Consecutive gRPC failures after which the container gives up on its queue.
const MAX_CLIENT_FAILURES: u32 = 3;

/// How a serving period ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    /// No work for the pause grace.
    Idle,
    /// Told to go (deletion, eviction, disable, drain).
    Removed,
    /// The container or its queue failed; it must go.
    Failed,
}

/// Where a serving period stands.
#[derive(Debug)]
struct Poll {
    idle_since: Instant,
    /// Consecutive failed fetches.
    failures: u32,
    /// The client was just pointed at the leader after a `NoMemoryQueue`.
    followed_leader: bool,
}

/// The state of one container task.
pub struct ContainerTask<D: Deps> {
    pub(super) agent: Handle<D>,
    pub(super) slot: SlotId,
    pub(super) container: StartedContainer,
    pub(super) queue: QueueRef,
    pub(super) kind: String,
    /// The runtime prints the log sentinels.
    pub(super) sentinels: bool,
    mailbox: Mailbox,
    pub(super) logs: mpsc::Receiver<LogLine>,
    pub(super) client: Option<SchedulerClient>,
    /// The action with its code, once read (one container serves one revision).
    pub(super) action: Option<ExecutableAction>,
    /// `/init` succeeded.
    pub(super) warm: bool,
    paused: bool,
    /// Duration of the last activation, for the next fetch only.
    pub(super) last_duration: Option<i64>,
}

impl<D: Deps> ContainerTask<D> {
    /// A task for a started container serving the queue of `creation`.
    pub fn new(
        agent: Handle<D>,
        slot: SlotId,
        container: StartedContainer,
        creation: &ContainerCreationMessage,
        mailbox: Mailbox,
        sentinels: bool,
    ) -> Self {
        let logs = agent.runtime.follow_logs(&container.id);
        agent.pool(|p| p.set_container(slot, &container.id));
        Self {
            slot,
            queue: QueueRef {
                invocation_namespace: creation.invocation_namespace.clone(),
                action: creation.action.clone(),
                revision: creation.revision.clone(),
            },
            kind: creation.whisk_action_meta_data.exec.kind().to_owned(),
            sentinels,
            mailbox,
            logs,
            client: None,
            action: None,
            warm: false,
            paused: false,
            last_duration: None,
            container,
            agent,
        }
    }

    /// Serves until the container must go, then removes it.
    pub async fn run(mut self, creation: ContainerCreationMessage) {
        // Not a child of the creation's span: the container outlives it and serves others.
        let span = tracing::info_span!(
            parent: None,
            "container",
            id = %short(&self.container.id),
            action = %self.queue.action,
            namespace = %self.queue.invocation_namespace,
        );
        async move {
            if self.register(&creation).await {
                self.lifecycle().await;
            }
            self.destroy().await;
        }
        .instrument(span)
        .await;
    }

    async fn lifecycle(&mut self) {
        loop {
            match self.serve().await {
                Served::Idle if self.warm => {}
                // A container that never ran anything is not worth keeping paused.
                Served::Idle | Served::Removed | Served::Failed => return,
            }
            let Some(creation) = self.pause_and_wait().await else {
                return;
            };
            if !self.resume(&creation).await {
                return;
            }
        }
    }

    fn namespace_key(&self) -> String {
        let c = &self.agent.cluster;
        c.namespace_container(
            &self.queue.invocation_namespace,
            &self.queue.action.doc_id(),
            self.queue.revision.as_str(),
            self.agent.config.instance,
            &self.container.id,
        )
    }

    fn warmed_key(&self) -> String {
        let c = &self.agent.cluster;
        c.warmed_container(
            &self.queue.invocation_namespace,
            &self.queue.action.doc_id(),
            self.queue.revision.as_str(),
            self.agent.config.instance,
            &self.container.id,
        )
    }

    /// Client to the creation's scheduler, `namespace/...` key, busy, success ack (stock order:
    /// the ack goes out before `/init`, which waits for the first activation).
    async fn register(&mut self, creation: &ContainerCreationMessage) -> bool {
        if self.client.is_none() {
            match (self.agent.connections)
                .client(&creation.scheduler_host, creation.rpc_port)
                .await
            {
                Ok(client) => self.client = Some(client),
                Err(e) => {
                    tracing::warn!(error = %e, "no client to the scheduler");
                    self.nack(creation).await;
                    return false;
                }
            }
        }
        if let Err(e) = self.agent.coord.put(&self.namespace_key(), "").await {
            tracing::warn!(error = %e, "the container key could not be written");
            self.nack(creation).await;
            return false;
        }
        let now = self.agent.now();
        self.agent.pool(|p| p.mark_busy(self.slot, now));
        self.agent.publish_soon();
        self.agent.ack_creation(creation, None).await;
        tracing::info!(tid = %creation.transid.id, creation_id = %creation.creation_id, "serving");
        true
    }

    async fn nack(&self, creation: &ContainerCreationMessage) {
        let error = Some((CreationError::UnknownError, INIT_FAILED.to_owned()));
        self.agent.ack_creation(creation, error).await;
    }

    /// Polls and runs activations until idle for the pause grace, told to go, or failed.
    async fn serve(&mut self) -> Served {
        let mut poll = Poll {
            idle_since: Instant::now(),
            failures: 0,
            followed_leader: false,
        };
        loop {
            if self.removal_requested().await {
                return Served::Removed;
            }
            let Some(client) = self.client.as_mut() else {
                return Served::Failed;
            };
            let last = self.last_duration.take();
            let fetched = client
                .fetch(&self.queue, &self.container.id, self.warm, last, true)
                .await;
            if let Some(end) = self.on_fetched(fetched, &mut poll).await {
                return end;
            }
        }
    }

    /// The stock reaction to one fetch answer; `Some` when serving ends.
    async fn on_fetched(
        &mut self,
        fetched: Result<Fetched, ClientError>,
        poll: &mut Poll,
    ) -> Option<Served> {
        if fetched.is_ok() {
            poll.failures = 0;
        }
        if let Ok(Fetched::Activation(_) | Fetched::NoActivation) = &fetched {
            poll.followed_leader = false;
        }
        match fetched {
            Ok(Fetched::Activation(msg)) => {
                let keep = self.execute(*msg).await;
                poll.idle_since = Instant::now();
                (!keep).then_some(Served::Failed)
            }
            Ok(Fetched::NoActivation) => {
                (poll.idle_since.elapsed() >= self.agent.config.pause_grace).then_some(Served::Idle)
            }
            Ok(Fetched::Unparsable(reason)) => {
                tracing::warn!(%reason, "unparsable fetch answer; polling again");
                None
            }
            Ok(Fetched::NoMemoryQueue) if poll.followed_leader => {
                // The leader itself has no queue for this revision: the container is outdated.
                tracing::info!("no queue at the leader either; leaving");
                Some(Served::Failed)
            }
            Ok(Fetched::NoMemoryQueue) => {
                tracing::info!("no queue at this scheduler; asking etcd for the leader");
                poll.followed_leader = true;
                (!self.follow_leader().await).then_some(Served::Failed)
            }
            Ok(Fetched::ActionMismatch) => {
                tracing::info!("the queue serves another revision; leaving");
                Some(Served::Failed)
            }
            Err(e) => {
                poll.failures += 1;
                tracing::warn!(error = %e, failures = poll.failures, "fetch failed; reconnecting through the leader key");
                if poll.failures > MAX_CLIENT_FAILURES || !self.follow_leader().await {
                    return Some(Served::Failed);
                }
                tokio::time::sleep(Duration::from_millis(100 * u64::from(poll.failures))).await;
                None
            }
        }
    }

    /// Checks the mailbox between polls: a fetch is never cut short, so an activation the
    /// scheduler handed out is never lost.
    async fn removal_requested(&mut self) -> bool {
        while let Ok(command) = self.mailbox.try_recv() {
            match command {
                Command::Remove => return true,
                Command::Claim(creation) => {
                    // Only paused containers are resumed; answer so the scheduler retries.
                    tracing::warn!("resume for a container that is not paused");
                    self.nack(&creation).await;
                }
            }
        }
        false
    }

    /// Reconnects to the queue's leader as etcd names it; false if there is none.
    async fn follow_leader(&mut self) -> bool {
        let key = self.agent.cluster.queue_leader(
            &self.queue.invocation_namespace,
            &self.queue.action.doc_id(),
        );
        let endpoints = match self.agent.coord.get(&key).await {
            Ok(Some(value)) => SchedulerEndpoints::decode(value.as_bytes()).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "the leader key could not be read");
                None
            }
        };
        let Some(endpoints) = endpoints else {
            return false;
        };
        match (self.agent.connections)
            .client(&endpoints.host, endpoints.rpc_port)
            .await
        {
            Ok(client) => {
                self.client = Some(client);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "the leader cannot be reached");
                false
            }
        }
    }

    /// Pauses, swaps the `namespace/...` key for the `warmed/...` key, and waits for a creation
    /// to claim it, for removal, or for the idle timeout. `None` when the container must go.
    async fn pause_and_wait(&mut self) -> Option<ContainerCreationMessage> {
        if let Err(e) = self.agent.runtime.pause(&self.container.id).await {
            tracing::warn!(error = %e, "pause failed; removing the container");
            return None;
        }
        self.paused = true;
        self.agent.metrics.pauses.inc();
        let (warmed, namespace) = (self.warmed_key(), self.namespace_key());
        if let Err(e) = self.agent.coord.put(&warmed, "").await {
            tracing::warn!(error = %e, "the warmed key could not be written");
        }
        if let Err(e) = self.agent.coord.delete(&namespace).await {
            tracing::warn!(error = %e, "the container key could not be deleted");
        }
        if !self.agent.pool(|p| p.mark_paused(self.slot)) {
            return None;
        }
        self.agent.publish_soon();
        tracing::info!("paused");
        self.wait_while_paused().await
    }

    async fn wait_while_paused(&mut self) -> Option<ContainerCreationMessage> {
        let idle = tokio::time::sleep(self.agent.config.idle_container);
        tokio::pin!(idle);
        let mut claimed = false;
        loop {
            tokio::select! {
                command = self.mailbox.recv() => return match command {
                    Some(Command::Claim(creation)) => Some(*creation),
                    Some(Command::Remove) | None => None,
                },
                () = &mut idle, if !claimed => {
                    // A creation may have claimed it an instant ago; then its resume is on the way.
                    if self.agent.pool(|p| p.retire(self.slot)) {
                        tracing::info!("idle timeout; removing");
                        return None;
                    }
                    claimed = true;
                }
            }
        }
    }

    /// Unpauses for `creation`: the `warmed/...` key goes, the client follows the creation's
    /// scheduler, the `namespace/...` key comes back, and the creation is acked.
    async fn resume(&mut self, creation: &ContainerCreationMessage) -> bool {
        if let Err(e) = self.agent.runtime.unpause(&self.container.id).await {
            tracing::warn!(error = %e, "unpause failed; the creation gets another container");
            super::report_health(&self.agent, false);
            self.agent.pool(|p| p.retire(self.slot));
            let (agent, creation) = (self.agent.clone(), creation.clone());
            tokio::spawn(super::commands::retry(agent, creation).in_current_span());
            return false;
        }
        self.paused = false;
        if let Err(e) = self.agent.coord.delete(&self.warmed_key()).await {
            tracing::warn!(error = %e, "the warmed key could not be deleted");
        }
        let same = self
            .client
            .as_ref()
            .is_some_and(|c| c.is_for(&creation.scheduler_host, creation.rpc_port));
        if !same {
            self.client = None;
        }
        tracing::info!("resumed");
        self.register(creation).await
    }

    /// Leaves: keys deleted, client closed with `alive=false`, container removed, pool updated.
    async fn destroy(&mut self) {
        self.agent.pool(|p| p.retire(self.slot));
        for key in [self.namespace_key(), self.warmed_key()] {
            if let Err(e) = self.agent.coord.delete(&key).await {
                tracing::warn!(%key, error = %e, "key not deleted; it expires with the lease");
            }
        }
        if let Some(client) = self.client.as_mut() {
            let goodbye = client.fetch(&self.queue, &self.container.id, self.warm, None, false);
            let _ = tokio::time::timeout(GOODBYE_TIMEOUT, goodbye).await;
        }
        let runtime = &self.agent.runtime;
        if self.paused
            && let Err(e) = runtime.unpause(&self.container.id).await
        {
            tracing::debug!(error = %e, "unpause before removal failed");
        }
        match runtime.remove(&self.container.id).await {
            Ok(()) => tracing::info!("removed"),
            Err(e) => {
                tracing::error!(error = %e, "container not removed; the next start removes it")
            }
        }
        self.agent.pool(|p| p.remove(self.slot));
        self.agent.mailboxes(|m| m.remove(&self.slot));
        self.agent.publish_soon();
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
