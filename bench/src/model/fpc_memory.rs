//! Memory of one pulling (FPC) invoker as its `FunctionPullingContainerPool` keeps it (spec §7.1):
//! paused containers still hold their memory but are reported free, because a creation may
//! evict them, oldest paused first. Without this a cluster filled once stays full forever, and
//! actions that got few containers in the first burst never get more.

use std::collections::VecDeque;

/// One invoker's memory, in MB.
#[derive(Debug, Clone)]
pub struct InvokerMemory {
    user_mb: i64,
    /// Held by containers starting, running, polling or paused.
    held_mb: i64,
    /// Paused containers (id, MB), oldest first: the eviction order.
    paused: VecDeque<(usize, i64)>,
}

impl InvokerMemory {
    pub fn new(user_mb: i64) -> Self {
        Self {
            user_mb,
            held_mb: 0,
            paused: VecDeque::new(),
        }
    }

    /// What the invoker publishes to etcd: user memory less busy and in-progress containers.
    pub fn reported_free_mb(&self) -> i64 {
        self.user_mb - self.held_mb + self.paused_mb()
    }

    fn paused_mb(&self) -> i64 {
        self.paused.iter().map(|&(_, mb)| mb).sum()
    }

    /// Admits a creation of `mb`: the paused containers it must evict first (oldest first), or
    /// `None` when even evicting all of them leaves too little (`ResourceNotEnoughError`).
    pub fn admit(&mut self, mb: i64) -> Option<Vec<usize>> {
        if mb > self.reported_free_mb() {
            return None;
        }
        let mut evicted = Vec::new();
        while self.user_mb - self.held_mb < mb {
            let (id, freed) = self.paused.pop_front()?;
            self.held_mb -= freed;
            evicted.push(id);
        }
        self.held_mb += mb;
        Some(evicted)
    }

    /// Container `id` of `mb` paused: its memory becomes evictable.
    pub fn pause(&mut self, id: usize, mb: i64) {
        self.paused.push_back((id, mb));
    }

    /// Paused container `id` is resumed (it keeps its memory); false if it is not paused here.
    pub fn resume(&mut self, id: usize) -> bool {
        let Some(at) = self.paused.iter().position(|&(p, _)| p == id) else {
            return false;
        };
        self.paused.remove(at);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_invoker_reports_its_paused_containers_as_free() {
        let mut m = InvokerMemory::new(1024);
        for _ in 0..4 {
            assert_eq!(m.admit(256), Some(vec![]));
        }
        assert_eq!(m.reported_free_mb(), 0);
        assert_eq!(m.admit(256), None);
        m.pause(7, 256);
        m.pause(3, 256);
        assert_eq!(m.reported_free_mb(), 512);
    }

    #[test]
    fn a_creation_evicts_the_oldest_paused_first_and_only_as_many_as_needed() {
        let mut m = InvokerMemory::new(1024);
        for _ in 0..4 {
            m.admit(256);
        }
        m.pause(7, 256);
        m.pause(3, 256);
        assert_eq!(m.admit(256), Some(vec![7]));
        assert_eq!(m.reported_free_mb(), 256);
        assert_eq!(m.admit(512), None, "only 256 MB is evictable");
        assert_eq!(m.admit(256), Some(vec![3]));
        assert_eq!(m.reported_free_mb(), 0);
    }

    #[test]
    fn a_resumed_container_is_no_longer_evictable() {
        let mut m = InvokerMemory::new(512);
        m.admit(256);
        m.admit(256);
        m.pause(1, 256);
        assert!(m.resume(1));
        assert!(!m.resume(1));
        assert_eq!(m.reported_free_mb(), 0);
        assert_eq!(m.admit(256), None);
    }
}
