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
mod parse;

#[cfg(test)]
mod tests;
