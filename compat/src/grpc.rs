//! `activation.ActivationService`: the scheduler <-> invoker pull protocol (spec 6).
//!
//! [`proto`] holds the prost/tonic code generated from `proto/activation.proto`. The helpers
//! here cover the request and response strings that carry JSON *text* — `FetchResponse
//! .activationMessage`, `rev` and `fqn` — using only [`serde_json::Value`], so they do not
//! depend on the typed messages of [`crate::messages`].

use serde_json::{Map, Value};

/// Generated protobuf messages, the `ActivationService` client and server.
#[allow(missing_docs, missing_debug_implementations)]
pub mod proto {
    tonic::include_proto!("activation");
}

pub use proto::activation_service_client::ActivationServiceClient;
pub use proto::activation_service_server::{ActivationService, ActivationServiceServer};
pub use proto::{FetchRequest, FetchResponse, RescheduleRequest, RescheduleResponse};

/// HTTP/2 path of `FetchActivation`.
pub const FETCH_ACTIVATION_PATH: &str = "/activation.ActivationService/FetchActivation";
/// HTTP/2 path of `RescheduleActivation`.
pub const RESCHEDULE_ACTIVATION_PATH: &str = "/activation.ActivationService/RescheduleActivation";

/// `FetchResponse.activationMessage` when the long poll expired or the queue is idle (vector 72).
pub const NO_ACTIVATION_MESSAGE: &str = r#"{"message":{"noActivationMessage":"no activation message exist","type":"NoActivationMessage"}}"#;
/// `FetchResponse.activationMessage` when the scheduler has no queue for the action (vector 73).
pub const NO_MEMORY_QUEUE: &str =
    r#"{"message":{"noMemoryQueue":"no memory queue exist","type":"NoMemoryQueue"}}"#;
/// `FetchResponse.activationMessage` when the queue holds another action version (vector 74).
/// The key really is spelled `actionMisMatch`.
pub const ACTION_MISMATCH: &str =
    r#"{"message":{"actionMisMatch":"action version does not match","type":"ActionMismatch"}}"#;

/// Longest excerpt of an offending input kept in an error message; activation messages can
/// be a megabyte long.
const EXCERPT_CHARS: usize = 160;

/// A JSON-in-string gRPC field that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrpcJsonError {
    /// The field does not hold JSON text at all.
    #[error("gRPC field {field} is not JSON ({reason}): {text:?}")]
    NotJson {
        /// Which field, e.g. `FetchRequest.rev`.
        field: &'static str,
        /// The start of the field's text.
        text: String,
        /// serde_json's description of the syntax error.
        reason: String,
    },
    /// The field holds JSON of the wrong shape.
    #[error("gRPC field {field} must be {expected}: {text:?}")]
    WrongShape {
        /// Which field.
        field: &'static str,
        /// The start of the field's text.
        text: String,
        /// What the Scala reader accepts there.
        expected: &'static str,
    },
}

/// What `FetchResponse.activationMessage` carries, decided like the Scala invoker's reader.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchResponseMessage {
    /// An activation to run: the raw `message` object, to be read as an `ActivationMessage`.
    Activation(Value),
    /// Nothing arrived during the long poll; poll again.
    NoActivation,
    /// No queue for the action on this scheduler; re-resolve the leader from etcd.
    NoMemoryQueue,
    /// The queue holds another version of the action; remove the container.
    ActionMismatch,
}

impl FetchResponseMessage {
    const FIELD: &'static str = "FetchResponse.activationMessage";

    /// Reads `{"message": X}`. An X whose `type` is one of the three error names is that
    /// error; any other object is taken as the activation, left for the caller to validate.
    ///
    /// Differs from Scala only for an object that is *both* a valid `ActivationMessage` and
    /// carries an error `type`: spray's `Either` reader rejects that as ambiguous, this reader
    /// returns the error.
    pub fn parse(text: &str) -> Result<Self, GrpcJsonError> {
        let shape = |expected| wrong_shape(Self::FIELD, text, expected);
        let mut value = parse_json(Self::FIELD, text)?;
        // Taken out rather than cloned: an activation can be a megabyte.
        let message = value
            .get_mut("message")
            .map(Value::take)
            .ok_or_else(|| shape("an object with a \"message\" member"))?;
        if !message.is_object() {
            return Err(shape("{\"message\": <object>}"));
        }
        Ok(match message.get("type").and_then(Value::as_str) {
            Some("NoActivationMessage") => Self::NoActivation,
            Some("NoMemoryQueue") => Self::NoMemoryQueue,
            Some("ActionMismatch") => Self::ActionMismatch,
            _ => Self::Activation(message),
        })
    }

    /// The exact text the Scala scheduler sends for an error answer; `None` for an activation
    /// (use [`wrap_activation`] with the activation's own bytes instead).
    pub fn error_text(&self) -> Option<&'static str> {
        match self {
            Self::Activation(_) => None,
            Self::NoActivation => Some(NO_ACTIVATION_MESSAGE),
            Self::NoMemoryQueue => Some(NO_MEMORY_QUEUE),
            Self::ActionMismatch => Some(ACTION_MISMATCH),
        }
    }
}

/// `FetchResponse.activationMessage` for an already encoded `ActivationMessage`.
///
/// Plain concatenation: spray writes `{"message":<msg>}` with no whitespace, so wrapping the
/// encoded bytes is byte-identical and avoids re-parsing (and re-ordering) the message.
pub fn wrap_activation(activation_json: &str) -> String {
    let mut out = String::with_capacity(activation_json.len() + 12);
    out.push_str("{\"message\":");
    out.push_str(activation_json);
    out.push('}');
    out
}

/// A `FetchResponse` carrying one of the three error answers, or the wrapped activation.
pub fn fetch_response(activation_message: String) -> FetchResponse {
    FetchResponse { activation_message }
}

/// The `rev` field for a document revision: the JSON string literal, quotes included, or the
/// four characters `null` when there is none.
pub fn render_rev(rev: Option<&str>) -> String {
    match rev {
        Some(rev) => Value::String(rev.to_owned()).to_string(),
        None => "null".to_owned(),
    }
}

/// Reads a `rev` field: a JSON string (trimmed, as Scala's `DocRevision` does) or `null`.
///
/// A blank string gives `Some("")`, as in Scala, where it is a non-empty revision of no text.
pub fn parse_rev(text: &str) -> Result<Option<String>, GrpcJsonError> {
    const FIELD: &str = "rev";
    match parse_json(FIELD, text)? {
        Value::String(rev) => Ok(Some(rev.trim().to_owned())),
        Value::Null => Ok(None),
        _ => Err(wrong_shape(FIELD, text, "a JSON string or null")),
    }
}

/// The `fqn` field for an entity: `{"binding"?,"name","path","version"?}` with keys sorted as
/// spray writes them. Names are not validated here.
pub fn render_fqn(path: &str, name: &str, version: Option<&str>, binding: Option<&str>) -> String {
    let mut fqn = Map::new();
    let text = |s: &str| Value::String(s.to_owned());
    if let Some(binding) = binding {
        fqn.insert("binding".to_owned(), text(binding));
    }
    fqn.insert("name".to_owned(), text(name));
    fqn.insert("path".to_owned(), text(path));
    if let Some(version) = version {
        fqn.insert("version".to_owned(), text(version));
    }
    Value::Object(fqn).to_string()
}

/// Reads an `fqn` field: a JSON object, or a bare JSON string `"ns/[pkg/]name"` that older
/// invokers sent. The value is returned as is, for the FQN reader to validate.
pub fn parse_fqn(text: &str) -> Result<Value, GrpcJsonError> {
    const FIELD: &str = "fqn";
    match parse_json(FIELD, text)? {
        value @ (Value::Object(_) | Value::String(_)) => Ok(value),
        _ => Err(wrong_shape(FIELD, text, "a JSON object or string")),
    }
}

fn parse_json(field: &'static str, text: &str) -> Result<Value, GrpcJsonError> {
    serde_json::from_str(text).map_err(|e| GrpcJsonError::NotJson {
        field,
        text: excerpt(text),
        reason: e.to_string(),
    })
}

fn wrong_shape(field: &'static str, text: &str, expected: &'static str) -> GrpcJsonError {
    GrpcJsonError::WrongShape {
        field,
        text: excerpt(text),
        expected,
    }
}

fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    const V70: &str = include_str!("../../../shared/spec/vectors/70-grpc-fetchrequest.json");
    const V71: &str =
        include_str!("../../../shared/spec/vectors/71-grpc-fetchresponse-activation.json");
    const V72: &str =
        include_str!("../../../shared/spec/vectors/72-grpc-activationresponse-noactivation.json");
    const V73: &str =
        include_str!("../../../shared/spec/vectors/73-grpc-activationresponse-nomemoryqueue.json");
    const V74: &str =
        include_str!("../../../shared/spec/vectors/74-grpc-activationresponse-actionmismatch.json");
    const V75: &str = include_str!("../../../shared/spec/vectors/75-grpc-reschedulerequest.json");
    const V76: &str = include_str!("../../../shared/spec/vectors/76-grpc-warmup-fetchrequest.json");
    const V88: &str = include_str!("../../../shared/spec/vectors/88-grpc-protobuf-bytes.json");

    fn json(text: &str) -> Value {
        serde_json::from_str(text).expect("vector is JSON")
    }

    fn field(v: &Value, key: &str) -> String {
        v[key].as_str().unwrap_or_default().to_owned()
    }

    /// Builds the prost message from a proto3-JSON rendering of a `FetchRequest`; absent
    /// members are proto3 defaults.
    fn fetch_request(v: &Value) -> FetchRequest {
        FetchRequest {
            transaction_id: field(v, "transactionId"),
            invocation_namespace: field(v, "invocationNamespace"),
            fqn: field(v, "fqn"),
            rev: field(v, "rev"),
            container_id: field(v, "containerId"),
            warmed: v["warmed"].as_bool().unwrap_or(false),
            last_duration: v["lastDuration"]
                .as_str()
                .map(|d| d.parse().expect("int64 text")),
            alive: v["alive"].as_bool().unwrap_or(false),
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn v88(key: &str) -> String {
        json(V88)[key].as_str().expect("hex member").to_owned()
    }

    #[test]
    fn fetch_request_vector_70_encodes_to_the_bytes_of_vector_88() {
        let request = fetch_request(&json(V70));
        assert_eq!(request.last_duration, Some(178));
        assert_eq!(
            hex(&request.encode_to_vec()),
            v88("FetchRequest(vector 70) protobuf hex")
        );
        let decoded = FetchRequest::decode(request.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(decoded, request);
    }

    #[test]
    fn grpc_frame_of_vector_70_is_flag_length_then_message() {
        let body = fetch_request(&json(V70)).encode_to_vec();
        let mut frame = vec![0u8];
        frame.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
        frame.extend_from_slice(&body);
        assert_eq!(
            hex(&frame),
            v88("FetchRequest gRPC length-prefixed message hex")
        );
    }

    #[test]
    fn response_bytes_of_vector_88() {
        let no_activation = fetch_response(NO_ACTIVATION_MESSAGE.to_owned());
        assert_eq!(
            hex(&no_activation.encode_to_vec()),
            v88("FetchResponse(NoActivationMessage, vector 72) protobuf hex")
        );
        let yes = RescheduleResponse {
            is_rescheduled: true,
        };
        assert_eq!(
            hex(&yes.encode_to_vec()),
            v88("RescheduleResponse(isRescheduled=true) protobuf hex")
        );
        let no = RescheduleResponse {
            is_rescheduled: false,
        };
        assert_eq!(
            hex(&no.encode_to_vec()),
            v88("RescheduleResponse(isRescheduled=false) protobuf hex")
        );
    }

    #[test]
    fn zero_last_duration_is_still_on_the_wire() {
        let request = FetchRequest {
            last_duration: Some(0),
            ..FetchRequest::default()
        };
        assert_eq!(hex(&request.encode_to_vec()), "3a00");
    }

    #[test]
    fn warm_up_request_of_vector_76_has_only_defaults_after_rev() {
        let request = fetch_request(&json(V76));
        assert_eq!(parse_rev(&request.rev), Ok(None));
        assert_eq!(parse_fqn(&request.fqn).expect("fqn")["name"], "warmUp");
        let tail = FetchRequest {
            rev: request.rev.clone(),
            ..FetchRequest::default()
        };
        assert_eq!(hex(&tail.encode_to_vec()), "22046e756c6c");
    }

    #[test]
    fn method_paths_match_vector_88() {
        let paths = json(V88)["method paths"].clone();
        assert_eq!(
            paths,
            serde_json::json!([FETCH_ACTIVATION_PATH, RESCHEDULE_ACTIVATION_PATH])
        );
    }

    #[test]
    fn error_answers_are_vectors_72_to_74() {
        assert_eq!(NO_ACTIVATION_MESSAGE, V72.trim_end());
        assert_eq!(NO_MEMORY_QUEUE, V73.trim_end());
        assert_eq!(ACTION_MISMATCH, V74.trim_end());
        for (text, expected) in [
            (V72, FetchResponseMessage::NoActivation),
            (V73, FetchResponseMessage::NoMemoryQueue),
            (V74, FetchResponseMessage::ActionMismatch),
        ] {
            let parsed = FetchResponseMessage::parse(text.trim_end()).expect("parses");
            assert_eq!(parsed.error_text(), Some(text.trim_end()));
            assert_eq!(parsed, expected);
        }
    }

    #[test]
    fn activation_answer_of_vector_71_wraps_the_reschedule_message_of_vector_75() {
        let response = field(&json(V71), "activationMessage");
        let activation = field(&json(V75), "activationMessage");
        assert_eq!(wrap_activation(&activation), response);
        match FetchResponseMessage::parse(&response).expect("parses") {
            FetchResponseMessage::Activation(message) => {
                assert_eq!(message, json(&activation));
                assert_eq!(
                    message.to_string(),
                    activation,
                    "preserve_order keeps the bytes"
                );
            }
            other => panic!("expected an activation, got {other:?}"),
        }
    }

    #[test]
    fn fetch_response_errors_name_the_field_and_text() {
        for bad in ["", "[]", r#"{"msg":{}}"#, r#"{"message":"NoMemoryQueue"}"#] {
            let err = FetchResponseMessage::parse(bad).expect_err(bad).to_string();
            assert!(err.contains("FetchResponse.activationMessage"), "{err}");
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn an_unknown_type_is_left_to_the_activation_reader() {
        let parsed = FetchResponseMessage::parse(r#"{"message":{"type":"Other"}}"#);
        assert!(matches!(parsed, Ok(FetchResponseMessage::Activation(_))));
    }

    #[test]
    fn rev_renders_and_parses_like_vector_70() {
        let text = field(&json(V70), "rev");
        assert_eq!(render_rev(Some("1-6a9d0f0c2c5b4e8d9a1b2c3d4e5f6a7b")), text);
        assert_eq!(
            parse_rev(&text),
            Ok(Some("1-6a9d0f0c2c5b4e8d9a1b2c3d4e5f6a7b".to_owned()))
        );
        assert_eq!(render_rev(None), "null");
        assert_eq!(parse_rev("\" 2-x \""), Ok(Some("2-x".to_owned())));
    }

    #[test]
    fn bad_rev_fails_naming_the_field() {
        let err = parse_rev("1-abc").expect_err("not JSON").to_string();
        assert!(err.starts_with("gRPC field rev is not JSON"), "{err}");
        assert!(err.ends_with("\"1-abc\""), "{err}");
        let err = parse_rev("{}").expect_err("object").to_string();
        assert_eq!(err, "gRPC field rev must be a JSON string or null: \"{}\"");
    }

    #[test]
    fn fqn_renders_and_parses_like_vectors_70_and_76() {
        let text = field(&json(V70), "fqn");
        assert_eq!(render_fqn("guest", "hello", Some("0.0.1"), None), text);
        assert_eq!(parse_fqn(&text).expect("object")["path"], "guest");
        let warm_up = field(&json(V76), "fqn");
        assert_eq!(render_fqn("whisk.system", "warmUp", None, None), warm_up);
        assert_eq!(
            render_fqn("ns", "a", None, Some("ns/pkg")),
            r#"{"binding":"ns/pkg","name":"a","path":"ns"}"#
        );
    }

    #[test]
    fn fqn_accepts_a_bare_string_and_rejects_other_json() {
        assert_eq!(
            parse_fqn(r#""guest/hello""#),
            Ok(Value::String("guest/hello".to_owned()))
        );
        let err = parse_fqn("null").expect_err("null").to_string();
        assert_eq!(
            err,
            "gRPC field fqn must be a JSON object or string: \"null\""
        );
        assert!(parse_fqn("{").is_err());
    }

    #[test]
    fn long_inputs_are_cut_in_errors() {
        let long = format!("[{}]", "1,".repeat(500));
        let err = parse_rev(&long).expect_err("array").to_string();
        assert!(err.len() < 300 && err.contains('…'), "{err}");
    }
}
