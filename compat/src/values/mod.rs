//! Value types shared by the messages and documents: ids, names, limits, parameters, `exec`.

mod entity;
mod exec;
mod identity;
mod ids;
mod instance;
mod limits;
mod parameters;
mod tid;

pub use entity::{EntityName, EntityPath, FullyQualifiedEntityName, SemVer};
pub use exec::{Attachment, CodeBody, Exec, ExecMetaData};
pub use identity::{Identity, Namespace, UserLimits};

/// Validation rules shared with the fast `ActivationMessage` reader.
pub(crate) mod identity_rules {
    pub(crate) use super::identity::{normalize_rights, valid_subject};
}
pub use ids::{ActivationId, CreationId, DocRevision};
pub use instance::{
    ControllerInstanceId, InstanceId, InvokerInstanceId, RemotingDialect, SchedulerEndpoints,
    SchedulerInstanceId, SchedulerStates,
};
pub use limits::{ActionLimits, ByteSize, SizeUnit};
pub use parameters::{Parameter, Parameters};
pub use tid::TransactionId;
