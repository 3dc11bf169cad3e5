//! The new design in virtual time: activations go to their action's queue (a Kafka hop);
//! every 100 ms each queue asks the scheduler's real provisioning rule
//! (`ow_scheduler::decision::Policy`, paced by default, stock on request) for containers, which the scheduler's real placement
//! (`ow_scheduler::placement`) puts on invokers; a container pulls its action's next activation
//! as soon as it is free (a gRPC round trip, half of one when its poll was already parked).

use std::collections::VecDeque;

use ow_compat::messages::InvokerStatus;
use ow_scheduler::decision::{Decision, Policy, ProvisioningPolicy, QueueState, Snapshot};
use ow_scheduler::placement::{self, CreationRequest, Fractions, InvokerCandidate, XorShift};

use super::costs::{Daemon, DockerOp, kafka_hop};
use super::events::{EventQueue, Micros, ms, to_ms};
use super::old::NAMESPACE;
use super::recorder::Recorder;
use super::rng::SplitMix64;
use super::{ModelConfig, RoundRobin};

/// `whisk.scheduler.scheduling.check-interval`.
const TICK_MS: f64 = 100.0;
/// `whisk.scheduler.queue.duration-buffer-size`.
const DURATIONS_KEPT: usize = 10;

#[derive(Debug, Clone, Copy)]
enum Event {
    /// The user's activation reaches its queue.
    Enqueue(u32),
    /// A container finished the user's activation.
    Done { container: usize, user: u32 },
    /// The result reaches the user.
    Ack(u32),
    /// A created container is up and sends its first fetch.
    Up(usize),
    /// The decision loop of every queue.
    Tick,
}

#[derive(Debug, Default)]
struct Queue {
    /// (user, enqueued at), oldest first.
    waiting: VecDeque<(u32, Micros)>,
    /// Containers whose fetch is parked, waiting for an activation.
    parked: Vec<usize>,
    existing: u32,
    in_progress: u32,
    initialized: bool,
    durations: VecDeque<f64>,
    /// When a container last fetched or was handed an activation.
    last_progress: Micros,
}

impl Queue {
    fn average_duration(&self) -> Option<f64> {
        let n = self.durations.len();
        (n > 0).then(|| self.durations.iter().sum::<f64>() / n as f64)
    }

    fn stale(&self, now: Micros) -> u32 {
        let threshold = now.saturating_sub(ms(TICK_MS));
        self.waiting.partition_point(|&(_, at)| at < threshold) as u32
    }
}

#[derive(Debug, Clone, Copy)]
struct Invoker {
    free_mb: i64,
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
    /// The action of each container ever created.
    containers: Vec<u32>,
    invokers: Vec<Invoker>,
    daemons: Vec<Daemon>,
    users: Vec<InFlight>,
    actions: RoundRobin,
    rec: Recorder,
}

/// Runs the new design and returns what it measured.
pub fn simulate(cfg: &ModelConfig) -> Recorder {
    let mut sim = NewSim::new(cfg);
    for user in 0..cfg.users {
        sim.send(user);
    }
    sim.q.at(ms(TICK_MS), Event::Tick);
    let (_, end) = cfg.window();
    while let Some(event) = sim.q.pop_until(end) {
        sim.handle(event);
    }
    sim.rec
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
            invokers: vec![
                Invoker {
                    free_mb: c.user_memory_mb
                };
                c.invokers
            ],
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
            Event::Up(container) => self.up(container),
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
        match self.queues[action].parked.pop() {
            // The parked poll is answered: half a round trip to the container.
            Some(container) => {
                self.queues[action].last_progress = now;
                self.execute(container, user, ms(self.cfg.costs.grpc_rtt_ms / 2.0))
            }
            None => self.queues[action].waiting.push_back((user, now)),
        }
    }

    /// The container fetches: the next activation of its action, or it parks.
    fn fetch(&mut self, container: usize) {
        let action = self.containers[container] as usize;
        self.queues[action].last_progress = self.q.now();
        match self.queues[action].waiting.pop_front() {
            Some((user, _)) => self.execute(container, user, ms(self.cfg.costs.grpc_rtt_ms)),
            None => self.queues[action].parked.push(container),
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
        let action = self.containers[container] as usize;
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

    fn up(&mut self, container: usize) {
        let action = self.containers[container] as usize;
        let queue = &mut self.queues[action];
        queue.in_progress -= 1;
        queue.existing += 1;
        // The activation a fresh container takes first paid for its cold start.
        if let Some(&(user, _)) = queue.waiting.front() {
            self.users[user as usize].cold = true;
        }
        self.fetch(container);
    }

    fn tick(&mut self) {
        let now = self.q.now();
        let (ns_existing, ns_in_progress) = self
            .queues
            .iter()
            .fold((0, 0), |(e, p), q| (e + q.existing, p + q.in_progress));
        for action in 0..self.queues.len() {
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
            recent_wait_ms: None,
            backlog_ms: 0,
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
                free_memory_mb: self.invokers[id].free_mb,
                tags: Vec::new(),
                dedicated_namespaces: Vec::new(),
            })
            .collect()
    }

    /// Places `n` creations with the scheduler's placement and starts them on their daemons.
    fn create(&mut self, action: usize, n: u32) {
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

    fn start_container(&mut self, action: usize, invoker: usize) {
        let now = self.q.now();
        self.invokers[invoker].free_mb -= self.cfg.cluster.action_memory_mb;
        self.queues[action].in_progress += 1;
        self.containers.push(action as u32);
        self.rec.creations += 1;
        let host = invoker % self.daemons.len();
        let up = self.daemons[host].perform(DockerOp::Run, now, &self.cfg.costs, &mut self.rng);
        self.q.at(
            up + ms(self.cfg.costs.init_ms),
            Event::Up(self.containers.len() - 1),
        );
    }
}
