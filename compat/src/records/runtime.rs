//! The action runtime protocol bodies (`/init`, `/run`) and the manifest as a document.

use serde_json::Map;

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire, scala_map};
use crate::messages::StringMap;
use crate::runtimes::RuntimesManifest;

/// `POST /init` body: `{"value":{"name","binary","main","code"?,"env"?}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitRequest {
    /// Action name.
    pub name: String,
    /// Code is base64.
    pub binary: bool,
    /// Entry point (`main` by default).
    pub main: String,
    /// The code, absent for a blackbox without code.
    pub code: Option<String>,
    /// Init parameters and `__OW_*` context, all strings; omitted when empty.
    pub env: StringMap,
}

impl InitRequest {
    /// Orders `env` as the invoker's Scala map would (insertion order up to four entries, Scala
    /// `HashMap` order from five). Use this when building a request from scratch.
    pub fn env_in_scala_order(entries: Vec<(String, String)>) -> StringMap {
        let pairs = entries
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        match scala_map(pairs) {
            Value::Object(m) => StringMap(
                m.into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
            ),
            _ => StringMap::default(),
        }
    }
}

impl Wire for InitRequest {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        let value_at = at.key("value");
        let inner = Obj::new(o.raw("value").unwrap_or(&Value::Null), value_at)?;
        Ok(Self {
            name: inner.req("name")?,
            binary: inner.req("binary")?,
            main: inner.req("main")?,
            code: inner.opt("code")?,
            env: inner.opt("env")?.unwrap_or_default(),
        })
    }

    fn write(&self) -> Value {
        let mut pairs = vec![
            ("name".to_owned(), Value::String(self.name.clone())),
            ("binary".to_owned(), Value::Bool(self.binary)),
            ("main".to_owned(), Value::String(self.main.clone())),
        ];
        pairs.extend(
            self.code
                .clone()
                .map(|c| ("code".to_owned(), Value::String(c))),
        );
        if !self.env.0.is_empty() {
            pairs.push(("env".to_owned(), self.env.write()));
        }
        let mut top = Map::with_capacity(1);
        top.insert("value".into(), scala_map(pairs));
        Value::Object(top)
    }
}

/// `POST /run` body (keys sorted; `deadline` is a string; `action_version` may be null).
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    /// Arguments (object or array) minus init parameters.
    pub value: Value,
    /// `/ns/pkg/name`.
    pub action_name: String,
    /// Action version, `null` when the name had none.
    pub action_version: Option<String>,
    pub activation_id: String,
    /// `uuid:secret`, absent when the action opts out with `provide-api-key`.
    pub api_key: Option<String>,
    /// Epoch milliseconds, as a string.
    pub deadline: String,
    /// Invoking namespace.
    pub namespace: String,
    /// The transaction id (id only).
    pub transaction_id: String,
}

impl Wire for RunRequest {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            value: o.req("value")?,
            action_name: o.req("action_name")?,
            action_version: o.opt("action_version")?,
            activation_id: o.req("activation_id")?,
            api_key: o.opt("api_key")?,
            deadline: o.req("deadline")?,
            namespace: o.req("namespace")?,
            transaction_id: o.req("transaction_id")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("action_name", Value::String(self.action_name.clone()))
            .field(
                "action_version",
                self.action_version
                    .clone()
                    .map_or(Value::Null, Value::String),
            )
            .field("activation_id", Value::String(self.activation_id.clone()))
            .opt("api_key", self.api_key.clone().map(Value::String))
            .field("deadline", Value::String(self.deadline.clone()))
            .field("namespace", Value::String(self.namespace.clone()))
            .field("transaction_id", Value::String(self.transaction_id.clone()))
            .field("value", self.value.clone())
            .build()
    }
}

/// The runtimes manifest as a document. OpenWhisk only ever reads it, so it is validated as the
/// Scala reader would and written back as it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimesManifestDocument {
    /// The parsed manifest.
    pub manifest: RuntimesManifest,
    raw: Value,
}

impl Wire for RuntimesManifestDocument {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            manifest: RuntimesManifest::read(v, at)?,
            raw: v.clone(),
        })
    }
    fn write(&self) -> Value {
        self.raw.clone()
    }
}
