//! `ow-wire` as a user runs it: listing types, round trips, and bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn ow_wire(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ow-wire"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ow-wire starts");
    if let Some(mut input) = child.stdin.take() {
        // The tool may exit before reading everything (e.g. usage errors); that is fine.
        let _ = input.write_all(stdin);
    }
    child.wait_with_output().expect("ow-wire finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const REQUIRED_TYPES: &[&str] = &[
    "transaction-id",
    "activation-message",
    "container-creation-message",
    "container-deletion-message",
    "container-creation-ack-message",
    "acknowledgement-message",
    "ping-message",
    "event-message",
    "invoker-instance-id",
    "controller-instance-id",
    "scheduler-endpoints",
    "scheduler-states",
    "invoker-resource-message",
    "activation-response",
    "whisk-activation",
    "whisk-action",
    "activation-document",
    "exec",
    "parameters",
    "runtimes-manifest",
    "init-request",
    "run-request",
    "fetch-response-message",
];

#[test]
fn types_lists_every_required_type_one_a_line() {
    let out = ow_wire(&["types"], b"");
    assert!(out.status.success());
    let listed: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    for t in REQUIRED_TYPES {
        assert!(
            listed.iter().any(|l| l == t),
            "{t} missing from `ow-wire types`: {listed:?}"
        );
    }
}

#[test]
fn roundtrip_writes_the_compact_canonical_form() {
    let pretty = b"{\n  \"asString\" : \"0\",\n  \"instanceType\": \"controller\"\n}\n";
    let out = ow_wire(&["roundtrip", "controller-instance-id"], pretty);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"asString\":\"0\",\"instanceType\":\"controller\"}\n"
    );
}

#[test]
fn invalid_input_exits_2_with_one_line_naming_type_and_path() {
    let doc = br#"{"busyMemory":0,"dedicatedNamespaces":[],"freeMemory":"lots","inProgressMemory":0,"status":"up","tags":[]}"#;
    let out = ow_wire(&["roundtrip", "invoker-resource-message"], doc);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("invoker-resource-message") && err.contains("$.freeMemory"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn malformed_and_hostile_inputs_never_panic() {
    let deep = "[".repeat(100_000);
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"{\"transid\": [\"a\", 1e999999999]}".to_vec(),
        vec![b'"', 0xff, 0xfe, b'"'],
        deep.into_bytes(),
        b"{\"activationId\": 123456789012345678901234567890123}".to_vec(),
    ];
    for input in cases {
        for t in [
            "activation-message",
            "whisk-action",
            "transaction-id",
            "exec",
        ] {
            let out = ow_wire(&["roundtrip", t], &input);
            let code = out.status.code();
            assert!(
                code == Some(0) || code == Some(2),
                "{t}: exit {code:?}, stderr {}",
                text(&out.stderr)
            );
            assert!(
                !text(&out.stderr).contains("panicked"),
                "{t} panicked: {}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn unknown_type_and_bad_usage_exit_2() {
    assert_eq!(
        ow_wire(&["roundtrip", "no-such-type"], b"{}").status.code(),
        Some(2)
    );
    assert_eq!(ow_wire(&["frobnicate"], b"").status.code(), Some(2));
    assert_eq!(ow_wire(&[], b"").status.code(), Some(2));
}
