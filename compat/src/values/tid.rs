//! `TransactionId`: `[id, startMillis, extraLogging?, parent?]`.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::json::push_string;
use crate::json::{DecodeError, Path, Value, Wire};

/// OpenWhisk's transaction id. Its start time is meaningful: the scheduler's "too old" check and
/// the `waitTime` annotation are measured from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionId {
    /// 32 alphanumeric characters for requests; system ids start with `sid_`.
    pub id: String,
    /// Start of the transaction, epoch milliseconds.
    pub start_millis: i64,
    /// Written as a trailing `true` only when set.
    pub extra_logging: bool,
    /// The transaction this one was started from.
    pub parent: Option<Box<TransactionId>>,
}

impl TransactionId {
    /// A transaction with no parent and no extra logging.
    pub fn new(id: impl Into<String>, start_millis: i64) -> Self {
        Self {
            id: id.into(),
            start_millis,
            extra_logging: false,
            parent: None,
        }
    }

    /// What the Scala reader yields for anything it cannot read: `sid_unknown`, started at the
    /// reading process's start.
    pub fn unknown() -> Self {
        Self::new("sid_unknown", process_start_millis())
    }

    fn read_strict(v: &Value) -> Option<Self> {
        let items = v.as_array()?;
        let id = items.first()?.as_str()?.to_owned();
        let start_millis = i64::read(items.get(1)?, Path::Root).ok()?;
        let (extra_logging, parent) = match &items[2..] {
            [] => (false, None),
            [Value::Bool(b)] => (*b, None),
            [Value::Bool(b), p] => (*b, Some(p)),
            [p @ Value::Array(_)] => (false, Some(p)),
            _ => return None,
        };
        let parent = match parent {
            Some(p) => Some(Box::new(Self::read_strict(p)?)),
            None => None,
        };
        Some(Self {
            id,
            start_millis,
            extra_logging,
            parent,
        })
    }
}

fn process_start_millis() -> i64 {
    static START: OnceLock<i64> = OnceLock::new();
    *START.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    })
}

impl Wire for TransactionId {
    /// Like Scala, never fails: an unreadable value becomes `sid_unknown`.
    fn read(v: &Value, _at: Path<'_>) -> Result<Self, DecodeError> {
        Ok(Self::read_strict(v).unwrap_or_else(Self::unknown))
    }

    fn write(&self) -> Value {
        let mut items = vec![
            Value::String(self.id.clone()),
            Value::from(self.start_millis),
        ];
        if self.extra_logging {
            items.push(Value::Bool(true));
        }
        if let Some(parent) = &self.parent {
            items.push(parent.write());
        }
        Value::Array(items)
    }

    fn write_to(&self, out: &mut String) {
        out.push('[');
        push_string(out, &self.id);
        out.push(',');
        out.push_str(&self.start_millis.to_string());
        if self.extra_logging {
            out.push_str(",true");
        }
        if let Some(parent) = &self.parent {
            out.push(',');
            parent.write_to(out);
        }
        out.push(']');
    }
}
