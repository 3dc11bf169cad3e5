//! Kafka messages: activations, container commands and acks, acknowledgements, events, pings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ow_compat::messages::{
    AcknowledgementMessage, ActivationMessage, ContainerCreationAckMessage,
    ContainerCreationMessage, ContainerDeletionMessage, EventMessage, PingMessage,
};
use ow_compat_fuzz::{Check, checks, run};

const CHECKS: &[Check] = checks!(
    ActivationMessage,
    ContainerCreationMessage,
    ContainerDeletionMessage,
    ContainerCreationAckMessage,
    AcknowledgementMessage,
    EventMessage,
    PingMessage,
);

fuzz_target!(|data: &[u8]| run(data, CHECKS));
