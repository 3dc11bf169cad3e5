//! Kafka topic names, the topic configs each component creates them with, and the client
//! settings that shape what goes over the wire (spec 3.1, 3.2).

/// Longest controller or scheduler id: it becomes part of topic names.
pub const MAX_INSTANCE_ID_CHARS: usize = 128;

/// Kafka's limit on topic names.
pub const MAX_TOPIC_CHARS: usize = 249;

/// Longest accepted topic prefix: with it, the longest name we build (`creationAck` plus a
/// 128-character id) still fits Kafka's 249 characters, so name builders need no length check.
pub const MAX_PREFIX_CHARS: usize = MAX_TOPIC_CHARS - "creationAck".len() - MAX_INSTANCE_ID_CHARS;

/// `whisk.activation.payload.max` default, in bytes (1 MiB).
pub const DEFAULT_PAYLOAD_MAX: u64 = 1_048_576;

/// `whisk.activation.kafka.serdes-overhead` default, in bytes.
pub const DEFAULT_SERDES_OVERHEAD: u64 = 6_068;

/// `max.message.bytes` / `max.request.size` with the defaults: payload max + serdes overhead.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = DEFAULT_PAYLOAD_MAX + DEFAULT_SERDES_OVERHEAD;

/// A topic prefix or instance id that cannot be part of a topic name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// A controller or scheduler id outside `[a-zA-Z0-9._-]{1,128}`.
    #[error("{kind} id {id:?} must match [a-zA-Z0-9._-]+ and have at most 128 characters")]
    InvalidInstanceId {
        /// `controller` or `scheduler`.
        kind: &'static str,
        /// The id as given.
        id: String,
    },
    /// A prefix with characters Kafka rejects in topic names, or too long.
    #[error("topic prefix {prefix:?} must match [a-zA-Z0-9._-]* and have at most 110 characters")]
    InvalidPrefix {
        /// The prefix as given.
        prefix: String,
    },
}

fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Checks a controller or scheduler id the way `ControllerInstanceId` does (`kind` names it
/// in the error).
pub fn validate_instance_id(kind: &'static str, id: &str) -> Result<(), TopicError> {
    let valid =
        !id.is_empty() && id.len() <= MAX_INSTANCE_ID_CHARS && id.chars().all(is_topic_char);
    if valid {
        Ok(())
    } else {
        Err(TopicError::InvalidInstanceId {
            kind,
            id: id.to_owned(),
        })
    }
}

/// The two configurable prefixes: `whisk.kafka.topics.prefix` for every topic but `events`,
/// which takes `whisk.kafka.topics.user-event.prefix`. Both default to empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TopicPrefix {
    prefix: String,
    user_event_prefix: String,
}

impl TopicPrefix {
    /// Validates both prefixes (topic characters only, at most [`MAX_PREFIX_CHARS`]).
    pub fn new(prefix: &str, user_event_prefix: &str) -> Result<Self, TopicError> {
        for p in [prefix, user_event_prefix] {
            if p.len() > MAX_PREFIX_CHARS || !p.chars().all(is_topic_char) {
                return Err(TopicError::InvalidPrefix {
                    prefix: p.to_owned(),
                });
            }
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            user_event_prefix: user_event_prefix.to_owned(),
        })
    }

    /// The general prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn with_id(&self, name: &str, kind: &'static str, id: &str) -> Result<String, TopicError> {
        validate_instance_id(kind, id)?;
        Ok(format!("{}{name}{id}", self.prefix))
    }

    /// `{p}scheduler<sid>`: activations for one scheduler.
    pub fn scheduler(&self, sid: &str) -> Result<String, TopicError> {
        self.with_id("scheduler", "scheduler", sid)
    }

    /// `{p}creationAck<sid>`: container creation acks for one scheduler.
    pub fn creation_ack(&self, sid: &str) -> Result<String, TopicError> {
        self.with_id("creationAck", "scheduler", sid)
    }

    /// `{p}invoker<n>`: container creation and deletion messages for one invoker.
    pub fn invoker(&self, n: u32) -> String {
        format!("{}invoker{n}", self.prefix)
    }

    /// `{p}completed<controller>`: acknowledgements for one controller.
    pub fn completed(&self, controller: &str) -> Result<String, TopicError> {
        self.with_id("completed", "controller", controller)
    }

    /// `{u}events`: user events (with the user-event prefix).
    pub fn events(&self) -> String {
        format!("{}events", self.user_event_prefix)
    }

    /// `{p}health`: legacy invoker pings.
    pub fn health(&self) -> String {
        format!("{}health", self.prefix)
    }

    /// `{p}cacheInvalidation`: controllers only.
    pub fn cache_invalidation(&self) -> String {
        format!("{}cacheInvalidation", self.prefix)
    }

    /// The scheduler topic as the controller's warm-up derives it from an etcd key
    /// `<cluster>/scheduler/<sid>`: every `<cluster>/` and every `/` deleted, prefix prepended.
    /// Mirrors Scala's `replace` calls exactly, so it agrees with [`Self::scheduler`] only for
    /// well-formed keys.
    pub fn scheduler_from_etcd_key(&self, cluster: &str, key: &str) -> String {
        let name = key.replace(&format!("{cluster}/"), "").replace('/', "");
        format!("{}{name}", self.prefix)
    }
}

/// A topic family and its `whisk.kafka.topics.<block>` config block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicKind {
    /// `scheduler<sid>`, created by the scheduler.
    Scheduler,
    /// `creationAck<sid>`, created by the scheduler.
    CreationAck,
    /// `invoker<n>`, created by the invoker.
    Invoker,
    /// `completed<cid>`, created by the controller.
    Completed,
    /// `events`, created by the controller.
    Events,
    /// `health`, created by the controller.
    Health,
    /// `cacheInvalidation`, created by the controller.
    CacheInvalidation,
}

const RETENTION_BYTES: (&str, &str) = ("retention.bytes", "1073741824");
const SEGMENT_BYTES: (&str, &str) = ("segment.bytes", "536870912");
// `DEFAULT_MAX_MESSAGE_BYTES` as text; checked by a test.
const MAX_MESSAGE_BYTES: (&str, &str) = ("max.message.bytes", "1054644");

impl TopicKind {
    /// The HOCON block name under `whisk.kafka.topics`.
    pub fn block(self) -> &'static str {
        match self {
            Self::Scheduler => "scheduler",
            Self::CreationAck => "creationAck",
            Self::Invoker => "invoker",
            Self::Completed => "completed",
            Self::Events => "events",
            Self::Health => "health",
            Self::CacheInvalidation => "cache-invalidation",
        }
    }

    /// Kafka topic configs the topic is created with, default deployment values. The
    /// `max.message.bytes` entry is payload max + serdes overhead ([`DEFAULT_MAX_MESSAGE_BYTES`]);
    /// topics without it use the broker default.
    pub fn topic_configs(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Scheduler => &[
                ("retention.ms", "86400000"),
                RETENTION_BYTES,
                SEGMENT_BYTES,
                MAX_MESSAGE_BYTES,
            ],
            Self::CreationAck | Self::Completed => &[
                ("retention.ms", "3600000"),
                RETENTION_BYTES,
                SEGMENT_BYTES,
                MAX_MESSAGE_BYTES,
            ],
            Self::Invoker => &[
                ("retention.ms", "172800000"),
                RETENTION_BYTES,
                SEGMENT_BYTES,
                MAX_MESSAGE_BYTES,
            ],
            Self::Events | Self::Health => {
                &[("retention.ms", "3600000"), RETENTION_BYTES, SEGMENT_BYTES]
            }
            Self::CacheInvalidation => {
                &[("retention.ms", "300000"), RETENTION_BYTES, SEGMENT_BYTES]
            }
        }
    }
}

/// Consumer settings every OpenWhisk component uses for `topic`: the full topic name (prefix
/// included) is the group id, `consumer-<topic>` the client id, `max_peek` the poll size.
/// Offsets are committed by hand right after each poll (at-most-once), hence no auto commit.
pub fn consumer_config(topic: &str, max_peek: u32) -> Vec<(&'static str, String)> {
    let fixed = [
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
        ("session.timeout.ms", "30000"),
        ("heartbeat.interval.ms", "10000"),
        ("max.poll.interval.ms", "1800000"),
        ("fetch.max.wait.ms", "500"),
        ("security.protocol", "PLAINTEXT"),
    ];
    let mut config = vec![
        ("client.id", format!("consumer-{topic}")),
        ("group.id", topic.to_owned()),
        ("max.poll.records", max_peek.to_string()),
    ];
    config.extend(fixed.map(|(k, v)| (k, v.to_owned())));
    config
}

/// Producer settings: records go out with no key, no headers and no compression.
/// `max_request_size` is set only for the producers created with a limit (controller,
/// scheduler main producer, invoker), normally [`DEFAULT_MAX_MESSAGE_BYTES`].
pub fn producer_config(max_request_size: Option<u64>) -> Vec<(&'static str, String)> {
    let mut config = vec![
        ("acks", "1".to_owned()),
        ("request.timeout.ms", "30000".to_owned()),
        ("metadata.max.age.ms", "15000".to_owned()),
        ("security.protocol", "PLAINTEXT".to_owned()),
    ];
    if let Some(size) = max_request_size {
        config.push(("max.request.size", size.to_string()));
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(config: &'a [(&str, String)], key: &str) -> Option<&'a str> {
        config
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn default_names_have_no_prefix() {
        let p = TopicPrefix::default();
        assert_eq!(p.scheduler("0"), Ok("scheduler0".to_owned()));
        assert_eq!(p.creation_ack("0"), Ok("creationAck0".to_owned()));
        assert_eq!(p.invoker(0), "invoker0");
        assert_eq!(p.completed("0"), Ok("completed0".to_owned()));
        assert_eq!(p.events(), "events");
        assert_eq!(p.health(), "health");
        assert_eq!(p.cache_invalidation(), "cacheInvalidation");
    }

    #[test]
    fn events_take_the_user_event_prefix_and_the_rest_the_general_one() {
        let p = TopicPrefix::new("ow.", "ue_").expect("valid");
        assert_eq!(p.prefix(), "ow.");
        assert_eq!(p.scheduler("s-1.a_b"), Ok("ow.schedulers-1.a_b".to_owned()));
        assert_eq!(p.invoker(12), "ow.invoker12");
        assert_eq!(p.completed("ctl"), Ok("ow.completedctl".to_owned()));
        assert_eq!(p.events(), "ue_events");
        assert_eq!(p.health(), "ow.health");
        assert_eq!(p.cache_invalidation(), "ow.cacheInvalidation");
    }

    #[test]
    fn instance_ids_are_topic_safe_and_at_most_128_chars() {
        let longest = "a".repeat(MAX_INSTANCE_ID_CHARS);
        assert!(validate_instance_id("scheduler", &longest).is_ok());
        for bad in [
            "",
            "a/b",
            "a b",
            "é",
            &"a".repeat(MAX_INSTANCE_ID_CHARS + 1),
        ] {
            assert!(validate_instance_id("controller", bad).is_err(), "{bad:?}");
        }
        let err = TopicPrefix::default().completed("x y").expect_err("space");
        let expected =
            "controller id \"x y\" must match [a-zA-Z0-9._-]+ and have at most 128 characters";
        assert_eq!(err.to_string(), expected);
        assert!(TopicPrefix::default().creation_ack("").is_err());
    }

    #[test]
    fn prefixes_are_checked_so_every_name_fits_kafka() {
        assert_eq!(MAX_PREFIX_CHARS, 110);
        let p = TopicPrefix::new(&"p".repeat(MAX_PREFIX_CHARS), "").expect("longest prefix");
        let longest = p
            .creation_ack(&"a".repeat(MAX_INSTANCE_ID_CHARS))
            .expect("valid");
        assert_eq!(longest.len(), MAX_TOPIC_CHARS);
        assert!(TopicPrefix::new(&"p".repeat(MAX_PREFIX_CHARS + 1), "").is_err());
        let err = TopicPrefix::new("", "a/b").expect_err("slash");
        assert_eq!(
            err.to_string(),
            "topic prefix \"a/b\" must match [a-zA-Z0-9._-]* and have at most 110 characters"
        );
    }

    #[test]
    fn controller_warm_up_derives_the_same_scheduler_topic() {
        let p = TopicPrefix::new("ow", "").expect("valid");
        let derived = p.scheduler_from_etcd_key("whisk", "whisk/scheduler/0");
        assert_eq!(Ok(derived), p.scheduler("0"));
    }

    #[test]
    fn topic_configs_follow_spec_3_2() {
        let retention = |kind: TopicKind| kind.topic_configs()[0];
        assert_eq!(
            retention(TopicKind::Scheduler),
            ("retention.ms", "86400000")
        );
        assert_eq!(
            retention(TopicKind::CreationAck),
            ("retention.ms", "3600000")
        );
        assert_eq!(retention(TopicKind::Invoker), ("retention.ms", "172800000"));
        assert_eq!(retention(TopicKind::Completed), ("retention.ms", "3600000"));
        assert_eq!(retention(TopicKind::Events), ("retention.ms", "3600000"));
        assert_eq!(retention(TopicKind::Health), ("retention.ms", "3600000"));
        assert_eq!(
            retention(TopicKind::CacheInvalidation),
            ("retention.ms", "300000")
        );
        let limited = [
            TopicKind::Scheduler,
            TopicKind::CreationAck,
            TopicKind::Invoker,
            TopicKind::Completed,
        ];
        for kind in limited {
            assert_eq!(
                kind.topic_configs()[1..],
                [RETENTION_BYTES, SEGMENT_BYTES, MAX_MESSAGE_BYTES]
            );
        }
        assert_eq!(MAX_MESSAGE_BYTES.1, DEFAULT_MAX_MESSAGE_BYTES.to_string());
        assert_eq!(TopicKind::Events.topic_configs().len(), 3);
        assert_eq!(TopicKind::CacheInvalidation.block(), "cache-invalidation");
        assert_eq!(TopicKind::CreationAck.block(), "creationAck");
    }

    #[test]
    fn consumers_use_the_full_topic_as_group_and_client_id() {
        let config = consumer_config("ow.scheduler0", 128);
        assert_eq!(value(&config, "group.id"), Some("ow.scheduler0"));
        assert_eq!(value(&config, "client.id"), Some("consumer-ow.scheduler0"));
        assert_eq!(value(&config, "max.poll.records"), Some("128"));
        assert_eq!(value(&config, "enable.auto.commit"), Some("false"));
        assert_eq!(value(&config, "auto.offset.reset"), Some("earliest"));
        assert_eq!(value(&config, "max.poll.interval.ms"), Some("1800000"));
        assert_eq!(value(&config, "fetch.max.wait.ms"), Some("500"));
    }

    #[test]
    fn limited_producers_carry_max_request_size() {
        let limited = producer_config(Some(DEFAULT_MAX_MESSAGE_BYTES));
        assert_eq!(value(&limited, "max.request.size"), Some("1054644"));
        assert_eq!(value(&limited, "acks"), Some("1"));
        assert_eq!(value(&producer_config(None), "max.request.size"), None);
    }
}
