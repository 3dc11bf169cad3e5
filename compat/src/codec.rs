//! Whole-document decoding and encoding, and the registry of type names `ow-wire` uses.

use crate::json::{DecodeError, Path, Wire, parse};

/// A document that could not be decoded as the named type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {type_name}: {source}")]
pub struct WireError {
    /// OpenWhisk class name in kebab-case, e.g. `activation-message`.
    pub type_name: &'static str,
    /// What was wrong, and where.
    #[source]
    pub source: DecodeError,
}

/// A top-level document type with a name.
pub trait Codec: Wire {
    /// OpenWhisk class name in kebab-case.
    const TYPE_NAME: &'static str;

    /// Parses and reads one JSON document.
    fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        decode_tree(bytes)
    }

    /// Writes the compact form, byte-identical to spray-json's.
    fn encode(&self) -> String {
        let mut out = String::with_capacity(1024);
        self.write_to(&mut out);
        out
    }
}

/// Decodes through a JSON tree: the reference reader every type has.
pub fn decode_tree<T: Codec>(bytes: &[u8]) -> Result<T, WireError> {
    let v = parse(bytes).map_err(|source| WireError {
        type_name: T::TYPE_NAME,
        source,
    })?;
    T::read(&v, Path::Root).map_err(|source| WireError {
        type_name: T::TYPE_NAME,
        source,
    })
}

/// Decodes `bytes` as `T` and encodes it again.
pub fn roundtrip<T: Codec>(bytes: &[u8]) -> Result<String, WireError> {
    T::decode(bytes).map(|v| v.encode())
}

type RoundTrip = fn(&[u8]) -> Result<String, WireError>;

macro_rules! registry {
    ($($t:ty),* $(,)?) => {
        /// Every named type: (name, decode-then-encode).
        pub const TYPES: &[(&str, RoundTrip)] = &[$((<$t as Codec>::TYPE_NAME, roundtrip::<$t>)),*];
    };
}

use crate::messages::{
    AcknowledgementMessage, ActivationMessage, ContainerCreationAckMessage,
    ContainerCreationMessage, ContainerDeletionMessage, EventMessage, InvokerResourceMessage,
    PingMessage,
};
use crate::records::{
    ActivationDocument, ActivationResponse, FetchResponseMessage, InitRequest, RunRequest,
    RuntimesManifestDocument, WhiskActionDocument, WhiskActivation,
};
use crate::values::{
    ControllerInstanceId, Exec, InvokerInstanceId, Parameters, SchedulerEndpoints, SchedulerStates,
    TransactionId,
};

registry!(
    TransactionId,
    ActivationMessage,
    ContainerCreationMessage,
    ContainerDeletionMessage,
    ContainerCreationAckMessage,
    AcknowledgementMessage,
    PingMessage,
    EventMessage,
    InvokerInstanceId,
    ControllerInstanceId,
    SchedulerEndpoints,
    SchedulerStates,
    InvokerResourceMessage,
    ActivationResponse,
    WhiskActivation,
    WhiskActionDocument,
    ActivationDocument,
    Exec,
    Parameters,
    RuntimesManifestDocument,
    InitRequest,
    RunRequest,
    FetchResponseMessage,
);

/// Looks up a type by name and round-trips `bytes` through it; `None` if the name is unknown.
pub fn roundtrip_named(type_name: &str, bytes: &[u8]) -> Option<Result<String, WireError>> {
    TYPES
        .iter()
        .find(|(name, _)| *name == type_name)
        .map(|(_, f)| f(bytes))
}

macro_rules! names {
    ($($t:ty => $name:literal),* $(,)?) => {$(
        impl Codec for $t {
            const TYPE_NAME: &'static str = $name;
        }
    )*};
}

names!(
    TransactionId => "transaction-id",
    InvokerInstanceId => "invoker-instance-id",
    ControllerInstanceId => "controller-instance-id",
    SchedulerEndpoints => "scheduler-endpoints",
    SchedulerStates => "scheduler-states",
    Exec => "exec",
    Parameters => "parameters",
    ContainerCreationMessage => "container-creation-message",
    ContainerDeletionMessage => "container-deletion-message",
    ContainerCreationAckMessage => "container-creation-ack-message",
    AcknowledgementMessage => "acknowledgement-message",
    PingMessage => "ping-message",
    EventMessage => "event-message",
    InvokerResourceMessage => "invoker-resource-message",
    ActivationResponse => "activation-response",
    WhiskActivation => "whisk-activation",
    WhiskActionDocument => "whisk-action",
    ActivationDocument => "activation-document",
    RuntimesManifestDocument => "runtimes-manifest",
    InitRequest => "init-request",
    RunRequest => "run-request",
    FetchResponseMessage => "fetch-response-message",
);

impl Codec for ActivationMessage {
    const TYPE_NAME: &'static str = "activation-message";

    /// The typed fast path first; it gives up on anything the tree reader must judge.
    fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        if bytes.len() <= crate::json::MAX_DOCUMENT_BYTES
            && let Some(msg) = crate::messages::decode_activation_fast(bytes)
        {
            return Ok(msg);
        }
        decode_tree(bytes)
    }
}
