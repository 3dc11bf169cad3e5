//! Kafka through rdkafka, configured as OpenWhisk configures its clients (spec 3.1, 3.2).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::env::{services, unreachable};

/// `max.request.size` of OpenWhisk's producers: `payload.max` (1 MiB) + serdes overhead (6068).
pub const MAX_REQUEST_SIZE: u64 = 1_054_644;

/// One topic config block of OpenWhisk (`whisk.kafka.topics.<block>`), spec 3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicConfig {
    /// The block name, e.g. `scheduler`.
    pub block: &'static str,
    /// `retention.ms`.
    pub retention_ms: u64,
    /// `retention.bytes`.
    pub retention_bytes: u64,
    /// `segment.bytes`.
    pub segment_bytes: u64,
    /// `max.message.bytes`, if the block sets it.
    pub max_message_bytes: Option<u64>,
}

const GIB: u64 = 1_073_741_824;
const HALF_GIB: u64 = 536_870_912;

/// `{p}scheduler<sid>`: activations for a scheduler.
pub const SCHEDULER: TopicConfig = TopicConfig {
    block: "scheduler",
    retention_ms: 86_400_000,
    retention_bytes: GIB,
    segment_bytes: HALF_GIB,
    max_message_bytes: Some(MAX_REQUEST_SIZE),
};
/// `{p}creationAck<sid>`: container creation acks for a scheduler.
pub const CREATION_ACK: TopicConfig = TopicConfig {
    block: "creationAck",
    retention_ms: 3_600_000,
    retention_bytes: GIB,
    segment_bytes: HALF_GIB,
    max_message_bytes: Some(MAX_REQUEST_SIZE),
};
/// `{p}invoker<i>`: container creation and deletion messages for an invoker.
pub const INVOKER: TopicConfig = TopicConfig {
    block: "invoker",
    retention_ms: 172_800_000,
    retention_bytes: GIB,
    segment_bytes: HALF_GIB,
    max_message_bytes: Some(MAX_REQUEST_SIZE),
};
/// `{p}completed<cid>`: acknowledgements for a controller.
pub const COMPLETED: TopicConfig = TopicConfig {
    block: "completed",
    retention_ms: 3_600_000,
    retention_bytes: GIB,
    segment_bytes: HALF_GIB,
    max_message_bytes: Some(MAX_REQUEST_SIZE),
};
/// `{u}events`: user events (no `max.message.bytes`).
pub const EVENTS: TopicConfig = TopicConfig {
    block: "events",
    retention_ms: 3_600_000,
    retention_bytes: GIB,
    segment_bytes: HALF_GIB,
    max_message_bytes: None,
};

impl TopicConfig {
    /// The topic-level configs this block sets, as Kafka names and values.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("retention.ms", self.retention_ms.to_string()),
            ("retention.bytes", self.retention_bytes.to_string()),
            ("segment.bytes", self.segment_bytes.to_string()),
        ];
        if let Some(m) = self.max_message_bytes {
            v.push(("max.message.bytes", m.to_string()));
        }
        v
    }
}

/// A Kafka connection for tests: the broker list and an admin client.
#[derive(Debug)]
pub struct Kafka {
    brokers: String,
    admin: AdminClient<DefaultClientContext>,
}

fn admin_options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(10)))
        .operation_timeout(Some(Duration::from_secs(10)))
}

impl Kafka {
    /// Connects to `OW_KAFKA_BROKERS` and checks that a broker answers a metadata request.
    pub async fn connect() -> anyhow::Result<Self> {
        Self::connect_to(&services().kafka_brokers).await
    }

    /// Connects to `brokers` and checks that a broker answers a metadata request.
    pub async fn connect_to(brokers: &str) -> anyhow::Result<Self> {
        let probe_brokers = brokers.to_owned();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let probe: BaseConsumer = base_config(&probe_brokers)
                .set("client.id", "ow-tests-probe")
                .create()
                .with_context(|| format!("Kafka: creating a client for {probe_brokers}"))?;
            probe
                .fetch_metadata(None, Duration::from_secs(5))
                .map(drop)
                .with_context(|| unreachable("Kafka", &probe_brokers))
        })
        .await
        .context("Kafka: the metadata probe task failed")??;
        let admin = base_config(brokers)
            .set("client.id", "ow-tests-admin")
            .create()
            .with_context(|| format!("Kafka: creating an admin client for {brokers}"))?;
        Ok(Self {
            brokers: brokers.to_owned(),
            admin,
        })
    }

    /// The bootstrap servers.
    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// The admin client.
    pub fn admin(&self) -> &AdminClient<DefaultClientContext> {
        &self.admin
    }

    /// Creates `name` with one partition, replication 1 and the configs of `config`, as OpenWhisk's
    /// `ensureTopic` does; a topic that already exists is accepted.
    pub async fn create_topic(&self, name: &str, config: &TopicConfig) -> anyhow::Result<()> {
        let entries = config.entries();
        let topic = entries.iter().fold(
            NewTopic::new(name, 1, TopicReplication::Fixed(1)),
            |t, (k, v)| t.set(k, v),
        );
        let results = self
            .admin
            .create_topics([&topic], &admin_options())
            .await
            .with_context(|| {
                format!(
                    "Kafka at {}: create topic {name} ({} block)",
                    self.brokers, config.block
                )
            })?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((t, code)) => bail!("Kafka at {}: create topic {t}: {code}", self.brokers),
            }
        }
        Ok(())
    }

    /// Every config of topic `name` with a value, as the broker reports them.
    pub async fn topic_config(&self, name: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let what = || {
            format!(
                "Kafka at {}: describe configs of topic {name}",
                self.brokers
            )
        };
        let results = self
            .admin
            .describe_configs([&ResourceSpecifier::Topic(name)], &admin_options())
            .await
            .with_context(what)?;
        let resource = results
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("no result"))
            .with_context(what)?
            .map_err(|code| anyhow!("{code}"))
            .with_context(what)?;
        Ok(resource
            .entries
            .into_iter()
            .filter_map(|e| e.value.map(|v| (e.name, v)))
            .collect())
    }

    /// Deletes topics (a topic that does not exist is fine).
    pub async fn delete_topics(&self, names: &[&str]) -> anyhow::Result<()> {
        let results = self
            .admin
            .delete_topics(names, &admin_options())
            .await
            .with_context(|| format!("Kafka at {}: delete topics {names:?}", self.brokers))?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
                Err((t, code)) => bail!("Kafka at {}: delete topic {t}: {code}", self.brokers),
            }
        }
        Ok(())
    }

    /// A producer configured as OpenWhisk's producers with a size limit: `acks=1`,
    /// `request.timeout.ms=30000`, `metadata.max.age.ms=15000`, max request size 1054644 bytes.
    /// Delivery fails after 10 s instead of librdkafka's 5 minutes, so a test fails promptly.
    pub fn producer(&self) -> anyhow::Result<FutureProducer> {
        base_config(&self.brokers)
            .set("client.id", "ow-tests-producer")
            .set("acks", "1")
            .set("request.timeout.ms", "30000")
            .set("metadata.max.age.ms", "15000")
            .set("message.max.bytes", MAX_REQUEST_SIZE.to_string())
            .set("message.timeout.ms", "10000")
            .create()
            .with_context(|| format!("Kafka at {}: creating a producer", self.brokers))
    }

    /// A consumer of `topic` configured as OpenWhisk's consumers (group = topic, client id
    /// `consumer-<topic>`, no auto commit, earliest offset when the group has none), subscribed.
    pub fn consumer(&self, topic: &str) -> anyhow::Result<StreamConsumer> {
        let consumer: StreamConsumer = base_config(&self.brokers)
            .set("client.id", format!("consumer-{topic}"))
            .set("group.id", topic)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "30000")
            .set("heartbeat.interval.ms", "10000")
            .set("max.poll.interval.ms", "1800000")
            .set("fetch.wait.max.ms", "500")
            .create()
            .with_context(|| {
                format!("Kafka at {}: creating a consumer of {topic}", self.brokers)
            })?;
        consumer
            .subscribe(&[topic])
            .with_context(|| format!("Kafka at {}: subscribe to {topic}", self.brokers))?;
        Ok(consumer)
    }
}

fn base_config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("security.protocol", "plaintext")
        .set("socket.connection.setup.timeout.ms", "5000");
    c
}

/// Sends `payload` to `topic` with a null key (as OpenWhisk does); returns (partition, offset).
pub async fn produce(
    producer: &FutureProducer,
    topic: &str,
    payload: &str,
) -> anyhow::Result<(i32, i64)> {
    let record: FutureRecord<'_, (), str> = FutureRecord::to(topic).payload(payload);
    producer
        .send(record, Timeout::After(Duration::from_secs(10)))
        .await
        .map(|d| (d.partition, d.offset))
        .map_err(|(e, _)| anyhow!(e))
        .with_context(|| format!("Kafka: produce {} bytes to {topic}", payload.len()))
}

/// The next record of `consumer`, waiting at most `timeout`.
pub async fn recv(consumer: &StreamConsumer, timeout: Duration) -> anyhow::Result<OwnedMessage> {
    let subscribed = subscription(consumer);
    match tokio::time::timeout(timeout, consumer.recv()).await {
        Ok(Ok(m)) => Ok(m.detach()),
        Ok(Err(e)) => Err(anyhow!(e)).with_context(|| format!("Kafka: receive from {subscribed}")),
        Err(_) => bail!("Kafka: no record from {subscribed} within {timeout:?}"),
    }
}

/// The next record of `consumer`, its offset then committed synchronously, as OpenWhisk's consumer
/// loop commits right after each poll (at-most-once).
pub async fn recv_and_commit(
    consumer: &StreamConsumer,
    timeout: Duration,
) -> anyhow::Result<OwnedMessage> {
    let subscribed = subscription(consumer);
    let borrowed = match tokio::time::timeout(timeout, consumer.recv()).await {
        Ok(r) => r.with_context(|| format!("Kafka: receive from {subscribed}"))?,
        Err(_) => bail!("Kafka: no record from {subscribed} within {timeout:?}"),
    };
    consumer
        .commit_message(&borrowed, CommitMode::Sync)
        .with_context(|| {
            format!(
                "Kafka: commit offset {} of {}[{}]",
                borrowed.offset(),
                borrowed.topic(),
                borrowed.partition()
            )
        })?;
    Ok(borrowed.detach())
}

/// The offset the consumer's group has committed for `topic`[`partition`], if any.
pub fn committed_offset(
    consumer: &StreamConsumer,
    topic: &str,
    partition: i32,
) -> anyhow::Result<Option<i64>> {
    let list = consumer
        .committed(Duration::from_secs(5))
        .with_context(|| format!("Kafka: committed offsets of the group consuming {topic}"))?;
    Ok(list
        .find_partition(topic, partition)
        .and_then(|p| p.offset().to_raw()))
}

/// The record's payload as UTF-8 text.
pub fn payload_text(m: &OwnedMessage) -> anyhow::Result<&str> {
    let bytes = m.payload().unwrap_or_default();
    std::str::from_utf8(bytes).with_context(|| {
        format!(
            "Kafka: payload of {}[{}]@{} is not UTF-8",
            m.topic(),
            m.partition(),
            m.offset()
        )
    })
}

fn subscription(consumer: &StreamConsumer) -> String {
    consumer
        .subscription()
        .map(|l| {
            l.elements()
                .iter()
                .map(|e| e.topic().to_owned())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|_| "<unknown subscription>".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_block_matches_the_spec() {
        let e = SCHEDULER.entries();
        assert_eq!(
            e,
            vec![
                ("retention.ms", "86400000".to_owned()),
                ("retention.bytes", "1073741824".to_owned()),
                ("segment.bytes", "536870912".to_owned()),
                ("max.message.bytes", "1054644".to_owned()),
            ]
        );
        assert_eq!(EVENTS.entries().len(), 3);
    }
}
