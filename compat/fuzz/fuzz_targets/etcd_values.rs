//! etcd values: scheduler states and endpoints, invoker resources, instance ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ow_compat::messages::InvokerResourceMessage;
use ow_compat::values::{
    ControllerInstanceId, InvokerInstanceId, SchedulerEndpoints, SchedulerStates,
};
use ow_compat_fuzz::{Check, checks, run};

const CHECKS: &[Check] = checks!(
    SchedulerStates,
    SchedulerEndpoints,
    InvokerResourceMessage,
    InvokerInstanceId,
    ControllerInstanceId,
);

fuzz_target!(|data: &[u8]| run(data, CHECKS));
