//! One activation in a container (stock `initializeAndRunActivation`): read the action with its
//! code, `/init` on a cold container, `/run`, classify, ack the controller, collect the logs,
//! store the record. A container health error hands the activation back to the scheduler.

use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::bus::MessageBus;
use ow_compat::messages::{AcknowledgementMessage, ActivationMessage};
use ow_compat::records::{ActivationDocument, ActivationResponse, StatusCode, WhiskActivation};
use ow_compat::store::StoreError;
use tracing::Instrument;

use super::Deps;
use super::container::ContainerTask;
use crate::actions::{ActionStore, ExecutableAction};
use crate::events::activation_event;
use crate::ids::epoch_millis;
use crate::logs::{CollectedLogs, LogCollector};
use crate::outcome::{ABNORMAL_RUN, HttpOutcome, Verdict, init_verdict, run_verdict};
use crate::record::{
    AckPlan, Timing, ack_plan, activation, combined_ack, completion_ack, context,
    fallback_activation, init_request, keeps_container, partition_arguments, result_ack,
    run_request,
};
use crate::runtime::ContainerRuntime;

/// `whisk.activation.payload.max`: answers longer than this are cut.
const MAX_PAYLOAD_BYTES: u64 = 1 << 20;
/// How long the stock client waits for a reschedule answer.
const RESCHEDULE_TIMEOUT: Duration = Duration::from_secs(10);
/// Quiet time after which logs are complete without sentinels, or failed with them.
const LOGS_IDLE_WITHOUT_SENTINELS: Duration = Duration::from_millis(150);
const LOGS_IDLE_WITH_SENTINELS: Duration = Duration::from_secs(2);

/// How `/init` and `/run` went.
struct Invoked {
    verdict: Verdict,
    timing: Timing,
    timed_out: bool,
}

impl<D: Deps> ContainerTask<D> {
    /// Runs `msg`; false when the container must go afterwards.
    pub(super) async fn execute(&mut self, msg: ActivationMessage) -> bool {
        let span = tracing::info_span!("activation", tid = %msg.transid.id, activation_id = %msg.activation_id);
        async {
            let action = match self.load_action(&msg).await {
                Ok(action) => action,
                Err(response) => {
                    self.fallback(&msg, response).await;
                    return false;
                }
            };
            let invoked = self.invoke(&msg, &action).await;
            match invoked.verdict {
                Verdict::Reschedule => {
                    self.reschedule(&msg).await;
                    false
                }
                Verdict::Done(response) => {
                    self.complete(&msg, &action, invoked.timing, invoked.timed_out, response)
                        .await
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The action at the activation's revision (the latest if that one is gone), cached for the
    /// container's life; the stock error response when it cannot be read.
    async fn load_action(
        &mut self,
        msg: &ActivationMessage,
    ) -> Result<ExecutableAction, ActivationResponse> {
        let doc_id = msg.action.doc_id();
        let rev = msg.revision.as_str();
        if let Some(a) = &self.action
            && a.doc.rev.as_deref() == rev
        {
            return Ok(a.clone());
        }
        let store = &self.agent.store;
        let found = match store.executable(&doc_id, rev).await {
            Err(StoreError::NotFound { .. }) if rev.is_some() => {
                store.executable(&doc_id, None).await
            }
            other => other,
        };
        match found {
            Ok(action) => {
                self.action = Some(action.clone());
                Ok(action)
            }
            Err(StoreError::NotFound { .. }) => Err(ActivationResponse::error(
                StatusCode::ApplicationError,
                "Action could not be found or may have been deleted.",
            )),
            Err(e) => {
                tracing::error!(error = %e, "action could not be read");
                Err(ActivationResponse::error(
                    StatusCode::WhiskError,
                    "Action could not be fetched.",
                ))
            }
        }
    }

    /// `/init` on a cold container, then `/run`.
    async fn invoke(&mut self, msg: &ActivationMessage, action: &ExecutableAction) -> Invoked {
        let limits = action.doc.limits;
        let timeout = Duration::from_millis(limits.timeout_ms);
        let (init_params, args) = partition_arguments(msg.content.as_ref(), &msg.init_args);
        let mut init = None;
        if !self.warm {
            match self.initialize(msg, action, &init_params, timeout).await {
                Ok(interval) => init = Some(interval),
                Err(failed) => return failed,
            }
            self.warm = true;
        }
        let start = epoch_millis();
        let ctx = context(msg, &action.doc, start + millis(timeout));
        let body = run_request(msg, args, &ctx).encode();
        let address = &self.container.address;
        let exchange = self
            .agent
            .http
            .run(address, body, timeout, MAX_PAYLOAD_BYTES)
            .await;
        let oom = self.oom_after(&exchange.outcome).await;
        Invoked {
            verdict: run_verdict(&exchange.outcome, exchange.elapsed, timeout, oom),
            timing: Timing {
                init,
                run: (start, start + millis(exchange.elapsed)),
            },
            timed_out: exchange.elapsed >= timeout,
        }
    }

    /// `/init`: its interval when it succeeded, else the failed activation.
    async fn initialize(
        &self,
        msg: &ActivationMessage,
        action: &ExecutableAction,
        init_params: &[(String, ow_compat::json::Value)],
        timeout: Duration,
    ) -> Result<(i64, i64), Invoked> {
        let start = epoch_millis();
        let ctx = context(msg, &action.doc, start + millis(timeout));
        let body = init_request(&action.doc, &action.code, init_params, &ctx).encode();
        let address = &self.container.address;
        let exchange = self
            .agent
            .http
            .init(address, body, timeout, MAX_PAYLOAD_BYTES)
            .await;
        let end = start + millis(exchange.elapsed);
        let oom = self.oom_after(&exchange.outcome).await;
        match init_verdict(&exchange.outcome, exchange.elapsed, timeout, oom) {
            None => Ok((start, end)),
            Some(verdict) => Err(Invoked {
                verdict,
                timing: Timing {
                    init: Some((start, end)),
                    run: (end, end),
                },
                timed_out: exchange.elapsed >= timeout,
            }),
        }
    }

    /// After a broken connection, whether the kernel killed the action for its memory.
    async fn oom_after(&self, outcome: &HttpOutcome) -> bool {
        matches!(outcome, HttpOutcome::Lost)
            && self
                .agent
                .runtime
                .oom_killed(&self.container.id)
                .await
                .unwrap_or(false)
    }

    /// Acks, logs, record; true if the container stays (success or application error, and
    /// its logs were read completely).
    async fn complete(
        &mut self,
        msg: &ActivationMessage,
        action: &ExecutableAction,
        timing: Timing,
        timed_out: bool,
        response: ActivationResponse,
    ) -> bool {
        let mut record = activation(msg, &action.doc, timing, timed_out, response);
        let logs_mb = action.doc.limits.logs_mb;
        let plan = ack_plan(msg.blocking, logs_mb > 0);
        let invoker = self.agent.invoker.clone();
        match plan {
            AckPlan::ResultThenCompletion => self.send_ack(msg, result_ack(msg, &record)).await,
            AckPlan::Combined => {
                self.send_ack(msg, combined_ack(msg, &record, &invoker))
                    .await
            }
            AckPlan::Completion if logs_mb == 0 => {
                self.send_ack(msg, completion_ack(msg, &record, &invoker))
                    .await;
            }
            AckPlan::Completion => {}
        }
        let mut logs_failed = false;
        if logs_mb > 0 {
            let developer_error = record.response.status_code == StatusCode::DeveloperError;
            let logs = self.collect_logs(logs_mb, developer_error).await;
            logs_failed = logs.failed;
            record.logs = logs.lines;
            if plan != AckPlan::Combined {
                self.send_ack(msg, completion_ack(msg, &record, &invoker))
                    .await;
            }
        }
        self.count(record.response.status_code);
        let keep = keeps_container(&record.response) && !logs_failed;
        self.store(msg, record);
        self.last_duration = Some(timing.duration());
        let now = self.agent.now();
        self.agent.pool(|p| p.touch(self.slot, now));
        keep
    }

    /// The lines of this activation, up to both sentinels (or until the stream goes quiet).
    async fn collect_logs(&mut self, limit_mb: u32, developer_error: bool) -> CollectedLogs {
        let mut collector = LogCollector::new(limit_mb, self.sentinels && !developer_error);
        let idle = if collector.waits_for_sentinels() {
            LOGS_IDLE_WITH_SENTINELS
        } else {
            LOGS_IDLE_WITHOUT_SENTINELS
        };
        let deadline = Instant::now() + Duration::from_secs(2 * u64::from(limit_mb.max(5)));
        let quiet = loop {
            let wait = idle.min(deadline.saturating_duration_since(Instant::now()));
            match tokio::time::timeout(wait, self.logs.recv()).await {
                Ok(Some(line)) if collector.push(&line, epoch_millis()) => break false,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break true,
            }
        };
        collector.finish(quiet, developer_error, epoch_millis())
    }

    /// `RescheduleActivation`; when the scheduler does not take it back, the activation
    /// completes with the stock whisk error.
    async fn reschedule(&mut self, msg: &ActivationMessage) {
        self.agent.metrics.reschedules.inc();
        let taken = match self.client.as_mut() {
            Some(client) => {
                let call = client.reschedule(&self.queue, msg);
                matches!(
                    tokio::time::timeout(RESCHEDULE_TIMEOUT, call).await,
                    Ok(Ok(true))
                )
            }
            None => false,
        };
        tracing::warn!(taken, "the container is unhealthy; activation handed back");
        if taken {
            super::report_health(&self.agent, false);
        } else {
            // The whisk error of the fallback is the health report.
            let response = ActivationResponse::error(StatusCode::WhiskError, ABNORMAL_RUN);
            self.fallback(msg, response).await;
        }
    }

    /// Metrics and the health ring: every activation but a whisk error counts as healthy.
    fn count(&self, status: StatusCode) {
        self.agent.metrics.count_activation(status);
        super::report_health(&self.agent, status != StatusCode::WhiskError);
    }

    /// Completes an activation that did not run: combined ack (shrunk unless blocking), record.
    async fn fallback(&mut self, msg: &ActivationMessage, response: ActivationResponse) {
        let record = fallback_activation(msg, &self.kind, response, epoch_millis());
        let ack = combined_ack(msg, &record, &self.agent.invoker);
        self.send_ack(msg, ack).await;
        self.count(record.response.status_code);
        self.store(msg, record);
    }

    /// Produces an ack to `completed<controller>`; a rejected one is sent again shrunk, as stock
    /// does for records too large for Kafka.
    async fn send_ack(&self, msg: &ActivationMessage, ack: AcknowledgementMessage) {
        let topic = match self
            .agent
            .topics
            .completed(&msg.root_controller_index.as_string)
        {
            Ok(t) => t,
            Err(e) => return tracing::warn!(error = %e, "ack has no valid topic"),
        };
        let bus = &self.agent.bus;
        if let Err(e) = bus.send(&topic, ack.encode()).await {
            tracing::warn!(error = %e, "ack rejected; sending it shrunk");
            if let Err(e) = bus.send(&topic, ack.shrink().encode()).await {
                tracing::error!(error = %e, "ack not sent");
            }
        }
    }

    /// Sends the user event (when enabled) and stores the record in the background, as stock,
    /// unless the namespace opted out.
    fn store(&self, msg: &ActivationMessage, record: WhiskActivation) {
        if self.agent.config.user_events {
            self.send_event(msg, &record);
        }
        if msg.user.limits.store_activations == Some(false) {
            return;
        }
        let store = self.agent.store.clone();
        let doc = ActivationDocument::new(record, epoch_millis());
        tokio::spawn(
            async move {
                if let Err(e) = store.put_activation(&doc).await {
                    tracing::error!(error = %e, "activation record not stored");
                }
            }
            .in_current_span(),
        );
    }
}

impl<D: Deps> ContainerTask<D> {
    fn send_event(&self, msg: &ActivationMessage, record: &WhiskActivation) {
        let event = activation_event(msg, record, self.agent.config.instance, epoch_millis());
        let topic = format!("{}events", self.agent.config.user_events_prefix);
        let (bus, tid) = (self.agent.bus.clone(), msg.transid.id.clone());
        tokio::spawn(
            async move {
                if let Err(e) = bus.send(&topic, event.encode()).await {
                    tracing::warn!(%tid, error = %e, "user event not delivered");
                }
            }
            .in_current_span(),
        );
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
