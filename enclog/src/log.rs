//! [`EncryptedLogger`]: a `log::Log` implementation for programs that use the `log` crate.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Mutex;
use std::time::SystemTime;

use log::{LevelFilter, Log, Metadata, Record, SetLoggerError};

use crate::fields::Selection;
use crate::seal::failure::{FailureState, WriteErrorPolicy};
use crate::seal::{Sealer, SealingKey};
use crate::timestamp::write_rfc3339;

mod fields;

thread_local! {
    /// A record being written as a JSON line with sealed fields (reused).
    static JSON_RECORD: RefCell<fields::JsonRecord> = RefCell::new(fields::JsonRecord::default());

    /// The record being formatted (after room for the header: it is sealed in place) and the
    /// sealed line: reused, so a warm thread logs without allocating.
    static BUFFERS: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Where a record starts in its buffer: room for the header and the clear level (`ERROR`).
const RECORD_START: usize = crate::seal::line::room_before("ERROR".len());

/// A `log::Log` that seals every record as one line: `TIMESTAMP LEVEL target: message`, all of
/// it inside the ciphertext (optionally the level in clear too).
///
/// Tracing users do not need it: with `tracing-log`'s `LogTracer` (enabled by default in
/// `tracing_subscriber::fmt().init()`), `log` records flow into tracing and through
/// [`EncryptedWriter`](crate::EncryptedWriter).
///
/// ```
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let logger = enclog::EncryptedLogger::new(key.clone(), file.reopen()?)
///     .level(log::LevelFilter::Info);
/// use log::Log;
/// logger.log(&log::Record::builder()
///     .args(format_args!("card 4111-1111-1111-1111 declined"))
///     .level(log::Level::Warn)
///     .target("billing")
///     .build());
/// logger.flush();
/// let line = std::fs::read(file.path())?;
/// assert!(!String::from_utf8_lossy(&line).contains("4111"));
/// let mut opener = enclog::Opener::new(key.into());
/// let event = String::from_utf8(opener.open(&line).unwrap()?.plaintext.to_vec())?;
/// assert!(event.ends_with("WARN billing: card 4111-1111-1111-1111 declined"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EncryptedLogger<W: Write + Send = Box<dyn Write + Send>> {
    writer: Mutex<W>,
    sealer: Sealer,
    level: LevelFilter,
    clear_level: bool,
    failures: FailureState,
    /// `Some`: records are JSON lines with these fields sealed (see `sealed_fields`).
    fields: Option<Selection>,
}

impl<W: Write + Send> EncryptedLogger<W> {
    /// A logger sealing under `key` (a [`Key`](crate::Key), or any [`SealingKey`]: a
    /// recipient for the public-key mode) into `writer`, at level `Trace` until set otherwise.
    ///
    /// ```
    /// use log::Log;
    /// let key = enclog::Key::generate()?;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let logger = enclog::EncryptedLogger::new(key.clone(), file.reopen()?);
    /// logger.log(&log::Record::builder().args(format_args!("hello")).build());
    /// let line = std::fs::read(file.path())?;
    /// let mut opener = enclog::Opener::new(key.into());
    /// assert!(opener.open(&line).unwrap()?.plaintext.ends_with(b"hello"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(key: impl Into<SealingKey>, writer: W) -> EncryptedLogger<W> {
        let sealer = Sealer::new(key);
        EncryptedLogger::with_sealer(sealer, writer)
    }

    /// A logger sealing with an existing [`Sealer`]. Records are numbered and written under the
    /// logger's writer lock, so they reach that writer in sequence order; if the sealer is
    /// shared with another destination, each destination is in order but `enclog verify` over
    /// their merged lines may see the two interleave out of order.
    ///
    /// ```
    /// use log::Log;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let logger = enclog::EncryptedLogger::with_sealer(sealer.clone(), std::io::sink());
    /// assert!(sealer.session_id().is_none());
    /// logger.log(&log::Record::builder().args(format_args!("hello")).build());
    /// assert!(sealer.session_id().is_some()); // the logger sealed with this sealer
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_sealer(sealer: Sealer, writer: W) -> EncryptedLogger<W> {
        EncryptedLogger {
            writer: Mutex::new(writer),
            sealer,
            level: LevelFilter::Trace,
            clear_level: false,
            failures: FailureState::new(WriteErrorPolicy::ReportOnce),
            fields: None,
        }
    }

    /// Records above `level` are dropped.
    ///
    /// ```
    /// use log::{Level, Log, Metadata};
    /// let logger = enclog::EncryptedLogger::new(enclog::Key::generate()?, std::io::sink())
    ///     .level(log::LevelFilter::Warn);
    /// assert!(!logger.enabled(&Metadata::builder().level(Level::Info).build()));
    /// assert!(logger.enabled(&Metadata::builder().level(Level::Error).build()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.level = level;
        self
    }

    /// Writes the level in clear before the token (edits are detected by readers).
    ///
    /// ```
    /// use log::Log;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let logger = enclog::EncryptedLogger::new(enclog::Key::generate()?, file.reopen()?)
    ///     .clear_level(true);
    /// let mut warn = log::Record::builder();
    /// logger.log(&warn.args(format_args!("disk full")).level(log::Level::Warn).build());
    /// assert!(std::fs::read_to_string(file.path())?.starts_with("WARN enclog:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clear_level(mut self, on: bool) -> Self {
        self.clear_level = on;
        self
    }

    /// Writes each record as a JSON line that keeps its fields in clear and seals those
    /// `selection` names (FORMAT.md §11): `timestamp`, `level`, `target`, `message` and the
    /// record's key-value pairs (`log::info!(user = email; "signed in")`, the `log` crate's
    /// `kv` feature, which enclog turns on), each a member; numbers and booleans stay JSON
    /// numbers and booleans, other values are strings of their `Display`. `message` can be
    /// sealed too. A record whose line cannot be sealed field by field (a key repeated, or
    /// holding the text `enclog:` in clear) is sealed whole: never written in clear.
    ///
    /// ```
    /// use enclog::fields::Selection;
    /// use log::Log;
    /// let key = enclog::Key::generate()?;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let logger = enclog::EncryptedLogger::new(key.clone(), file.reopen()?)
    ///     .sealed_fields(Selection::new(["user", "card*"]).index(["user"]));
    /// let kvs = [("user", log::kv::Value::from("alice@example.com")), ("amount", 12.into())];
    /// logger.log(&log::Record::builder()
    ///     .args(format_args!("paid"))
    ///     .level(log::Level::Info)
    ///     .key_values(&kvs)
    ///     .build());
    /// let line = std::fs::read_to_string(file.path())?;
    /// assert!(line.contains(r#""message":"paid","user":"enclog:"#) && line.contains(r#""amount":12,"#));
    /// assert!(!line.contains("alice"));
    /// let mut opener = enclog::Opener::new(key.into());
    /// let opened = opener.open(line.as_bytes()).unwrap()?;
    /// let event: serde_json::Value = serde_json::from_slice(opened.plaintext)?;
    /// assert_eq!((event["user"].as_str(), event["amount"].as_i64()), (Some("alice@example.com"), Some(12)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sealed_fields(mut self, selection: Selection) -> Self {
        self.fields = Some(selection);
        self
    }

    /// Sets what happens when the writer fails.
    ///
    /// ```
    /// use log::Log;
    /// let full_disk = std::io::Cursor::new([0u8; 0]); // every write fails
    /// let logger = enclog::EncryptedLogger::new(enclog::Key::generate()?, full_disk)
    ///     .error_policy(enclog::seal::WriteErrorPolicy::Silent); // nothing on stderr
    /// logger.log(&log::Record::builder().args(format_args!("lost")).build());
    /// assert_eq!(logger.lost_lines(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn error_policy(mut self, policy: WriteErrorPolicy) -> Self {
        self.failures = FailureState::new(policy);
        self
    }

    /// Lines dropped because the writer failed.
    ///
    /// ```
    /// use log::Log;
    /// let full_disk = std::io::Cursor::new([0u8; 0]); // every write fails
    /// let logger = enclog::EncryptedLogger::new(enclog::Key::generate()?, full_disk)
    ///     .error_policy(enclog::seal::WriteErrorPolicy::Silent);
    /// assert_eq!(logger.lost_lines(), 0);
    /// for _ in 0..3 {
    ///     logger.log(&log::Record::builder().args(format_args!("lost")).build());
    /// }
    /// assert_eq!(logger.lost_lines(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lost_lines(&self) -> u64 {
        self.failures.lost()
    }

    /// The sealer (its key id and session; give it to `KeyReloader` to switch keys without a
    /// restart).
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let logger = enclog::EncryptedLogger::new(key.clone(), std::io::sink());
    /// assert_eq!(logger.sealer().key_id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Writes the session's close record (a clean shutdown, as opposed to a crash).
    ///
    /// ```
    /// use log::Log;
    /// let key = enclog::Key::generate()?;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let logger = enclog::EncryptedLogger::new(key.clone(), file.reopen()?);
    /// logger.log(&log::Record::builder().args(format_args!("bye")).build());
    /// logger.close_session();
    /// let log = std::fs::read(file.path())?;
    /// let last = log.split_inclusive(|&b| b == b'\n').last().unwrap();
    /// let mut opener = enclog::Opener::new(key.into());
    /// assert_eq!(opener.open(last).unwrap()?.record, enclog::format::RecordKind::Close);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_session(&self) {
        let mut line = Vec::new();
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        match self.sealer.close_to(&mut line) {
            Ok(()) if line.is_empty() => {}
            Ok(()) => {
                // Reported and counted by `record`; the caller has nothing to act on.
                (self.failures).record(writer.write_all(&line).and_then(|()| writer.flush()));
            }
            Err(e) => self.failures.failed("close the encryption session", &e),
        }
    }
}

impl<W: Write + Send> EncryptedLogger<W> {
    /// Writes `record` as a JSON line with `selection`'s fields sealed; a line that cannot be
    /// sealed so is sealed whole.
    fn log_fields(
        &self,
        record: &Record<'_>,
        selection: &Selection,
        json: &mut fields::JsonRecord,
    ) {
        json.build(record, selection);
        let mut out = Vec::new();
        let index_key = if selection.any_index() {
            self.sealer.index_key()
        } else {
            None
        };
        let values = json.values();
        // The record is numbered and written under the writer's lock (then the session's).
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let sealed = crate::seal::fields::with_prepared(|prep| {
            match prep.json(&json.line, &values, index_key.as_deref()) {
                Ok(()) => self
                    .sealer
                    .seal_prepared(prep, &mut out, |line| writer.write_all(line))
                    .map_err(|e| e.to_string()),
                Err(e) => {
                    prep.wipe();
                    // Fail closed: the whole line, sealed.
                    self.sealer
                        .seal_ordered(None, &json.line, &mut out, |line| writer.write_all(line))
                        .map_err(|seal| format!("{e}; sealing the whole line: {seal}"))
                }
            }
        });
        drop(values);
        match sealed {
            Ok(written) => self.failures.record(written),
            Err(e) => self.failures.failed("seal a log line", &e),
        }
        drop(writer);
        zeroize::Zeroize::zeroize(&mut json.line);
    }
}

impl<W: Write + Send + 'static> EncryptedLogger<W> {
    /// Installs the logger as the `log` crate's global logger and sets the maximum level.
    /// Starts the session first, so a broken random number generator fails here rather than
    /// at the first record (fail closed). Returns the installed logger, to call
    /// [`EncryptedLogger::close_session`] at exit.
    ///
    /// Not run here: it installs a process-wide logger.
    ///
    /// ```no_run
    /// let key = enclog::Key::from_env("MY_APP_LOG_KEY")?;
    /// let file = std::fs::OpenOptions::new().create(true).append(true).open("app.log.enc")?;
    /// let logger = enclog::EncryptedLogger::new(key, file)
    ///     .level(log::LevelFilter::Info)
    ///     .init()?;
    /// log::info!("started");
    /// logger.close_session(); // at exit
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn init(self) -> Result<&'static Self, InitError> {
        self.sealer.start().map_err(InitError::Seal)?;
        let logger: &'static Self = Box::leak(Box::new(self));
        log::set_logger(logger).map_err(InitError::Logger)?;
        log::set_max_level(logger.level);
        Ok(logger)
    }
}

/// [`EncryptedLogger::init`] failed. `Debug` shows the message and its causes.
///
/// ```
/// use enclog::log::InitError;
/// use enclog::seal::SealError;
/// // What `init` returns when the random number generator fails (fail closed).
/// let err = InitError::Seal(SealError::Random(getrandom::Error::UNSUPPORTED));
/// assert!(err.to_string().contains("random number generator failed"));
/// assert!(matches!(err, InitError::Seal(_)));
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// Another logger is installed already.
    #[error("a logger is already installed: {0}")]
    Logger(SetLoggerError),
    /// The session could not start.
    #[error(transparent)]
    Seal(crate::seal::SealError),
}

impl<W: Write + Send> Log for EncryptedLogger<W> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if let Some(selection) = &self.fields {
            let logged = JSON_RECORD.try_with(|r| {
                r.try_borrow_mut()
                    .map(|mut r| self.log_fields(record, selection, &mut r))
                    .is_ok()
            });
            if logged != Ok(true) {
                self.log_fields(record, selection, &mut fields::JsonRecord::default());
            }
            return;
        }
        // Fresh buffers when this thread's are in use (a writer that logs) or gone (a record
        // logged while the thread's locals are destroyed).
        let (mut event, mut line) = BUFFERS
            .try_with(|b| b.try_borrow_mut().map(|mut b| std::mem::take(&mut *b)).ok())
            .ok()
            .flatten()
            .unwrap_or_default();
        crate::seal::line::reset_with_room(&mut event, RECORD_START);
        line.clear();
        write_rfc3339(SystemTime::now(), &mut event);
        let _ = write!(
            event,
            " {} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
        let level = record.level().as_str().as_bytes();
        let clear = self.clear_level.then_some(level);
        // The record is numbered and written under the writer's lock, so records reach the
        // writer in sequence order without the session's order lock (one lock per record).
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        match self
            .sealer
            .seal_in_place(clear, &mut event, RECORD_START, &mut line)
        {
            Ok(()) => {
                // Reported and counted by `record`: `Log::log` cannot return it.
                self.failures.record(writer.write_all(&line));
            }
            Err(e) => self.failures.failed("seal a log line", &e),
        }
        drop(writer);
        event.truncate(RECORD_START);
        line.clear();
        let _ = BUFFERS.try_with(|b| b.try_borrow_mut().map(|mut b| *b = (event, line)));
    }

    fn flush(&self) {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        match writer.flush() {
            Ok(()) => self.failures.succeeded(),
            Err(e) => self.failures.flush_failed(&e),
        }
    }
}

impl std::fmt::Debug for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::error::debug_chain(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;
    use crate::test_support::SharedVec as Shared;
    use std::sync::Arc;

    fn log(logger: &EncryptedLogger<Shared>, message: &str) {
        logger.log(&Record::builder().args(format_args!("{message}")).build());
    }

    /// `new` takes any sealing key: a recipient gives public-key lines.
    #[test]
    fn new_takes_a_recipient_for_the_public_key_mode() {
        let identity = crate::Identity::generate().unwrap();
        let out = Shared::default();
        let logger = EncryptedLogger::new(identity.recipient(), out.clone());
        log(&logger, "to the identity");
        let mut opener = crate::Opener::new(identity.into());
        let line = out.bytes();
        let opened = opener.open(&line).unwrap().unwrap();
        assert_eq!(opened.mode, crate::format::Mode::Recipient);
        assert!(opened.plaintext.ends_with(b"to the identity"));
    }

    /// A record logged by a thread-local's destructor, after this thread's buffers and
    /// session cache were destroyed (thread-locals go in the reverse order of their first
    /// use), is still sealed and written: it used to panic.
    #[test]
    fn a_record_logged_while_the_threads_locals_are_destroyed_is_written() {
        static BUFFERS_WERE_GONE: std::sync::atomic::AtomicBool =
            std::sync::atomic::AtomicBool::new(false);
        struct LogsOnExit(Option<Arc<EncryptedLogger<Shared>>>);
        impl Drop for LogsOnExit {
            fn drop(&mut self) {
                if let Some(logger) = self.0.take() {
                    let gone = BUFFERS.try_with(|_| ()).is_err();
                    BUFFERS_WERE_GONE.store(gone, std::sync::atomic::Ordering::Relaxed);
                    log(&logger, "thread exiting");
                }
            }
        }
        thread_local! {
            static ON_EXIT: RefCell<LogsOnExit> = const { RefCell::new(LogsOnExit(None)) };
        }
        let key = Key::generate().unwrap();
        let out = Shared::default();
        let logger = Arc::new(EncryptedLogger::new(key.clone(), out.clone()));
        std::thread::spawn(move || {
            // First use of ON_EXIT, then of the buffers: on Linux, thread-locals are destroyed
            // in the reverse order, the buffers first (checked below).
            ON_EXIT.with(|e| e.borrow_mut().0 = Some(Arc::clone(&logger)));
            log(&logger, "running");
        })
        .join()
        .expect("the thread exits without a panic");
        let log = out.bytes();
        let mut opener = crate::Opener::new(key.into());
        let messages: Vec<_> = (log.split_inclusive(|&b| b == b'\n'))
            .map(|line| opener.open(line).unwrap().unwrap().plaintext.to_vec())
            .collect();
        assert_eq!(messages.len(), 2);
        assert!(messages[0].ends_with(b"running") && messages[1].ends_with(b"thread exiting"));
        assert!(
            BUFFERS_WERE_GONE.load(std::sync::atomic::Ordering::Relaxed),
            "the buffers outlived ON_EXIT here: this test did not log after their destruction"
        );
    }
}
