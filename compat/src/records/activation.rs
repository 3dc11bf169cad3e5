//! Activation results and records.

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire};
use crate::values::{ActivationId, EntityName, EntityPath, Parameters, SemVer};

use super::read_instant;

/// `response.statusCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// 0.
    Success,
    /// 1: the action returned an `error`.
    ApplicationError,
    /// 2: the action misbehaved (bad init, timeout, no valid JSON).
    DeveloperError,
    /// 3: the platform failed.
    WhiskError,
}

impl StatusCode {
    /// The wire number.
    pub fn code(self) -> u8 {
        self as u8
    }

    fn from_code(n: i64) -> Option<Self> {
        [
            Self::Success,
            Self::ApplicationError,
            Self::DeveloperError,
            Self::WhiskError,
        ]
        .into_iter()
        .find(|s| i64::from(s.code()) == n)
    }
}

/// `{"result"?,"size"?,"statusCode"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationResponse {
    /// Outcome class.
    pub status_code: StatusCode,
    /// The result, in the order it was read.
    pub result: Option<Value>,
    /// UTF-16 length of the container's raw response.
    pub size: Option<i64>,
}

impl ActivationResponse {
    /// A success carrying `result`.
    pub fn success(result: Value, size: Option<i64>) -> Self {
        Self {
            status_code: StatusCode::Success,
            result: Some(result),
            size,
        }
    }

    /// A failure with `{"error": message}` as result.
    pub fn error(status_code: StatusCode, message: impl Into<String>) -> Self {
        let mut m = serde_json::Map::new();
        m.insert("error".into(), Value::String(message.into()));
        Self {
            status_code,
            result: Some(Value::Object(m)),
            size: None,
        }
    }
}

impl Wire for ActivationResponse {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        let code: i64 = o.req("statusCode")?;
        let status_code = StatusCode::from_code(code).ok_or_else(|| {
            at.key("statusCode")
                .error(format!("status code {code} is not 0..3"))
        })?;
        Ok(Self {
            status_code,
            result: o.opt("result")?,
            size: o.opt("size")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .opt("result", self.result.clone())
            .opt("size", self.size.map(Value::from))
            .field("statusCode", Value::from(self.status_code.code()))
            .build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = crate::json::ObjectWriter::new(out);
        if let Some(r) = &self.result {
            crate::json::write_compact(o.key("result"), r);
        }
        if let Some(s) = self.size {
            o.raw("size", &s.to_string());
        }
        o.raw("statusCode", &self.status_code.code().to_string());
        o.finish();
    }
}

/// An activation record as acks and the REST API carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct WhiskActivation {
    /// The invoking namespace.
    pub namespace: EntityPath,
    /// Action name.
    pub name: EntityName,
    /// Invoking subject.
    pub subject: String,
    pub activation_id: ActivationId,
    /// Epoch milliseconds.
    pub start: i64,
    /// Epoch milliseconds.
    pub end: i64,
    pub cause: Option<ActivationId>,
    pub response: ActivationResponse,
    pub logs: Vec<String>,
    pub version: SemVer,
    pub publish: bool,
    pub annotations: Parameters,
    /// Milliseconds.
    pub duration: Option<i64>,
}

impl WhiskActivation {
    fn fields(&self) -> Sorted {
        Sorted::new()
            .field("activationId", self.activation_id.write())
            .field("annotations", self.annotations.write())
            .opt("cause", self.cause.as_ref().map(Wire::write))
            .opt("duration", self.duration.map(Value::from))
            .field("end", Value::from(self.end))
            .field("logs", self.logs.write())
            .field("name", self.name.write())
            .field("namespace", self.namespace.write())
            .field("publish", Value::Bool(self.publish))
            .field("response", self.response.write())
            .field("start", Value::from(self.start))
            .field("subject", Value::String(self.subject.clone()))
            .field("version", self.version.write())
    }
}

impl Wire for WhiskActivation {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            namespace: o.req("namespace")?,
            name: o.req("name")?,
            subject: o.req("subject")?,
            activation_id: o.req("activationId")?,
            start: o.with("start", read_instant)?,
            end: o.with("end", read_instant)?,
            cause: o.opt("cause")?,
            response: o.req("response")?,
            logs: o.req("logs")?,
            version: o.req("version")?,
            publish: o.req("publish")?,
            annotations: o.req("annotations")?,
            duration: o.opt("duration")?,
        })
    }

    fn write(&self) -> Value {
        self.fields().build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = crate::json::ObjectWriter::new(out);
        self.activation_id.write_to(o.key("activationId"));
        self.annotations.write_to(o.key("annotations"));
        if let Some(c) = &self.cause {
            c.write_to(o.key("cause"));
        }
        if let Some(d) = self.duration {
            o.raw("duration", &d.to_string());
        }
        o.raw("end", &self.end.to_string());
        self.logs.write_to(o.key("logs"));
        o.string("name", self.name.as_str());
        self.namespace.write_to(o.key("namespace"));
        o.raw("publish", if self.publish { "true" } else { "false" });
        self.response.write_to(o.key("response"));
        o.raw("start", &self.start.to_string());
        o.string("subject", &self.subject);
        self.version.write_to(o.key("version"));
        o.finish();
    }
}

/// The record stored in the `activations` database: a `WhiskActivation` plus
/// `_id` (`<namespace>/<activationId>`), `_rev`, `entityType` and `updated`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationDocument {
    pub id: String,
    pub rev: Option<String>,
    pub activation: WhiskActivation,
    /// Epoch milliseconds the record was built.
    pub updated: i64,
}

impl ActivationDocument {
    /// The document for `activation`, with the stock `_id`.
    pub fn new(activation: WhiskActivation, updated: i64) -> Self {
        let id = format!("{}/{}", activation.namespace, activation.activation_id);
        Self {
            id,
            rev: None,
            activation,
            updated,
        }
    }
}

impl Wire for ActivationDocument {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        if let Some(t) = o.raw("entityType")
            && t.as_str() != Some("activation")
        {
            return Err(at.key("entityType").error(format!(
                "document type mismatch: expected \"activation\", found {t}"
            )));
        }
        Ok(Self {
            id: o.req("_id")?,
            rev: o.opt("_rev")?,
            activation: WhiskActivation::read(v, at)?,
            updated: o.with("updated", read_instant)?,
        })
    }

    fn write(&self) -> Value {
        self.activation
            .fields()
            .field("_id", Value::String(self.id.clone()))
            .opt("_rev", self.rev.clone().map(Value::String))
            .field("entityType", Value::String("activation".into()))
            .field("updated", Value::from(self.updated))
            .build()
    }
}
