//! Field-sealed logs in a real query engine: DuckDB (from PyPI) reads `enclog encrypt
//! --fields --index` output as JSON, one user's events are found by blind index with an SQL
//! query, and exactly those rows decrypt with `enclog decrypt` to that user's events.
//!
//! Threat: a log store that must hold sensitive values to be useful. Here it holds only
//! tokens and index values, and still answers "every event of this user" and counts by clear
//! fields.

use std::process::Command;

/// Loads the log, finds the rows whose `user_idx` is the index value, writes their JSON text
/// (one row a line, in time order) to the output file, and prints the number of rows and two
/// checks made on the typed table (`read_json_auto`): the rows with that index, and the
/// number of ERROR events (a clear field).
const QUERY: &str = r#"
import sys, duckdb
log, index, out = sys.argv[1:4]
con = duckdb.connect()
rows = con.execute(
    """SELECT json FROM read_ndjson_objects(?, ignore_errors = true)
       WHERE json_extract_string(json, '$.user_idx') = ?
       ORDER BY json_extract_string(json, '$.ts')""",
    [log, index],
).fetchall()
with open(out, "w", encoding="utf-8", newline="") as f:
    for (line,) in rows:
        f.write(line + "\n")
typed = con.execute(
    "SELECT count(*) FROM read_json_auto(?, ignore_errors = true) WHERE user_idx = ?",
    [log, index],
).fetchone()[0]
errors = con.execute(
    "SELECT count(*) FROM read_json_auto(?, ignore_errors = true) WHERE level = 'ERROR'",
    [log],
).fetchone()[0]
print(len(rows), typed, errors)
"#;

const USERS: [&str; 5] = [
    "alice@example.com",
    "bob@example.com",
    "carol@example.org",
    "dave@example.net",
    "erin@example.com",
];

#[test]
fn duckdb_finds_one_users_events_by_blind_index_and_exactly_those_rows_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let key = super::key_file(dir.path(), &enclog::Key::generate().unwrap());
    let mut input = String::new();
    let mut bob = String::new();
    let mut errors = 0;
    for i in 0..400 {
        let user = USERS[(i * 7 + i / 3) % USERS.len()];
        let level = ["INFO", "WARN", "ERROR", "INFO"][i % 4];
        errors += usize::from(level == "ERROR");
        let line = format!(
            r#"{{"ts":"2026-12-06T12:{:02}:{:02}.{i:03}Z","level":"{level}","user":"{user}","card":{{"pan":"4111 1111 1111 {i:04}","exp":"12/29"}},"amount":{}.{:02},"req":{{"path":"/pay/{i}","ids":[{i},{}]}}}}"#,
            i / 60,
            i % 60,
            10 + i % 90,
            i % 100,
            i + 1
        );
        input.push_str(&line);
        input.push('\n');
        if user == "bob@example.com" {
            bob.push_str(&line);
            bob.push('\n');
        }
    }
    let log = dir.path().join("app.jsonl");
    let mut encrypt = crate::enclog_bin::command()
        .args([
            "encrypt",
            "--key-file",
            &key,
            "--fields",
            "user,card",
            "--index",
            "user",
            "-o",
        ])
        .arg(&log)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut encrypt.stdin.take().unwrap(), input.as_bytes()).unwrap();
    assert!(encrypt.wait().unwrap().success());
    let sealed = std::fs::read_to_string(&log).unwrap();
    assert!(!sealed.contains("bob@") && !sealed.contains("4111 1111"));

    let out = super::enclog(&[
        "index",
        "--key-file",
        &key,
        "--field",
        "user",
        "bob@example.com",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let found = dir.path().join("bob.jsonl");
    let out = Command::new(crate::python_env::duckdb_python())
        .args(["-c", QUERY])
        .arg(&log)
        .arg(&index)
        .arg(&found)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bobs = bob.lines().count();
    assert!(bobs > 50, "{bobs}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("{bobs} {bobs} {errors}"),
        "rows found by index, the same in the typed table, ERROR events counted in clear"
    );
    // The rows DuckDB gives are the log's own lines, byte for byte.
    let rows = std::fs::read_to_string(&found).unwrap();
    let original: String = sealed
        .lines()
        .filter(|l| l.contains(&format!(r#""user_idx":"{index}""#)))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(rows, original);

    let out = super::enclog(&["decrypt", "--key-file", &key, found.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        bob,
        "exactly bob's events"
    );
}
