//! Placeholder; filled in by the codec benchmark work.
fn main() {}
