//! `ow-invoker-agent`: parses the stock invoker's arguments and environment, runs the agent,
//! drains on SIGTERM or Ctrl-C.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use ow_invoker_agent::config::AgentConfig;

const USAGE: &str = "usage: ow-invoker-agent --id N [--uniqueName NAME] [--displayedName NAME]

Runs OpenWhisk invoker N on this Docker host, in place of the stock pulling invoker. Settings come
from the environment variables the stock invoker reads: PORT (admin), KAFKA_HOSTS, RUNTIMES_MANIFEST,
CONFIG_whisk_etcd_hosts, CONFIG_whisk_cluster_name, CONFIG_whisk_couchdb_* (host, port, username,
password, databases_WhiskAuth/WhiskEntity/WhiskActivation), CONFIG_whisk_kafka_topics_prefix,
CONFIG_whisk_containerPool_userMemory (\"2048 m\"), CONFIG_whisk_containerProxy_timeouts_pauseGrace
and _idleContainer, CONFIG_whisk_invoker_username/password, CONFIG_whisk_invoker_resource_tags,
CONFIG_whisk_containerFactory_containerArgs_network, CONFIG_whisk_docker_client_parallelRuns
(container starts at once, default 10, 0 for no limit), CONFIG_whisk_userEvents_enabled,
CONFIG_whisk_kafka_topics_userEvent_prefix, WHISK_API_HOST_PROTO/NAME/PORT. DOCKER_HOST
selects the engine. RUST_LOG sets the log filter (default info).";

/// How long a drain waits for running activations before the containers are removed anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        // A closed stdout (e.g. `| head`) is not an error worth a panic.
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let config = match AgentConfig::from_args_and_env(&args, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ow-invoker-agent: {e}\n\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ow-invoker-agent: cannot start the runtime: {e}");
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("ow-invoker-agent stopped: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(config: AgentConfig) -> anyhow::Result<()> {
    let running = ow_invoker_agent::launch(config).await?;
    ow_compat::admin::wait_for_signal().await;
    tracing::info!("stopping: draining containers");
    running.stop(DRAIN_LIMIT).await;
    Ok(())
}
