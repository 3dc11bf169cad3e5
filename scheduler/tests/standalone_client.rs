//! A real OpenWhisk client against `ow-scheduler standalone`: the official Apache JavaScript
//! client (npm `openwhisk` 3.21.9, pinned by `tests/standalone-client/package-lock.json`) runs
//! `client.js` (create, invoke blocking and non-blocking, activation get/logs/result, delete).
//!
//! The `wsk` CLI would be the first choice, but the Go module proxy refuses
//! `github.com/apache/openwhisk-cli`; the test tries `go install` once and, when it is refused,
//! prints why and carries on with the JavaScript client.

mod standalone_support;

use std::path::PathBuf;
use std::process::Command;

use ow_scheduler::standalone::{GUEST_KEY, RuntimeChoice};
use standalone_support::{options, start};

/// The `wsk` release the test would use.
const WSK_MODULE: &str = "github.com/apache/openwhisk-cli@v0.0.0-20230713082937-a2eb3a2ec3bd";

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/standalone-client")
}

/// One attempt at installing `wsk`; the outcome is reported, never fatal.
fn try_wsk_install() {
    let out = Command::new("go")
        .args(["install", WSK_MODULE])
        .env("GOFLAGS", "-mod=mod")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            eprintln!("wsk: installed {WSK_MODULE} (the JS client runs anyway)")
        }
        Ok(o) => eprintln!(
            "wsk: go install {WSK_MODULE} refused ({}): {}; using the JavaScript client",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => eprintln!("wsk: go is not available ({e}); using the JavaScript client"),
    }
}

/// `npm ci` from the committed lock file, once per checkout.
fn install_client() {
    let dir = client_dir();
    if dir.join("node_modules/openwhisk/package.json").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("npm runs (Node.js is needed for this test)");
    assert!(status.success(), "npm ci in {} failed", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openwhisk_javascript_client_drives_standalone() {
    tokio::task::spawn_blocking(try_wsk_install)
        .await
        .expect("wsk attempt");
    tokio::task::spawn_blocking(install_client)
        .await
        .expect("client installed");
    let dir = tempfile::tempdir().expect("temp dir");
    let standalone = start(options(dir.path(), "jsclient", RuntimeChoice::Docker)).await;
    let apihost = format!("http://{}", standalone.api);
    let out = tokio::process::Command::new("node")
        .arg("client.js")
        .current_dir(client_dir())
        .env("OW_APIHOST", &apihost)
        .env("OW_AUTH", GUEST_KEY)
        .output()
        .await
        .expect("node runs");
    standalone.stop().await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "client.js failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("\"ok\":true"), "{stdout}");
}
