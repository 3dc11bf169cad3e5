//! Time-driven transitions (poll expiry, retention, idle/stop grace, flush and removal checks)
//! and the two ways a queue is told to stop.

use super::{ActionQueue, Effect, FailureKind, Millis, PollAnswer, QueueState};

impl<M: Clone> ActionQueue<M> {
    /// Advances the queue's timers to `now`.
    pub fn tick(&mut self, now: Millis) -> Vec<Effect<M>> {
        self.unpolled
            .retain(|_, seen| now < *seen + super::FIRST_POLL_GRACE_MS);
        let mut out = self.expire_polls(now);
        out.extend(self.drop_expired(now));
        // Set at the first tick that finds activations waiting; a fetch that empties the FIFO
        // between ticks clears it, so only a queue that never emptied counts as standing.
        if self.containers.is_empty() || self.fifo.is_empty() {
            self.backlog = None;
        } else {
            self.backlog.get_or_insert(super::Backlog {
                since: now,
                served: 0,
            });
        }
        out.extend(self.maybe_lift_action_throttle());
        let quiet = now.saturating_sub(self.last_activity);
        match self.state {
            QueueState::Running if quiet >= self.config.idle_grace_ms && self.is_unused() => {
                self.state = QueueState::Idle;
                self.last_activity = now;
            }
            QueueState::Idle if quiet >= self.config.stop_grace_ms => out.extend(self.finish()),
            QueueState::Flushing if now >= self.next_check => out.extend(self.flush_check(now)),
            QueueState::Removing if now >= self.next_check => {
                if self.fifo.is_empty() && self.parked.is_empty() {
                    out.extend(self.finish());
                } else {
                    self.next_check = now + self.config.removing_check_ms;
                }
            }
            _ => {}
        }
        out
    }

    fn is_unused(&self) -> bool {
        self.fifo.is_empty() && self.containers.is_empty() && self.creations.is_empty()
    }

    /// Parked polls past their deadline end empty; like stock, each counts as activity.
    fn expire_polls(&mut self, now: Millis) -> Vec<Effect<M>> {
        let expired: Vec<_> = self
            .parked
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(k, _)| k.clone())
            .collect();
        if !expired.is_empty() {
            self.last_activity = now;
        }
        expired
            .into_iter()
            .map(|key| {
                self.parked.remove(&key);
                Effect::Answer {
                    poll: key.2,
                    answer: PollAnswer::NoActivation,
                }
            })
            .collect()
    }

    /// Activations waiting longer than the retention fail as whisk errors.
    fn drop_expired(&mut self, now: Millis) -> Vec<Effect<M>> {
        let retention = self.config.max_retention_ms;
        let reason = match &self.flush {
            Some(f) if self.state == QueueState::Flushing => f.reason.clone(),
            _ => format!("Activation processing is not initiated for {retention} ms"),
        };
        let mut out = Vec::new();
        while self
            .fifo
            .front()
            .is_some_and(|q| q.arrived + retention <= now)
        {
            if let Some(q) = self.fifo.pop_front() {
                out.push(Effect::Fail {
                    msg: q.msg,
                    reason: reason.clone(),
                    kind: FailureKind::Whisk,
                });
            }
        }
        out
    }

    fn flush_check(&mut self, now: Millis) -> Vec<Effect<M>> {
        let active = self.flush.as_ref().is_some_and(|f| f.active);
        if active || !self.fifo.is_empty() {
            if let Some(f) = self.flush.as_mut() {
                f.active = false;
            }
            self.next_check = now + self.config.flush_grace_ms;
            return Vec::new();
        }
        self.finish()
    }

    /// The scheduler drains (`POST /disable`): keys go at once, remaining work is still served.
    pub fn graceful_shutdown(&mut self, now: Millis) -> Vec<Effect<M>> {
        match self.state {
            QueueState::Running | QueueState::NamespaceThrottled | QueueState::ActionThrottled => {
                self.state = QueueState::Removing;
                self.next_check = now + self.config.removing_check_ms;
                vec![Effect::UnregisterKeys]
            }
            QueueState::Flushing => {
                let reason = self
                    .flush
                    .as_ref()
                    .map(|f| f.reason.clone())
                    .unwrap_or_default();
                let mut out = self.fail_all(&reason, FailureKind::Whisk);
                out.extend(self.finish());
                out
            }
            QueueState::Idle => self.finish(),
            QueueState::Removing | QueueState::Removed => Vec::new(),
        }
    }

    /// A newer revision took over. Unlike stock, the backlog is always handed back for the new
    /// revision (stock keeps it for old containers, which can no longer fetch it).
    pub fn outdated(&mut self, now: Millis) -> Vec<Effect<M>> {
        self.outdated = true;
        let backlog: Vec<M> = self.fifo.drain(..).map(|q| q.msg).collect();
        let mut out = if backlog.is_empty() {
            Vec::new()
        } else {
            vec![Effect::Forward(backlog)]
        };
        match self.state {
            QueueState::Removed => {}
            QueueState::Removing
            | QueueState::Running
            | QueueState::NamespaceThrottled
            | QueueState::ActionThrottled => {
                self.state = QueueState::Removing;
                self.next_check = now;
                out.extend(self.tick(now));
            }
            QueueState::Idle | QueueState::Flushing => out.extend(self.finish()),
        }
        out
    }
}

impl<M: Clone> ActionQueue<M> {
    /// Another scheduler now holds this queue's leader key: hand everything back and stop,
    /// leaving the keys to the new leader.
    pub fn superseded(&mut self) -> Vec<Effect<M>> {
        let backlog: Vec<M> = self.fifo.drain(..).map(|q| q.msg).collect();
        let mut out = if backlog.is_empty() {
            Vec::new()
        } else {
            vec![Effect::Forward(backlog)]
        };
        out.extend(self.answer_all_parked(PollAnswer::NoMemoryQueue));
        self.state = QueueState::Removed;
        out.push(Effect::Removed);
        out
    }
}
