//! The invariant every fuzz target checks, for each type of its decoder family.
//!
//! The input is parsed once; each type reads the parsed tree (what `Codec::decode` does after
//! parsing). When a type accepts it:
//!
//! 1. its encoding is re-decoded (the writer only emits what the reader accepts);
//! 2. re-encoding that is byte-identical (the encoding is a fixpoint);
//! 3. the re-decoded value equals the first one. Two normalizations of the Scala writers are
//!    exempt from this, because the first value keeps what the writer then drops or respells:
//!    - the spelling of numbers: `1e3`, `-0`, `0.0000001` are kept as read inside free-form JSON
//!      (`content`, `result`, parameter values, the manifest) and written as
//!      `java.math.BigDecimal.toString` writes them (`1E+3`, `0`, `1E-7`), and serde_json
//!      compares numbers by their text;
//!    - sequence components read in the object form (`{"path","name","version","binding"}`)
//!      are written as `qualifiedNameWithLeadingSlash` (`/path/name`): version and binding go.
//!
//!    For inputs where either applies, the first value is only compared through its encoding
//!    (step 2), and the second value with the third.

use std::fmt::Debug;

use ow_compat::Codec;
use ow_compat::json::{Path, Value, compact, parse};

/// A type's name and its check.
pub type Check = (&'static str, fn(&Value, bool));

/// Runs `checks` against `data`.
pub fn run(data: &[u8], checks: &[Check]) {
    let Ok(tree) = parse(data) else {
        return;
    };
    let canonical = numbers_are_canonical(&tree) && !has_component_objects(&tree);
    for (_, check) in checks {
        check(&tree, canonical);
    }
}

/// Whether every number of `v` is already written as the compact printer writes it.
pub fn numbers_are_canonical(v: &Value) -> bool {
    match v {
        Value::Number(n) => compact(v) == n.as_str(),
        Value::Array(items) => items.iter().all(numbers_are_canonical),
        Value::Object(members) => members.values().all(numbers_are_canonical),
        _ => true,
    }
}

/// Whether some `components` array of `v` holds an object (a fully qualified name in the object
/// form, whose version and binding the sequence writer drops).
pub fn has_component_objects(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(has_component_objects),
        Value::Object(members) => members.iter().any(|(k, item)| {
            (k == "components"
                && item
                    .as_array()
                    .is_some_and(|c| c.iter().any(Value::is_object)))
                || has_component_objects(item)
        }),
        _ => false,
    }
}

/// Whitespace or a raw control character outside strings, by byte offset.
fn whitespace_outside_strings(s: &str) -> Option<usize> {
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if c < ' ' {
                return Some(i);
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_whitespace() || c.is_control() {
            return Some(i);
        }
    }
    None
}

/// The round-trip invariant for `T` on an already parsed input.
pub fn check<T: Codec + PartialEq + Debug>(tree: &Value, canonical: bool) {
    let Ok(first) = T::read(tree, Path::Root) else {
        return;
    };
    let name = T::TYPE_NAME;
    let once = first.encode();
    if let Some(i) = whitespace_outside_strings(&once) {
        panic!("{name}: whitespace outside strings at byte {i} of {once}");
    }
    let second = T::decode(once.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: own encoding rejected: {e}\nencoding: {once}"));
    let twice = second.encode();
    assert_eq!(twice, once, "{name}: re-encoding is not byte-stable");
    if canonical {
        assert_eq!(
            second, first,
            "{name}: decode(encode(x)) != x\nencoding: {once}"
        );
    } else {
        let third = T::decode(twice.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: own encoding rejected: {e}\nencoding: {twice}"));
        assert_eq!(
            third, second,
            "{name}: decode(encode(x)) != x\nencoding: {twice}"
        );
    }
}

/// Builds the list of checks of a family.
#[macro_export]
macro_rules! checks {
    ($($t:ty),* $(,)?) => {
        &[$((<$t as ::ow_compat::Codec>::TYPE_NAME, $crate::check::<$t> as fn(&::ow_compat::json::Value, bool))),*]
    };
}
