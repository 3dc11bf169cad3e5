//! User events (wire 3.3.6, vector 63): one `Activation` event per finished activation on
//! `{prefix}events`, from `invoker<N>`, when `whisk.user-events.enabled`. Pure: built from the
//! activation record the agent stores.

use ow_compat::messages::{
    ActivationEvent, ActivationMessage, EventBody, EventMessage, user_defined_status_code,
};
use ow_compat::records::WhiskActivation;
use serde_json::Value;

/// The event of `record`, the activation `msg` ran as.
pub fn activation_event(
    msg: &ActivationMessage,
    record: &WhiskActivation,
    invoker: u32,
    now_ms: i64,
) -> EventMessage {
    let notes = &record.annotations;
    let int = |key: &str| notes.get(key).and_then(Value::as_i64).unwrap_or(0).max(0);
    let text = |key: &str| notes.get(key).and_then(Value::as_str).map(str::to_owned);
    let memory = notes
        .get("limits")
        .and_then(|l| l.get("memory"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let result = record.response.result.as_ref();
    EventMessage {
        source: format!("invoker{invoker}"),
        body: EventBody::Activation(ActivationEvent {
            activation_id: record.activation_id.to_string(),
            caused_by: text("causedBy"),
            conductor: notes.is_truthy("conductor", false),
            duration: record.duration.unwrap_or(record.end - record.start).max(0),
            init_time: int("initTime"),
            kind: text("kind").unwrap_or_default(),
            memory,
            name: text("path").unwrap_or_else(|| msg.action.to_string()),
            size: record.response.size,
            status_code: i64::from(record.response.status_code.code()),
            user_defined_status_code: result.and_then(user_defined_status_code),
            wait_time: int("waitTime"),
        }),
        subject: msg.user.subject.clone(),
        namespace: msg.user.namespace.name.to_string(),
        user_id: msg.user.namespace.uuid.clone(),
        event_type: "Activation".into(),
        timestamp: now_ms,
    }
}
