//! enclog lines inside container log wrappers, built to their documented formats:
//! - Docker's json-file driver: one JSON object per line, `{"log":"…\n","stream":…,"time":…}`;
//!   a line over 16 KiB is split into several objects, all but the last without the final `\n`.
//! - The Kubernetes CRI format (kubelet, containerd, CRI-O):
//!   `TIMESTAMP STREAM P|F CONTENT`, `P` for a partial line continued by the next record.
//!
//! `enclog decrypt` keeps the wrapper around each event by default; `--unwrap` removes it
//! and joins partial records first, so long events split by the runtime still decrypt.

use enclog::{Key, Sealer};

const DOCKER_SPLIT: usize = 16 * 1024;

fn json_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Lines as the application wrote them: an event with clear metadata holding JSON-special
/// characters, a plain line, a short event, and an event longer than Docker's split size.
fn app_output(key: &Key) -> (Vec<String>, Vec<String>) {
    let sealer = Sealer::new(key.clone());
    let events = vec![
        "first event, user=frank@example.com".to_owned(),
        format!("long event {}", "y".repeat(40_000)),
        "last event".to_owned(),
    ];
    let mut lines = Vec::new();
    let mut out = Vec::new();
    sealer
        .seal_to(
            Some(br#"WARN "quoted" \path"#),
            events[0].as_bytes(),
            &mut out,
        )
        .unwrap();
    lines.push(String::from_utf8(std::mem::take(&mut out)).unwrap());
    lines.push("plain line from the entrypoint script\n".to_owned());
    sealer
        .seal_to(None, events[1].as_bytes(), &mut out)
        .unwrap();
    lines.push(String::from_utf8(std::mem::take(&mut out)).unwrap());
    sealer
        .seal_to(Some(b"INFO"), events[2].as_bytes(), &mut out)
        .unwrap();
    lines.push(String::from_utf8(out).unwrap());
    (lines, events)
}

fn docker_json_file(lines: &[String]) -> String {
    let mut file = String::new();
    for (i, line) in lines.iter().enumerate() {
        let chunks: Vec<&str> = line
            .as_bytes()
            .chunks(DOCKER_SPLIT)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        for chunk in chunks {
            file.push_str(&format!(
                "{{\"log\":\"{}\",\"stream\":\"stdout\",\"time\":\"2026-11-26T20:27:{:02}.123456789Z\"}}\n",
                json_escape(chunk),
                i
            ));
        }
    }
    file
}

fn cri(lines: &[String]) -> String {
    let mut file = String::new();
    for (i, line) in lines.iter().enumerate() {
        let content = line.strip_suffix('\n').unwrap();
        let chunks: Vec<&str> = content
            .as_bytes()
            .chunks(DOCKER_SPLIT)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        for (j, chunk) in chunks.iter().enumerate() {
            let tag = if j + 1 < chunks.len() { "P" } else { "F" };
            file.push_str(&format!(
                "2026-11-26T20:27:{i:02}.123456789Z stdout {tag} {chunk}\n"
            ));
        }
    }
    file
}

fn decrypt(
    dir: &std::path::Path,
    key: &Key,
    name: &str,
    content: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    let key_file = super::key_file(dir, key);
    let mut args = vec!["decrypt", "--key-file", &key_file];
    args.extend_from_slice(extra);
    let path = path.to_str().unwrap().to_owned();
    args.push(&path);
    let out = super::enclog(&args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn docker_json_file_unwrapped_joins_split_lines_and_decrypts_everything() {
    let dir = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let (lines, events) = app_output(&key);
    let file = docker_json_file(&lines);
    assert!(
        file.lines().count() > lines.len(),
        "the long event must be split"
    );

    let (code, out, err) = decrypt(dir.path(), &key, "container-json.log", &file, &["--unwrap"]);
    assert_eq!(code, 0, "{err}");
    let expected = format!(
        "{}\nplain line from the entrypoint script\n{}\n{}\n",
        events[0], events[1], events[2]
    );
    assert_eq!(out, expected);
}

#[test]
fn docker_json_file_kept_wrapped_decrypts_whole_records_and_reports_split_ones() {
    let dir = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let (lines, events) = app_output(&key);
    let (code, out, err) = decrypt(
        dir.path(),
        &key,
        "container-json.log",
        &docker_json_file(&lines),
        &[],
    );
    // The split event's pieces cannot open on their own: reported, exit 1; the rest decrypt
    // inside their wrapper.
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("container-json.log:3:"), "{err}");
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("{\"log\":\"") && first.contains(&events[0]),
        "{first}"
    );
    assert!(out.contains(&events[2]));
}

#[test]
fn cri_unwrapped_joins_partial_records_and_decrypts_everything() {
    let dir = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let (lines, events) = app_output(&key);
    let (code, out, err) = decrypt(dir.path(), &key, "pod.log", &cri(&lines), &["--unwrap"]);
    assert_eq!(code, 0, "{err}");
    let expected = format!(
        "{}\nplain line from the entrypoint script\n{}\n{}\n",
        events[0], events[1], events[2]
    );
    assert_eq!(out, expected);
    // Kept wrapped, the CRI prefix stays in front of each whole event.
    let (_, out, _) = decrypt(dir.path(), &key, "pod.log", &cri(&lines), &[]);
    assert!(
        out.starts_with("2026-11-26T20:27:00.123456789Z stdout F "),
        "{out}"
    );
    assert!(out.lines().next().unwrap().ends_with(&events[0]));
}
