//! The runtimes manifest (`RUNTIMES_MANIFEST`): which kinds exist, their images, defaults and
//! stem cells. `exec` readers consult it, as the Scala readers consult `ExecManifest`.

use std::sync::{Arc, RwLock};

use crate::json::{DecodeError, Obj, Path, Value, Wire, parse, read_kind};
use crate::values::ByteSize;

/// A Docker image reference `[registry/][prefix/]name[:tag]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    /// Registry host, if any.
    pub registry: Option<String>,
    /// Repository prefix, if any.
    pub prefix: Option<String>,
    /// Image name.
    pub name: String,
    /// Tag, if any.
    pub tag: Option<String>,
}

impl ImageName {
    /// The reference Docker is given.
    pub fn reference(&self) -> String {
        let mut s = String::new();
        for part in [&self.registry, &self.prefix].into_iter().flatten() {
            s.push_str(part);
            s.push('/');
        }
        s.push_str(&self.name);
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        s
    }
}

impl Wire for ImageName {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            registry: o.opt("registry")?,
            prefix: o.opt("prefix")?,
            name: o.req("name")?,
            tag: o.opt("tag")?,
        })
    }
    fn write(&self) -> Value {
        crate::json::Sorted::new()
            .opt("name", Some(Value::String(self.name.clone())))
            .opt("prefix", self.prefix.clone().map(Value::String))
            .opt("registry", self.registry.clone().map(Value::String))
            .opt("tag", self.tag.clone().map(Value::String))
            .build()
    }
}

/// Reactive prewarm settings of a stem cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactivePrewarm {
    pub min_count: u32,
    pub max_count: u32,
    /// Scala duration text such as `"2 minutes"`.
    pub ttl: String,
    pub threshold: u32,
    pub increment: u32,
}

/// Prewarmed containers to keep for a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StemCell {
    /// Containers to start (`initialCount`, alias `count`).
    pub initial_count: u32,
    /// Memory of each.
    pub memory: ByteSize,
    /// Reactive scaling, if configured.
    pub reactive: Option<ReactivePrewarm>,
}

/// One kind of a runtime family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeKind {
    /// `family:version`.
    pub kind: String,
    /// Its image.
    pub image: ImageName,
    /// The family's default kind.
    pub default: bool,
    /// No longer offered for new actions.
    pub deprecated: bool,
    /// Code may be stored as an attachment (`attachmentName`, `attachmentType`).
    pub attached: Option<(String, String)>,
    /// `main` is required.
    pub require_main: bool,
    /// The runtime prints the log sentinels.
    pub sentinelled_logs: bool,
    /// Prewarm configuration.
    pub stem_cells: Vec<StemCell>,
}

/// The parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimesManifest {
    /// Families in document order, each with its kinds.
    pub families: Vec<(String, Vec<RuntimeKind>)>,
    /// Trusted blackbox images.
    pub blackboxes: Vec<ImageName>,
}

fn read_stem_cell(v: &Value, at: Path<'_>) -> Result<StemCell, DecodeError> {
    let o = Obj::new(v, at)?;
    let initial_count: u32 = match o.opt("initialCount")? {
        Some(n) => n,
        None => o.req("count")?,
    };
    if initial_count == 0 {
        return Err(at
            .key("initialCount")
            .error("stem cell count must be positive"));
    }
    let reactive = match o.raw("reactive") {
        None | Some(Value::Null) => None,
        Some(r) => {
            let at = at.key("reactive");
            let r = Obj::new(r, at)?;
            Some(ReactivePrewarm {
                min_count: r.req("minCount")?,
                max_count: r.req("maxCount")?,
                ttl: r.req("ttl")?,
                threshold: r.req("threshold")?,
                increment: r.req("increment")?,
            })
        }
    };
    Ok(StemCell {
        initial_count,
        memory: o.req("memory")?,
        reactive,
    })
}

fn read_kind_entry(v: &Value, at: Path<'_>) -> Result<RuntimeKind, DecodeError> {
    let o = Obj::new(v, at)?;
    let attached = match o.raw("attached") {
        None | Some(Value::Null) => None,
        Some(a) => {
            let a = Obj::new(a, at.key("attached"))?;
            Some((a.req("attachmentName")?, a.req("attachmentType")?))
        }
    };
    let stem_cells = match o.raw("stemCells") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(cells)) => {
            let at = at.key("stemCells");
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| read_stem_cell(c, at.index(i)))
                .collect::<Result<_, _>>()?
        }
        Some(other) => {
            return Err(at
                .key("stemCells")
                .error(format!("expected an array, found {}", read_kind(other))));
        }
    };
    Ok(RuntimeKind {
        kind: o.req("kind")?,
        image: o.req("image")?,
        default: o.opt("default")?.unwrap_or(false),
        deprecated: o.opt("deprecated")?.unwrap_or(false),
        attached,
        require_main: o.opt("requireMain")?.unwrap_or(false),
        sentinelled_logs: o.opt("sentinelledLogs")?.unwrap_or(true),
        stem_cells,
    })
}

impl RuntimesManifest {
    /// Reads a manifest document.
    pub fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        let runtimes_at = at.key("runtimes");
        // Validates that `runtimes` is an object; its members are walked in document order below.
        Obj::new(o.raw("runtimes").unwrap_or(&Value::Null), runtimes_at)?;
        let mut families = Vec::new();
        for (family, kinds) in runtimes_members(v) {
            let fam_at = runtimes_at.key(family);
            let Value::Array(kinds) = kinds else {
                return Err(fam_at.error(format!(
                    "expected an array of kinds, found {}",
                    read_kind(kinds)
                )));
            };
            let parsed = kinds
                .iter()
                .enumerate()
                .map(|(i, k)| read_kind_entry(k, fam_at.index(i)));
            families.push((family.clone(), parsed.collect::<Result<Vec<_>, _>>()?));
        }
        let blackboxes = o.opt("blackboxes")?.unwrap_or_default();
        Ok(Self {
            families,
            blackboxes,
        })
    }

    /// Parses `RUNTIMES_MANIFEST` text.
    pub fn from_json(text: &str) -> Result<Self, DecodeError> {
        Self::read(&parse(text.as_bytes())?, Path::Root)
    }

    /// Resolves a kind as an action document names it: exact, or `family:default`.
    pub fn resolve(&self, kind: &str) -> Option<&RuntimeKind> {
        if let Some(family) = kind.strip_suffix(":default") {
            let (_, kinds) = self.families.iter().find(|(f, _)| f == family)?;
            return kinds.iter().find(|k| k.default).or(if kinds.len() == 1 {
                kinds.first()
            } else {
                None
            });
        }
        self.families
            .iter()
            .flat_map(|(_, kinds)| kinds)
            .find(|k| k.kind == kind)
    }

    /// Every kind, in document order.
    pub fn kinds(&self) -> impl Iterator<Item = &RuntimeKind> {
        self.families.iter().flat_map(|(_, kinds)| kinds)
    }
}

fn runtimes_members(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.get("runtimes")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.iter())
}

/// A manifest with the kinds OpenWhisk's ansible deployment ships (image names from the stock
/// `runtimes.json`), used until `set_manifest` installs the deployment's own.
const BUILT_IN: &str = r#"{"runtimes":{
"nodejs":[{"kind":"nodejs:18","image":{"prefix":"openwhisk","name":"action-nodejs-v18","tag":"nightly"}},
  {"kind":"nodejs:20","default":true,"image":{"prefix":"openwhisk","name":"action-nodejs-v20","tag":"nightly"}}],
"python":[{"kind":"python:3.10","default":true,"image":{"prefix":"openwhisk","name":"action-python-v3.10","tag":"nightly"}},
  {"kind":"python:3.11","image":{"prefix":"openwhisk","name":"action-python-v3.11","tag":"nightly"}}],
"swift":[{"kind":"swift:5.3","default":true,"image":{"prefix":"openwhisk","name":"action-swift-v5.3","tag":"nightly"}},
  {"kind":"swift:5.7","image":{"prefix":"openwhisk","name":"action-swift-v5.7","tag":"nightly"}}],
"java":[{"kind":"java:8","default":true,"requireMain":true,"image":{"prefix":"openwhisk","name":"java8action","tag":"nightly"}}],
"php":[{"kind":"php:8.1","default":true,"image":{"prefix":"openwhisk","name":"action-php-v8.1","tag":"nightly"}}],
"ruby":[{"kind":"ruby:2.5","default":true,"image":{"prefix":"openwhisk","name":"action-ruby-v2.5","tag":"nightly"}}],
"go":[{"kind":"go:1.20","default":true,"image":{"prefix":"openwhisk","name":"action-golang-v1.20","tag":"nightly"}}],
"dotnet":[{"kind":"dotnet:3.1","default":true,"requireMain":true,"image":{"prefix":"openwhisk","name":"action-dotnet-v3.1","tag":"nightly"}},
  {"kind":"dotnet:6.0","requireMain":true,"image":{"prefix":"openwhisk","name":"action-dotnet-v6.0","tag":"nightly"}}],
"rust":[{"kind":"rust:1.34","default":true,"image":{"prefix":"openwhisk","name":"action-rust-v1.34","tag":"nightly"}}]},
"blackboxes":[{"prefix":"openwhisk","name":"dockerskeleton","tag":"nightly"}]}"#;

static MANIFEST: RwLock<Option<Arc<RuntimesManifest>>> = RwLock::new(None);

/// The manifest `exec` readers use.
pub fn manifest() -> Arc<RuntimesManifest> {
    if let Ok(guard) = MANIFEST.read()
        && let Some(m) = guard.as_ref()
    {
        return Arc::clone(m);
    }
    let built_in = Arc::new(built_in());
    if let Ok(mut guard) = MANIFEST.write() {
        return Arc::clone(guard.get_or_insert(built_in));
    }
    built_in
}

/// Installs the deployment's manifest (from `RUNTIMES_MANIFEST`).
pub fn set_manifest(m: RuntimesManifest) {
    if let Ok(mut guard) = MANIFEST.write() {
        *guard = Some(Arc::new(m));
    }
}

fn built_in() -> RuntimesManifest {
    // The text is a constant checked by a unit test; an empty manifest is the fallback.
    let mut m = RuntimesManifest::from_json(BUILT_IN).unwrap_or(RuntimesManifest {
        families: Vec::new(),
        blackboxes: Vec::new(),
    });
    // Every stock kind stores large code as the `codefile` attachment.
    for (_, kinds) in &mut m.families {
        for k in kinds {
            k.attached = Some(("codefile".into(), "text/plain".into()));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_manifest_parses_and_resolves_defaults() {
        let m = RuntimesManifest::from_json(BUILT_IN).expect("built-in manifest");
        assert_eq!(
            m.resolve("python:default").map(|k| k.kind.as_str()),
            Some("python:3.10")
        );
        assert_eq!(m.resolve("java:8").map(|k| k.require_main), Some(true));
        assert!(m.resolve("cobol:1").is_none());
    }
}
