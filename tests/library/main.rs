//! Library integration tests: one binary, one module per topic.

mod concurrency;
mod follow;
mod fork;
mod leaks;
mod properties;
mod recipient;
mod verify;
mod zato;
