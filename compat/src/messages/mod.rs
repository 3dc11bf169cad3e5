//! Kafka messages between controller, scheduler and invokers, and the JSON inside gRPC answers.

mod ack;
mod activation;
mod activation_fast;
mod container;
mod event;
mod fetch;
mod health;

pub use ack::{AcknowledgementMessage, ActivationOrId};
pub use activation::{ActivationMessage, StringMap};
#[doc(hidden)]
pub use activation_fast::decode as decode_activation_fast;
pub use container::{
    ContainerCreationAckMessage, ContainerCreationMessage, ContainerDeletionMessage,
    ContainerMessage, CreationError,
};
pub use event::{ActivationEvent, EventBody, EventMessage, user_defined_status_code};
pub use fetch::FetchResponsePayload;
pub use health::{InvokerResourceMessage, InvokerStatus, PingMessage};
