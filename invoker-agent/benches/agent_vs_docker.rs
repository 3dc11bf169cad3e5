//! The agent beside bare Docker, side by side in one run, on the real engine with the real
//! `ow-python-runtime:latest` image:
//!
//! 1. cold: activation published → result ack, through our scheduler and the agent (a new action
//!    per iteration, so the agent creates a container, `/init`s and `/run`s), vs a bare
//!    `docker run --rm <image> python3 -c pass` (docker CLI);
//! 2. warm: the same with the container warm and serving, vs a direct `POST /run` (the agent's
//!    own `ActionClient`) to a container of the image after `/init`;
//! 3. pause+unpause: the agent's runtime edge (`DockerRuntime`, bollard) vs `docker pause` +
//!    `docker unpause` (CLI); and an activation that meets a paused container (its difference
//!    to a warm one is what resuming costs the agent).
//!
//! Scheduler and agent run in this process with the in-process bus, coordinator and store
//! (`LocalBus`, `MemoryCoordinator`, `MemoryStore`), so the figures are about the agent, our
//! scheduler and Docker, not Kafka, etcd or CouchDB. Every container is removed at the end;
//! leftovers of an interrupted run are removed at the next start (by label).
//!
//! Run: `cargo bench -p ow-invoker-agent --bench agent_vs_docker`.

#[path = "agent_vs_docker/rig.rs"]
mod rig;

use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use ow_invoker_agent::runtime::ContainerRuntime;
use rig::{IMAGE, Phases, Rig};

/// Untimed gap after each pause or unpause, see [`settled`].
const SETTLE: Duration = Duration::from_millis(100);

fn docker_cli(args: &[&str]) {
    let status = Command::new("docker")
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("docker {args:?} could not be started: {e}"));
    assert!(status.success(), "docker {args:?} failed: {status}");
}

fn cold(c: &mut Criterion, rig: &mut Rig) {
    let mut group = c.benchmark_group("cold");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("agent_activation", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // A new action each time: no container of it exists, warm or paused.
                let name = format!("cold{}", rig.next_id + 1);
                let rev = rig.put_action(&name);
                let (cold_before, _) = rig.counts();
                let (elapsed, phases) = rig.activate(&name, &rev);
                let created = rig.counts().0 - cold_before;
                assert!(created >= 1, "not a cold start");
                // The scheduler may ask for a second container while the first one starts.
                rig.extra_containers += created - 1;
                rig.record("cold/agent", elapsed);
                rig.phases.entry("cold").or_default().push(phases);
                total += elapsed;
                rig.remove_containers(&name, &rev);
            }
            total
        });
    });
    group.bench_function("bare_docker_run_rm", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                docker_cli(&[
                    "run", "--rm", "--memory", "256m", IMAGE, "python3", "-c", "pass",
                ]);
                let elapsed = started.elapsed();
                rig.record("cold/bare", elapsed);
                total += elapsed;
            }
            total
        });
    });
    group.finish();
}

/// Returns the revision of the action whose container is left warm.
/// Not a criterion pair: the steps of a cold start done by hand on the image (create and start
/// with bollard, `/init` until the proxy answers, first `/run`, removal), so the agent's cold
/// figure can be split into Docker, the runtime's own start, and the agent and scheduler.
fn cold_steps(rig: &mut Rig) {
    for i in 0..5 {
        let started = Instant::now();
        let c = rig.run_bare(&format!("steps{i}"));
        rig.record("steps/create_start", started.elapsed());
        let started = Instant::now();
        rig.init_bare(&c);
        rig.record("steps/init", started.elapsed());
        let started = Instant::now();
        rig.run_direct(&c);
        rig.record("steps/first_run", started.elapsed());
        let started = Instant::now();
        rig.remove_bare(&c);
        rig.record("steps/remove", started.elapsed());
    }
}

fn warm(c: &mut Criterion, rig: &mut Rig) -> String {
    let rev = rig.put_action("warm");
    rig.activate("warm", &rev); // cold, untimed: from here on the container serves
    let mut group = c.benchmark_group("warm");
    group
        .sample_size(30)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("agent_activation", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if rig.agent.pool(|p| p.counts().paused) > 0 {
                    rig.activate("warm", &rev); // paused between samples: wake it untimed
                }
                let before = rig.counts();
                let (elapsed, phases) = rig.activate("warm", &rev);
                assert_eq!(rig.counts(), before, "not a warm activation");
                rig.record("warm/agent", elapsed);
                rig.phases.entry("warm").or_default().push(phases);
                total += elapsed;
            }
            total
        });
    });
    let bare = rig.run_bare("warm");
    rig.init_bare(&bare);
    group.bench_function("bare_http_run", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                rig.run_direct(&bare);
                let elapsed = started.elapsed();
                rig.record("warm/bare", elapsed);
                total += elapsed;
            }
            total
        });
    });
    group.finish();
    rig.remove_bare(&bare);
    rev
}

/// `rev`: the revision of the action whose container the agent keeps.
fn pause(c: &mut Criterion, rig: &mut Rig, rev: &str) {
    let bare = rig.run_bare("pause");
    rig.init_bare(&bare);
    let mut group = c.benchmark_group("pause_unpause");
    group
        .sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("agent_runtime", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let rt = &rig.rt;
                let paused = settled(|| rt.block_on(rig.docker.pause(&bare.id)).expect("pause"));
                let unpaused =
                    settled(|| rt.block_on(rig.docker.unpause(&bare.id)).expect("unpause"));
                let elapsed = paused + unpaused;
                rig.record("pause/agent", elapsed);
                rig.record("pause/agent_unpause_only", unpaused);
                total += elapsed;
            }
            total
        });
    });
    group.bench_function("docker_cli", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let elapsed = settled(|| docker_cli(&["pause", &bare.id]))
                    + settled(|| docker_cli(&["unpause", &bare.id]));
                rig.record("pause/bare", elapsed);
                total += elapsed;
            }
            total
        });
    });
    group.finish();
    rig.remove_bare(&bare);
    paused_activation(c, rig, rev);
}

/// Times `op`, then lets the engine settle, untimed. Docker 20.10 also applies containerd's
/// pause and resume events to its state when they arrive, later; a pause right after an
/// unpause can be undone by the late resume event ("is not paused" on the next unpause). The
/// agent never pauses a container twice within milliseconds, so the bench does not either.
fn settled(op: impl FnOnce()) -> Duration {
    let started = Instant::now();
    op();
    let elapsed = started.elapsed();
    std::thread::sleep(SETTLE);
    elapsed
}

/// An activation that finds the action's only container paused: the scheduler asks for a
/// container, the agent resumes the paused one, which then fetches and runs.
fn paused_activation(c: &mut Criterion, rig: &mut Rig, rev: &str) {
    let mut group = c.benchmark_group("paused");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("agent_activation", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rig.wait_paused();
                // The container pauses just after one of the scheduler's decision ticks (the
                // long poll ends on a tick); arrive at a spread of phases of the 100 ms tick
                // rather than always at the same one.
                std::thread::sleep(Duration::from_millis(rig.next_id * 37 % 100));
                let (cold_before, resumes_before) = rig.counts();
                let (elapsed, phases) = rig.activate("warm", rev);
                assert_eq!(
                    rig.counts(),
                    (cold_before, resumes_before + 1),
                    "not a resume"
                );
                rig.record("paused/agent", elapsed);
                rig.phases.entry("paused").or_default().push(phases);
                total += elapsed;
            }
            total
        });
    });
    group.finish();
}

fn median_ms(s: &[Duration]) -> f64 {
    let mut v: Vec<f64> = s.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    median(&mut v)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn phase_medians(p: &[Phases]) -> (f64, f64, f64) {
    let pick = |f: fn(&Phases) -> f64| median(&mut p.iter().map(f).collect::<Vec<_>>());
    (pick(|p| p.wait), pick(|p| p.init), pick(|p| p.duration))
}

fn summary(rig: &Rig, wall: Duration) {
    let m = |k: &str| median_ms(rig.samples.get(k).map_or(&[][..], Vec::as_slice));
    let n = |k: &str| rig.samples.get(k).map_or(0, Vec::len);
    println!("\nagent vs bare Docker ({IMAGE}; medians of every timed iteration)");
    println!(
        "{:<34} {:>10} {:>10} {:>8}",
        "pair", "agent ms", "bare ms", "ratio"
    );
    let pairs = [
        ("cold: activation vs docker run --rm", "cold"),
        ("warm: activation vs POST /run", "warm"),
        ("pause+unpause: bollard vs CLI", "pause"),
    ];
    for (label, key) in pairs {
        let (a, b) = (m(&format!("{key}/agent")), m(&format!("{key}/bare")));
        println!(
            "{label:<34} {a:>10.1} {b:>10.1} {:>8.2}   (n={}/{})",
            a / b,
            n(&format!("{key}/agent")),
            n(&format!("{key}/bare"))
        );
    }
    let (paused, warm) = (m("paused/agent"), m("warm/agent"));
    println!(
        "activation on a paused container: {paused:.1} ms = warm + {:.1} ms (n={})",
        paused - warm,
        n("paused/agent")
    );
    println!(
        "cold steps by hand (n={}): create+start {:.1}, /init until the proxy answers {:.1}, \
         first /run {:.1}, remove {:.1}",
        n("steps/init"),
        m("steps/create_start"),
        m("steps/init"),
        m("steps/first_run"),
        m("steps/remove")
    );
    println!(
        "unpause alone through the runtime edge: {:.1}",
        m("pause/agent_unpause_only")
    );
    println!(
        "cold activations: {}; extra containers the scheduler asked for: {}",
        n("cold/agent"),
        rig.extra_containers
    );
    println!("phases from the result acks (medians, ms): waitTime / initTime / duration");
    for (key, p) in &rig.phases {
        let (w, i, d) = phase_medians(p);
        println!("  {key:<8} {w:>8.1} {i:>8.1} {d:>8.1}");
    }
    println!("bench wall time: {:.0} s", wall.as_secs_f64());
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn run_all(criterion: &mut Criterion, rig: &mut Rig) {
    // One untimed cold start first: image layers and the proxy's files are in the page cache.
    let rev = rig.put_action("prime");
    rig.activate("prime", &rev);
    rig.remove_containers("prime", &rev);
    cold(criterion, rig);
    cold_steps(rig);
    let warm_rev = warm(criterion, rig);
    pause(criterion, rig, &warm_rev);
}

fn main() {
    let started = Instant::now();
    let load_before = load_average();
    let mut criterion = Criterion::default().configure_from_args();
    let mut rig = Rig::start();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_all(&mut criterion, &mut rig);
    }));
    if let Err(panic) = outcome {
        rig.sweep();
        std::panic::resume_unwind(panic);
    }
    criterion.final_summary();
    summary(&rig, started.elapsed());
    println!(
        "load average (1/5/15 min) before: {load_before}; after: {}",
        load_average()
    );
    rig.stop();
}
