//! The invoker agent: runs OpenWhisk actions in Docker containers that pull their activations
//! from the scheduler. Work in progress; see the project's issues.
