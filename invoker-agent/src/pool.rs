//! The container pool as pure state: which containers exist, what each is doing, how much memory
//! they hold, and the stock choice for a creation request (`FunctionPullingContainerPool`, spec
//! 7.1): a paused container of the same action revision, else a prewarmed one of the same kind and
//! memory, else a cold start, evicting the least recently used paused containers to make room.
//!
//! No I/O and no clock: callers pass the time and carry out the decisions. Every transition is
//! made under the caller's lock, so a container claimed for a resume can no longer be retired by
//! its idle timer, and a retired one can no longer be claimed.

use std::collections::BTreeMap;

/// A container's place in the pool (stable for its whole life).
pub type SlotId = u64;

/// What a container serves: (invocation namespace, action document id, revision).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionKey {
    pub invocation_namespace: String,
    /// `path/name`, no version, no binding.
    pub doc_id: String,
    /// The document revision, `None` when the message has none.
    pub revision: Option<String>,
}

/// What a container is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// Being created (or a prewarmed container being given its action): in-progress memory.
    Creating,
    /// Registered and polling its queue (busy does not mean running an activation).
    Busy,
    /// Paused after the pause grace; evictable, reported as free memory.
    Paused,
    /// A paused container claimed by a creation request and being resumed: in-progress memory.
    Resuming,
    /// A stem cell being started; outside the memory budget.
    PrewarmStarting,
    /// A stem cell ready to be given an action; outside the memory budget.
    Prewarm,
    /// Going away; no longer counted or chosen.
    Removing,
}

/// One container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The action it serves; `None` for a stem cell.
    pub key: Option<ActionKey>,
    /// Runtime kind (`python:3.10`, `blackbox`).
    pub kind: String,
    pub memory_mb: u64,
    pub state: SlotState,
    /// When it last served (the caller's clock, ms); eviction takes the oldest first.
    pub last_used_ms: u64,
    /// The engine's container id, once started.
    pub container_id: Option<String>,
}

/// A creation request as the pool sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub key: ActionKey,
    pub kind: String,
    pub memory_mb: u64,
}

/// The pool's answer to a creation request. The chosen slot is already reserved and the evicted
/// ones are already marked `Removing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Resume this paused container.
    Resume(SlotId),
    /// Give this prewarmed container the action, after removing `evict`.
    Prewarm { slot: SlotId, evict: Vec<SlotId> },
    /// Create a new container in `slot`, after removing `evict`.
    Cold { slot: SlotId, evict: Vec<SlotId> },
    /// Not enough memory even after evicting every paused container.
    NotEnough,
}

/// Memory as the invoker reports it in etcd (MB): paused containers count as free because they
/// can be evicted; stem cells are outside the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    pub free: i64,
    pub busy: i64,
    pub in_progress: i64,
}

/// Container counts for the admin routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub busy: usize,
    pub paused: usize,
    pub in_progress: usize,
    pub prewarm: usize,
}

/// All containers of one invoker.
#[derive(Debug, Clone)]
pub struct Pool {
    user_memory_mb: u64,
    slots: BTreeMap<SlotId, Slot>,
    next: SlotId,
}

impl Pool {
    /// An empty pool with `user_memory_mb` for action containers.
    pub fn new(user_memory_mb: u64) -> Self {
        Self {
            user_memory_mb,
            slots: BTreeMap::new(),
            next: 1,
        }
    }

    /// The slot, if it still exists.
    pub fn slot(&self, id: SlotId) -> Option<&Slot> {
        self.slots.get(&id)
    }

    /// Chooses a container for `req` (spec 7.1 steps 3 to 6) and reserves it.
    pub fn admit(&mut self, req: &Request, now_ms: u64) -> Admission {
        if let Some(id) = self.paused_for(&req.key) {
            self.set(id, SlotState::Resuming, now_ms);
            return Admission::Resume(id);
        }
        let Some(evict) = self.evictions_for(req.memory_mb) else {
            return Admission::NotEnough;
        };
        for id in &evict {
            self.set(*id, SlotState::Removing, now_ms);
        }
        if let Some(slot) = self.prewarm_for(req) {
            if let Some(s) = self.slots.get_mut(&slot) {
                s.key = Some(req.key.clone());
                s.state = SlotState::Creating;
                s.last_used_ms = now_ms;
            }
            return Admission::Prewarm { slot, evict };
        }
        let slot = self.insert(Some(req.key.clone()), &req.kind, req.memory_mb, now_ms);
        Admission::Cold { slot, evict }
    }

    /// Adds a stem cell of `kind` being started.
    pub fn add_prewarm(&mut self, kind: &str, memory_mb: u64, now_ms: u64) -> SlotId {
        let id = self.insert(None, kind, memory_mb, now_ms);
        self.set(id, SlotState::PrewarmStarting, now_ms);
        id
    }

    /// The container of `id` started with this engine id.
    pub fn set_container(&mut self, id: SlotId, container_id: &str) {
        if let Some(s) = self.slots.get_mut(&id) {
            s.container_id = Some(container_id.to_owned());
        }
    }

    /// A stem cell started and waits for an action.
    pub fn prewarm_ready(&mut self, id: SlotId) {
        self.transition(id, SlotState::PrewarmStarting, SlotState::Prewarm);
    }

    /// A created or resumed container is registered and polling.
    pub fn mark_busy(&mut self, id: SlotId, now_ms: u64) {
        if let Some(s) = self.slots.get_mut(&id)
            && matches!(s.state, SlotState::Creating | SlotState::Resuming)
        {
            s.state = SlotState::Busy;
            s.last_used_ms = now_ms;
        }
    }

    /// A busy container served an activation.
    pub fn touch(&mut self, id: SlotId, now_ms: u64) {
        if let Some(s) = self.slots.get_mut(&id) {
            s.last_used_ms = now_ms;
        }
    }

    /// A busy container was paused; false if it was retired meanwhile.
    pub fn mark_paused(&mut self, id: SlotId) -> bool {
        self.transition(id, SlotState::Busy, SlotState::Paused)
    }

    /// Marks a container as going away. False when a creation request has claimed it for a
    /// resume: its owner must then wait for the resume instead of removing it.
    pub fn retire(&mut self, id: SlotId) -> bool {
        match self.slots.get_mut(&id) {
            Some(s) if s.state == SlotState::Resuming => false,
            Some(s) => {
                s.state = SlotState::Removing;
                true
            }
            None => true,
        }
    }

    /// Forgets a container that is gone.
    pub fn remove(&mut self, id: SlotId) -> Option<Slot> {
        self.slots.remove(&id)
    }

    /// Containers of `(invocation_namespace, doc_id)` whose revision generation is at most
    /// `generation` (a `ContainerDeletionMessage`), marked `Removing`. A claimed one is left
    /// to its resume; its next poll meets the outdated queue.
    pub fn outdated(
        &mut self,
        invocation_namespace: &str,
        doc_id: &str,
        generation: u64,
    ) -> Vec<SlotId> {
        let hit = |s: &Slot| {
            s.key.as_ref().is_some_and(|k| {
                k.invocation_namespace == invocation_namespace
                    && k.doc_id == doc_id
                    && revision_generation(k.revision.as_deref()) <= generation
            }) && matches!(
                s.state,
                SlotState::Busy | SlotState::Paused | SlotState::Creating
            )
        };
        let ids: Vec<SlotId> = self
            .slots
            .iter()
            .filter(|(_, s)| hit(s))
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.set(*id, SlotState::Removing, 0);
        }
        ids
    }

    /// Every container not already going away, marked `Removing` (drain).
    pub fn retire_all(&mut self) -> Vec<SlotId> {
        let ids: Vec<SlotId> = self
            .slots
            .iter()
            .filter(|(_, s)| s.state != SlotState::Removing)
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.set(*id, SlotState::Removing, 0);
        }
        ids
    }

    /// Memory as reported in etcd.
    pub fn memory(&self) -> Memory {
        let busy = self.sum(|s| s == SlotState::Busy);
        let in_progress = self.sum(|s| matches!(s, SlotState::Creating | SlotState::Resuming));
        let total = i64::try_from(self.user_memory_mb).unwrap_or(i64::MAX);
        Memory {
            free: total - busy - in_progress,
            busy,
            in_progress,
        }
    }

    /// Containers by state.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in self.slots.values() {
            match s.state {
                SlotState::Busy => c.busy += 1,
                SlotState::Paused => c.paused += 1,
                SlotState::Creating | SlotState::Resuming => c.in_progress += 1,
                SlotState::Prewarm | SlotState::PrewarmStarting => c.prewarm += 1,
                SlotState::Removing => {}
            }
        }
        c
    }

    /// Every slot, for the admin routes.
    pub fn slots(&self) -> impl Iterator<Item = (&SlotId, &Slot)> {
        self.slots.iter()
    }

    fn insert(
        &mut self,
        key: Option<ActionKey>,
        kind: &str,
        memory_mb: u64,
        now_ms: u64,
    ) -> SlotId {
        let id = self.next;
        self.next += 1;
        let slot = Slot {
            key,
            kind: kind.to_owned(),
            memory_mb,
            state: SlotState::Creating,
            last_used_ms: now_ms,
            container_id: None,
        };
        self.slots.insert(id, slot);
        id
    }

    fn set(&mut self, id: SlotId, state: SlotState, now_ms: u64) {
        if let Some(s) = self.slots.get_mut(&id) {
            s.state = state;
            if now_ms > 0 {
                s.last_used_ms = now_ms;
            }
        }
    }

    fn transition(&mut self, id: SlotId, from: SlotState, to: SlotState) -> bool {
        match self.slots.get_mut(&id) {
            Some(s) if s.state == from => {
                s.state = to;
                true
            }
            _ => false,
        }
    }

    fn sum(&self, state: impl Fn(SlotState) -> bool) -> i64 {
        let mb: u64 = self
            .slots
            .values()
            .filter(|s| state(s.state))
            .map(|s| s.memory_mb)
            .sum();
        i64::try_from(mb).unwrap_or(i64::MAX)
    }

    /// The most recently used paused container of exactly this action revision.
    fn paused_for(&self, key: &ActionKey) -> Option<SlotId> {
        self.slots
            .iter()
            .filter(|(_, s)| s.state == SlotState::Paused && s.key.as_ref() == Some(key))
            .max_by_key(|(id, s)| (s.last_used_ms, **id))
            .map(|(id, _)| *id)
    }

    /// A ready stem cell of the same kind and memory (no promotion of larger ones, as stock by
    /// default).
    fn prewarm_for(&self, req: &Request) -> Option<SlotId> {
        self.slots
            .iter()
            .find(|(_, s)| {
                s.state == SlotState::Prewarm && s.kind == req.kind && s.memory_mb == req.memory_mb
            })
            .map(|(id, _)| *id)
    }

    /// The paused containers to evict, oldest first, so that `required` fits; `None` if even all
    /// of them would not make room.
    fn evictions_for(&self, required: u64) -> Option<Vec<SlotId>> {
        let used = self.sum(|s| {
            matches!(
                s,
                SlotState::Busy | SlotState::Paused | SlotState::Creating | SlotState::Resuming
            )
        });
        let total = i64::try_from(self.user_memory_mb).unwrap_or(i64::MAX);
        let mut free = total - used;
        let need = i64::try_from(required).unwrap_or(i64::MAX);
        let mut paused: Vec<(&SlotId, &Slot)> = self
            .slots
            .iter()
            .filter(|(_, s)| s.state == SlotState::Paused)
            .collect();
        paused.sort_by_key(|(id, s)| (s.last_used_ms, **id));
        let mut evict = Vec::new();
        for (id, s) in paused {
            if free >= need {
                break;
            }
            free += i64::try_from(s.memory_mb).unwrap_or(0);
            evict.push(*id);
        }
        (free >= need).then_some(evict)
    }
}

/// The generation of a revision (`3-abc` → 3); no revision sorts first.
pub fn revision_generation(rev: Option<&str>) -> u64 {
    rev.and_then(|r| r.split('-').next())
        .and_then(|g| g.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
