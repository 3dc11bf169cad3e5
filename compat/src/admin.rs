//! What the admin routes of both binaries share: the stock basic-auth check and 401 body
//! (`whisk.scheduler.username/password`, `whisk.invoker.username/password`), and the wait for
//! the signal that starts an ordered shutdown.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The stock message of a refused admin request.
pub const UNAUTHORIZED: &str =
    "Authentication is possible but has failed or not yet been provided.";

/// The `WWW-Authenticate` value the stock routes answer with.
pub const REALM: &str = "Basic realm=\"whisk rest service\"";

/// Whether an `Authorization` header value carries exactly `username:password`.
pub fn credentials_match(authorization: Option<&str>, username: &str, password: &str) -> bool {
    let given = authorization
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok());
    given.as_deref() == Some(format!("{username}:{password}").as_bytes())
}

/// The stock 401 body, with the transaction id `code`.
pub fn unauthorized_body(code: &str) -> String {
    format!("{{\n  \"code\": \"{code}\",\n  \"error\": \"{UNAUTHORIZED}\"\n}}")
}

/// Returns on Ctrl-C or, on Unix, SIGTERM (what the container runtime sends on stop).
#[cfg(any(feature = "etcd", feature = "kafka"))]
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_pair_matches() {
        let header = format!("Basic {}", STANDARD.encode("whisk.system:secret"));
        assert!(credentials_match(Some(&header), "whisk.system", "secret"));
        assert!(!credentials_match(Some(&header), "whisk.system", "other"));
        assert!(!credentials_match(
            Some("Basic !!!"),
            "whisk.system",
            "secret"
        ));
        assert!(!credentials_match(
            Some("Bearer x"),
            "whisk.system",
            "secret"
        ));
        assert!(!credentials_match(None, "whisk.system", "secret"));
    }

    #[test]
    fn the_refusal_names_the_transaction() {
        let body = unauthorized_body("abc");
        assert!(body.contains("\"code\": \"abc\"") && body.contains(UNAUTHORIZED));
    }
}
