//! `activation.ActivationService` as stock invokers call it: `FetchActivation` long polls a
//! queue, `RescheduleActivation` hands an activation back. Errors travel inside the JSON answer
//! (`NoActivationMessage`, `NoMemoryQueue`, `ActionMismatch`); malformed `fqn`/`rev` fail the
//! call with `INVALID_ARGUMENT`, naming the field.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::grpc::{
    self, ActivationService, FetchRequest, FetchResponse, RescheduleRequest, RescheduleResponse,
};
use ow_compat::json::{Path, Wire};
use ow_compat::messages::ActivationMessage;
use ow_compat::values::FullyQualifiedEntityName;
use tonic::{Request, Response, Status};

use crate::engine::{Engine, PollOutcome, QueueKey, effects_for};
use crate::metrics::Metrics;
use crate::queue::{Fetch, PollAnswer};
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

/// The stock service waits at most this long for its queue to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// The gRPC service over the running scheduler.
#[derive(Debug)]
pub struct Activations<B, C, S> {
    engine: Engine<B, C, S>,
}

impl<B, C, S> Activations<B, C, S> {
    /// A service for `engine`.
    pub fn new(engine: Engine<B, C, S>) -> Self {
        Self { engine }
    }
}

fn parse_target(
    namespace: &str,
    fqn: &str,
    rev: &str,
) -> Result<(FullyQualifiedEntityName, QueueKey), Status> {
    let fqn_json = grpc::parse_fqn(fqn).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let fqn = FullyQualifiedEntityName::read(&fqn_json, Path::Root)
        .map_err(|e| Status::invalid_argument(format!("fqn {fqn:?}: {e}")))?;
    let rev = grpc::parse_rev(rev).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let revision = rev
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "null".to_owned());
    let key = QueueKey {
        invocation_namespace: namespace.to_owned(),
        doc_id: fqn.doc_id(),
        revision,
    };
    Ok((fqn, key))
}

fn answer(text: &str) -> Response<FetchResponse> {
    Response::new(FetchResponse {
        activation_message: text.to_owned(),
    })
}

fn activation_answer(msg: &ActivationMessage) -> Response<FetchResponse> {
    Response::new(FetchResponse {
        activation_message: grpc::wrap_activation(&msg.encode()),
    })
}

#[tonic::async_trait]
impl<B: MessageBus, C: Coordinator, S: Store> ActivationService for Activations<B, C, S> {
    async fn fetch_activation(
        &self,
        request: Request<FetchRequest>,
    ) -> Result<Response<FetchResponse>, Status> {
        let started = Instant::now();
        Metrics::inc(&self.engine.metrics.fetches);
        let req = request.into_inner();
        let (fqn, key) = parse_target(&req.invocation_namespace, &req.fqn, &req.rev)?;
        if fqn.is_warm_up() {
            return Ok(answer(grpc::NO_ACTIVATION_MESSAGE));
        }
        let Some(cell) = self.engine.registry.get(&key) else {
            let mismatch = self.engine.registry.other_revision(&key).is_some();
            return Ok(answer(if mismatch {
                grpc::ACTION_MISMATCH
            } else {
                grpc::NO_MEMORY_QUEUE
            }));
        };
        if cell.fqn != fqn {
            return Ok(answer(grpc::ACTION_MISMATCH));
        }
        let (poll, mut rx) = self.engine.registry.park();
        let fetch = Fetch {
            poll,
            container_id: req.container_id,
            warmed: req.warmed,
            alive: req.alive,
            last_duration_ms: req.last_duration.and_then(|d| u64::try_from(d).ok()),
        };
        let now = self.engine.now();
        let out = cell
            .queue
            .lock()
            .map(|mut q| q.fetch(fetch, now))
            .unwrap_or_default();
        effects_for(&self.engine, &cell, out).await;
        let waited = tokio::time::timeout(ASK_TIMEOUT, &mut rx).await;
        self.engine.registry.forget(poll);
        // An activation handed over at the very moment the wait ended is still taken.
        let outcome = match waited {
            Ok(r) => r.ok(),
            Err(_) => rx.try_recv().ok(),
        };
        self.engine
            .metrics
            .observe_fetch_wait(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        Ok(match outcome {
            Some(PollOutcome::Activation(msg)) => activation_answer(&msg),
            Some(PollOutcome::Empty(PollAnswer::NoMemoryQueue)) => answer(grpc::NO_MEMORY_QUEUE),
            _ => answer(grpc::NO_ACTIVATION_MESSAGE),
        })
    }

    async fn reschedule_activation(
        &self,
        request: Request<RescheduleRequest>,
    ) -> Result<Response<RescheduleResponse>, Status> {
        let req = request.into_inner();
        let (_, key) = parse_target(&req.invocation_namespace, &req.fqn, &req.rev)?;
        let msg = ActivationMessage::decode(req.activation_message.as_bytes())
            .map_err(|e| Status::invalid_argument(format!("activationMessage: {e}")))?;
        let Some(cell) = self.engine.registry.get(&key) else {
            return Ok(Response::new(RescheduleResponse {
                is_rescheduled: false,
            }));
        };
        tracing::info!(tid = %msg.transid.id, activation = %msg.activation_id, "activation rescheduled by an invoker");
        let now = self.engine.now();
        let out = cell
            .queue
            .lock()
            .map(|mut q| q.enqueue(Arc::new(msg), now))
            .unwrap_or_default();
        effects_for(&self.engine, &cell, out).await;
        Ok(Response::new(RescheduleResponse {
            is_rescheduled: true,
        }))
    }
}
