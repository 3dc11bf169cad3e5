//! CouchDB documents and their parts: actions, activation records, exec, parameters, the
//! runtimes manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ow_compat::records::{
    ActivationDocument, ActivationResponse, RuntimesManifestDocument, WhiskActionDocument,
    WhiskActivation,
};
use ow_compat::values::{Exec, Parameters};
use ow_compat_fuzz::{Check, checks, run};

const CHECKS: &[Check] = checks!(
    WhiskActionDocument,
    ActivationDocument,
    WhiskActivation,
    ActivationResponse,
    Exec,
    Parameters,
    RuntimesManifestDocument,
);

fuzz_target!(|data: &[u8]| run(data, CHECKS));
