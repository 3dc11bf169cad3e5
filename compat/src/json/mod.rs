//! The JSON layer: spray-json's compact printer, Scala's object key orders, and total readers
//! that report the JSON path of the first offending field.

mod order;
mod print;
mod read;
mod writer;

pub use order::{Sorted, scala_hash_order, scala_map, sorted_cmp};
pub use print::{compact, java_decimal, push_string, write_compact};
pub use read::{
    DecodeError, MAX_DOCUMENT_BYTES, Obj, Path, java_trim, kind_of as read_kind, parse,
};
pub use writer::ObjectWriter;

pub use serde_json::{Map, Number, Value};

/// A value with OpenWhisk's JSON representation: read as spray-json's reader accepts it and
/// written as spray-json's writer produces it.
pub trait Wire: Sized {
    /// Reads the value found at `at`; fails with the path of the first field that does not fit.
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError>;
    /// Builds the JSON tree, with objects in the key order the Scala writer uses.
    fn write(&self) -> Value;

    /// Appends the compact encoding; hot types write it directly instead of building a tree.
    /// Must equal `write_compact(out, &self.write())` byte for byte.
    fn write_to(&self, out: &mut String) {
        write_compact(out, &self.write());
    }
}
