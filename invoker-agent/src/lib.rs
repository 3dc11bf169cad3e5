//! `ow-invoker-agent`: runs OpenWhisk actions in Docker containers that pull their activations
//! from the scheduler, in place of the stock FPC (pulling) invoker.
//!
//! - [`config`]: settings from the stock invoker's command line and environment (pure);
//! - [`pool`], [`pool_state`]: the container pool's choices, memory accounting and `GET /pool`
//!   body (pure);
//! - [`outcome`], [`record`], [`logs`], [`events`]: result classification, the `/init` and `/run`
//!   bodies, activation records and acks, log collection, user events (pure);
//! - [`container_spec`]: names, images, limits and labels of action containers (pure);
//! - [`runtime`]: the `ContainerRuntime` edge and its Docker implementation;
//! - [`actions`]: action code and activation records in CouchDB;
//! - [`scheduler_client`], [`action_http`]: gRPC to the scheduler, HTTP to the action proxy;
//! - [`agent`]: the running agent (commands, containers, membership, drain);
//! - [`admin`], [`metrics`]: the admin routes;
//! - [`launch`]: wiring to the real services, shared by the binary and the system tests.

pub mod action_http;
pub mod actions;
pub mod admin;
pub mod agent;
pub mod config;
pub mod connections;
pub mod container_spec;
pub mod events;
pub mod health;
pub mod ids;
pub mod logs;
pub mod metrics;
pub mod outcome;
pub mod pool;
pub mod pool_state;
pub mod record;
pub mod runtime;
pub mod scheduler_client;

mod launch;

pub use launch::{LaunchError, Live, Running, launch};
