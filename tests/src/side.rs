//! Async cleanup from `Drop`: runs a future to completion on a thread of its own with a fresh
//! current-thread runtime, so it works whether or not the dropping thread is inside a runtime, and
//! finishes before the test process can exit. Clients must be created inside the future (their
//! connections belong to the runtime that made them).

use std::future::Future;
use std::time::Duration;

/// Runs `make()`'s future on a side thread and waits for it, at most `limit`. Returns its output, or
/// `None` if it did not finish in time (the thread is then left to finish on its own).
pub(crate) fn block_on_side<F, Fut, T>(limit: Duration, make: F) -> Option<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("ow-test-cleanup".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                let out = rt.block_on(async move { tokio::time::timeout(limit, make()).await });
                if let Ok(out) = out {
                    let _ = tx.send(out);
                }
            }
        });
    spawned.ok()?;
    rx.recv_timeout(limit + Duration::from_secs(1)).ok()
}
