//! Codec throughput: decode + encode (the scheduler's per-activation work), decode only and
//! encode only, for
//!
//! - `ActivationMessage` vectors 51 (binding, cause, trace context, locked and init args, nested
//!   transaction) and 50 (the basic one);
//! - a combined completion + result ack carrying a full `WhiskActivation` (vector 58's response,
//!   with vector 57's invoker `instance`), as an invoker sends it for a blocking activation.
//!
//! Throughput is reported in messages (elements) per second on one core.
//!
//! `cargo bench -p ow-compat --bench codec` (vectors from `../shared/spec`, or `$OW_SPEC_DIR`).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ow_compat::Codec;
use ow_compat::messages::{AcknowledgementMessage, ActivationMessage};

fn vector(number: &str) -> Vec<u8> {
    let dir = std::env::var_os("OW_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec"))
        .join("vectors");
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let path = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with(&format!("{number}-")) && name.ends_with(".json")
        })
        .unwrap_or_else(|| panic!("vector {number} not found in {}", dir.display()));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The compact encoding of a vector (what travels on Kafka).
fn compact_vector<T: Codec>(number: &str) -> Vec<u8> {
    let decoded = T::decode(&vector(number)).unwrap_or_else(|e| panic!("vector {number}: {e}"));
    decoded.encode().into_bytes()
}

/// `{"instance","isSystemError","response","transid"}` with the full record of vector 58 and the
/// invoker instance of vector 57.
fn combined_ack() -> Vec<u8> {
    let completion = AcknowledgementMessage::decode(&vector("57")).expect("vector 57");
    let result = AcknowledgementMessage::decode(&vector("58")).expect("vector 58");
    let (
        AcknowledgementMessage::Completion {
            instance,
            is_system_error,
            ..
        },
        AcknowledgementMessage::Result { transid, response },
    ) = (completion, result)
    else {
        panic!("vectors 57 and 58 are a completion and a result");
    };
    AcknowledgementMessage::Combined {
        transid,
        response,
        is_system_error,
        instance,
    }
    .encode()
    .into_bytes()
}

fn bench_type<T: Codec>(c: &mut Criterion, group_name: &str, bytes: &[u8]) {
    let value = T::decode(bytes).unwrap_or_else(|e| panic!("{group_name}: {e}"));
    assert_eq!(
        value.encode().as_bytes(),
        bytes,
        "{group_name}: the benchmark input is in canonical form"
    );
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode+encode", |b| {
        b.iter(|| {
            let v = T::decode(black_box(bytes)).expect("decodes");
            black_box(v.encode())
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| T::decode(black_box(bytes)).expect("decodes"))
    });
    group.bench_function("encode", |b| b.iter(|| black_box(&value).encode()));
    group.finish();
}

fn codec(c: &mut Criterion) {
    let full = compact_vector::<ActivationMessage>("51");
    let basic = compact_vector::<ActivationMessage>("50");
    let ack = combined_ack();
    bench_type::<ActivationMessage>(c, &format!("activation-51 ({} B)", full.len()), &full);
    bench_type::<ActivationMessage>(c, &format!("activation-50 ({} B)", basic.len()), &basic);
    bench_type::<AcknowledgementMessage>(c, &format!("combined-ack ({} B)", ack.len()), &ack);
}

criterion_group!(benches, codec);
criterion_main!(benches);
