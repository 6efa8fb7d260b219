//! `examples/verify_archive.py`: an archive of three hosts' rotated files verified in shards on
//! Dask distributed workers (a LocalCluster of two worker processes), each shard with its own
//! host's key only, the shards' states merged. Threat: a whole session deleted where two shards
//! meet, which no shard sees on its own.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use enclog::seal::Rotation;
use enclog::{Key, Sealer};

const HOSTS: [&str; 3] = ["db1", "web1", "web2"];
/// Oldest first; each holds 3 sessions of 3 events and a close record (12 lines).
const FILES: [&str; 4] = ["app.log.3.gz", "app.log.2.gz", "app.log.1", "app.log"];

/// Writes `ARCHIVE/HOST/FILE` for every host (each its own key and writer) and `KEYS/HOST.key`;
/// web2's last session of app.log.2.gz is deleted (lines 9-12: its successor starts
/// web2/app.log.1, in the next shard).
fn archive(dir: &Path) {
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    for host in HOSTS {
        let key = Key::generate().unwrap();
        crate::key_files::write_key_file(
            dir.join("keys").join(format!("{host}.key")),
            &key.to_text(),
        );
        let sealer = Sealer::with_rotation(key, Rotation::default().max_lines(3));
        let mut log = Vec::new();
        for i in 0..36 {
            sealer
                .seal_to(None, format!("{host} event {i}").as_bytes(), &mut log)
                .unwrap();
        }
        sealer.close_to(&mut log).unwrap();
        let lines: Vec<&[u8]> = log.split_inclusive(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 48);
        std::fs::create_dir_all(dir.join("archive").join(host)).unwrap();
        for (file, chunk) in FILES.iter().zip(lines.chunks(12)) {
            let mut chunk = chunk.to_vec();
            if host == "web2" && *file == "app.log.2.gz" {
                chunk.truncate(8);
            }
            let path = dir.join("archive").join(host).join(file);
            let bytes = chunk.concat();
            if file.ends_with(".gz") {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(&bytes).unwrap();
                std::fs::write(path, gz.finish().unwrap()).unwrap();
            } else {
                std::fs::write(path, bytes).unwrap();
            }
        }
    }
    let state_key = Key::generate().unwrap();
    crate::key_files::write_key_file(dir.join("verify.key"), &state_key.to_text());
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// (kind, file, line, related) of each finding.
fn places(objects: &[serde_json::Value]) -> Vec<(String, String, u64, String)> {
    objects
        .iter()
        .filter(|o| o.get("summary").is_none())
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["file"].as_str().unwrap().to_owned(),
                o["line"].as_u64().unwrap(),
                o["related"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn dask_workers_verify_shards_and_the_merge_finds_the_session_deleted_between_two() {
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/verify_archive.py");
    let mut python = Command::new(crate::python_env::dask_python());
    for var in crate::enclog_bin::INHERITED_VARS {
        python.env_remove(var);
    }
    let out = python
        .arg(&script)
        .args([
            "--enclog",
            env!("CARGO_BIN_EXE_enclog"),
            "--files-per-shard",
            "2",
            "--json",
        ])
        .arg("--keys")
        .arg(dir.path().join("keys"))
        .arg("--state-key-file")
        .arg(dir.path().join("verify.key"))
        .arg(dir.path().join("archive"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let merged = json_lines(&out.stdout);
    let expected = (
        "missing_sessions".to_owned(),
        "web2/app.log.1".to_owned(),
        1,
        "web2/app.log.2.gz:8".to_owned(),
    );
    assert_eq!(places(&merged), [expected], "{merged:#?}");
    let summary = merged.last().unwrap();
    assert_eq!(
        (summary["lines"].as_u64(), summary["chains"].as_u64()),
        (Some(140), Some(3)),
        "{summary}"
    );

    // One run over every file, with every key, finds the same at the same place.
    let mut all: Vec<String> = Vec::new();
    for host in HOSTS {
        for file in FILES {
            all.push(format!("{host}/{file}"));
        }
    }
    let single = crate::enclog_bin::command()
        .current_dir(dir.path().join("archive"))
        .args([
            "verify",
            "--allow-new-chains",
            "--output",
            "json",
            "--keyring",
        ])
        .arg(dir.path().join("keys"))
        .args(&all)
        .output()
        .unwrap();
    assert_eq!(single.status.code(), Some(1));
    assert_eq!(places(&json_lines(&single.stdout)), places(&merged));
}
