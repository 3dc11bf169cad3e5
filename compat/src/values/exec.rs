//! `exec`: what an action runs. The full form (action documents) carries code; the metadata form
//! (inside container messages) does not, and requires `binary`.

use serde_json::Map;

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire, java_trim, read_kind, scala_map};
use crate::runtimes::manifest;

use super::FullyQualifiedEntityName;

/// A code attachment record: `{"attachmentName","attachmentType","digest"?,"length"?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `mem:<base64url>`, `couch:<uuid>`, a legacy relative name, or an external store URI.
    pub attachment_name: String,
    /// Content type.
    pub attachment_type: String,
    /// Size in bytes, if recorded.
    pub length: Option<i64>,
    /// `sha256-<hex>`, if recorded.
    pub digest: Option<String>,
}

/// Code inline (text, base64 when binary) or as an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeBody {
    /// The code itself.
    Inline(String),
    /// A reference to stored code.
    Attached(Attachment),
}

impl Wire for CodeBody {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        match v {
            Value::String(s) => Ok(Self::Inline(s.clone())),
            Value::Object(_) => {
                let o = Obj::new(v, at)?;
                Ok(Self::Attached(Attachment {
                    attachment_name: o.req("attachmentName")?,
                    attachment_type: o.req("attachmentType")?,
                    length: o.opt("length")?,
                    digest: o.opt("digest")?,
                }))
            }
            other => Err(at.error(format!(
                "expected code text or an attachment object, found {}",
                read_kind(other)
            ))),
        }
    }

    fn write(&self) -> Value {
        match self {
            Self::Inline(s) => Value::String(s.clone()),
            Self::Attached(a) => Sorted::new()
                .field("attachmentName", Value::String(a.attachment_name.clone()))
                .field("attachmentType", Value::String(a.attachment_type.clone()))
                .opt("digest", a.digest.clone().map(Value::String))
                .opt("length", a.length.map(Value::from))
                .build(),
        }
    }
}

/// Whether code text is base64 (non-empty after trimming, a multiple of 4, base64 alphabet):
/// OpenWhisk recomputes `binary` from this rather than trusting the stored flag.
pub fn is_binary_code(code: &str) -> bool {
    let t = java_trim(code).as_bytes();
    if t.is_empty() || !t.len().is_multiple_of(4) {
        return false;
    }
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    let (body, tail) = t.split_at(t.len() - 4);
    let tail_ok = match tail {
        [a, b, b'=', b'='] => alphabet(a) && alphabet(b),
        [a, b, c, b'='] => alphabet(a) && alphabet(b) && alphabet(c),
        _ => tail.iter().all(alphabet),
    };
    tail_ok && body.iter().all(alphabet)
}

/// The full `exec` of an action document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exec {
    /// A managed runtime kind with code.
    Code {
        /// Resolved kind (`family:default` is replaced by the family's default).
        kind: String,
        /// The code.
        code: CodeBody,
        /// Code is base64 (zip or binary).
        binary: bool,
        /// Entry point.
        main: Option<String>,
    },
    /// A user-supplied Docker image.
    Blackbox {
        /// Image reference as stored.
        image: String,
        /// Optional code passed to `/init`.
        code: Option<CodeBody>,
        /// Code is base64.
        binary: bool,
        /// Entry point.
        main: Option<String>,
    },
    /// A sequence of actions (not executable by an invoker).
    Sequence {
        /// Component actions.
        components: Vec<FullyQualifiedEntityName>,
    },
}

/// `exec` without code, as carried by `WhiskActionMetaData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecMetaData {
    /// A managed runtime kind.
    Code {
        /// Resolved kind.
        kind: String,
        /// Code is base64.
        binary: bool,
        /// Entry point.
        main: Option<String>,
    },
    /// A blackbox image.
    Blackbox {
        /// Image reference.
        image: String,
        /// Code is base64.
        binary: bool,
        /// Entry point.
        main: Option<String>,
    },
    /// A sequence.
    Sequence {
        /// Component actions.
        components: Vec<FullyQualifiedEntityName>,
    },
}

struct ExecFields<'a> {
    kind: String,
    main: Option<String>,
    o: Obj<'a>,
}

fn read_common<'a>(v: &'a Value, at: Path<'a>) -> Result<ExecFields<'a>, DecodeError> {
    let o = Obj::new(v, at)?;
    let kind = match o.raw("kind") {
        Some(Value::String(k)) => java_trim(k).to_lowercase(),
        _ => {
            return Err(at
                .key("kind")
                .error("'kind' must be a string defined in 'exec'"));
        }
    };
    let main = match o.raw("main") {
        None => None,
        Some(Value::String(m)) => Some(m.clone()),
        Some(_) => {
            return Err(at.key("main").error(format!(
                "if defined, 'main' must be a string for '{kind}' actions"
            )));
        }
    };
    Ok(ExecFields { kind, main, o })
}

fn read_components(o: &Obj<'_>) -> Result<Vec<FullyQualifiedEntityName>, DecodeError> {
    match o.raw("components") {
        Some(Value::Array(_)) => o.req("components"),
        Some(_) => Err(o
            .path()
            .key("components")
            .error("'components' must be an array")),
        None => Err(o
            .path()
            .key("components")
            .error("'components' must be defined for sequence kind")),
    }
}

fn read_image(o: &Obj<'_>) -> Result<String, DecodeError> {
    match o.raw("image") {
        Some(Value::String(i)) if !i.is_empty() => Ok(i.clone()),
        _ => Err(o
            .path()
            .key("image")
            .error("'image' must be a string defined in 'exec' for 'blackbox' actions")),
    }
}

/// The manifest entry for a managed kind: its resolved name, whether code may be an attachment,
/// and whether `main` is required.
fn resolve_kind(kind: &str, at: Path<'_>) -> Result<(String, bool, bool), DecodeError> {
    let m = manifest();
    let k = m.resolve(kind).ok_or_else(|| {
        at.key("kind")
            .error(format!("kind '{kind}' is not in the runtimes manifest"))
    })?;
    Ok((k.kind.clone(), k.attached.is_some(), k.require_main))
}

fn require_main(
    main: &Option<String>,
    needed: bool,
    kind: &str,
    at: Path<'_>,
) -> Result<(), DecodeError> {
    if needed && main.is_none() {
        return Err(at.key("main").error(format!(
            "'main' must be a string defined in 'exec' for '{kind}' actions"
        )));
    }
    Ok(())
}

fn binary_of(code: &CodeBody, o: &Obj<'_>) -> Result<bool, DecodeError> {
    match code {
        CodeBody::Inline(s) => Ok(is_binary_code(s)),
        CodeBody::Attached(_) => Ok(o.opt("binary")?.unwrap_or(false)),
    }
}

impl Wire for Exec {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let ExecFields { kind, main, o } = read_common(v, at)?;
        match kind.as_str() {
            "sequence" => Ok(Self::Sequence {
                components: read_components(&o)?,
            }),
            "blackbox" => {
                let image = read_image(&o)?;
                let code = match o.raw("code") {
                    None => None,
                    Some(Value::String(s)) if java_trim(s).is_empty() => None,
                    Some(c) => Some(CodeBody::read(c, at.key("code"))?),
                };
                let binary = match &code {
                    Some(c) => binary_of(c, &o)?,
                    None => false,
                };
                Ok(Self::Blackbox {
                    image,
                    code,
                    binary,
                    main,
                })
            }
            _ => {
                let (kind, attached, needs_main) = resolve_kind(&kind, at)?;
                let (key, raw) = match (o.raw("code"), o.raw("jar")) {
                    (Some(c), _) => ("code", c),
                    (None, Some(j)) if attached => ("jar", j),
                    _ => {
                        return Err(at.key("code").error(format!(
                            "'code' must be defined in 'exec' for '{kind}' actions"
                        )));
                    }
                };
                let code = match raw {
                    Value::String(s) => CodeBody::Inline(s.clone()),
                    _ if attached => CodeBody::read(raw, at.key(key))?,
                    _ => {
                        return Err(at
                            .key(key)
                            .error(format!("'code' must be a string for '{kind}' actions")));
                    }
                };
                if attached {
                    require_main(&main, needs_main, &kind, at)?;
                }
                let binary = binary_of(&code, &o)?;
                Ok(Self::Code {
                    kind,
                    code,
                    binary,
                    main,
                })
            }
        }
    }

    fn write(&self) -> Value {
        match self {
            Self::Code {
                kind,
                code,
                binary,
                main,
            } => {
                let mut pairs = vec![
                    ("kind".to_owned(), Value::String(kind.clone())),
                    ("code".to_owned(), code.write()),
                    ("binary".to_owned(), Value::Bool(*binary)),
                ];
                pairs.extend(main.clone().map(|m| ("main".to_owned(), Value::String(m))));
                scala_map(pairs)
            }
            Self::Blackbox {
                image,
                code,
                binary,
                main,
            } => {
                let mut pairs = vec![
                    ("kind".to_owned(), Value::String("blackbox".into())),
                    ("image".to_owned(), Value::String(image.clone())),
                    ("binary".to_owned(), Value::Bool(*binary)),
                ];
                pairs.extend(code.as_ref().map(|c| ("code".to_owned(), c.write())));
                pairs.extend(main.clone().map(|m| ("main".to_owned(), Value::String(m))));
                scala_map(pairs)
            }
            Self::Sequence { components } => write_sequence(components),
        }
    }
}

fn write_sequence(components: &[FullyQualifiedEntityName]) -> Value {
    // `qualifiedNameWithLeadingSlash`: `/path/name`, never the version.
    let names = components
        .iter()
        .map(|c| Value::String(format!("/{}/{}", c.path, c.name)));
    Sorted::new()
        .field("components", Value::Array(names.collect()))
        .field("kind", Value::String("sequence".into()))
        .build()
}

impl Exec {
    /// The kind (`blackbox` and `sequence` included).
    pub fn kind(&self) -> &str {
        match self {
            Self::Code { kind, .. } => kind,
            Self::Blackbox { .. } => "blackbox",
            Self::Sequence { .. } => "sequence",
        }
    }

    /// The metadata form of this exec.
    pub fn metadata(&self) -> ExecMetaData {
        match self {
            Self::Code {
                kind, binary, main, ..
            } => ExecMetaData::Code {
                kind: kind.clone(),
                binary: *binary,
                main: main.clone(),
            },
            Self::Blackbox {
                image,
                binary,
                main,
                ..
            } => ExecMetaData::Blackbox {
                image: image.clone(),
                binary: *binary,
                main: main.clone(),
            },
            Self::Sequence { components } => ExecMetaData::Sequence {
                components: components.clone(),
            },
        }
    }
}

impl ExecMetaData {
    /// The kind (`blackbox` and `sequence` included).
    pub fn kind(&self) -> &str {
        match self {
            Self::Code { kind, .. } => kind,
            Self::Blackbox { .. } => "blackbox",
            Self::Sequence { .. } => "sequence",
        }
    }

    /// Whether an invoker can run it (sequences are executed by the controller).
    pub fn is_executable(&self) -> bool {
        !matches!(self, Self::Sequence { .. })
    }

    /// Whether it runs a user image.
    pub fn is_blackbox(&self) -> bool {
        matches!(self, Self::Blackbox { .. })
    }
}

impl Wire for ExecMetaData {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let ExecFields { kind, main, o } = read_common(v, at)?;
        if kind == "sequence" {
            return Ok(Self::Sequence {
                components: read_components(&o)?,
            });
        }
        let binary = match o.raw("binary") {
            Some(Value::Bool(b)) => *b,
            _ => {
                return Err(at
                    .key("binary")
                    .error("'binary' must be a boolean defined in 'exec'"));
            }
        };
        if kind == "blackbox" {
            return Ok(Self::Blackbox {
                image: read_image(&o)?,
                binary,
                main,
            });
        }
        let (kind, attached, needs_main) = resolve_kind(&kind, at)?;
        if attached {
            require_main(&main, needs_main, &kind, at)?;
        }
        Ok(Self::Code { kind, binary, main })
    }

    fn write(&self) -> Value {
        let mut m = Map::with_capacity(4);
        match self {
            Self::Sequence { components } => return write_sequence(components),
            Self::Code { kind, binary, main } => {
                m.insert("kind".into(), Value::String(kind.clone()));
                m.insert("binary".into(), Value::Bool(*binary));
                if let Some(main) = main {
                    m.insert("main".into(), Value::String(main.clone()));
                }
            }
            Self::Blackbox {
                image,
                binary,
                main,
            } => {
                m.insert("kind".into(), Value::String("blackbox".into()));
                m.insert("image".into(), Value::String(image.clone()));
                m.insert("binary".into(), Value::Bool(*binary));
                if let Some(main) = main {
                    m.insert("main".into(), Value::String(main.clone()));
                }
            }
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_detection_follows_the_base64_rule() {
        assert!(is_binary_code("SGVsbG8gT3BlbldoaXNr"));
        assert!(is_binary_code("SGVsbA=="));
        assert!(is_binary_code("SGVsbG8="));
        assert!(!is_binary_code("while (true)"));
        assert!(!is_binary_code(""));
        assert!(!is_binary_code("abc"));
        assert!(!is_binary_code("ab=c"));
    }
}
