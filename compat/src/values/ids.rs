//! Activation and creation ids, document revisions.

use std::fmt;

use crate::json::{DecodeError, Path, Value, Wire, read_kind};

/// 32 lower-case hex characters (a UUIDv4 without dashes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActivationId(String);

/// Same shape as `ActivationId`; stable across the retries of one container creation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreationId(String);

macro_rules! hex_id {
    ($t:ident, $what:literal) => {
        impl $t {
            /// Validates `s` as 32 lower-case hex characters.
            pub fn parse(s: &str) -> Result<Self, String> {
                if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(format!(concat!($what, " must be 32 lower-case hex characters, got {:?}"), s))
                }
            }

            /// The id text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Wire for $t {
            /// A JSON number is accepted too; its decimal text is validated like a string.
            fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
                let text = match v {
                    Value::String(s) => s.as_str(),
                    Value::Number(n) => n.as_str(),
                    other => return Err(at.error(format!("expected a string, found {}", read_kind(other)))),
                };
                Self::parse(text).map_err(|e| at.error(e))
            }

            fn write(&self) -> Value {
                Value::String(self.0.clone())
            }

            fn write_to(&self, out: &mut String) {
                crate::json::push_string(out, &self.0);
            }
        }
    };
}

hex_id!(ActivationId, "activation id");
hex_id!(CreationId, "creation id");

/// A CouchDB `_rev`, or none (written as `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DocRevision(Option<String>);

impl DocRevision {
    /// A revision from its text; blank text means no revision.
    pub fn new(rev: impl Into<String>) -> Self {
        let rev = rev.into();
        let trimmed = crate::json::java_trim(&rev);
        if trimmed.is_empty() {
            Self(None)
        } else {
            Self(Some(trimmed.to_owned()))
        }
    }

    /// No revision.
    pub fn empty() -> Self {
        Self(None)
    }

    /// The revision text, if any.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The generation number before the first `-` (how OpenWhisk orders revisions).
    pub fn generation(&self) -> Option<u64> {
        self.0.as_deref()?.split('-').next()?.parse().ok()
    }
}

impl fmt::Display for DocRevision {
    /// As etcd keys spell it: the text, or `null` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or("null"))
    }
}

impl Wire for DocRevision {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        match v {
            Value::String(s) => Ok(Self::new(s.as_str())),
            Value::Null => Ok(Self(None)),
            other => Err(at.error(format!(
                "expected a revision string or null, found {}",
                read_kind(other)
            ))),
        }
    }

    fn write(&self) -> Value {
        self.0.clone().map_or(Value::Null, Value::String)
    }

    fn write_to(&self, out: &mut String) {
        match &self.0 {
            Some(rev) => crate::json::push_string(out, rev),
            None => out.push_str("null"),
        }
    }
}
