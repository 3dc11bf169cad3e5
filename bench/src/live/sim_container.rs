//! One simulated container, as the stock container proxy behaves minus the process: after the
//! `docker run` cost it writes its `namespace/...` key and acks the creation, then long-polls
//! `FetchActivation`; an activation "runs" for the exec time (plus the `/init` cost the first
//! time) and is acked to `completed<C>` as the stock invoker acks it. After the pause grace
//! without work it pauses (its key moves to `warmed/...`) until told to go; leaving, it says
//! goodbye with `alive=false`, deletes its keys and pays the `docker rm` cost.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::bus::MessageBus;
use ow_compat::coordination::Coordinator;
use ow_compat::ids::{epoch_millis, random_hex32};
use ow_compat::json::Value;
use ow_compat::messages::{AcknowledgementMessage, ActivationMessage, ContainerCreationMessage};
use ow_compat::records::{ActivationResponse, WhiskActivation};
use ow_compat::values::{EntityPath, Parameters};
use ow_invoker_agent::record::{AckPlan, ack_plan, combined_ack, completion_ack, result_ack};
use ow_invoker_agent::scheduler_client::{Fetched, QueueRef, SchedulerClient};
use tokio_util::sync::CancellationToken;

use super::cost::DockerOp;
use super::sim_invoker::SimInvoker;

/// Consecutive gRPC failures after which a container gives up (as the agent does).
const MAX_CLIENT_FAILURES: u32 = 3;
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

/// A simulated container serving one queue.
#[derive(Debug)]
pub struct SimContainer {
    invoker: Arc<SimInvoker>,
    id: String,
    queue: QueueRef,
    kind: String,
    logs_mb: u32,
    memory_mb: i64,
    stop: CancellationToken,
    client: Option<SchedulerClient>,
    warm: bool,
    paused: bool,
    last_duration: Option<i64>,
}

/// When one simulated activation ran (epoch ms).
#[derive(Debug, Clone, Copy)]
struct Ran {
    init: Option<(i64, i64)>,
    run: (i64, i64),
}

impl SimContainer {
    /// Starts, serves and removes a container for `creation`.
    pub async fn run(
        invoker: Arc<SimInvoker>,
        creation: ContainerCreationMessage,
        stop: CancellationToken,
    ) {
        let meta = &creation.whisk_action_meta_data;
        let mut container = Self {
            id: format!("sim{}", &random_hex32()[..20]),
            queue: QueueRef {
                invocation_namespace: creation.invocation_namespace.clone(),
                action: creation.action.clone(),
                revision: creation.revision.clone(),
            },
            kind: meta.exec.kind().to_owned(),
            logs_mb: meta.limits.logs_mb,
            memory_mb: i64::from(meta.limits.memory_mb),
            stop,
            client: None,
            warm: false,
            paused: false,
            last_duration: None,
            invoker,
        };
        container.invoker.daemon.perform(DockerOp::Run).await;
        if container.register(&creation).await {
            container.serve().await;
        }
        container.destroy().await;
    }

    fn namespace_key(&self) -> String {
        let q = &self.queue;
        self.invoker.shared.cluster.namespace_container(
            &q.invocation_namespace,
            &q.action.doc_id(),
            q.revision.as_str(),
            self.invoker.id,
            &self.id,
        )
    }

    fn warmed_key(&self) -> String {
        let q = &self.queue;
        self.invoker.shared.cluster.warmed_container(
            &q.invocation_namespace,
            &q.action.doc_id(),
            q.revision.as_str(),
            self.invoker.id,
            &self.id,
        )
    }

    /// Client, `namespace/...` key, then the success ack (the stock order).
    async fn register(&mut self, creation: &ContainerCreationMessage) -> bool {
        let client = self
            .invoker
            .connections
            .client(&creation.scheduler_host, creation.rpc_port)
            .await;
        let registered = match client {
            Ok(client) => {
                self.client = Some(client);
                self.invoker
                    .coord
                    .put(&self.namespace_key(), "")
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        match registered {
            Ok(()) => {
                self.invoker.ack(creation, None).await;
                true
            }
            Err(reason) => {
                tracing::warn!(container = %self.id, %reason, "container could not register");
                let error = ow_compat::messages::CreationError::UnknownError;
                self.invoker
                    .ack(
                        creation,
                        Some((error, "ContainerProxy init failed.".into())),
                    )
                    .await;
                false
            }
        }
    }

    /// Polls until told to stop, the queue is gone, or the scheduler fails three times; a pause
    /// after the grace keeps it until the stop.
    async fn serve(&mut self) {
        let mut idle_since = Instant::now();
        let mut failures = 0;
        while !self.stop.is_cancelled() {
            let Some(client) = self.client.as_mut() else {
                return;
            };
            let last = self.last_duration.take();
            match client
                .fetch(&self.queue, &self.id, self.warm, last, true)
                .await
            {
                Ok(Fetched::Activation(msg)) => {
                    failures = 0;
                    self.execute(*msg).await;
                    idle_since = Instant::now();
                }
                Ok(Fetched::NoActivation) => {
                    failures = 0;
                    if idle_since.elapsed() >= self.invoker.shared.setup.pause_grace {
                        return self.pause_until_stopped().await;
                    }
                }
                Ok(other) => {
                    tracing::info!(container = %self.id, answer = ?other, "leaving the queue");
                    return;
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(container = %self.id, error = %e, failures, "fetch failed");
                    if failures > MAX_CLIENT_FAILURES {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(failures))).await;
                }
            }
        }
    }

    async fn pause_until_stopped(&mut self) {
        self.invoker.daemon.perform(DockerOp::Pause).await;
        self.paused = true;
        let coord = &self.invoker.coord;
        if let Err(e) = coord.put(&self.warmed_key(), "").await {
            tracing::warn!(error = %e, "warmed key not written");
        }
        if let Err(e) = coord.delete(&self.namespace_key()).await {
            tracing::warn!(error = %e, "container key not deleted");
        }
        self.stop.cancelled().await;
    }

    /// "Runs" the activation: `/init` cost when cold, the exec time, then the stock acks.
    async fn execute(&mut self, msg: ActivationMessage) {
        let init_time = self.invoker.daemon.init_time();
        let mut init = None;
        if !self.warm {
            let start = epoch_millis();
            tokio::time::sleep(init_time).await;
            init = Some((start, epoch_millis()));
            self.warm = true;
        }
        let start = epoch_millis();
        tokio::time::sleep(self.invoker.shared.setup.exec).await;
        let ran = Ran {
            init,
            run: (start, epoch_millis()),
        };
        let record = self.record(&msg, ran);
        self.acknowledge(&msg, &record);
        self.last_duration = Some(ran.run.1 - ran.init.map_or(ran.run.0, |i| i.0));
        self.invoker
            .shared
            .counters
            .executed
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The record the stock proxy builds, with a fixed successful result and no logs.
    fn record(&self, msg: &ActivationMessage, ran: Ran) -> WhiskActivation {
        let begin = ran.init.map_or(ran.run.0, |i| i.0);
        let mut annotations = vec![
            ("path", Value::String(msg.action.doc_id())),
            ("kind", Value::String(self.kind.clone())),
            ("timeout", Value::Bool(false)),
        ];
        if let Some((s, e)) = ran.init {
            annotations.push(("initTime", Value::from(e - s)));
        }
        annotations.push(("waitTime", Value::from(begin - msg.transid.start_millis)));
        let result: Value = serde_json::json!({"ok": true});
        WhiskActivation {
            namespace: EntityPath::parse(msg.user.namespace.name.as_str())
                .unwrap_or_else(|_| msg.action.path.clone()),
            name: msg.action.name.clone(),
            subject: msg.user.subject.clone(),
            activation_id: msg.activation_id.clone(),
            start: begin,
            end: ran.run.1,
            cause: msg.cause.clone(),
            response: ActivationResponse::success(result, Some(11)),
            logs: Vec::new(),
            version: msg.action.version.unwrap_or_default(),
            publish: false,
            annotations: Parameters::from_pairs(annotations),
            duration: Some(ran.run.1 - begin),
        }
    }

    /// The stock acks for this blocking flag and log limit, sent in order in the background: the
    /// stock container proxy asks for its next activation once the run (and log collection) is
    /// done, without waiting for Kafka to take the acks.
    fn acknowledge(&self, msg: &ActivationMessage, record: &WhiskActivation) {
        let invoker = &self.invoker.instance;
        let acks: Vec<AcknowledgementMessage> = match ack_plan(msg.blocking, self.logs_mb > 0) {
            AckPlan::ResultThenCompletion => vec![
                result_ack(msg, record),
                completion_ack(msg, record, invoker),
            ],
            AckPlan::Combined => vec![combined_ack(msg, record, invoker)],
            AckPlan::Completion => vec![completion_ack(msg, record, invoker)],
        };
        let shared = &self.invoker.shared;
        let topic = match shared
            .topics
            .completed(&msg.root_controller_index.as_string)
        {
            Ok(t) => t,
            Err(e) => return tracing::warn!(error = %e, "ack has no valid topic"),
        };
        let invoker = Arc::clone(&self.invoker);
        let activation_id = msg.activation_id.clone();
        tokio::spawn(async move {
            for ack in acks {
                if let Err(e) = invoker.shared.bus.send(&topic, ack.encode()).await {
                    tracing::warn!(error = %e, %activation_id, "ack not sent");
                }
            }
        });
    }

    /// Keys deleted, goodbye fetch with `alive=false`, `docker rm` cost, memory released.
    async fn destroy(&mut self) {
        let coord = &self.invoker.coord;
        for key in [self.namespace_key(), self.warmed_key()] {
            if let Err(e) = coord.delete(&key).await {
                tracing::debug!(%key, error = %e, "key not deleted; it expires with the lease");
            }
        }
        if let Some(client) = self.client.as_mut() {
            let goodbye = client.fetch(&self.queue, &self.id, self.warm, None, false);
            let _ = tokio::time::timeout(GOODBYE_TIMEOUT, goodbye).await;
        }
        let daemon = &self.invoker.daemon;
        if self.paused {
            daemon.perform(DockerOp::Unpause).await;
        }
        daemon.perform(DockerOp::Remove).await;
        self.invoker
            .shared
            .counters
            .removed
            .fetch_add(1, Ordering::Relaxed);
        self.invoker.release(self.memory_mb, &self.stop);
    }
}
