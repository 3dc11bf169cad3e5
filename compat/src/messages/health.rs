//! Invoker health: the etcd `InvokerResourceMessage` (FPC) and the legacy `PingMessage`.

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire};
use crate::values::InvokerInstanceId;

/// Invoker status as written in etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvokerStatus {
    /// `up`: takes containers.
    Up,
    /// `unhealthy`: recent activations failed.
    Unhealthy,
    /// `down`: disabled or offline.
    Down,
}

impl InvokerStatus {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Unhealthy => "unhealthy",
            Self::Down => "down",
        }
    }

    /// Parses the wire text (strictly, as the controller does).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "up" => Some(Self::Up),
            "unhealthy" => Some(Self::Unhealthy),
            "down" => Some(Self::Down),
            _ => None,
        }
    }
}

impl Wire for InvokerStatus {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let s = String::read(v, at)?;
        Self::parse(&s).ok_or_else(|| {
            at.error(format!(
                "{s:?} is not an invoker status (up, unhealthy, down)"
            ))
        })
    }
    fn write(&self) -> Value {
        Value::String(self.as_str().into())
    }
}

/// Value of `<cluster>/invokers/<N>...`; memory in MB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokerResourceMessage {
    /// Health.
    pub status: InvokerStatus,
    /// `userMemory − busy − inProgress`.
    pub free_memory: i64,
    /// Memory of running containers.
    pub busy_memory: i64,
    /// Memory of containers being created.
    pub in_progress_memory: i64,
    /// Resource tags.
    pub tags: Vec<String>,
    /// Namespaces the invoker is reserved for.
    pub dedicated_namespaces: Vec<String>,
}

impl Wire for InvokerResourceMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            status: o.req("status")?,
            free_memory: o.req("freeMemory")?,
            busy_memory: o.req("busyMemory")?,
            in_progress_memory: o.req("inProgressMemory")?,
            tags: o.req("tags")?,
            dedicated_namespaces: o.req("dedicatedNamespaces")?,
        })
    }
    fn write(&self) -> Value {
        Sorted::new()
            .field("busyMemory", Value::from(self.busy_memory))
            .field("dedicatedNamespaces", self.dedicated_namespaces.write())
            .field("freeMemory", Value::from(self.free_memory))
            .field("inProgressMemory", Value::from(self.in_progress_memory))
            .field("status", self.status.write())
            .field("tags", self.tags.write())
            .build()
    }
}

/// Legacy (non-FPC) invoker heartbeat on `health`: `{"isEnabled"?,"name"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingMessage {
    /// The invoker.
    pub name: InvokerInstanceId,
    /// Whether it is enabled, when reported.
    pub is_enabled: Option<bool>,
}

impl Wire for PingMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            name: o.req("name")?,
            is_enabled: o.opt("isEnabled")?,
        })
    }
    fn write(&self) -> Value {
        Sorted::new()
            .opt("isEnabled", self.is_enabled.map(Value::Bool))
            .field("name", self.name.write())
            .build()
    }
}
