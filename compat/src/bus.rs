//! Kafka, the way the stock components use it: records with no key and a JSON value; one
//! consumer group per topic named after the topic; offsets committed synchronously right after
//! each poll (at-most-once, as stock).

use std::future::Future;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A Kafka operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The client could not be created.
    #[error("kafka client for {brokers} could not be created: {reason}")]
    Client { brokers: String, reason: String },
    /// A record could not be produced.
    #[error("producing to {topic} failed: {reason}")]
    Produce { topic: String, reason: String },
    /// A topic could not be created.
    #[error("creating topic {topic} failed: {reason}")]
    Topic { topic: String, reason: String },
}

/// Sends JSON records.
pub trait MessageBus: Clone + Send + Sync + 'static {
    /// Produces `payload` to `topic` with no key.
    fn send(
        &self,
        topic: &str,
        payload: String,
    ) -> impl Future<Output = Result<(), BusError>> + Send;
    /// Creates `topic` with these settings unless it exists.
    fn ensure_topic(
        &self,
        topic: &str,
        configs: &[(&str, &str)],
    ) -> impl Future<Output = Result<(), BusError>> + Send;
    /// Consumes `topic` as its consumer group; records arrive until `shutdown`.
    fn subscribe(
        &self,
        topic: &str,
        shutdown: CancellationToken,
    ) -> Result<mpsc::Receiver<Record>, BusError>;
}

/// The Kafka producer (`acks=1`, size limit as the stock producers with a limit).
#[derive(Clone)]
pub struct KafkaBus {
    producer: FutureProducer,
    brokers: String,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KafkaBus")
    }
}

/// `payload.max` + serdes overhead, in bytes.
const MAX_REQUEST_SIZE: &str = "1054644";

impl KafkaBus {
    /// A producer for `brokers` (`host:port,...`).
    pub fn new(brokers: &str) -> Result<Self, BusError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("acks", "1")
            .set("request.timeout.ms", "30000")
            .set("metadata.max.age.ms", "15000")
            .set("message.max.bytes", MAX_REQUEST_SIZE)
            .set("linger.ms", "0")
            .create()
            .map_err(|e| BusError::Client {
                brokers: brokers.into(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            producer,
            brokers: brokers.to_owned(),
        })
    }
}

impl MessageBus for KafkaBus {
    async fn send(&self, topic: &str, payload: String) -> Result<(), BusError> {
        let record: FutureRecord<'_, (), String> = FutureRecord::to(topic).payload(&payload);
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|_| ())
            .map_err(|(e, _)| BusError::Produce {
                topic: topic.into(),
                reason: e.to_string(),
            })
    }

    async fn ensure_topic(&self, topic: &str, configs: &[(&str, &str)]) -> Result<(), BusError> {
        ensure_topic(&self.brokers, topic, configs).await
    }

    fn subscribe(
        &self,
        topic: &str,
        shutdown: CancellationToken,
    ) -> Result<mpsc::Receiver<Record>, BusError> {
        let (tx, rx) = mpsc::channel(256);
        consume(&self.brokers, topic, tx, shutdown)?;
        Ok(rx)
    }
}

/// Creates `topic` with OpenWhisk's settings if it does not exist.
pub async fn ensure_topic(
    brokers: &str,
    topic: &str,
    configs: &[(&str, &str)],
) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| BusError::Client {
            brokers: brokers.into(),
            reason: e.to_string(),
        })?;
    let mut new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    for (k, v) in configs {
        new_topic = new_topic.set(k, v);
    }
    let results = admin
        .create_topics(
            [&new_topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .map_err(|e| BusError::Topic {
            topic: topic.into(),
            reason: e.to_string(),
        })?;
    for r in results {
        match r {
            Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(BusError::Topic {
                    topic: topic.into(),
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// One consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its topic.
    pub topic: String,
    /// Its offset (for logs about records that are skipped).
    pub offset: i64,
    /// Its value.
    pub payload: Vec<u8>,
}

/// How often offsets of records already read are committed.
const COMMIT_EVERY: Duration = Duration::from_millis(20);

/// Consumes `topic` in group `topic` and hands each record to `out`. Offsets are committed once
/// a record is read, before it is handled, as the stock feed does, but asynchronously and at most
/// every [`COMMIT_EVERY`]: a synchronous commit per record blocked the runtime for a broker round
/// trip each time and capped the intake. A crash may re-deliver the last few milliseconds of
/// records rather than lose any.
pub fn consume(
    brokers: &str,
    topic: &str,
    out: mpsc::Sender<Record>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", topic)
        .set("client.id", format!("consumer-{topic}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "30000")
        .set("heartbeat.interval.ms", "10000")
        .set("max.poll.interval.ms", "1800000")
        .set("fetch.wait.max.ms", "500")
        .create()
        .map_err(|e| BusError::Client {
            brokers: brokers.into(),
            reason: e.to_string(),
        })?;
    consumer.subscribe(&[topic]).map_err(|e| BusError::Client {
        brokers: brokers.into(),
        reason: e.to_string(),
    })?;
    let topic = topic.to_owned();
    tokio::spawn(async move {
        let mut uncommitted = false;
        let mut last_commit = tokio::time::Instant::now();
        loop {
            let msg = tokio::select! {
                () = shutdown.cancelled() => {
                    if uncommitted {
                        commit(&consumer, &topic, CommitMode::Sync);
                    }
                    return;
                }
                m = consumer.recv() => m,
                () = tokio::time::sleep_until(last_commit + COMMIT_EVERY), if uncommitted => {
                    commit(&consumer, &topic, CommitMode::Async);
                    (uncommitted, last_commit) = (false, tokio::time::Instant::now());
                    continue;
                }
            };
            let record = match msg {
                Ok(m) => Record {
                    topic: topic.clone(),
                    offset: m.offset(),
                    payload: m.payload().unwrap_or_default().to_vec(),
                },
                Err(e) => {
                    tracing::warn!(%topic, error = %e, "kafka consume error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            uncommitted = true;
            if last_commit.elapsed() >= COMMIT_EVERY {
                commit(&consumer, &topic, CommitMode::Async);
                (uncommitted, last_commit) = (false, tokio::time::Instant::now());
            }
            if out.send(record).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

fn commit(consumer: &StreamConsumer, topic: &str, mode: CommitMode) {
    if let Err(e) = consumer.commit_consumer_state(mode) {
        tracing::warn!(%topic, error = %e, "kafka offset commit failed");
    }
}

/// An in-process bus with one consumer per topic, for benchmarks and the standalone mode:
/// records sent before the consumer subscribes wait for it.
#[derive(Debug, Clone, Default)]
pub struct LocalBus {
    topics: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, LocalTopic>>>,
}

#[derive(Debug)]
struct LocalTopic {
    tx: mpsc::UnboundedSender<Record>,
    rx: Option<mpsc::UnboundedReceiver<Record>>,
    offset: i64,
}

impl LocalBus {
    fn with_topic<T>(&self, topic: &str, f: impl FnOnce(&mut LocalTopic) -> T) -> T {
        let mut topics = self
            .topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = topics.entry(topic.to_owned()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            LocalTopic {
                tx,
                rx: Some(rx),
                offset: 0,
            }
        });
        f(entry)
    }
}

impl MessageBus for LocalBus {
    async fn send(&self, topic: &str, payload: String) -> Result<(), BusError> {
        self.with_topic(topic, |t| {
            t.offset += 1;
            let record = Record {
                topic: topic.to_owned(),
                offset: t.offset,
                payload: payload.into_bytes(),
            };
            t.tx.send(record).map_err(|_| BusError::Produce {
                topic: topic.into(),
                reason: "consumer gone".into(),
            })
        })
    }

    async fn ensure_topic(&self, topic: &str, _configs: &[(&str, &str)]) -> Result<(), BusError> {
        self.with_topic(topic, |_| ());
        Ok(())
    }

    fn subscribe(
        &self,
        topic: &str,
        shutdown: CancellationToken,
    ) -> Result<mpsc::Receiver<Record>, BusError> {
        let mut inner =
            self.with_topic(topic, |t| t.rx.take())
                .ok_or_else(|| BusError::Client {
                    brokers: "local".into(),
                    reason: format!("{topic} already has a consumer"),
                })?;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let record = tokio::select! {
                    () = shutdown.cancelled() => return,
                    r = inner.recv() => r,
                };
                let Some(r) = record else { return };
                if tx.send(r).await.is_err() {
                    return;
                }
            }
        });
        Ok(rx)
    }
}
