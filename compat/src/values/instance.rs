//! Instance ids of invokers, controllers and schedulers; scheduler endpoints and state.

use std::fmt;

use crate::json::ObjectWriter;
use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire};

use super::ByteSize;

/// `{"busyMemory"?,"dedicatedNamespaces","displayedName"?,"instance","instanceType":"invoker","tags","uniqueName"?,"userMemory"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokerInstanceId {
    /// Invoker number (topic `invoker<N>`).
    pub instance: i32,
    /// Unique name (ansible passes the index).
    pub unique_name: Option<String>,
    /// Display name.
    pub displayed_name: Option<String>,
    /// Memory for action containers.
    pub user_memory: ByteSize,
    /// Memory in use, when reported.
    pub busy_memory: Option<ByteSize>,
    /// Resource tags.
    pub tags: Vec<String>,
    /// Namespaces this invoker is reserved for (empty: all).
    pub dedicated_namespaces: Vec<String>,
}

impl InvokerInstanceId {
    /// An invoker id with no names, tags or dedicated namespaces.
    pub fn new(instance: i32, user_memory: ByteSize) -> Self {
        Self {
            instance,
            unique_name: None,
            displayed_name: None,
            user_memory,
            busy_memory: None,
            tags: Vec::new(),
            dedicated_namespaces: Vec::new(),
        }
    }

    /// The placeholder the scheduler puts in acks it originates (`instance` 0, `0 MB`), which the
    /// controller can parse.
    pub fn scheduler_placeholder() -> Self {
        Self::new(0, ByteSize::mb(0))
    }
}

impl fmt::Display for InvokerInstanceId {
    /// `invoker<N>[/<uniqueName>[/<displayedName>]]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invoker{}", self.instance)?;
        for name in [&self.unique_name, &self.displayed_name]
            .into_iter()
            .flatten()
        {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

fn expect_instance_type(o: &Obj<'_>, expected: &str, required: bool) -> Result<(), DecodeError> {
    match o.raw("instanceType") {
        Some(Value::String(s)) if s == expected => Ok(()),
        None if !required => Ok(()),
        Some(other) => Err(o
            .path()
            .key("instanceType")
            .error(format!("expected \"{expected}\", found {other}"))),
        None => Err(o
            .path()
            .key("instanceType")
            .error("required member is missing")),
    }
}

impl Wire for InvokerInstanceId {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        expect_instance_type(&o, "invoker", true)?;
        Ok(Self {
            instance: o.req("instance")?,
            unique_name: o.opt("uniqueName")?,
            displayed_name: o.opt("displayedName")?,
            user_memory: o.req("userMemory")?,
            busy_memory: o.opt("busyMemory")?,
            tags: o.req("tags")?,
            dedicated_namespaces: o.req("dedicatedNamespaces")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .opt("busyMemory", self.busy_memory.as_ref().map(Wire::write))
            .field("dedicatedNamespaces", self.dedicated_namespaces.write())
            .opt(
                "displayedName",
                self.displayed_name.clone().map(Value::String),
            )
            .field("instance", Value::from(self.instance))
            .field("instanceType", Value::String("invoker".into()))
            .field("tags", self.tags.write())
            .opt("uniqueName", self.unique_name.clone().map(Value::String))
            .field("userMemory", self.user_memory.write())
            .build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        if let Some(b) = &self.busy_memory {
            o.string("busyMemory", &b.to_string());
        }
        self.dedicated_namespaces
            .write_to(o.key("dedicatedNamespaces"));
        if let Some(d) = &self.displayed_name {
            o.string("displayedName", d);
        }
        o.raw("instance", &self.instance.to_string());
        o.string("instanceType", "invoker");
        self.tags.write_to(o.key("tags"));
        if let Some(u) = &self.unique_name {
            o.string("uniqueName", u);
        }
        o.string("userMemory", &self.user_memory.to_string());
        o.finish();
    }
}

/// Validates a controller or scheduler id: `[a-zA-Z0-9._-]+`, at most 128 characters (it becomes
/// part of Kafka topic names).
fn validate_instance_name(s: &str) -> Result<(), String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if !s.is_empty() && s.len() <= 128 && s.bytes().all(allowed) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} must match [a-zA-Z0-9._-]+ and be at most 128 characters"
        ))
    }
}

/// `{"asString","instanceType":"controller"}`; `instanceType` may be missing on read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ControllerInstanceId {
    /// The id as it appears in topic `completed<asString>`.
    pub as_string: String,
}

impl ControllerInstanceId {
    /// Validates the id.
    pub fn new(as_string: impl Into<String>) -> Result<Self, String> {
        let as_string = as_string.into();
        validate_instance_name(&as_string)?;
        Ok(Self { as_string })
    }
}

impl Wire for ControllerInstanceId {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        expect_instance_type(&o, "controller", false)?;
        let s: String = o.req("asString")?;
        Self::new(s).map_err(|e| at.key("asString").error(e))
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("asString", Value::String(self.as_string.clone()))
            .field("instanceType", Value::String("controller".into()))
            .build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        o.string("asString", &self.as_string);
        o.string("instanceType", "controller");
        o.finish();
    }
}

/// `{"asString"}` (no `instanceType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchedulerInstanceId {
    /// The id as it appears in topics `scheduler<asString>` and `creationAck<asString>`.
    pub as_string: String,
}

impl SchedulerInstanceId {
    /// Validates the id.
    pub fn new(as_string: impl Into<String>) -> Result<Self, String> {
        let as_string = as_string.into();
        validate_instance_name(&as_string)?;
        Ok(Self { as_string })
    }
}

impl Wire for SchedulerInstanceId {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        let s: String = o.req("asString")?;
        Self::new(s).map_err(|e| at.key("asString").error(e))
    }
    fn write(&self) -> Value {
        Sorted::new()
            .field("asString", Value::String(self.as_string.clone()))
            .build()
    }
}

/// The polymorphic reader used for the `instance` of acks: dispatches on `instanceType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceId {
    /// An invoker.
    Invoker(InvokerInstanceId),
    /// A controller.
    Controller(ControllerInstanceId),
}

impl Wire for InstanceId {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        match o.raw("instanceType").and_then(Value::as_str) {
            Some("invoker") => InvokerInstanceId::read(v, at).map(Self::Invoker),
            Some("controller") => ControllerInstanceId::read(v, at).map(Self::Controller),
            _ => Err(at
                .key("instanceType")
                .error("expected \"invoker\" or \"controller\"")),
        }
    }
    fn write(&self) -> Value {
        match self {
            Self::Invoker(i) => i.write(),
            Self::Controller(c) => c.write(),
        }
    }

    fn write_to(&self, out: &mut String) {
        match self {
            Self::Invoker(i) => i.write_to(out),
            Self::Controller(c) => c.write_to(out),
        }
    }
}

/// Which remoting port name the endpoints carry: HEAD (Pekko) or 2.0.0 (Akka).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RemotingDialect {
    /// `pekkoPort` (OpenWhisk HEAD).
    #[default]
    Pekko,
    /// `akkaPort` (OpenWhisk 2.0.0).
    Akka,
}

/// `{"host","pekkoPort","rpcPort"}` (HEAD) or `{"akkaPort","host","rpcPort"}` (2.0.0).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchedulerEndpoints {
    /// Host invokers and controllers reach the scheduler at.
    pub host: String,
    /// gRPC port of `activation.ActivationService`.
    pub rpc_port: u16,
    /// Remoting port (published even though this scheduler does not speak Artery).
    pub remoting_port: u16,
    /// Which name the remoting port is published under.
    pub dialect: RemotingDialect,
}

impl Wire for SchedulerEndpoints {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        let (remoting_port, dialect) = if o.has("pekkoPort") {
            (o.req("pekkoPort")?, RemotingDialect::Pekko)
        } else if o.has("akkaPort") {
            (o.req("akkaPort")?, RemotingDialect::Akka)
        } else {
            return Err(at
                .key("pekkoPort")
                .error("required member is missing (nor is there an akkaPort)"));
        };
        Ok(Self {
            host: o.req("host")?,
            rpc_port: o.req("rpcPort")?,
            remoting_port,
            dialect,
        })
    }

    fn write(&self) -> Value {
        let port_key = match self.dialect {
            RemotingDialect::Pekko => "pekkoPort",
            RemotingDialect::Akka => "akkaPort",
        };
        Sorted::new()
            .field("host", Value::String(self.host.clone()))
            .field(port_key, Value::from(self.remoting_port))
            .field("rpcPort", Value::from(self.rpc_port))
            .build()
    }
}

/// The etcd value of `<cluster>/scheduler/<sid>`: `{"endpoints","queueSize","sid"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerStates {
    /// Scheduler id.
    pub sid: SchedulerInstanceId,
    /// Where to reach it.
    pub endpoints: SchedulerEndpoints,
    /// Number of queues it leads (the controller places new queues on the smallest).
    pub queue_size: i64,
}

impl Wire for SchedulerStates {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            sid: o.req("sid")?,
            endpoints: o.req("endpoints")?,
            queue_size: o.req("queueSize")?,
        })
    }
    fn write(&self) -> Value {
        Sorted::new()
            .field("endpoints", self.endpoints.write())
            .field("queueSize", Value::from(self.queue_size))
            .field("sid", self.sid.write())
            .build()
    }
}
