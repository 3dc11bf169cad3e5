//! Round-trips the shared test vectors (`../shared/spec/vectors`, or `$OW_SPEC_DIR/vectors`).
//!
//! Each vector is decoded as its type and encoded again. Vectors printed by spray-json must come
//! back byte-identical to their compact form. Hand-written test literals whose bytes are not what
//! the Scala writer produces must come back as the writer would produce them; the expected bytes
//! and the rule behind each difference are listed here. Vectors that are not documents of this
//! crate are listed in `SKIPPED` with the reason and where they are used instead.

use std::path::PathBuf;

use ow_compat::codec::roundtrip_named;
use ow_compat::json::{Value, compact};

fn vectors_dir() -> PathBuf {
    let spec = std::env::var_os("OW_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec"));
    spec.join("vectors")
}

fn vector_file(number: &str) -> PathBuf {
    let dir = vectors_dir();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with(&format!("{number}-")) && name.ends_with(".json")
        })
        .unwrap_or_else(|| panic!("vector {number} not found in {}", dir.display()))
}

/// The vector's compact form, members in document order.
fn compact_form(number: &str) -> (Vec<u8>, String) {
    let path = vector_file(number);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    (bytes, compact(&value))
}

fn roundtrip(type_name: &str, bytes: &[u8]) -> String {
    match roundtrip_named(type_name, bytes) {
        Some(Ok(s)) => s,
        Some(Err(e)) => panic!("{e}"),
        None => panic!("unknown type {type_name}"),
    }
}

/// Vectors the Scala printer produced: byte-identical round trip.
const EXACT: &[(&str, &str)] = &[
    ("01", "transaction-id"),
    ("02", "transaction-id"),
    ("03", "transaction-id"),
    ("04", "activation-response"),
    ("06", "whisk-activation"),
    ("14", "exec"),
    ("18", "runtimes-manifest"),
    ("24", "exec"),
    ("31", "runtimes-manifest"),
    ("36", "runtimes-manifest"),
    ("40", "invoker-instance-id"),
    ("41", "invoker-instance-id"),
    ("43", "controller-instance-id"),
    ("48", "scheduler-states"),
    ("49", "invoker-resource-message"),
    ("50", "activation-message"),
    ("51", "activation-message"),
    ("52", "container-creation-message"),
    ("53", "container-creation-message"),
    ("54", "container-deletion-message"),
    ("55", "container-creation-ack-message"),
    ("56", "container-creation-ack-message"),
    ("57", "acknowledgement-message"),
    ("58", "acknowledgement-message"),
    ("60", "acknowledgement-message"),
    ("62", "ping-message"),
    ("63", "event-message"),
    ("64", "event-message"),
    ("65", "scheduler-states"),
    ("66", "scheduler-states"),
    ("67", "scheduler-endpoints"),
    ("68", "invoker-resource-message"),
    ("72", "fetch-response-message"),
    ("73", "fetch-response-message"),
    ("74", "fetch-response-message"),
    ("77", "init-request"),
    ("78", "run-request"),
];

const BLACKBOX_IMAGE: &str = "docker-custom.com/openwhisk-runtime/magic/nodejs:0.0.1";

/// Hand-written literals: (vector, type, what the Scala writer emits, the rule that explains it).
fn canonical() -> Vec<(&'static str, &'static str, String, &'static str)> {
    let bb = BLACKBOX_IMAGE;
    vec![
        ("13", "exec", r#"{"kind":"nodejs:20","code":"SGVsbG8gT3BlbldoaXNr","binary":true}"#.into(),
            "binary is recomputed from base64-looking code"),
        ("15", "exec", r#"{"kind":"nodejs:20","code":"while (true)","binary":false}"#.into(),
            "the reader tolerates a missing binary; the writer always emits it"),
        ("16", "exec",
            r#"{"kind":"java:8","code":{"attachmentName":"foo:bar","attachmentType":"application/java-archive","digest":"sha256-foo","length":32768},"binary":true,"main":"hello"}"#.into(),
            "attachment records are case classes: members sorted"),
        ("17", "exec", r#"{"kind":"nodejs:20","code":"SGVsbG8gT3BlbldoaXNr","binary":true}"#.into(),
            "legacy `jar` is read as code and written as `code`; binary recomputed"),
        ("20", "exec", format!(r#"{{"kind":"blackbox","image":"{bb}","binary":true,"code":"SGVsbG8gT3BlbldoaXNr"}}"#),
            "blackbox map built as kind, image, binary, code; binary recomputed"),
        ("21", "exec", format!(r#"{{"kind":"blackbox","image":"{bb}","binary":false,"code":"while (true)"}}"#),
            "blackbox map built as kind, image, binary, code"),
        ("22", "exec", format!(r#"{{"kind":"blackbox","image":"{bb}","binary":false}}"#),
            "blank blackbox code reads as no code"),
        ("23", "exec",
            format!(r#"{{"binary":true,"image":"{bb}","main":"hello","code":{{"attachmentName":"foo:bar","attachmentType":"application/octet-stream","digest":"sha256-foo","length":32768}},"kind":"blackbox"}}"#),
            "five entries: Scala 2.12 HashMap order"),
        ("25", "exec",
            format!(r#"{{"kind":"blackbox","image":"{bb}","binary":true,"code":{{"attachmentName":"foo","attachmentType":"application/octet-stream","digest":"sha1-42","length":42}}}}"#),
            "attachment record members sorted"),
        ("26", "whisk-action",
            r#"{"annotations":[],"entityType":"action","exec":{"kind":"nodejs:20","code":"foo","binary":false},"limits":{"concurrency":1,"logs":10,"memory":256,"timeout":60000},"name":"action_test","namespace":"namespace","parameters":[],"publish":false,"updated":1546268400000,"version":"0.0.2"}"#.into(),
            "document members sorted; missing logs/concurrency limits take the std values"),
        ("28", "parameters", r#"[{"key":"paramName1","value":"from-action"},{"key":"paramName2","value":"from-pack"}]"#.into(),
            "init is written only when true"),
        ("29", "parameters", r#"[{"key":"paramName1","value":"from-action"},{"key":"paramName2","value":"from-pack"}]"#.into(),
            "encryption:null (accepted next to init) is never written back"),
        ("44", "controller-instance-id", r#"{"asString":"controller0","instanceType":"controller"}"#.into(),
            "instanceType is optional on read and always written"),
    ]
}

/// Vectors that are not documents of this crate, and where they are used instead.
const SKIPPED: &[(&str, &str)] = &[
    (
        "07",
        "user-event Activation body literal with unsorted keys; read through event-message (vector 63) and in `event_bodies_from_literals`",
    ),
    (
        "08",
        "as 07, with userDefinedStatusCode; read in `event_bodies_from_literals`",
    ),
    (
        "09",
        "input of the userDefinedStatusCode rule, tested in `user_defined_status_codes`",
    ),
    (
        "10",
        "input of the userDefinedStatusCode rule, tested in `user_defined_status_codes`",
    ),
    (
        "11",
        "input of the userDefinedStatusCode rule, tested in `user_defined_status_codes`",
    ),
    (
        "32",
        "ElasticSearch duration-checker response: the ES duration checker is out of scope (the scheduler uses the no-op checker)",
    ),
    (
        "33",
        "ElasticSearch duration-checker response: out of scope, as 32",
    ),
    (
        "34",
        "ElasticSearch duration-checker response: out of scope, as 32",
    ),
    (
        "35",
        "ElasticSearch duration-checker write: out of scope, as 32",
    ),
    (
        "37",
        "CouchDB design document: installed into the test CouchDB by the test harness, not a wire message",
    ),
    ("38", "CouchDB design document: as 37"),
    (
        "46",
        "scheduler admin HTTP body: belongs to the scheduler's admin routes",
    ),
    (
        "47",
        "scheduler admin HTTP body: belongs to the scheduler's admin routes",
    ),
    (
        "69",
        "etcd key catalog: tested in compat's etcd_keys module",
    ),
    (
        "70",
        "gRPC FetchRequest (proto3 JSON): tested in compat's grpc module",
    ),
    (
        "71",
        "gRPC FetchResponse wrapper: its inner string is round-tripped in `fetch_response_inside_grpc`",
    ),
    (
        "75",
        "gRPC RescheduleRequest (proto3 JSON): tested in compat's grpc module",
    ),
    (
        "76",
        "gRPC warm-up FetchRequest (proto3 JSON): tested in compat's grpc module",
    ),
    (
        "79",
        "Docker json-file log line: parsed by the invoker agent's log collector",
    ),
    (
        "80",
        "invoker admin HTTP body: belongs to the invoker agent",
    ),
    (
        "81",
        "invoker admin HTTP body: belongs to the invoker agent",
    ),
    (
        "82",
        "pretty-printed HTTP error body: belongs to the admin servers",
    ),
    (
        "84",
        "CouchDB subject document: read by the scheduler's identity lookup",
    ),
    (
        "85",
        "CouchDB limits document: read by the scheduler's identity lookup",
    ),
    (
        "86",
        "CouchDB identities view row: read by the scheduler's identity lookup",
    ),
    (
        "87",
        "logical view of a Kryo CreateQueue: not a wire format (this scheduler does not speak Artery)",
    ),
    ("88", "gRPC protobuf bytes: tested in compat's grpc module"),
    (
        "90",
        "etcd leader key/value: tested in compat's etcd_keys module",
    ),
];

#[test]
fn vectors_printed_by_spray_round_trip_byte_identically() {
    for (number, type_name) in EXACT {
        let (bytes, expected) = compact_form(number);
        assert_eq!(
            roundtrip(type_name, &bytes),
            expected,
            "vector {number} as {type_name}"
        );
    }
}

#[test]
fn hand_written_literals_come_back_as_the_scala_writer_emits_them() {
    for (number, type_name, expected, rule) in canonical() {
        let (bytes, _) = compact_form(number);
        let once = roundtrip(type_name, &bytes);
        assert_eq!(once, expected, "vector {number} as {type_name} ({rule})");
        assert_eq!(
            roundtrip(type_name, once.as_bytes()),
            once,
            "vector {number}: canonical form is stable"
        );
    }
}

#[test]
fn every_vector_is_covered_or_skipped_with_a_reason() {
    let canonical = canonical();
    let listed = |n: &str| {
        EXACT.iter().any(|(v, _)| *v == n)
            || canonical.iter().any(|(v, ..)| *v == n)
            || SKIPPED.iter().any(|(v, _)| *v == n)
    };
    let dir = vectors_dir();
    let mut missing = Vec::new();
    for entry in
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
    {
        let name = entry
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(stem) = name.strip_suffix(".json") {
            let number = stem.split('-').next().unwrap_or_default();
            if !listed(number) {
                missing.push(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "vectors neither tested nor skipped with a reason: {missing:?}"
    );
}

#[test]
fn fetch_response_inside_grpc() {
    let (bytes, _) = compact_form("71");
    let outer: Value = serde_json::from_slice(&bytes).expect("vector 71 is JSON");
    let inner = outer["activationMessage"]
        .as_str()
        .expect("activationMessage is a string");
    assert_eq!(roundtrip("fetch-response-message", inner.as_bytes()), inner);
}

#[test]
fn event_bodies_from_literals() {
    use ow_compat::json::{Path, Wire};
    use ow_compat::messages::ActivationEvent;
    for number in ["07", "08"] {
        let (bytes, _) = compact_form(number);
        let literal: Value = serde_json::from_slice(&bytes).expect("JSON");
        let event = ActivationEvent::read(&literal, Path::Root)
            .unwrap_or_else(|e| panic!("vector {number}: {e}"));
        let written = event.write();
        assert_eq!(written, literal, "vector {number}: same members and values");
        let keys: Vec<&String> = written
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "vector {number}: the writer sorts members");
    }
}

#[test]
fn user_defined_status_codes() {
    use ow_compat::messages::user_defined_status_code;
    for (number, expected) in [("09", 404), ("10", 404), ("11", 400)] {
        let (bytes, _) = compact_form(number);
        let result: Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(
            user_defined_status_code(&result),
            Some(expected),
            "vector {number}"
        );
    }
}
