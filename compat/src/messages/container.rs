//! Container commands on `invoker<N>` and creation acks on `creationAck<sid>`.

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire};
use crate::records::WhiskActionMetaData;
use crate::values::{
    CreationId, DocRevision, FullyQualifiedEntityName, InvokerInstanceId, SchedulerInstanceId,
    TransactionId,
};

/// Scheduler → invoker: create (or resume) a container for a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerCreationMessage {
    /// `sid_containerCreation` (or `sid_warmUp`).
    pub transid: TransactionId,
    /// Namespace the queue belongs to.
    pub invocation_namespace: String,
    /// The queue's action.
    pub action: FullyQualifiedEntityName,
    /// Action revision.
    pub revision: DocRevision,
    /// Action metadata (no code).
    pub whisk_action_meta_data: WhiskActionMetaData,
    /// Where the ack goes: `creationAck<asString>`.
    pub root_scheduler_index: SchedulerInstanceId,
    /// gRPC host the container must poll.
    pub scheduler_host: String,
    /// gRPC port.
    pub rpc_port: u16,
    /// 0, then +1 per reschedule.
    pub retry_count: u32,
    /// Stable across reschedules.
    pub creation_id: CreationId,
}

impl Wire for ContainerCreationMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            transid: o.req("transid")?,
            invocation_namespace: o.req("invocationNamespace")?,
            action: o.req("action")?,
            revision: o.req("revision")?,
            whisk_action_meta_data: o.req("whiskActionMetaData")?,
            root_scheduler_index: o.req("rootSchedulerIndex")?,
            scheduler_host: o.req("schedulerHost")?,
            rpc_port: o.req("rpcPort")?,
            retry_count: o.req("retryCount")?,
            creation_id: o.req("creationId")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("action", self.action.write())
            .field("creationId", self.creation_id.write())
            .field(
                "invocationNamespace",
                Value::String(self.invocation_namespace.clone()),
            )
            .field("retryCount", Value::from(self.retry_count))
            .field("revision", self.revision.write())
            .field("rootSchedulerIndex", self.root_scheduler_index.write())
            .field("rpcPort", Value::from(self.rpc_port))
            .field("schedulerHost", Value::String(self.scheduler_host.clone()))
            .field("transid", self.transid.write())
            .field("whiskActionMetaData", self.whisk_action_meta_data.write())
            .build()
    }
}

/// Scheduler → invoker: remove the containers of an action up to this revision.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerDeletionMessage {
    /// `sid_containerDeletion`.
    pub transid: TransactionId,
    /// Namespace the queue belonged to.
    pub invocation_namespace: String,
    /// The action.
    pub action: FullyQualifiedEntityName,
    /// Containers with this revision or older go.
    pub revision: DocRevision,
    /// Action metadata.
    pub whisk_action_meta_data: WhiskActionMetaData,
}

impl Wire for ContainerDeletionMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            transid: o.req("transid")?,
            invocation_namespace: o.req("invocationNamespace")?,
            action: o.req("action")?,
            revision: o.req("revision")?,
            whisk_action_meta_data: o.req("whiskActionMetaData")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("action", self.action.write())
            .field(
                "invocationNamespace",
                Value::String(self.invocation_namespace.clone()),
            )
            .field("revision", self.revision.write())
            .field("transid", self.transid.write())
            .field("whiskActionMetaData", self.whisk_action_meta_data.write())
            .build()
    }
}

/// What arrives on `invoker<N>`: an object with `creationId` is a creation, otherwise a deletion.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerMessage {
    /// Create or resume a container.
    Creation(ContainerCreationMessage),
    /// Remove containers.
    Deletion(ContainerDeletionMessage),
}

impl Wire for ContainerMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        if v.get("creationId").is_some() {
            ContainerCreationMessage::read(v, at).map(Self::Creation)
        } else {
            ContainerDeletionMessage::read(v, at).map(Self::Deletion)
        }
    }
    fn write(&self) -> Value {
        match self {
            Self::Creation(c) => c.write(),
            Self::Deletion(d) => d.write(),
        }
    }
}

/// Why a container could not be created; the wire form is the Scala case-object name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreationError {
    NoAvailableInvokersError,
    NoAvailableResourceInvokersError,
    ResourceNotEnoughError,
    WhiskError,
    UnknownError,
    TimeoutError,
    ShuttingDownError,
    ZeroNamespaceLimit,
    NonExecutableActionError,
    DBFetchError,
    BlackBoxError,
    TooManyConcurrentRequests,
    InvalidActionLimitError,
}

impl CreationError {
    /// Every code, in the order of the spec's table.
    pub const ALL: [CreationError; 13] = [
        Self::NoAvailableInvokersError,
        Self::NoAvailableResourceInvokersError,
        Self::ResourceNotEnoughError,
        Self::WhiskError,
        Self::UnknownError,
        Self::TimeoutError,
        Self::ShuttingDownError,
        Self::ZeroNamespaceLimit,
        Self::NonExecutableActionError,
        Self::DBFetchError,
        Self::BlackBoxError,
        Self::TooManyConcurrentRequests,
        Self::InvalidActionLimitError,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::NoAvailableInvokersError => "NoAvailableInvokersError",
            Self::NoAvailableResourceInvokersError => "NoAvailableResourceInvokersError",
            Self::ResourceNotEnoughError => "ResourceNotEnoughError",
            Self::WhiskError => "WhiskError",
            Self::UnknownError => "UnknownError",
            Self::TimeoutError => "TimeoutError",
            Self::ShuttingDownError => "ShuttingDownError",
            Self::ZeroNamespaceLimit => "ZeroNamespaceLimit",
            Self::NonExecutableActionError => "NonExecutableActionError",
            Self::DBFetchError => "DBFetchError",
            Self::BlackBoxError => "BlackBoxError",
            Self::TooManyConcurrentRequests => "TooManyConcurrentRequests",
            Self::InvalidActionLimitError => "InvalidActionLimitError",
        }
    }

    /// Whether the scheduler retries the creation elsewhere (a "whisk error").
    pub fn is_reschedulable(self) -> bool {
        matches!(
            self,
            Self::NoAvailableInvokersError
                | Self::NoAvailableResourceInvokersError
                | Self::ResourceNotEnoughError
                | Self::WhiskError
                | Self::UnknownError
                | Self::TimeoutError
                | Self::ShuttingDownError
                | Self::ZeroNamespaceLimit
        )
    }

    /// Case-insensitive lookup, accepting the Scala reader's misspelling
    /// `NONEXECUTBLEACTIONERROR` as well as the name the invoker actually writes.
    pub fn parse(s: &str) -> Option<Self> {
        let key = s.trim().to_ascii_uppercase();
        if key == "NONEXECUTBLEACTIONERROR" {
            return Some(Self::NonExecutableActionError);
        }
        Self::ALL
            .into_iter()
            .find(|e| e.name().to_ascii_uppercase() == key)
    }
}

impl Wire for CreationError {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let s = String::read(v, at)?;
        Self::parse(&s)
            .ok_or_else(|| at.error(format!("{s:?} is not a container creation error code")))
    }
    fn write(&self) -> Value {
        Value::String(self.name().into())
    }
}

/// Invoker → scheduler: the outcome of a `ContainerCreationMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerCreationAckMessage {
    /// Echoed.
    pub transid: TransactionId,
    /// Echoed.
    pub creation_id: CreationId,
    /// Echoed.
    pub invocation_namespace: String,
    /// Echoed.
    pub action: FullyQualifiedEntityName,
    /// Echoed.
    pub revision: DocRevision,
    /// Echoed (note the key `actionMetaData`).
    pub action_meta_data: WhiskActionMetaData,
    /// The invoker that answers.
    pub root_invoker_index: InvokerInstanceId,
    /// Echoed.
    pub scheduler_host: String,
    /// Echoed.
    pub rpc_port: u16,
    /// Echoed.
    pub retry_count: u32,
    /// Set when the creation failed.
    pub error: Option<CreationError>,
    /// Human-readable reason of the failure.
    pub reason: Option<String>,
}

impl ContainerCreationAckMessage {
    /// The ack `invoker` sends for `creation`: every field echoed, plus the outcome.
    pub fn answering(
        creation: &ContainerCreationMessage,
        invoker: InvokerInstanceId,
        failure: Option<(CreationError, String)>,
    ) -> Self {
        let (error, reason) = match failure {
            Some((e, r)) => (Some(e), Some(r)),
            None => (None, None),
        };
        Self {
            transid: creation.transid.clone(),
            creation_id: creation.creation_id.clone(),
            invocation_namespace: creation.invocation_namespace.clone(),
            action: creation.action.clone(),
            revision: creation.revision.clone(),
            action_meta_data: creation.whisk_action_meta_data.clone(),
            root_invoker_index: invoker,
            scheduler_host: creation.scheduler_host.clone(),
            rpc_port: creation.rpc_port,
            retry_count: creation.retry_count,
            error,
            reason,
        }
    }
}

impl Wire for ContainerCreationAckMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            transid: o.req("transid")?,
            creation_id: o.req("creationId")?,
            invocation_namespace: o.req("invocationNamespace")?,
            action: o.req("action")?,
            revision: o.req("revision")?,
            action_meta_data: o.req("actionMetaData")?,
            root_invoker_index: o.req("rootInvokerIndex")?,
            scheduler_host: o.req("schedulerHost")?,
            rpc_port: o.req("rpcPort")?,
            retry_count: o.req("retryCount")?,
            error: o.opt("error")?,
            reason: o.opt("reason")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("action", self.action.write())
            .field("actionMetaData", self.action_meta_data.write())
            .field("creationId", self.creation_id.write())
            .opt("error", self.error.as_ref().map(Wire::write))
            .field(
                "invocationNamespace",
                Value::String(self.invocation_namespace.clone()),
            )
            .opt("reason", self.reason.clone().map(Value::String))
            .field("retryCount", Value::from(self.retry_count))
            .field("revision", self.revision.write())
            .field("rootInvokerIndex", self.root_invoker_index.write())
            .field("rpcPort", Value::from(self.rpc_port))
            .field("schedulerHost", Value::String(self.scheduler_host.clone()))
            .field("transid", self.transid.write())
            .build()
    }
}
