//! Harness for system tests against the services started by `tests/services/up`.
