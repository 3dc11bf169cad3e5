//! Property tests of the wire codecs.
//!
//! Strategies generate valid values of every message and document type, already in the normal
//! form the Scala semantics impose (so that decoding gives back exactly what was generated):
//!
//! - ids are 32 lower-case hex characters, entity names follow OpenWhisk's rule, versions are
//!   non-zero, controller and scheduler ids match `[a-zA-Z0-9._-]+`;
//! - revisions are built with `DocRevision::new` (trimmed, blank = none);
//! - inline code carries the `binary` flag the base64 rule computes (the reader recomputes it),
//!   blackbox inline code is never blank (blank code reads as none);
//! - parameters are built with `Parameters::from_entries` (unique keys, Scala `HashMap` order
//!   from five entries on); limits always carry `logs` and `concurrency`;
//! - sequence components carry neither version nor binding (the writer emits `/path/name`);
//! - event durations are non-negative (the reader clamps them at zero);
//! - free-form JSON (`content`, `result`, parameter values, ...) is a small tree of objects with
//!   unique keys, integers, strings (any Unicode, control characters included) and decimals
//!   written in `java.math.BigDecimal.toString` form.
//!
//! For every type: (a) `decode(encode(x)) == x`; (b) the encoding is stable, byte for byte, and
//! parses to the same JSON as the encoding of the decoded value; (c) it has no whitespace (and no
//! raw control character) outside strings; (d) it is its own compact form, and a pretty-printed
//! copy decodes to the same value.
//!
//! Decoding arbitrary bytes, arbitrary JSON, and valid documents with one random mutation never
//! panics for any type in `TYPES`, and whatever decodes re-encodes to a fixpoint.
//!
//! The number of cases defaults to 256 per property; `PROPTEST_CASES` overrides it.

use std::fmt::Debug;

use ow_compat::Codec;
use ow_compat::codec::TYPES;
use ow_compat::json::{Map, Path, Value, Wire, compact, java_decimal};
use ow_compat::messages::{
    AcknowledgementMessage, ActivationEvent, ActivationMessage, ActivationOrId,
    ContainerCreationAckMessage, ContainerCreationMessage, ContainerDeletionMessage, CreationError,
    EventBody, EventMessage, FetchResponsePayload, InvokerResourceMessage, InvokerStatus,
    PingMessage, StringMap,
};
use ow_compat::records::{
    ActivationDocument, ActivationResponse, InitRequest, RunRequest, StatusCode,
    WhiskActionDocument, WhiskActionMetaData, WhiskActivation,
};
use ow_compat::runtimes::manifest;
use ow_compat::values::{
    ActionLimits, ActivationId, Attachment, ByteSize, CodeBody, ControllerInstanceId, CreationId,
    DocRevision, EntityName, EntityPath, Exec, ExecMetaData, FullyQualifiedEntityName, Identity,
    InstanceId, InvokerInstanceId, Namespace, Parameter, Parameters, RemotingDialect,
    SchedulerEndpoints, SchedulerInstanceId, SchedulerStates, SemVer, SizeUnit, TransactionId,
    UserLimits,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use proptest::test_runner::TestRunner;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    ProptestConfig::with_cases(cases)
}

// === the properties ===

/// Where the first whitespace (or raw control character) outside a string is, if any.
fn whitespace_outside_strings(s: &str) -> Option<usize> {
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if c < ' ' {
                return Some(i);
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_whitespace() || c.is_control() {
            return Some(i);
        }
    }
    None
}

fn parse_json(s: &str) -> Result<Value, TestCaseError> {
    serde_json::from_str(s).map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {s}")))
}

/// Properties (a) to (d) for one generated value.
fn check<T: Codec + PartialEq + Debug>(x: &T) -> Result<(), TestCaseError> {
    let encoded = x.encode();
    let decoded = T::decode(encoded.as_bytes()).map_err(|e| {
        TestCaseError::fail(format!(
            "{}: own encoding rejected: {e}\n{encoded}",
            T::TYPE_NAME
        ))
    })?;
    prop_assert_eq!(
        &decoded,
        x,
        "(a) decode(encode(x)) != x; encoding {}",
        encoded
    );

    let again = decoded.encode();
    prop_assert_eq!(&again, &encoded, "(b) encoding is not stable");
    prop_assert_eq!(
        compact(&x.write()),
        encoded.clone(),
        "(e) the direct writer and the tree writer disagree"
    );
    prop_assert_eq!(
        parse_json(&encoded)?,
        parse_json(&again)?,
        "(b) JSON differs"
    );

    if let Some(i) = whitespace_outside_strings(&encoded) {
        return Err(TestCaseError::fail(format!(
            "(c) whitespace or control character outside strings at byte {i}: {encoded}"
        )));
    }

    let tree = parse_json(&encoded)?;
    prop_assert_eq!(
        compact(&tree),
        encoded.clone(),
        "(d) not its own compact form"
    );
    let pretty =
        serde_json::to_string_pretty(&tree).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let from_pretty = T::decode(pretty.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("pretty form rejected: {e}\n{pretty}")))?;
    prop_assert_eq!(
        &from_pretty,
        x,
        "(d) pretty-printed form decodes differently"
    );
    Ok(())
}

/// Round-trips `bytes` through every type; whatever decodes must re-encode to a fixpoint.
fn every_type_is_total_and_stable(bytes: &[u8]) -> Result<(), TestCaseError> {
    for (name, roundtrip) in TYPES {
        if let Ok(once) = roundtrip(bytes) {
            let twice = roundtrip(once.as_bytes()).map_err(|e| {
                TestCaseError::fail(format!("{name}: own encoding rejected: {e}\n{once}"))
            })?;
            prop_assert_eq!(
                &twice,
                &once,
                "{}: re-encoding is not a fixpoint for input {}",
                name,
                String::from_utf8_lossy(bytes)
            );
        }
    }
    Ok(())
}

// === scalar strategies ===

/// Short text: mostly printable ASCII, sometimes any Unicode, sometimes the characters a JSON
/// printer must escape (or must not).
fn text() -> BoxedStrategy<String> {
    let tricky = vec![
        '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{8}', '\u{c}', '\u{1f}', '\u{7f}', 'é',
        '\u{2028}', '😀', ' ', 'a',
    ];
    prop_oneof![
        4 => "[a-zA-Z0-9 _./:@-]{0,12}",
        1 => vec(any::<char>(), 0..8).prop_map(String::from_iter),
        1 => vec(select(tricky), 0..8).prop_map(String::from_iter),
    ]
    .boxed()
}

fn hex32() -> impl Strategy<Value = String> {
    "[0-9a-f]{32}"
}

fn activation_id() -> impl Strategy<Value = ActivationId> {
    hex32().prop_map(|s| ActivationId::parse(&s).expect("generated activation id"))
}

fn creation_id() -> impl Strategy<Value = CreationId> {
    hex32().prop_map(|s| CreationId::parse(&s).expect("generated creation id"))
}

fn entity_name() -> BoxedStrategy<EntityName> {
    prop_oneof![
        20 => "[A-Za-z0-9_]([A-Za-z0-9_@ .&-]{0,14}[A-Za-z0-9_@.&-])?",
        1 => "[A-Za-z0-9_][A-Za-z0-9_@ .&-]{254}[A-Za-z0-9_@.&-]",
    ]
    .prop_map(|s| EntityName::parse(&s).expect("generated entity name"))
    .boxed()
}

fn entity_path() -> BoxedStrategy<EntityPath> {
    vec(entity_name(), 1..=3)
        .prop_map(|names| {
            let joined: Vec<&str> = names.iter().map(EntityName::as_str).collect();
            EntityPath::parse(&joined.join("/")).expect("generated entity path")
        })
        .boxed()
}

fn semver() -> impl Strategy<Value = SemVer> {
    let part = || prop_oneof![4 => 0u32..20, 1 => any::<u32>()];
    (part(), part(), part()).prop_map(|(major, minor, patch)| SemVer {
        major,
        minor,
        patch: if major == 0 && minor == 0 && patch == 0 {
            1
        } else {
            patch
        },
    })
}

fn fqn() -> BoxedStrategy<FullyQualifiedEntityName> {
    (
        entity_path(),
        entity_name(),
        prop::option::of(semver()),
        prop::option::of(entity_path()),
    )
        .prop_map(|(path, name, version, binding)| FullyQualifiedEntityName {
            path,
            name,
            version,
            binding,
        })
        .boxed()
}

/// A sequence component: `/path/name` only.
fn component() -> impl Strategy<Value = FullyQualifiedEntityName> {
    (entity_path(), entity_name()).prop_map(|(p, n)| FullyQualifiedEntityName::new(p, n))
}

fn revision() -> impl Strategy<Value = DocRevision> {
    prop_oneof![
        Just(DocRevision::empty()),
        "[0-9]{1,3}-[0-9a-f]{32}".prop_map(DocRevision::new),
        text().prop_map(DocRevision::new),
    ]
}

fn instance_name() -> BoxedStrategy<String> {
    prop_oneof![
        10 => "[a-zA-Z0-9._-]{1,16}",
        1 => "[a-z0-9]{128}",
    ]
    .boxed()
}

fn controller_id() -> impl Strategy<Value = ControllerInstanceId> {
    instance_name().prop_map(|s| ControllerInstanceId::new(s).expect("generated controller id"))
}

fn scheduler_id() -> impl Strategy<Value = SchedulerInstanceId> {
    instance_name().prop_map(|s| SchedulerInstanceId::new(s).expect("generated scheduler id"))
}

fn byte_size() -> impl Strategy<Value = ByteSize> {
    let unit = select(vec![SizeUnit::B, SizeUnit::KB, SizeUnit::MB, SizeUnit::GB]);
    (prop_oneof![3 => 0u64..100_000, 1 => any::<u64>()], unit)
        .prop_map(|(size, unit)| ByteSize { size, unit })
}

fn transaction_id() -> BoxedStrategy<TransactionId> {
    let id = prop_oneof![
        4 => "[A-Za-z0-9]{32}",
        2 => "sid_[a-zA-Z]{1,16}",
        1 => text(),
    ];
    vec((id, any::<i64>(), any::<bool>()), 1..=4)
        .prop_map(|chain| {
            chain
                .into_iter()
                .rev()
                .fold(None, |parent, (id, start_millis, extra_logging)| {
                    Some(TransactionId {
                        id,
                        start_millis,
                        extra_logging,
                        parent: parent.map(Box::new),
                    })
                })
                .expect("a non-empty chain")
        })
        .boxed()
}

// === free-form JSON ===

/// An object from members in generated order; a repeated key keeps its first value.
fn object_from(pairs: Vec<(String, Value)>) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        map.entry(k).or_insert(v);
    }
    Value::Object(map)
}

/// A decimal in `BigDecimal.toString` form (`1.50`, `1E+10`, `1.23E-8`, `0.000`).
fn canonical_decimal() -> impl Strategy<Value = Value> {
    (any::<i32>(), -12i32..12).prop_map(|(unscaled, exponent)| {
        let text = java_decimal(&format!("{unscaled}e{exponent}"));
        serde_json::from_str(&text).expect("a BigDecimal rendering is a JSON number")
    })
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => canonical_decimal(),
        3 => text().prop_map(Value::String),
    ]
    .boxed()
}

fn json_key() -> BoxedStrategy<String> {
    prop_oneof![
        2 => select(vec!["name", "place", "x", "payload", "error", "statusCode", "__OW_X", ""])
            .prop_map(str::to_owned),
        3 => text(),
    ]
    .boxed()
}

fn json_tree(leaf: BoxedStrategy<Value>, key: BoxedStrategy<String>) -> BoxedStrategy<Value> {
    leaf.prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((key.clone(), inner), 0..5).prop_map(object_from),
        ]
    })
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    json_tree(json_leaf(), json_key())
}

fn json_non_null() -> BoxedStrategy<Value> {
    json_value()
        .prop_filter("null reads as absent", |v| !v.is_null())
        .boxed()
}

fn json_object() -> BoxedStrategy<Value> {
    vec((json_key(), json_value()), 0..6)
        .prop_map(object_from)
        .boxed()
}

fn string_map() -> impl Strategy<Value = StringMap> {
    vec((text(), text()), 0..5).prop_map(|pairs| {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs {
            if !entries.iter().any(|(seen, _)| *seen == k) {
                entries.push((k, v));
            }
        }
        StringMap(entries)
    })
}

// === values ===

const PRIVILEGES: [&str; 5] = ["READ", "PUT", "DELETE", "ACTIVATE", "REJECT"];

fn user_limits() -> impl Strategy<Value = UserLimits> {
    let int = || prop::option::of(any::<i64>());
    let size = || prop::option::of(byte_size());
    (
        (
            int(),
            int(),
            int(),
            prop::option::of(vec(text(), 0..3)),
            prop::option::of(any::<bool>()),
            int(),
            int(),
            int(),
        ),
        (int(), int(), int(), int(), int(), size(), size(), size()),
        (int(), prop::option::of(text()), int()),
    )
        .prop_map(
            |((a, b, c, d, e, f, g, h), (i, j, k, l, m, n, o, p), (q, r, s))| UserLimits {
                invocations_per_minute: a,
                concurrent_invocations: b,
                fires_per_minute: c,
                allowed_kinds: d,
                store_activations: e,
                min_action_memory: f,
                max_action_memory: g,
                min_action_logs: h,
                max_action_logs: i,
                min_action_timeout: j,
                max_action_timeout: k,
                min_action_concurrency: l,
                max_action_concurrency: m,
                max_parameter_size: n,
                max_payload_size: o,
                truncation_size: p,
                warmed_container_keeping_count: q,
                warmed_container_keeping_timeout: r,
                max_action_instances: s,
            },
        )
}

fn identity() -> impl Strategy<Value = Identity> {
    let authkey = prop_oneof![
        3 => ("[0-9a-f-]{36}", "[A-Za-z0-9]{64}").prop_map(|(uuid, key)| {
            serde_json::json!({ "api_key": format!("{uuid}:{key}") })
        }),
        1 => json_object(),
    ];
    let rights = subsequence(PRIVILEGES.to_vec(), 0..=5)
        .prop_shuffle()
        .prop_map(|r| r.into_iter().map(str::to_owned).collect::<Vec<_>>());
    (
        ("[a-zA-Z0-9]{5,10}", text()),
        entity_name(),
        text(),
        authkey,
        rights,
        user_limits(),
    )
        .prop_map(
            |((subject, tail), name, uuid, authkey, rights, limits)| Identity {
                subject: subject + &tail,
                namespace: Namespace { name, uuid },
                authkey,
                rights,
                limits,
            },
        )
}

fn parameters() -> BoxedStrategy<Parameters> {
    let key = prop_oneof![
        1 => select(vec!["a", "b", "c", "exec", "provide-api-key", "path", "limits", "timeout"])
            .prop_map(str::to_owned),
        1 => text(),
    ];
    let encryption = prop::option::of(prop_oneof![
        Just("aes-128".to_owned()),
        Just("aes-256".to_owned()),
        text(),
    ]);
    let parameter = (key, json_value(), any::<bool>(), encryption).prop_map(
        |(key, value, init, encryption)| Parameter {
            key,
            value,
            init,
            encryption,
        },
    );
    vec(parameter, 0..8)
        .prop_map(Parameters::from_entries)
        .boxed()
}

fn action_limits() -> impl Strategy<Value = ActionLimits> {
    (
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        prop::option::of(any::<u32>()),
    )
        .prop_map(
            |(timeout_ms, memory_mb, logs_mb, concurrency, instances)| ActionLimits {
                timeout_ms,
                memory_mb,
                logs_mb,
                concurrency,
                instances,
            },
        )
}

/// Java's `String.trim`: strips every character up to U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// OpenWhisk's `isBinaryCode`: trimmed, non-empty, a multiple of 4, and
/// `^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$`.
fn is_binary_code(code: &str) -> bool {
    let t = java_trim(code).as_bytes();
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    if t.is_empty() || !t.len().is_multiple_of(4) {
        return false;
    }
    let (body, tail) = t.split_at(t.len() - 4);
    body.iter().all(alphabet)
        && match tail {
            [a, b, b'=', b'='] => alphabet(a) && alphabet(b),
            [a, b, c, b'='] => alphabet(a) && alphabet(b) && alphabet(c),
            _ => tail.iter().all(alphabet),
        }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Inline code: program text, or base64 padded with ASCII whitespace (which both Java's and
/// Rust's `trim` remove).
fn code_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => text(),
        1 => Just("function main(params) {\n  return params;\n}".to_owned()),
        2 => (
            select(vec!["", " ", "\n", "\t "]),
            vec(any::<u8>(), 1..24),
            select(vec!["", " ", "\n", "\r\n"]),
        )
            .prop_map(|(pre, bytes, post)| format!("{pre}{}{post}", base64(&bytes))),
        1 => "[A-Za-z0-9+/]{4,12}",
    ]
    .boxed()
}

fn attachment() -> impl Strategy<Value = Attachment> {
    (
        prop_oneof!["couch:[0-9a-f-]{36}", "mem:[A-Za-z0-9_-]{4,16}", text()],
        prop_oneof![
            Just("text/plain".to_owned()),
            Just("application/java-archive".to_owned()),
            text()
        ],
        prop::option::of(any::<i64>()),
        prop::option::of("sha256-[0-9a-f]{64}"),
    )
        .prop_map(
            |(attachment_name, attachment_type, length, digest)| Attachment {
                attachment_name,
                attachment_type,
                length,
                digest,
            },
        )
}

/// Inline or attached code with the `binary` flag the reader will compute.
fn code_body(non_blank: bool) -> BoxedStrategy<(CodeBody, bool)> {
    let inline = code_text()
        .prop_filter("blank blackbox code reads as none", move |c| {
            !non_blank || !java_trim(c).is_empty()
        })
        .prop_map(|c| {
            let binary = is_binary_code(&c);
            (CodeBody::Inline(c), binary)
        });
    let attached = (attachment(), any::<bool>()).prop_map(|(a, b)| (CodeBody::Attached(a), b));
    prop_oneof![3 => inline, 1 => attached].boxed()
}

/// The kinds of the built-in manifest, with whether they require `main`.
fn manifest_kinds() -> Vec<(String, bool)> {
    manifest()
        .kinds()
        .map(|k| (k.kind.clone(), k.require_main && k.attached.is_some()))
        .collect()
}

fn main_for(required: bool) -> BoxedStrategy<Option<String>> {
    let name = prop_oneof![Just("main".to_owned()), "[a-zA-Z.]{1,12}", text()];
    if required {
        name.prop_map(Some).boxed()
    } else {
        prop::option::of(name).boxed()
    }
}

fn image() -> BoxedStrategy<String> {
    prop_oneof![
        Just("openwhisk/dockerskeleton:nightly".to_owned()),
        "[a-z0-9./:-]{1,24}",
        text().prop_filter("the image is required", |s| !s.is_empty()),
    ]
    .boxed()
}

fn exec() -> BoxedStrategy<Exec> {
    let code = select(manifest_kinds()).prop_flat_map(|(kind, needs_main)| {
        (Just(kind), code_body(false), main_for(needs_main)).prop_map(
            |(kind, (code, binary), main)| Exec::Code {
                kind,
                code,
                binary,
                main,
            },
        )
    });
    let blackbox = (image(), prop::option::of(code_body(true)), main_for(false)).prop_map(
        |(image, code, main)| {
            let binary = code.as_ref().is_some_and(|(_, b)| *b);
            Exec::Blackbox {
                image,
                code: code.map(|(c, _)| c),
                binary,
                main,
            }
        },
    );
    let sequence = vec(component(), 0..4).prop_map(|components| Exec::Sequence { components });
    prop_oneof![4 => code, 2 => blackbox, 1 => sequence].boxed()
}

fn exec_metadata() -> BoxedStrategy<ExecMetaData> {
    let code = select(manifest_kinds()).prop_flat_map(|(kind, needs_main)| {
        (Just(kind), any::<bool>(), main_for(needs_main))
            .prop_map(|(kind, binary, main)| ExecMetaData::Code { kind, binary, main })
    });
    let blackbox = (image(), any::<bool>(), main_for(false)).prop_map(|(image, binary, main)| {
        ExecMetaData::Blackbox {
            image,
            binary,
            main,
        }
    });
    let sequence =
        vec(component(), 0..4).prop_map(|components| ExecMetaData::Sequence { components });
    prop_oneof![4 => code, 2 => blackbox, 1 => sequence].boxed()
}

fn invoker_id() -> BoxedStrategy<InvokerInstanceId> {
    (
        any::<i32>(),
        prop::option::of(text()),
        prop::option::of(text()),
        byte_size(),
        prop::option::of(byte_size()),
        vec(text(), 0..3),
        vec(text(), 0..3),
    )
        .prop_map(
            |(instance, unique_name, displayed_name, user_memory, busy_memory, tags, dedicated)| {
                InvokerInstanceId {
                    instance,
                    unique_name,
                    displayed_name,
                    user_memory,
                    busy_memory,
                    tags,
                    dedicated_namespaces: dedicated,
                }
            },
        )
        .boxed()
}

fn instance_id() -> impl Strategy<Value = InstanceId> {
    prop_oneof![
        invoker_id().prop_map(InstanceId::Invoker),
        controller_id().prop_map(InstanceId::Controller),
    ]
}

fn scheduler_endpoints() -> impl Strategy<Value = SchedulerEndpoints> {
    (
        prop_oneof!["[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", text()],
        any::<u16>(),
        any::<u16>(),
        select(vec![RemotingDialect::Pekko, RemotingDialect::Akka]),
    )
        .prop_map(
            |(host, rpc_port, remoting_port, dialect)| SchedulerEndpoints {
                host,
                rpc_port,
                remoting_port,
                dialect,
            },
        )
}

fn scheduler_states() -> impl Strategy<Value = SchedulerStates> {
    (scheduler_id(), scheduler_endpoints(), any::<i64>()).prop_map(
        |(sid, endpoints, queue_size)| SchedulerStates {
            sid,
            endpoints,
            queue_size,
        },
    )
}

// === messages ===

fn activation_message() -> BoxedStrategy<ActivationMessage> {
    let content = prop::option::of(prop_oneof![
        3 => json_object(),
        1 => vec(json_value(), 0..4).prop_map(Value::Array),
    ]);
    (
        transaction_id(),
        fqn(),
        revision(),
        identity(),
        activation_id(),
        controller_id(),
        any::<bool>(),
        content,
        vec(text(), 0..3),
        string_map(),
        prop::option::of(activation_id()),
        prop::option::of(string_map()),
    )
        .prop_map(
            |(
                transid,
                action,
                revision,
                user,
                activation_id,
                root_controller_index,
                blocking,
                content,
                init_args,
                locked_args,
                cause,
                trace_context,
            )| ActivationMessage {
                transid,
                action,
                revision,
                user,
                activation_id,
                root_controller_index,
                blocking,
                content,
                init_args,
                locked_args,
                cause,
                trace_context,
            },
        )
        .boxed()
}

fn action_metadata() -> BoxedStrategy<WhiskActionMetaData> {
    (
        entity_path(),
        entity_name(),
        exec_metadata(),
        parameters(),
        action_limits(),
        semver(),
        any::<bool>(),
        parameters(),
        any::<i64>(),
        prop::option::of(entity_path()),
    )
        .prop_map(
            |(
                namespace,
                name,
                exec,
                parameters,
                limits,
                version,
                publish,
                annotations,
                updated,
                binding,
            )| {
                WhiskActionMetaData {
                    namespace,
                    name,
                    exec,
                    parameters,
                    limits,
                    version,
                    publish,
                    annotations,
                    updated,
                    binding,
                }
            },
        )
        .boxed()
}

fn creation_message() -> impl Strategy<Value = ContainerCreationMessage> {
    (
        transaction_id(),
        text(),
        fqn(),
        revision(),
        action_metadata(),
        scheduler_id(),
        text(),
        any::<u16>(),
        any::<u32>(),
        creation_id(),
    )
        .prop_map(
            |(
                transid,
                invocation_namespace,
                action,
                revision,
                whisk_action_meta_data,
                root_scheduler_index,
                scheduler_host,
                rpc_port,
                retry_count,
                creation_id,
            )| ContainerCreationMessage {
                transid,
                invocation_namespace,
                action,
                revision,
                whisk_action_meta_data,
                root_scheduler_index,
                scheduler_host,
                rpc_port,
                retry_count,
                creation_id,
            },
        )
}

fn deletion_message() -> impl Strategy<Value = ContainerDeletionMessage> {
    (
        transaction_id(),
        text(),
        fqn(),
        revision(),
        action_metadata(),
    )
        .prop_map(
            |(transid, invocation_namespace, action, revision, whisk_action_meta_data)| {
                ContainerDeletionMessage {
                    transid,
                    invocation_namespace,
                    action,
                    revision,
                    whisk_action_meta_data,
                }
            },
        )
}

fn creation_ack_message() -> BoxedStrategy<ContainerCreationAckMessage> {
    (
        (
            transaction_id(),
            creation_id(),
            text(),
            fqn(),
            revision(),
            action_metadata(),
        ),
        (
            invoker_id(),
            text(),
            any::<u16>(),
            any::<u32>(),
            prop::option::of(select(CreationError::ALL.to_vec())),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |(
                (transid, creation_id, invocation_namespace, action, revision, action_meta_data),
                (root_invoker_index, scheduler_host, rpc_port, retry_count, error, reason),
            )| ContainerCreationAckMessage {
                transid,
                creation_id,
                invocation_namespace,
                action,
                revision,
                action_meta_data,
                root_invoker_index,
                scheduler_host,
                rpc_port,
                retry_count,
                error,
                reason,
            },
        )
        .boxed()
}

fn activation_response() -> impl Strategy<Value = ActivationResponse> {
    let status = select(vec![
        StatusCode::Success,
        StatusCode::ApplicationError,
        StatusCode::DeveloperError,
        StatusCode::WhiskError,
    ]);
    (
        status,
        prop::option::of(json_non_null()),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(status_code, result, size)| ActivationResponse {
            status_code,
            result,
            size,
        })
}

fn whisk_activation() -> BoxedStrategy<WhiskActivation> {
    (
        (
            entity_path(),
            entity_name(),
            text(),
            activation_id(),
            any::<i64>(),
            any::<i64>(),
            prop::option::of(activation_id()),
        ),
        (
            activation_response(),
            vec(text(), 0..4),
            semver(),
            any::<bool>(),
            parameters(),
            prop::option::of(any::<i64>()),
        ),
    )
        .prop_map(
            |(
                (namespace, name, subject, activation_id, start, end, cause),
                (response, logs, version, publish, annotations, duration),
            )| WhiskActivation {
                namespace,
                name,
                subject,
                activation_id,
                start,
                end,
                cause,
                response,
                logs,
                version,
                publish,
                annotations,
                duration,
            },
        )
        .boxed()
}

fn activation_or_id() -> impl Strategy<Value = ActivationOrId> {
    prop_oneof![
        whisk_activation().prop_map(|a| ActivationOrId::Activation(Box::new(a))),
        activation_id().prop_map(ActivationOrId::Id),
    ]
}

fn acknowledgement() -> BoxedStrategy<AcknowledgementMessage> {
    let completion = (
        transaction_id(),
        activation_id(),
        prop::option::of(any::<bool>()),
        instance_id(),
    )
        .prop_map(|(transid, activation_id, is_system_error, instance)| {
            AcknowledgementMessage::Completion {
                transid,
                activation_id,
                is_system_error,
                instance,
            }
        });
    let result = (transaction_id(), activation_or_id())
        .prop_map(|(transid, response)| AcknowledgementMessage::Result { transid, response });
    let combined = (
        transaction_id(),
        activation_or_id(),
        prop::option::of(any::<bool>()),
        instance_id(),
    )
        .prop_map(|(transid, response, is_system_error, instance)| {
            AcknowledgementMessage::Combined {
                transid,
                response,
                is_system_error,
                instance,
            }
        });
    prop_oneof![completion, result, combined].boxed()
}

fn event_message() -> impl Strategy<Value = EventMessage> {
    let activation = (
        (
            prop_oneof![hex32(), text()],
            prop::option::of(text()),
            any::<bool>(),
            0..=i64::MAX,
            0..=i64::MAX,
            prop_oneof![Just("nodejs:20".to_owned()), text()],
        ),
        (
            any::<i64>(),
            text(),
            prop::option::of(any::<i64>()),
            any::<i64>(),
            prop::option::of(any::<i64>()),
            0..=i64::MAX,
        ),
    )
        .prop_map(
            |(
                (activation_id, caused_by, conductor, duration, init_time, kind),
                (memory, name, size, status_code, user_defined_status_code, wait_time),
            )| {
                EventBody::Activation(ActivationEvent {
                    activation_id,
                    caused_by,
                    conductor,
                    duration,
                    init_time,
                    kind,
                    memory,
                    name,
                    size,
                    status_code,
                    user_defined_status_code,
                    wait_time,
                })
            },
        );
    let metric = (
        prop_oneof![Just("ConcurrentRateLimit".to_owned()), text()],
        any::<i64>(),
    )
        .prop_map(|(metric_name, metric_value)| EventBody::Metric {
            metric_name,
            metric_value,
        });
    (
        prop_oneof![activation, metric],
        prop_oneof!["invoker[0-9]{1,2}", "scheduler[0-9]", text()],
        text(),
        text(),
        text(),
        prop_oneof![
            Just("Activation".to_owned()),
            Just("Metric".to_owned()),
            text()
        ],
        any::<i64>(),
    )
        .prop_map(
            |(body, source, subject, namespace, user_id, event_type, timestamp)| EventMessage {
                source,
                body,
                subject,
                namespace,
                user_id,
                event_type,
                timestamp,
            },
        )
}

fn ping_message() -> impl Strategy<Value = PingMessage> {
    (invoker_id(), prop::option::of(any::<bool>()))
        .prop_map(|(name, is_enabled)| PingMessage { name, is_enabled })
}

fn invoker_resource_message() -> impl Strategy<Value = InvokerResourceMessage> {
    (
        select(vec![
            InvokerStatus::Up,
            InvokerStatus::Unhealthy,
            InvokerStatus::Down,
        ]),
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        vec(text(), 0..3),
        vec(text(), 0..3),
    )
        .prop_map(
            |(status, free_memory, busy_memory, in_progress_memory, tags, dedicated)| {
                InvokerResourceMessage {
                    status,
                    free_memory,
                    busy_memory,
                    in_progress_memory,
                    tags,
                    dedicated_namespaces: dedicated,
                }
            },
        )
}

// === documents ===

fn activation_document() -> impl Strategy<Value = ActivationDocument> {
    (
        whisk_activation(),
        prop::option::of(text()),
        any::<i64>(),
        prop::option::of(text()),
    )
        .prop_map(|(activation, rev, updated, id)| {
            let mut doc = ActivationDocument::new(activation, updated);
            if let Some(id) = id {
                doc.id = id;
            }
            doc.rev = rev;
            doc
        })
}

fn action_document() -> BoxedStrategy<WhiskActionDocument> {
    (
        (
            prop::option::of(text()),
            prop::option::of("[0-9]{1,3}-[0-9a-f]{32}"),
            entity_path(),
            entity_name(),
            exec(),
            parameters(),
        ),
        (
            action_limits(),
            semver(),
            any::<bool>(),
            parameters(),
            any::<i64>(),
        ),
    )
        .prop_map(
            |(
                (id, rev, namespace, name, exec, parameters),
                (limits, version, publish, annotations, updated),
            )| WhiskActionDocument {
                id,
                rev,
                namespace,
                name,
                exec,
                parameters,
                limits,
                version,
                publish,
                annotations,
                updated,
            },
        )
        .boxed()
}

fn init_request() -> impl Strategy<Value = InitRequest> {
    let env_key = prop_oneof![
        select(vec![
            "__OW_API_KEY",
            "__OW_DEADLINE",
            "__OW_ACTION_NAME",
            "__OW_ACTION_VERSION",
            "__OW_ACTIVATION_ID",
            "__OW_NAMESPACE",
            "__OW_TRANSACTION_ID",
        ])
        .prop_map(str::to_owned),
        text(),
    ];
    (
        prop_oneof![entity_name().prop_map(|n| n.to_string()), text()],
        any::<bool>(),
        prop_oneof![Just("main".to_owned()), text()],
        prop::option::of(code_text()),
        vec((env_key, text()), 0..8),
    )
        .prop_map(|(name, binary, main, code, env)| InitRequest {
            name,
            binary,
            main,
            code,
            env: InitRequest::env_in_scala_order(env),
        })
}

fn run_request() -> impl Strategy<Value = RunRequest> {
    (
        (
            json_value(),
            prop_oneof!["/[a-z]{1,8}/[a-z]{1,8}", text()],
            prop::option::of(prop_oneof!["[0-9]\\.[0-9]\\.[0-9]", text()]),
            prop_oneof![hex32(), text()],
        ),
        (
            prop::option::of(text()),
            prop_oneof!["[0-9]{13}", text()],
            text(),
            prop_oneof!["[A-Za-z0-9]{32}", text()],
        ),
    )
        .prop_map(
            |(
                (value, action_name, action_version, activation_id),
                (api_key, deadline, namespace, transaction_id),
            )| RunRequest {
                value,
                action_name,
                action_version,
                activation_id,
                api_key,
                deadline,
                namespace,
                transaction_id,
            },
        )
}

fn fetch_response() -> impl Strategy<Value = FetchResponsePayload> {
    prop_oneof![
        3 => activation_message().prop_map(|m| FetchResponsePayload::Activation(Box::new(m))),
        1 => Just(FetchResponsePayload::NoActivation),
        1 => Just(FetchResponsePayload::NoMemoryQueue),
        1 => Just(FetchResponsePayload::ActionMismatch),
    ]
}

// === round trips of valid values ===

proptest! {
    #![proptest_config(config())]

    #[test]
    fn activation_message_round_trips(x in activation_message()) {
        check(&x)?;
    }

    #[test]
    fn container_creation_message_round_trips(x in creation_message()) {
        check(&x)?;
    }

    #[test]
    fn container_deletion_message_round_trips(x in deletion_message()) {
        check(&x)?;
    }

    #[test]
    fn container_creation_ack_round_trips(x in creation_ack_message()) {
        check(&x)?;
    }

    #[test]
    fn acknowledgement_round_trips(x in acknowledgement()) {
        check(&x)?;
    }

    #[test]
    fn shrunk_acknowledgement_round_trips_and_keeps_its_ids(x in acknowledgement()) {
        let shrunk = x.clone().shrink();
        check(&shrunk)?;
        prop_assert_eq!(shrunk.activation_id(), x.activation_id());
        prop_assert_eq!(shrunk.transid(), x.transid());
        if !matches!(x, AcknowledgementMessage::Completion { .. }) {
            let id_only = format!("\"response\":\"{}\"", x.activation_id());
            prop_assert!(shrunk.encode().contains(&id_only), "response is not the id alone");
        }
    }

    #[test]
    fn event_message_round_trips(x in event_message()) {
        check(&x)?;
    }

    #[test]
    fn ping_message_round_trips(x in ping_message()) {
        check(&x)?;
    }

    #[test]
    fn invoker_resource_message_round_trips(x in invoker_resource_message()) {
        check(&x)?;
    }

    #[test]
    fn scheduler_states_round_trip(x in scheduler_states()) {
        check(&x)?;
        let port_key = match x.endpoints.dialect {
            RemotingDialect::Pekko => "\"pekkoPort\":",
            RemotingDialect::Akka => "\"akkaPort\":",
        };
        prop_assert!(x.encode().contains(port_key));
    }

    #[test]
    fn scheduler_endpoints_round_trip(x in scheduler_endpoints()) {
        check(&x)?;
    }

    #[test]
    fn invoker_instance_id_round_trips(x in invoker_id()) {
        check(&x)?;
    }

    #[test]
    fn controller_instance_id_round_trips(x in controller_id()) {
        check(&x)?;
    }

    #[test]
    fn transaction_id_round_trips(x in transaction_id()) {
        check(&x)?;
    }

    #[test]
    fn activation_response_round_trips(x in activation_response()) {
        check(&x)?;
    }

    #[test]
    fn whisk_activation_round_trips(x in whisk_activation()) {
        check(&x)?;
    }

    #[test]
    fn activation_document_round_trips(x in activation_document()) {
        check(&x)?;
    }

    #[test]
    fn whisk_action_document_round_trips(x in action_document()) {
        check(&x)?;
    }

    #[test]
    fn exec_round_trips(x in exec()) {
        check(&x)?;
    }

    #[test]
    fn parameters_round_trip(x in parameters()) {
        check(&x)?;
    }

    #[test]
    fn init_request_round_trips(x in init_request()) {
        check(&x)?;
    }

    #[test]
    fn run_request_round_trips(x in run_request()) {
        check(&x)?;
    }

    #[test]
    fn fetch_response_round_trips(x in fetch_response()) {
        check(&x)?;
    }
}

// === normalizations the Scala semantics impose ===

fn set_member(v: &mut Value, key: &str, member: Value) {
    if let Value::Object(m) = v {
        m.insert(key.to_owned(), member);
    }
}

proptest! {
    #![proptest_config(config())]

    /// A stored `binary` flag is ignored for inline code: the base64 rule decides.
    #[test]
    fn inline_code_binary_flag_is_recomputed(x in exec(), flag in any::<bool>()) {
        let mut v = x.write();
        set_member(&mut v, "binary", Value::Bool(flag));
        let read = Exec::read(&v, Path::Root).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match (&x, &read) {
            (Exec::Code { code: CodeBody::Inline(c), .. }, Exec::Code { binary, .. })
            | (Exec::Blackbox { code: Some(CodeBody::Inline(c)), .. }, Exec::Blackbox { binary, .. }) => {
                prop_assert_eq!(*binary, is_binary_code(c), "code {:?}", c);
            }
            (Exec::Code { code: CodeBody::Attached(_), .. }, Exec::Code { binary, .. })
            | (Exec::Blackbox { code: Some(CodeBody::Attached(_)), .. }, Exec::Blackbox { binary, .. }) => {
                prop_assert_eq!(*binary, flag);
            }
            _ => prop_assert_eq!(&read, &x),
        }
    }

    /// Parameters are a map: a repeated key keeps its first position and its last value, and
    /// five or more entries are written in Scala `HashMap` order.
    #[test]
    fn parameters_are_read_as_a_scala_map(
        entries in vec((select(vec!["a", "b", "c", "d", "e", "f", "g"]), json_value()), 0..10),
    ) {
        let raw: Vec<Value> = entries
            .iter()
            .map(|(k, v)| serde_json::json!({ "key": k, "value": v }))
            .collect();
        let read = Parameters::read(&Value::Array(raw), Path::Root)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected = Parameters::from_pairs(entries.iter().map(|(k, v)| (*k, v.clone())));
        prop_assert_eq!(&read, &expected);
        for p in read.entries() {
            let last = entries.iter().rev().find(|(k, _)| *k == p.key).map(|(_, v)| v);
            prop_assert_eq!(Some(&p.value), last);
        }
        let keys: Vec<String> = read.entries().iter().map(|p| p.key.clone()).collect();
        if keys.len() >= 5 {
            prop_assert_eq!(keys.clone(), ow_compat::json::scala_hash_order(&keys));
        }
        check(&read)?;
    }

    /// Limits without `logs` or `concurrency` take the deployment's standard values.
    #[test]
    fn limits_fill_logs_and_concurrency_defaults(limits in action_limits()) {
        let v = serde_json::json!({ "memory": limits.memory_mb, "timeout": limits.timeout_ms });
        let read = ActionLimits::read(&v, Path::Root).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read.logs_mb, 10);
        prop_assert_eq!(read.concurrency, 1);
        prop_assert_eq!(read.instances, None);
        prop_assert_eq!((read.memory_mb, read.timeout_ms), (limits.memory_mb, limits.timeout_ms));
    }
}

/// Every creation error code survives a round trip, and the Scala reader's misspelling of
/// `NonExecutableActionError` is accepted.
#[test]
fn creation_acks_round_trip_with_every_error_code() {
    let mut runner = TestRunner::deterministic();
    let strategy = creation_ack_message();
    for error in CreationError::ALL {
        for _ in 0..8 {
            let mut ack = strategy
                .new_tree(&mut runner)
                .expect("a generated ack")
                .current();
            ack.error = Some(error);
            ack.reason = Some(format!("{} happened", error.name()));
            check(&ack).unwrap_or_else(|e| panic!("{error:?}: {e}"));
            let wire = format!("\"error\":\"{}\"", error.name());
            assert!(
                ack.encode().contains(&wire),
                "{error:?} is written as {wire}"
            );
        }
    }
    let misspelt =
        CreationError::read(&Value::String("NONEXECUTBLEACTIONERROR".into()), Path::Root);
    assert_eq!(misspelt, Ok(CreationError::NonExecutableActionError));
}

// === totality: arbitrary input never panics ===

const KEYS: &[&str] = &[
    "_id",
    "_rev",
    "action",
    "actionMetaData",
    "action_name",
    "action_version",
    "activationId",
    "activation_id",
    "akkaPort",
    "annotations",
    "api_key",
    "asString",
    "attachmentName",
    "attachmentType",
    "authkey",
    "binary",
    "binding",
    "blackboxes",
    "blocking",
    "body",
    "busyMemory",
    "cause",
    "causedBy",
    "code",
    "components",
    "concurrency",
    "conductor",
    "content",
    "count",
    "creationId",
    "deadline",
    "dedicatedNamespaces",
    "default",
    "digest",
    "displayedName",
    "duration",
    "encryption",
    "end",
    "endpoints",
    "entityType",
    "env",
    "error",
    "eventType",
    "exec",
    "freeMemory",
    "host",
    "image",
    "inProgressMemory",
    "init",
    "initArgs",
    "initTime",
    "initialCount",
    "instance",
    "instanceType",
    "instances",
    "invocationNamespace",
    "isEnabled",
    "isSystemError",
    "jar",
    "key",
    "kind",
    "length",
    "limits",
    "lockedArgs",
    "logs",
    "main",
    "memory",
    "message",
    "metricName",
    "metricValue",
    "name",
    "namespace",
    "parameters",
    "path",
    "pekkoPort",
    "prefix",
    "publish",
    "queueSize",
    "reason",
    "requireMain",
    "response",
    "result",
    "retryCount",
    "revision",
    "rights",
    "rootControllerIndex",
    "rootInvokerIndex",
    "rootSchedulerIndex",
    "rpcPort",
    "runtimes",
    "schedulerHost",
    "sid",
    "size",
    "source",
    "start",
    "status",
    "statusCode",
    "stemCells",
    "subject",
    "tag",
    "tags",
    "timeout",
    "timestamp",
    "traceContext",
    "transaction_id",
    "transid",
    "type",
    "uniqueName",
    "updated",
    "userDefinedStatusCode",
    "userId",
    "userMemory",
    "uuid",
    "value",
    "version",
    "waitTime",
    "whiskActionMetaData",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "a3f1c2e4b5d64e7f8a9b0c1d2e3f4a5b",
    "A3F1C2E4B5D64E7F8A9B0C1D2E3F4A5B",
    "guest",
    "guest/pkg",
    "/guest/pkg/name",
    "guest/hello@0.0.1",
    "nodejs:20",
    " NodeJS:Default ",
    "java:8",
    "blackbox",
    "sequence",
    "BLACKBOX",
    "invoker",
    "controller",
    "up",
    "down",
    "unhealthy",
    "256 MB",
    "2147483648 B",
    "12k",
    "0.0.1",
    "1",
    "1.2",
    "0.0.0",
    "-1.0.0",
    "READ",
    "activate",
    "aes-128",
    "SGVsbG8=",
    " SGVsbA== ",
    "2023-11-14T22:13:20.180Z",
    "1970-01-01T00:00:00Z",
    "NoActivationMessage",
    "NoMemoryQueue",
    "ActionMismatch",
    "WhiskError",
    "NONEXECUTBLEACTIONERROR",
    "sid_unknown",
    "Activation",
    "Metric",
    "action",
    "activation",
    "null",
    "\u{0}",
    "é\u{2028}",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "1.0",
    "1.5",
    "-0.0",
    "1e3",
    "1E+3",
    "-2500e-2",
    "0.0000001",
    "1.50",
    "0e999999",
    "123.456e-10",
    "65535",
    "65536",
    "-32769",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1e400",
    "1e-400",
    "1e2147483647",
    "1e2147483648",
    "1e-2147483648",
    "1.5e-2147483648",
    "1e40",
    "1e41",
    "1.0e-1",
    "340282366920938463463374607431768211456",
];

fn wild_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => select(NUMBERS).prop_map(|n| serde_json::from_str(n).expect("a JSON number")),
        1 => any::<i64>().prop_map(Value::from),
        3 => select(STRINGS).prop_map(|s| Value::String(s.to_owned())),
        1 => hex32().prop_map(Value::String),
        1 => text().prop_map(Value::String),
    ]
    .boxed()
}

fn wild_key() -> BoxedStrategy<String> {
    prop_oneof![4 => select(KEYS).prop_map(str::to_owned), 1 => text()].boxed()
}

fn wild_json() -> BoxedStrategy<Value> {
    json_tree(wild_leaf(), wild_key())
}

/// Valid documents of every family, as JSON trees.
fn valid_document() -> BoxedStrategy<Value> {
    prop_oneof![
        activation_message().prop_map(|x| x.write()),
        creation_message().prop_map(|x| x.write()),
        deletion_message().prop_map(|x| x.write()),
        creation_ack_message().prop_map(|x| x.write()),
        acknowledgement().prop_map(|x| x.write()),
        event_message().prop_map(|x| x.write()),
        ping_message().prop_map(|x| x.write()),
        invoker_resource_message().prop_map(|x| x.write()),
        scheduler_states().prop_map(|x| x.write()),
        invoker_id().prop_map(|x| x.write()),
        controller_id().prop_map(|x| x.write()),
        transaction_id().prop_map(|x| x.write()),
        whisk_activation().prop_map(|x| x.write()),
        activation_document().prop_map(|x| x.write()),
        action_document().prop_map(|x| x.write()),
        exec().prop_map(|x| x.write()),
        parameters().prop_map(|x| x.write()),
        init_request().prop_map(|x| x.write()),
        run_request().prop_map(|x| x.write()),
        fetch_response().prop_map(|x| x.write()),
    ]
    .boxed()
}

/// JSON pointers of every node of `v`, the root included.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(members) => {
            for (k, item) in members {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{escaped}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Replaces the node at `pointer` by `replacement`, or removes it when there is none.
fn mutate(v: &mut Value, pointer: &str, replacement: Option<Value>) {
    match replacement {
        Some(r) => {
            if let Some(node) = v.pointer_mut(pointer) {
                *node = r;
            }
        }
        None => {
            let Some((parent, last)) = pointer.rsplit_once('/') else {
                return;
            };
            let key = last.replace("~1", "/").replace("~0", "~");
            match v.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.shift_remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(i) = key.parse::<usize>()
                        && i < items.len()
                    {
                        items.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        every_type_is_total_and_stable(&bytes)?;
    }

    #[test]
    fn decoding_arbitrary_json_never_panics(v in wild_json()) {
        let bytes = serde_json::to_vec(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        every_type_is_total_and_stable(&bytes)?;
    }

    #[test]
    fn decoding_mutated_documents_never_panics(
        doc in valid_document(),
        at in any::<Index>(),
        replacement in prop::option::of(wild_json()),
    ) {
        let mut v = doc;
        let mut all = Vec::new();
        pointers(&v, String::new(), &mut all);
        let pointer = at.get(&all).clone();
        mutate(&mut v, &pointer, replacement);
        every_type_is_total_and_stable(compact(&v).as_bytes())?;
    }
}

/// The fast `ActivationMessage` reader may only give up, never disagree: whatever it accepts, the
/// tree reader accepts as the same value.
fn fast_reader_agrees(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Some(fast) = ow_compat::messages::decode_activation_fast(bytes) {
        let tree = ow_compat::codec::decode_tree::<ActivationMessage>(bytes);
        prop_assert_eq!(
            tree.as_ref().ok(),
            Some(&fast),
            "fast reader accepted what the tree reader sees as {:?}",
            tree
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_fast_activation_reader_takes_every_valid_message(x in activation_message()) {
        let encoded = x.encode();
        let fast = ow_compat::messages::decode_activation_fast(encoded.as_bytes());
        prop_assert_eq!(fast.as_ref(), Some(&x));
    }

    #[test]
    fn the_fast_activation_reader_agrees_on_mutated_messages(
        x in activation_message(),
        at in any::<Index>(),
        replacement in prop::option::of(wild_json()),
    ) {
        let mut v = parse_json(&x.encode())?;
        let mut all = Vec::new();
        pointers(&v, String::new(), &mut all);
        let pointer = at.get(&all).clone();
        mutate(&mut v, &pointer, replacement);
        fast_reader_agrees(compact(&v).as_bytes())?;
    }

    #[test]
    fn the_fast_activation_reader_agrees_on_arbitrary_json(v in wild_json()) {
        fast_reader_agrees(compact(&v).as_bytes())?;
    }
}

// === regressions: bugs these properties found, with the inputs that showed them ===

/// A whole-number field given a fraction with an exponent near `i64::MIN` must be rejected,
/// not overflow (`integer_text` computed `exp - frac.len()`, a debug-build panic).
#[test]
fn integer_with_minimal_exponent_is_an_error_not_a_panic() {
    let input = br#"{"activationId":"a3f1c2e4b5d64e7f8a9b0c1d2e3f4a5b","instance":{"asString":"c","instanceType":"controller"},"transid":["x",1.5e-9223372036854775808]}"#;
    let result = std::panic::catch_unwind(|| AcknowledgementMessage::decode(input));
    assert!(result.is_ok(), "decoding panicked");
}

/// An ISO-8601 instant far outside Java's `Instant` range must be rejected, not overflow
/// (`parse_rfc3339_millis` computed `days * 24 ...`, a debug-build panic).
#[test]
fn huge_iso_year_is_an_error_not_a_panic() {
    let input = br#"{"annotations":[],"exec":{"kind":"nodejs:20","code":"foo","binary":false},"limits":{"memory":256,"timeout":60000},"name":"a","namespace":"ns","parameters":[],"publish":false,"updated":"999999999999-01-01T00:00:00Z","version":"0.0.1"}"#;
    let result = std::panic::catch_unwind(|| WhiskActionDocument::decode(input));
    assert!(
        matches!(result, Ok(Err(_))),
        "decoding panicked or accepted the instant"
    );
}

/// Scala writes sequence components with `qualifiedNameWithLeadingSlash` (`/path/name`): no
/// version. Writing `@version` makes the name itself change on the next read.
#[test]
fn sequence_components_are_written_without_version() {
    let input = br#"{"kind":"sequence","components":[{"path":"ns/pkg","name":"b","version":"1"}]}"#;
    let exec = Exec::decode(input).expect("a sequence");
    let encoded = exec.encode();
    assert_eq!(encoded, r#"{"components":["/ns/pkg/b"],"kind":"sequence"}"#);
    assert_eq!(
        Exec::decode(encoded.as_bytes()).map(|e| e.encode()),
        Ok(encoded)
    );
}

/// `isBinaryCode` and the blank-code check trim with Java's `String.trim` (every character up
/// to U+0020), not Unicode whitespace.
#[test]
fn code_is_trimmed_like_java() {
    let binary = |code: &str| {
        let v = serde_json::json!({ "kind": "nodejs:20", "code": code });
        match Exec::read(&v, Path::Root) {
            Ok(Exec::Code { binary, .. }) => binary,
            other => panic!("{other:?}"),
        }
    };
    assert!(binary("\u{0}SGVsbA=="), "Java trims NUL");
    assert!(binary("SGVsbA==\u{1f}"), "Java trims U+001F");
    assert!(
        !binary("SGVsbA==\u{a0}"),
        "Java does not trim NO-BREAK SPACE"
    );
    assert!(
        !binary("\u{2028}SGVsbA=="),
        "Java does not trim LINE SEPARATOR"
    );
    let blackbox_code = |code: &str| {
        let v = serde_json::json!({ "kind": "blackbox", "image": "img", "code": code });
        match Exec::read(&v, Path::Root) {
            Ok(Exec::Blackbox { code, .. }) => code,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(blackbox_code("\u{1}"), None, "Java's trim makes it blank");
    assert!(blackbox_code("\u{a0}").is_some(), "Java's trim leaves it");
}
