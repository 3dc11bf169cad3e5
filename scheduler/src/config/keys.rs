//! Key names and value syntax: environment variable ↔ HOCON key, durations, fractions, TOML.

use std::collections::BTreeMap;

pub use ow_compat::duration::parse_duration;

use super::ConfigError;

/// `WhiskConfig` properties read from plain upper-case variables, and their keys.
const PROPERTIES: &[(&str, &str)] = &[
    ("PORT", "port"),
    ("KAFKA_HOSTS", "kafka.hosts"),
    (
        "LIMITS_ACTIONS_INVOKES_CONCURRENT",
        "limits.actions.invokes.concurrent",
    ),
    ("RUNTIMES_MANIFEST", "runtimes.manifest"),
    (
        "WHISK_SCHEDULER_ENDPOINTS_HOST",
        "whisk.scheduler.endpoints.host",
    ),
    (
        "WHISK_SCHEDULER_ENDPOINTS_RPCPORT",
        "whisk.scheduler.endpoints.rpc-port",
    ),
    (
        "WHISK_SCHEDULER_ENDPOINTS_PEKKOPORT",
        "whisk.scheduler.endpoints.pekko-port",
    ),
    (
        "WHISK_SCHEDULER_ENDPOINTS_AKKAPORT",
        "whisk.scheduler.endpoints.akka-port",
    ),
];

/// The HOCON key an environment variable sets, if it is one the scheduler reads:
/// `CONFIG_whisk_scheduler_queue_idleGrace` → `whisk.scheduler.queue.idle-grace` (camelCase
/// parts become kebab-case; parts starting upper-case, like `WhiskAuth`, are kept).
pub fn env_to_key(name: &str) -> Option<String> {
    if let Some((_, key)) = PROPERTIES.iter().find(|(env, _)| *env == name) {
        return Some((*key).to_owned());
    }
    let rest = name.strip_prefix("CONFIG_")?;
    let parts: Vec<String> = rest
        .split('_')
        .filter(|p| !p.is_empty())
        .map(kebab)
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

fn kebab(part: &str) -> String {
    if part.starts_with(|c: char| c.is_ascii_uppercase()) {
        return part.to_owned();
    }
    let mut out = String::with_capacity(part.len() + 4);
    for c in part.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The environment variable that sets `key` (for error messages).
pub fn key_to_env(key: &str) -> String {
    if let Some((env, _)) = PROPERTIES.iter().find(|(_, k)| *k == key) {
        return (*env).to_owned();
    }
    let parts: Vec<String> = key.split('.').map(camel).collect();
    format!("CONFIG_{}", parts.join("_"))
}

fn camel(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut upper = false;
    for c in part.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A value starting with `$` names another environment variable, as in the stock images.
pub fn dereference(value: &str, env: &BTreeMap<String, String>) -> String {
    match value.strip_prefix('$') {
        Some(name) if !name.is_empty() => env.get(name).cloned().unwrap_or_default(),
        _ => value.to_owned(),
    }
}

/// A fraction written `0.9` or `90%`; the offending text on error.
pub fn fraction(value: Option<&str>, default: f64) -> Result<f64, String> {
    let Some(v) = value else { return Ok(default) };
    let t = v.trim();
    let parsed = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    };
    parsed
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| v.to_owned())
}

/// Flattens a TOML document into `a.b.c = "value"` entries.
pub fn flatten_toml(
    path: &str,
    text: &str,
    out: &mut BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::File {
        path: path.into(),
        reason: e.to_string(),
    })?;
    flatten_table("", &table, out);
    Ok(())
}

fn flatten_table(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten_table(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Array(items) => {
                let joined: Vec<String> = items.iter().map(scalar).collect();
                out.insert(key, joined.join(","));
            }
            other => {
                out.insert(key, scalar(other));
            }
        }
    }
}

fn scalar(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) | toml::Value::Table(_) => String::new(),
    }
}
