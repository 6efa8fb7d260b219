//! The follower on real files: appends, rotation, truncation, deletion, polling.
//!
//! Waits are generous (seconds) and never measured: a test fails only if a line is lost,
//! duplicated, split or reordered, or if nothing arrives at all.
#![cfg(feature = "follow")]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use enclog::follow::{
    FollowError, FollowEvent, FollowOptions, Followed, Follower, QUIET_AFTER_FINISH,
};

const WAIT: Option<Duration> = Some(Duration::from_secs(20));

fn options() -> FollowOptions {
    FollowOptions::default()
}

fn polling() -> FollowOptions {
    FollowOptions::default()
        .poll(true)
        .poll_interval(Duration::from_millis(20))
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.flush().unwrap();
}

/// The next item, failing the test if none comes within the wait.
fn next(follower: &mut Follower) -> Followed {
    follower
        .next_item(WAIT)
        .unwrap()
        .expect("nothing arrived within the wait")
}

/// A complete line, as [`shown`] prints it.
fn line(text: &str) -> String {
    format!("line {text:?}")
}

/// What the follower yielded, in a form tests can compare.
fn shown(item: Followed) -> String {
    match item {
        Followed::Line(l) if l.terminated => {
            format!("line {:?}", String::from_utf8_lossy(&l.bytes))
        }
        Followed::Line(l) => format!("unfinished line {:?}", String::from_utf8_lossy(&l.bytes)),
        Followed::Event(e) => format!("event {e:?}"),
        other => format!("{other:?}"),
    }
}

fn next_line(follower: &mut Follower) -> String {
    let line = follower
        .next_line(WAIT)
        .unwrap()
        .expect("no line within the wait");
    assert!(line.terminated);
    String::from_utf8(line.bytes).unwrap()
}

fn assert_quiet(follower: &mut Follower) {
    let items = drain_now(follower);
    assert!(items.is_empty(), "nothing more expected, got {items:?}");
}

/// Everything available now, without waiting beyond a short pause.
fn drain_now(follower: &mut Follower) -> Vec<Followed> {
    let mut items = Vec::new();
    while let Some(item) = follower
        .next_item(Some(Duration::from_millis(300)))
        .unwrap()
    {
        items.push(item);
    }
    items
}

#[test]
fn starts_at_the_end_and_delivers_a_line_written_in_two_pieces_once_and_whole() {
    for opts in [options(), polling()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(&path, "old 1\nold 2\n").unwrap();
        let mut follower = Follower::new(&path, opts).unwrap();

        append(&path, "first half, ");
        // The half line must not come out on its own, however long we wait.
        assert_quiet(&mut follower);
        append(&path, "second half\nnext\n");
        assert_eq!(next_line(&mut follower), "first half, second half");
        assert_eq!(next_line(&mut follower), "next");
        assert_quiet(&mut follower);
    }
}

#[test]
fn a_writer_thread_appending_in_odd_pieces_loses_and_splits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let mut follower = Follower::new(&path, options()).unwrap();
    let writer_path = path.clone();
    let writer = thread::spawn(move || {
        let mut file = OpenOptions::new().append(true).open(writer_path).unwrap();
        let text: String = (0..2000)
            .map(|i| format!("line {i} {}\n", "x".repeat(i % 50)))
            .collect();
        // Pieces of 1 to 97 bytes, cutting lines anywhere.
        let mut rest = text.as_bytes();
        let mut size = 1;
        while !rest.is_empty() {
            let n = size.min(rest.len());
            file.write_all(&rest[..n]).unwrap();
            rest = &rest[n..];
            size = size * 7 % 97 + 1;
        }
    });
    for i in 0..2000 {
        assert_eq!(
            next_line(&mut follower),
            format!("line {i} {}", "x".repeat(i % 50))
        );
    }
    writer.join().unwrap();
    assert_quiet(&mut follower);
}

#[test]
fn rotation_by_rename_and_create_reads_the_old_file_to_its_end_first() {
    for opts in [options(), polling()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(&path, "a\n").unwrap();
        let mut opts = opts;
        opts = opts.from_start(true);
        let mut follower = Follower::new(&path, opts).unwrap();
        assert_eq!(shown(next(&mut follower)), line("a"));

        // The writer still holds the old file after the rename, and writes one more line.
        let mut old = OpenOptions::new().append(true).open(&path).unwrap();
        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        old.write_all(b"b, written after the rename\n").unwrap();
        fs::write(&path, "c, in the new file\n").unwrap();

        assert_eq!(
            shown(next(&mut follower)),
            line("b, written after the rename")
        );
        assert_eq!(next(&mut follower), Followed::Event(FollowEvent::Rotated));
        assert_eq!(shown(next(&mut follower)), line("c, in the new file"));
        append(&path, "d\n");
        assert_eq!(shown(next(&mut follower)), line("d"));
        assert_quiet(&mut follower);
    }
}

#[test]
fn repeated_rotation_under_a_writer_thread_delivers_every_line_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let mut follower = Follower::new(&path, options()).unwrap();
    let (progress, seen) = mpsc::channel::<usize>();
    let writer_path = path.clone();
    let writer = thread::spawn(move || {
        let mut file = OpenOptions::new().append(true).open(&writer_path).unwrap();
        for i in 0..300 {
            if i > 0 && i % 100 == 0 {
                // Rotate only once the reader has everything, as `tail -F` can only follow one
                // rotation per look at the path.
                while seen.recv().unwrap() < i {}
                let rotated = writer_path.with_extension(format!("log.{}", i / 100));
                fs::rename(&writer_path, rotated).unwrap();
                file = File::create(&writer_path).unwrap();
            }
            writeln!(file, "line {i}").unwrap();
        }
    });
    let mut events = Vec::new();
    let mut got = 0;
    while got < 300 {
        match next(&mut follower) {
            Followed::Line(l) => {
                assert_eq!(String::from_utf8(l.bytes).unwrap(), format!("line {got}"));
                got += 1;
                let _ = progress.send(got);
            }
            // The path is briefly absent between the rename and the create.
            Followed::Event(FollowEvent::Disappeared) => {}
            Followed::Event(e) => events.push(e),
            other => panic!("unexpected {other:?}"),
        }
    }
    writer.join().unwrap();
    assert_eq!(events, [FollowEvent::Rotated, FollowEvent::Rotated]);
    assert_quiet(&mut follower);
}

#[test]
fn copytruncate_is_followed_from_the_start() {
    for opts in [options(), polling()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        File::create(&path).unwrap();
        let mut follower = Follower::new(&path, opts).unwrap();
        append(&path, "one\ntwo\n");
        assert_eq!(next_line(&mut follower), "one");
        assert_eq!(next_line(&mut follower), "two");

        fs::copy(&path, dir.path().join("app.log.1")).unwrap();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert_eq!(next(&mut follower), Followed::Event(FollowEvent::Truncated));
        append(&path, "three\n");
        assert_eq!(shown(next(&mut follower)), line("three"));
        assert_quiet(&mut follower);
    }
}

#[test]
fn delete_and_recreate() {
    for opts in [options(), polling()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(&path, "before\n").unwrap();
        let mut follower = Follower::new(&path, opts).unwrap();
        append(&path, "one\n");
        assert_eq!(shown(next(&mut follower)), line("one"));
        fs::remove_file(&path).unwrap();
        assert_eq!(
            next(&mut follower),
            Followed::Event(FollowEvent::Disappeared)
        );
        append(&path, "two\n");
        assert_eq!(next(&mut follower), Followed::Event(FollowEvent::Rotated));
        assert_eq!(shown(next(&mut follower)), line("two"));
        assert_quiet(&mut follower);
    }
}

#[test]
fn a_file_that_does_not_exist_yet_is_read_from_its_start_once_it_appears() {
    for opts in [options(), polling()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.log");
        let mut follower = Follower::new(&path, opts).unwrap();
        assert_quiet(&mut follower);
        append(&path, "first\nsecond\n");
        assert_eq!(next(&mut follower), Followed::Event(FollowEvent::Appeared));
        assert_eq!(next_line(&mut follower), "first");
        assert_eq!(next_line(&mut follower), "second");
    }
}

#[test]
fn a_missing_directory_falls_back_to_polling_and_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not yet").join("app.log");
    let mut follower = Follower::new(&path, polling_interval_only()).unwrap();
    assert!(!follower.is_watching());
    assert!(matches!(
        next(&mut follower),
        Followed::Event(FollowEvent::Polling { .. })
    ));
    fs::create_dir(dir.path().join("not yet")).unwrap();
    append(&path, "hello\n");
    assert_eq!(next(&mut follower), Followed::Event(FollowEvent::Appeared));
    assert_eq!(next_line(&mut follower), "hello");
}

fn polling_interval_only() -> FollowOptions {
    FollowOptions::default().poll_interval(Duration::from_millis(20))
}

#[test]
fn an_over_long_line_is_an_error_and_following_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let mut opts = options();
    opts = opts.max_line(100);
    let mut follower = Follower::new(&path, opts).unwrap();
    // An unfinished line already past the limit is reported before its newline arrives.
    append(&path, &"y".repeat(150));
    let err = follower.next_line(WAIT).unwrap_err();
    assert!(
        matches!(
            err,
            FollowError::LineTooLong {
                offset: 0,
                limit: 100,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("app.log"), "{err}");
    append(
        &path,
        &format!("{}\nshort\n{}\nafter\n", "y".repeat(150), "z".repeat(500)),
    );
    assert_eq!(next_line(&mut follower), "short");
    // A whole line past the limit, read in one piece.
    let err = follower.next_line(WAIT).unwrap_err();
    assert!(
        matches!(err, FollowError::LineTooLong { offset: 307, .. }),
        "{err}"
    );
    assert_eq!(next_line(&mut follower), "after");
    assert_quiet(&mut follower);
}

#[test]
fn a_stopper_ends_a_wait_without_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut follower = Follower::new(&path, options()).unwrap();
    let stopper = follower.stopper();
    let stopping = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        stopper.stop();
    });
    assert!(follower.next_item(None).unwrap().is_none());
    assert!(follower.stopper().is_stopped());
    assert!(follower.next().is_none());
    stopping.join().unwrap();
}

#[test]
fn starting_with_the_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    fs::write(&path, "1\n2\n3\n4\nunfinished").unwrap();
    let mut opts = options();
    opts = opts.last_lines(2);
    let mut follower = Follower::new(&path, opts).unwrap();
    assert_eq!(next_line(&mut follower), "3");
    assert_eq!(next_line(&mut follower), "4");
    assert_quiet(&mut follower);
    append(&path, " now\n");
    assert_eq!(next_line(&mut follower), "unfinished now");

    let mut opts = options();
    opts = opts.last_lines(10);
    let mut follower = Follower::new(&path, opts).unwrap();
    let lines: Vec<String> = (0..5).map(|_| next_line(&mut follower)).collect();
    assert_eq!(lines, ["1", "2", "3", "4", "unfinished now"]);
}

/// Adds the lines read to `lines` up to the event `until`, failing the test if nothing
/// arrives within the wait.
fn lines_until_event(follower: &mut Follower, lines: &mut Vec<String>, until: FollowEvent) {
    loop {
        match next(follower) {
            Followed::Event(e) if e == until => return,
            Followed::Event(_) => {}
            Followed::Line(l) => {
                assert!(l.terminated, "an unfinished line: {l:?}");
                lines.push(String::from_utf8(l.bytes).unwrap());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Adds lines read to `lines` until it holds `count`.
fn lines_until_count(follower: &mut Follower, lines: &mut Vec<String>, count: usize) {
    while lines.len() < count {
        match next(follower) {
            Followed::Event(FollowEvent::Rotated) => panic!("a rotation nobody made: {lines:?}"),
            Followed::Event(_) => {}
            Followed::Line(l) => {
                assert!(l.terminated, "an unfinished line: {l:?}");
                lines.push(String::from_utf8(l.bytes).unwrap());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Every line exactly once, and the lines of each prefix (each file's writer) in order.
fn assert_each_once_in_order(lines: &[String], prefixes: &[(&str, usize)]) {
    let total: usize = prefixes.iter().map(|(_, n)| n).sum();
    assert_eq!(lines.len(), total, "lost or repeated lines: {lines:?}");
    for (prefix, n) in prefixes {
        let of: Vec<&String> = lines.iter().filter(|l| l.starts_with(prefix)).collect();
        let want: Vec<String> = (0..*n).map(|i| format!("{prefix} {i}")).collect();
        assert_eq!(of, want.iter().collect::<Vec<_>>(), "{prefix}: {lines:?}");
    }
}

fn write_lines(file: &mut File, prefix: &str, range: std::ops::Range<usize>) {
    for i in range {
        writeln!(file, "{prefix} {i}").unwrap();
    }
}

/// The measured problem: after logrotate's rename and create, a writer that has not noticed
/// yet goes on writing into the renamed file. `tail -F` switches at the rename and never shows
/// those lines; the follower reads the old file by its handle beside the new one.
#[test]
fn lines_written_into_the_renamed_file_after_the_switch_are_delivered_once() {
    for opts in [options(), polling()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        File::create(&path).unwrap();
        let mut follower = Follower::new(&path, opts.grace(Duration::from_secs(5))).unwrap();
        let mut writer = OpenOptions::new().append(true).open(&path).unwrap();
        write_lines(&mut writer, "before", 0..50);

        // logrotate `create`: rename, then a new empty file at the path.
        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        File::create(&path).unwrap();
        let mut lines = Vec::new();
        lines_until_event(&mut follower, &mut lines, FollowEvent::Rotated);
        assert_eq!(follower.draining(), 1);

        // The writer has not noticed: 30 more lines into the renamed file, over 200 ms, while
        // the follower reads (and waits, idle, between them). Only then does it reopen the path.
        let new_path = path.clone();
        let writing = thread::spawn(move || {
            for i in 0..30 {
                write_lines(&mut writer, "late", i..i + 1);
                thread::sleep(Duration::from_millis(7));
            }
            let mut writer = OpenOptions::new().append(true).open(new_path).unwrap();
            write_lines(&mut writer, "new", 0..20);
        });
        lines_until_count(&mut follower, &mut lines, 100);
        writing.join().unwrap();
        assert_each_once_in_order(&lines, &[("before", 50), ("late", 30), ("new", 20)]);
        assert_quiet(&mut follower);
    }
}

/// Two rotations in quick succession (logrotate run twice, or `rotate` with a short period):
/// the first old file is still being drained when the second rotation comes; lines keep
/// arriving in all three files, and each is delivered once.
#[test]
fn a_second_rotation_while_the_first_old_file_is_drained_loses_nothing() {
    for opts in [options(), polling()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        File::create(&path).unwrap();
        let mut follower = Follower::new(&path, opts.grace(Duration::from_secs(5))).unwrap();
        let mut first = OpenOptions::new().append(true).open(&path).unwrap();
        write_lines(&mut first, "first", 0..10);

        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        let mut second = File::create(&path).unwrap();
        let mut lines = Vec::new();
        lines_until_event(&mut follower, &mut lines, FollowEvent::Rotated);
        // The follower has read everything and waits (a `tail -F` would have let go by now).
        lines_until_count(&mut follower, &mut lines, 10);
        assert_quiet(&mut follower);
        write_lines(&mut first, "first", 10..20);
        write_lines(&mut second, "second", 0..10);
        lines_until_count(&mut follower, &mut lines, 30);

        // logrotate shifts app.log.1 to app.log.2 first, then app.log to app.log.1.
        fs::rename(dir.path().join("app.log.1"), dir.path().join("app.log.2")).unwrap();
        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        let mut third = File::create(&path).unwrap();
        lines_until_event(&mut follower, &mut lines, FollowEvent::Rotated);
        assert_quiet(&mut follower);
        assert_eq!(follower.draining(), 2, "both old files are still read");

        // All three writers go on, interleaved.
        for i in 0..10 {
            write_lines(&mut first, "first", 20 + i..21 + i);
            write_lines(&mut second, "second", 10 + i..11 + i);
            write_lines(&mut third, "third", i..i + 1);
            thread::sleep(Duration::from_millis(5));
        }
        lines_until_count(&mut follower, &mut lines, 60);
        assert_each_once_in_order(&lines, &[("first", 30), ("second", 20), ("third", 10)]);
        assert_quiet(&mut follower);
    }
}

/// An old file that never gets a close record (its writer crashed, or is not enclog's) is let
/// go once it has been quiet for the grace period; what is written to it later is not read.
#[test]
fn the_grace_period_ends_an_old_file_that_never_gets_a_close_record() {
    for opts in [options(), polling()] {
        let grace = Duration::from_millis(400);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        File::create(&path).unwrap();
        let mut follower = Follower::new(&path, opts.grace(grace)).unwrap();
        let mut old = OpenOptions::new().append(true).open(&path).unwrap();
        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        File::create(&path).unwrap();
        let mut lines = Vec::new();
        lines_until_event(&mut follower, &mut lines, FollowEvent::Rotated);
        let rotated = std::time::Instant::now();

        // Within the grace period: read; and each growth starts the grace period again.
        thread::sleep(grace / 2);
        write_lines(&mut old, "late", 0..1);
        lines_until_count(&mut follower, &mut lines, 1);
        thread::sleep(grace / 2);
        write_lines(&mut old, "late", 1..2);
        lines_until_count(&mut follower, &mut lines, 2);
        assert_eq!(follower.draining(), 1);

        // Quiet for the grace period: let go of.
        while follower.draining() > 0 {
            assert!(
                rotated.elapsed() < Duration::from_secs(20),
                "the old file is never let go of"
            );
            assert_eq!(
                follower.next_item(Some(Duration::from_millis(50))).unwrap(),
                None
            );
        }
        assert!(
            rotated.elapsed() >= grace + grace / 2,
            "let go of too early"
        );
        write_lines(&mut old, "too late", 0..1);
        assert_quiet(&mut follower);
        assert_each_once_in_order(&lines, &[("late", 2)]);
    }
}

/// [`Follower::finish`] (the caller saw the old file's close record) lets go of an old file
/// once it has been quiet for [`QUIET_AFTER_FINISH`], without waiting for the grace period; a
/// line after it cancels it.
#[test]
fn finish_lets_go_of_an_old_file_after_a_short_quiet_unless_a_line_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let mut follower = Follower::new(&path, options().grace(Duration::from_secs(60))).unwrap();
    let mut old = OpenOptions::new().append(true).open(&path).unwrap();
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    File::create(&path).unwrap();
    let mut lines = Vec::new();
    lines_until_event(&mut follower, &mut lines, FollowEvent::Rotated);

    write_lines(&mut old, "old", 0..1);
    let line = follower
        .next_line(WAIT)
        .unwrap()
        .expect("the old file's line");
    assert_ne!(Some(line.file), follower.current_file());
    // Finished, then a line after all (a session started in the same file): not let go of,
    // even after the short quiet period.
    follower.finish(line.file);
    write_lines(&mut old, "old", 1..2);
    assert_eq!(next_line(&mut follower), "old 1");
    wait_idle(&mut follower, QUIET_AFTER_FINISH * 2);
    assert_eq!(follower.draining(), 1, "a line after finish cancels it");

    follower.finish(line.file);
    let finished = Instant::now();
    while follower.draining() > 0 {
        assert!(
            finished.elapsed() < Duration::from_secs(20),
            "not let go of after finish"
        );
        assert_eq!(
            follower.next_item(Some(Duration::from_millis(50))).unwrap(),
            None
        );
    }
    write_lines(&mut old, "old", 2..3);
    assert_quiet(&mut follower);
}

/// Several writers share the log: one reopens after the rotation and closes its session in the
/// old file, and the caller, which has seen no other session open there, calls
/// [`Follower::finish`]. Another writer, whose earlier lines the caller never read, has not
/// noticed the rotation yet: its next line lands in the old file 30 ms later. It is delivered.
#[test]
fn finish_does_not_lose_a_line_another_writer_adds_to_the_old_file_soon_after() {
    for opts in [options(), polling()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        File::create(&path).unwrap();
        let mut first = OpenOptions::new().append(true).open(&path).unwrap();
        let mut second = OpenOptions::new().append(true).open(&path).unwrap();
        // The second writer's lines so far are before the follower's start.
        write_lines(&mut second, "unseen", 0..3);
        let mut follower = Follower::new(&path, opts.grace(Duration::from_secs(60))).unwrap();
        write_lines(&mut first, "first", 0..2);
        let mut lines = Vec::new();
        lines_until_count(&mut follower, &mut lines, 2);

        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        File::create(&path).unwrap();
        lines_until_event(&mut follower, &mut lines, FollowEvent::Rotated);
        // The first writer reopens: its close record into the old file, then the new file.
        writeln!(first, "first closes").unwrap();
        let close = follower.next_line(WAIT).unwrap().expect("the close record");
        assert_eq!(close.bytes, b"first closes");
        follower.finish(close.file);
        // The writers go on while the follower reads and waits.
        let new_path = path.clone();
        let writing = thread::spawn(move || {
            let mut first = OpenOptions::new().append(true).open(new_path).unwrap();
            write_lines(&mut first, "first", 2..3);
            thread::sleep(Duration::from_millis(30));
            write_lines(&mut second, "second", 0..1);
            second
        });
        lines_until_count(&mut follower, &mut lines, 4);
        let mut second = writing.join().unwrap();
        assert_each_once_in_order(&lines, &[("first", 3), ("second", 1)]);
        // That line cancelled the finish. The second writer reopens too, and closes its
        // session: let go of soon after, well before the grace period.
        writeln!(second, "second closes").unwrap();
        let close = follower.next_line(WAIT).unwrap().expect("the close record");
        assert_eq!(close.bytes, b"second closes");
        follower.finish(close.file);
        let quiet = Instant::now();
        while follower.draining() > 0 {
            assert!(quiet.elapsed() < Duration::from_secs(20), "never let go of");
            assert_eq!(
                follower.next_item(Some(Duration::from_millis(50))).unwrap(),
                None
            );
        }
    }
}

/// A `finish` left on the current file (a writer exited cleanly, closing its last session)
/// does not carry over to lines written later: once the file gets a line, it is no longer
/// finished, and after a rotation it is read for the whole grace period.
#[test]
fn a_finish_before_later_lines_does_not_shorten_the_wait_after_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let mut follower = Follower::new(&path, options().grace(Duration::from_secs(60))).unwrap();
    let mut old = OpenOptions::new().append(true).open(&path).unwrap();
    writeln!(old, "last words of a writer that exited").unwrap();
    let line = follower.next_line(WAIT).unwrap().expect("a line");
    assert_eq!(follower.current_file(), Some(line.file));
    follower.finish(line.file);
    // A writer starts in the same file.
    write_lines(&mut old, "next", 0..1);
    assert_eq!(next_line(&mut follower), "next 0");

    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    File::create(&path).unwrap();
    let mut lines = Vec::new();
    lines_until_event(&mut follower, &mut lines, FollowEvent::Rotated);
    wait_idle(&mut follower, QUIET_AFTER_FINISH * 2);
    assert_eq!(
        follower.draining(),
        1,
        "still read: its writer has not closed"
    );
    write_lines(&mut old, "next", 1..2);
    assert_eq!(next_line(&mut follower), "next 1");
}

/// Calls the follower, expecting nothing, for `time`.
fn wait_idle(follower: &mut Follower, time: Duration) {
    let start = Instant::now();
    while start.elapsed() < time {
        let item = follower.next_item(Some(Duration::from_millis(50))).unwrap();
        assert_eq!(item, None);
    }
}
