//! `ow-bench`: load like the stock controllers, invokers real or simulated, and a model of
//! both designs; `seed-table` runs the talk's matrix and writes the report.

mod costs;
mod live;
mod model;
mod report;
mod results;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use model::{Costs, ExecTime, ModelConfig};
use report::SeedOptions;
use results::Design;

const USAGE: &str = "usage:
  ow-bench model --design old|new --users N --actions K [--exec-ms X] [--costs measured|talk]
                 [--seconds S] [--warmup S] [--seed N]
      One cell of the discrete-event model (virtual time); prints one result line.
      --exec-ms: 2 (fixed, default), 1..20 (uniform) or exp:5 (exponential mean).
      --costs: Docker and path costs, `measured` on this machine (default) or the `talk`'s.
      --seconds: virtual seconds measured (default 60) after --warmup (default 10).
      Cluster (defaults: 9 invokers on 3 hosts, 4096 MB each, 2 controllers, 256 MB actions,
      old pause-grace 10000 ms): --invokers N --hosts N --memory-mb MB --controllers N
      --action-memory-mb MB --pause-grace-ms MS
  ow-bench seed-table [--quick] [--out DIR] [--no-live]
      The talk's matrix (users 100, 200, 750 × actions 1, 10, 100) in the model for both
      designs and both cost presets, then the live runs; writes report.md, results.csv,
      tps_vs_actions.png and latency_cdf.png to DIR (default target/seed-table).
  ow-bench live ...
      Live runs against the real services (see `ow-bench live --help`).";

/// What the command line asked for.
#[derive(Debug)]
enum Command {
    Help,
    Model(Design, Box<ModelConfig>),
    SeedTable(SeedOptions),
    Live(Vec<String>),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ow-bench: {e}\n\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    let outcome = match command {
        Command::Help => {
            // A closed stdout (e.g. `| head`) is not worth a panic.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            Ok(())
        }
        Command::Model(design, cfg) => {
            let r = model::run(design, &cfg);
            let _ = writeln!(std::io::stdout(), "{}", report::result_line(&r));
            Ok(())
        }
        Command::SeedTable(opts) => with_runtime(|rt| report::seed_table(&opts, rt)),
        Command::Live(rest) => with_runtime(|rt| rt.block_on(live::run_cli(&rest))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ow-bench: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn with_runtime(
    f: impl FnOnce(&tokio::runtime::Runtime) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the tokio runtime: {e}"))?;
    f(&rt)
}

fn parse(args: &[String]) -> Result<Command, String> {
    let Some(sub) = args.first() else {
        return Err("a subcommand is needed: model, seed-table or live".into());
    };
    let rest = &args[1..];
    match sub.as_str() {
        "--help" | "-h" | "help" => Ok(Command::Help),
        "live" => Ok(Command::Live(rest.to_vec())),
        _ if rest.iter().any(|a| a == "--help" || a == "-h") => Ok(Command::Help),
        "model" => parse_model(rest),
        "seed-table" => parse_seed_table(rest),
        other => Err(format!(
            "unknown subcommand `{other}` (model, seed-table or live)"
        )),
    }
}

/// Flag/value pairs, every flag known and every value present.
fn pairs<'a>(
    args: &'a [String],
    known: &[&str],
    switches: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if switches.contains(&flag.as_str()) {
            out.push((flag.as_str(), ""));
        } else if known.contains(&flag.as_str()) {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            out.push((flag.as_str(), value.as_str()));
        } else {
            return Err(format!("unknown argument `{flag}`"));
        }
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} expects a number, got `{value}`"))
}

fn parse_model(args: &[String]) -> Result<Command, String> {
    let known = [
        "--design",
        "--users",
        "--actions",
        "--exec-ms",
        "--costs",
        "--seconds",
        "--warmup",
        "--seed",
        "--invokers",
        "--hosts",
        "--memory-mb",
        "--controllers",
        "--action-memory-mb",
        "--pause-grace-ms",
    ];
    let (mut design, mut users, mut actions) = (None, None, None);
    let mut cfg = ModelConfig::new(0, 0, Costs::measured());
    for (flag, value) in pairs(args, &known, &[])? {
        match flag {
            "--design" => design = Some(parse_design(value)?),
            "--users" => users = Some(positive(flag, value)?),
            "--actions" => actions = Some(positive(flag, value)?),
            "--exec-ms" => {
                cfg.exec = ExecTime::parse(value)
                    .ok_or_else(|| format!("--exec-ms expects 2, 1..20 or exp:5, got `{value}`"))?
            }
            "--costs" => {
                cfg.costs = Costs::preset(value)
                    .ok_or_else(|| format!("--costs expects measured or talk, got `{value}`"))?
            }
            "--seconds" => cfg.seconds = seconds(flag, value, 0.001)?,
            "--warmup" => cfg.warmup_s = seconds(flag, value, 0.0)?,
            "--seed" => cfg.seed = number(flag, value)?,
            _ => cluster_flag(&mut cfg.cluster, flag, value)?,
        }
    }
    cfg.users = users.ok_or("model needs --users N")?;
    cfg.actions = actions.ok_or("model needs --actions K")?;
    Ok(Command::Model(
        design.ok_or("model needs --design old|new")?,
        Box::new(cfg),
    ))
}

fn cluster_flag(c: &mut model::Cluster, flag: &str, value: &str) -> Result<(), String> {
    match flag {
        "--invokers" => c.invokers = positive(flag, value)? as usize,
        "--hosts" => c.hosts = positive(flag, value)? as usize,
        "--memory-mb" => c.user_memory_mb = i64::from(positive(flag, value)?),
        "--controllers" => c.controllers = positive(flag, value)? as usize,
        "--action-memory-mb" => c.action_memory_mb = i64::from(positive(flag, value)?),
        _ => c.pause_grace_ms = seconds(flag, value, 0.0)?,
    }
    Ok(())
}

fn parse_design(value: &str) -> Result<Design, String> {
    match value {
        "old" => Ok(Design::Old),
        "new" => Ok(Design::New),
        other => Err(format!("--design expects old or new, got `{other}`")),
    }
}

fn positive(flag: &str, value: &str) -> Result<u32, String> {
    let n: u32 = number(flag, value)?;
    if n == 0 {
        return Err(format!("{flag} must be at least 1"));
    }
    Ok(n)
}

fn seconds(flag: &str, value: &str, min: f64) -> Result<f64, String> {
    let s: f64 = number(flag, value)?;
    if !s.is_finite() || s < min || s > 86_400.0 {
        return Err(format!(
            "{flag} must be between {min} and 86400 seconds, got `{value}`"
        ));
    }
    Ok(s)
}

fn parse_seed_table(args: &[String]) -> Result<Command, String> {
    let mut opts = SeedOptions {
        quick: false,
        live: true,
        out_dir: PathBuf::from("target/seed-table"),
    };
    for (flag, value) in pairs(args, &["--out"], &["--quick", "--no-live"])? {
        match flag {
            "--quick" => opts.quick = true,
            "--no-live" => opts.live = false,
            _ => opts.out_dir = PathBuf::from(value),
        }
    }
    Ok(Command::SeedTable(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn model_arguments() {
        let Ok(Command::Model(design, cfg)) = parse(&args(
            "model --design old --users 100 --actions 10 --costs talk --exec-ms 1..20 --seconds 5",
        )) else {
            panic!("should parse");
        };
        assert_eq!(design, Design::Old);
        assert_eq!((cfg.users, cfg.actions, cfg.seconds), (100, 10, 5.0));
        assert_eq!(cfg.costs, Costs::talk());
        assert_eq!(cfg.exec, ExecTime::Uniform(1.0, 20.0));
    }

    #[test]
    fn bad_arguments_name_what_is_wrong() {
        let err = |text: &str| match parse(&args(text)) {
            Err(e) => e,
            Ok(c) => panic!("`{text}` parsed as {c:?}"),
        };
        assert!(err("model --design mid --users 1 --actions 1").contains("old or new"));
        assert!(err("model --design old --actions 1").contains("--users"));
        assert!(err("model --design old --users 0 --actions 1").contains("at least 1"));
        assert!(err("model --design old --users x --actions 1").contains("`x`"));
        assert!(err("model --design old --users 1 --actions 1 --costs cheap").contains("cheap"));
        assert!(err("seed-table --fast").contains("--fast"));
        assert!(err("seed-table --out").contains("needs a value"));
        assert!(err("bench").contains("unknown subcommand"));
        assert!(err("").contains("subcommand"));
    }

    #[test]
    fn seed_table_and_help() {
        let Ok(Command::SeedTable(o)) = parse(&args("seed-table --quick --no-live --out /tmp/x"))
        else {
            panic!("should parse");
        };
        assert!(o.quick && !o.live);
        assert_eq!(o.out_dir, PathBuf::from("/tmp/x"));
        assert!(matches!(parse(&args("--help")), Ok(Command::Help)));
        assert!(matches!(parse(&args("model --help")), Ok(Command::Help)));
        assert!(matches!(
            parse(&args("live --users 3")),
            Ok(Command::Live(_))
        ));
    }
}
