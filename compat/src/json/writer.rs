//! Writing compact JSON straight into a string, for the types on the hot path. Members must be
//! written in the order the Scala writer uses (sorted for case classes); tests compare every
//! such writer with the tree-building one.

use super::print::push_string;

/// Writes one object member by member.
#[derive(Debug)]
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Opens an object.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }

    /// Writes the key of the next member and returns the string to write its value into.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_string(self.out, key);
        self.out.push(':');
        self.out
    }

    /// A string member.
    pub fn string(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        push_string(out, value);
    }

    /// A member whose value is already JSON text (numbers, booleans, `null`).
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key).push_str(json);
    }

    /// Closes the object.
    pub fn finish(self) {
        self.out.push('}');
    }
}
