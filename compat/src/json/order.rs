//! The three key orders spray-json objects end up in on the Scala side:
//! sorted (`TreeMap`: case-class formats and parsed objects), insertion order (Scala `Map1`..`Map4`)
//! and Scala 2.12 `immutable.HashMap` order (maps of five or more entries built in Scala code).

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Compares keys as Java's `String.compareTo` does: by UTF-16 code units.
pub fn sorted_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Builder for an object whose members are written sorted, as every case-class format and every
/// field-list `JsObject` constructor produces.
#[derive(Debug, Default)]
pub struct Sorted {
    members: Vec<(&'static str, Value)>,
}

impl Sorted {
    /// Starts an empty object.
    pub fn new() -> Self {
        Self {
            members: Vec::with_capacity(12),
        }
    }

    /// Adds a member that is always present.
    pub fn field(mut self, key: &'static str, value: Value) -> Self {
        self.members.push((key, value));
        self
    }

    /// Adds a member only when the value is present, as spray omits `None` fields.
    pub fn opt(mut self, key: &'static str, value: Option<Value>) -> Self {
        if let Some(v) = value {
            self.members.push((key, v));
        }
        self
    }

    /// Finishes the object with its members in sorted key order.
    pub fn build(mut self) -> Value {
        self.members.sort_by(|a, b| sorted_cmp(a.0, b.0));
        let mut map = Map::with_capacity(self.members.len());
        for (k, v) in self.members {
            map.insert(k.to_owned(), v);
        }
        Value::Object(map)
    }
}

/// An object built from a Scala `Map` in code: insertion order up to four entries, Scala 2.12
/// `HashMap` iteration order from five on. Later duplicates replace earlier ones, as in Scala.
pub fn scala_map(pairs: Vec<(String, Value)>) -> Value {
    let mut map = Map::with_capacity(pairs.len());
    for (k, v) in pairs {
        map.insert(k, v);
    }
    if map.len() <= 4 {
        return Value::Object(map);
    }
    let keys: Vec<String> = map.keys().cloned().collect();
    let mut ordered = Map::with_capacity(map.len());
    for key in scala_hash_order(&keys) {
        if let Some((k, v)) = map.shift_remove_entry(key.as_str()) {
            ordered.insert(k, v);
        }
    }
    Value::Object(ordered)
}

/// Iteration order of a Scala 2.12 `immutable.HashMap` holding `keys` (a hash trie indexed by
/// 5-bit groups of the improved hash, least significant group first).
pub fn scala_hash_order(keys: &[String]) -> Vec<String> {
    let mut with_hash: Vec<(u32, &String)> =
        keys.iter().map(|k| (improve(java_hash(k)), k)).collect();
    with_hash.sort_by_key(|(h, _)| trie_order_key(*h));
    with_hash.into_iter().map(|(_, k)| k.clone()).collect()
}

fn java_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

fn improve(hcode: i32) -> u32 {
    let mut h = hcode.wrapping_add(!(hcode << 9));
    h ^= ((h as u32) >> 14) as i32;
    h = h.wrapping_add(h << 4);
    h ^= ((h as u32) >> 10) as i32;
    h as u32
}

/// Reverses the 5-bit groups so that sorting compares the lowest group first.
fn trie_order_key(h: u32) -> [u32; 7] {
    std::array::from_fn(|i| (h >> (5 * i)) & 0x1f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(keys: &[&str]) -> Vec<String> {
        scala_hash_order(&keys.iter().map(|k| k.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn hash_order_matches_the_activation_record_vector() {
        let keys = ["limits", "waitTime", "initTime", "kind", "path", "causedBy"];
        assert_eq!(
            order(&keys),
            ["causedBy", "path", "waitTime", "kind", "limits", "initTime"]
        );
    }

    #[test]
    fn hash_order_matches_the_spec_examples() {
        assert_eq!(
            order(&["kind", "image", "binary", "code", "main"]),
            ["binary", "image", "main", "code", "kind"]
        );
        assert_eq!(
            order(&["name", "binary", "main", "code", "env"]),
            ["name", "binary", "main", "code", "env"]
        );
        let invoker = ["limits", "path", "kind", "timeout", "initTime", "waitTime"];
        assert_eq!(
            order(&invoker),
            ["path", "waitTime", "kind", "timeout", "limits", "initTime"]
        );
    }

    #[test]
    fn sorted_order_puts_underscore_between_cases() {
        let v = Sorted::new()
            .field("activationId", Value::Null)
            .field("_id", Value::Null)
            .field("Zed", Value::Null)
            .build();
        let keys: Vec<&String> = v
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["Zed", "_id", "activationId"]);
    }
}
