//! The new design in virtual time: activations go to their action's queue (a Kafka hop);
//! every 100 ms each queue asks the scheduler's real provisioning rule
//! (`ow_scheduler::decision::Policy`, stock by default, paced on request) for containers, which
//! the scheduler's real placement (`ow_scheduler::placement`) puts on invokers; a container
//! pulls its action's next activation as soon as it is free (a gRPC round trip, half of one when
//! its poll was already parked).
//!
//! Scale-down as in FPC (spec §7.4): a parked activation goes to the greatest container id, so
//! surplus containers stay idle; one idle for `pause-grace` pauses at its next empty poll and
//! leaves the queue. Its memory is then reported free and a creation on its invoker evicts it
//! ([`InvokerMemory`]); a creation for an action with paused containers resumes one instead.

use std::collections::{BTreeSet, VecDeque};

use ow_compat::messages::InvokerStatus;
use ow_scheduler::decision::{Decision, Policy, ProvisioningPolicy, QueueState, Snapshot};
use ow_scheduler::placement::{self, CreationRequest, Fractions, InvokerCandidate, XorShift};

use super::costs::{Daemon, DockerOp, kafka_hop};
use super::events::{EventQueue, Micros, ms, to_ms};
use super::fpc_memory::InvokerMemory;
use super::old::NAMESPACE;
use super::recorder::Recorder;
use super::rng::SplitMix64;
use super::{ModelConfig, RoundRobin};

/// `whisk.scheduler.scheduling.check-interval`.
const TICK_MS: f64 = 100.0;
/// `whisk.scheduler.queue.duration-buffer-size`.
const DURATIONS_KEPT: usize = 10;
/// Weight of the newest wait in the queue's moving average (the scheduler's `WAIT_WEIGHT`).
const WAIT_WEIGHT: f64 = 0.05;

#[derive(Debug, Clone, Copy)]
enum Event {
    /// The user's activation reaches its queue.
    Enqueue(u32),
    /// A container finished the user's activation.
    Done { container: usize, user: u32 },
    /// The result reaches the user.
    Ack(u32),
    /// A created (`fresh`) or resumed container is up and sends its first fetch.
    Up { container: usize, fresh: bool },
    /// A container's unused timer may have run out (`pause-grace`).
    PauseCheck(usize),
    /// The decision loop of every queue.
    Tick,
}

#[derive(Debug, Default)]
struct Queue {
    /// (user, enqueued at), oldest first.
    waiting: VecDeque<(u32, Micros)>,
    /// Containers whose fetch is parked, waiting for an activation; the greatest id gets the
    /// next one (spec §2.6), which leaves the others idle long enough to pause.
    parked: BTreeSet<usize>,
    /// Paused containers of the action, which a creation resumes before starting a new one.
    paused: Vec<usize>,
    existing: u32,
    in_progress: u32,
    initialized: bool,
    durations: VecDeque<f64>,
    /// When a container last fetched or was handed an activation.
    last_progress: Micros,
    /// Moving average of queue waits, counted from when the action had a container.
    wait_ms: Option<f64>,
    /// Since when the action has had containers (uninterrupted).
    serving_since: Micros,
    /// Since when activations have been waiting without the queue emptying, and how many
    /// were handed out meanwhile.
    backlog: Option<(Micros, u32)>,
}

impl Queue {
    fn average_duration(&self) -> Option<f64> {
        let n = self.durations.len();
        (n > 0).then(|| self.durations.iter().sum::<f64>() / n as f64)
    }

    /// An activation was handed out after waiting since `arrived`.
    fn note_wait(&mut self, arrived: Micros, now: Micros) {
        let w = to_ms(now.saturating_sub(arrived.max(self.serving_since)));
        self.wait_ms = Some(self.wait_ms.map_or(w, |a| a + WAIT_WEIGHT * (w - a)));
    }

    /// Set by a tick and cleared whenever the queue empties, like the scheduler's queue.
    fn track_backlog(&mut self, now: Micros) {
        if self.existing > 0 && !self.waiting.is_empty() {
            self.backlog.get_or_insert((now, 0));
        } else {
            self.backlog = None;
        }
    }

    fn stale(&self, now: Micros) -> u32 {
        let threshold = now.saturating_sub(ms(TICK_MS));
        self.waiting.partition_point(|&(_, at)| at < threshold) as u32
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Being created or resumed.
    Starting,
    /// Running an activation or polling for one.
    Active,
    Paused,
    /// Evicted for another container's memory.
    Removed,
}

#[derive(Debug, Clone, Copy)]
struct Container {
    action: u32,
    invoker: usize,
    phase: Phase,
    /// When its last activation completed (or it came up): the unused timer's start.
    idle_since: Micros,
}

#[derive(Debug, Clone, Copy, Default)]
struct InFlight {
    action: u32,
    sent: Micros,
    enqueued: Micros,
    wait: Micros,
    cold: bool,
}

struct NewSim<'a> {
    cfg: &'a ModelConfig,
    q: EventQueue<Event>,
    rng: SplitMix64,
    chooser: XorShift,
    policy: Policy,
    queues: Vec<Queue>,
    /// Every container ever created.
    containers: Vec<Container>,
    invokers: Vec<InvokerMemory>,
    daemons: Vec<Daemon>,
    users: Vec<InFlight>,
    actions: RoundRobin,
    rec: Recorder,
}

/// Runs the new design and returns what it measured.
pub fn simulate(cfg: &ModelConfig) -> Recorder {
    run_to_end(cfg).rec
}

fn run_to_end(cfg: &ModelConfig) -> NewSim<'_> {
    let mut sim = NewSim::new(cfg);
    for user in 0..cfg.users {
        sim.send(user);
    }
    sim.q.at(ms(TICK_MS), Event::Tick);
    let (_, end) = cfg.window();
    while let Some(event) = sim.q.pop_until(end) {
        sim.handle(event);
    }
    sim
}

impl<'a> NewSim<'a> {
    fn new(cfg: &'a ModelConfig) -> Self {
        let c = &cfg.cluster;
        Self {
            cfg,
            q: EventQueue::default(),
            rng: SplitMix64::new(cfg.seed),
            chooser: XorShift::new(cfg.seed),
            policy: Policy::new(cfg.policy, Default::default()),
            queues: (0..cfg.actions).map(|_| Queue::default()).collect(),
            containers: Vec::new(),
            invokers: vec![InvokerMemory::new(c.user_memory_mb); c.invokers],
            daemons: vec![Daemon::default(); c.hosts.max(1)],
            users: vec![InFlight::default(); cfg.users as usize],
            actions: RoundRobin::default(),
            rec: cfg.recorder(),
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Enqueue(user) => self.enqueue(user),
            Event::Done { container, user } => self.done(container, user),
            Event::Ack(user) => self.ack(user),
            Event::Up { container, fresh } => self.up(container, fresh),
            Event::PauseCheck(container) => self.pause_check(container),
            Event::Tick => self.tick(),
        }
    }

    /// The controller produces the activation to the scheduler's topic.
    fn send(&mut self, user: u32) {
        self.rec.sent += 1;
        let action = self.actions.next(self.cfg.actions);
        self.users[user as usize] = InFlight {
            action,
            sent: self.q.now(),
            ..InFlight::default()
        };
        self.q.after(
            kafka_hop(&self.cfg.costs, &mut self.rng),
            Event::Enqueue(user),
        );
    }

    fn enqueue(&mut self, user: u32) {
        let now = self.q.now();
        self.users[user as usize].enqueued = now;
        let action = self.users[user as usize].action as usize;
        match self.queues[action].parked.pop_last() {
            // The parked poll is answered: half a round trip to the container.
            Some(container) => {
                self.queues[action].last_progress = now;
                self.queues[action].note_wait(now, now);
                self.execute(container, user, ms(self.cfg.costs.grpc_rtt_ms / 2.0))
            }
            None => self.queues[action].waiting.push_back((user, now)),
        }
    }

    /// The container fetches: the next activation of its action, or it parks.
    fn fetch(&mut self, container: usize) {
        let now = self.q.now();
        let action = self.containers[container].action as usize;
        self.queues[action].last_progress = now;
        match self.queues[action].waiting.pop_front() {
            Some((user, arrived)) => {
                let q = &mut self.queues[action];
                if q.waiting.is_empty() {
                    q.backlog = None;
                } else if let Some((_, served)) = q.backlog.as_mut() {
                    *served += 1;
                }
                q.note_wait(arrived, now);
                self.execute(container, user, ms(self.cfg.costs.grpc_rtt_ms))
            }
            None => {
                self.queues[action].parked.insert(container);
            }
        }
    }

    fn execute(&mut self, container: usize, user: u32, delivery: Micros) {
        let now = self.q.now();
        let u = &mut self.users[user as usize];
        u.wait = now - u.enqueued;
        let exec = self.cfg.exec.draw(&mut self.rng);
        let done = now + delivery + ms(self.cfg.costs.run_http_ms + exec);
        self.q.at(done, Event::Done { container, user });
    }

    fn done(&mut self, container: usize, user: u32) {
        self.containers[container].idle_since = self.q.now();
        let action = self.containers[container].action as usize;
        let u = self.users[user as usize];
        let durations = &mut self.queues[action].durations;
        durations.push_back(to_ms(self.q.now() - u.enqueued - u.wait));
        if durations.len() > DURATIONS_KEPT {
            durations.pop_front();
        }
        self.q
            .after(kafka_hop(&self.cfg.costs, &mut self.rng), Event::Ack(user));
        self.fetch(container);
    }

    fn ack(&mut self, user: u32) {
        let u = self.users[user as usize];
        self.rec.complete(u.sent, self.q.now(), u.wait, u.cold);
        self.send(user);
    }

    fn up(&mut self, container: usize, fresh: bool) {
        let now = self.q.now();
        let c = &mut self.containers[container];
        c.phase = Phase::Active;
        c.idle_since = now;
        let queue = &mut self.queues[c.action as usize];
        queue.in_progress -= 1;
        if queue.existing == 0 {
            queue.serving_since = now;
        }
        queue.existing += 1;
        // The activation a fresh container takes first paid for its cold start.
        if let (true, Some(&(user, _))) = (fresh, queue.waiting.front()) {
            self.users[user as usize].cold = true;
        }
        self.schedule_pause_check(container);
        self.fetch(container);
    }

    /// The next time `container` may have been unused for `pause-grace`: the grace after its
    /// last completion, at one of its 1 s long polls.
    fn schedule_pause_check(&mut self, container: usize) {
        let now = self.q.now();
        let grace = ms(self.cfg.cluster.pause_grace_ms);
        let due = (self.containers[container].idle_since + grace).max(now + 1);
        let poll = ms(self.rng.between(0.0, 1000.0));
        self.q.at(due + poll, Event::PauseCheck(container));
    }

    /// Pauses `container` if it is parked and unused for `pause-grace`, else checks again later.
    fn pause_check(&mut self, container: usize) {
        let now = self.q.now();
        let c = self.containers[container];
        if c.phase != Phase::Active {
            return;
        }
        let queue = &mut self.queues[c.action as usize];
        let unused = now >= c.idle_since + ms(self.cfg.cluster.pause_grace_ms);
        if !(unused && queue.parked.remove(&container)) {
            return self.schedule_pause_check(container);
        }
        queue.existing -= 1;
        queue.paused.push(container);
        self.containers[container].phase = Phase::Paused;
        let memory = self.cfg.cluster.action_memory_mb;
        self.invokers[c.invoker].pause(container, memory);
        let host = c.invoker % self.daemons.len();
        self.daemons[host].perform(DockerOp::Pause, now, &self.cfg.costs, &mut self.rng);
    }

    fn tick(&mut self) {
        let now = self.q.now();
        let (ns_existing, ns_in_progress) = self
            .queues
            .iter()
            .fold((0, 0), |(e, p), q| (e + q.existing, p + q.in_progress));
        for action in 0..self.queues.len() {
            self.queues[action].track_backlog(now);
            let snapshot = self.snapshot(action, now, ns_existing, ns_in_progress);
            let wanted = match self.policy.decide(&snapshot) {
                Decision::AddInitialContainer => {
                    self.queues[action].initialized = true;
                    1
                }
                Decision::AddContainer(n) => n,
                Decision::EnableNamespaceThrottling { add, .. } => add,
                _ => 0,
            };
            self.create(action, wanted);
        }
        self.q.after(ms(TICK_MS), Event::Tick);
    }

    fn snapshot(
        &self,
        action: usize,
        now: Micros,
        ns_existing: u32,
        ns_in_progress: u32,
    ) -> Snapshot {
        let q = &self.queues[action];
        let limit = self.cfg.cluster.namespace_limit;
        Snapshot {
            initialized: q.initialized,
            available_msgs: q.waiting.len() as u32,
            existing: q.existing,
            in_progress: q.in_progress,
            stale: q.stale(now),
            namespace_existing: ns_existing,
            namespace_in_progress: ns_in_progress,
            average_duration_ms: q.average_duration(),
            namespace_limit: limit,
            action_limit: limit,
            max_concurrency: 1,
            state: QueueState::Running,
            recent_wait_ms: q.wait_ms,
            backlog_ms: q.backlog.map_or(0, |(t, _)| to_ms(now - t) as u64),
            backlog_served: q.backlog.map_or(0, |(_, n)| n),
            quiet_ms: if q.existing == 0 {
                0
            } else {
                to_ms(now - q.last_progress) as u64
            },
        }
    }

    fn candidates(&self) -> Vec<InvokerCandidate> {
        (0..self.invokers.len())
            .map(|id| InvokerCandidate {
                id: id as i32,
                status: InvokerStatus::Up,
                free_memory_mb: self.invokers[id].reported_free_mb(),
                tags: Vec::new(),
                dedicated_namespaces: Vec::new(),
            })
            .collect()
    }

    /// Resumes paused containers of the action first (the scheduler prefers warmed keys), then
    /// places the rest with the scheduler's placement and starts them on their daemons.
    fn create(&mut self, action: usize, n: u32) {
        let mut n = n;
        while n > 0 {
            let Some(container) = self.queues[action].paused.pop() else {
                break;
            };
            self.resume(container);
            n -= 1;
        }
        if n == 0 {
            return;
        }
        let request = CreationRequest {
            invocation_namespace: NAMESPACE.to_string(),
            memory_mb: self.cfg.cluster.action_memory_mb,
            blackbox: false,
            required_tags: Vec::new(),
            strict_tags: true,
        };
        let invokers = self.candidates();
        if placement::eligible(&invokers, &request).is_empty() {
            self.rec.refused_creations += u64::from(n);
            return;
        }
        let requests = vec![request; n as usize];
        let placed = placement::schedule(
            &invokers,
            &requests,
            Fractions::default(),
            &mut self.chooser,
        );
        for result in placed {
            match result {
                Ok(id) => self.start_container(action, id as usize),
                Err(_) => self.rec.refused_creations += 1,
            }
        }
    }

    fn resume(&mut self, container: usize) {
        let now = self.q.now();
        let c = &mut self.containers[container];
        c.phase = Phase::Starting;
        let invoker = c.invoker;
        self.queues[c.action as usize].in_progress += 1;
        self.invokers[invoker].resume(container);
        let host = invoker % self.daemons.len();
        let up = self.daemons[host].perform(DockerOp::Unpause, now, &self.cfg.costs, &mut self.rng);
        let fresh = false;
        self.q.at(up, Event::Up { container, fresh });
    }

    fn start_container(&mut self, action: usize, invoker: usize) {
        let memory = self.cfg.cluster.action_memory_mb;
        let Some(evicted) = self.invokers[invoker].admit(memory) else {
            self.rec.refused_creations += 1;
            return;
        };
        for container in evicted {
            self.remove(container);
        }
        let now = self.q.now();
        self.queues[action].in_progress += 1;
        self.containers.push(Container {
            action: action as u32,
            invoker,
            phase: Phase::Starting,
            idle_since: now,
        });
        self.rec.creations += 1;
        let host = invoker % self.daemons.len();
        let up = self.daemons[host].perform(DockerOp::Run, now, &self.cfg.costs, &mut self.rng);
        let container = self.containers.len() - 1;
        let fresh = true;
        self.q.at(
            up + ms(self.cfg.costs.init_ms),
            Event::Up { container, fresh },
        );
    }

    /// Evicts a paused container: `docker rm` on its host, ahead of the creation that needs
    /// its memory.
    fn remove(&mut self, container: usize) {
        let c = &mut self.containers[container];
        c.phase = Phase::Removed;
        let (action, invoker) = (c.action as usize, c.invoker);
        self.queues[action].paused.retain(|&p| p != container);
        let host = invoker % self.daemons.len();
        let now = self.q.now();
        self.daemons[host].perform(DockerOp::Remove, now, &self.cfg.costs, &mut self.rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Costs;
    use ow_scheduler::decision::PolicyKind;

    /// A short cell under upstream's stock rule, whose first burst these tests take apart.
    fn cell(users: u32, actions: u32, warmup_s: f64) -> ModelConfig {
        ModelConfig {
            warmup_s,
            seconds: 2.0,
            policy: PolicyKind::Stock,
            ..ModelConfig::new(users, actions, Costs::talk())
        }
    }

    /// (existing + in progress) per action.
    fn containers_per_action(sim: &NewSim) -> Vec<u32> {
        sim.queues
            .iter()
            .map(|q| q.existing + q.in_progress)
            .collect()
    }

    #[test]
    fn the_first_burst_fills_the_cluster_unevenly() {
        // 200 users on 10 actions: at the second tick every queue has 20 stale activations and
        // the stock rule asks 19 containers for each; 190 do not fit in the 134 slots left, so
        // the last actions keep their initial container.
        let cfg = cell(200, 10, 0.0);
        let sim = run_to_end(&cfg);
        let per = containers_per_action(&sim);
        assert_eq!(per.iter().sum::<u32>(), 144, "{per:?}");
        assert_eq!(per.iter().min(), Some(&1), "{per:?}");
    }

    #[test]
    fn surplus_containers_pause_and_make_room_for_starved_actions() {
        let cfg = cell(200, 10, 15.0);
        let sim = run_to_end(&cfg);
        let per = containers_per_action(&sim);
        // The first burst left some actions with one container (test above).
        assert!(per.iter().all(|&n| n >= 4), "{per:?}");
        let phases = |p: Phase| sim.containers.iter().filter(|c| c.phase == p).count();
        assert!(phases(Phase::Paused) + phases(Phase::Removed) > 0);
        let free: i64 = sim.invokers.iter().map(|i| i.reported_free_mb()).sum();
        assert!(free > 0, "paused containers are reported free");
    }

    #[test]
    fn the_stock_rule_leaves_the_slowest_action_at_waits_under_the_stale_threshold() {
        // After the surplus paused, the action with the fewest containers holds most users in
        // its queue, but their waits stay under 100 ms, so no activation is stale, and with a
        // known duration the stock rule expects 100 / 2.7 = 37 activations per container per
        // tick: it adds none while fewer than 37 × existing wait.
        let cfg = cell(200, 10, 15.0);
        let sim = run_to_end(&cfg);
        let now = sim.q.now();
        let slowest = (0..sim.queues.len())
            .min_by_key(|&a| sim.queues[a].existing)
            .unwrap_or(0);
        let (ns_existing, ns_in_progress) = sim
            .queues
            .iter()
            .fold((0, 0), |(e, p), q| (e + q.existing, p + q.in_progress));
        let s = sim.snapshot(slowest, now, ns_existing, ns_in_progress);
        assert_eq!(s.stale, 0, "{s:?}");
        assert!(s.available_msgs > 10 * s.existing, "{s:?}");
        assert!(
            f64::from(s.available_msgs) < 37.0 * f64::from(s.existing),
            "{s:?}"
        );
        assert!(s.recent_wait_ms.is_some_and(|w| w > 25.0), "{s:?}");
        let stock = Policy::new(PolicyKind::Stock, Default::default());
        assert_eq!(stock.decide(&s), Decision::Skip);
    }
}
