//! The old design in virtual time: controllers place each activation by the sharding walk,
//! push it to the invoker (a Kafka hop), the invoker's pool runs it warm, cold, after evicting,
//! or buffers it; the completion ack (another hop) frees the controller's slots and the user
//! sends the next request at once.

use super::costs::{Daemon, DockerOp, kafka_hop};
use super::events::{EventQueue, Micros, ms};
use super::pool_v1::{Choice, Container, Pool};
use super::recorder::Recorder;
use super::rng::SplitMix64;
use super::sharding::{SlotTable, Walk, step_sizes, walk_for};
use super::{ModelConfig, RoundRobin};

/// The benchmark's namespace; actions are `guest/bench-<i>`.
pub const NAMESPACE: &str = "guest";

#[derive(Debug, Clone, Copy)]
enum Event {
    /// The user's activation reaches its invoker.
    Arrive(u32),
    /// A container finished the user's activation.
    Done {
        invoker: usize,
        container: u64,
        user: u32,
    },
    /// The completion ack reaches the controller (slots free, result to the user).
    Ack(u32),
    /// The pause-grace timer of an idle container.
    PauseTimer {
        invoker: usize,
        container: u64,
        generation: u64,
    },
}

/// The one activation a closed-loop user has in flight.
#[derive(Debug, Clone, Copy, Default)]
struct InFlight {
    action: u32,
    sent: Micros,
    invoker: usize,
    arrived: Micros,
    wait: Micros,
    cold: bool,
}

struct OldSim<'a> {
    cfg: &'a ModelConfig,
    q: EventQueue<Event>,
    rng: SplitMix64,
    walks: Vec<Walk>,
    slots: Vec<SlotTable>,
    pools: Vec<Pool<u32>>,
    daemons: Vec<Daemon>,
    users: Vec<InFlight>,
    next_container: u64,
    actions: RoundRobin,
    rec: Recorder,
}

/// Runs the old design and returns what it measured.
pub fn simulate(cfg: &ModelConfig) -> Recorder {
    let mut sim = OldSim::new(cfg);
    for user in 0..cfg.users {
        sim.send(user);
    }
    let (_, end) = cfg.window();
    while let Some(event) = sim.q.pop_until(end) {
        sim.handle(event);
    }
    sim.rec
}

impl<'a> OldSim<'a> {
    fn new(cfg: &'a ModelConfig) -> Self {
        let c = &cfg.cluster;
        // Every invoker is in the managed partition unless the fraction leaves some out.
        let managed = ((c.invokers as f64 * 0.9).ceil() as usize).clamp(1, c.invokers.max(1));
        let steps = step_sizes(managed);
        let walks = (0..cfg.actions)
            .map(|a| {
                walk_for(
                    NAMESPACE,
                    &format!("{NAMESPACE}/bench-{a}"),
                    managed,
                    &steps,
                )
            })
            .collect();
        Self {
            cfg,
            q: EventQueue::default(),
            rng: SplitMix64::new(cfg.seed),
            walks,
            slots: (0..c.controllers)
                .map(|_| SlotTable::new(managed, c.user_memory_mb, c.controllers))
                .collect(),
            pools: (0..c.invokers)
                .map(|_| Pool::new(c.user_memory_mb))
                .collect(),
            daemons: vec![Daemon::default(); c.hosts.max(1)],
            users: vec![InFlight::default(); cfg.users as usize],
            next_container: 0,
            actions: RoundRobin::default(),
            rec: cfg.recorder(),
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrive(user) => self.arrive(user),
            Event::Done {
                invoker,
                container,
                user,
            } => self.done(invoker, container, user),
            Event::Ack(user) => self.ack(user),
            Event::PauseTimer {
                invoker,
                container,
                generation,
            } => self.pause(invoker, container, generation),
        }
    }

    fn controller_of(&self, user: u32) -> usize {
        user as usize % self.slots.len()
    }

    /// The controller places the activation and produces it to the invoker's topic.
    fn send(&mut self, user: u32) {
        self.rec.sent += 1;
        let action = self.actions.next(self.cfg.actions);
        let walk = self.walks[action as usize];
        let ctrl = self.controller_of(user);
        let mem = self.cfg.cluster.action_memory_mb;
        let placed = self.slots[ctrl].place(walk, mem, &mut self.rng);
        self.users[user as usize] = InFlight {
            action,
            sent: self.q.now(),
            invoker: placed.invoker(),
            ..InFlight::default()
        };
        self.q.after(
            kafka_hop(&self.cfg.costs, &mut self.rng),
            Event::Arrive(user),
        );
    }

    fn arrive(&mut self, user: u32) {
        let now = self.q.now();
        let inv = self.users[user as usize].invoker;
        self.users[user as usize].arrived = now;
        // Strict head-of-line: once something waits, everything queues behind it.
        if !self.pools[inv].buffer.is_empty() || !self.try_start(inv, user) {
            self.pools[inv].buffer.push_back(user);
        }
    }

    /// Starts `user`'s run on invoker `inv` if its pool has capacity.
    fn try_start(&mut self, inv: usize, user: u32) -> bool {
        let action = self.users[user as usize].action;
        match self.pools[inv].choose(action, self.cfg.cluster.action_memory_mb) {
            Choice::Warm(id) => self.run_warm(inv, id, user),
            Choice::Cold => self.run_cold(inv, user),
            Choice::EvictThenCold(ids) => {
                for id in ids {
                    self.evict(inv, id);
                }
                self.run_cold(inv, user);
            }
            Choice::Buffer => return false,
        }
        true
    }

    fn daemon(&mut self, inv: usize, op: DockerOp, at: Micros) -> Micros {
        let host = inv % self.daemons.len();
        self.daemons[host].perform(op, at, &self.cfg.costs, &mut self.rng)
    }

    fn evict(&mut self, inv: usize, id: u64) {
        if let Some(c) = self.pools[inv].remove(id) {
            let at = c.op_done_at.max(self.q.now());
            self.daemon(inv, DockerOp::Remove, at);
        }
    }

    fn run_warm(&mut self, inv: usize, id: u64, user: u32) {
        let now = self.q.now();
        let Some(c) = self.pools[inv].get_mut(id) else {
            return;
        };
        let (paused, op_done_at) = (c.paused, c.op_done_at);
        let ready = if paused {
            self.daemon(inv, DockerOp::Unpause, op_done_at.max(now))
        } else {
            op_done_at.max(now)
        };
        if let Some(c) = self.pools[inv].get_mut(id) {
            c.paused = false;
            c.op_done_at = ready;
        }
        self.execute(inv, id, user, ready, false);
    }

    fn run_cold(&mut self, inv: usize, user: u32) {
        let now = self.q.now();
        self.next_container += 1;
        let id = self.next_container;
        let action = self.users[user as usize].action;
        self.pools[inv].containers.push(Container {
            id,
            action,
            memory_mb: self.cfg.cluster.action_memory_mb,
            busy: true,
            paused: false,
            last_used: now,
            op_done_at: now,
            generation: 0,
        });
        self.rec.creations += 1;
        let ready = self.daemon(inv, DockerOp::Run, now) + ms(self.cfg.costs.init_ms);
        self.execute(inv, id, user, ready, true);
    }

    /// `/run` on the container from `ready` on.
    fn execute(&mut self, inv: usize, id: u64, user: u32, ready: Micros, cold: bool) {
        let now = self.q.now();
        if let Some(c) = self.pools[inv].get_mut(id) {
            c.busy = true;
            c.generation += 1;
        }
        let u = &mut self.users[user as usize];
        u.wait = now - u.arrived;
        u.cold = cold;
        let exec = self.cfg.exec.draw(&mut self.rng);
        let done = ready + ms(self.cfg.costs.run_http_ms + exec);
        self.q.at(
            done,
            Event::Done {
                invoker: inv,
                container: id,
                user,
            },
        );
    }

    fn done(&mut self, inv: usize, id: u64, user: u32) {
        let now = self.q.now();
        let grace = ms(self.cfg.cluster.pause_grace_ms);
        if let Some(c) = self.pools[inv].get_mut(id) {
            c.busy = false;
            c.last_used = now;
            let generation = c.generation;
            self.q.after(
                grace,
                Event::PauseTimer {
                    invoker: inv,
                    container: id,
                    generation,
                },
            );
        }
        self.q
            .after(kafka_hop(&self.cfg.costs, &mut self.rng), Event::Ack(user));
        self.drain_buffer(inv);
    }

    /// Retries the buffer's head while the pool has capacity for it.
    fn drain_buffer(&mut self, inv: usize) {
        while let Some(&user) = self.pools[inv].buffer.front() {
            if !self.try_start(inv, user) {
                break;
            }
            self.pools[inv].buffer.pop_front();
        }
    }

    fn ack(&mut self, user: u32) {
        let now = self.q.now();
        let u = self.users[user as usize];
        let ctrl = self.controller_of(user);
        self.slots[ctrl].release(u.invoker, self.cfg.cluster.action_memory_mb);
        self.rec.complete(u.sent, now, u.wait, u.cold);
        self.send(user);
    }

    fn pause(&mut self, inv: usize, id: u64, generation: u64) {
        let now = self.q.now();
        let Some(c) = self.pools[inv].get_mut(id) else {
            return;
        };
        if c.busy || c.paused || c.generation != generation {
            return;
        }
        c.paused = true;
        let at = c.op_done_at.max(now);
        let done = self.daemon(inv, DockerOp::Pause, at);
        if let Some(c) = self.pools[inv].get_mut(id) {
            c.op_done_at = done;
        }
    }
}
