//! A short live run against the real services (`tests/services/up`): our scheduler (debug
//! build, child process) with simulated invokers, 1 and 10 actions, a few closed-loop users;
//! every activation sent must get exactly one result and one completion.

#![allow(dead_code)]

#[path = "../src/costs.rs"]
mod costs;

#[path = "../src/results.rs"]
mod results;

#[path = "../src/live/mod.rs"]
mod live;

use std::time::Duration;

use live::procs::Profile;
use live::run::{RunSpec, run};
use live::warmup::Warmup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_activation_completes_exactly_once() {
    let out = std::env::temp_dir().join(format!("ow-bench-live-smoke-{}", std::process::id()));
    for actions in [1, 10] {
        let mut spec = RunSpec::simulated(4, actions, out.clone());
        spec.binaries = Profile::Debug;
        spec.invokers = 2;
        spec.warmup = Warmup::fixed(Duration::from_secs(2));
        spec.measure = Duration::from_secs(3);
        let o = run(&spec).await.unwrap_or_else(|e| {
            panic!("live run with {actions} actions: {e:#}; run tests/services/up")
        });
        let d = o.delivery;
        assert!(
            d.sent > 0 && o.result.completed > 0,
            "{actions} actions: nothing completed: {d:?}"
        );
        assert_eq!(d.exactly_once, d.sent, "{actions} actions: {d:?}");
        assert_eq!(
            d.unknown, 0,
            "{actions} actions: acks for unknown activations"
        );
        assert!(
            o.creations >= 1,
            "{actions} actions: no container was created"
        );
    }
}
