//! User events on `events`: activation summaries and metrics.

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire};

/// Summary of one finished activation (`eventType` `Activation`). Durations are milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationEvent {
    pub activation_id: String,
    pub caused_by: Option<String>,
    pub conductor: bool,
    pub duration: i64,
    pub init_time: i64,
    pub kind: String,
    pub memory: i64,
    /// The `path` annotation of the action.
    pub name: String,
    pub size: Option<i64>,
    pub status_code: i64,
    pub user_defined_status_code: Option<i64>,
    pub wait_time: i64,
}

/// The body of an event: an activation unless it has `metricName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBody {
    /// An activation summary.
    Activation(ActivationEvent),
    /// A metric such as `ConcurrentRateLimit`.
    Metric {
        metric_name: String,
        metric_value: i64,
    },
}

/// Durations are clamped at zero, as the Scala reader does for non-positive values.
fn duration(o: &Obj<'_>, key: &str) -> Result<i64, DecodeError> {
    o.req::<i64>(key).map(|d| d.max(0))
}

impl Wire for ActivationEvent {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            activation_id: o.req("activationId")?,
            caused_by: o.opt("causedBy")?,
            conductor: o.req("conductor")?,
            duration: duration(&o, "duration")?,
            init_time: duration(&o, "initTime")?,
            kind: o.req("kind")?,
            memory: o.req("memory")?,
            name: o.req("name")?,
            size: o.opt("size")?,
            status_code: o.req("statusCode")?,
            user_defined_status_code: o.opt("userDefinedStatusCode")?,
            wait_time: duration(&o, "waitTime")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("activationId", Value::String(self.activation_id.clone()))
            .opt("causedBy", self.caused_by.clone().map(Value::String))
            .field("conductor", Value::Bool(self.conductor))
            .field("duration", Value::from(self.duration))
            .field("initTime", Value::from(self.init_time))
            .field("kind", Value::String(self.kind.clone()))
            .field("memory", Value::from(self.memory))
            .field("name", Value::String(self.name.clone()))
            .opt("size", self.size.map(Value::from))
            .field("statusCode", Value::from(self.status_code))
            .opt(
                "userDefinedStatusCode",
                self.user_defined_status_code.map(Value::from),
            )
            .field("waitTime", Value::from(self.wait_time))
            .build()
    }
}

impl Wire for EventBody {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        if o.has("metricName") {
            Ok(Self::Metric {
                metric_name: o.req("metricName")?,
                metric_value: o.req("metricValue")?,
            })
        } else {
            ActivationEvent::read(v, at).map(Self::Activation)
        }
    }

    fn write(&self) -> Value {
        match self {
            Self::Activation(a) => a.write(),
            Self::Metric {
                metric_name,
                metric_value,
            } => Sorted::new()
                .field("metricName", Value::String(metric_name.clone()))
                .field("metricValue", Value::from(*metric_value))
                .build(),
        }
    }
}

/// `{"body","eventType","namespace","source","subject","timestamp","userId"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMessage {
    /// `invoker<N>`, `scheduler<sid>` or `controller<id>`.
    pub source: String,
    pub body: EventBody,
    pub subject: String,
    pub namespace: String,
    pub user_id: String,
    /// `Activation` or `Metric`.
    pub event_type: String,
    /// Epoch milliseconds.
    pub timestamp: i64,
}

impl Wire for EventMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            source: o.req("source")?,
            body: o.req("body")?,
            subject: o.req("subject")?,
            namespace: o.req("namespace")?,
            user_id: o.req("userId")?,
            event_type: o.req("eventType")?,
            timestamp: o.req("timestamp")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("body", self.body.write())
            .field("eventType", Value::String(self.event_type.clone()))
            .field("namespace", Value::String(self.namespace.clone()))
            .field("source", Value::String(self.source.clone()))
            .field("subject", Value::String(self.subject.clone()))
            .field("timestamp", Value::from(self.timestamp))
            .field("userId", Value::String(self.user_id.clone()))
            .build()
    }
}

/// `userDefinedStatusCode` of an activation event: `result.error.statusCode` or
/// `result.statusCode`; a value that is not an integer (or integer text) counts as 400.
pub fn user_defined_status_code(result: &Value) -> Option<i64> {
    let code = result
        .get("error")
        .and_then(|e| e.get("statusCode"))
        .or_else(|| result.get("statusCode"))?;
    let parsed = match code {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    Some(parsed.unwrap_or(400))
}
