//! Fresh ids (shared with the invoker agent through compat).

pub use ow_compat::ids::random_hex32;
