//! Real pipelines: enclog lines through rsyslog, container log wrappers, tracing-appender's
//! rolling files followed by `enclog tailf`, and field-sealed logs queried in DuckDB. Threat: a
//! pipeline that mangles, splits or drops lines without anyone noticing.

#[path = "../enclog_bin.rs"]
mod enclog_bin;
#[path = "../key_file.rs"]
mod key_files;
#[path = "../python_env.rs"]
mod python_env;

mod duckdb;
mod logrotate;
mod rolling;
mod rsyslog;
mod verify_archive;
mod wrappers;
mod zato;

use std::path::Path;
use std::process::Output;

/// Runs the real `enclog` binary.
pub(crate) fn enclog(args: &[&str]) -> Output {
    crate::enclog_bin::command()
        .args(args)
        .output()
        .expect("run enclog")
}

/// Writes `key` to a 0600 key file in `dir`.
pub(crate) fn key_file(dir: &Path, key: &enclog::Key) -> String {
    let path = dir.join("app.key");
    crate::key_files::write_key_file(&path, &key.to_text());
    path.to_str().unwrap().to_owned()
}
