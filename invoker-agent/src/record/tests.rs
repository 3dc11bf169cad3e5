//! Golden tests against the shared vectors: activation 50 run on a cold container gives the
//! `/init` body of vector 77, the `/run` body of vector 78 and the result ack of vector 58.

use ow_compat::Codec;

use super::*;

const V50: &str =
    include_str!("../../../../shared/spec/vectors/50-kafka-activationmessage-basic.json");
const V77: &str = include_str!("../../../../shared/spec/vectors/77-container-init-body.json");
const V78: &str = include_str!("../../../../shared/spec/vectors/78-container-run-body.json");
const V58: &str = include_str!("../../../../shared/spec/vectors/58-kafka-resultmessage.json");

fn message() -> ActivationMessage {
    ActivationMessage::decode(V50.trim().as_bytes()).expect("vector 50")
}

fn action() -> WhiskActionDocument {
    let code = "function main(params) {\\n  return { payload: 'Hello, ' + params.name + ' from ' + params.place };\\n}";
    let doc = format!(
        r#"{{"name":"hello","namespace":"guest","version":"0.0.1","publish":false,"annotations":[],"parameters":[],"limits":{{"timeout":60000,"memory":256,"logs":10,"concurrency":1}},"exec":{{"kind":"nodejs:20","code":"{code}","binary":false}},"updated":1700000000000,"entityType":"action"}}"#
    );
    WhiskActionDocument::decode(doc.as_bytes()).expect("action")
}

fn code(action: &WhiskActionDocument) -> ActionCode {
    let ow_compat::values::Exec::Code {
        code: ow_compat::values::CodeBody::Inline(c),
        ..
    } = &action.exec
    else {
        panic!("inline code")
    };
    ActionCode {
        code: Some(c.clone()),
        binary: false,
        main: None,
    }
}

#[test]
fn init_body_is_vector_77() {
    let (msg, action) = (message(), action());
    let (init, _) = partition_arguments(msg.content.as_ref(), &msg.init_args);
    let ctx = context(&msg, &action, 1_700_000_060_174);
    let body = init_request(&action, &code(&action), &init, &ctx);
    assert_eq!(body.encode(), V77.trim());
}

#[test]
fn run_body_is_vector_78() {
    let msg = message();
    let (_, args) = partition_arguments(msg.content.as_ref(), &msg.init_args);
    let ctx = context(&msg, &action(), 1_700_000_060_299);
    assert_eq!(run_request(&msg, args, &ctx).encode(), V78.trim());
}

/// Activation 50 run on a cold container: /init 174–299, /run 299–352.
fn cold_run() -> (ActivationMessage, WhiskActivation) {
    let msg = message();
    let timing = Timing {
        init: Some((1_700_000_000_174, 1_700_000_000_299)),
        run: (1_700_000_000_299, 1_700_000_000_352),
    };
    assert_eq!(timing.duration(), 178);
    let response = ActivationResponse::success(
        serde_json::json!({"payload": "Hello, Dorothy from Kansas"}),
        Some(40),
    );
    let record = activation(&msg, &action(), timing, false, response);
    (msg, record)
}

#[test]
fn result_ack_of_a_cold_run_is_vector_58() {
    let (msg, record) = cold_run();
    assert_eq!(result_ack(&msg, &record).encode(), V58.trim());
}

#[test]
fn init_args_go_to_init_and_the_api_key_can_be_withheld() {
    let mut msg = message();
    msg.init_args = vec!["place".into()];
    let (init, args) = partition_arguments(msg.content.as_ref(), &msg.init_args);
    assert_eq!(
        init,
        vec![("place".to_owned(), Value::String("Kansas".into()))]
    );
    assert_eq!(compact(&args), r#"{"name":"Dorothy"}"#);
    let mut action = action();
    action.annotations = Parameters::from_pairs([(PROVIDE_API_KEY, Value::Bool(false))]);
    let ctx = context(&msg, &action, 1);
    assert!(ctx.iter().all(|(k, _)| k != "api_key"));
    let body = init_request(&action, &code(&action), &init, &ctx);
    assert_eq!(body.env.get("place"), Some("Kansas"));
    assert_eq!(run_request(&msg, args, &ctx).api_key, None);
}

#[test]
fn acks_follow_the_stock_table() {
    assert_eq!(ack_plan(true, true), AckPlan::ResultThenCompletion);
    assert_eq!(ack_plan(true, false), AckPlan::Combined);
    assert_eq!(ack_plan(false, true), AckPlan::Completion);
    let mut msg = message();
    msg.blocking = false;
    let record = fallback_activation(
        &msg,
        "nodejs:20",
        ActivationResponse::error(StatusCode::WhiskError, "x"),
        5,
    );
    let invoker = InvokerInstanceId::new(0, ow_compat::values::ByteSize::mb(2048));
    let shrunk = combined_ack(&msg, &record, &invoker).encode();
    assert!(
        shrunk.contains(r#""response":"a3f1c2e4b5d64e7f8a9b0c1d2e3f4a5b""#),
        "{shrunk}"
    );
    assert!(shrunk.contains(r#""isSystemError":true"#));
    assert!(!keeps_container(&record.response));
}

#[test]
fn the_user_event_of_a_cold_run_is_vector_63() {
    let v63 = include_str!("../../../../shared/spec/vectors/63-kafka-eventmessage-activation.json");
    let (msg, record) = cold_run();
    let event = crate::events::activation_event(&msg, &record, 0, 1_700_000_000_400);
    assert_eq!(event.encode(), v63.trim());
}
