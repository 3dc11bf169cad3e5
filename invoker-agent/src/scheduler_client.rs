//! One container's gRPC client to its queue's scheduler (`activation.ActivationService`): the
//! long-polling `FetchActivation` with the stock request fields (spec 6.1, 6.4) and
//! `RescheduleActivation`.

use std::sync::Arc;
use std::time::Duration;

use ow_compat::Codec;
use ow_compat::grpc::{
    ActivationServiceClient, FetchRequest, RescheduleRequest, render_fqn, render_rev,
};
use ow_compat::json::{Path, Wire};
use ow_compat::messages::{ActivationMessage, FetchResponsePayload};
use ow_compat::values::{DocRevision, FullyQualifiedEntityName, TransactionId};
use tonic::transport::{Channel, Endpoint};

use crate::ids::{epoch_millis, random_id};

/// A fetch is a long poll of about a second on the scheduler side (5 s at most); this bounds a
/// scheduler that stopped answering.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A gRPC exchange that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to scheduler {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    #[error("{call} to scheduler {endpoint} failed: {reason}")]
    Call {
        call: &'static str,
        endpoint: String,
        reason: String,
    },
}

/// What a fetch brought.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Activation(Box<ActivationMessage>),
    NoActivation,
    NoMemoryQueue,
    ActionMismatch,
    /// The answer does not parse; the stock client simply polls again.
    Unparsable(String),
}

/// The queue a container polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    pub invocation_namespace: String,
    pub action: FullyQualifiedEntityName,
    pub revision: DocRevision,
}

/// A client bound to one scheduler endpoint.
#[derive(Debug, Clone)]
pub struct SchedulerClient {
    client: ActivationServiceClient<Channel>,
    host: String,
    port: u16,
    /// Held while this client uses its shared connection (`crate::connections`).
    _lease: Arc<()>,
}

impl SchedulerClient {
    /// A client on an open connection, holding `lease` while it lives.
    pub(crate) fn on(channel: Channel, host: &str, port: u16, lease: Arc<()>) -> Self {
        Self {
            client: ActivationServiceClient::new(channel),
            host: host.to_owned(),
            port,
            _lease: lease,
        }
    }

    /// Opens a connection to `host:port` (cleartext HTTP/2, as the scheduler serves it); clients
    /// get one through [`crate::connections::Connections`].
    pub(crate) async fn open(host: &str, port: u16) -> Result<Channel, ClientError> {
        let endpoint = format!("http://{host}:{port}");
        let error = |reason: String| ClientError::Connect {
            endpoint: endpoint.clone(),
            reason,
        };
        Endpoint::from_shared(endpoint.clone())
            .map_err(|e| error(e.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .connect()
            .await
            .map_err(|e| error(e.to_string()))
    }

    /// Whether this client talks to `host:port`.
    pub fn is_for(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port == port
    }

    fn endpoint(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// `FetchActivation` with the stock fields: a fresh transaction id, the JSON `fqn` and
    /// `rev`, and `lastDuration` only on the first poll after a run.
    pub async fn fetch(
        &mut self,
        queue: &QueueRef,
        container_id: &str,
        warmed: bool,
        last_duration: Option<i64>,
        alive: bool,
    ) -> Result<Fetched, ClientError> {
        let request = FetchRequest {
            transaction_id: TransactionId::new(random_id(), epoch_millis()).encode(),
            invocation_namespace: queue.invocation_namespace.clone(),
            fqn: fqn_json(&queue.action),
            rev: render_rev(queue.revision.as_str()),
            container_id: container_id.to_owned(),
            warmed,
            last_duration,
            alive,
        };
        let answer = self
            .client
            .fetch_activation(request)
            .await
            .map_err(|status| self.call_error("FetchActivation", &status))?;
        Ok(parse_answer(&answer.into_inner().activation_message))
    }

    /// `RescheduleActivation`: hands `msg` back to the queue; true if it took it.
    pub async fn reschedule(
        &mut self,
        queue: &QueueRef,
        msg: &ActivationMessage,
    ) -> Result<bool, ClientError> {
        let action = FullyQualifiedEntityName {
            binding: None,
            ..msg.action.clone()
        };
        let request = RescheduleRequest {
            invocation_namespace: queue.invocation_namespace.clone(),
            fqn: fqn_json(&action),
            rev: render_rev(queue.revision.as_str()),
            activation_message: msg.encode(),
        };
        let answer = self
            .client
            .reschedule_activation(request)
            .await
            .map_err(|status| self.call_error("RescheduleActivation", &status))?;
        Ok(answer.into_inner().is_rescheduled)
    }

    fn call_error(&self, call: &'static str, status: &tonic::Status) -> ClientError {
        ClientError::Call {
            call,
            endpoint: self.endpoint(),
            reason: format!("{:?}: {}", status.code(), status.message()),
        }
    }
}

fn fqn_json(fqn: &FullyQualifiedEntityName) -> String {
    let version = fqn.version.map(|v| v.to_string());
    let binding = fqn.binding.as_ref().map(ToString::to_string);
    render_fqn(
        &fqn.path.to_string(),
        fqn.name.as_str(),
        version.as_deref(),
        binding.as_deref(),
    )
}

/// Reads `FetchResponse.activationMessage` as the stock client does.
pub fn parse_answer(text: &str) -> Fetched {
    let payload = ow_compat::json::parse(text.as_bytes())
        .map_err(|e| e.to_string())
        .and_then(|v| FetchResponsePayload::read(&v, Path::Root).map_err(|e| e.to_string()));
    match payload {
        Ok(FetchResponsePayload::Activation(msg)) => Fetched::Activation(msg),
        Ok(FetchResponsePayload::NoActivation) => Fetched::NoActivation,
        Ok(FetchResponsePayload::NoMemoryQueue) => Fetched::NoMemoryQueue,
        Ok(FetchResponsePayload::ActionMismatch) => Fetched::ActionMismatch,
        Err(reason) => Fetched::Unparsable(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ow_compat::grpc::{
        ACTION_MISMATCH, NO_ACTIVATION_MESSAGE, NO_MEMORY_QUEUE, wrap_activation,
    };

    #[test]
    fn answers_are_read_as_the_stock_client_reads_them() {
        assert_eq!(parse_answer(NO_ACTIVATION_MESSAGE), Fetched::NoActivation);
        assert_eq!(parse_answer(NO_MEMORY_QUEUE), Fetched::NoMemoryQueue);
        assert_eq!(parse_answer(ACTION_MISMATCH), Fetched::ActionMismatch);
        assert!(matches!(parse_answer("{}"), Fetched::Unparsable(_)));
        let v50 =
            include_str!("../../../shared/spec/vectors/50-kafka-activationmessage-basic.json");
        let Fetched::Activation(msg) = parse_answer(&wrap_activation(v50.trim())) else {
            panic!("activation expected")
        };
        assert_eq!(
            msg.activation_id.as_str(),
            "a3f1c2e4b5d64e7f8a9b0c1d2e3f4a5b"
        );
    }
}
