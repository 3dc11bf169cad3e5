//! Action runtime bodies (`/init`, `/run`), the gRPC fetch answer, transaction ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ow_compat::records::{FetchResponseMessage, InitRequest, RunRequest};
use ow_compat::values::TransactionId;
use ow_compat_fuzz::{Check, checks, run};

const CHECKS: &[Check] = checks!(InitRequest, RunRequest, FetchResponseMessage, TransactionId);

fuzz_target!(|data: &[u8]| run(data, CHECKS));
