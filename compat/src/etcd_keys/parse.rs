//! Per-kind parsers over the key text after `<c>/<root>/`; each returns the reason a key does
//! not fit. Patterns are matched segment by segment: the parts before the one multi-segment
//! part anchor at the front, the parts after it at the back, and it takes what is left.

use super::EtcdKey;
use Part::{Invoker, Lit, Many, One};

type Parsed = Result<EtcdKey, String>;

/// One element of a key pattern.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// This exact segment.
    Lit(&'static str),
    /// One non-empty segment, captured.
    One,
    /// At least this many non-empty segments, captured joined by `/`.
    Many(usize),
    /// One segment `invoker<N>`, `N` captured.
    Invoker,
}

/// The document id `path/name`.
const FQN: Part = Many(2);

fn capture_one(part: Part, segment: &str, captures: &mut Vec<String>) -> Option<()> {
    let captured = match part {
        Lit(lit) => return (segment == lit).then_some(()),
        One | Many(_) => segment,
        Invoker => segment.strip_prefix("invoker")?,
    };
    (!captured.is_empty()).then(|| captures.push(captured.to_owned()))
}

/// The captures of `tail` against `pattern`, or `None` if it does not fit.
fn capture<const N: usize>(tail: &str, pattern: &[Part]) -> Option<[String; N]> {
    let segments: Vec<&str> = tail.split('/').collect();
    let many_at = pattern.iter().position(|p| matches!(p, Many(_)));
    let fixed = pattern.len() - usize::from(many_at.is_some());
    let many_len = segments.len().checked_sub(fixed)?;
    let mut captures = Vec::with_capacity(N);
    let mut rest = segments.as_slice();
    for (i, part) in pattern.iter().enumerate() {
        if Some(i) == many_at {
            let (many, after) = rest.split_at_checked(many_len)?;
            let min = if let Many(min) = part { *min } else { 1 };
            if many.len() < min || many.iter().any(|s| s.is_empty()) {
                return None;
            }
            captures.push(many.join("/"));
            rest = after;
        } else {
            let (segment, after) = rest.split_first()?;
            capture_one(*part, segment, &mut captures)?;
            rest = after;
        }
    }
    if !rest.is_empty() {
        return None;
    }
    captures.try_into().ok()
}

fn expect<const N: usize>(
    tail: &str,
    pattern: &[Part],
    shape: &str,
) -> Result<[String; N], String> {
    capture(tail, pattern).ok_or_else(|| format!("expected {shape} after the root"))
}

fn rev(text: String) -> Option<String> {
    (text != "null").then_some(text)
}

fn invoker_id(text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("invoker id {text:?} is not an integer"))
}

pub(super) fn scheduler(tail: &str) -> Parsed {
    let [sid] = expect(tail, &[One], "<sid>")?;
    Ok(EtcdKey::Scheduler { sid })
}

pub(super) fn instance(tail: &str) -> Parsed {
    let [instance] = expect(tail, &[Many(1), Lit("lease")], "<instance>/lease")?;
    Ok(EtcdKey::InstanceLease { instance })
}

pub(super) fn queue(tail: &str) -> Parsed {
    if let Some([inv_ns, fqn]) = capture(tail, &[One, FQN, Lit("leader")]) {
        return Ok(EtcdKey::QueueLeader { inv_ns, fqn });
    }
    let shape = "<invNs>/<fqn>/leader or <invNs>/<fqn>/follower/<sid>";
    let [inv_ns, fqn, sid] = expect(tail, &[One, FQN, Lit("follower"), One], shape)?;
    Ok(EtcdKey::QueueFollower { inv_ns, fqn, sid })
}

pub(super) fn throttling(tail: &str) -> Parsed {
    if let Some([inv_ns]) = capture(tail, &[One]) {
        return Ok(EtcdKey::ThrottlingNamespace { inv_ns });
    }
    let [inv_ns, fqn] = expect(tail, &[One, FQN], "<invNs> or <invNs>/<fqn>")?;
    Ok(EtcdKey::ThrottlingAction { inv_ns, fqn })
}

pub(super) fn in_progress(tail: &str) -> Parsed {
    let job = [One, FQN, One, Lit("scheduler"), One, Lit("creationId"), One];
    if let Some([inv_ns, fqn, r, sid, creation_id]) = capture(tail, &job) {
        let rev = rev(r);
        return Ok(EtcdKey::InProgress {
            inv_ns,
            fqn,
            rev,
            sid,
            creation_id,
        });
    }
    let shape = "<invNs>/<fqn>/<rev>/scheduler/<sid>/creationId/<cid> or queue/<invNs>/<fqn>";
    let [inv_ns, fqn] = expect(tail, &[Lit("queue"), One, FQN], shape)?;
    Ok(EtcdKey::InProgressQueue { inv_ns, fqn })
}

pub(super) fn namespace_container(tail: &str) -> Parsed {
    let pattern = [One, FQN, One, Invoker, Lit("container"), One];
    let shape = "<invNs>/<fqn>/<rev>/invoker<N>/container/<containerId>";
    let [inv_ns, fqn, r, n, container_id] = expect(tail, &pattern, shape)?;
    let (rev, invoker) = (rev(r), invoker_id(&n)?);
    Ok(EtcdKey::NamespaceContainer {
        inv_ns,
        fqn,
        rev,
        invoker,
        container_id,
    })
}

pub(super) fn warmed_container(tail: &str) -> Parsed {
    let pattern = [One, FQN, One, Lit("invoker"), One, Lit("container"), One];
    let shape = "<invNs>/<fqn>/<rev>/invoker/<N>/container/<containerId>";
    let [inv_ns, fqn, r, n, container_id] = expect(tail, &pattern, shape)?;
    let (rev, invoker) = (rev(r), invoker_id(&n)?);
    Ok(EtcdKey::WarmedContainer {
        inv_ns,
        fqn,
        rev,
        invoker,
        container_id,
    })
}

/// Scala: `key.split("\\b/+")` must give 3, 4 or 5 parts; the third is the id.
pub(super) fn invoker(key: &str) -> Parsed {
    let parts = split_after_word(key);
    if !(3..=5).contains(&parts.len()) {
        let n = parts.len();
        return Err(format!("split on \\b/+ gives {n} segments, not 3 to 5"));
    }
    let name = |i: usize| parts.get(i).map(|s| (*s).to_owned());
    let id = invoker_id(parts.get(2).copied().unwrap_or_default())?;
    Ok(EtcdKey::Invoker {
        id,
        unique_name: name(3),
        displayed_name: name(4),
    })
}

/// The word-character test behind Java's `\b` up to JDK 18 (Unicode letters and digits,
/// `_`); JDK 19+ uses ASCII only, which differs only for non-ASCII names.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Java `String.split("\\b/+")`: a run of `/` splits only right after a word character;
/// trailing empty parts are dropped.
pub(super) fn split_after_word(key: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut prev_word, mut in_run) = (0, false, false);
    for (i, c) in key.char_indices() {
        if in_run && c == '/' {
            start = i + 1;
            continue;
        }
        in_run = false;
        if c == '/' && prev_word {
            parts.push(&key[start..i]);
            start = i + 1;
            in_run = true;
        }
        prev_word = is_word(c);
    }
    parts.push(&key[start..]);
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}
