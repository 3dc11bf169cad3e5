//! Polling with a deadline.
//!
//! ```no_run
//! # async fn f(client: &mut etcd_client::Client) -> anyhow::Result<()> {
//! use std::time::Duration;
//! use ow_system_tests::wait::{Attempt, wait_until};
//! wait_until(Duration::from_secs(5), "key k to disappear", || {
//!     let mut client = client.clone();
//!     async move {
//!         let kvs = client.get("k", None).await?.count();
//!         Ok(if kvs == 0 { Attempt::Done(()) } else { Attempt::pending(format!("{kvs} keys")) })
//!     }
//! })
//! .await
//! # }
//! ```

use std::fmt::{self, Debug, Display};
use std::future::Future;
use std::time::{Duration, Instant};

/// The outcome of one probe.
pub enum Attempt<T> {
    /// The awaited condition holds; `wait_until` returns this value.
    Done(T),
    /// Not yet; the text describes what was observed (shown if the wait times out).
    Pending(String),
}

impl<T> Debug for Attempt<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Done(_) => f.write_str("Done(..)"),
            Self::Pending(seen) => f.debug_tuple("Pending").field(seen).finish(),
        }
    }
}

impl<T> Attempt<T> {
    /// `Pending` with the `Debug` form of what was observed.
    pub fn pending(observed: impl Debug) -> Self {
        Self::Pending(format!("{observed:?}"))
    }

    /// `Done(value)` if `cond(&value)`, else `Pending` with the value's `Debug` form.
    pub fn check(value: T, cond: impl FnOnce(&T) -> bool) -> Self
    where
        T: Debug,
    {
        if cond(&value) {
            Self::Done(value)
        } else {
            Self::pending(value)
        }
    }
}

/// Calls `probe` until it answers [`Attempt::Done`] or `timeout` has passed.
///
/// Errors of `probe` are treated as "not yet" and recorded as the last observation (a service may be
/// briefly unavailable). Each call is cut short at the deadline. Probes are spaced from 10 ms up to
/// 200 ms. On timeout the error names `what`, the number of attempts and the last observation.
pub async fn wait_until<T, F, Fut>(
    timeout: Duration,
    what: impl Display,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Attempt<T>>>,
{
    let start = Instant::now();
    let deadline = start + timeout;
    let mut pause = Duration::from_millis(10);
    let mut attempts = 0u32;
    let mut last = String::from("nothing (no probe finished)");
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, probe()).await {
            Ok(Ok(Attempt::Done(v))) => return Ok(v),
            Ok(Ok(Attempt::Pending(seen))) => last = seen,
            Ok(Err(e)) => last = format!("error: {e:#}"),
            Err(_) => last = format!("a probe still running at the deadline (before it: {last})"),
        }
        let now = Instant::now();
        if now >= deadline {
            anyhow::bail!(
                "timed out after {:.1?} waiting for {what} ({attempts} attempts); last observed: {last}",
                now - start
            );
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_value_once_ready() -> anyhow::Result<()> {
        let mut n = 0;
        let got = wait_until(Duration::from_secs(2), "n to reach 3", || {
            n += 1;
            let v = n;
            async move { Ok(Attempt::check(v, |v| *v >= 3)) }
        })
        .await?;
        assert_eq!(got, 3);
        Ok(())
    }

    #[tokio::test]
    async fn names_what_and_the_last_observation_on_timeout() {
        let err = wait_until(Duration::from_millis(100), "the moon", || async {
            Ok::<_, anyhow::Error>(Attempt::<()>::pending("still cheese"))
        })
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("waiting for the moon"), "{err}");
        assert!(err.contains("last observed: \"still cheese\""), "{err}");
    }

    #[tokio::test]
    async fn errors_count_as_not_yet() {
        let err = wait_until(Duration::from_millis(50), "x", || async {
            Err::<Attempt<()>, _>(anyhow::anyhow!("connection refused"))
        })
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("error: connection refused"), "{err}");
    }
}
