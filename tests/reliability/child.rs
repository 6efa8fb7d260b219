//! The child processes: this test binary run again (`--exact child::entry`) with
//! `ENCLOG_RELIABILITY_ROLE` naming what to do, `ENCLOG_RELIABILITY_LOG` the log file and
//! `ENCLOG_RELIABILITY_KEY` the key file. Each role logs through the library's public API the
//! way an application does (`tracing_subscriber::fmt` + `EncryptedWriter`, or `log` +
//! `EncryptedLogger`).

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use enclog::seal::WriteErrorPolicy;
use enclog::{EncryptedWriter, Key};

/// The variable naming the role.
pub(crate) const ROLE: &str = "ENCLOG_RELIABILITY_ROLE";
/// The variable naming the log file.
pub(crate) const LOG: &str = "ENCLOG_RELIABILITY_LOG";
/// The variable naming the key file.
pub(crate) const KEY: &str = "ENCLOG_RELIABILITY_KEY";
/// A secret the `panic` role puts in its panic message.
pub(crate) const PANIC_SECRET: &str = "panic-secret-iban-DE89370400440532013000";

/// The child's entry point. Run by the tests as a child process; run as an ordinary test
/// (no role set), it checks that the role dispatch refuses unknown roles.
#[test]
fn entry() {
    let Some(role) = std::env::var_os(ROLE) else {
        assert!(run_role("no-such-role").is_err());
        return;
    };
    if let Err(e) = run_role(&role.to_string_lossy()) {
        panic!("child role failed: {e}");
    }
}

fn var(name: &str) -> Result<PathBuf, String> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{name} is not set"))
}

fn run_role(role: &str) -> Result<(), String> {
    match role {
        "flood" => flood(),
        "concurrent" => concurrent(),
        "fork" => fork_logging(false),
        "double-fork" => fork_logging(true),
        "panic" => panic_through_tracing(),
        "dev-full" => failing_destination(DestKind::DevFull),
        "closed-pipe" => failing_destination(DestKind::ClosedPipe),
        "flaky" => failing_destination(DestKind::Flaky),
        "logger-dev-full" => logger_dev_full(),
        "non-blocking-overload" => non_blocking_overload(),
        "non-blocking-fork" => non_blocking_fork(),
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        "raw-clone" => raw_clone_logging(),
        other => Err(format!("unknown role {other:?}")),
    }
}

fn key() -> Result<Key, String> {
    Key::from_file(var(KEY)?).map_err(|e| e.to_string())
}

fn log_file() -> Result<std::fs::File, String> {
    Ok(crate::support::append(&var(LOG)?))
}

/// The event of number `n`: its size varies from a few bytes to 512 KiB, so that a kill can
/// land while the kernel copies a multi-page line. Readers check it with [`check_flood_event`].
pub(crate) fn flood_event(n: u64) -> String {
    let len = match n % 16 {
        0 => 512 * 1024 + (n as usize * 7919) % 4096,
        1..=3 => 4096 + (n as usize * 104_729) % 60_000,
        _ => (n as usize * 31) % 300,
    };
    format!("n={n} len={len} {}|end", "x".repeat(len))
}

/// Whether `plaintext` (a formatted tracing event) holds exactly `flood_event(n)`.
pub(crate) fn check_flood_event(plaintext: &str, n: u64) -> bool {
    plaintext.contains(&flood_event(n))
}

/// Logs `flood_event(0), flood_event(1), …` through `EncryptedWriter` (clear level on) into
/// the log file until killed.
fn flood() -> Result<(), String> {
    let writer = EncryptedWriter::new(key()?, Arc::new(log_file()?)).clear_level(true);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for n in 0.. {
            tracing::info!("{}", flood_event(n));
        }
    });
    Ok(())
}

/// 8 threads, each logging `ENCLOG_RELIABILITY_LINES` events through one `EncryptedWriter`
/// over an O_APPEND file, then the session's close record.
fn concurrent() -> Result<(), String> {
    let lines: u64 = std::env::var("ENCLOG_RELIABILITY_LINES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let writer = EncryptedWriter::new(key()?, Arc::new(log_file()?)).clear_level(true);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(writer.clone())
            .with_ansi(false)
            .finish(),
    );
    let pid = std::process::id();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..lines {
                        // Sizes up to ~9 KiB: several pages, to catch interleaved writes.
                        let pad = "p".repeat(((i * 131 + t * 977) % 9000) as usize);
                        tracing::info!("pid={pid} t={t} i={i} {pad}|end");
                    }
                });
            });
        }
    });
    writer.close_session();
    Ok(())
}

#[allow(unsafe_code)]
fn fork() -> Result<libc::pid_t, String> {
    // SAFETY: fork in a test child; the forked child only logs through the library (whose
    // sealer is fork-safe by design: that is what is tested) and ends with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork failed: {}", io::Error::last_os_error()));
    }
    Ok(pid)
}

#[allow(unsafe_code)]
fn exit_now(code: i32) -> ! {
    // SAFETY: ends a forked child without running the parent's atexit handlers or libtest.
    unsafe { libc::_exit(code) }
}

#[allow(unsafe_code)]
fn wait_child(pid: libc::pid_t) -> Result<(), String> {
    let mut status = 0;
    // SAFETY: waits for a child this process forked.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    if rc != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("child {pid} failed (status {status})"));
    }
    Ok(())
}

/// Logs through `EncryptedWriter` from the main thread and a background thread, forks
/// mid-stream (with `double`, daemon style: fork, setsid, fork, the middle process exits),
/// and every process keeps logging, then closes its session. The grandchild of a double fork
/// writes `<log>.done` when finished.
fn fork_logging(double: bool) -> Result<(), String> {
    let log = var(LOG)?;
    let writer = EncryptedWriter::new(key()?, Arc::new(log_file()?)).clear_level(true);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())?;
    let who = |role: &str| format!("{role}:{}", std::process::id());
    for i in 0..100 {
        tracing::info!(who = who("parent"), i, "before the fork");
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tracing::info!(
                    who = format!("thread:{}", std::process::id()),
                    i,
                    "background"
                );
                i += 1;
            }
        })
    };
    let child_work = |role: &str| {
        for i in 0..300 {
            tracing::info!(who = who(role), i, "after the fork");
        }
        writer.close_session();
    };
    let pid = fork()?;
    if pid == 0 {
        if !double {
            child_work("child");
            exit_now(0);
        }
        // SAFETY: setsid in the forked child, as daemons do.
        #[allow(unsafe_code)]
        unsafe {
            libc::setsid();
        }
        child_work("child");
        match fork() {
            Ok(0) => {
                child_work("grandchild");
                let done = std::fs::write(log.with_extension("done"), b"");
                exit_now(i32::from(done.is_err()));
            }
            Ok(_) => exit_now(0),
            Err(_) => exit_now(1),
        }
    }
    for i in 0..300 {
        tracing::info!(who = who("parent"), i, "after the fork");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    background
        .join()
        .map_err(|_| "background thread panicked")?;
    wait_child(pid)?;
    if double {
        let done = log.with_extension("done");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done.exists() {
            if std::time::Instant::now() > deadline {
                return Err("the grandchild never finished".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    writer.close_session();
    Ok(())
}

/// A panic hook that logs the panic through tracing (as many services install), then a panic
/// whose message holds [`PANIC_SECRET`].
fn panic_through_tracing() -> Result<(), String> {
    let writer = EncryptedWriter::new(key()?, Arc::new(log_file()?)).clear_level(true);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())?;
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "the service panicked");
    }));
    let result = std::panic::catch_unwind(|| {
        panic!("cannot charge account {PANIC_SECRET}");
    });
    let _ = std::panic::take_hook();
    if result.is_ok() {
        return Err("the panic did not happen".into());
    }
    Ok(())
}

enum DestKind {
    DevFull,
    ClosedPipe,
    Flaky,
}

/// A writer that fails while `failing` is set (ENOSPC), and otherwise appends to `out`.
#[derive(Clone)]
struct Flaky {
    failing: Arc<std::sync::atomic::AtomicBool>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        self.out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Logs 30 events, then 50 with the destination failing, then 20 more. Prints
/// `RESULT lost=N` on stdout; for `Flaky` the bytes that reached the destination go to the log
/// file.
fn failing_destination(kind: DestKind) -> Result<(), String> {
    let key = key()?;
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let out = Arc::new(Mutex::new(Vec::new()));
    let lost = match kind {
        DestKind::DevFull => {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .map_err(|e| format!("/dev/full: {e}"))?;
            log_events(EncryptedWriter::new(key, Mutex::new(full)), |_| {})
        }
        DestKind::ClosedPipe => {
            let (reader, writer) = io::pipe().map_err(|e| e.to_string())?;
            drop(reader);
            log_events(EncryptedWriter::new(key, Mutex::new(writer)), |_| {})
        }
        DestKind::Flaky => {
            let sink = Flaky {
                failing: Arc::clone(&failing),
                out: Arc::clone(&out),
            };
            let writer = EncryptedWriter::new(key, move || sink.clone())
                .error_policy(WriteErrorPolicy::ReportOnce);
            let lost = log_events(writer, |i| {
                failing.store((30..80).contains(&i), std::sync::atomic::Ordering::Relaxed)
            });
            log_file()?
                .write_all(&out.lock().unwrap_or_else(|e| e.into_inner()))
                .map_err(|e| e.to_string())?;
            lost
        }
    };
    println!("RESULT lost={lost}");
    Ok(())
}

/// Logs events 0..100 (calling `before(i)` first), each holding a secret; returns the lost
/// count.
fn log_events<M>(writer: EncryptedWriter<M>, mut before: impl FnMut(u64)) -> u64
where
    M: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..100u64 {
            before(i);
            tracing::info!(card = "4111-1111-1111-1111", i, "event-secret-{i}");
        }
    });
    writer.lost_lines()
}

/// `EncryptedLogger` (the `log` crate) writing to /dev/full.
fn logger_dev_full() -> Result<(), String> {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .map_err(|e| format!("/dev/full: {e}"))?;
    let logger = enclog::EncryptedLogger::new(key()?, full)
        .init()
        .map_err(|e| e.to_string())?;
    for i in 0..100 {
        log::info!("event-secret-{i}");
    }
    println!("RESULT lost={}", logger.lost_lines());
    Ok(())
}

/// The standard output of a child, as text (the libtest harness adds its own lines).
pub(crate) fn result_line(stdout: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .find_map(|l| l.split("RESULT ").nth(1).map(str::to_owned))
}

/// `[(LOG, path), (KEY, key file)]` for [`crate::support::child`].
pub(crate) fn vars(log: &std::path::Path, key: &std::path::Path) -> [(&'static str, OsString); 2] {
    [(LOG, log.into()), (KEY, key.into())]
}

/// `enclog::non_blocking` in lossy mode, overloaded: a 4-event queue in front of a writer that
/// takes 200 µs a line, 3,000 events logged as fast as possible. `RESULT lost=N written=M`.
fn non_blocking_overload() -> Result<(), String> {
    struct Slow(Arc<Mutex<u64>>);
    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            std::thread::sleep(std::time::Duration::from_micros(200));
            *self.0.lock().unwrap() += buf.iter().filter(|&&b| b == b'\n').count() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let written = Arc::new(Mutex::new(0));
    let (writer, guard) = enclog::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(4)
        .lossy(true)
        .finish(key()?, Slow(Arc::clone(&written)))
        .map_err(|e| e.to_string())?;
    for i in 0..3_000 {
        use tracing_subscriber::fmt::MakeWriter;
        write!(writer.make_writer(), "event-secret {i}").map_err(|e| e.to_string())?;
    }
    drop(guard);
    let written = *written.lock().unwrap() - 1; // without the close record
    println!("RESULT lost={} written={written}", writer.lost_lines());
    Ok(())
}

/// `enclog::non_blocking` across a `fork()`: the parent logs 10 events, forks, the child logs
/// 10 (it has no worker: they must be dropped and counted, not queued for ever) and drops its
/// copy of the guard (which must return, not join a thread that is not there), the parent logs
/// 10 more. The child exits 0 only if it counted its 10 events as lost.
fn non_blocking_fork() -> Result<(), String> {
    use tracing_subscriber::fmt::MakeWriter;
    let (writer, guard) = enclog::non_blocking::NonBlockingBuilder::default()
        .error_policy(WriteErrorPolicy::Silent)
        .finish(key()?, log_file()?)
        .map_err(|e| e.to_string())?;
    let log = |who: &str, i: u64| write!(writer.make_writer(), "{who} {i}");
    for i in 0..10 {
        log("parent", i).map_err(|e| e.to_string())?;
    }
    let pid = fork()?;
    if pid == 0 {
        for i in 0..10 {
            let _ = log("child", i);
        }
        drop(guard);
        exit_now(i32::from(writer.lost_lines() != 10));
    }
    wait_child(pid)?;
    for i in 10..20 {
        log("parent", i).map_err(|e| e.to_string())?;
    }
    drop(guard);
    println!("RESULT lost={}", writer.lost_lines());
    Ok(())
}

/// A copy made by the raw `clone` system call without `CLONE_VM`, as glibc's `_Fork()` and
/// `nix::sched::clone` make them: no atfork handler runs in the child. The parent seals 100
/// lines through a `Sealer`, clones, and then parent and child each seal 300 more through the
/// same `Sealer` (the child through its copy) and close their session. The child exits 0 only
/// if every line was sealed and written.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn raw_clone_logging() -> Result<(), String> {
    let sealer = enclog::Sealer::new(key()?);
    let mut file = log_file()?;
    let mut line = Vec::new();
    let mut seal = |file: &mut std::fs::File, who: &str, i: u64| -> Result<(), String> {
        line.clear();
        let event = format!("{who}:{} {i}", std::process::id());
        sealer
            .seal_to(None, event.as_bytes(), &mut line)
            .map_err(|e| e.to_string())?;
        file.write_all(&line).map_err(|e| e.to_string())
    };
    for i in 0..100 {
        seal(&mut file, "parent", i)?;
    }
    // SAFETY: `clone` with only SIGCHLD as flags and no new stack is `fork` without libc's
    // wrapper (no atfork handlers run). This process has no other thread that could hold a
    // lock at the clone (libtest's main thread only waits for this one); the child seals,
    // writes, and ends with `_exit` without returning into the test harness.
    #[allow(unsafe_code)]
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) };
    if pid < 0 {
        return Err(format!("clone failed: {}", io::Error::last_os_error()));
    }
    let pid = libc::pid_t::try_from(pid).map_err(|e| e.to_string())?;
    if pid == 0 {
        let sealed = (0..300).try_for_each(|i| seal(&mut file, "child", i));
        let mut close = Vec::new();
        let closed = sealer.close_to(&mut close).is_ok() && file.write_all(&close).is_ok();
        exit_now(i32::from(sealed.is_err() || !closed));
    }
    for i in 100..400 {
        seal(&mut file, "parent", i)?;
    }
    wait_child(pid)?;
    let mut close = Vec::new();
    sealer.close_to(&mut close).map_err(|e| e.to_string())?;
    file.write_all(&close).map_err(|e| e.to_string())
}
