//! `ow-bench live` arguments (pure).

use std::path::PathBuf;
use std::time::Duration;

use super::cost::Costs;
use super::procs::Profile;
use super::run::RunSpec;
use super::warmup::Warmup;

/// An argument that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("ow-bench live: {flag} needs a value")]
    Missing { flag: String },
    #[error("ow-bench live: {flag} {value:?} is not a valid number")]
    Number { flag: String, value: String },
    #[error("ow-bench live: --policy {0:?} is not a provisioning rule (stock or paced)")]
    Policy(String),
    #[error("ow-bench live: unknown argument {0:?}")]
    Unknown(String),
}

pub const USAGE: &str = "ow-bench live [--users N] [--actions K] [--exec-ms X] [--seconds S] [--warmup S] \
[--fixed-warmup] [--invokers I] [--agent] [--rate R] [--talk-costs] [--policy stock|paced] [--profile] [--debug] \
[--out DIR]";

fn number<T: std::str::FromStr>(flag: &str, value: Option<&String>) -> Result<T, CliError> {
    let value = value.ok_or_else(|| CliError::Missing { flag: flag.into() })?;
    value.parse().map_err(|_| CliError::Number {
        flag: flag.into(),
        value: value.clone(),
    })
}

fn policy(value: Option<&String>) -> Result<String, CliError> {
    match value.map(String::as_str) {
        Some(p @ ("stock" | "paced")) => Ok(p.to_owned()),
        Some(other) => Err(CliError::Policy(other.to_owned())),
        None => Err(CliError::Missing {
            flag: "--policy".into(),
        }),
    }
}

/// Reads the arguments after `live`.
pub fn parse(args: &[String]) -> Result<RunSpec, CliError> {
    let mut spec = RunSpec::simulated(50, 1, PathBuf::from("target/ow-bench/live"));
    let mut it = args.iter();
    let mut fixed = false;
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--users" => spec.users = number(flag, it.next())?,
            "--actions" => spec.actions = number(flag, it.next())?,
            "--exec-ms" => {
                spec.exec = Duration::from_secs_f64(number::<f64>(flag, it.next())? / 1e3)
            }
            "--seconds" => spec.measure = Duration::from_secs_f64(number(flag, it.next())?),
            "--warmup" => {
                let min = Duration::from_secs_f64(number(flag, it.next())?);
                spec.warmup = Warmup {
                    min,
                    max: spec.warmup.max.max(min),
                    ..spec.warmup
                };
            }
            "--fixed-warmup" => fixed = true,
            "--invokers" => spec.invokers = number(flag, it.next())?,
            "--rate" => spec.rate = Some(number(flag, it.next())?),
            "--out" => {
                let dir = it
                    .next()
                    .ok_or_else(|| CliError::Missing { flag: flag.into() })?;
                spec.out_dir = PathBuf::from(dir);
            }
            "--agent" => spec.agent = true,
            "--profile" => spec.profile = true,
            "--talk-costs" => spec.costs = Costs::talk(),
            "--policy" => spec.policy = Some(policy(it.next())?),
            "--debug" => spec.binaries = Profile::Debug,
            other => return Err(CliError::Unknown(other.into())),
        }
    }
    if fixed {
        spec.warmup = Warmup::fixed(spec.warmup.min);
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_set_the_run() {
        let spec = parse(&args(
            "--users 200 --actions 100 --exec-ms 20 --seconds 7 --invokers 8 --rate 500 --agent",
        ))
        .expect("valid");
        assert_eq!((spec.users, spec.actions, spec.invokers), (200, 100, 8));
        assert_eq!(spec.exec, Duration::from_millis(20));
        assert_eq!(spec.measure, Duration::from_secs(7));
        assert_eq!(spec.rate, Some(500.0));
        assert!(spec.agent);
        assert_eq!(
            spec.warmup.min,
            Duration::from_secs(5),
            "settling by default"
        );
        assert!(spec.warmup.max > spec.warmup.min);
        let fixed = parse(&args("--fixed-warmup --warmup 3")).expect("valid");
        assert_eq!(fixed.warmup, Warmup::fixed(Duration::from_secs(3)));
        assert_eq!(spec.policy, None, "the scheduler's own default");
        let paced = parse(&args("--policy paced")).expect("valid");
        assert_eq!(paced.policy.as_deref(), Some("paced"));
    }

    #[test]
    fn bad_arguments_are_named() {
        assert_eq!(
            parse(&args("--users many")),
            Err(CliError::Number {
                flag: "--users".into(),
                value: "many".into()
            })
        );
        assert_eq!(
            parse(&args("--policy eager")),
            Err(CliError::Policy("eager".into()))
        );
        assert_eq!(
            parse(&args("--users")),
            Err(CliError::Missing {
                flag: "--users".into()
            })
        );
        assert_eq!(
            parse(&args("--fast")),
            Err(CliError::Unknown("--fast".into()))
        );
    }
}
