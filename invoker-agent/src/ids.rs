//! Fresh ids and the wall clock (shared with the scheduler through compat).

pub use ow_compat::ids::{epoch_millis, random_hex32 as random_id};
