//! The invoking `Identity` and its namespace limits.

use crate::json::ObjectWriter;
use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire, read_kind};

use super::{ByteSize, EntityName};

/// A namespace: `{"name","uuid"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Namespace name.
    pub name: EntityName,
    /// Namespace uuid (any string).
    pub uuid: String,
}

impl Wire for Namespace {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            name: o.req("name")?,
            uuid: o.req("uuid")?,
        })
    }
    fn write(&self) -> Value {
        Sorted::new()
            .field("name", self.name.write())
            .field("uuid", Value::String(self.uuid.clone()))
            .build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        o.string("name", self.name.as_str());
        o.string("uuid", &self.uuid);
        o.finish();
    }
}

/// Per-namespace limits (`UserLimits`); every field is optional and falls back to the
/// deployment's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserLimits {
    pub invocations_per_minute: Option<i64>,
    pub concurrent_invocations: Option<i64>,
    pub fires_per_minute: Option<i64>,
    pub allowed_kinds: Option<Vec<String>>,
    pub store_activations: Option<bool>,
    pub min_action_memory: Option<i64>,
    pub max_action_memory: Option<i64>,
    pub min_action_logs: Option<i64>,
    pub max_action_logs: Option<i64>,
    pub min_action_timeout: Option<i64>,
    pub max_action_timeout: Option<i64>,
    pub min_action_concurrency: Option<i64>,
    pub max_action_concurrency: Option<i64>,
    pub max_parameter_size: Option<ByteSize>,
    pub max_payload_size: Option<ByteSize>,
    pub truncation_size: Option<ByteSize>,
    pub warmed_container_keeping_count: Option<i64>,
    /// A Scala duration string such as `"30 minutes"`.
    pub warmed_container_keeping_timeout: Option<String>,
    pub max_action_instances: Option<i64>,
}

impl Wire for UserLimits {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            invocations_per_minute: o.opt("invocationsPerMinute")?,
            concurrent_invocations: o.opt("concurrentInvocations")?,
            fires_per_minute: o.opt("firesPerMinute")?,
            allowed_kinds: o.opt("allowedKinds")?,
            store_activations: o.opt("storeActivations")?,
            min_action_memory: o.opt("minActionMemory")?,
            max_action_memory: o.opt("maxActionMemory")?,
            min_action_logs: o.opt("minActionLogs")?,
            max_action_logs: o.opt("maxActionLogs")?,
            min_action_timeout: o.opt("minActionTimeout")?,
            max_action_timeout: o.opt("maxActionTimeout")?,
            min_action_concurrency: o.opt("minActionConcurrency")?,
            max_action_concurrency: o.opt("maxActionConcurrency")?,
            max_parameter_size: o.opt("maxParameterSize")?,
            max_payload_size: o.opt("maxPayloadSize")?,
            truncation_size: o.opt("truncationSize")?,
            warmed_container_keeping_count: o.opt("warmedContainerKeepingCount")?,
            warmed_container_keeping_timeout: o.opt("warmedContainerKeepingTimeout")?,
            max_action_instances: o.opt("maxActionInstances")?,
        })
    }

    fn write(&self) -> Value {
        let int = |v: Option<i64>| v.map(Value::from);
        let size = |v: &Option<ByteSize>| v.as_ref().map(Wire::write);
        Sorted::new()
            .opt("invocationsPerMinute", int(self.invocations_per_minute))
            .opt("concurrentInvocations", int(self.concurrent_invocations))
            .opt("firesPerMinute", int(self.fires_per_minute))
            .opt("allowedKinds", self.allowed_kinds.as_ref().map(Wire::write))
            .opt("storeActivations", self.store_activations.map(Value::Bool))
            .opt("minActionMemory", int(self.min_action_memory))
            .opt("maxActionMemory", int(self.max_action_memory))
            .opt("minActionLogs", int(self.min_action_logs))
            .opt("maxActionLogs", int(self.max_action_logs))
            .opt("minActionTimeout", int(self.min_action_timeout))
            .opt("maxActionTimeout", int(self.max_action_timeout))
            .opt("minActionConcurrency", int(self.min_action_concurrency))
            .opt("maxActionConcurrency", int(self.max_action_concurrency))
            .opt("maxParameterSize", size(&self.max_parameter_size))
            .opt("maxPayloadSize", size(&self.max_payload_size))
            .opt("truncationSize", size(&self.truncation_size))
            .opt(
                "warmedContainerKeepingCount",
                int(self.warmed_container_keeping_count),
            )
            .opt(
                "warmedContainerKeepingTimeout",
                self.warmed_container_keeping_timeout
                    .clone()
                    .map(Value::String),
            )
            .opt("maxActionInstances", int(self.max_action_instances))
            .build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        let int = |o: &mut ObjectWriter<'_>, key: &str, v: Option<i64>| {
            if let Some(v) = v {
                o.raw(key, &v.to_string());
            }
        };
        if let Some(kinds) = &self.allowed_kinds {
            kinds.write_to(o.key("allowedKinds"));
        }
        int(&mut o, "concurrentInvocations", self.concurrent_invocations);
        int(&mut o, "firesPerMinute", self.fires_per_minute);
        int(&mut o, "invocationsPerMinute", self.invocations_per_minute);
        int(&mut o, "maxActionConcurrency", self.max_action_concurrency);
        int(&mut o, "maxActionInstances", self.max_action_instances);
        int(&mut o, "maxActionLogs", self.max_action_logs);
        int(&mut o, "maxActionMemory", self.max_action_memory);
        int(&mut o, "maxActionTimeout", self.max_action_timeout);
        for (key, size) in [
            ("maxParameterSize", &self.max_parameter_size),
            ("maxPayloadSize", &self.max_payload_size),
        ] {
            if let Some(s) = size {
                o.string(key, &s.to_string());
            }
        }
        int(&mut o, "minActionConcurrency", self.min_action_concurrency);
        int(&mut o, "minActionLogs", self.min_action_logs);
        int(&mut o, "minActionMemory", self.min_action_memory);
        int(&mut o, "minActionTimeout", self.min_action_timeout);
        if let Some(b) = self.store_activations {
            o.raw("storeActivations", if b { "true" } else { "false" });
        }
        if let Some(s) = &self.truncation_size {
            o.string("truncationSize", &s.to_string());
        }
        int(
            &mut o,
            "warmedContainerKeepingCount",
            self.warmed_container_keeping_count,
        );
        if let Some(t) = &self.warmed_container_keeping_timeout {
            o.string("warmedContainerKeepingTimeout", t);
        }
        o.finish();
    }
}

const PRIVILEGES: [&str; 5] = ["READ", "PUT", "DELETE", "ACTIVATE", "REJECT"];

/// Who invokes: `{"authkey","limits","namespace","rights","subject"}`, all required.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// Subject (at least five characters).
    pub subject: String,
    /// Namespace name and uuid.
    pub namespace: Namespace,
    /// The auth key object, kept verbatim (basic keys: `{"api_key":"uuid:secret"}`).
    pub authkey: Value,
    /// Privileges, upper case, in set order.
    pub rights: Vec<String>,
    /// Namespace limits.
    pub limits: UserLimits,
}

impl Identity {
    /// The `uuid:secret` API key of a basic auth key.
    pub fn api_key(&self) -> Option<&str> {
        self.authkey.get("api_key")?.as_str()
    }
}

/// Trims and upper-cases privilege names and drops repeats (a Scala `Set`); the index of the
/// first name that is not a privilege on error.
pub(crate) fn normalize_rights(names: &[String]) -> Result<Vec<String>, usize> {
    let mut rights: Vec<String> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let norm = crate::json::java_trim(name).to_ascii_uppercase();
        if !PRIVILEGES.contains(&norm.as_str()) {
            return Err(i);
        }
        if !rights.contains(&norm) {
            rights.push(norm);
        }
    }
    Ok(rights)
}

/// A subject has at least five characters after trimming.
pub(crate) fn valid_subject(subject: &str) -> bool {
    crate::json::java_trim(subject).chars().count() >= 5
}

fn read_rights(v: &Value, at: Path<'_>) -> Result<Vec<String>, DecodeError> {
    let names: Vec<String> = Vec::read(v, at)?;
    normalize_rights(&names).map_err(|i| {
        at.index(i).error(format!(
            "{:?} is not a privilege (READ, PUT, DELETE, ACTIVATE, REJECT)",
            names[i]
        ))
    })
}

impl Wire for Identity {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        let subject: String = o.req("subject")?;
        if !valid_subject(&subject) {
            return Err(at
                .key("subject")
                .error(format!("subject {subject:?} is shorter than 5 characters")));
        }
        let authkey = o.with("authkey", |v, p| match v {
            Value::Object(_) => Ok(v.clone()),
            other => Err(p.error(format!(
                "expected an auth key object, found {}",
                read_kind(other)
            ))),
        })?;
        Ok(Self {
            subject,
            namespace: o.req("namespace")?,
            authkey,
            rights: o.with("rights", read_rights)?,
            limits: o.req("limits")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("authkey", self.authkey.clone())
            .field("limits", self.limits.write())
            .field("namespace", self.namespace.write())
            .field("rights", self.rights.write())
            .field("subject", Value::String(self.subject.clone()))
            .build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        crate::json::write_compact(o.key("authkey"), &self.authkey);
        self.limits.write_to(o.key("limits"));
        self.namespace.write_to(o.key("namespace"));
        self.rights.write_to(o.key("rights"));
        o.string("subject", &self.subject);
        o.finish();
    }
}
