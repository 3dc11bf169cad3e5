//! Entity names, paths, versions and fully qualified names.

use std::fmt;

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire, read_kind};

/// A name segment: `\A([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])\z` with ASCII `\w`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityName(String);

impl EntityName {
    /// Validates `s` against OpenWhisk's entity-name rule.
    pub fn parse(s: &str) -> Result<Self, String> {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let inner = |b: u8| word(b) || matches!(b, b'@' | b' ' | b'.' | b'&' | b'-');
        let bytes = s.as_bytes();
        let ok = match bytes {
            [] => false,
            [one] => word(*one),
            [first, middle @ .., last] => {
                bytes.len() <= 256
                    && word(*first)
                    && middle.iter().all(|b| inner(*b))
                    && (word(*last) || matches!(last, b'@' | b'.' | b'&' | b'-'))
            }
        };
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("{s:?} is not a valid entity name"))
        }
    }

    /// The name text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Wire for EntityName {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        Self::parse(&String::read(v, at)?).map_err(|e| at.error(e))
    }
    fn write(&self) -> Value {
        Value::String(self.0.clone())
    }

    fn write_to(&self, out: &mut String) {
        crate::json::push_string(out, &self.to_string());
    }
}

/// `namespace[/package]`: one or more entity names joined by `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityPath(Vec<EntityName>);

impl EntityPath {
    /// Splits on `/`, dropping empty segments (so a leading `/` is tolerated).
    pub fn parse(s: &str) -> Result<Self, String> {
        let segments = s
            .split('/')
            .filter(|seg| !seg.is_empty())
            .map(EntityName::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("invalid entity path {s:?}: {e}"))?;
        if segments.is_empty() {
            return Err(format!("entity path {s:?} has no segments"));
        }
        Ok(Self(segments))
    }

    /// The segments, namespace first.
    pub fn segments(&self) -> &[EntityName] {
        &self.0
    }

    /// The namespace (first segment).
    pub fn namespace(&self) -> &EntityName {
        &self.0[0]
    }
}

impl fmt::Display for EntityPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(seg.as_str())?;
        }
        Ok(())
    }
}

impl Wire for EntityPath {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        Self::parse(&String::read(v, at)?).map_err(|e| at.error(e))
    }
    fn write(&self) -> Value {
        Value::String(self.to_string())
    }

    fn write_to(&self, out: &mut String) {
        crate::json::push_string(out, &self.to_string());
    }
}

/// `major.minor.patch`; reads `"1"` as 1.0.0 and `"1.2"` as 1.2.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SemVer {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl Default for SemVer {
    fn default() -> Self {
        Self {
            major: 0,
            minor: 0,
            patch: 1,
        }
    }
}

impl SemVer {
    /// Parses a version string as OpenWhisk's lenient reader does.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let num = |p: &str| {
            p.trim()
                .parse::<u32>()
                .map_err(|_| format!("{s:?} is not a semantic version"))
        };
        let (major, minor, patch) = match parts.as_slice() {
            [a] => (num(a)?, 0, 0),
            [a, b] => (num(a)?, num(b)?, 0),
            [a, b, c] => (num(a)?, num(b)?, num(c)?),
            _ => return Err(format!("{s:?} is not a semantic version")),
        };
        if major == 0 && minor == 0 && patch == 0 {
            return Err(format!(
                "{s:?} is not a semantic version: all parts are zero"
            ));
        }
        Ok(Self {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Wire for SemVer {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        Self::parse(&String::read(v, at)?).map_err(|e| at.error(e))
    }
    fn write(&self) -> Value {
        Value::String(self.to_string())
    }

    fn write_to(&self, out: &mut String) {
        crate::json::push_string(out, &self.to_string());
    }
}

/// `path/name[@version]`, possibly invoked through a package binding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FullyQualifiedEntityName {
    /// Namespace and package.
    pub path: EntityPath,
    /// Entity name.
    pub name: EntityName,
    /// Action version (the controller always sets it on activations).
    pub version: Option<SemVer>,
    /// The binding the action was resolved through, if any.
    pub binding: Option<EntityPath>,
}

impl FullyQualifiedEntityName {
    /// A name without version or binding.
    pub fn new(path: EntityPath, name: EntityName) -> Self {
        Self {
            path,
            name,
            version: None,
            binding: None,
        }
    }

    /// `path/name`: the document id, and the `<fqn>` of etcd keys (no version, no binding).
    pub fn doc_id(&self) -> String {
        format!("{}/{}", self.path, self.name)
    }

    /// Whether this is the controller's and scheduler's warm-up action `whisk.system/warmUp`.
    pub fn is_warm_up(&self) -> bool {
        self.name.as_str() == "warmUp"
            && self.path.to_string() == "whisk.system"
            && self.version.is_none()
            && self.binding.is_none()
    }

    fn from_string(s: &str) -> Result<Self, String> {
        let path = EntityPath::parse(s)?;
        let mut segments = path.0;
        if segments.len() < 2 {
            return Err(format!(
                "{s:?} is not a fully qualified name: it needs a namespace and a name"
            ));
        }
        let name = segments.pop().ok_or_else(|| format!("{s:?} has no name"))?;
        Ok(Self::new(EntityPath(segments), name))
    }
}

impl fmt::Display for FullyQualifiedEntityName {
    /// `path/name@version`, as Scala's `toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.path, self.name)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        Ok(())
    }
}

impl Wire for FullyQualifiedEntityName {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        match v {
            Value::String(s) => Self::from_string(s).map_err(|e| at.error(e)),
            Value::Object(_) => {
                let o = Obj::new(v, at)?;
                Ok(Self {
                    path: o.req("path")?,
                    name: o.req("name")?,
                    version: o.opt("version")?,
                    binding: o.opt("binding")?,
                })
            }
            other => Err(at.error(format!(
                "expected an entity name object or string, found {}",
                read_kind(other)
            ))),
        }
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("path", self.path.write())
            .field("name", self.name.write())
            .opt("version", self.version.as_ref().map(Wire::write))
            .opt("binding", self.binding.as_ref().map(Wire::write))
            .build()
    }

    fn write_to(&self, out: &mut String) {
        let mut o = crate::json::ObjectWriter::new(out);
        if let Some(b) = &self.binding {
            b.write_to(o.key("binding"));
        }
        o.string("name", self.name.as_str());
        self.path.write_to(o.key("path"));
        if let Some(v) = &self.version {
            v.write_to(o.key("version"));
        }
        o.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names_follow_the_stock_rule() {
        for ok in ["a", "hello", "my action", "a.b", "x-", "x@", "_", "A9"] {
            assert!(EntityName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", " a", "a ", "a/b", "-a", "é", &"a".repeat(257)] {
            assert!(EntityName::parse(bad).is_err(), "{bad}");
        }
        assert!(EntityName::parse(&"a".repeat(256)).is_ok());
    }

    #[test]
    fn semver_is_lenient_like_scala() {
        assert_eq!(
            SemVer::parse("1").map(|v| v.to_string()),
            Ok("1.0.0".into())
        );
        assert_eq!(
            SemVer::parse("1.2").map(|v| v.to_string()),
            Ok("1.2.0".into())
        );
        assert!(SemVer::parse("0.0.0").is_err());
        assert!(SemVer::parse("-1.0.0").is_err());
        assert!(SemVer::parse("1.2.3.4").is_err());
    }

    #[test]
    fn fqn_reads_a_bare_string() {
        let v = Value::String("/ns/pkg/name".into());
        let fqn = FullyQualifiedEntityName::read(&v, Path::Root).expect("fqn");
        assert_eq!(fqn.doc_id(), "ns/pkg/name");
        assert!(FullyQualifiedEntityName::read(&Value::String("ns".into()), Path::Root).is_err());
    }
}
