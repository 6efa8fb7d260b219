//! Library integration tests: one binary, one module per topic.

#[path = "../key_file.rs"]
mod key_file;
#[path = "../python_env.rs"]
mod python_env;

mod commitment;
mod concurrency;
mod fields;
mod follow;
mod fork;
mod leaks;
mod lineage;
mod non_blocking;
mod parallel;
mod properties;
mod recipient;
mod rotation;
mod setup;
mod tracing_fields;
mod verify;
mod verify_chain;
mod verify_state;
mod zato;
