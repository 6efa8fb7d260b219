//! `enclog decrypt`: mixed input, bad lines, bad files, gzip, JSON, broken pipes.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::fixture::{Env, enclog, flip, lines, reads_through_permissions, run};

#[test]
fn mixed_plain_syslog_and_encrypted_lines() {
    let env = Env::new();
    let sealed = lines(&env.encrypt(b"event one\nevent two\n"));
    let mut log = b"plain start\n".to_vec();
    log.extend_from_slice(b"Nov 26 20:27:30 web1 app[77]: ");
    log.extend_from_slice(&sealed[0]);
    log.extend_from_slice(b"{\"msg\":\"");
    log.extend_from_slice(sealed[1].strip_suffix(b"\n").unwrap());
    log.extend_from_slice(b"\"}\n");
    log.extend_from_slice(b"plain end\n");
    log.extend_from_slice(&sealed[2]); // close record: prints nothing
    let file = env.write("mixed.log", &log);
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout_text(),
        "plain start\nNov 26 20:27:30 web1 app[77]: event one\n{\"msg\":\"event two\"}\nplain end\n"
    );
}

#[test]
fn clear_metadata_is_dropped_when_authentic_and_flagged_on_stdout_and_stderr_when_edited() {
    let env = Env::new();
    let sealer = enclog::Sealer::new(enclog::SealingKey::from_file(&env.key).unwrap());
    let mut log = Vec::new();
    sealer
        .seal_to(Some(b"WARN"), b"2026 WARN disk full", &mut log)
        .unwrap();
    let mut edited = Vec::new();
    sealer
        .seal_to(Some(b"ERROR"), b"2026 ERROR boom", &mut edited)
        .unwrap();
    let edited = String::from_utf8(edited)
        .unwrap()
        .replacen("ERROR ", "DEBUG ", 1);
    log.extend_from_slice(edited.as_bytes());
    let file = env.write("meta.log", &log);
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Flagged on stdout too, where the edited value is printed: a reader of the output alone
    // (`| less`, `| grep`) sees it.
    assert_eq!(
        r.stdout_text(),
        "2026 WARN disk full\nDEBUG [clear metadata edited: authentic \"ERROR\"] 2026 ERROR boom\n"
    );
    assert!(r.stderr.contains("meta.log:2: warning"), "{}", r.stderr);
    assert!(r.stderr.contains("\"ERROR\""), "{}", r.stderr);
    assert!(!r.stderr.contains("meta.log:1"), "{}", r.stderr);
}

#[test]
fn a_bad_line_is_reported_and_the_others_still_come_out() {
    let env = Env::new();
    let sealed = lines(&env.encrypt(b"one\ntwo\nthree\n"));
    let log = [sealed[0].clone(), flip(&sealed[1]), sealed[2].clone()].concat();
    let file = env.write("bad.log", &log);
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout_text(), "one\nthree\n");
    let name = file.display().to_string();
    assert_eq!(
        r.stderr.lines().collect::<Vec<_>>(),
        [format!(
            "enclog: {name}:2: the line fails authentication under key {}",
            env.key_id()
        )]
    );
}

#[test]
fn strict_stops_at_the_first_bad_line() {
    let env = Env::new();
    let sealed = lines(&env.encrypt(b"one\ntwo\nthree\n"));
    let log = [sealed[0].clone(), flip(&sealed[1]), sealed[2].clone()].concat();
    let r = run(&mut env.cmd(&["decrypt", "--strict"]), &log);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout_text(), "one\n");
    assert!(
        r.stderr
            .contains("<stdin>:2: the line fails authentication"),
        "{}",
        r.stderr
    );
}

#[test]
fn wrong_key_names_the_key_ids() {
    let env = Env::new();
    let other = Env::new();
    let sealed = other.encrypt(b"secret\n");
    let r = run(&mut env.cmd(&["decrypt"]), &sealed);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .starts_with("enclog: <stdin>:1: the line was sealed with key "),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&other.key_id()) && r.stderr.contains(&env.key_id()),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("--key-file"),
        "says how to fix: {}",
        r.stderr
    );
}

/// A log under a key that was not given would otherwise print one identical message per line:
/// the first line under each missing key is reported, the rest counted at the end.
#[test]
fn lines_under_a_missing_key_are_reported_once_per_key_and_counted() {
    let env = Env::new();
    let (a, b) = (Env::new(), Env::new());
    let log = [
        a.encrypt(b"a1\na2\n"), // lines 1-3 (with its close record)
        b.encrypt(b"b1\n"),     // lines 4-5
        env.encrypt(b"mine\n"), // lines 6-7
        a.encrypt(b"a3\n"),     // lines 8-9
    ]
    .concat();
    let file = env.write("keys.log", &log);
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout_text(), "mine\n");
    let name = file.display().to_string();
    let stderr: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(stderr.len(), 4, "{}", r.stderr);
    for (message, line, key) in [(stderr[0], 1, &a), (stderr[1], 4, &b)] {
        assert!(
            message.starts_with(&format!("enclog: {name}:{line}: "))
                && message.contains(&key.key_id()),
            "{message}"
        );
    }
    // The counts come last, by key id.
    let mut counts = [(a.key_id(), 5), (b.key_id(), 2)];
    counts.sort();
    let counts = counts.map(|(id, lines)| {
        format!(
            "enclog: {lines} lines in all were sealed with key {id}, which was not given; \
             only the first was listed"
        )
    });
    assert_eq!(stderr[2..], counts);
}

#[test]
fn missing_file_is_an_error_and_other_files_are_still_read() {
    let env = Env::new();
    let good = env.write("good.log", &env.encrypt(b"fine\n"));
    let missing = env.path("nope.log");
    let r = run(env.cmd(&["decrypt"]).arg(&missing).arg(&good), b"");
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout_text(), "fine\n");
    assert_eq!(
        r.stderr,
        format!(
            "enclog: {}: no such file (check the path)\n",
            missing.display()
        )
    );
}

#[test]
fn directory_is_an_error() {
    let env = Env::new();
    let r = run(env.cmd(&["decrypt"]).arg(env.dir.path()), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn unreadable_file_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let file = env.write("secret.log", &env.encrypt(b"x\n"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    if reads_through_permissions(env.dir.path()) {
        // Running as root (CAP_DAC_OVERRIDE): mode 000 does not stop reading, so there is no
        // permission error to observe; the file must then simply decrypt.
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, b"x\n");
    } else {
        assert_eq!(r.code, 2);
        assert!(r.stderr.contains("permission denied"), "{}", r.stderr);
    }
}

#[test]
fn binary_and_non_utf8_input_passes_through() {
    let env = Env::new();
    let input: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let r = run(&mut env.cmd(&["decrypt"]), &input);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, input);
}

#[test]
fn a_10_mb_plain_line_passes_through() {
    let env = Env::new();
    let mut input = vec![b'x'; 10 * 1024 * 1024];
    input.push(b'\n');
    input.extend_from_slice(&env.encrypt(b"after\n"));
    let r = run(&mut env.cmd(&["decrypt"]), &input);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.len(), 10 * 1024 * 1024 + 1 + 6);
    assert!(r.stdout.ends_with(b"x\nafter\n"));
}

#[test]
fn a_line_over_the_limit_is_reported_and_skipped() {
    let env = Env::new();
    let mut input = vec![b'x'; 5000];
    input.push(b'\n');
    input.extend_from_slice(&env.encrypt(b"after\n"));
    let r = run(&mut env.cmd(&["decrypt", "--max-line", "1000"]), &input);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, b"after\n");
    assert!(
        r.stderr
            .starts_with("enclog: <stdin>:1: line is 5000 bytes"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_truncated_last_line_is_reported() {
    let env = Env::new();
    let sealed = lines(&env.encrypt(b"complete\ncut short\n"));
    let mut log = sealed[0].clone();
    log.extend_from_slice(&sealed[1][..sealed[1].len() / 2]);
    let file = env.write("cut.log", &log);
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, b"complete\n");
    assert!(
        r.stderr
            .contains("cut.log:2: the token ends early or was altered"),
        "{}",
        r.stderr
    );
}

/// Threat: an attacker edits the last line and drops its newline so that the edit passes for
/// a writer's crash. v1 lines carry no length, so the reader cannot tell the two apart and must
/// say both: never just "truncated".
#[test]
fn an_altered_last_line_without_newline_is_called_truncated_or_altered() {
    let env = Env::new();
    let sealed = lines(&env.encrypt(b"complete\nedited\n"));
    let mut log = sealed[0].clone();
    let mut edited = sealed[1].clone();
    edited.pop(); // its newline
    let at = edited.len() / 2;
    edited[at] = if edited[at] == b'A' { b'B' } else { b'A' };
    log.extend_from_slice(&edited);
    let file = env.write("edited.log", &log);
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, b"complete\n");
    assert!(
        r.stderr
            .contains("edited.log:2: the token ends early or was altered (")
            && r.stderr.contains("or an edit"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_empty_file_gives_nothing() {
    let env = Env::new();
    let file = env.write("empty.log", b"");
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!((r.code, r.stdout.len(), r.stderr.as_str()), (0, 0, ""));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn gzip_files_are_read_by_their_magic_bytes() {
    let env = Env::new();
    // Two members (as `cat a.gz b.gz` gives), and a name that does not say gzip.
    let mut data = gzip(&env.encrypt(b"rotated one\n"));
    data.extend(gzip(b"plain in gzip\n"));
    let file = env.write("app.log.1", &data);
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout_text(), "rotated one\nplain in gzip\n");
}

#[test]
fn gzip_garbage_names_the_file() {
    let env = Env::new();
    let mut data = gzip(&env.encrypt(b"one\n"));
    let len = data.len();
    data.truncate(len / 2);
    data.extend_from_slice(b"garbage garbage garbage");
    let file = env.write("broken.gz", &data);
    let r = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(r.code, 2);
    // Corrupt deflate data may decode to a few bytes of junk first, reported as a bad line;
    // the last message is always the gzip error, naming the file.
    let last = r.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("broken.gz: cannot decompress"),
        "{}",
        r.stderr
    );
    let name = file.display().to_string();
    assert!(
        r.stderr
            .lines()
            .all(|l| l.starts_with(&format!("enclog: {name}"))),
        "{}",
        r.stderr
    );
}

#[test]
fn json_output_describes_every_line() {
    let env = Env::new();
    let sealed = lines(&env.encrypt(b"hello\n\xff\xfe\n"));
    let mut log = b"plain\n".to_vec();
    log.extend_from_slice(&sealed[0]);
    log.extend_from_slice(&flip(&sealed[1]));
    log.extend_from_slice(&sealed[1]);
    log.extend_from_slice(&sealed[2]);
    let r = run(&mut env.cmd(&["decrypt", "--output", "json"]), &log);
    assert_eq!(r.code, 1);
    let objects: Vec<serde_json::Value> = r
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(objects.len(), 5);
    assert_eq!(objects[0]["type"], "plain");
    assert_eq!(objects[0]["text"], "plain");
    assert_eq!(objects[1]["type"], "opened");
    assert_eq!(objects[1]["plaintext"], "hello");
    assert_eq!(objects[1]["key_id"], env.key_id());
    assert_eq!(objects[1]["seq"], 0);
    assert_eq!(objects[1]["record"], "event");
    assert_eq!(objects[1]["meta_status"], "none");
    assert_eq!(objects[1]["line"], 2);
    assert_eq!(objects[1]["file"], "<stdin>");
    assert_eq!(objects[2]["type"], "failed");
    assert!(
        objects[2]["error"]
            .as_str()
            .unwrap()
            .contains("fails authentication")
    );
    assert_eq!(objects[3]["plaintext_base64"], "//4=");
    assert_eq!(objects[4]["record"], "close");
    assert_eq!(objects[1]["session"], objects[4]["session"]);
}

#[test]
fn a_reader_closing_the_pipe_ends_decrypt_quietly() {
    let env = Env::new();
    // Far more than the pipe and output buffers hold.
    let mut log = Vec::new();
    for i in 0..200_000 {
        writeln!(log, "plain line number {i}").unwrap();
    }
    log.extend_from_slice(&env.encrypt(b"encrypted\n"));
    let file = env.write("big.log", &log);
    let mut child = crate::enclog_bin::command()
        .arg("decrypt")
        .arg("--key-file")
        .arg(&env.key)
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "plain line number 0\n");
    // The reader is dropped here, like `head -1` exiting.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn colour_is_off_in_pipes_and_on_when_asked() {
    let env = Env::new();
    let sealed = env.encrypt(b"2026-11-26T20:00:00Z ERROR db: down\n");
    let plain = run(&mut env.cmd(&["decrypt"]), &sealed);
    assert_eq!(plain.stdout_text(), "2026-11-26T20:00:00Z ERROR db: down\n");
    let colored = run(&mut env.cmd(&["decrypt", "--color", "always"]), &sealed);
    assert_eq!(
        colored.stdout_text(),
        "2026-11-26T20:00:00Z \x1b[1;31mERROR\x1b[0m db: down\n"
    );
}

/// A log where every kind of text no token authenticates sits beside authenticated events: a
/// plain line, a syslog header, a JSON wrapper, a forged `ERROR ` in front of authentic clear
/// metadata, edited clear metadata, a forged plain line shaped like a log line. Returns the log
/// and the events it holds.
fn mixed_authenticity(env: &Env) -> (Vec<u8>, &'static str) {
    let sealer = enclog::Sealer::new(enclog::SealingKey::from_file(&env.key).unwrap());
    // `META TOKEN`, or `TOKEN`.
    let token = |meta: Option<&[u8]>, event: &[u8]| {
        let mut line = Vec::new();
        sealer.seal_to(meta, event, &mut line).unwrap();
        line.strip_suffix(b"\n").unwrap().to_vec()
    };
    let mut log = b"2026-12-06T08:00:00Z ERROR FORGED plain line\n".to_vec();
    log.extend_from_slice(b"Dec  6 08:00:01 web1 FORGED-syslog[77]: ");
    log.extend_from_slice(&token(None, b"event one"));
    log.extend_from_slice(b"\n{\"FORGED-wrapper\":\"");
    log.extend_from_slice(&token(None, b"event two"));
    log.extend_from_slice(b"\",\"FORGED-after\":1}\n");
    // Authentic clear metadata (`INFO <token>`), with a forged level in front of it.
    log.extend_from_slice(b"FORGED-ERROR ");
    log.extend_from_slice(&token(Some(b"INFO"), b"event three"));
    // Clear metadata edited from `ERROR` to `FORGED-DEBUG`.
    log.extend_from_slice(b"\nFORGED-DEBUG ");
    let edited = token(Some(b"ERROR"), b"event four");
    log.extend_from_slice(edited.strip_prefix(b"ERROR ").unwrap());
    log.extend_from_slice(b"\nFORGED last plain line\n");
    (log, "event one\nevent two\nevent three\nevent four\n")
}

/// Threat: text no token authenticates — a forged line, a forged prefix before a real token,
/// an edited level — read as if enclog had vouched for it. `--authenticated-only` prints the
/// sealed events and nothing else, as text and as JSON.
#[test]
fn authenticated_only_prints_no_unauthenticated_text() {
    let env = Env::new();
    let (log, events) = mixed_authenticity(&env);
    let file = env.write("mixed.log", &log);
    let r = run(
        env.cmd(&["decrypt", "--authenticated-only"]).arg(&file),
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout_text(), events);
    assert!(!r.stdout_text().contains("FORGED"));
    // Colour and escaping change nothing here: there is nothing to mark.
    let r = run(
        env.cmd(&[
            "decrypt",
            "--authenticated-only",
            "--color",
            "never",
            "--escape",
            "always",
        ])
        .arg(&file),
        b"",
    );
    assert_eq!(r.stdout_text(), events);

    // JSON keeps its separation and leaves out plain lines and the text around tokens.
    let json = run(
        env.cmd(&["decrypt", "--authenticated-only", "--output", "json"])
            .arg(&file),
        b"",
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert!(
        !json.stdout_text().contains("FORGED"),
        "{}",
        json.stdout_text()
    );
    let objects: Vec<serde_json::Value> = json
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 4);
    assert!(objects.iter().all(|o| o["type"] == "opened"));
    assert_eq!(objects[3]["meta"], "ERROR");
    assert_eq!(objects[3]["meta_status"], "differs");
    // Without the option, JSON still gives everything.
    let json = run(env.cmd(&["decrypt", "--output", "json"]).arg(&file), b"");
    assert_eq!(json.stdout_text().lines().count(), 6);
}

/// Threat: as above, for whoever reads `decrypt` on a terminal. With colour on, text no token
/// authenticates is dim (SGR 2 … SGR 22), events are not, and edited clear metadata is
/// followed by a marker in reverse video. Without colour (a pipe) the bytes are as logged, but
/// for the marker.
#[test]
fn colour_shows_unauthenticated_text_dim_and_marks_edited_metadata() {
    let env = Env::new();
    let (log, _) = mixed_authenticity(&env);
    let file = env.write("mixed.log", &log);
    let r = run(env.cmd(&["decrypt", "--color", "always"]).arg(&file), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout_text(),
        "\x1b[2m2026-12-06T08:00:00Z ERROR FORGED plain line\x1b[22m\n\
         \x1b[2mDec  6 08:00:01 web1 FORGED-syslog[77]: \x1b[22mevent one\n\
         \x1b[2m{\"FORGED-wrapper\":\"\x1b[22mevent two\x1b[2m\",\"FORGED-after\":1}\x1b[22m\n\
         \x1b[2mFORGED-ERROR \x1b[22mevent three\n\
         \x1b[2mFORGED-DEBUG \x1b[22m\x1b[7m[clear metadata edited: authentic \"ERROR\"]\x1b[27m event four\n\
         \x1b[2mFORGED last plain line\x1b[22m\n"
    );
    let piped = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(
        piped.stdout_text(),
        "2026-12-06T08:00:00Z ERROR FORGED plain line\n\
         Dec  6 08:00:01 web1 FORGED-syslog[77]: event one\n\
         {\"FORGED-wrapper\":\"event two\",\"FORGED-after\":1}\n\
         FORGED-ERROR event three\n\
         FORGED-DEBUG [clear metadata edited: authentic \"ERROR\"] event four\n\
         FORGED last plain line\n"
    );
}

/// Threat: an event holding a newline followed by text shaped like a log line (an error
/// chain quoting input, a backtrace), read as a line of its own. With escaping on, every
/// further line of an event is indented; in a pipe the bytes are as logged.
#[test]
fn continuation_lines_of_an_event_are_indented_when_escaping() {
    let env = Env::new();
    let sealer = enclog::Sealer::new(enclog::SealingKey::from_file(&env.key).unwrap());
    let event = b"2026-12-06T08:00:00Z ERROR login failed\ncaused by: bad name\n\
                  2026-12-06T08:00:01Z INFO admin logged in\r\n";
    let mut log = sealer.seal_line(event).unwrap();
    log.extend_from_slice(b"<");
    log.extend_from_slice(&sealer.seal_line(b"two\nlines").unwrap());
    log.pop();
    log.extend_from_slice(b">\n");
    let file = env.write("app.log", &log);
    let r = run(env.cmd(&["decrypt", "--escape", "always"]).arg(&file), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout_text(),
        "2026-12-06T08:00:00Z ERROR login failed\n  caused by: bad name\n  \
         2026-12-06T08:00:01Z INFO admin logged in\r\n\n<two\n  lines>\n"
    );
    let r = run(
        env.cmd(&["decrypt", "--escape", "always", "--color", "always"])
            .arg(&file),
        b"",
    );
    assert!(
        r.stdout_text()
            .starts_with("2026-12-06T08:00:00Z \x1b[1;31mERROR\x1b[0m login failed\n  caused by"),
        "{}",
        r.stdout_text()
    );
    let piped = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(piped.stdout, [&event[..], b"\n<two\nlines>\n"].concat());
}

/// Threat: a logged value (a user name, a header) that drives the terminal of whoever decrypts
/// the log — sets the title, erases or overwrites lines to hide others. On a terminal (or with
/// `--escape always`) control characters in events and in plain lines are shown escaped.
#[test]
fn control_characters_are_escaped_when_asked_and_kept_in_pipes() {
    let env = Env::new();
    let mut log = env.encrypt(b"user=\x1b]0;pwned\x07 login\rhidden\n");
    log.extend_from_slice(b"plain \x1b[2K line\r\n");
    let file = env.write("app.log", &log);
    let escaped = run(env.cmd(&["decrypt", "--escape", "always"]).arg(&file), b"");
    assert_eq!(escaped.code, 0, "{}", escaped.stderr);
    assert_eq!(
        escaped.stdout_text(),
        "user=\\x1b]0;pwned\\x07 login\\x0dhidden\nplain \\x1b[2K line\r\n"
    );
    // In a pipe (`auto`), the bytes as they were logged: tools downstream get them unchanged.
    let piped = run(env.cmd(&["decrypt"]).arg(&file), b"");
    assert_eq!(
        piped.stdout,
        b"user=\x1b]0;pwned\x07 login\rhidden\nplain \x1b[2K line\r\n"
    );
    let json = run(
        env.cmd(&["decrypt", "--escape", "always", "--output", "json"])
            .arg(&file),
        b"",
    );
    let first: serde_json::Value = serde_json::from_slice(&lines(&json.stdout)[0]).unwrap();
    assert_eq!(first["plaintext"], "user=\x1b]0;pwned\x07 login\rhidden");
}

/// A carriage return is kept only where a newline follows it on the screen: an event ending in
/// one is followed by the text after its token, and the last line of a file without a final
/// newline by the next file's first line — both of which it would let overwrite its line.
#[test]
fn a_carriage_return_is_kept_only_where_a_newline_follows() {
    let env = Env::new();
    let sealer = enclog::Sealer::new(enclog::SealingKey::from_file(&env.key).unwrap());
    let token = |event: &[u8]| {
        let line = sealer.seal_line(event).unwrap();
        line.strip_suffix(b"\n").unwrap().to_vec()
    };
    let mut first = token(b"event ending in CR\r");
    first.extend_from_slice(b" text after\n");
    first.extend_from_slice(&token(b"CRLF event\r"));
    first.extend_from_slice(b"\n");
    first.extend_from_slice(b"no final newline\r");
    let first = env.write("app.log.1", &first);
    let second = env.write("app.log", b"second file\r\n");
    let r = run(
        env.cmd(&["decrypt", "--escape", "always"])
            .args([&first, &second]),
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout_text(),
        "event ending in CR\\x0d text after\nCRLF event\r\nno final newline\\x0dsecond file\r\n"
    );
}

/// Runs its arguments with standard output on a pseudo-terminal (Python's `pty`, which every
/// machine running the suite has) and prints what the terminal received.
const UNDER_PTY: &str = r#"
import os, pty, subprocess, sys
main, sub = pty.openpty()
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=sub)
os.close(sub)
out = b""
while True:
    try:
        chunk = os.read(main, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not chunk:
        break
    out += chunk
sys.stdout.buffer.write(out)
sys.exit(child.wait())
"#;

/// `enclog decrypt --key-file app.key FILE` with standard output on a pseudo-terminal and
/// `NO_COLOR` as given: what the terminal got.
fn decrypt_on_a_terminal(env: &Env, file: &std::path::Path, no_color: Option<&str>) -> Vec<u8> {
    let enclog = crate::enclog_bin::command();
    let mut python = std::process::Command::new("python3");
    python
        .args(["-c", UNDER_PTY])
        .arg(enclog.get_program())
        .args(["decrypt", "--key-file"])
        .args([&env.key, file]);
    match no_color {
        Some(v) => python.env("NO_COLOR", v),
        None => python.env_remove("NO_COLOR"),
    };
    let out = python.output().expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `--escape auto` (the default) escapes when standard output is a terminal.
#[test]
fn control_characters_are_escaped_on_a_terminal_by_default() {
    let env = Env::new();
    let file = env.write("app.log", &env.encrypt(b"title \x1b]0;pwned\x07 set\n"));
    // The terminal turns the newline into CRLF.
    assert_eq!(
        decrypt_on_a_terminal(&env, &file, Some("1")),
        b"title \\x1b]0;pwned\\x07 set\r\n"
    );
}

/// Threat: a forged line, or a forged prefix before a real token, read on a terminal as if
/// enclog had vouched for it. `--color auto` (the default) shows it dim on a terminal.
#[test]
fn unauthenticated_text_is_dim_on_a_terminal_by_default() {
    let env = Env::new();
    let mut log = b"FORGED plain\n".to_vec();
    log.extend_from_slice(b"FORGED prefix: ");
    log.extend_from_slice(&env.encrypt(b"event\n"));
    let file = env.write("app.log", &log);
    assert_eq!(
        decrypt_on_a_terminal(&env, &file, None),
        b"\x1b[2mFORGED plain\x1b[22m\r\n\x1b[2mFORGED prefix: \x1b[22mevent\r\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let r = run(&mut enclog(["decrypt", "--no-such-option"]), b"");
    assert_eq!(r.code, 2);
    let r = run(&mut enclog(["no-such-command"]), b"");
    assert_eq!(r.code, 2);
}

/// CRLF text (a log that passed through Windows tooling) comes out with its line endings:
/// plain lines byte for byte, and a token line with its `\r` after the event.
#[test]
fn crlf_lines_keep_their_line_endings() {
    let env = Env::new();
    let sealed = env.encrypt(b"an event\n");
    let token_line = sealed.split(|&b| b == b'\n').next().unwrap().to_vec();
    let mut input = b"plain windows line\r\n".to_vec();
    input.extend_from_slice(&token_line);
    input.extend_from_slice(b"\r\nlast plain\r\n");
    let path = env.write("crlf.log", &input);
    let out = run(env.cmd(&["decrypt"]).arg(&path), b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        b"plain windows line\r\nan event\r\nlast plain\r\n"
    );
}

/// `--jobs`: a large file decrypted on several threads gives exactly what one thread gives —
/// output order, messages with their line numbers, and exit status — bad lines included.
#[test]
fn parallel_decrypt_matches_one_thread_byte_for_byte() {
    let env = Env::new();
    let key = enclog::Key::from_file(&env.key).unwrap();
    let sealer = enclog::Sealer::new(key);
    let mut log = Vec::new();
    let mut i = 0;
    while log.len() < 6 * 1024 * 1024 {
        match i % 1000 {
            17 => log.extend_from_slice(b"a plain line between tokens\n"),
            // Clear metadata edited after sealing: shown with a marker, warned about on stderr.
            701 => {
                let mut line = Vec::new();
                sealer
                    .seal_to(Some(b"ERROR"), b"relabelled", &mut line)
                    .unwrap();
                assert!(line.starts_with(b"ERROR "));
                line[..5].copy_from_slice(b"DEBUG");
                log.extend_from_slice(&line);
            }
            500 => {
                let mut line = Vec::new();
                sealer.seal_to(None, b"to be damaged", &mut line).unwrap();
                log.extend_from_slice(&flip(&line));
            }
            _ => sealer
                .seal_to(
                    Some(b"INFO"),
                    format!("event {i} {}", "x".repeat(i % 300)).as_bytes(),
                    &mut log,
                )
                .unwrap(),
        }
        i += 1;
    }
    log.extend_from_slice(b"enclog:cut-off-tail"); // a cut last line
    let path = env.write("big.log", &log);
    // Text output is written by the worker threads (`ParallelDecryptor::rendering`) except for
    // the lines reported on stderr; every text option, and JSON, must come out the same.
    for options in [
        &[][..],
        &["--authenticated-only"],
        &["--escape", "always", "--color", "always"],
        &["--output", "json"],
    ] {
        let mut one = env.cmd(&["decrypt", "--jobs", "1"]);
        let mut many = env.cmd(&["decrypt", "--jobs", "3"]);
        let (one, many) = (
            run(one.args(options).arg(&path), b""),
            run(many.args(options).arg(&path), b""),
        );
        assert_eq!(one.code, 1, "{options:?}: {}", one.stderr);
        assert_eq!(
            (many.code, &many.stderr),
            (one.code, &one.stderr),
            "{options:?}"
        );
        assert!(
            many.stdout == one.stdout,
            "{options:?}: parallel output differs from one thread's"
        );
        assert!(one.stderr.contains("big.log:501:"), "{}", one.stderr);
        // The relabelled line's warning, between the lines around it on stdout.
        assert!(
            one.stderr.contains("big.log:702: warning"),
            "{}",
            one.stderr
        );
    }
}

/// Threat: a file name that drives the reader's terminal (ESC sequences) or forges a line of
/// output (a newline) when a message or a finding names the file. Every name is shown with
/// what a terminal acts on escaped, on stderr (errors, notes) and stdout (findings' labels).
#[test]
fn file_names_are_escaped_in_messages_and_findings() {
    let env = Env::new();
    let sealed = lines(&env.encrypt(b"one\ntwo\n"));
    let mut log = sealed[0].clone();
    log.extend_from_slice(&flip(&sealed[1]));
    let file = env.write("evil\x1b[31m\nname.log", &log);
    let missing = env.path("gone\x1b]0;title\x07.log");
    let escaped = "evil\\x1b[31m\\x0aname.log";
    let clean = |what: &str, text: &str, lines: usize| {
        assert!(
            !text.contains('\x1b') && !text.contains('\x07'),
            "{what}: {text:?}"
        );
        assert_eq!(text.lines().count(), lines, "{what}: {text:?}");
    };

    let r = run(env.cmd(&["decrypt"]).arg(&file).arg(&missing), b"");
    assert_eq!(r.code, 2, "{}", r.stderr);
    clean("decrypt stderr", &r.stderr, 2);
    assert!(
        r.stderr.contains(&format!("{escaped}:2: ")),
        "{:?}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("gone\\x1b]0;title\\x07.log: no such file"),
        "{:?}",
        r.stderr
    );

    let r = run(env.cmd(&["verify"]).arg(&file), b"");
    assert_eq!(r.code, 1, "{}", r.stderr);
    let stdout = r.stdout_text();
    assert!(!stdout.contains('\x1b'), "{stdout:?}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains(&format!("{escaped}:2: corrupted line"))),
        "{stdout:?}"
    );
    // The name's newline did not split a finding in two.
    assert!(
        !stdout.lines().any(|l| l.starts_with("name.log")),
        "{stdout:?}"
    );

    // A key file's name reaches stderr through the library's error: escaped there too.
    let key = env.write("key\x1b[2J\n.key", b"not a key\n");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let r = run(enclog(["decrypt", "--key-file"]).arg(&key), b"");
    assert_eq!(r.code, 2, "{}", r.stderr);
    clean("bad key stderr", &r.stderr, 1);
    assert!(r.stderr.contains("key\\x1b[2J\\x0a.key"), "{:?}", r.stderr);
}
