//! The etcd key catalog (spec 5.3): builders for every key and prefix the Scala scheduler,
//! invoker and controller read or write, and a parser that tells the kinds apart.
//!
//! Arguments are plain text so this module stands on its own: `inv_ns` is the invocation
//! namespace, `fqn` the document id `path/name` of the action **without version and binding**
//! (`guest/hello`, `whisk.system/utils/echo`), `rev` the document revision (`None` renders as
//! `null`, like Scala interpolating an empty `DocRevision`).
//!
//! Because `fqn` contains `/`, the parser anchors on the fixed tokens around it (`leader`,
//! `scheduler/<sid>/creationId/<cid>`, `invoker<N>/container/<id>`,
//! `invoker/<N>/container/<id>`) and on the facts that namespaces, revisions, scheduler ids
//! and container ids never contain `/`: the segments before the fqn are counted from the
//! front, those after it from the back, and the fqn takes the rest (at least two segments).
//! Keys that remain ambiguous are resolved as documented on [`Cluster::parse`].

use std::fmt;

/// The first key segment when `whisk.cluster.name` is not configured.
pub const DEFAULT_CLUSTER_NAME: &str = "whisk";

/// An etcd key that does not fit the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdKeyError {
    /// The key does not start with `<cluster>/`.
    #[error("etcd key {key:?} is not under cluster {cluster:?}")]
    NotInCluster {
        /// The key.
        key: String,
        /// The cluster name expected as first segment.
        cluster: String,
    },
    /// The second segment names no known kind of key.
    #[error("etcd key {key:?} is of no known kind")]
    UnknownKind {
        /// The key.
        key: String,
    },
    /// The kind is known but the rest of the key does not fit its pattern.
    #[error("etcd {kind} key {key:?} is malformed: {reason}")]
    Malformed {
        /// The key.
        key: String,
        /// Which kind the key was read as, e.g. `in-progress`.
        kind: &'static str,
        /// What did not fit.
        reason: String,
    },
}

/// The three families of per-container keys; each is counted by etcd range over a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    /// `in-progress`: a creation job of a scheduler, until the invoker acks it.
    InProgress,
    /// `namespace`: a running container whose gRPC client is connected.
    Namespace,
    /// `warmed`: a paused container.
    Warmed,
}

impl ContainerKind {
    /// The key segment after the cluster name.
    pub fn segment(self) -> &'static str {
        match self {
            Self::InProgress => "in-progress",
            Self::Namespace => "namespace",
            Self::Warmed => "warmed",
        }
    }
}

/// A key of the catalog with its parts; [`Cluster::render`] writes it back. Each variant's
/// pattern names its fields; `rev: None` stands for the text `null`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EtcdKey {
    /// `<c>/scheduler/<sid>`: the scheduler's `SchedulerStates`.
    Scheduler { sid: String },
    /// `<c>/instance/<instance>/lease`: the owner's lease id; `instance` is the id's
    /// `toString` (`scheduler0`, `invoker0`, `invoker0/<uniqueName>`, ...).
    InstanceLease { instance: String },
    /// `<c>/queue/<inv_ns>/<fqn>/leader`: the queue leader's `SchedulerEndpoints`.
    QueueLeader { inv_ns: String, fqn: String },
    /// `<c>/queue/<inv_ns>/<fqn>/follower/<sid>`: never written upstream.
    QueueFollower {
        inv_ns: String,
        fqn: String,
        sid: String,
    },
    /// `<c>/throttling/<inv_ns>`: `"true"`/`"false"`.
    ThrottlingNamespace { inv_ns: String },
    /// `<c>/throttling/<inv_ns>/<fqn>`: `"true"`/`"false"`.
    ThrottlingAction { inv_ns: String, fqn: String },
    /// `<c>/in-progress/<inv_ns>/<fqn>/<rev>/scheduler/<sid>/creationId/<creation_id>`: a
    /// creation job, until the invoker acks it.
    InProgress {
        inv_ns: String,
        fqn: String,
        rev: Option<String>,
        sid: String,
        creation_id: String,
    },
    /// `<c>/in-progress/queue/<inv_ns>/<fqn>`: never written upstream.
    InProgressQueue { inv_ns: String, fqn: String },
    /// `<c>/namespace/<inv_ns>/<fqn>/<rev>/invoker<invoker>/container/<container_id>`: a
    /// running container.
    NamespaceContainer {
        inv_ns: String,
        fqn: String,
        rev: Option<String>,
        invoker: u32,
        container_id: String,
    },
    /// `<c>/warmed/<inv_ns>/<fqn>/<rev>/invoker/<invoker>/container/<container_id>`: a paused
    /// container.
    WarmedContainer {
        inv_ns: String,
        fqn: String,
        rev: Option<String>,
        invoker: u32,
        container_id: String,
    },
    /// `<c>/invokers/<id>[/<unique_name>[/<displayed_name>]]`: the `InvokerResourceMessage`.
    Invoker {
        id: u32,
        unique_name: Option<String>,
        displayed_name: Option<String>,
    },
}

/// The key space of one OpenWhisk deployment (`whisk.cluster.name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cluster {
    name: String,
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new(DEFAULT_CLUSTER_NAME)
    }
}

/// Revision text as Scala interpolates a `DocRevision`.
fn rev_text(rev: Option<&str>) -> &str {
    rev.unwrap_or("null")
}

impl Cluster {
    /// A cluster named `name` (ansible lower-cases it; no other rule applies).
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// The cluster name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<c>/<segment>/<rest>`.
    fn under(&self, segment: &str, rest: fmt::Arguments<'_>) -> String {
        format!("{}/{segment}/{rest}", self.name)
    }

    // The roots below have no trailing `/`: they are exactly what Scala watches with
    // `startsWith` (so they also match e.g. `<c>/schedulerX`; a Rust watcher may append `/`).

    /// `<c>/scheduler`.
    pub fn scheduler_prefix(&self) -> String {
        format!("{}/scheduler", self.name)
    }

    /// `<c>/queue`.
    pub fn queue_prefix(&self) -> String {
        format!("{}/queue", self.name)
    }

    /// `<c>/throttling`.
    pub fn throttling_prefix(&self) -> String {
        format!("{}/throttling", self.name)
    }

    /// `<c>/invokers`.
    pub fn invokers_prefix(&self) -> String {
        format!("{}/invokers", self.name)
    }

    /// `<c>/in-progress`, `<c>/namespace` or `<c>/warmed`.
    pub fn container_root(&self, kind: ContainerKind) -> String {
        format!("{}/{}", self.name, kind.segment())
    }

    /// `<c>/scheduler/<sid>`.
    pub fn scheduler(&self, sid: &str) -> String {
        self.under("scheduler", format_args!("{sid}"))
    }

    /// `<c>/instance/<instance>/lease`; `instance` is the id's `toString` (`scheduler0`,
    /// `invoker0/<uniqueName>/<displayedName>`, ...).
    pub fn instance_lease(&self, instance: &str) -> String {
        self.under("instance", format_args!("{instance}/lease"))
    }

    /// `<c>/queue/<invNs>/<fqn>/leader`.
    pub fn queue_leader(&self, inv_ns: &str, fqn: &str) -> String {
        self.under("queue", format_args!("{inv_ns}/{fqn}/leader"))
    }

    /// `<c>/queue/<invNs>/<fqn>/follower/<sid>` (never written upstream).
    pub fn queue_follower(&self, inv_ns: &str, fqn: &str, sid: &str) -> String {
        self.under("queue", format_args!("{inv_ns}/{fqn}/follower/{sid}"))
    }

    /// `<c>/throttling/<invNs>`.
    pub fn throttling_namespace(&self, inv_ns: &str) -> String {
        self.under("throttling", format_args!("{inv_ns}"))
    }

    /// `<c>/throttling/<invNs>/<fqn>`.
    pub fn throttling_action(&self, inv_ns: &str, fqn: &str) -> String {
        self.under("throttling", format_args!("{inv_ns}/{fqn}"))
    }

    /// `<c>/<kind>/<invNs>/`: per-namespace counts (ContainerCounter).
    pub fn container_prefix_for_namespace(&self, kind: ContainerKind, inv_ns: &str) -> String {
        self.under(kind.segment(), format_args!("{inv_ns}/"))
    }

    /// `<c>/<kind>/<invNs>/<fqn>/`: every revision of an action. Like Scala's, it also covers
    /// the actions of a *package* with that doc id (`guest/hello/x`).
    pub fn container_prefix_for_docid(
        &self,
        kind: ContainerKind,
        inv_ns: &str,
        fqn: &str,
    ) -> String {
        self.under(kind.segment(), format_args!("{inv_ns}/{fqn}/"))
    }

    /// `<c>/<kind>/<invNs>/<fqn>/<rev>/`: one action revision (MemoryQueue counts).
    pub fn container_prefix_for_action(
        &self,
        kind: ContainerKind,
        inv_ns: &str,
        fqn: &str,
        rev: Option<&str>,
    ) -> String {
        let rev = rev_text(rev);
        self.under(kind.segment(), format_args!("{inv_ns}/{fqn}/{rev}/"))
    }

    /// `<c>/in-progress/<invNs>/<fqn>/<rev>/`: in-progress creations of one action revision.
    pub fn in_progress_prefix_for_action(
        &self,
        inv_ns: &str,
        fqn: &str,
        rev: Option<&str>,
    ) -> String {
        self.container_prefix_for_action(ContainerKind::InProgress, inv_ns, fqn, rev)
    }

    /// `<c>/in-progress/<invNs>/<fqn>/<rev>/scheduler/<sid>/creationId/<cid>`.
    pub fn in_progress(
        &self,
        inv_ns: &str,
        fqn: &str,
        rev: Option<&str>,
        sid: &str,
        creation_id: &str,
    ) -> String {
        let prefix = self.in_progress_prefix_for_action(inv_ns, fqn, rev);
        format!("{prefix}scheduler/{sid}/creationId/{creation_id}")
    }

    /// `<c>/in-progress/queue/<invNs>/<fqn>` (never written upstream).
    pub fn in_progress_queue(&self, inv_ns: &str, fqn: &str) -> String {
        self.under("in-progress", format_args!("queue/{inv_ns}/{fqn}"))
    }

    /// `<c>/namespace/<invNs>/<fqn>/<rev>/invoker<N>/`: one invoker's running containers.
    pub fn namespace_container_prefix_for_invoker(
        &self,
        inv_ns: &str,
        fqn: &str,
        rev: Option<&str>,
        invoker: u32,
    ) -> String {
        let prefix = self.container_prefix_for_action(ContainerKind::Namespace, inv_ns, fqn, rev);
        format!("{prefix}invoker{invoker}/")
    }

    /// `<c>/namespace/<invNs>/<fqn>/<rev>/invoker<N>/container/<id>` — `invoker<N>`, no slash.
    pub fn namespace_container(
        &self,
        inv_ns: &str,
        fqn: &str,
        rev: Option<&str>,
        invoker: u32,
        container_id: &str,
    ) -> String {
        let prefix = self.namespace_container_prefix_for_invoker(inv_ns, fqn, rev, invoker);
        format!("{prefix}container/{container_id}")
    }

    /// `<c>/warmed/<invNs>/<fqn>/<rev>/invoker/<N>/container/<id>` — `invoker/<N>`, with slash.
    pub fn warmed_container(
        &self,
        inv_ns: &str,
        fqn: &str,
        rev: Option<&str>,
        invoker: u32,
        container_id: &str,
    ) -> String {
        let prefix = self.container_prefix_for_action(ContainerKind::Warmed, inv_ns, fqn, rev);
        format!("{prefix}invoker/{invoker}/container/{container_id}")
    }

    /// `<c>/invokers/<N>[/<uniqueName>[/<displayedName>]]`. As in Scala, a displayed name is
    /// written only together with a unique name (alone it could not be told apart).
    pub fn invoker(
        &self,
        id: u32,
        unique_name: Option<&str>,
        displayed_name: Option<&str>,
    ) -> String {
        match (unique_name, displayed_name) {
            (Some(u), Some(d)) => self.under("invokers", format_args!("{id}/{u}/{d}")),
            (Some(u), None) => self.under("invokers", format_args!("{id}/{u}")),
            (None, _) => self.under("invokers", format_args!("{id}")),
        }
    }

    /// Writes `key` as text; `parse(render(k)) == k` for every key `parse` produces.
    pub fn render(&self, key: &EtcdKey) -> String {
        match key {
            EtcdKey::Scheduler { sid } => self.scheduler(sid),
            EtcdKey::InstanceLease { instance } => self.instance_lease(instance),
            EtcdKey::QueueLeader { inv_ns, fqn } => self.queue_leader(inv_ns, fqn),
            EtcdKey::QueueFollower { inv_ns, fqn, sid } => self.queue_follower(inv_ns, fqn, sid),
            EtcdKey::ThrottlingNamespace { inv_ns } => self.throttling_namespace(inv_ns),
            EtcdKey::ThrottlingAction { inv_ns, fqn } => self.throttling_action(inv_ns, fqn),
            EtcdKey::InProgress {
                inv_ns,
                fqn,
                rev,
                sid,
                creation_id,
            } => self.in_progress(inv_ns, fqn, rev.as_deref(), sid, creation_id),
            EtcdKey::InProgressQueue { inv_ns, fqn } => self.in_progress_queue(inv_ns, fqn),
            EtcdKey::NamespaceContainer {
                inv_ns,
                fqn,
                rev,
                invoker,
                container_id,
            } => self.namespace_container(inv_ns, fqn, rev.as_deref(), *invoker, container_id),
            EtcdKey::WarmedContainer {
                inv_ns,
                fqn,
                rev,
                invoker,
                container_id,
            } => self.warmed_container(inv_ns, fqn, rev.as_deref(), *invoker, container_id),
            EtcdKey::Invoker {
                id,
                unique_name,
                displayed_name,
            } => self.invoker(*id, unique_name.as_deref(), displayed_name.as_deref()),
        }
    }

    /// Recognises a key of this cluster and extracts its parts.
    ///
    /// Ambiguities, resolved as stated:
    /// - `.../follower/leader` is read as the leader key of an fqn ending in `follower`;
    /// - `<c>/in-progress/queue/...` is a creation job (of namespace `queue`) when it has the
    ///   `/scheduler/<sid>/creationId/<cid>` tail, else the in-progress-queue key;
    /// - the revision text `null` is read as "no revision";
    /// - invoker keys are split like Scala's `split("\\b/+")` over the **whole** key: a `/`
    ///   right after a non-word character does not split and stays inside a name, and a
    ///   cluster name containing `/` or ending in a non-word character breaks them, as in Scala.
    pub fn parse(&self, key: &str) -> Result<EtcdKey, EtcdKeyError> {
        let rest = key
            .strip_prefix(self.name.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| EtcdKeyError::NotInCluster {
                key: key.to_owned(),
                cluster: self.name.clone(),
            })?;
        let unknown = || EtcdKeyError::UnknownKind {
            key: key.to_owned(),
        };
        let (segment, tail) = rest.split_once('/').ok_or_else(unknown)?;
        let (kind, parsed) = match segment {
            "scheduler" => ("scheduler", parse::scheduler(tail)),
            "instance" => ("instance", parse::instance(tail)),
            "queue" => ("queue", parse::queue(tail)),
            "throttling" => ("throttling", parse::throttling(tail)),
            "in-progress" => ("in-progress", parse::in_progress(tail)),
            "namespace" => ("namespace", parse::namespace_container(tail)),
            "warmed" => ("warmed", parse::warmed_container(tail)),
            "invokers" => ("invokers", parse::invoker(key)),
            _ => return Err(unknown()),
        };
        parsed.map_err(|reason| EtcdKeyError::Malformed {
            key: key.to_owned(),
            kind,
            reason,
        })
    }
}

/// Per-kind parsers over the key text after `<c>/<root>/`; each returns the reason a key does
/// not fit. Patterns are matched segment by segment: the parts before the one multi-segment
/// part anchor at the front, the parts after it at the back, and it takes what is left.
mod parse {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    const V69: &str = include_str!("../../../shared/spec/vectors/69-etcd-key-catalog.json");
    const V90: &str =
        include_str!("../../../shared/spec/vectors/90-etcd-queue-leader-queuemanagertests.json");

    const REV: &str = "1-6a9d0f0c2c5b4e8d9a1b2c3d4e5f6a7b";
    const CID: &str = "0d4e6f8a1b3c4d5e6f708192a3b4c5d6";
    const CONTAINER: &str = "3f5c0e9b8a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c";

    fn s(text: &str) -> String {
        text.to_owned()
    }

    /// Every key of vector 69, in its order, with the parts it must parse to.
    fn catalog() -> Vec<EtcdKey> {
        let (ns, fqn, rev) = (s("guest"), s("guest/hello"), Some(s(REV)));
        vec![
            EtcdKey::Scheduler { sid: s("0") },
            EtcdKey::InstanceLease {
                instance: s("scheduler0"),
            },
            EtcdKey::InstanceLease {
                instance: s("invoker0/0"),
            },
            EtcdKey::QueueLeader {
                inv_ns: ns.clone(),
                fqn: fqn.clone(),
            },
            EtcdKey::ThrottlingNamespace { inv_ns: ns.clone() },
            EtcdKey::ThrottlingAction {
                inv_ns: ns.clone(),
                fqn: fqn.clone(),
            },
            EtcdKey::InProgress {
                inv_ns: ns.clone(),
                fqn: fqn.clone(),
                rev: rev.clone(),
                sid: s("0"),
                creation_id: s(CID),
            },
            EtcdKey::NamespaceContainer {
                inv_ns: ns.clone(),
                fqn: fqn.clone(),
                rev: rev.clone(),
                invoker: 0,
                container_id: s(CONTAINER),
            },
            EtcdKey::WarmedContainer {
                inv_ns: ns,
                fqn,
                rev,
                invoker: 0,
                container_id: s(CONTAINER),
            },
            EtcdKey::Invoker {
                id: 0,
                unique_name: Some(s("0")),
                displayed_name: None,
            },
        ]
    }

    fn vector_69_keys() -> Vec<String> {
        let rows: serde_json::Value = serde_json::from_str(V69).expect("vector 69 is JSON");
        let rows = rows.as_array().expect("vector 69 is an array");
        rows.iter()
            .map(|row| row["key"].as_str().expect("key").to_owned())
            .collect()
    }

    #[test]
    fn every_key_of_vector_69_parses_and_renders_back() {
        let cluster = Cluster::default();
        let keys = vector_69_keys();
        assert_eq!(keys.len(), catalog().len());
        for (key, expected) in keys.iter().zip(catalog()) {
            assert_eq!(cluster.parse(key).as_ref(), Ok(&expected), "{key}");
            assert_eq!(&cluster.render(&expected), key);
        }
    }

    #[test]
    fn builders_write_the_keys_of_vector_69() {
        let c = Cluster::default();
        let rev = Some(REV);
        let built = [
            c.scheduler("0"),
            c.instance_lease("scheduler0"),
            c.instance_lease("invoker0/0"),
            c.queue_leader("guest", "guest/hello"),
            c.throttling_namespace("guest"),
            c.throttling_action("guest", "guest/hello"),
            c.in_progress("guest", "guest/hello", rev, "0", CID),
            c.namespace_container("guest", "guest/hello", rev, 0, CONTAINER),
            c.warmed_container("guest", "guest/hello", rev, 0, CONTAINER),
            c.invoker(0, Some("0"), None),
        ];
        assert_eq!(built.to_vec(), vector_69_keys());
    }

    #[test]
    fn vector_90_leader_key() {
        let rows: serde_json::Value = serde_json::from_str(V90).expect("vector 90 is JSON");
        let key = rows
            .as_object()
            .and_then(|o| o.keys().next())
            .expect("one key")
            .clone();
        let expected = EtcdKey::QueueLeader {
            inv_ns: s("test-invocation-namespace"),
            fqn: s("test-namespace/test-fqn"),
        };
        assert_eq!(Cluster::default().parse(&key), Ok(expected.clone()));
        assert_eq!(Cluster::default().render(&expected), key);
    }

    #[test]
    fn prefixes_cover_their_keys_and_end_with_a_slash() {
        let c = Cluster::default();
        let key = c.in_progress("guest", "guest/hello", Some(REV), "0", CID);
        let action = c.in_progress_prefix_for_action("guest", "guest/hello", Some(REV));
        assert_eq!(
            action,
            format!("whisk/in-progress/guest/guest/hello/{REV}/")
        );
        let namespace = c.container_prefix_for_namespace(ContainerKind::InProgress, "guest");
        assert_eq!(namespace, "whisk/in-progress/guest/");
        let docid = c.container_prefix_for_docid(ContainerKind::Warmed, "guest", "guest/hello");
        assert_eq!(docid, "whisk/warmed/guest/guest/hello/");
        assert!(key.starts_with(&action) && key.starts_with(&namespace));
        let running = c.namespace_container("guest", "guest/hello", None, 3, "c1");
        let invoker = c.namespace_container_prefix_for_invoker("guest", "guest/hello", None, 3);
        assert_eq!(invoker, "whisk/namespace/guest/guest/hello/null/invoker3/");
        assert!(running.starts_with(&invoker));
        assert_eq!(c.invokers_prefix(), "whisk/invokers");
        assert_eq!(
            c.container_root(ContainerKind::Namespace),
            "whisk/namespace"
        );
    }

    #[test]
    fn fqns_with_packages_and_token_like_names_round_trip() {
        let c = Cluster::new("prod");
        let fqns = [
            "whisk.system/utils/echo",
            "ns/scheduler/creationId",
            "ns/invoker0/container",
        ];
        for fqn in fqns {
            let keys = [
                EtcdKey::QueueLeader {
                    inv_ns: s("ns"),
                    fqn: s(fqn),
                },
                EtcdKey::QueueFollower {
                    inv_ns: s("ns"),
                    fqn: s(fqn),
                    sid: s("1"),
                },
                EtcdKey::ThrottlingAction {
                    inv_ns: s("ns"),
                    fqn: s(fqn),
                },
                EtcdKey::InProgressQueue {
                    inv_ns: s("ns"),
                    fqn: s(fqn),
                },
                EtcdKey::InProgress {
                    inv_ns: s("queue"),
                    fqn: s(fqn),
                    rev: None,
                    sid: s("s.1"),
                    creation_id: s(CID),
                },
                EtcdKey::NamespaceContainer {
                    inv_ns: s("ns"),
                    fqn: s(fqn),
                    rev: Some(s("2-b")),
                    invoker: 12,
                    container_id: s("container"),
                },
                EtcdKey::WarmedContainer {
                    inv_ns: s("ns"),
                    fqn: s(fqn),
                    rev: None,
                    invoker: 7,
                    container_id: s("invoker"),
                },
            ];
            for key in keys {
                let text = c.render(&key);
                assert!(text.starts_with("prod/"), "{text}");
                assert_eq!(c.parse(&text), Ok(key), "{text}");
            }
        }
    }

    #[test]
    fn a_missing_revision_is_written_null() {
        let c = Cluster::default();
        let key = c.warmed_container("guest", "guest/hello", None, 0, "c");
        assert_eq!(
            key,
            "whisk/warmed/guest/guest/hello/null/invoker/0/container/c"
        );
    }

    #[test]
    fn invoker_keys_have_zero_one_or_two_names() {
        let c = Cluster::default();
        let keys = [
            (None, None, "whisk/invokers/3"),
            (Some("u"), None, "whisk/invokers/3/u"),
        ];
        for (unique, displayed, text) in keys {
            assert_eq!(c.invoker(3, unique, displayed), text);
        }
        assert_eq!(
            c.invoker(3, None, Some("d")),
            "whisk/invokers/3",
            "as in Scala"
        );
        let both = EtcdKey::Invoker {
            id: 3,
            unique_name: Some(s("u")),
            displayed_name: Some(s("d")),
        };
        assert_eq!(c.parse("whisk/invokers/3/u/d"), Ok(both));
    }

    #[test]
    fn invoker_keys_split_like_java_word_boundary_slashes() {
        let c = Cluster::default();
        let named = |id, u: &str, d: Option<&str>| EtcdKey::Invoker {
            id,
            unique_name: Some(s(u)),
            displayed_name: d.map(s),
        };
        assert_eq!(
            c.parse("whisk/invokers/0/host-/disp"),
            Ok(named(0, "host-/disp", None))
        );
        assert_eq!(
            c.parse("whisk/invokers/1//u///d"),
            Ok(named(1, "u", Some("d")))
        );
        let bare = EtcdKey::Invoker {
            id: 2,
            unique_name: None,
            displayed_name: None,
        };
        assert_eq!(
            c.parse("whisk/invokers/2/"),
            Ok(bare),
            "Java drops trailing empty parts"
        );
        assert_eq!(parse::split_after_word("a/-/b//c/"), ["a", "-/b", "c"]);
    }

    #[test]
    fn bad_invoker_keys_fail() {
        let c = Cluster::default();
        for (key, reason) in [
            ("whisk/invokers/x", "invoker id \"x\" is not an integer"),
            ("whisk/invokers/-1", "invoker id \"-1\" is not an integer"),
            (
                "whisk/invokers/0/a/b/c",
                "split on \\b/+ gives 6 segments, not 3 to 5",
            ),
        ] {
            let err = c.parse(key).expect_err(key);
            let expected = format!("etcd invokers key {key:?} is malformed: {reason}");
            assert_eq!(err.to_string(), expected);
        }
        let odd = Cluster::new("whisk-");
        assert!(
            odd.parse("whisk-/invokers/0").is_err(),
            "no split after '-', as in Scala"
        );
    }

    #[test]
    fn malformed_keys_name_the_kind_and_the_key() {
        let c = Cluster::default();
        let malformed = [
            ("whisk/scheduler/a/b", "scheduler"),
            ("whisk/instance/scheduler0", "instance"),
            ("whisk/queue/guest/guest/hello", "queue"),
            ("whisk/queue/guest/hello/leader", "queue"),
            ("whisk/throttling/guest//hello", "throttling"),
            (
                "whisk/in-progress/guest/guest/hello/1-a/creationId/c",
                "in-progress",
            ),
            (
                "whisk/namespace/guest/guest/hello/1-a/invokerX/container/c",
                "namespace",
            ),
            (
                "whisk/warmed/guest/guest/hello/1-a/invoker0/container/c",
                "warmed",
            ),
            (
                "whisk/warmed/guest/guest/hello/1-a/invoker/0/container/",
                "warmed",
            ),
        ];
        for (key, kind) in malformed {
            match c.parse(key) {
                Err(EtcdKeyError::Malformed {
                    key: k,
                    kind: found,
                    ..
                }) => {
                    assert_eq!((k.as_str(), found), (key, kind));
                }
                other => panic!("{key}: expected a malformed {kind} key, got {other:?}"),
            }
        }
    }

    #[test]
    fn foreign_and_unknown_keys_are_told_apart() {
        let c = Cluster::default();
        let foreign = c.parse("other/scheduler/0").expect_err("foreign");
        assert_eq!(
            foreign.to_string(),
            "etcd key \"other/scheduler/0\" is not under cluster \"whisk\""
        );
        for key in ["whiskey/scheduler/0", "whisk"] {
            let err = c.parse(key);
            assert!(
                matches!(err, Err(EtcdKeyError::NotInCluster { .. })),
                "{key}"
            );
        }
        for key in ["whisk/leases/0", "whisk/scheduler"] {
            assert!(
                matches!(c.parse(key), Err(EtcdKeyError::UnknownKind { .. })),
                "{key}"
            );
        }
    }

    #[test]
    fn follower_named_leader_reads_as_a_leader_key() {
        let key = Cluster::default().parse("whisk/queue/ns/a/b/follower/leader");
        assert_eq!(
            key,
            Ok(EtcdKey::QueueLeader {
                inv_ns: s("ns"),
                fqn: s("a/b/follower")
            })
        );
    }
}
