//! `ByteSize` and `ActionLimits`.

use std::fmt;

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire};

/// Unit a `ByteSize` was constructed with; it is kept for rendering (1024-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeUnit {
    /// Bytes.
    B,
    /// Kibibytes, written `KB`.
    KB,
    /// Mebibytes, written `MB`.
    MB,
    /// Gibibytes, written `GB`.
    GB,
}

impl SizeUnit {
    fn factor(self) -> u64 {
        match self {
            SizeUnit::B => 1,
            SizeUnit::KB => 1 << 10,
            SizeUnit::MB => 1 << 20,
            SizeUnit::GB => 1 << 30,
        }
    }
}

/// A size such as `"256 MB"` or `"2147483648 B"`, rendered in the unit it was built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteSize {
    /// Amount in `unit`.
    pub size: u64,
    /// Unit of `size`.
    pub unit: SizeUnit,
}

impl ByteSize {
    /// `n` mebibytes.
    pub fn mb(n: u64) -> Self {
        Self {
            size: n,
            unit: SizeUnit::MB,
        }
    }

    /// Size in bytes (saturating).
    pub fn bytes(&self) -> u64 {
        self.size.saturating_mul(self.unit.factor())
    }

    /// Size in whole mebibytes.
    pub fn to_mb(&self) -> u64 {
        self.bytes() >> 20
    }

    /// Parses `(?i)\s?(\d+)\s?(GB|MB|KB|B|G|M|K)\s?` as a whole string.
    pub fn parse(s: &str) -> Result<Self, String> {
        let err = || format!("{s:?} is not a size like \"256 MB\"");
        let body = s.strip_prefix(char::is_whitespace).unwrap_or(s);
        let body = body.strip_suffix(char::is_whitespace).unwrap_or(body);
        let digits_end = body.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (digits, rest) = body.split_at(digits_end);
        let unit_text = rest.strip_prefix(char::is_whitespace).unwrap_or(rest);
        let unit = match unit_text.to_ascii_uppercase().as_str() {
            "B" => SizeUnit::B,
            "K" | "KB" => SizeUnit::KB,
            "M" | "MB" => SizeUnit::MB,
            "G" | "GB" => SizeUnit::GB,
            _ => return Err(err()),
        };
        let size = digits.parse::<u64>().map_err(|_| err())?;
        Ok(Self { size, unit })
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            SizeUnit::B => "B",
            SizeUnit::KB => "KB",
            SizeUnit::MB => "MB",
            SizeUnit::GB => "GB",
        };
        write!(f, "{} {unit}", self.size)
    }
}

impl Wire for ByteSize {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        Self::parse(&String::read(v, at)?).map_err(|e| at.error(e))
    }
    fn write(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// Log limit used when a document has none (`whisk.log-limit.std`, MB).
pub const STD_LOG_LIMIT_MB: u32 = 10;
/// Intra-container concurrency used when a document has none (`whisk.concurrency-limit.std`).
pub const STD_CONCURRENCY: u32 = 1;

/// An action's limits: `{"concurrency","instances"?,"logs","memory","timeout"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionLimits {
    /// Time limit in milliseconds.
    pub timeout_ms: u64,
    /// Memory limit in MB.
    pub memory_mb: u32,
    /// Log limit in MB.
    pub logs_mb: u32,
    /// Activations one container runs at once.
    pub concurrency: u32,
    /// Maximum containers of this action, if limited.
    pub instances: Option<u32>,
}

impl Default for ActionLimits {
    fn default() -> Self {
        Self {
            timeout_ms: 60_000,
            memory_mb: 256,
            logs_mb: STD_LOG_LIMIT_MB,
            concurrency: STD_CONCURRENCY,
            instances: None,
        }
    }
}

impl Wire for ActionLimits {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            timeout_ms: o.req("timeout")?,
            memory_mb: o.req("memory")?,
            logs_mb: o.opt("logs")?.unwrap_or(STD_LOG_LIMIT_MB),
            concurrency: o.opt("concurrency")?.unwrap_or(STD_CONCURRENCY),
            instances: o.opt("instances")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("concurrency", Value::from(self.concurrency))
            .opt("instances", self.instances.map(Value::from))
            .field("logs", Value::from(self.logs_mb))
            .field("memory", Value::from(self.memory_mb))
            .field("timeout", Value::from(self.timeout_ms))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_keep_their_unit() {
        assert_eq!(
            ByteSize::parse("256 MB").map(|b| b.to_string()),
            Ok("256 MB".into())
        );
        assert_eq!(
            ByteSize::parse("2048m").map(|b| b.to_string()),
            Ok("2048 MB".into())
        );
        assert_eq!(ByteSize::parse("2147483648 B").map(|b| b.to_mb()), Ok(2048));
        assert!(ByteSize::parse("12 TB").is_err());
        assert!(ByteSize::parse("  12 MB").is_err());
        assert!(ByteSize::parse("").is_err());
    }
}
