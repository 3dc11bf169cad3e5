//! `ow-scheduler standalone` driven over its REST API with a real HTTP client: the real
//! scheduler and agent in this process, actions in the `ow-python-runtime` image (Docker) or in
//! child processes (process runtime). Needs the Docker engine and the image
//! (`tests/services/up docker`, `tests/runtimes/build`).

mod standalone_support;

use base64::Engine as _;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use standalone_support::{Api, HELLO, Sweep, options, start};

use ow_scheduler::standalone::RuntimeChoice;

const RAISES: &str = "def main(args):\n    raise Exception('boom')\n";
const APP_ERROR: &str = "def main(args):\n    return {'error': 'not today'}\n";

/// A zip with `__main__.py` holding `main`, base64-encoded as the REST API takes it.
fn zipped_action() -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("__main__.py");
    std::fs::write(&src, "def main(args):\n    return {'zipped': True}\n").expect("write");
    let zip = dir.path().join("action.zip");
    let status = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.write(sys.argv[2], '__main__.py'); z.close()"])
        .arg(&zip)
        .arg(&src)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "zip built");
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(zip).expect("zip"))
}

async fn crud(api: &Api) {
    let created = api.put_action("hello", HELLO).await;
    assert_eq!(created["exec"]["kind"], "python:3.10");
    assert_eq!(created["version"], "0.0.1");
    let (status, err) = api
        .call(
            Method::PUT,
            "/namespaces/_/actions/hello",
            Some(json!({"exec": {"kind": "python:default", "code": HELLO}})),
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::CONFLICT, Some("resource already exists"))
    );
    assert!(err["code"].is_string());
    let body = json!({"exec": {"kind": "python:default", "code": HELLO}, "parameters": [{"key": "name", "value": "Param"}]});
    let (status, updated) = api
        .call(
            Method::PUT,
            "/namespaces/_/actions/hello?overwrite=true",
            Some(body),
        )
        .await;
    assert_eq!(
        (status, updated["version"].as_str()),
        (StatusCode::OK, Some("0.0.2"))
    );
    let (status, got) = api
        .call(Method::GET, "/namespaces/guest/actions/hello", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        got["parameters"],
        json!([{"key": "name", "value": "Param"}])
    );
    assert_eq!(got["exec"]["code"], HELLO);
    let zip = json!({"exec": {"kind": "python:default", "code": zipped_action(), "binary": true}});
    let (status, z) = api
        .call(Method::PUT, "/namespaces/_/actions/zipped", Some(zip))
        .await;
    assert_eq!(
        (status, z["exec"]["binary"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (_, list) = api
        .call(Method::GET, "/namespaces/_/actions?limit=1&skip=1", None)
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["name"], "zipped");
    assert_eq!(list[0]["exec"], json!({"binary": true}));
}

async fn invokes(api: &Api) {
    let (status, rec) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/hello?blocking=true",
            Some(json!({"name": "Dorothy"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    assert_eq!(
        rec["response"]["result"],
        json!({"greeting": "Hello Dorothy"})
    );
    assert_eq!(rec["response"]["success"], true);
    let (status, result) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/hello?blocking=true&result=true",
            None,
        )
        .await;
    assert_eq!(
        (status, result),
        (StatusCode::OK, json!({"greeting": "Hello Param"}))
    );
    let (status, z) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/zipped?blocking=true&result=true",
            None,
        )
        .await;
    assert_eq!((status, z), (StatusCode::OK, json!({"zipped": true})));
    let (status, accepted) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/hello",
            Some(json!({"name": "Toto"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = accepted["activationId"]
        .as_str()
        .expect("activation id")
        .to_owned();
    let record = api.record(&id).await;
    assert_eq!(
        record["response"]["result"],
        json!({"greeting": "Hello Toto"})
    );
    let (_, logs) = api
        .call(
            Method::GET,
            &format!("/namespaces/_/activations/{id}/logs"),
            None,
        )
        .await;
    let lines = logs["logs"].as_array().expect("logs");
    assert!(
        lines.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.ends_with("stdout: hello from Toto"))),
        "{logs}"
    );
    let (_, result) = api
        .call(
            Method::GET,
            &format!("/namespaces/_/activations/{id}/result"),
            None,
        )
        .await;
    assert_eq!(result["result"], json!({"greeting": "Hello Toto"}));
    assert_eq!(result["status"], "success");
    let (_, listed) = api
        .call(
            Method::GET,
            "/namespaces/_/activations?name=hello&limit=1",
            None,
        )
        .await;
    assert_eq!(listed[0]["activationId"], id.as_str());
    assert_eq!(listed[0]["statusCode"], 0);
}

async fn failures(api: &Api) {
    api.put_action("raises", RAISES).await;
    let (status, rec) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/raises?blocking=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{rec}");
    assert_eq!(rec["response"]["success"], false);
    api.put_action("apperror", APP_ERROR).await;
    let (status, result) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/apperror?blocking=true&result=true",
            None,
        )
        .await;
    assert_eq!(
        (status, result),
        (StatusCode::BAD_GATEWAY, json!({"error": "not today"}))
    );
}

async fn errors(api: &Api) {
    let (status, v) = api.call_as(None, "/namespaces/_/actions").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v["error"].is_string() && v["code"].is_string());
    let (status, _) = api
        .call_as(Some(("someone", "wrong")), "/namespaces/_/actions")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, v) = api
        .call(Method::GET, "/namespaces/_/actions/missing", None)
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some("The requested resource does not exist.")
        )
    );
    let (status, _) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/missing?blocking=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .call(
            Method::GET,
            "/namespaces/_/activations/0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = api
        .raw(Method::PUT, "/namespaces/_/actions/broken", "{\"exec\":")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = api
        .call(
            Method::PUT,
            "/namespaces/_/actions/nokind",
            Some(json!({"exec": {"kind": "cobol:1", "code": "x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let big = Value::String("x".repeat(1_100_000));
    let (status, v) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/hello",
            Some(json!({ "big": big })),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
}

async fn delete(api: &Api) {
    let (status, v) = api
        .call(Method::DELETE, "/namespaces/_/actions/zipped", None)
        .await;
    assert_eq!(
        (status, v["name"].as_str()),
        (StatusCode::OK, Some("zipped"))
    );
    let (status, _) = api
        .call(Method::GET, "/namespaces/_/actions/zipped", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .call(Method::DELETE, "/namespaces/_/actions/zipped", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rest_api_manages_and_invokes_actions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = options(dir.path(), "api", RuntimeChoice::Docker);
    let _sweep = Sweep::new(&opts);
    let standalone = start(opts).await;
    let api = Api::new(&standalone);
    let (status, info) = api.call(Method::GET, "", None).await;
    assert_eq!(
        (status, info["api_paths"].clone()),
        (StatusCode::OK, json!(["/api/v1"]))
    );
    crud(&api).await;
    invokes(&api).await;
    failures(&api).await;
    errors(&api).await;
    delete(&api).await;
    standalone.stop().await;
}

static HUNDRED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// 100 distinct actions invoked at once, blocking; those not done within the blocking timeout
/// answer 202 and are read from the store later. Every one must succeed.
async fn hundred_actions(runtime: RuntimeChoice, tag: &str) {
    // Two bursts of a hundred runtimes at once overload a 2-core CI machine; one at a time.
    let _one_burst = HUNDRED.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = options(dir.path(), tag, runtime);
    opts.user_memory_mb = 128 * 110;
    let _sweep = Sweep::new(&opts);
    let standalone = start(opts).await;
    let api = Api::new(&standalone);
    for i in 0..100 {
        let code = format!("def main(args):\n    return {{'n': {i}, 'echo': args.get('x')}}\n");
        api.put_action(&format!("a{i:03}"), &code).await;
    }
    let started = std::time::Instant::now();
    let calls = (0..100).map(|i| {
        let api = api.clone();
        async move {
            let path = format!("/namespaces/_/actions/a{i:03}?blocking=true");
            let (status, v) = api.call(Method::POST, &path, Some(json!({"x": i}))).await;
            let record = match status {
                StatusCode::OK => v,
                StatusCode::ACCEPTED => api.record(v["activationId"].as_str().expect("id")).await,
                other => panic!("a{i:03}: {other} {v}"),
            };
            assert_eq!(
                record["response"]["result"],
                json!({"n": i, "echo": i}),
                "a{i:03}"
            );
        }
    });
    join_all(calls).await;
    eprintln!(
        "{tag}: 100 distinct actions completed in {:?}",
        started.elapsed()
    );
    standalone.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_distinct_actions_complete_in_docker() {
    hundred_actions(RuntimeChoice::Docker, "docker100").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_distinct_actions_complete_as_processes() {
    hundred_actions(RuntimeChoice::Process, "process100").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn activation_records_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = options(dir.path(), "restart1", RuntimeChoice::Docker);
    let _sweep1 = Sweep::new(&opts);
    let first = start(opts).await;
    let api = Api::new(&first);
    api.put_action("kept", HELLO).await;
    let (status, rec) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/kept?blocking=true",
            Some(json!({"name": "Kept"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    let id = rec["activationId"].as_str().expect("id").to_owned();
    // The record with its logs is written after the blocking answer.
    let before = api.record(&id).await;
    first.stop().await;

    let opts = options(dir.path(), "restart2", RuntimeChoice::Docker);
    let _sweep2 = Sweep::new(&opts);
    let second = start(opts).await;
    let api = Api::new(&second);
    let (status, after) = api
        .call(
            Method::GET,
            &format!("/namespaces/_/activations/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["response"], before["response"]);
    let (status, action) = api
        .call(Method::GET, "/namespaces/_/actions/kept", None)
        .await;
    assert_eq!(
        (status, action["name"].as_str()),
        (StatusCode::OK, Some("kept"))
    );
    let (status, result) = api
        .call(
            Method::POST,
            "/namespaces/_/actions/kept?blocking=true&result=true",
            Some(json!({"name": "Again"})),
        )
        .await;
    assert_eq!(
        (status, result),
        (StatusCode::OK, json!({"greeting": "Hello Again"}))
    );
    second.stop().await;
}
