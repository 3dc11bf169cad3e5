//! Harness for system tests against the real services that `tests/services/up` starts on loopback:
//! Kafka, etcd, CouchDB (pouchdb-server) and Docker with the runtime images of `tests/runtimes/build`.
//!
//! - [`env`]: where the services are (environment variables, with the defaults of `tests/services`);
//! - [`unique`]: names unique per test (topics, etcd cluster names, databases, containers) so tests
//!   run in parallel and again without cleaning up first;
//! - [`wait`]: polling with a deadline and a failure message naming what was awaited;
//! - [`kafka`], [`etcd`], [`couchdb`], [`docker`]: thin clients used the way the scheduler and the
//!   invoker use each service;
//! - [`runtime`]: the action container protocol (`/init`, `/run`) over HTTP;
//! - [`spec`]: the shared test vectors;
//! - [`world`]: one test's topic prefix, etcd cluster and CouchDB databases.
//!
//! Every fallible helper returns [`anyhow::Result`] with context naming the service and the input.
//! A service that does not answer fails with a message naming it and telling to run
//! `tests/services/up`.

pub mod couchdb;
pub mod docker;
pub mod env;
pub mod etcd;
pub mod kafka;
pub mod runtime;
pub mod spec;
pub mod unique;
pub mod wait;
pub mod world;

mod side;

pub use env::{Services, services};
pub use unique::unique_name;
pub use wait::{Attempt, wait_until};
pub use world::World;
