//! Load like the stock controller's: blocking `ActivationMessage`s produced to the scheduler's
//! `scheduler<N>` topic with `rootControllerIndex` naming this controller, and the acks read
//! from `completed<C>` (result, completion, or both combined). Users in a closed loop (invoke,
//! wait for the result, repeat) or an open-loop rate; actions taken round robin.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::bus::{BusError, KafkaBus, MessageBus};
use ow_compat::ids::{epoch_millis, random_hex32};
use ow_compat::messages::{AcknowledgementMessage, ActivationMessage};
use ow_compat::topics::{TopicError, TopicKind, TopicPrefix};
use ow_compat::values::{ActivationId, TransactionId};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::slice::{ActionRef, Slice};
use super::tracker::{Delivery, Tracker};

/// How long a user waits for a result before giving up on it (the controller's blocking wait).
const RESULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The load generator could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("controller {controller}: {source}")]
    Topic {
        controller: String,
        source: TopicError,
    },
    #[error("controller: {0}")]
    Bus(#[from] BusError),
    #[error("controller: activation template for action {action}: {reason}")]
    Template { action: String, reason: String },
    #[error("controller: ack consumer of {topic}: {reason}")]
    Consumer { topic: String, reason: String },
}

/// A controller-like load generator.
#[derive(Debug)]
pub struct Controller {
    bus: KafkaBus,
    scheduler_topic: String,
    templates: Vec<ActivationMessage>,
    tracker: Mutex<Tracker>,
    start: Instant,
    next: AtomicU64,
    pub send_errors: AtomicU64,
    pub timeouts: AtomicU64,
}

impl Controller {
    /// Creates `completed<controller>`, starts reading it, and prepares one message per action
    /// for scheduler `scheduler`.
    pub async fn start(
        slice: &Slice,
        bus: KafkaBus,
        actions: &[ActionRef],
        controller: &str,
        scheduler: &str,
        stop: CancellationToken,
    ) -> Result<Arc<Self>, LoadError> {
        let topic_error = |source| LoadError::Topic {
            controller: controller.to_owned(),
            source,
        };
        let topics = TopicPrefix::new(&slice.prefix, "").map_err(topic_error)?;
        let completed = topics.completed(controller).map_err(topic_error)?;
        bus.ensure_topic(&completed, TopicKind::Completed.topic_configs())
            .await?;
        let templates = actions
            .iter()
            .map(|a| template(&slice.namespace, a, controller))
            .collect::<Result<_, _>>()?;
        let this = Arc::new(Self {
            bus,
            scheduler_topic: topics.scheduler(scheduler).map_err(topic_error)?,
            templates,
            tracker: Mutex::default(),
            start: Instant::now(),
            next: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
        });
        let consumer = ack_consumer(&slice.services.kafka, &completed)?;
        tokio::spawn(Arc::clone(&this).read_acks(consumer, stop));
        Ok(this)
    }

    /// Milliseconds since the controller started.
    pub fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    fn book<T>(&self, f: impl FnOnce(&mut Tracker) -> T) -> T {
        let mut guard = self
            .tracker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Produces the next activation (round robin over the actions).
    async fn invoke(&self, waiter: Option<oneshot::Sender<()>>) -> bool {
        let n = self.next.fetch_add(1, Ordering::Relaxed) as usize;
        let mut msg = self.templates[n % self.templates.len()].clone();
        let id = random_hex32();
        msg.transid = TransactionId::new(random_hex32(), epoch_millis());
        msg.activation_id = match ActivationId::parse(&id) {
            Ok(a) => a,
            Err(_) => return false,
        };
        self.book(|t| t.sent(id, self.now_ms(), waiter));
        match self.bus.send(&self.scheduler_topic, msg.encode()).await {
            Ok(()) => true,
            Err(e) => {
                self.send_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "activation not produced");
                false
            }
        }
    }

    /// One user: invoke, wait for the result, repeat until `stop`.
    async fn user(self: Arc<Self>, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let (tx, rx) = oneshot::channel();
            if !self.invoke(Some(tx)).await {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            if tokio::time::timeout(RESULT_TIMEOUT, rx).await.is_err() {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// `users` closed-loop users until `stop`.
    pub fn closed_loop(self: &Arc<Self>, users: u32, stop: &CancellationToken) {
        for _ in 0..users {
            tokio::spawn(Arc::clone(self).user(stop.clone()));
        }
    }

    /// `rate` activations per second, each on its own, until `stop`.
    pub fn open_loop(self: &Arc<Self>, rate: f64, stop: &CancellationToken) {
        let this = Arc::clone(self);
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while !stop.is_cancelled() {
                tick.tick().await;
                let this = Arc::clone(&this);
                tokio::spawn(async move { this.invoke(None).await });
            }
        });
    }

    /// Waits until every activation sent has its acks, or `limit` passed.
    pub async fn drain(&self, limit: Duration) -> Delivery {
        let until = Instant::now() + limit;
        loop {
            let d = self.delivery();
            if d.missing == 0 || Instant::now() >= until {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn delivery(&self) -> Delivery {
        self.book(|t| t.delivery())
    }

    /// Activations so far that paid a cold start.
    pub fn cold_starts(&self) -> u64 {
        self.book(|t| t.cold_starts())
    }

    pub fn samples(&self) -> Vec<super::stats::Sample> {
        self.book(|t| t.samples().to_vec())
    }

    async fn read_acks(self: Arc<Self>, consumer: StreamConsumer, stop: CancellationToken) {
        loop {
            let msg = tokio::select! {
                () = stop.cancelled() => return,
                m = consumer.recv() => m,
            };
            let payload = match &msg {
                Ok(m) => m.payload().unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %e, "ack consumer error");
                    continue;
                }
            };
            match AcknowledgementMessage::decode(payload) {
                Ok(ack) => {
                    let now = self.now_ms();
                    self.book(|t| t.ack(&ack, now));
                }
                Err(e) => tracing::warn!(error = %e, "unreadable ack skipped"),
            }
        }
    }
}

/// The acks consumer. Unlike the stock controller it commits in the background: the bench
/// must not be what limits the figure.
fn ack_consumer(brokers: &str, topic: &str) -> Result<StreamConsumer, LoadError> {
    let error = |e: rdkafka::error::KafkaError| LoadError::Consumer {
        topic: topic.to_owned(),
        reason: e.to_string(),
    };
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", topic)
        .set("enable.auto.commit", "true")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .create()
        .map_err(error)?;
    consumer.subscribe(&[topic]).map_err(error)?;
    Ok(consumer)
}

/// A stock blocking `ActivationMessage` for `action`, ids to be filled per invocation.
fn template(
    namespace: &str,
    action: &ActionRef,
    controller: &str,
) -> Result<ActivationMessage, LoadError> {
    let (name, rev) = (&action.name, &action.revision);
    let id = random_hex32();
    let json = format!(
        r#"{{"action":{{"name":"{name}","path":"{namespace}","version":"0.0.1"}},"activationId":"{id}","blocking":true,"content":{{"name":"bench"}},"initArgs":[],"lockedArgs":{{}},"revision":"{rev}","rootControllerIndex":{{"asString":"{controller}","instanceType":"controller"}},"transid":["{id}",0],"user":{{"authkey":{{"api_key":"a:b"}},"limits":{{}},"namespace":{{"name":"{namespace}","uuid":"u"}},"rights":["READ","PUT","DELETE","ACTIVATE"],"subject":"{namespace}-bench"}}}}"#
    );
    ActivationMessage::decode(json.as_bytes()).map_err(|e| LoadError::Template {
        action: name.clone(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_stock_activation_messages_for_this_controller() {
        let action = ActionRef {
            name: "bench7".into(),
            revision: "1-abc".into(),
        };
        let msg = template("guest", &action, "3").expect("template");
        assert_eq!(msg.root_controller_index.as_string, "3");
        assert!(msg.blocking);
        assert_eq!(msg.action.doc_id(), "guest/bench7");
        assert_eq!(msg.revision.as_str(), Some("1-abc"));
    }
}
