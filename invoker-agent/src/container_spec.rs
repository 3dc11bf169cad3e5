//! How an action container is created (spec 10.1): its name, image, memory, CPU shares, and the
//! labels by which the agent finds its own containers again after a crash. Pure.

use std::collections::HashMap;

use ow_compat::messages::ContainerCreationMessage;
use ow_compat::runtimes::manifest;
use ow_compat::values::ExecMetaData;

use crate::config::AgentConfig;
use crate::runtime::ContainerSpec;

/// Every container of an agent carries these labels.
pub const LABEL_OWNER: &str = "ow.invoker-agent";
pub const LABEL_CLUSTER: &str = "ow.invoker-agent.cluster";
pub const LABEL_INVOKER: &str = "ow.invoker-agent.invoker";
/// The action a container serves.
pub const LABEL_NAMESPACE: &str = "ow.invoker-agent.namespace";
pub const LABEL_ACTION: &str = "ow.invoker-agent.action";
pub const LABEL_REVISION: &str = "ow.invoker-agent.revision";
/// The kind a stem cell was started for.
pub const LABEL_PREWARM: &str = "ow.invoker-agent.prewarm";

/// The labels that select every container of this agent (cluster and invoker id), used at
/// start to remove what a previous run left behind.
pub fn owner_labels(config: &AgentConfig) -> Vec<(String, String)> {
    vec![
        (LABEL_OWNER.into(), "1".into()),
        (LABEL_CLUSTER.into(), config.cluster_name.clone()),
        (LABEL_INVOKER.into(), config.instance.to_string()),
    ]
}

/// The image of an exec and whether its runtime prints the log sentinels; `None` for a kind
/// the runtimes manifest does not know (or a sequence).
pub fn image_for(exec: &ExecMetaData) -> Option<(String, bool)> {
    match exec {
        ExecMetaData::Code { kind, .. } => {
            let m = manifest();
            let k = m.resolve(kind)?;
            Some((k.image.reference(), k.sentinelled_logs))
        }
        // User images are not known to print the sentinels; their logs are read without waiting.
        ExecMetaData::Blackbox { image, .. } => Some((image.clone(), false)),
        ExecMetaData::Sequence { .. } => None,
    }
}

/// `max(1024 / (userMemory / actionMemory), 2)`, the stock CPU share of a container.
pub fn cpu_shares(user_memory_mb: u64, memory_mb: u64) -> i64 {
    let ratio = (user_memory_mb / memory_mb.max(1)).max(1);
    i64::try_from(1024 / ratio).unwrap_or(1024).max(2)
}

/// `wsk<uniqueName><N>_<boot>_<counter>_<namespace>_<action>` with only letters, digits and `_`
/// in the last two parts. The stock prefix `wsk<uniqueName><N>_` is kept for operators; the
/// boot tag keeps names unique across restarts, and across agents sharing an engine.
pub fn container_name(
    config: &AgentConfig,
    boot: &str,
    counter: u64,
    namespace: &str,
    action: &str,
) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    format!(
        "wsk{}{}_{boot}_{counter}_{}_{}",
        config.unique_name.as_deref().unwrap_or(""),
        config.instance,
        clean(namespace),
        clean(action)
    )
}

/// The container for a creation request.
pub fn spec_for(
    config: &AgentConfig,
    creation: &ContainerCreationMessage,
    image: String,
    name: String,
) -> ContainerSpec {
    let meta = &creation.whisk_action_meta_data;
    let memory_mb = u64::from(meta.limits.memory_mb);
    let mut labels: HashMap<String, String> = owner_labels(config).into_iter().collect();
    labels.insert(
        LABEL_NAMESPACE.into(),
        creation.invocation_namespace.clone(),
    );
    labels.insert(LABEL_ACTION.into(), creation.action.doc_id());
    labels.insert(LABEL_REVISION.into(), creation.revision.to_string());
    let env = api_host_env(config);
    ContainerSpec {
        name,
        image,
        memory_mb,
        cpu_shares: cpu_shares(config.user_memory_mb, memory_mb),
        env,
        labels,
        network: config.network.clone(),
        dns: config.dns_servers.clone(),
    }
}

/// A stem cell of `kind`: no action yet, so only the owner labels and its kind.
pub fn prewarm_spec(
    config: &AgentConfig,
    kind: &str,
    image: String,
    memory_mb: u64,
    name: String,
) -> ContainerSpec {
    let mut labels: HashMap<String, String> = owner_labels(config).into_iter().collect();
    labels.insert(LABEL_PREWARM.into(), kind.to_owned());
    ContainerSpec {
        name,
        image,
        memory_mb,
        cpu_shares: cpu_shares(config.user_memory_mb, memory_mb),
        env: api_host_env(config),
        labels,
        network: config.network.clone(),
        dns: config.dns_servers.clone(),
    }
}

fn api_host_env(config: &AgentConfig) -> Vec<String> {
    config
        .api_host
        .iter()
        .map(|h| format!("__OW_API_HOST={h}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_shares_are_proportional_to_memory() {
        assert_eq!(cpu_shares(2048, 256), 128);
        assert_eq!(cpu_shares(2048, 2048), 1024);
        assert_eq!(cpu_shares(1024, 4096), 1024);
        assert_eq!(cpu_shares(1_048_576, 128), 2);
    }

    #[test]
    fn managed_kinds_take_the_manifest_image() {
        let exec = ExecMetaData::Code {
            kind: "python:3.10".into(),
            binary: false,
            main: None,
        };
        let (image, sentinels) = image_for(&exec).expect("known kind");
        assert!(image.contains("python"), "{image}");
        assert!(sentinels);
        let unknown = ExecMetaData::Sequence { components: vec![] };
        assert_eq!(image_for(&unknown), None);
    }
}
