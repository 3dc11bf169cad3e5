use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What the stock ansible role passes to scheduler 0 (the subset this scheduler reads).
fn ansible_env() -> BTreeMap<String, String> {
    env(&[
        ("PORT", "8080"),
        ("KAFKA_HOSTS", "kafka0:9092"),
        ("WHISK_SCHEDULER_ENDPOINTS_HOST", "10.0.0.11"),
        ("WHISK_SCHEDULER_ENDPOINTS_RPCPORT", "13001"),
        ("WHISK_SCHEDULER_ENDPOINTS_AKKAPORT", "25520"),
        ("CONFIG_whisk_scheduler_queue_idleGrace", "10 minutes"),
        ("CONFIG_whisk_scheduler_queue_stopGrace", "10 minutes"),
        (
            "CONFIG_whisk_scheduler_scheduling_staleThreshold",
            "100 milliseconds",
        ),
        ("CONFIG_whisk_scheduler_queue_maxRetentionMs", "60000"),
        ("CONFIG_whisk_scheduler_queue_throttlingFraction", "0.9"),
        ("CONFIG_whisk_kafka_topics_prefix", "ow_"),
        ("CONFIG_whisk_kafka_topics_userEvent_prefix", "ue_"),
        ("LIMITS_ACTIONS_INVOKES_CONCURRENT", "30"),
        ("CONFIG_whisk_couchdb_protocol", "http"),
        ("CONFIG_whisk_couchdb_host", "172.17.0.1"),
        ("CONFIG_whisk_couchdb_port", "5984"),
        ("CONFIG_whisk_couchdb_username", "whisk_admin"),
        ("CONFIG_whisk_couchdb_password", "$DB_PASS"),
        ("DB_PASS", "secret"),
        (
            "CONFIG_whisk_couchdb_databases_WhiskAuth",
            "whisk_local_subjects",
        ),
        (
            "CONFIG_whisk_couchdb_databases_WhiskEntity",
            "whisk_local_whisks",
        ),
        (
            "CONFIG_whisk_couchdb_databases_WhiskActivation",
            "whisk_local_activations",
        ),
        ("CONFIG_whisk_fraction_managedFraction", "90%"),
        ("CONFIG_whisk_etcd_hosts", "etcd0:2379,etcd1:2379"),
        ("CONFIG_whisk_etcd_lease_timeout", "10"),
        ("CONFIG_whisk_cluster_name", "WhiSK"),
    ])
}

#[test]
fn reads_what_the_ansible_role_passes() {
    let settings = Settings::new(None, &ansible_env()).expect("settings");
    let c = SchedulerConfig::from_settings("0", &settings).expect("config");
    assert_eq!(c.endpoints.dialect, RemotingDialect::Akka);
    assert_eq!(
        (c.endpoints.rpc_port, c.endpoints.remoting_port),
        (13001, 25520)
    );
    assert_eq!(c.queue.idle_grace_ms, 600_000);
    assert_eq!(c.queue.stale_threshold_ms, 100);
    assert_eq!(c.topics_prefix, "ow_");
    assert_eq!(c.user_events_prefix, "ue_");
    assert_eq!(c.couchdb.password, "secret");
    assert_eq!(c.couchdb.auth_db, "whisk_local_subjects");
    assert_eq!(c.etcd_hosts, ["etcd0:2379", "etcd1:2379"]);
    assert_eq!(c.cluster_name, "whisk");
    assert!((c.fractions.managed - 0.9).abs() < 1e-9);
    assert_eq!(c.lease_ttl, Duration::from_secs(10));
}

#[test]
fn a_missing_setting_names_its_variable() {
    let mut e = ansible_env();
    e.remove("KAFKA_HOSTS");
    let err = SchedulerConfig::from_settings("0", &Settings::new(None, &e).expect("settings"));
    assert_eq!(
        err.map(|_| ()),
        Err(ConfigError::Missing {
            key: "kafka.hosts".into(),
            env: "KAFKA_HOSTS".into()
        })
    );
    let mut e = ansible_env();
    e.remove("CONFIG_whisk_couchdb_databases_WhiskEntity");
    let err = SchedulerConfig::from_settings("0", &Settings::new(None, &e).expect("settings"))
        .map(|_| ());
    let expected = "missing setting whisk.couchdb.databases.WhiskEntity (environment variable CONFIG_whisk_couchdb_databases_WhiskEntity)";
    assert_eq!(err.map_err(|e| e.to_string()), Err(expected.to_owned()));
}

#[test]
fn an_invalid_setting_names_key_and_value() {
    let mut e = ansible_env();
    e.insert(
        "CONFIG_whisk_scheduler_queue_idleGrace".into(),
        "soon".into(),
    );
    let err = SchedulerConfig::from_settings("0", &Settings::new(None, &e).expect("settings"))
        .map(|_| ());
    assert!(
        matches!(err, Err(ConfigError::Invalid { ref key, ref value, .. }) if key == "whisk.scheduler.queue.idle-grace" && value == "soon")
    );
    assert!(
        SchedulerConfig::from_settings(
            "bad id!",
            &Settings::new(None, &ansible_env()).expect("settings")
        )
        .is_err()
    );
}

#[test]
fn a_toml_file_provides_defaults_the_environment_overrides() {
    let file = "[whisk.scheduler.queue]\nidle-grace = \"30 s\"\nstop-grace = \"40 s\"\n[kafka]\nhosts = \"file:9092\"\n";
    let mut e = ansible_env();
    e.remove("CONFIG_whisk_scheduler_queue_stopGrace");
    let c = SchedulerConfig::from_settings(
        "0",
        &Settings::new(Some(("s.toml", file)), &e).expect("settings"),
    )
    .expect("config");
    assert_eq!(c.queue.idle_grace_ms, 600_000, "environment wins");
    assert_eq!(c.queue.stop_grace_ms, 40_000, "file fills the gap");
    assert_eq!(c.kafka_hosts, "kafka0:9092");
    let bad = Settings::new(Some(("s.toml", "[[[")), &e);
    assert!(matches!(bad, Err(ConfigError::File { .. })));
}

#[test]
fn durations_and_keys_follow_hocon() {
    assert_eq!(
        parse_duration("100 milliseconds"),
        Some(Duration::from_millis(100))
    );
    assert_eq!(parse_duration("10 minutes"), Some(Duration::from_secs(600)));
    assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
    assert_eq!(parse_duration("60000"), Some(Duration::from_secs(60)));
    assert_eq!(parse_duration("fast"), None);
    assert_eq!(
        env_to_key("CONFIG_whisk_kafka_topics_userEvent_prefix").as_deref(),
        Some("whisk.kafka.topics.user-event.prefix")
    );
    assert_eq!(env_to_key("HOME"), None);
}

#[test]
fn the_provisioning_policy_is_paced_unless_stock_is_asked_for() {
    let from = |extra: &[(&str, &str)]| {
        let mut e = ansible_env();
        e.extend(env(extra));
        let settings = Settings::new(None, &e).expect("settings");
        SchedulerConfig::from_settings("0", &settings)
    };
    assert_eq!(from(&[]).expect("config").policy, PolicyKind::Paced);
    let stock = from(&[("CONFIG_whisk_scheduler_scheduling_policy", "stock")]);
    assert_eq!(stock.expect("config").policy, PolicyKind::Stock);
    let err = from(&[("CONFIG_whisk_scheduler_scheduling_policy", "eager")])
        .expect_err("unknown policy")
        .to_string();
    assert!(
        err.contains("whisk.scheduler.scheduling.policy") && err.contains("eager"),
        "{err}"
    );
}
