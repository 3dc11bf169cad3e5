//! `ActivationMessage`: controller → scheduler (Kafka), scheduler → invoker (inside gRPC).

use serde_json::Map;

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire, read_kind};
use crate::values::{
    ActivationId, ControllerInstanceId, DocRevision, FullyQualifiedEntityName, Identity,
    TransactionId,
};

/// A string-to-string map (`lockedArgs`, `traceContext`). Members keep the order they were read
/// or built in: the controller writes them in Scala map order, every re-serialization of a parsed
/// message writes them sorted, and a round trip must reproduce either byte for byte.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringMap(pub Vec<(String, String)>);

impl StringMap {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl Wire for StringMap {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let Value::Object(m) = v else {
            return Err(at.error(format!(
                "expected an object of strings, found {}",
                read_kind(v)
            )));
        };
        let entries = m.iter().map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(at
                .key(k)
                .error(format!("expected a string, found {}", read_kind(other)))),
        });
        entries.collect::<Result<Vec<_>, _>>().map(Self)
    }

    fn write(&self) -> Value {
        let mut m = Map::with_capacity(self.0.len());
        for (k, v) in &self.0 {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        Value::Object(m)
    }

    fn write_to(&self, out: &mut String) {
        let mut o = crate::json::ObjectWriter::new(out);
        for (k, v) in &self.0 {
            o.string(k, v);
        }
        o.finish();
    }
}

/// One invocation, as the controller hands it to a scheduler.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationMessage {
    /// The controller's transaction; its start drives the "too old" check.
    pub transid: TransactionId,
    /// The resolved action, with version and possibly a binding.
    pub action: FullyQualifiedEntityName,
    /// Action document revision.
    pub revision: DocRevision,
    /// Who invokes.
    pub user: Identity,
    /// The activation id.
    pub activation_id: ActivationId,
    /// Acks go to `completed<asString>`.
    pub root_controller_index: ControllerInstanceId,
    /// A blocking invoke needs a result ack.
    pub blocking: bool,
    /// Arguments (object or array), in the order they were read.
    pub content: Option<Value>,
    /// Parameter names passed at `/init` rather than `/run`.
    pub init_args: Vec<String>,
    /// Parameter name → encryption scheme.
    pub locked_args: StringMap,
    /// Parent activation (sequences, conductors).
    pub cause: Option<ActivationId>,
    /// Tracing propagation map.
    pub trace_context: Option<StringMap>,
}

impl Wire for ActivationMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            transid: o.req("transid")?,
            action: o.req("action")?,
            revision: o.with("revision", DocRevision::read)?,
            user: o.req("user")?,
            activation_id: o.req("activationId")?,
            root_controller_index: o.req("rootControllerIndex")?,
            blocking: o.req("blocking")?,
            content: o.opt("content")?,
            init_args: o.req("initArgs")?,
            locked_args: o.req("lockedArgs")?,
            cause: o.opt("cause")?,
            trace_context: o.opt("traceContext")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("action", self.action.write())
            .field("activationId", self.activation_id.write())
            .field("blocking", Value::Bool(self.blocking))
            .opt("cause", self.cause.as_ref().map(Wire::write))
            .opt("content", self.content.clone())
            .field("initArgs", self.init_args.write())
            .field("lockedArgs", self.locked_args.write())
            .field("revision", self.revision.write())
            .field("rootControllerIndex", self.root_controller_index.write())
            .opt("traceContext", self.trace_context.as_ref().map(Wire::write))
            .field("transid", self.transid.write())
            .field("user", self.user.write())
            .build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = crate::json::ObjectWriter::new(out);
        self.action.write_to(o.key("action"));
        self.activation_id.write_to(o.key("activationId"));
        o.raw("blocking", if self.blocking { "true" } else { "false" });
        if let Some(c) = &self.cause {
            c.write_to(o.key("cause"));
        }
        if let Some(content) = &self.content {
            crate::json::write_compact(o.key("content"), content);
        }
        self.init_args.write_to(o.key("initArgs"));
        self.locked_args.write_to(o.key("lockedArgs"));
        self.revision.write_to(o.key("revision"));
        self.root_controller_index
            .write_to(o.key("rootControllerIndex"));
        if let Some(t) = &self.trace_context {
            t.write_to(o.key("traceContext"));
        }
        self.transid.write_to(o.key("transid"));
        self.user.write_to(o.key("user"));
        o.finish();
    }
}
