//! [`sealed`]: marking one value as sensitive where it is logged; its doc spells out how a
//! wrapper tells enclog's formatter from any other.

use std::cell::Cell;
use std::fmt;

/// What a sealed value shows where it is not sealed: in another formatter, in the text of a
/// message, in a line that the writer could not seal field by field.
///
/// ```
/// assert_eq!(enclog::tracing::fields::REDACTED, "[sealed]");
/// assert_eq!(format!("{:?}", enclog::sealed("alice@example.com")), "[sealed]");
/// ```
pub const REDACTED: &str = "[sealed]";

/// The probe: a `static`, so that it has an address of its own. (A string literal equal to it
/// elsewhere may share that address after the linker merges constants; a writer of enclog's
/// then takes that literal for a probe, which seals the field it is in: the safe way to err.)
static PROBE: [u8; 8] = *b"[sealed]";

thread_local! {
    /// Set by enclog's value writer when it takes the probe; read and cleared by the wrapper
    /// right after writing it.
    static TAKEN: Cell<bool> = const { Cell::new(false) };
}

/// The probe's text.
pub(crate) fn probe() -> &'static str {
    std::str::from_utf8(&PROBE).unwrap_or(REDACTED)
}

/// Whether `s` is the probe itself (its address, not its text).
#[inline]
pub(crate) fn is_probe(s: &str) -> bool {
    std::ptr::eq(s.as_ptr(), PROBE.as_ptr()) && s.len() == PROBE.len()
}

/// Called by enclog's value writer when it takes the probe.
pub(crate) fn take_probe() {
    let _ = TAKEN.try_with(|t| t.set(true));
}

/// Writes the probe into `f`; whether enclog's formatter took it.
fn probe_taken(f: &mut fmt::Formatter<'_>) -> Result<bool, fmt::Error> {
    let _ = TAKEN.try_with(|t| t.set(false));
    f.write_str(probe())?;
    Ok(TAKEN.try_with(|t| t.replace(false)).unwrap_or(false))
}

/// A value to seal wherever it is logged, whatever its field's name: see [`sealed`].
///
/// ```
/// let card = enclog::sealed("4111 1111 1111 1111");
/// assert_eq!(format!("{card:?} {card}"), "[sealed] [sealed]");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Sealed<T>(T);

impl<T> Sealed<T> {
    /// The value itself (for code that needs it, not for logging).
    ///
    /// ```
    /// assert_eq!(enclog::sealed(42).into_inner(), 42);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Marks `value` as sensitive: logged as `?enclog::sealed(value)` (or `%…` for its `Display`),
/// it is sealed by enclog's formatter ([`SealedFields`](super::SealedFields)) whatever the
/// field's name, and everywhere else it shows [`REDACTED`] — fail closed, never the value.
///
/// **How a wrapper tells enclog's formatter from any other.** `tracing` hands a value to a
/// formatter only through `Debug` or `Display`, writing into a `fmt::Formatter` that the
/// wrapper cannot inspect (and `tracing::Value` cannot be implemented outside `tracing`). So the
/// wrapper's `Debug` (and `Display`, when `T: Display`) first writes a **probe** — the marker
/// [`REDACTED`], taken from one `static` of enclog's — and then asks a thread-local whether the
/// probe was *taken*. Only enclog's formatter takes it, and only while it writes the value of a
/// field into its line: its writer recognises the probe by its address (any other writer just
/// writes the marker's text), records that this field is sealed, and sets the thread-local.
/// Then, and only then, the wrapper writes the value — into the same formatter, so into
/// enclog's line, as the field's sealed value. Everywhere else the probe was written as it is
/// and the wrapper writes nothing more: **fail closed**, the marker appears, never the value.
/// A value formatted by another writer nested inside enclog's (a `Debug` that calls `format!`)
/// gets the marker too: the probe is taken only by the writer it reaches.
///
/// The field is sealed whole (a struct whose `Debug` holds a sealed member seals the whole
/// field). **In the text of a message** (`info!("paid by {}", sealed(card))`) it shows
/// [`REDACTED`]: a message is one value, not sealed unless you seal `message` by name, and
/// its text is not the place for a secret. With `message` sealed by name, the wrapper writes
/// its value into the (sealed) message. In a line that the writer has to seal whole (see
/// [`SealedFields`](super::SealedFields)), the value is sealed with the rest of the line.
///
/// ```
/// use tracing_subscriber::fmt;
/// use enclog::tracing::fields::SealedFields;
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let format = SealedFields::json();
/// let subscriber = fmt()
///     .event_format(format.clone())
///     .fmt_fields(format)
///     .with_writer(enclog::EncryptedWriter::new(key.clone(), file.reopen()?))
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(card = ?enclog::sealed("4111 1111 1111 1111"), "paid by {}", enclog::sealed("bob"));
/// });
/// let line = std::fs::read_to_string(file.path())?;
/// assert!(!line.contains("4111") && !line.contains("bob"));
/// assert!(line.contains(r#""message":"paid by [sealed]","card":"enclog:"#));
/// let mut opener = enclog::Opener::new(key.into());
/// let opened = opener.open(line.as_bytes()).unwrap()?;
/// assert!(String::from_utf8_lossy(opened.plaintext).contains(r#""card":"\"4111 1111 1111 1111\"""#));
///
/// // Anywhere else: the marker.
/// assert_eq!(format!("{:?}", enclog::sealed("4111")), "[sealed]");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sealed<T>(value: T) -> Sealed<T> {
    Sealed(value)
}

impl<T: fmt::Debug> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if probe_taken(f)? {
            fmt::Debug::fmt(&self.0, f)
        } else {
            Ok(())
        }
    }
}

impl<T: fmt::Display> fmt::Display for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if probe_taken(f)? {
            fmt::Display::fmt(&self.0, f)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    /// A writer that takes the probe as enclog's value writer does.
    struct Taking(String, bool);
    impl Write for Taking {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            if is_probe(s) {
                take_probe();
                self.1 = true;
                return Ok(());
            }
            self.0.push_str(s);
            Ok(())
        }
    }

    #[test]
    fn only_a_writer_that_takes_the_probe_gets_the_value() {
        let secret = sealed("hunter2");
        assert_eq!(
            format!("{secret:?}|{secret}|{secret:>12}"),
            "[sealed]|[sealed]|[sealed]"
        );
        let mut taking = Taking(String::new(), false);
        write!(taking, "{secret:?} and {secret}").unwrap();
        assert_eq!(taking.0, "\"hunter2\" and hunter2");
        assert!(taking.1);
        // A literal with the same text is not the probe.
        assert!(!is_probe("[sealed]".to_string().as_str()));
    }

    /// A value formatted by another writer nested inside enclog's (a `Debug` that formats into
    /// a `String` of its own) gets the marker: the probe is taken only by the writer it reaches.
    #[test]
    fn a_nested_foreign_writer_gets_the_marker() {
        struct Nested(Sealed<&'static str>);
        impl fmt::Debug for Nested {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let inner = format!("{:?}", self.0);
                f.write_str(&inner)
            }
        }
        let mut taking = Taking(String::new(), false);
        write!(taking, "{:?}", Nested(sealed("hunter2"))).unwrap();
        assert_eq!(taking.0, "[sealed]");
        assert!(!taking.1);
    }
}
