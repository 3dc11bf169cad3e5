//! The health test action (spec 7.6): while the invoker is `unhealthy`, a dedicated container
//! runs `whisk.system/invokerHealthTestAction<N>` (an echo) in a loop, with no scheduler
//! involved and nothing acked or stored; every answered `/run` reports a success, so the ring
//! fills with successes and the invoker comes back `up`, which ends the loop. A container that
//! cannot be started or answered is retried after a pause.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ow_compat::messages::InvokerStatus;
use ow_compat::runtimes::RuntimesManifest;
use serde_json::json;
use tracing::Instrument;

use super::{Deps, Handle, report_health};
use crate::container_spec::{container_name, prewarm_spec};
use crate::outcome::HttpOutcome;
use crate::runtime::{ContainerRuntime, StartedContainer};

/// `MIN_MEMORY`, the test action's memory.
const TEST_MEMORY_MB: u64 = 128;
/// Time limit of the test action's `/init` and `/run`.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two test activations (stock runs them back to back; a short pause spares the host).
const BETWEEN_RUNS: Duration = Duration::from_millis(50);
/// Before another test container after one failed.
const RETRY: Duration = Duration::from_secs(2);
const ECHO: &str = "def main(args):\n    return args\n";

/// The runtime the test action runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRuntime {
    pub kind: String,
    pub image: String,
}

impl TestRuntime {
    /// Stock uses the default nodejs kind; this agent's echo is Python, so the default python
    /// kind of the manifest.
    pub fn from_manifest(m: &RuntimesManifest) -> Option<Self> {
        let k = m.resolve("python:default")?;
        Some(Self {
            kind: k.kind.clone(),
            image: k.image.reference(),
        })
    }
}

/// Starts the test loop unless one runs already.
pub fn start<D: Deps>(agent: &Handle<D>) {
    if agent.probing.swap(true, Ordering::AcqRel) {
        return;
    }
    let span = tracing::info_span!(parent: None, "health_probe");
    tokio::spawn(run(Arc::clone(agent)).instrument(span));
}

async fn run<D: Deps>(agent: Handle<D>) {
    match agent.health_runtime.clone() {
        Some(test) => probe_until_up(&agent, &test).await,
        None => {
            tracing::error!("no python runtime in the manifest; the health test action cannot run")
        }
    }
    agent.probing.store(false, Ordering::Release);
}

async fn probe_until_up<D: Deps>(agent: &Handle<D>, test: &TestRuntime) {
    while agent.status() == InvokerStatus::Unhealthy && !agent.shutdown.is_cancelled() {
        let name = container_name(
            &agent.config,
            &agent.boot,
            agent.next_name(),
            "whisk.system",
            &test_action_name(agent),
        );
        let spec = prewarm_spec(
            &agent.config,
            &test.kind,
            test.image.clone(),
            TEST_MEMORY_MB,
            name,
        );
        match agent.start_container(&spec).await {
            Ok(started) => {
                run_tests(agent, &started).await;
                if let Err(e) = agent.runtime.remove(&started.id).await {
                    tracing::warn!(error = %e, "health test container not removed; the next start removes it");
                }
            }
            Err(e) => tracing::warn!(error = %e, "health test container not started"),
        }
        if agent.status() == InvokerStatus::Unhealthy {
            tokio::time::sleep(RETRY).await;
        }
    }
    tracing::info!(status = ?agent.status(), "health test action stopped");
}

/// Initialises the echo, then runs it until the invoker is no longer unhealthy or a run fails.
async fn run_tests<D: Deps>(agent: &Handle<D>, started: &StartedContainer) {
    let action = test_action_name(agent);
    let init = json!({"value": {"name": action, "main": "main", "code": ECHO, "binary": false, "env": {}}});
    let answer = agent
        .http
        .init(&started.address, init.to_string(), TEST_TIMEOUT, 1 << 20)
        .await;
    if !answered_ok(&answer.outcome) {
        tracing::warn!(outcome = ?answer.outcome, "health test action /init failed");
        report_health(agent, false);
        return;
    }
    while agent.status() == InvokerStatus::Unhealthy && !agent.shutdown.is_cancelled() {
        let body = run_body(&action);
        let answer = agent
            .http
            .run(&started.address, body, TEST_TIMEOUT, 1 << 20)
            .await;
        let ok = answered_ok(&answer.outcome);
        report_health(agent, ok);
        if !ok {
            tracing::warn!(outcome = ?answer.outcome, "health test activation failed");
            return;
        }
        tokio::time::sleep(BETWEEN_RUNS).await;
    }
}

fn test_action_name<D: Deps>(agent: &Handle<D>) -> String {
    format!("invokerHealthTestAction{}", agent.config.instance)
}

fn run_body(action: &str) -> String {
    let deadline = crate::ids::epoch_millis() + TEST_TIMEOUT.as_millis() as i64;
    json!({
        "value": {},
        "namespace": "whisk.system",
        "action_name": format!("/whisk.system/{action}"),
        "action_version": "0.0.1",
        "activation_id": crate::ids::random_id(),
        "transaction_id": "sid_invokerHealth",
        "deadline": deadline.to_string(),
        "api_key": "",
    })
    .to_string()
}

fn answered_ok(outcome: &HttpOutcome) -> bool {
    matches!(outcome, HttpOutcome::Response { status: 200, .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_runtime_is_the_default_python_kind() {
        let m = RuntimesManifest::from_json(
            r#"{"runtimes":{"python":[{"kind":"python:3.10","default":true,"image":{"name":"ow-python-runtime","tag":"latest"}}]},"blackboxes":[]}"#,
        )
        .expect("manifest");
        let t = TestRuntime::from_manifest(&m).expect("a python kind");
        assert_eq!(t.kind, "python:3.10");
        assert_eq!(t.image, "ow-python-runtime:latest");
    }

    #[test]
    fn only_a_200_answer_is_healthy() {
        let ok = HttpOutcome::Response {
            status: 200,
            body: "{}".into(),
            truncated: None,
        };
        let bad = HttpOutcome::Response {
            status: 502,
            body: "{}".into(),
            truncated: None,
        };
        assert!(answered_ok(&ok));
        assert!(!answered_ok(&bad));
        assert!(!answered_ok(&HttpOutcome::Refused));
    }
}
