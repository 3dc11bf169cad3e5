//! Placement cases from the behaviour reference §4.3, plus the batch over-commit fix.

use proptest::prelude::*;

use super::*;

fn invoker(id: i32, free: i64) -> InvokerCandidate {
    InvokerCandidate {
        id,
        status: InvokerStatus::Up,
        free_memory_mb: free,
        tags: vec![],
        dedicated_namespaces: vec![],
    }
}

fn req(mem: i64) -> CreationRequest {
    CreationRequest {
        invocation_namespace: "guest".into(),
        memory_mb: mem,
        blackbox: false,
        required_tags: vec![],
        strict_tags: true,
    }
}

fn place(
    invokers: &[InvokerCandidate],
    reqs: &[CreationRequest],
) -> Vec<Result<i32, CreationError>> {
    schedule(invokers, reqs, Fractions::default(), &mut XorShift::new(7))
}

#[test]
fn a_batch_never_overcommits_an_invoker() {
    let invokers = [invoker(0, 512)];
    let got = place(&invokers, &[req(256), req(256), req(256)]);
    assert_eq!(
        got,
        vec![Ok(0), Ok(0), Err(CreationError::NoAvailableInvokersError)]
    );
}

#[test]
fn blackbox_actions_use_the_last_tenth_of_untagged_invokers() {
    let invokers: Vec<_> = (0..10).map(|i| invoker(i, 4096)).collect();
    let blackbox = CreationRequest {
        blackbox: true,
        ..req(256)
    };
    for r in place(&invokers, &vec![blackbox; 10]) {
        assert_eq!(r, Ok(9));
    }
    for r in place(&invokers, &vec![req(256); 20]) {
        assert!(matches!(r, Ok(i) if i < 9), "{r:?}");
    }
}

#[test]
fn a_single_invoker_serves_both_partitions() {
    let blackbox = CreationRequest {
        blackbox: true,
        ..req(256)
    };
    assert_eq!(
        place(&[invoker(3, 1024)], &[blackbox, req(256)]),
        vec![Ok(3), Ok(3)]
    );
}

#[test]
fn resource_tags_are_honoured() {
    let gpu = InvokerCandidate {
        tags: vec!["gpu".into()],
        ..invoker(1, 2048)
    };
    let invokers = [invoker(0, 2048), gpu];
    let wants_gpu = CreationRequest {
        required_tags: vec!["gpu".into()],
        ..req(256)
    };
    assert_eq!(
        place(&invokers, std::slice::from_ref(&wants_gpu)),
        vec![Ok(1)]
    );
    let wants_tpu = CreationRequest {
        required_tags: vec!["tpu".into()],
        ..req(256)
    };
    assert_eq!(
        place(&invokers, std::slice::from_ref(&wants_tpu)),
        vec![Err(CreationError::NoAvailableResourceInvokersError)]
    );
    let lenient = CreationRequest {
        strict_tags: false,
        ..wants_tpu
    };
    assert_eq!(place(&invokers, &[lenient]), vec![Ok(0)]);
    // Untagged actions fall back to tagged invokers only when no untagged one fits.
    assert_eq!(place(&invokers[1..], &[req(256)]), vec![Ok(1)]);
}

#[test]
fn dedicated_invokers_serve_only_their_namespaces() {
    let dedicated = InvokerCandidate {
        dedicated_namespaces: vec!["vip".into()],
        ..invoker(0, 2048)
    };
    assert_eq!(
        place(std::slice::from_ref(&dedicated), &[req(256)]),
        vec![Err(CreationError::NoAvailableInvokersError)]
    );
    let vip = CreationRequest {
        invocation_namespace: "vip".into(),
        ..req(256)
    };
    assert_eq!(place(&[dedicated], &[vip]), vec![Ok(0)]);
}

#[test]
fn unhealthy_invokers_are_skipped() {
    let sick = InvokerCandidate {
        status: InvokerStatus::Unhealthy,
        ..invoker(0, 2048)
    };
    assert_eq!(place(&[sick, invoker(1, 2048)], &[req(256)]), vec![Ok(1)]);
}

proptest! {
    #[test]
    fn reservations_never_exceed_free_memory(
        frees in prop::collection::vec(0i64..4096, 1..12),
        mems in prop::collection::vec(prop::sample::select(vec![128i64, 256, 512, 1024]), 1..40),
        seed in any::<u64>(),
    ) {
        let invokers: Vec<_> = frees.iter().enumerate().map(|(i, f)| invoker(i as i32, *f)).collect();
        let reqs: Vec<_> = mems.iter().map(|m| req(*m)).collect();
        let placed = schedule(&invokers, &reqs, Fractions::default(), &mut XorShift::new(seed));
        for inv in &invokers {
            let used: i64 = placed.iter().zip(&reqs).filter(|(p, _)| **p == Ok(inv.id)).map(|(_, r)| r.memory_mb).sum();
            prop_assert!(used <= inv.free_memory_mb, "invoker {} free {} got {}", inv.id, inv.free_memory_mb, used);
        }
    }
}
