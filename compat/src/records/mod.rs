//! Documents: actions and activation records (CouchDB), the runtime protocol bodies, the manifest.

mod action;
mod activation;
mod runtime;
mod time;

pub use crate::messages::FetchResponsePayload as FetchResponseMessage;
pub use action::{WhiskActionDocument, WhiskActionMetaData};
pub use activation::{ActivationDocument, ActivationResponse, StatusCode, WhiskActivation};
pub use runtime::{InitRequest, RunRequest, RuntimesManifestDocument};
pub use time::{format_rfc3339_millis, read_instant};
