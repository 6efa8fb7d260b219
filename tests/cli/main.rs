//! CLI integration tests: the real `enclog` binary, one module per topic.

mod chain;
mod decrypt;
mod demo;
#[path = "../enclog_bin.rs"]
mod enclog_bin;
mod fields;
mod fixture;
#[path = "../key_file.rs"]
mod key_file;
mod keys;
mod recipient;
mod rotation;
mod roundtrip;
mod tailf;
mod verify;
mod verify_chain;
mod verify_state;
