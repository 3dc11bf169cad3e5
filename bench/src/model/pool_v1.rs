//! The old invoker's `ContainerPool` decision for one Run (spec §8.6), as pure code: reuse a
//! free warm container of the same action, else start a cold one if memory allows, else evict
//! least-recently-used idle containers of other actions, else buffer. No stem cells (the
//! benchmark's action kind has none configured) and concurrency 1.

use std::collections::VecDeque;

use super::events::Micros;

/// One container on an old invoker.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub id: u64,
    pub action: u32,
    pub memory_mb: i64,
    /// Running an activation (or starting up to run one).
    pub busy: bool,
    pub paused: bool,
    /// When it last finished a run (LRU order for eviction).
    pub last_used: Micros,
    /// When the last Docker operation on it (a pause) completes; the next one waits for it.
    pub op_done_at: Micros,
    /// Bumped on every run, so a pause timer set before it is recognised as stale.
    pub generation: u64,
}

/// What the pool does with a Run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Run on this free warm container (unpausing it first if paused).
    Warm(u64),
    /// Create a container.
    Cold,
    /// Remove these idle containers, then create one.
    EvictThenCold(Vec<u64>),
    /// No capacity: wait in the run buffer.
    Buffer,
}

/// One old invoker's containers, memory and run buffer.
#[derive(Debug, Clone)]
pub struct Pool<R> {
    pub user_memory_mb: i64,
    pub containers: Vec<Container>,
    /// Runs waiting for capacity, strictly first in, first out.
    pub buffer: VecDeque<R>,
}

impl<R> Pool<R> {
    pub fn new(user_memory_mb: i64) -> Self {
        Self {
            user_memory_mb,
            containers: Vec::new(),
            buffer: VecDeque::new(),
        }
    }

    pub fn used_mb(&self) -> i64 {
        self.containers.iter().map(|c| c.memory_mb).sum()
    }

    /// Where a Run of `action` (needing `memory_mb`) goes now.
    pub fn choose(&self, action: u32, memory_mb: i64) -> Choice {
        let free_same = |paused: bool| {
            self.containers
                .iter()
                .find(|c| c.action == action && !c.busy && c.paused == paused)
        };
        if let Some(c) = free_same(false).or_else(|| free_same(true)) {
            return Choice::Warm(c.id);
        }
        let used = self.used_mb();
        if used + memory_mb <= self.user_memory_mb {
            return Choice::Cold;
        }
        self.evictable(used + memory_mb - self.user_memory_mb)
            .map_or(Choice::Buffer, Choice::EvictThenCold)
    }

    /// Idle containers, least recently used first, freeing at least `needed_mb`; none if all
    /// idle ones together would not free enough.
    fn evictable(&self, needed_mb: i64) -> Option<Vec<u64>> {
        let mut idle: Vec<&Container> = self.containers.iter().filter(|c| !c.busy).collect();
        idle.sort_by_key(|c| (c.last_used, c.id));
        let mut freed = 0;
        let mut chosen = Vec::new();
        for c in idle {
            if freed >= needed_mb {
                break;
            }
            freed += c.memory_mb;
            chosen.push(c.id);
        }
        (freed >= needed_mb).then_some(chosen)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut Container> {
        self.containers.iter_mut().find(|c| c.id == id)
    }

    /// Takes a container out of the pool (its memory is free at once; `docker rm` follows).
    pub fn remove(&mut self, id: u64) -> Option<Container> {
        let pos = self.containers.iter().position(|c| c.id == id)?;
        Some(self.containers.swap_remove(pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(id: u64, action: u32, busy: bool, last_used: Micros) -> Container {
        Container {
            id,
            action,
            memory_mb: 256,
            busy,
            paused: false,
            last_used,
            op_done_at: 0,
            generation: 0,
        }
    }

    fn pool(containers: Vec<Container>) -> Pool<()> {
        Pool {
            user_memory_mb: 1024,
            containers,
            buffer: VecDeque::new(),
        }
    }

    #[test]
    fn reuses_a_free_warm_container_of_the_same_action_unpaused_first() {
        let mut paused = container(1, 7, false, 5);
        paused.paused = true;
        let p = pool(vec![
            paused,
            container(2, 7, true, 0),
            container(3, 7, false, 1),
        ]);
        assert_eq!(p.choose(7, 256), Choice::Warm(3));
        let p = pool(vec![p.containers[0].clone()]);
        assert_eq!(p.choose(7, 256), Choice::Warm(1));
    }

    #[test]
    fn creates_while_memory_allows() {
        let p = pool(vec![container(1, 1, true, 0), container(2, 2, false, 0)]);
        assert_eq!(p.choose(3, 256), Choice::Cold);
        assert_eq!(p.choose(3, 512), Choice::Cold);
    }

    #[test]
    fn evicts_least_recently_used_idle_containers_of_other_actions() {
        let p = pool(vec![
            container(1, 1, false, 30),
            container(2, 2, true, 0),
            container(3, 3, false, 10),
            container(4, 4, false, 20),
        ]);
        assert_eq!(p.choose(9, 256), Choice::EvictThenCold(vec![3]));
        assert_eq!(p.choose(9, 512), Choice::EvictThenCold(vec![3, 4]));
    }

    #[test]
    fn buffers_when_idle_containers_cannot_free_enough() {
        let p = pool(vec![
            container(1, 1, true, 0),
            container(2, 2, true, 0),
            container(3, 3, true, 0),
            container(4, 4, false, 0),
        ]);
        assert_eq!(p.choose(9, 512), Choice::Buffer);
        assert_eq!(p.choose(4, 512), Choice::Warm(4));
    }

    #[test]
    fn removal_frees_memory_at_once() {
        let mut p = pool(vec![container(1, 1, false, 0), container(2, 2, false, 0)]);
        assert_eq!(p.used_mb(), 512);
        assert_eq!(p.remove(1).map(|c| c.action), Some(1));
        assert_eq!(p.used_mb(), 256);
        assert_eq!(p.remove(1), None);
    }
}
