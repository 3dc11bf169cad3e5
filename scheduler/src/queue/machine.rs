//! The transitions of `ActionQueue` (behaviour reference §2.3).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use ow_compat::messages::CreationError;

use super::{
    ActionQueue, Effect, FailureKind, Fetch, Flush, Millis, PollAnswer, QueueConfig, QueueState,
    Queued, Throttle,
};
use crate::decision::{Decision, Snapshot};

/// The user-visible reason of a throttled activation.
pub const THROTTLED: &str = "Too many concurrent requests in flight.";
/// The reason when the namespace limit is zero.
pub const ZERO_LIMIT: &str = "The namespace limit is less than or equal to 0.";

/// Namespace-wide counts and limits the queue cannot know by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub namespace_existing: u32,
    pub namespace_in_progress: u32,
    pub namespace_limit: i64,
    pub action_limit: i64,
    pub max_concurrency: u32,
}

impl<M: Clone> ActionQueue<M> {
    /// A running queue; the returned effects initialise the throttle keys.
    pub fn start(config: QueueConfig, now: Millis) -> (Self, Vec<Effect<M>>) {
        let q = Self {
            config,
            state: QueueState::Running,
            fifo: VecDeque::new(),
            parked: BTreeMap::new(),
            containers: BTreeSet::new(),
            unpolled: BTreeMap::new(),
            creations: BTreeSet::new(),
            durations: VecDeque::new(),
            wait_ms: None,
            backlog: None,
            serving_since: now,
            initialized: false,
            last_activity: now,
            last_progress: now,
            next_check: now,
            flush: None,
            outdated: false,
            action_throttled: false,
        };
        (q, vec![Effect::InitThrottleKeys])
    }

    /// Current state.
    pub fn state(&self) -> QueueState {
        self.state
    }

    /// Activations waiting.
    pub fn len(&self) -> usize {
        self.fifo.len()
    }

    /// The waiting activations, oldest first.
    pub fn waiting(&self) -> impl Iterator<Item = &M> {
        self.fifo.iter().map(|q| &q.msg)
    }

    /// No activation waits.
    pub fn is_empty(&self) -> bool {
        self.fifo.is_empty()
    }

    /// Mean of the recent `lastDuration` reports.
    pub fn average_duration_ms(&self) -> Option<f64> {
        if self.durations.is_empty() {
            return None;
        }
        Some(self.durations.iter().sum::<u64>() as f64 / self.durations.len() as f64)
    }

    fn note_wait(&mut self, waited: Millis) {
        let w = waited as f64;
        self.wait_ms = Some(self.wait_ms.map_or(w, |a| a + super::WAIT_WEIGHT * (w - a)));
    }

    /// An activation arrives.
    pub fn enqueue(&mut self, msg: M, now: Millis) -> Vec<Effect<M>> {
        self.last_activity = now;
        match self.state {
            QueueState::Removed => vec![Effect::Forward(vec![msg])],
            QueueState::ActionThrottled => vec![self.throttle_failure(msg)],
            QueueState::NamespaceThrottled if self.containers.len() + self.creations.len() == 0 => {
                vec![self.throttle_failure(msg)]
            }
            QueueState::Flushing => self.enqueue_while_flushing(msg, now),
            QueueState::Idle => {
                self.state = QueueState::Running;
                self.push(msg, now)
            }
            _ => self.push(msg, now),
        }
    }

    fn enqueue_while_flushing(&mut self, msg: M, now: Millis) -> Vec<Effect<M>> {
        let Some(flush) = self.flush.as_mut() else {
            return self.push(msg, now);
        };
        flush.active = true;
        if flush.error.is_reschedulable() {
            self.push(msg, now)
        } else {
            vec![Effect::Fail {
                msg,
                reason: flush.reason.clone(),
                kind: FailureKind::Developer,
            }]
        }
    }

    fn push(&mut self, msg: M, now: Millis) -> Vec<Effect<M>> {
        if let Some(poll) = self.take_parked() {
            self.last_progress = now;
            self.note_wait(0);
            return vec![Effect::Deliver { poll, msg }];
        }
        self.fifo.push_back(Queued { arrived: now, msg });
        if self.fifo.len() >= self.config.max_retention_size && !self.action_throttled {
            if self.state == QueueState::Running {
                self.state = QueueState::ActionThrottled;
            }
            self.action_throttled = true;
            return vec![Effect::SetThrottle {
                scope: Throttle::Action,
                on: true,
            }];
        }
        Vec::new()
    }

    /// The greatest parked poll: warmed containers first, then the larger container id.
    fn take_parked(&mut self) -> Option<super::PollId> {
        self.parked.pop_last().map(|((_, _, poll), _)| poll)
    }

    fn throttle_failure(&self, msg: M) -> Effect<M> {
        let kind = if self.config.fail_throttle_as_whisk_error {
            FailureKind::Whisk
        } else {
            FailureKind::Developer
        };
        Effect::Fail {
            msg,
            reason: THROTTLED.into(),
            kind,
        }
    }

    /// A container asks for work.
    pub fn fetch(&mut self, f: Fetch, now: Millis) -> Vec<Effect<M>> {
        self.last_activity = now;
        if !f.alive {
            return self.container_gone_with(&f.container_id, Some(f.poll));
        }
        match self.state {
            QueueState::Removed => {
                let backlog = self.fifo.drain(..).map(|q| q.msg).collect::<Vec<_>>();
                let mut out = vec![Effect::Answer {
                    poll: f.poll,
                    answer: PollAnswer::NoMemoryQueue,
                }];
                if !backlog.is_empty() {
                    out.insert(0, Effect::Forward(backlog));
                }
                return out;
            }
            QueueState::Idle => {
                return vec![Effect::Answer {
                    poll: f.poll,
                    answer: PollAnswer::NoActivation,
                }];
            }
            _ => {}
        }
        self.unpolled.remove(&f.container_id);
        if self.containers.is_empty() {
            self.serving_since = now;
        }
        self.containers.insert(f.container_id.clone());
        self.last_progress = now;
        if let Some(d) = f.last_duration_ms {
            self.durations.push_back(d);
            while self.durations.len() > self.config.duration_buffer_size {
                self.durations.pop_front();
            }
        }
        match self.fifo.pop_front() {
            Some(q) => {
                if self.fifo.is_empty() {
                    self.backlog = None;
                } else if let Some(b) = self.backlog.as_mut() {
                    b.served += 1;
                }
                // Time spent before any container existed is the cold start's, not a sign
                // that the containers are too few.
                self.note_wait(now.saturating_sub(q.arrived.max(self.serving_since)));
                let mut out = vec![Effect::Deliver {
                    poll: f.poll,
                    msg: q.msg,
                }];
                out.extend(self.maybe_lift_action_throttle());
                out
            }
            None => {
                self.parked.insert(
                    (f.warmed, f.container_id, f.poll),
                    now + self.config.long_poll_ms,
                );
                Vec::new()
            }
        }
    }

    /// Lifts the action throttle once the backlog is below the fraction, however it shrank
    /// (fetches, retention drops, hand-overs). Stock only checks on a fetch, so a backlog dropped
    /// by retention left the action throttled forever (upstream #5368).
    pub(super) fn maybe_lift_action_throttle(&mut self) -> Option<Effect<M>> {
        let low =
            (self.config.max_retention_size as f64 * self.config.throttling_fraction) as usize;
        if self.action_throttled && self.fifo.len() <= low {
            self.action_throttled = false;
            if self.state == QueueState::ActionThrottled {
                self.state = QueueState::Running;
            }
            return Some(Effect::SetThrottle {
                scope: Throttle::Action,
                on: false,
            });
        }
        None
    }

    /// etcd says a container of this revision exists.
    pub fn container_seen(&mut self, id: &str, now: Millis) {
        // A first container gets the stale threshold to start polling before it counts as quiet.
        if self.containers.is_empty() {
            self.last_progress = now;
            self.serving_since = now;
        }
        if self.containers.insert(id.to_owned()) {
            self.unpolled.insert(id.to_owned(), now);
        }
    }

    /// etcd says a container is gone (paused or removed): its parked polls end empty.
    pub fn container_gone(&mut self, id: &str) -> Vec<Effect<M>> {
        self.container_gone_with(id, None)
    }

    fn container_gone_with(&mut self, id: &str, also: Option<u64>) -> Vec<Effect<M>> {
        self.containers.remove(id);
        self.unpolled.remove(id);
        let polls: Vec<_> = self
            .parked
            .keys()
            .filter(|(_, c, _)| c == id)
            .cloned()
            .collect();
        let mut out: Vec<Effect<M>> = polls
            .into_iter()
            .map(|key| {
                self.parked.remove(&key);
                Effect::Answer {
                    poll: key.2,
                    answer: PollAnswer::NoActivation,
                }
            })
            .collect();
        out.extend(also.map(|poll| Effect::Answer {
            poll,
            answer: PollAnswer::NoActivation,
        }));
        out
    }

    /// A creation job started (the queue asked, or an in-progress key appeared).
    pub fn creation_started(&mut self, creation_id: &str) {
        self.creations.insert(creation_id.to_owned());
    }

    /// An in-progress key disappeared.
    pub fn creation_key_gone(&mut self, creation_id: &str) {
        self.creations.remove(creation_id);
    }

    /// A creation job ended.
    pub fn creation_finished(
        &mut self,
        creation_id: &str,
        outcome: Result<(), (CreationError, String)>,
        now: Millis,
    ) -> Vec<Effect<M>> {
        self.last_activity = now;
        self.creations.remove(creation_id);
        match outcome {
            Ok(()) => {
                if self.state == QueueState::Flushing {
                    self.state = QueueState::Running;
                    self.flush = None;
                }
                Vec::new()
            }
            Err((error, reason)) => self.creation_failed(error, reason, now),
        }
    }

    fn creation_failed(
        &mut self,
        error: CreationError,
        reason: String,
        now: Millis,
    ) -> Vec<Effect<M>> {
        match self.state {
            QueueState::Running if self.containers.is_empty() => {
                self.state = QueueState::Flushing;
                self.next_check = now + self.config.flush_grace_ms;
                self.flush = Some(Flush {
                    error,
                    reason: reason.clone(),
                    active: false,
                });
                if error.is_reschedulable() {
                    Vec::new()
                } else {
                    self.fail_all(&reason, FailureKind::Developer)
                }
            }
            QueueState::Flushing if error == CreationError::InvalidActionLimitError => {
                let stored = self.flush.as_ref().map_or(reason, |f| f.reason.clone());
                let mut out = self.fail_all(&stored, FailureKind::Developer);
                out.extend(self.finish());
                out
            }
            QueueState::Flushing => {
                let active = self.flush.as_ref().is_some_and(|f| f.active);
                self.flush = Some(Flush {
                    error,
                    reason,
                    active,
                });
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn fail_all(&mut self, reason: &str, kind: FailureKind) -> Vec<Effect<M>> {
        self.fifo
            .drain(..)
            .map(|q| Effect::Fail {
                msg: q.msg,
                reason: reason.to_owned(),
                kind,
            })
            .collect()
    }

    /// Ends the queue. An outdated queue leaves the keys alone: the queue of the newer revision
    /// shares the leader key (stock deletes it from Flushing, orphaning the new queue).
    pub(super) fn finish(&mut self) -> Vec<Effect<M>> {
        self.state = QueueState::Removed;
        let mut out = self.answer_all_parked(PollAnswer::NoMemoryQueue);
        if !self.outdated {
            out.push(Effect::UnregisterKeys);
        }
        if self.outdated {
            out.push(Effect::DeleteContainers);
        }
        out.push(Effect::Removed);
        out
    }

    pub(super) fn answer_all_parked(&mut self, answer: PollAnswer) -> Vec<Effect<M>> {
        std::mem::take(&mut self.parked)
            .into_keys()
            .map(|(_, _, poll)| Effect::Answer { poll, answer })
            .collect()
    }

    /// New containers within their first-poll grace: the policy counts them as being created.
    fn arriving(&self, now: Millis) -> usize {
        self.unpolled
            .values()
            .filter(|&&seen| now < seen + super::FIRST_POLL_GRACE_MS)
            .count()
    }

    /// The snapshot the provisioning policy decides on.
    pub fn snapshot(&self, now: Millis, limits: Limits) -> Snapshot {
        let threshold = now.saturating_sub(self.config.stale_threshold_ms);
        let stale = self
            .fifo
            .iter()
            .take_while(|q| q.arrived <= threshold)
            .count();
        let arriving = self.arriving(now);
        Snapshot {
            initialized: self.initialized,
            available_msgs: u32::try_from(self.fifo.len()).unwrap_or(u32::MAX),
            existing: u32::try_from(self.containers.len() - arriving).unwrap_or(u32::MAX),
            in_progress: u32::try_from(self.creations.len() + arriving).unwrap_or(u32::MAX),
            stale: u32::try_from(stale).unwrap_or(u32::MAX),
            namespace_existing: limits.namespace_existing,
            namespace_in_progress: limits.namespace_in_progress,
            average_duration_ms: self.average_duration_ms(),
            namespace_limit: limits.namespace_limit,
            action_limit: limits.action_limit.min(limits.namespace_limit),
            max_concurrency: limits.max_concurrency,
            // An action throttled for its backlog still needs containers to work it off; the
            // stock rule skips that state, which kept such queues stuck.
            state: match self.state {
                QueueState::ActionThrottled => QueueState::Running,
                s => s,
            },
            recent_wait_ms: self.wait_ms,
            backlog_ms: self.backlog.map_or(0, |b| now.saturating_sub(b.since)),
            backlog_served: self.backlog.map_or(0, |b| b.served),
            quiet_ms: if self.containers.is_empty() {
                0
            } else {
                now.saturating_sub(self.last_progress)
            },
        }
    }

    /// Carries out a provisioning decision.
    pub fn apply(&mut self, decision: Decision, now: Millis) -> Vec<Effect<M>> {
        let create = |count: u32| (count > 0).then_some(Effect::CreateContainers { count });
        match decision {
            Decision::Skip => Vec::new(),
            Decision::AddInitialContainer => {
                self.initialized = true;
                vec![Effect::CreateContainers { count: 1 }]
            }
            Decision::AddContainer(n) => create(n).into_iter().collect(),
            Decision::EnableNamespaceThrottling { drop_msgs, add } => {
                let mut out: Vec<Effect<M>> = create(add).into_iter().collect();
                if self.state == QueueState::Running {
                    self.state = QueueState::NamespaceThrottled;
                    out.push(Effect::SetThrottle {
                        scope: Throttle::Namespace,
                        on: true,
                    });
                    if drop_msgs {
                        let kind = self.throttle_failure_kind();
                        out.extend(self.fail_all(THROTTLED, kind));
                    }
                }
                out
            }
            Decision::DisableNamespaceThrottling => {
                if self.state != QueueState::NamespaceThrottled {
                    return Vec::new();
                }
                self.state = QueueState::Running;
                vec![Effect::SetThrottle {
                    scope: Throttle::Namespace,
                    on: false,
                }]
            }
            Decision::Pausing => {
                self.creation_failed(CreationError::ZeroNamespaceLimit, ZERO_LIMIT.into(), now)
            }
        }
    }

    fn throttle_failure_kind(&self) -> FailureKind {
        if self.config.fail_throttle_as_whisk_error {
            FailureKind::Whisk
        } else {
            FailureKind::Developer
        }
    }
}
