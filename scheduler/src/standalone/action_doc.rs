//! Action documents from REST requests, and the JSON views the REST API answers with (pure).
//!
//! A PUT body (`{"exec","parameters","annotations","limits","publish"}`, every field optional on
//! update) is laid over the current document (or the defaults) as CouchDB JSON and read back
//! through the compat reader, so kinds resolve (`python:default`) and `binary` is recomputed
//! exactly as for documents written by the stock controller.

use ow_compat::json::{Map, Path, Value, Wire};
use ow_compat::records::WhiskActionDocument;
use ow_compat::values::Exec;

/// The stock `whisk.activation` code size limit.
pub const MAX_CODE_BYTES: usize = 48 * 1024 * 1024;

/// Why a PUT body cannot become an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionBodyError {
    /// Bad JSON or a field of the wrong shape (400).
    #[error("{0}")]
    Invalid(String),
    /// The code is over the limit (413).
    #[error("Code size {size} B exceeds allowed threshold of {limit} B.")]
    CodeTooLarge { size: usize, limit: usize },
}

/// Limits the stock controller enforces (`whisk.*-limit` defaults).
const LIMIT_RANGES: [(&str, i64, i64, &str); 4] = [
    ("timeout", 100, 300_000, "ms"),
    ("memory", 128, 512, "MB"),
    ("logs", 0, 10, "MB"),
    ("concurrency", 1, 500, ""),
];

/// The document to store for `body` in `namespace` under `name`, over `current` if it exists.
pub fn action_from_body(
    namespace: &str,
    name: &str,
    body: &Value,
    current: Option<&WhiskActionDocument>,
    now_millis: i64,
) -> Result<WhiskActionDocument, ActionBodyError> {
    let body = body.as_object().ok_or_else(|| {
        ActionBodyError::Invalid("The request content was malformed: expected a JSON object".into())
    })?;
    check_code_size(body)?;
    let mut doc = match current {
        Some(c) => c.write(),
        None => fresh_document(namespace, name, body)?,
    };
    let fields = doc
        .as_object_mut()
        .ok_or_else(|| ActionBodyError::Invalid("stored action is not an object".into()))?;
    overlay(fields, body, current.is_some())?;
    fields.insert("updated".into(), Value::from(now_millis));
    let mut action = WhiskActionDocument::read(&doc, Path::Root).map_err(|e| {
        ActionBodyError::Invalid(format!("The request content was malformed:\n{e}"))
    })?;
    if let Some(c) = current {
        action.version = c.version;
        action.version.patch += 1;
    }
    add_exec_annotation(&mut action);
    Ok(action)
}

fn check_code_size(body: &Map<String, Value>) -> Result<(), ActionBodyError> {
    let size = body
        .get("exec")
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .map_or(0, str::len);
    if size > MAX_CODE_BYTES {
        return Err(ActionBodyError::CodeTooLarge {
            size,
            limit: MAX_CODE_BYTES,
        });
    }
    Ok(())
}

/// A new action's defaults: version 0.0.1, no parameters, std limits, `provide-api-key` false.
fn fresh_document(
    namespace: &str,
    name: &str,
    body: &Map<String, Value>,
) -> Result<Value, ActionBodyError> {
    if !body.contains_key("exec") {
        return Err(ActionBodyError::Invalid(
            "The request content was malformed:\n'exec' undefined".into(),
        ));
    }
    Ok(serde_json::json!({
        "namespace": namespace,
        "name": name,
        "version": "0.0.1",
        "publish": false,
        "parameters": [],
        "annotations": [{"key": "provide-api-key", "value": false}],
        "limits": {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1},
        "updated": 0,
    }))
}

/// Copies the fields the body gives over the document; limits merge key by key.
fn overlay(
    doc: &mut Map<String, Value>,
    body: &Map<String, Value>,
    updating: bool,
) -> Result<(), ActionBodyError> {
    for key in ["exec", "parameters", "publish"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            doc.insert(key.into(), v.clone());
        }
    }
    if let Some(annotations) = body.get("annotations").filter(|v| !v.is_null()) {
        let merged = if updating {
            annotations.clone()
        } else {
            merge_annotations(doc.get("annotations"), annotations)
        };
        doc.insert("annotations".into(), merged);
    }
    if let Some(limits) = body.get("limits").filter(|v| !v.is_null()) {
        let limits = limits.as_object().ok_or_else(|| {
            ActionBodyError::Invalid(
                "The request content was malformed:\n'limits' must be an object".into(),
            )
        })?;
        check_limits(limits)?;
        let target = doc
            .entry("limits")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(t) = target.as_object_mut() {
            for (k, v) in limits {
                t.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// The body's annotations after the defaults, a body key replacing a default one.
fn merge_annotations(defaults: Option<&Value>, given: &Value) -> Value {
    let given_items = given.as_array().cloned().unwrap_or_default();
    let given_keys: Vec<&Value> = given_items.iter().filter_map(|a| a.get("key")).collect();
    let mut out: Vec<Value> = defaults
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("key").is_none_or(|k| !given_keys.contains(&k)))
        .cloned()
        .collect();
    out.extend(given_items.iter().cloned());
    Value::Array(out)
}

fn check_limits(limits: &Map<String, Value>) -> Result<(), ActionBodyError> {
    for (key, min, max, unit) in LIMIT_RANGES {
        let Some(v) = limits.get(key) else { continue };
        let n = v.as_i64().ok_or_else(|| {
            ActionBodyError::Invalid(format!(
                "The request content was malformed:\nlimit '{key}' must be a whole number"
            ))
        })?;
        if n < min || n > max {
            return Err(ActionBodyError::Invalid(format!(
                "{key} limit {n} {unit} is outside the allowed range [{min} {unit}, {max} {unit}]."
            )));
        }
    }
    Ok(())
}

/// The `exec` annotation the stock controller records: the resolved kind.
fn add_exec_annotation(action: &mut WhiskActionDocument) {
    let kind = match &action.exec {
        Exec::Code { kind, .. } => kind.clone(),
        Exec::Blackbox { .. } => "blackbox".to_owned(),
        Exec::Sequence { .. } => "sequence".to_owned(),
    };
    let mut annotations = action.annotations.write();
    if let Some(items) = annotations.as_array_mut() {
        items.retain(|a| a.get("key").and_then(Value::as_str) != Some("exec"));
        items.push(serde_json::json!({"key": "exec", "value": kind}));
    }
    if let Ok(p) = Wire::read(&annotations, Path::Root) {
        action.annotations = p;
    }
}

/// An action as `GET /actions/{name}` shows it (with or without its code).
pub fn action_view(doc: &WhiskActionDocument, with_code: bool) -> Value {
    let mut v = doc.write();
    if let Some(o) = v.as_object_mut() {
        for key in ["_id", "_rev", "entityType"] {
            o.shift_remove(key);
        }
        if !with_code && let Some(exec) = o.get_mut("exec").and_then(Value::as_object_mut) {
            exec.shift_remove("code");
        }
    }
    v
}

/// An action as the list shows it: no code, no parameters, `exec` reduced to `binary`.
pub fn action_summary(doc: &WhiskActionDocument) -> Value {
    let mut v = action_view(doc, false);
    if let Some(o) = v.as_object_mut() {
        o.shift_remove("parameters");
        let binary = o
            .get("exec")
            .and_then(|e| e.get("binary"))
            .cloned()
            .unwrap_or(Value::Bool(false));
        o.insert("exec".into(), serde_json::json!({ "binary": binary }));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(body: Value) -> Result<WhiskActionDocument, ActionBodyError> {
        action_from_body("guest", "hello", &body, None, 1_700_000_000_000)
    }

    #[test]
    fn python_default_resolves_and_std_limits_apply() {
        let a =
            create(json!({"exec": {"kind": "python:default", "code": "def main(a): return a"}}))
                .expect("action");
        let v = action_view(&a, true);
        assert_eq!(v["exec"]["kind"], "python:3.10");
        assert_eq!(v["exec"]["binary"], false);
        assert_eq!(v["version"], "0.0.1");
        assert_eq!(v["limits"]["memory"], 256);
        let keys: Vec<&str> = v["annotations"]
            .as_array()
            .expect("annotations")
            .iter()
            .filter_map(|a| a["key"].as_str())
            .collect();
        assert_eq!(keys, ["provide-api-key", "exec"]);
    }

    #[test]
    fn an_update_keeps_what_the_body_omits_and_bumps_the_patch() {
        let first = create(
            json!({"exec": {"kind": "python:3.10", "code": "x = 1"}, "limits": {"memory": 128}}),
        )
        .expect("first");
        let body = json!({"exec": {"kind": "python:3.10", "code": "x = 2"}});
        let second = action_from_body("guest", "hello", &body, Some(&first), 1).expect("second");
        let v = action_view(&second, true);
        assert_eq!(v["version"], "0.0.2");
        assert_eq!(v["exec"]["code"], "x = 2");
        assert_eq!(v["limits"]["memory"], 128);
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        assert!(
            matches!(create(json!({})), Err(ActionBodyError::Invalid(m)) if m.contains("exec"))
        );
        assert!(matches!(
            create(json!([1])),
            Err(ActionBodyError::Invalid(_))
        ));
        assert!(matches!(
            create(json!({"exec": {"kind": "cobol:1", "code": "x"}})),
            Err(ActionBodyError::Invalid(m)) if m.contains("cobol")
        ));
        assert!(matches!(
            create(json!({"exec": {"kind": "python:3.10", "code": "x"}, "limits": {"memory": 4096}})),
            Err(ActionBodyError::Invalid(m)) if m.contains("memory")
        ));
    }

    #[test]
    fn zipped_code_is_binary_and_the_summary_hides_code() {
        // "PK\x03\x04" base64-encoded: a zip header.
        let a = create(
            json!({"exec": {"kind": "python:default", "code": "UEsDBAoAAAAAAA==", "binary": true}}),
        )
        .expect("zip action");
        assert_eq!(action_view(&a, true)["exec"]["binary"], true);
        let s = action_summary(&a);
        assert_eq!(s["exec"], json!({"binary": true}));
        assert!(s.get("parameters").is_none());
    }
}
