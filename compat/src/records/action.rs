//! Action documents: the CouchDB document (with code) and `WhiskActionMetaData` (without).

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire};
use crate::values::{ActionLimits, EntityName, EntityPath, Exec, ExecMetaData, Parameters, SemVer};

use super::read_instant;

/// The action metadata carried by container messages:
/// `{"annotations","binding"?,"exec","limits","name","namespace","parameters","publish","updated","version"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WhiskActionMetaData {
    pub namespace: EntityPath,
    pub name: EntityName,
    pub exec: ExecMetaData,
    pub parameters: Parameters,
    pub limits: ActionLimits,
    pub version: SemVer,
    pub publish: bool,
    pub annotations: Parameters,
    /// Epoch milliseconds of the last update.
    pub updated: i64,
    /// The binding the action was resolved through.
    pub binding: Option<EntityPath>,
}

impl WhiskActionMetaData {
    /// `namespace/name`, the document id.
    pub fn doc_id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl Wire for WhiskActionMetaData {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        Ok(Self {
            namespace: o.req("namespace")?,
            name: o.req("name")?,
            exec: o.req("exec")?,
            parameters: o.req("parameters")?,
            limits: o.req("limits")?,
            version: o.req("version")?,
            publish: o.req("publish")?,
            annotations: o.req("annotations")?,
            updated: o.with("updated", read_instant)?,
            binding: o.opt("binding")?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .field("annotations", self.annotations.write())
            .opt("binding", self.binding.as_ref().map(Wire::write))
            .field("exec", self.exec.write())
            .field("limits", self.limits.write())
            .field("name", self.name.write())
            .field("namespace", self.namespace.write())
            .field("parameters", self.parameters.write())
            .field("publish", Value::Bool(self.publish))
            .field("updated", Value::from(self.updated))
            .field("version", self.version.write())
            .build()
    }
}

/// An action as stored in the `whisks` database (`entityType` `"action"`).
#[derive(Debug, Clone, PartialEq)]
pub struct WhiskActionDocument {
    /// `_id`: `namespace/name` or `namespace/package/name`, if present.
    pub id: Option<String>,
    /// `_rev`, if present.
    pub rev: Option<String>,
    pub namespace: EntityPath,
    pub name: EntityName,
    pub exec: Exec,
    pub parameters: Parameters,
    pub limits: ActionLimits,
    pub version: SemVer,
    pub publish: bool,
    pub annotations: Parameters,
    /// Epoch milliseconds of the last update.
    pub updated: i64,
}

impl WhiskActionDocument {
    /// The metadata form sent in container messages.
    pub fn metadata(&self) -> WhiskActionMetaData {
        WhiskActionMetaData {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            exec: self.exec.metadata(),
            parameters: self.parameters.clone(),
            limits: self.limits,
            version: self.version,
            publish: self.publish,
            annotations: self.annotations.clone(),
            updated: self.updated,
            binding: None,
        }
    }

    /// Whether an invoker can run it (sequences cannot).
    pub fn is_executable(&self) -> bool {
        !matches!(self.exec, Exec::Sequence { .. })
    }
}

impl Wire for WhiskActionDocument {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        if let Some(t) = o.raw("entityType")
            && t.as_str() != Some("action")
        {
            return Err(at.key("entityType").error(format!(
                "document type mismatch: expected \"action\", found {t}"
            )));
        }
        Ok(Self {
            id: o.opt("_id")?,
            rev: o.opt("_rev")?,
            namespace: o.req("namespace")?,
            name: o.req("name")?,
            exec: o.req("exec")?,
            parameters: o.req("parameters")?,
            limits: o.req("limits")?,
            version: o.req("version")?,
            publish: o.req("publish")?,
            annotations: o.req("annotations")?,
            updated: o.with("updated", read_instant)?,
        })
    }

    fn write(&self) -> Value {
        Sorted::new()
            .opt("_id", self.id.clone().map(Value::String))
            .opt("_rev", self.rev.clone().map(Value::String))
            .field("annotations", self.annotations.write())
            .field("entityType", Value::String("action".into()))
            .field("exec", self.exec.write())
            .field("limits", self.limits.write())
            .field("name", self.name.write())
            .field("namespace", self.namespace.write())
            .field("parameters", self.parameters.write())
            .field("publish", Value::Bool(self.publish))
            .field("updated", Value::from(self.updated))
            .field("version", self.version.write())
            .build()
    }
}
