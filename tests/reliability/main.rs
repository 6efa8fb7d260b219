//! Reliability and security tests: the library and the real `enclog` binary under crashes,
//! concurrent and forking writers, failing disks, tampering, hostile input, secret leaks and
//! unusable keys. One binary, one module per threat (each module's doc names it).
//!
//! Some tests need a child process that logs through the library (to be killed, to fork, to
//! panic, or to have its stderr read). The child is this test binary run again with
//! `ENCLOG_RELIABILITY_ROLE` set: see [`child`].

mod bad_input;
mod child;
mod concurrency;
mod crash;
#[path = "../enclog_bin.rs"]
mod enclog_bin;
mod fail_closed;
mod fork;
#[path = "../key_file.rs"]
mod key_file;
mod leaks;
mod parsing;
mod support;
mod tamper;
mod write_failures;
