//! The virtual-time event queue: earliest time first, and among equal times the order of
//! scheduling, so a run is a pure function of its configuration and seed.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Virtual time in microseconds since the start of a run.
pub type Micros = u64;

/// Milliseconds to virtual time, rounded to the nearest microsecond.
pub fn ms(v: f64) -> Micros {
    (v.max(0.0) * 1000.0).round() as Micros
}

/// Virtual time to milliseconds.
pub fn to_ms(t: Micros) -> f64 {
    t as f64 / 1000.0
}

#[derive(Debug)]
struct Entry<E> {
    at: Micros,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    // Reversed: `BinaryHeap` is a max-heap and we want the earliest entry on top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Pending events of one run.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
    now: Micros,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
            now: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// The time of the event last popped.
    pub fn now(&self) -> Micros {
        self.now
    }

    /// Schedules `event` at `at` (never before now: the past cannot be changed).
    pub fn at(&mut self, at: Micros, event: E) {
        self.seq += 1;
        self.heap.push(Entry {
            at: at.max(self.now),
            seq: self.seq,
            event,
        });
    }

    /// Schedules `event` `delay` after now.
    pub fn after(&mut self, delay: Micros, event: E) {
        self.at(self.now + delay, event);
    }

    /// The next event if it is due no later than `until`; advances the clock to it.
    pub fn pop_until(&mut self, until: Micros) -> Option<E> {
        if self.heap.peek()?.at > until {
            return None;
        }
        let entry = self.heap.pop()?;
        self.now = entry.at;
        Some(entry.event)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_scheduling_order() {
        let mut q = EventQueue::default();
        q.at(30, "c");
        q.at(10, "a1");
        q.at(20, "b");
        q.at(10, "a2");
        let mut seen = Vec::new();
        while let Some(e) = q.pop_until(u64::MAX) {
            seen.push((q.now(), e));
        }
        assert_eq!(seen, vec![(10, "a1"), (10, "a2"), (20, "b"), (30, "c")]);
    }

    #[test]
    fn stops_at_the_horizon_and_never_schedules_in_the_past() {
        let mut q = EventQueue::default();
        q.at(5, 1);
        q.at(50, 2);
        assert_eq!(q.pop_until(10), Some(1));
        assert_eq!(q.pop_until(10), None);
        q.at(1, 3);
        assert_eq!(q.pop_until(10), Some(3));
        assert_eq!(q.now(), 5);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn conversions_round_trip() {
        assert_eq!(ms(2.0), 2000);
        assert_eq!(ms(0.2), 200);
        assert_eq!(ms(-1.0), 0);
        assert_eq!(to_ms(1500), 1.5);
    }
}
