//! Total readers: every failure is a `DecodeError` naming the JSON path, never a panic.

use std::fmt;

use serde_json::{Map, Value};

use super::Wire;

/// Largest document accepted by `parse`. Kafka records are capped near 1 MiB by OpenWhisk's
/// producers; CouchDB documents with inline code can be larger, so the bound is generous.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// Where in a document a reader is: `$`, `$.action.name`, `$.annotations[2].key`.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// The document itself.
    Root,
    /// A member of an object.
    Key(&'a Path<'a>, &'a str),
    /// An element of an array.
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// The path of an object member below this one.
    pub fn key<'b>(&'b self, key: &'b str) -> Path<'b> {
        Path::Key(self, key)
    }

    /// The path of an array element below this one.
    pub fn index(&self, i: usize) -> Path<'_> {
        Path::Index(self, i)
    }

    /// A decoding error at this path.
    pub fn error(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            path: self.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Key(parent, key) => {
                let plain =
                    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if plain {
                    write!(f, "{parent}.{key}")
                } else {
                    write!(f, "{parent}[{key:?}]")
                }
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// A value that does not have the shape the Scala reader requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at {path}")]
pub struct DecodeError {
    /// JSON path of the offending value, `$` for the document.
    pub path: String,
    /// What was wrong with it.
    pub reason: String,
}

/// Parses one JSON document: strict RFC 8259, at most `MAX_DOCUMENT_BYTES`, nesting bounded by
/// serde_json's recursion limit (128), strings must be valid UTF-8.
pub fn parse(bytes: &[u8]) -> Result<Value, DecodeError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Path::Root.error(format!(
            "document of {} bytes exceeds the limit of {MAX_DOCUMENT_BYTES} bytes",
            bytes.len()
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| Path::Root.error(format!("malformed JSON: {e}")))
}

/// Reader over the members of a JSON object, in the manner of spray's `jsonFormatN`:
/// required members must be present and non-null, optional ones may be missing or `null`, and
/// unknown members are ignored.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    at: Path<'a>,
}

impl<'a> Obj<'a> {
    /// Views `v` as an object, or fails naming what it was instead.
    pub fn new(v: &'a Value, at: Path<'a>) -> Result<Self, DecodeError> {
        match v {
            Value::Object(map) => Ok(Self { map, at }),
            other => Err(at.error(format!("expected an object, found {}", kind_of(other)))),
        }
    }

    /// The path of this object.
    pub fn path(&self) -> Path<'a> {
        self.at
    }

    /// The raw member, if present (`null` included).
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Whether the member is present (even as `null`).
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// A required member.
    pub fn req<T: Wire>(&self, key: &str) -> Result<T, DecodeError> {
        match self.map.get(key) {
            Some(v) => T::read(v, self.at.key(key)),
            None => Err(self.at.key(key).error("required member is missing")),
        }
    }

    /// An optional member: missing or `null` is `None`.
    pub fn opt<T: Wire>(&self, key: &str) -> Result<Option<T>, DecodeError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => T::read(v, self.at.key(key)).map(Some),
        }
    }

    /// A member read with a custom function.
    pub fn with<T>(
        &self,
        key: &str,
        f: impl FnOnce(&Value, Path<'_>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        match self.map.get(key) {
            Some(v) => f(v, self.at.key(key)),
            None => Err(self.at.key(key).error("required member is missing")),
        }
    }
}

/// Java's `String.trim`: strips every character up to U+0020 at both ends (control characters
/// included), but no other Unicode whitespace.
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// A short name of the JSON type of `v`, for error messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// === primitive readers and writers ===

impl Wire for Value {
    fn read(v: &Value, _at: Path<'_>) -> Result<Self, DecodeError> {
        Ok(v.clone())
    }
    fn write(&self) -> Value {
        self.clone()
    }
}

impl Wire for String {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(at.error(format!("expected a string, found {}", kind_of(other)))),
        }
    }
    fn write(&self) -> Value {
        Value::String(self.clone())
    }
    fn write_to(&self, out: &mut String) {
        super::print::push_string(out, self);
    }
}

impl Wire for bool {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        match v {
            Value::Bool(b) => Ok(*b),
            other => Err(at.error(format!("expected a boolean, found {}", kind_of(other)))),
        }
    }
    fn write(&self) -> Value {
        Value::Bool(*self)
    }
}

macro_rules! integer_wire {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
                read_integer(v, at, stringify!($t))
            }
            fn write(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
integer_wire!(i32, i64, u16, u32, u64, usize);

/// Reads a whole number of type `T`. The Scala side keeps numbers as `BigDecimal`; a value with a
/// fraction, or one outside `T`, is rejected rather than silently truncated.
fn read_integer<T: TryFrom<i128>>(
    v: &Value,
    at: Path<'_>,
    type_name: &str,
) -> Result<T, DecodeError> {
    let Value::Number(n) = v else {
        return Err(at.error(format!("expected a whole number, found {}", kind_of(v))));
    };
    let text = n.as_str();
    let whole = integer_text(text)
        .ok_or_else(|| at.error(format!("expected a whole number, found {text}")))?;
    whole
        .parse::<i128>()
        .ok()
        .and_then(|i| T::try_from(i).ok())
        .ok_or_else(|| at.error(format!("number {text} is out of range for {type_name}")))
}

/// The integer text of a JSON number literal if it denotes a whole number (`12`, `1.0`, `1e3`),
/// bounded to 40 digits so a huge exponent cannot allocate without limit.
fn integer_text(text: &str) -> Option<String> {
    let (neg, rest) = text.strip_prefix('-').map_or((false, text), |r| (true, r));
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = format!("{int_part}{frac}");
    let shift = exp.saturating_sub(i64::try_from(frac.len()).unwrap_or(i64::MAX));
    if shift >= 0 {
        if shift > 40 {
            return digits
                .trim_start_matches('0')
                .is_empty()
                .then(|| "0".to_owned());
        }
        digits.extend(std::iter::repeat_n('0', shift as usize));
    } else {
        let cut = i64::try_from(digits.len())
            .unwrap_or(i64::MAX)
            .saturating_add(shift);
        let drop_from = usize::try_from(cut.max(0)).ok()?;
        if drop_from < digits.len() && !digits[drop_from..].bytes().all(|b| b == b'0') {
            return None;
        }
        digits.truncate(drop_from);
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 40 {
        return Some("9".repeat(41));
    }
    let body = if trimmed.is_empty() { "0" } else { trimmed };
    Some(if neg && body != "0" {
        format!("-{body}")
    } else {
        body.to_owned()
    })
}

impl<T: Wire> Wire for Vec<T> {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| T::read(item, at.index(i)))
                .collect(),
            other => Err(at.error(format!("expected an array, found {}", kind_of(other)))),
        }
    }
    fn write(&self) -> Value {
        Value::Array(self.iter().map(Wire::write).collect())
    }
    fn write_to(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_to(out);
        }
        out.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(text: &str) -> Result<i64, DecodeError> {
        let v: Value = serde_json::from_str(text).map_err(|e| Path::Root.error(e.to_string()))?;
        i64::read(&v, Path::Root)
    }

    #[test]
    fn whole_numbers_in_any_notation_are_integers() {
        assert_eq!(int("12").ok(), Some(12));
        assert_eq!(int("1.0").ok(), Some(1));
        assert_eq!(int("1e3").ok(), Some(1000));
        assert_eq!(int("-2500e-2").ok(), Some(-25));
        assert_eq!(int("0e999999").ok(), Some(0));
    }

    #[test]
    fn fractions_and_overflow_are_errors_not_truncations() {
        assert!(int("1.5").is_err());
        assert!(int("1e400").is_err());
        assert!(int("92233720368547758070").is_err());
        assert!(int("\"12\"").is_err());
    }

    #[test]
    fn paths_render_like_json_path() {
        let root = Path::Root;
        let a = root.key("annotations");
        let b = a.index(2);
        let c = b.key("key");
        assert_eq!(c.to_string(), "$.annotations[2].key");
        assert_eq!(root.key("X-B3 id").to_string(), "$[\"X-B3 id\"]");
    }
}
