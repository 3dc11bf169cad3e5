//! Whole-run properties of both designs.

use super::*;

fn small(users: u32, actions: u32, costs: Costs) -> ModelConfig {
    ModelConfig {
        warmup_s: 0.0,
        seconds: 3.0,
        ..ModelConfig::new(users, actions, costs)
    }
}

#[test]
fn every_request_completes_exactly_once() {
    for design in [Design::Old, Design::New] {
        for (users, actions) in [(10, 1), (30, 7), (200, 100)] {
            let cfg = small(users, actions, Costs::talk());
            let rec = match design {
                Design::Old => old::simulate(&cfg),
                Design::New => new::simulate(&cfg),
            };
            // A closed-loop user always has exactly one activation in flight: every other one
            // sent has completed, once.
            assert_eq!(
                rec.sent - rec.completed,
                u64::from(users),
                "{design:?} {users}×{actions}"
            );
            assert!(rec.completed > 0, "{design:?} {users}×{actions}");
        }
    }
}

#[test]
fn runs_are_deterministic_per_seed() {
    let cfg = small(50, 10, Costs::measured());
    for design in [Design::Old, Design::New] {
        let (a, b) = (run(design, &cfg), run(design, &cfg));
        assert_eq!((a.completed, a.creations), (b.completed, b.creations));
        assert_eq!(a.latencies_ms, b.latencies_ms);
    }
}

#[test]
fn one_warm_action_runs_at_the_path_latency() {
    // The stock rule's first burst gives every user a container, so nothing queues and the
    // latency is the path's alone (the default rule settles with fewer and a short queue).
    let cfg = ModelConfig {
        warmup_s: 5.0,
        seconds: 2.0,
        policy: ow_scheduler::decision::PolicyKind::Stock,
        ..ModelConfig::new(10, 1, Costs::talk())
    };
    let c = cfg.costs;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let old_path = 2.0 * c.kafka_hop_mean_ms + c.run_http_ms + 2.0;
    let floor = 2.0 * c.kafka_hop_min_ms + c.run_http_ms + 2.0;
    let r = run(Design::Old, &cfg);
    assert!(
        (mean(&r.latencies_ms) - old_path).abs() < 0.05,
        "old warm path"
    );
    assert!(r.latencies_ms.iter().all(|&l| l >= floor - 0.001));
    assert_eq!(r.cold_starts, 0);
    let r = run(Design::New, &cfg);
    let new_path = old_path + c.grpc_rtt_ms / 2.0;
    assert!(
        (mean(&r.latencies_ms) - new_path).abs() < 0.05,
        "new warm path"
    );
}

#[test]
fn exec_time_parses_its_three_forms() {
    assert_eq!(ExecTime::parse("2"), Some(ExecTime::Fixed(2.0)));
    assert_eq!(ExecTime::parse("1..20"), Some(ExecTime::Uniform(1.0, 20.0)));
    assert_eq!(ExecTime::parse("exp:5"), Some(ExecTime::Exponential(5.0)));
    assert_eq!(ExecTime::parse("20..1"), None);
    assert_eq!(ExecTime::parse("-3"), None);
    assert_eq!(ExecTime::parse("fast"), None);
    let mut rng = SplitMix64::new(9);
    let mean = (0..20_000)
        .map(|_| ExecTime::Exponential(5.0).draw(&mut rng))
        .sum::<f64>()
        / 20_000.0;
    assert!((mean - 5.0).abs() < 0.3);
}

#[test]
fn the_first_bursts_single_containers_stop_capping_ten_actions_after_pause_grace() {
    // 200 users fill the cluster in the first burst and leave the last actions one container.
    // Every action gets the same rate, so one container each would cap the closed loop at
    // 10 / (gRPC + /run + 2 ms) = 3,704 TPS; that was the figure for good while containers could
    // not pause. After pause-grace (10 s) the idle surplus of the others is evicted for them.
    let cfg = ModelConfig {
        warmup_s: 15.0,
        seconds: 2.0,
        ..ModelConfig::new(200, 10, Costs::talk())
    };
    let c = cfg.costs;
    let one_container_each = 10.0 * 1000.0 / (c.grpc_rtt_ms + c.run_http_ms + 2.0);
    let tps = run(Design::New, &cfg).tps;
    assert!(tps > 3.0 * one_container_each, "200×10 {tps:.0} TPS");
}
