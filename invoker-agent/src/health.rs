//! The stock invoker's health (spec 7.6, wire 5.4), pure: a ring buffer of the last 10 activation
//! outcomes (`false` = whisk error, client creation/resume failure, container health error);
//! fewer than 3 failures ⇒ `up`, otherwise `unhealthy`; disabled ⇒ `down` (health reports are
//! ignored while down). Callers publish to etcd only when [`Health::status`] changes.
//! Unlike stock, an enabled agent starts `up` rather than `unhealthy`: the health test action
//! runs only while unhealthy (`agent::health_probe`), so a fresh invoker takes creations at once.

use std::collections::VecDeque;

use ow_compat::messages::InvokerStatus;

/// Ring buffer size (`InvokerHealthManager.bufferSize`).
pub const BUFFER: usize = 10;
/// Failures in the buffer at which the invoker is unhealthy (`bufferErrorTolerance`).
pub const TOLERANCE: usize = 3;

/// The health state machine.
#[derive(Debug, Clone)]
pub struct Health {
    enabled: bool,
    unhealthy: bool,
    outcomes: VecDeque<bool>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    /// Starts offline (`down`).
    pub fn new() -> Self {
        Health {
            enabled: false,
            unhealthy: false,
            outcomes: VecDeque::with_capacity(BUFFER),
        }
    }

    /// Enabled and `up` (the agent at start).
    pub fn enabled() -> Self {
        let mut h = Self::new();
        h.enable();
        h
    }

    /// `Enable` (startup, `POST /enable`).
    pub fn enable(&mut self) {
        self.enabled = true;
    }

    /// `GracefulShutdown` (`POST /disable`, drain) ⇒ `down`.
    pub fn disable(&mut self) {
        self.enabled = false;
    }

    /// Records one outcome (`true` = not a whisk error). Ignored while down. Returns whether the
    /// status changed.
    pub fn report(&mut self, ok: bool) -> bool {
        if !self.enabled {
            return false;
        }
        let before = self.status();
        if self.outcomes.len() == BUFFER {
            self.outcomes.pop_front();
        }
        self.outcomes.push_back(ok);
        self.unhealthy = self.failures() >= TOLERANCE;
        before != self.status()
    }

    /// Failures in the buffer.
    pub fn failures(&self) -> usize {
        self.outcomes.iter().filter(|ok| !**ok).count()
    }

    /// What goes into `InvokerResourceMessage.status`.
    pub fn status(&self) -> InvokerStatus {
        if !self.enabled {
            InvokerStatus::Down
        } else if self.unhealthy {
            InvokerStatus::Unhealthy
        } else {
            InvokerStatus::Up
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_down_and_ignores_reports_while_down() {
        let mut h = Health::new();
        assert_eq!(h.status(), InvokerStatus::Down);
        for _ in 0..5 {
            assert!(!h.report(false));
        }
        assert_eq!(h.failures(), 0);
        h.enable();
        assert_eq!(h.status(), InvokerStatus::Up);
    }

    #[test]
    fn three_failures_in_ten_make_unhealthy_and_they_age_out() {
        let mut h = Health::new();
        h.enable();
        assert!(!h.report(false));
        assert!(!h.report(true));
        assert!(!h.report(false));
        assert_eq!(h.status(), InvokerStatus::Up);
        assert!(h.report(false));
        assert_eq!(h.status(), InvokerStatus::Unhealthy);
        // Seven successes push the first failure out: 2 failures left ⇒ up.
        let changed: Vec<bool> = (0..7).map(|_| h.report(true)).collect();
        assert_eq!(changed.iter().filter(|c| **c).count(), 1);
        assert_eq!(h.failures(), 2);
        assert_eq!(h.status(), InvokerStatus::Up);
    }

    #[test]
    fn disable_is_down_whatever_the_buffer() {
        let mut h = Health::new();
        h.enable();
        for _ in 0..3 {
            h.report(false);
        }
        h.disable();
        assert_eq!(h.status(), InvokerStatus::Down);
        h.enable();
        assert_eq!(h.status(), InvokerStatus::Unhealthy);
    }
}
