//! What the invoker sends and writes for one activation, built as the stock FPC container proxy
//! builds it: the `/init` and `/run` bodies with their `__OW_*` context (spec 10.2, 10.3), the
//! activation record (spec 9.4) and the acknowledgements to the controller (spec 3.3.5). Pure.

use ow_compat::json::{Value, Wire, compact};
use ow_compat::messages::{AcknowledgementMessage, ActivationMessage, ActivationOrId};
use ow_compat::records::{
    ActivationResponse, InitRequest, RunRequest, StatusCode, WhiskActionDocument, WhiskActivation,
};
use ow_compat::values::{EntityPath, InstanceId, InvokerInstanceId, Parameters};

/// The `provide-api-key` annotation: absent or truthy means the action gets the API key.
const PROVIDE_API_KEY: &str = "provide-api-key";

/// The code and entry point of an action, as `/init` needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCode {
    /// Code text, base64 when `binary`; `None` for a blackbox without code.
    pub code: Option<String>,
    pub binary: bool,
    pub main: Option<String>,
}

/// Splits the arguments into `/init` parameters (the names in `initArgs`) and `/run` arguments.
/// Arrays pass through whole.
pub fn partition_arguments(
    content: Option<&Value>,
    init_args: &[String],
) -> (Vec<(String, Value)>, Value) {
    match content {
        Some(Value::Object(fields)) => {
            let mut run = fields.clone();
            let init = init_args
                .iter()
                .filter_map(|k| run.remove(k).map(|v| (k.clone(), v)))
                .collect();
            (init, Value::Object(run))
        }
        Some(other) => (Vec::new(), other.clone()),
        None => (Vec::new(), Value::Object(Default::default())),
    }
}

/// The activation context in the order the stock proxy builds its map: API key fields (when the
/// action wants them), namespace, action name and version, activation and transaction ids,
/// deadline. Keys without the `__OW_` prefix.
pub fn context(
    msg: &ActivationMessage,
    action: &WhiskActionDocument,
    deadline_ms: i64,
) -> Vec<(String, Value)> {
    let mut env = Vec::with_capacity(7);
    if action.annotations.is_truthy(PROVIDE_API_KEY, true)
        && let Value::Object(fields) = &msg.user.authkey
    {
        env.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let version = msg
        .action
        .version
        .map_or(Value::Null, |v| Value::String(v.to_string()));
    env.extend([
        (
            "namespace".to_owned(),
            Value::String(msg.user.namespace.name.to_string()),
        ),
        (
            "action_name".to_owned(),
            Value::String(format!("/{}/{}", msg.action.path, msg.action.name)),
        ),
        ("action_version".to_owned(), version),
        (
            "activation_id".to_owned(),
            Value::String(msg.activation_id.to_string()),
        ),
        (
            "transaction_id".to_owned(),
            Value::String(msg.transid.id.clone()),
        ),
        (
            "deadline".to_owned(),
            Value::String(deadline_ms.to_string()),
        ),
    ]);
    env
}

/// An environment value as text: strings as they are, `null` empty, anything else compact JSON.
fn env_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => compact(other),
    }
}

/// The `/init` body: init parameters, then the `__OW_*` context, all as strings.
pub fn init_request(
    action: &WhiskActionDocument,
    code: &ActionCode,
    init_params: &[(String, Value)],
    context: &[(String, Value)],
) -> InitRequest {
    let env = init_params
        .iter()
        .map(|(k, v)| (k.clone(), env_text(v)))
        .chain(
            context
                .iter()
                .map(|(k, v)| (format!("__OW_{}", k.to_uppercase()), env_text(v))),
        )
        .collect();
    InitRequest {
        name: action.name.to_string(),
        binary: code.binary,
        main: code.main.clone().unwrap_or_else(|| "main".into()),
        code: code.code.clone(),
        env: InitRequest::env_in_scala_order(env),
    }
}

/// The `/run` body for `msg` with its run arguments.
pub fn run_request(
    msg: &ActivationMessage,
    args: Value,
    context: &[(String, Value)],
) -> RunRequest {
    let text = |key: &str| {
        context
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_str().map(str::to_owned))
    };
    RunRequest {
        value: args,
        action_name: text("action_name").unwrap_or_default(),
        action_version: text("action_version"),
        activation_id: msg.activation_id.to_string(),
        api_key: text("api_key"),
        deadline: text("deadline").unwrap_or_default(),
        namespace: msg.user.namespace.name.to_string(),
        transaction_id: msg.transid.id.clone(),
    }
}

/// When an activation ran (epoch milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `/init` start and end, on a cold container.
    pub init: Option<(i64, i64)>,
    /// `/run` start and end (equal to the init end when the init failed).
    pub run: (i64, i64),
}

impl Timing {
    /// Start of the activation: the init start, else the run start.
    pub fn start(&self) -> i64 {
        self.init.map_or(self.run.0, |(s, _)| s)
    }

    /// Init plus run, in milliseconds (the `lastDuration` of the next fetch).
    pub fn duration(&self) -> i64 {
        self.run.1 - self.start()
    }
}

/// The activation record (stock `constructWhiskActivation`), without logs.
pub fn activation(
    msg: &ActivationMessage,
    action: &WhiskActionDocument,
    timing: Timing,
    timed_out: bool,
    response: ActivationResponse,
) -> WhiskActivation {
    let mut annotations = vec![
        ("limits".to_owned(), action.limits.write()),
        (
            "path".to_owned(),
            Value::String(format!("{}/{}", action.namespace, action.name)),
        ),
        (
            "kind".to_owned(),
            Value::String(action.exec.kind().to_owned()),
        ),
        ("timeout".to_owned(), Value::Bool(timed_out)),
    ];
    if msg.cause.is_some() {
        annotations.push(("causedBy".into(), Value::String("sequence".into())));
    }
    if let Some((s, e)) = timing.init {
        annotations.push(("initTime".into(), Value::from(e - s)));
    }
    annotations.push((
        "waitTime".into(),
        Value::from(timing.start() - msg.transid.start_millis),
    ));
    if let Some(binding) = &msg.action.binding {
        annotations.push(("binding".into(), Value::String(binding.to_string())));
    }
    WhiskActivation {
        namespace: invoking_namespace(msg),
        name: action.name.clone(),
        subject: msg.user.subject.clone(),
        activation_id: msg.activation_id.clone(),
        start: timing.start(),
        end: timing.run.1,
        cause: msg.cause.clone(),
        response,
        logs: Vec::new(),
        version: action.version,
        publish: false,
        annotations: Parameters::from_pairs(annotations),
        duration: Some(timing.duration()),
    }
}

/// A record for an activation that never ran (stock `generateFallbackActivation`): zero
/// duration, the error as response.
pub fn fallback_activation(
    msg: &ActivationMessage,
    kind: &str,
    response: ActivationResponse,
    now_ms: i64,
) -> WhiskActivation {
    let mut annotations = vec![
        ("path".to_owned(), Value::String(msg.action.doc_id())),
        ("kind".to_owned(), Value::String(kind.to_owned())),
    ];
    if msg.cause.is_some() {
        annotations.push(("causedBy".into(), Value::String("sequence".into())));
    }
    WhiskActivation {
        namespace: invoking_namespace(msg),
        name: msg.action.name.clone(),
        subject: msg.user.subject.clone(),
        activation_id: msg.activation_id.clone(),
        start: now_ms,
        end: now_ms,
        cause: msg.cause.clone(),
        response,
        logs: Vec::new(),
        version: msg.action.version.unwrap_or_default(),
        publish: false,
        annotations: Parameters::from_pairs(annotations),
        duration: Some(0),
    }
}

fn invoking_namespace(msg: &ActivationMessage) -> EntityPath {
    EntityPath::parse(msg.user.namespace.name.as_str()).unwrap_or_else(|_| msg.action.path.clone())
}

/// Which acks one activation gets (spec 3.3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckPlan {
    /// Blocking with logs: the result (record without logs) at once, the completion after logs.
    ResultThenCompletion,
    /// Blocking without log collection: one combined message with the full record.
    Combined,
    /// Non-blocking: a completion (after log collection when there is one).
    Completion,
}

/// The stock choice for a blocking flag and whether logs are collected (log limit not 0).
pub fn ack_plan(blocking: bool, collects_logs: bool) -> AckPlan {
    match (blocking, collects_logs) {
        (true, true) => AckPlan::ResultThenCompletion,
        (true, false) => AckPlan::Combined,
        (false, _) => AckPlan::Completion,
    }
}

/// `ResultMessage` carrying the record.
pub fn result_ack(msg: &ActivationMessage, activation: &WhiskActivation) -> AcknowledgementMessage {
    AcknowledgementMessage::Result {
        transid: msg.transid.clone(),
        response: ActivationOrId::Activation(Box::new(activation.clone())),
    }
}

/// `CompletionMessage` freeing the controller's slot.
pub fn completion_ack(
    msg: &ActivationMessage,
    activation: &WhiskActivation,
    invoker: &InvokerInstanceId,
) -> AcknowledgementMessage {
    AcknowledgementMessage::Completion {
        transid: msg.transid.clone(),
        activation_id: activation.activation_id.clone(),
        is_system_error: Some(is_system_error(activation)),
        instance: InstanceId::Invoker(invoker.clone()),
    }
}

/// `CombinedCompletionAndResultMessage`, shrunk to the id for a non-blocking activation.
pub fn combined_ack(
    msg: &ActivationMessage,
    activation: &WhiskActivation,
    invoker: &InvokerInstanceId,
) -> AcknowledgementMessage {
    let ack = AcknowledgementMessage::Combined {
        transid: msg.transid.clone(),
        response: ActivationOrId::Activation(Box::new(activation.clone())),
        is_system_error: Some(is_system_error(activation)),
        instance: InstanceId::Invoker(invoker.clone()),
    };
    if msg.blocking { ack } else { ack.shrink() }
}

fn is_system_error(activation: &WhiskActivation) -> bool {
    activation.response.status_code == StatusCode::WhiskError
}

/// Whether an activation with this outcome keeps its container (success and application
/// errors do; developer and whisk errors destroy it).
pub fn keeps_container(response: &ActivationResponse) -> bool {
    matches!(
        response.status_code,
        StatusCode::Success | StatusCode::ApplicationError
    )
}

#[cfg(test)]
mod tests;
