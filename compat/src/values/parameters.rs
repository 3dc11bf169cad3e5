//! `Parameters`: `[{"key","value","init"?,"encryption"?}...]`, a Scala map underneath.

use crate::json::{DecodeError, Obj, Path, Value, Wire, read_kind, scala_hash_order};

/// One parameter or annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Name.
    pub key: String,
    /// Any JSON value, `null` included.
    pub value: Value,
    /// Passed to `/init` instead of `/run`; written only when true.
    pub init: bool,
    /// Encryption scheme of `value` (`aes-128`, `aes-256`); written only when set.
    pub encryption: Option<String>,
}

/// Parameters or annotations. Like the Scala map they are, keys are unique (the last duplicate
/// wins) and five or more entries are written in Scala `HashMap` order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parameters(Vec<Parameter>);

impl Parameters {
    /// Builds the map from entries in insertion order.
    pub fn from_entries(entries: impl IntoIterator<Item = Parameter>) -> Self {
        let mut params: Vec<Parameter> = Vec::new();
        for p in entries {
            match params.iter_mut().find(|q| q.key == p.key) {
                Some(existing) => *existing = p,
                None => params.push(p),
            }
        }
        if params.len() >= 5 {
            let keys: Vec<String> = params.iter().map(|p| p.key.clone()).collect();
            let mut ordered = Vec::with_capacity(params.len());
            for key in scala_hash_order(&keys) {
                if let Some(i) = params.iter().position(|p| p.key == key) {
                    ordered.push(params.swap_remove(i));
                }
            }
            params = ordered;
        }
        Self(params)
    }

    /// Builds plain `key: value` entries.
    pub fn from_pairs<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Self {
        Self::from_entries(pairs.into_iter().map(|(k, v)| Parameter {
            key: k.into(),
            value: v,
            init: false,
            encryption: None,
        }))
    }

    /// The entries in written order.
    pub fn entries(&self) -> &[Parameter] {
        &self.0
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|p| p.key == key).map(|p| &p.value)
    }

    /// Whether the annotation `key` is set to a truthy value (as OpenWhisk's `isTruthy`).
    pub fn is_truthy(&self, key: &str, absent: bool) -> bool {
        match self.get(key) {
            None => absent,
            Some(Value::Bool(b)) => *b,
            Some(Value::Null) => false,
            Some(Value::Number(n)) => n.as_f64().is_none_or(|f| f != 0.0),
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        }
    }
}

fn read_parameter(v: &Value, at: Path<'_>) -> Result<Parameter, DecodeError> {
    let o = Obj::new(v, at)?;
    let key: String = o.req("key")?;
    let value = o
        .raw("value")
        .cloned()
        .ok_or_else(|| at.key("value").error("required member is missing"))?;
    let init: Option<bool> = o.opt("init")?;
    let encryption = match o.raw("encryption") {
        None => None,
        Some(Value::Null) if o.has("init") => None,
        Some(Value::Null) => {
            return Err(at
                .key("encryption")
                .error("parameters malformed: null encryption without init"));
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(at
                .key("encryption")
                .error(format!("expected a string, found {}", read_kind(other))));
        }
    };
    Ok(Parameter {
        key,
        value,
        init: init.unwrap_or(false),
        encryption,
    })
}

impl Wire for Parameters {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let Value::Array(items) = v else {
            return Err(at.error(format!(
                "expected a parameter array, found {}",
                read_kind(v)
            )));
        };
        let entries = items
            .iter()
            .enumerate()
            .map(|(i, item)| read_parameter(item, at.index(i)));
        Ok(Self::from_entries(entries.collect::<Result<Vec<_>, _>>()?))
    }

    fn write(&self) -> Value {
        let items = self.0.iter().map(|p| {
            let mut m = serde_json::Map::with_capacity(4);
            m.insert("key".into(), Value::String(p.key.clone()));
            m.insert("value".into(), p.value.clone());
            if p.init {
                m.insert("init".into(), Value::Bool(true));
            }
            if let Some(e) = &p.encryption {
                m.insert("encryption".into(), Value::String(e.clone()));
            }
            Value::Object(m)
        });
        Value::Array(items.collect())
    }

    fn write_to(&self, out: &mut String) {
        out.push('[');
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut o = crate::json::ObjectWriter::new(out);
            o.string("key", &p.key);
            crate::json::write_compact(o.key("value"), &p.value);
            if p.init {
                o.raw("init", "true");
            }
            if let Some(e) = &p.encryption {
                o.string("encryption", e);
            }
            o.finish();
        }
        out.push(']');
    }
}
