//! Names unique per test, so tests run in parallel (threads and processes) and again without cleanup.
//!
//! Form: `t<pid>_<counter>_<random>[_<tag>]`, lower-case ASCII letters, digits and `_` only. That is a
//! valid Kafka topic name, CouchDB database name (starts with a letter), etcd key segment and Docker
//! container name.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh name: `t<pid>_<counter>_<6 hex digits>`, then `_<tag>` (reduced to `[a-z0-9_]`) if given.
pub fn unique_name(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let mut name = format!("t{pid}_{n}_{:06x}", random24(n));
    let tag = sanitize(tag);
    if !tag.is_empty() {
        name.push('_');
        name.push_str(&tag);
    }
    name
}

/// A Kafka topic prefix (`whisk.kafka.topics.prefix`) for one test: `<unique name>_`.
pub fn topic_prefix(tag: &str) -> String {
    format!("{}_", unique_name(tag))
}

/// An etcd cluster name (`whisk.cluster.name`, the first key segment) for one test.
pub fn cluster_name(tag: &str) -> String {
    unique_name(tag)
}

/// A CouchDB database name for one test.
pub fn database_name(tag: &str) -> String {
    unique_name(tag)
}

/// 32 random lower-case hex digits: an activation id, a creation id or an attachment uuid.
pub fn hex_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}{:016x}",
        random64(n),
        random64(n.wrapping_add(1 << 63))
    )
}

fn sanitize(tag: &str) -> String {
    tag.chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn random24(n: u64) -> u64 {
    random64(n) & 0xff_ffff
}

/// 64 random bits: std's random hash keys (fresh per `RandomState`), mixed with the clock and `n`.
fn random64(n: u64) -> u64 {
    let mut h = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    h.write_u128(nanos);
    h.write_u64(n);
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_and_are_valid_everywhere() {
        let a = unique_name("Kafka Smoke!");
        let b = unique_name("Kafka Smoke!");
        assert_ne!(a, b);
        assert!(a.starts_with('t'));
        assert!(a.ends_with("_kafka_smoke_"));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
        assert!(topic_prefix("x").ends_with("_x_"));
        assert!(!unique_name("").ends_with('_'));
        let (x, y) = (hex_id(), hex_id());
        assert_ne!(x, y);
        assert_eq!(x.len(), 32);
        assert!(
            x.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
}
