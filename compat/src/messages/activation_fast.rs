//! A fast path for decoding `ActivationMessage`, the record every activation starts as: typed
//! serde visitors read the common shape straight from the bytes, without building a JSON tree.
//! Anything unusual (a missing or ill-typed member, an id written as a number, a name given as a
//! string) makes it give up, and the tree-based reader decides, so both accept and reject
//! exactly the same documents; a property test holds them to that.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{ActivationMessage, StringMap};
use crate::json::{Path, Value, Wire};
use crate::values::identity_rules::{normalize_rights, valid_subject};
use crate::values::{
    ActivationId, ControllerInstanceId, DocRevision, EntityName, EntityPath,
    FullyQualifiedEntityName, Identity, Namespace, SemVer, TransactionId, UserLimits,
};

/// The message, or `None` when the slow path must decide.
pub fn decode(bytes: &[u8]) -> Option<ActivationMessage> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let msg = Fast::deserialize(&mut de).ok()?.0;
    de.end().ok()?;
    Some(msg)
}

fn bail<E: de::Error>() -> E {
    E::custom("not on the fast path")
}

/// Reads a required member's value from a visitor's slot.
fn need<T, E: de::Error>(slot: Option<T>) -> Result<T, E> {
    slot.ok_or_else(bail)
}

fn checked<T, E: de::Error>(r: Result<T, String>) -> Result<T, E> {
    r.map_err(|_| bail())
}

struct Fast(ActivationMessage);

impl<'de> Deserialize<'de> for Fast {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MessageVisitor).map(Fast)
    }
}

struct MessageVisitor;

#[derive(Default)]
struct Slots {
    transid: Option<TransactionId>,
    action: Option<FullyQualifiedEntityName>,
    revision: Option<DocRevision>,
    user: Option<Identity>,
    activation_id: Option<ActivationId>,
    root: Option<ControllerInstanceId>,
    blocking: Option<bool>,
    content: Option<Value>,
    init_args: Option<Vec<String>>,
    locked_args: Option<StringMap>,
    cause: Option<ActivationId>,
    trace_context: Option<StringMap>,
}

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = ActivationMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an activation message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ActivationMessage, A::Error> {
        let mut s = Slots::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "transid" => {
                    let v: Value = map.next_value()?;
                    s.transid = Some(checked(
                        TransactionId::read(&v, Path::Root).map_err(|e| e.reason),
                    )?);
                }
                "action" => s.action = Some(map.next_value::<FqnDe>()?.0),
                "revision" => {
                    s.revision = Some(DocRevision::new(
                        map.next_value::<Option<String>>()?.unwrap_or_default(),
                    ))
                }
                "user" => s.user = Some(map.next_value::<IdentityDe>()?.0),
                "activationId" => {
                    s.activation_id =
                        Some(checked(ActivationId::parse(&map.next_value::<String>()?))?)
                }
                "rootControllerIndex" => s.root = Some(map.next_value::<ControllerDe>()?.0),
                "blocking" => s.blocking = Some(map.next_value()?),
                "content" => s.content = map.next_value::<Option<Value>>()?,
                "initArgs" => s.init_args = Some(map.next_value()?),
                "lockedArgs" => s.locked_args = Some(map.next_value::<StringMapDe>()?.0),
                "cause" => {
                    let cause = map.next_value::<Option<String>>()?;
                    s.cause = cause
                        .map(|c| checked(ActivationId::parse(&c)))
                        .transpose()?;
                }
                "traceContext" => {
                    s.trace_context = map.next_value::<Option<StringMapDe>>()?.map(|m| m.0)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ActivationMessage {
            transid: need(s.transid)?,
            action: need(s.action)?,
            revision: need(s.revision)?,
            user: need(s.user)?,
            activation_id: need(s.activation_id)?,
            root_controller_index: need(s.root)?,
            blocking: need(s.blocking)?,
            content: s.content,
            init_args: need(s.init_args)?,
            locked_args: need(s.locked_args)?,
            cause: s.cause,
            trace_context: s.trace_context,
        })
    }
}

/// The object form of a fully qualified name (the string form takes the slow path).
struct FqnDe(FullyQualifiedEntityName);

impl<'de> Deserialize<'de> for FqnDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FqnDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an entity name object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FqnDe, A::Error> {
                let (mut path, mut name, mut version, mut binding) = (None, None, None, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let text = map.next_value::<Option<String>>()?;
                    match key.as_ref() {
                        "path" => {
                            path = Some(checked(EntityPath::parse(&need::<String, A::Error>(
                                text,
                            )?))?)
                        }
                        "name" => {
                            name = Some(checked(EntityName::parse(&need::<String, A::Error>(
                                text,
                            )?))?)
                        }
                        "version" => {
                            version = text.map(|t| checked(SemVer::parse(&t))).transpose()?
                        }
                        "binding" => {
                            binding = text.map(|t| checked(EntityPath::parse(&t))).transpose()?
                        }
                        _ => {}
                    }
                }
                Ok(FqnDe(FullyQualifiedEntityName {
                    path: need(path)?,
                    name: need(name)?,
                    version,
                    binding,
                }))
            }
        }
        d.deserialize_map(V)
    }
}

struct ControllerDe(ControllerInstanceId);

impl<'de> Deserialize<'de> for ControllerDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ControllerDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a controller id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ControllerDe, A::Error> {
                let (mut id, mut kind_ok) = (None, true);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "asString" => {
                            id = Some(checked(ControllerInstanceId::new(
                                map.next_value::<String>()?,
                            ))?)
                        }
                        "instanceType" => kind_ok = map.next_value::<String>()? == "controller",
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if !kind_ok {
                    return Err(bail());
                }
                need(id).map(ControllerDe)
            }
        }
        d.deserialize_map(V)
    }
}

/// A string-to-string object, members in document order (duplicates: last value wins, first
/// position kept, as the tree reader does).
struct StringMapDe(StringMap);

impl<'de> Deserialize<'de> for StringMapDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringMapDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMapDe, A::Error> {
                let mut entries: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    match entries.iter_mut().find(|(key, _)| *key == k) {
                        Some(e) => e.1 = v,
                        None => entries.push((k, v)),
                    }
                }
                Ok(StringMapDe(StringMap(entries)))
            }
        }
        d.deserialize_map(V)
    }
}

struct IdentityDe(Identity);

impl<'de> Deserialize<'de> for IdentityDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdentityDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an identity")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdentityDe, A::Error> {
                let (mut subject, mut namespace, mut authkey, mut rights, mut limits) =
                    (None, None, None, None, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "subject" => subject = Some(map.next_value::<String>()?),
                        "namespace" => namespace = Some(map.next_value::<NamespaceDe>()?.0),
                        "authkey" => authkey = Some(map.next_value::<Value>()?),
                        "rights" => rights = Some(map.next_value::<Vec<String>>()?),
                        "limits" => {
                            let v: Value = map.next_value()?;
                            limits = Some(checked(
                                UserLimits::read(&v, Path::Root).map_err(|e| e.reason),
                            )?);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let subject: String = need(subject)?;
                let authkey: Value = need(authkey)?;
                if !valid_subject(&subject) || !authkey.is_object() {
                    return Err(bail());
                }
                let rights = normalize_rights(&need::<Vec<String>, A::Error>(rights)?)
                    .map_err(|_| bail())?;
                let identity = Identity {
                    subject,
                    namespace: need(namespace)?,
                    authkey,
                    rights,
                    limits: need(limits)?,
                };
                Ok(IdentityDe(identity))
            }
        }
        d.deserialize_map(V)
    }
}

struct NamespaceDe(Namespace);

impl<'de> Deserialize<'de> for NamespaceDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NamespaceDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a namespace")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NamespaceDe, A::Error> {
                let (mut name, mut uuid) = (None, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "name" => {
                            name = Some(checked(EntityName::parse(&map.next_value::<String>()?))?)
                        }
                        "uuid" => uuid = Some(map.next_value::<String>()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(NamespaceDe(Namespace {
                    name: need(name)?,
                    uuid: need(uuid)?,
                }))
            }
        }
        d.deserialize_map(V)
    }
}
