use super::*;

const V69: &str = include_str!("../../../../shared/spec/vectors/69-etcd-key-catalog.json");
const V90: &str =
    include_str!("../../../../shared/spec/vectors/90-etcd-queue-leader-queuemanagertests.json");

const REV: &str = "1-6a9d0f0c2c5b4e8d9a1b2c3d4e5f6a7b";
const CID: &str = "0d4e6f8a1b3c4d5e6f708192a3b4c5d6";
const CONTAINER: &str = "3f5c0e9b8a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c";

fn s(text: &str) -> String {
    text.to_owned()
}

/// Every key of vector 69, in its order, with the parts it must parse to.
fn catalog() -> Vec<EtcdKey> {
    let (ns, fqn, rev) = (s("guest"), s("guest/hello"), Some(s(REV)));
    vec![
        EtcdKey::Scheduler { sid: s("0") },
        EtcdKey::InstanceLease {
            instance: s("scheduler0"),
        },
        EtcdKey::InstanceLease {
            instance: s("invoker0/0"),
        },
        EtcdKey::QueueLeader {
            inv_ns: ns.clone(),
            fqn: fqn.clone(),
        },
        EtcdKey::ThrottlingNamespace { inv_ns: ns.clone() },
        EtcdKey::ThrottlingAction {
            inv_ns: ns.clone(),
            fqn: fqn.clone(),
        },
        EtcdKey::InProgress {
            inv_ns: ns.clone(),
            fqn: fqn.clone(),
            rev: rev.clone(),
            sid: s("0"),
            creation_id: s(CID),
        },
        EtcdKey::NamespaceContainer {
            inv_ns: ns.clone(),
            fqn: fqn.clone(),
            rev: rev.clone(),
            invoker: 0,
            container_id: s(CONTAINER),
        },
        EtcdKey::WarmedContainer {
            inv_ns: ns,
            fqn,
            rev,
            invoker: 0,
            container_id: s(CONTAINER),
        },
        EtcdKey::Invoker {
            id: 0,
            unique_name: Some(s("0")),
            displayed_name: None,
        },
    ]
}

fn vector_69_keys() -> Vec<String> {
    let rows: serde_json::Value = serde_json::from_str(V69).expect("vector 69 is JSON");
    let rows = rows.as_array().expect("vector 69 is an array");
    rows.iter()
        .map(|row| row["key"].as_str().expect("key").to_owned())
        .collect()
}

#[test]
fn every_key_of_vector_69_parses_and_renders_back() {
    let cluster = Cluster::default();
    let keys = vector_69_keys();
    assert_eq!(keys.len(), catalog().len());
    for (key, expected) in keys.iter().zip(catalog()) {
        assert_eq!(cluster.parse(key).as_ref(), Ok(&expected), "{key}");
        assert_eq!(&cluster.render(&expected), key);
    }
}

#[test]
fn builders_write_the_keys_of_vector_69() {
    let c = Cluster::default();
    let rev = Some(REV);
    let built = [
        c.scheduler("0"),
        c.instance_lease("scheduler0"),
        c.instance_lease("invoker0/0"),
        c.queue_leader("guest", "guest/hello"),
        c.throttling_namespace("guest"),
        c.throttling_action("guest", "guest/hello"),
        c.in_progress("guest", "guest/hello", rev, "0", CID),
        c.namespace_container("guest", "guest/hello", rev, 0, CONTAINER),
        c.warmed_container("guest", "guest/hello", rev, 0, CONTAINER),
        c.invoker(0, Some("0"), None),
    ];
    assert_eq!(built.to_vec(), vector_69_keys());
}

#[test]
fn vector_90_leader_key() {
    let rows: serde_json::Value = serde_json::from_str(V90).expect("vector 90 is JSON");
    let key = rows
        .as_object()
        .and_then(|o| o.keys().next())
        .expect("one key")
        .clone();
    let expected = EtcdKey::QueueLeader {
        inv_ns: s("test-invocation-namespace"),
        fqn: s("test-namespace/test-fqn"),
    };
    assert_eq!(Cluster::default().parse(&key), Ok(expected.clone()));
    assert_eq!(Cluster::default().render(&expected), key);
}

#[test]
fn prefixes_cover_their_keys_and_end_with_a_slash() {
    let c = Cluster::default();
    let key = c.in_progress("guest", "guest/hello", Some(REV), "0", CID);
    let action = c.in_progress_prefix_for_action("guest", "guest/hello", Some(REV));
    assert_eq!(
        action,
        format!("whisk/in-progress/guest/guest/hello/{REV}/")
    );
    let namespace = c.container_prefix_for_namespace(ContainerKind::InProgress, "guest");
    assert_eq!(namespace, "whisk/in-progress/guest/");
    let docid = c.container_prefix_for_docid(ContainerKind::Warmed, "guest", "guest/hello");
    assert_eq!(docid, "whisk/warmed/guest/guest/hello/");
    assert!(key.starts_with(&action) && key.starts_with(&namespace));
    let running = c.namespace_container("guest", "guest/hello", None, 3, "c1");
    let invoker = c.namespace_container_prefix_for_invoker("guest", "guest/hello", None, 3);
    assert_eq!(invoker, "whisk/namespace/guest/guest/hello/null/invoker3/");
    assert!(running.starts_with(&invoker));
    assert_eq!(c.invokers_prefix(), "whisk/invokers");
    assert_eq!(
        c.container_root(ContainerKind::Namespace),
        "whisk/namespace"
    );
}

#[test]
fn fqns_with_packages_and_token_like_names_round_trip() {
    let c = Cluster::new("prod");
    let fqns = [
        "whisk.system/utils/echo",
        "ns/scheduler/creationId",
        "ns/invoker0/container",
    ];
    for fqn in fqns {
        let keys = [
            EtcdKey::QueueLeader {
                inv_ns: s("ns"),
                fqn: s(fqn),
            },
            EtcdKey::QueueFollower {
                inv_ns: s("ns"),
                fqn: s(fqn),
                sid: s("1"),
            },
            EtcdKey::ThrottlingAction {
                inv_ns: s("ns"),
                fqn: s(fqn),
            },
            EtcdKey::InProgressQueue {
                inv_ns: s("ns"),
                fqn: s(fqn),
            },
            EtcdKey::InProgress {
                inv_ns: s("queue"),
                fqn: s(fqn),
                rev: None,
                sid: s("s.1"),
                creation_id: s(CID),
            },
            EtcdKey::NamespaceContainer {
                inv_ns: s("ns"),
                fqn: s(fqn),
                rev: Some(s("2-b")),
                invoker: 12,
                container_id: s("container"),
            },
            EtcdKey::WarmedContainer {
                inv_ns: s("ns"),
                fqn: s(fqn),
                rev: None,
                invoker: 7,
                container_id: s("invoker"),
            },
        ];
        for key in keys {
            let text = c.render(&key);
            assert!(text.starts_with("prod/"), "{text}");
            assert_eq!(c.parse(&text), Ok(key), "{text}");
        }
    }
}

#[test]
fn a_missing_revision_is_written_null() {
    let c = Cluster::default();
    let key = c.warmed_container("guest", "guest/hello", None, 0, "c");
    assert_eq!(
        key,
        "whisk/warmed/guest/guest/hello/null/invoker/0/container/c"
    );
}

#[test]
fn invoker_keys_have_zero_one_or_two_names() {
    let c = Cluster::default();
    let keys = [
        (None, None, "whisk/invokers/3"),
        (Some("u"), None, "whisk/invokers/3/u"),
    ];
    for (unique, displayed, text) in keys {
        assert_eq!(c.invoker(3, unique, displayed), text);
    }
    assert_eq!(
        c.invoker(3, None, Some("d")),
        "whisk/invokers/3",
        "as in Scala"
    );
    let both = EtcdKey::Invoker {
        id: 3,
        unique_name: Some(s("u")),
        displayed_name: Some(s("d")),
    };
    assert_eq!(c.parse("whisk/invokers/3/u/d"), Ok(both));
}

#[test]
fn invoker_keys_split_like_java_word_boundary_slashes() {
    let c = Cluster::default();
    let named = |id, u: &str, d: Option<&str>| EtcdKey::Invoker {
        id,
        unique_name: Some(s(u)),
        displayed_name: d.map(s),
    };
    assert_eq!(
        c.parse("whisk/invokers/0/host-/disp"),
        Ok(named(0, "host-/disp", None))
    );
    assert_eq!(
        c.parse("whisk/invokers/1//u///d"),
        Ok(named(1, "u", Some("d")))
    );
    let bare = EtcdKey::Invoker {
        id: 2,
        unique_name: None,
        displayed_name: None,
    };
    assert_eq!(
        c.parse("whisk/invokers/2/"),
        Ok(bare),
        "Java drops trailing empty parts"
    );
    assert_eq!(parse::split_after_word("a/-/b//c/"), ["a", "-/b", "c"]);
}

#[test]
fn bad_invoker_keys_fail() {
    let c = Cluster::default();
    for (key, reason) in [
        ("whisk/invokers/x", "invoker id \"x\" is not an integer"),
        ("whisk/invokers/-1", "invoker id \"-1\" is not an integer"),
        (
            "whisk/invokers/0/a/b/c",
            "split on \\b/+ gives 6 segments, not 3 to 5",
        ),
    ] {
        let err = c.parse(key).expect_err(key);
        let expected = format!("etcd invokers key {key:?} is malformed: {reason}");
        assert_eq!(err.to_string(), expected);
    }
    let odd = Cluster::new("whisk-");
    assert!(
        odd.parse("whisk-/invokers/0").is_err(),
        "no split after '-', as in Scala"
    );
}

#[test]
fn malformed_keys_name_the_kind_and_the_key() {
    let c = Cluster::default();
    let malformed = [
        ("whisk/scheduler/a/b", "scheduler"),
        ("whisk/instance/scheduler0", "instance"),
        ("whisk/queue/guest/guest/hello", "queue"),
        ("whisk/queue/guest/hello/leader", "queue"),
        ("whisk/throttling/guest//hello", "throttling"),
        (
            "whisk/in-progress/guest/guest/hello/1-a/creationId/c",
            "in-progress",
        ),
        (
            "whisk/namespace/guest/guest/hello/1-a/invokerX/container/c",
            "namespace",
        ),
        (
            "whisk/warmed/guest/guest/hello/1-a/invoker0/container/c",
            "warmed",
        ),
        (
            "whisk/warmed/guest/guest/hello/1-a/invoker/0/container/",
            "warmed",
        ),
    ];
    for (key, kind) in malformed {
        match c.parse(key) {
            Err(EtcdKeyError::Malformed {
                key: k,
                kind: found,
                ..
            }) => {
                assert_eq!((k.as_str(), found), (key, kind));
            }
            other => panic!("{key}: expected a malformed {kind} key, got {other:?}"),
        }
    }
}

#[test]
fn foreign_and_unknown_keys_are_told_apart() {
    let c = Cluster::default();
    let foreign = c.parse("other/scheduler/0").expect_err("foreign");
    assert_eq!(
        foreign.to_string(),
        "etcd key \"other/scheduler/0\" is not under cluster \"whisk\""
    );
    for key in ["whiskey/scheduler/0", "whisk"] {
        let err = c.parse(key);
        assert!(
            matches!(err, Err(EtcdKeyError::NotInCluster { .. })),
            "{key}"
        );
    }
    for key in ["whisk/leases/0", "whisk/scheduler"] {
        assert!(
            matches!(c.parse(key), Err(EtcdKeyError::UnknownKind { .. })),
            "{key}"
        );
    }
}

#[test]
fn follower_named_leader_reads_as_a_leader_key() {
    let key = Cluster::default().parse("whisk/queue/ns/a/b/follower/leader");
    assert_eq!(
        key,
        Ok(EtcdKey::QueueLeader {
            inv_ns: s("ns"),
            fqn: s("a/b/follower")
        })
    );
}
