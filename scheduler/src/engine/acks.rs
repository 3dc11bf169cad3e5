//! Completing an activation the scheduler could not hand to a container: the stock fallback
//! activation record, stored, and acknowledged to its controller.
//!
//! Unlike the stock QueueManager (whose acks carry a `SchedulerInstanceId` the controller cannot
//! parse), every ack here carries the invoker-shaped placeholder the controller accepts.

use std::sync::Arc;

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::json::Value;
use ow_compat::messages::{
    AcknowledgementMessage, ActivationEvent, ActivationMessage, ActivationOrId, EventBody,
    EventMessage,
};
use ow_compat::records::{
    ActivationDocument, ActivationResponse, StatusCode, WhiskActionMetaData, WhiskActivation,
};
use ow_compat::values::{InstanceId, InvokerInstanceId, Parameters};

use super::{Engine, Shared};
use crate::metrics::Metrics;
use crate::queue::FailureKind;
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

/// The record of an activation that failed before reaching a container.
pub fn failure_record(
    msg: &ActivationMessage,
    action: Option<&WhiskActionMetaData>,
    reason: &str,
    kind: FailureKind,
    now: i64,
) -> WhiskActivation {
    let status = match kind {
        FailureKind::Developer => StatusCode::DeveloperError,
        FailureKind::Whisk => StatusCode::WhiskError,
    };
    let path = format!("{}/{}", msg.action.path, msg.action.name);
    let mut annotations = vec![("path".to_owned(), Value::String(path))];
    let exec_kind = action.map_or("unknown", |a| a.exec.kind());
    annotations.push(("kind".to_owned(), Value::String(exec_kind.to_owned())));
    if msg.cause.is_some() {
        annotations.push(("causedBy".to_owned(), Value::String("sequence".into())));
    }
    if let Some(a) = action {
        annotations.push(("limits".to_owned(), ow_compat::json::Wire::write(&a.limits)));
    }
    if let Some(b) = &msg.action.binding {
        annotations.push(("binding".to_owned(), Value::String(b.to_string())));
    }
    WhiskActivation {
        namespace: ow_compat::values::EntityPath::parse(msg.user.namespace.name.as_str())
            .unwrap_or_else(|_| msg.action.path.clone()),
        name: msg.action.name.clone(),
        subject: msg.user.subject.clone(),
        activation_id: msg.activation_id.clone(),
        start: now,
        end: now,
        cause: msg.cause.clone(),
        response: ActivationResponse::error(status, reason),
        logs: Vec::new(),
        version: msg.action.version.unwrap_or_default(),
        publish: false,
        annotations: Parameters::from_pairs(annotations),
        duration: Some(0),
    }
}

/// The ack for `record`: combined for blocking invokes, completion only otherwise.
pub fn failure_ack(msg: &ActivationMessage, record: WhiskActivation) -> AcknowledgementMessage {
    let is_system_error = Some(record.response.status_code == StatusCode::WhiskError);
    let instance = InstanceId::Invoker(InvokerInstanceId::scheduler_placeholder());
    if msg.blocking {
        AcknowledgementMessage::Combined {
            transid: msg.transid.clone(),
            response: ActivationOrId::Activation(Box::new(record)),
            is_system_error,
            instance,
        }
    } else {
        AcknowledgementMessage::Completion {
            transid: msg.transid.clone(),
            activation_id: msg.activation_id.clone(),
            is_system_error,
            instance,
        }
    }
}

/// Stores the record and acknowledges the controller; failures are logged, never fatal.
pub async fn complete_with_error<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    msg: Arc<ActivationMessage>,
    action: Option<&WhiskActionMetaData>,
    reason: &str,
    kind: FailureKind,
) {
    Metrics::inc(&engine.metrics.activations_failed);
    let now = Shared::<B, C, S>::epoch_millis();
    let record = failure_record(&msg, action, reason, kind, now);
    let doc = ActivationDocument::new(record.clone(), now);
    let ack = failure_ack(&msg, record);
    let topic = engine.topic(&format!("completed{}", msg.root_controller_index.as_string));
    let tid = msg.transid.id.as_str();
    if let Err(e) = engine.bus.send(&topic, ack.encode()).await {
        tracing::error!(tid, activation = %msg.activation_id, error = %e, "error ack not delivered");
    }
    if engine.config.user_events_enabled {
        send_event(engine, &msg, &doc.activation, action, now).await;
    }
    if let Err(e) = engine.store.put_activation(&doc).await {
        tracing::warn!(tid, activation = %msg.activation_id, error = %e, "error record not stored");
    }
    tracing::info!(tid, activation = %msg.activation_id, reason, "activation completed by the scheduler");
}

/// The user event of a scheduler-completed activation (`whisk.user-events.enabled`).
async fn send_event<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    msg: &ActivationMessage,
    record: &WhiskActivation,
    action: Option<&WhiskActionMetaData>,
    now: i64,
) {
    let body = EventBody::Activation(ActivationEvent {
        activation_id: msg.activation_id.to_string(),
        caused_by: msg.cause.as_ref().map(|_| "sequence".to_owned()),
        conductor: false,
        duration: 0,
        init_time: 0,
        kind: action.map_or("unknown", |a| a.exec.kind()).to_owned(),
        memory: action.map_or(0, |a| i64::from(a.limits.memory_mb)),
        name: format!("{}/{}", msg.action.path, msg.action.name),
        size: None,
        status_code: i64::from(record.response.status_code.code()),
        user_defined_status_code: None,
        wait_time: (now - msg.transid.start_millis).max(0),
    });
    let event = EventMessage {
        source: format!("scheduler{}", engine.config.instance.as_string),
        body,
        subject: msg.user.subject.clone(),
        namespace: msg.user.namespace.name.to_string(),
        user_id: msg.user.namespace.uuid.clone(),
        event_type: "Activation".into(),
        timestamp: now,
    };
    let topic = format!("{}events", engine.config.user_events_prefix);
    if let Err(e) = engine.bus.send(&topic, event.encode()).await {
        tracing::warn!(tid = %msg.transid.id, error = %e, "user event not delivered");
    }
}
