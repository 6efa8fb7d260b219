//! Sealed fields from `tracing`: a formatter that keeps each event's line in clear (JSON, or
//! `tracing`'s full and compact text) and seals only the values you name, so log tools still
//! see every other field. The line format is [`crate::fields`]'s (FORMAT.md §11).
//!
//! [`SealedFields`] is both the event formatter and the span field formatter of a
//! `tracing_subscriber::fmt` layer, with an enclog writer ([`EncryptedWriter`](crate::EncryptedWriter),
//! [`non_blocking`](mod@crate::non_blocking), [`init_file`](crate::init_file) through
//! [`InitFile::fields`](super::InitFile::fields)):
//!
//! ```
//! use tracing_subscriber::fmt;
//! use enclog::tracing::fields::SealedFields;
//! let key = enclog::Key::generate()?;
//! let file = tempfile::NamedTempFile::new()?;
//! let format = SealedFields::json().seal(["user", "card*"]).index(["user"]);
//! let subscriber = fmt()
//!     .event_format(format.clone())
//!     .fmt_fields(format)
//!     .with_writer(enclog::EncryptedWriter::new(key.clone(), file.reopen()?))
//!     .finish();
//! tracing::subscriber::with_default(subscriber, || {
//!     let _span = tracing::info_span!("checkout", order = 1042).entered();
//!     tracing::info!(user = "alice@example.com", card_pan = "4111 1111 1111 1111", amount = 42, "paid");
//! });
//! let line = std::fs::read_to_string(file.path())?;
//! // {"timestamp":"…","level":"INFO","fields":{"message":"paid","user":"enclog:…",
//! //  "user_idx":"…","card_pan":"enclog:…","amount":42},"target":"…",
//! //  "span":{"order":1042,"name":"checkout"},"spans":[…],"enclog":"enclog:…"}
//! assert!(line.contains(r#""message":"paid","user":"enclog:"#) && line.contains(r#""amount":42"#));
//! assert!(!line.contains("alice") && !line.contains("4111"));
//! let index = enclog::fields::IndexKey::from_key(&key).value("user", b"alice@example.com");
//! assert!(line.contains(&index)); // grep -F for one user's events, without the key
//!
//! let mut opener = enclog::Opener::new(key.into());
//! let opened = opener.open(line.as_bytes()).unwrap()?;
//! let event = String::from_utf8_lossy(opened.plaintext);
//! assert!(event.contains(r#""user":"alice@example.com","card_pan":"4111 1111 1111 1111""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is sealed
//!
//! - **By name**: [`SealedFields::seal`] takes field names or `*` globs (`card*`). They are
//!   matched against event fields and span fields alike, by the field's own name. An error
//!   field (`error = &e as &dyn Error`) is one value, its `source()` chain included.
//! - **By value**: [`sealed`]`(x)`, logged as `?enclog::sealed(x)` or `%…`, seals its field
//!   whatever the name. A value whose `Debug` holds a `sealed()` member (a struct) is sealed
//!   whole.
//! - **The message**, if you name it: `seal(["message"])`. Otherwise the message is clear,
//!   and a `sealed()` value in its text shows [`REDACTED`] (see [`sealed`]).
//! - **A blind index** after a sealed value, for the names given to [`SealedFields::index`]
//!   (`user_idx` in a JSON line, ` user_idx=…` in a text line): equal values give equal index
//!   values under one index key, so `grep -F` finds one user's events without the key
//!   ([`IndexKey`](crate::fields::IndexKey), `enclog index`). A writer that seals to a
//!   recipient needs an index key of its own: [`EncryptedWriter::index_key`](crate::EncryptedWriter::index_key).
//!
//! A JSON line's sealed value is a JSON string holding its token; a text line's is the bare
//! token after its name (`user=enclog:…`), and the line ends with its envelope
//! (` enclog:…`). The clear values of a text line are escaped: a newline in a value is written
//! `\n`, so a value cannot start a line of its own (nor move a terminal's cursor). `pretty`
//! is not offered: it is multi-line. No colours are written.
//!
//! # How a sealed value never reaches `tracing`'s buffer in clear
//!
//! `tracing_subscriber::fmt` formats an event into a buffer of its own, then writes that
//! buffer to the layer's writer, on the same thread. [`SealedFields`] writes into that buffer
//! only the **redacted** line, each sealed value replaced by [`REDACTED`]; the **real** line,
//! and where each value to seal lies in it, it keeps in a thread-local. enclog's writers
//! recognise the redacted line they are given (it is byte for byte the one just formatted on
//! that thread), take the real line instead, seal its values and its envelope (the sequence
//! number is drawn there, under the writer's order, so lines still reach the file in order)
//! and write the line with one `write_all`. Once warm this allocates nothing per event.
//!
//! So with a writer that is not enclog's (stdout, `tracing_appender`'s, another layer's), the
//! redacted line is what is written: **fail closed**, never a sealed value. A span's fields
//! are kept by `tracing` as text that any formatter of the layer may print, and that every
//! layer whose field formatter is `SealedFields` shares: there, **every** value is held
//! encrypted under a key that lives only in this process's memory (so a formatter mixed in by
//! mistake prints ciphertext nobody can read, and a layer that seals nothing cannot decide for
//! another that seals `user`), and each `SealedFields` event formatter opens them into its
//! event's line, sealing those its own names (or `sealed()`) say.
//!
//! **A line that cannot be sealed field by field** is sealed whole, as enclog's writers seal
//! any event: a JSON line with a repeated key or a field named `enclog` or `<name>_idx`, the
//! text `enclog:` in a clear value, an indexed field without an index key, a zato-enclog
//! (Fernet) key. Nothing is written in clear, and the event still opens.
//!
//! **Writers.** [`EncryptedWriter`](crate::EncryptedWriter) (around any `MakeWriter`, also
//! `tracing_appender::non_blocking`: it seals on the logging thread) and
//! [`non_blocking`](mod@crate::non_blocking) (the logging thread hands the real line and its
//! values to the worker, which seals them) both seal fields. Their clear level and timestamp
//! options do not apply to a field-sealed line: its level and timestamp are in clear already,
//! and authenticated by its envelope.
//!
//! The real line is handed over once: a second enclog writer given the same event (two writers
//! joined with `MakeWriterExt::and`) seals the redacted line whole. A formatter wrapped in
//! another `FormatEvent` that changes the line is not recognised either. In both cases no value
//! is written in clear; the sealed values are missing from that copy of the event.

mod format;
pub(crate) mod handover;
mod sealed;
mod vault;

use std::fmt;

use tracing_core::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::fields::{FieldNames, Syntax};

pub use sealed::{REDACTED, Sealed, sealed};

/// Which line a [`SealedFields`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Json,
    Full,
    Compact,
}

/// Field names to match, the exact ones apart: every field of every event is matched, so an
/// exact name is looked up by its [`NameKey`] in a small hash table (one or two probes, each
/// an integer compare) rather than compared with each name in turn, let alone globbed.
#[derive(Clone, Debug, Default)]
struct Names {
    /// Open addressing, linear probing: `i + 1` for `exact[i]`, 0 for an empty slot. Its
    /// length is a power of two at least twice the names' count (a probe ends at a 0).
    table: Vec<u16>,
    keys: Vec<NameKey>,
    exact: Vec<String>,
    globs: FieldNames,
}

impl Names {
    fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Names {
        let (mut globs, mut exact): (Vec<String>, Vec<String>) = names
            .into_iter()
            .map(Into::into)
            .partition(|n| n.contains('*'));
        exact.sort_unstable();
        exact.dedup();
        // More names than a u16 indexes would only be globbed (no one configures that many).
        globs.extend(exact.split_off(exact.len().min(usize::from(u16::MAX))));
        let keys: Vec<NameKey> = exact.iter().map(|n| NameKey::of(n)).collect();
        let mut table = Vec::new();
        if !keys.is_empty() {
            table = vec![0u16; (2 * keys.len()).next_power_of_two()];
            let mask = table.len() - 1;
            for (i, key) in keys.iter().enumerate() {
                let mut at = key.hash() & mask;
                while table[at] != 0 {
                    at = (at + 1) & mask;
                }
                table[at] = u16::try_from(i + 1)
                    .expect("at most u16::MAX exact names (more are matched as globs)");
            }
        }
        Names {
            table,
            keys,
            exact,
            globs: FieldNames::new(globs),
        }
    }

    #[inline(always)]
    fn matches(&self, name: &str) -> bool {
        if !self.table.is_empty() {
            let key = NameKey::of(name);
            let mask = self.table.len() - 1;
            let mut at = key.hash() & mask;
            while let Some(i) = usize::from(self.table[at]).checked_sub(1) {
                if self.keys[i] == key && (name.len() <= NameKey::WHOLE || self.exact[i] == name) {
                    return true;
                }
                at = (at + 1) & mask;
            }
        }
        !self.globs.is_empty() && self.globs.matches(name)
    }
}

/// A name's length and its first and last bytes (eight of each, or fewer for a shorter
/// name): two names of up to [`NameKey::WHOLE`] bytes are equal exactly when their keys are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NameKey {
    len: usize,
    head: u64,
    tail: u64,
}

impl NameKey {
    /// The longest name a key holds whole.
    const WHOLE: usize = 16;

    /// Two loads per half, whatever the length (no loop over the bytes): the head is the
    /// first 8 bytes (or 4, or the first and middle byte), the tail the last as many.
    #[inline]
    fn of(name: &str) -> NameKey {
        let b = name.as_bytes();
        let n = b.len();
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let u32_at =
            |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes")));
        let (head, tail) = match n {
            8.. => (u64_at(0), u64_at(n - 8)),
            4..=7 => (u32_at(0), u32_at(n - 4)),
            1..=3 => (
                u64::from(b[0]) | u64::from(b[n / 2]) << 8,
                u64::from(b[n - 1]),
            ),
            0 => (0, 0),
        };
        NameKey { len: n, head, tail }
    }

    /// Where the key's probe starts in a table (before masking).
    #[inline]
    fn hash(&self) -> usize {
        let mixed = (self.head ^ self.tail.rotate_left(29) ^ self.len as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> 32) as usize
    }
}

/// enclog's `tracing` formatter for sealed fields: see [the module](self).
///
/// Use it as both formatters of a `tracing_subscriber::fmt` layer (`event_format` and
/// `fmt_fields`), with an enclog writer. With another field formatter, the span fields that
/// formatter wrote are not shown (each span's are replaced by [`REDACTED`]): enclog cannot
/// tell which of them were to be sealed.
///
/// ```
/// use tracing_subscriber::fmt;
/// use enclog::tracing::fields::SealedFields;
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let format = SealedFields::full().seal(["email"]).without_time();
/// let subscriber = fmt()
///     .event_format(format.clone())
///     .fmt_fields(format)
///     .with_writer(enclog::EncryptedWriter::new(key.clone(), file.reopen()?))
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::warn!(email = "bob@example.com", attempts = 3, "locked out");
/// });
/// let line = std::fs::read_to_string(file.path())?;
/// // " WARN rust_out: locked out email=enclog:… attempts=3 enclog:…"
/// assert!(line.starts_with(" WARN ") && line.contains(": locked out email=enclog:"));
/// assert!(line.contains(" attempts=3 enclog:") && !line.contains("bob@"));
/// let mut opener = enclog::Opener::new(key.into());
/// let event = opener.open(line.as_bytes()).unwrap()?;
/// assert!(String::from_utf8_lossy(event.plaintext).ends_with(r#"locked out email="bob@example.com" attempts=3"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SealedFields {
    style: Style,
    seal: Names,
    index: Names,
    timestamp: bool,
    level: bool,
    target: bool,
    current_span: bool,
    span_list: bool,
    flatten: bool,
}

impl SealedFields {
    fn new(style: Style) -> SealedFields {
        SealedFields {
            style,
            seal: Names::default(),
            index: Names::default(),
            timestamp: true,
            level: true,
            target: true,
            current_span: true,
            span_list: true,
            flatten: false,
        }
    }

    /// JSON lines, shaped as `tracing_subscriber`'s JSON format:
    /// `{"timestamp":…,"level":…,"fields":{"message":…,…},"target":…,"span":{…,"name":…},"spans":[…]}`.
    /// Numbers and booleans stay JSON numbers and booleans; other values are JSON strings
    /// (their `Debug` text). An error's `source()` chain is kept in its value.
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::json();
    /// assert_eq!(format.syntax(), enclog::fields::Syntax::Json);
    /// ```
    pub fn json() -> SealedFields {
        SealedFields::new(Style::Json)
    }

    /// Text lines shaped as `tracing_subscriber`'s default (full) format:
    /// `TIMESTAMP LEVEL span{a=1}:span2: target: message key=value …`, the envelope last.
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::full();
    /// assert_eq!(format.syntax(), enclog::fields::Syntax::Text);
    /// ```
    pub fn full() -> SealedFields {
        SealedFields::new(Style::Full)
    }

    /// Text lines shaped as `tracing_subscriber`'s compact format:
    /// `TIMESTAMP LEVEL span:span2: target: message key=value … a=1`, the envelope last.
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::compact();
    /// assert_eq!(format.syntax(), enclog::fields::Syntax::Text);
    /// ```
    pub fn compact() -> SealedFields {
        SealedFields::new(Style::Compact)
    }

    /// Seals the fields (of events and spans) whose name matches one of `names` (`*` matches
    /// any run of characters): `user`, `card*`, `message`. Replaces names given before.
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::json().seal(["user", "card*"]);
    /// # let _ = format;
    /// ```
    pub fn seal<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.seal = Names::new(names);
        self
    }

    /// Writes a [blind index](crate::fields::IndexKey) after each sealed value whose field's
    /// name matches one of `names` (sealed by name or with [`sealed`]). Replaces names given
    /// before. A recipient-mode writer needs an index key:
    /// [`EncryptedWriter::index_key`](crate::EncryptedWriter::index_key).
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::json().seal(["user"]).index(["user"]);
    /// # let _ = format;
    /// ```
    pub fn index<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.index = Names::new(names);
        self
    }

    /// Leaves the timestamp out.
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::json().without_time();
    /// # let _ = format;
    /// ```
    pub fn without_time(mut self) -> Self {
        self.timestamp = false;
        self
    }

    /// Whether to write the level (default: yes).
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::compact().with_level(false);
    /// # let _ = format;
    /// ```
    pub fn with_level(mut self, on: bool) -> Self {
        self.level = on;
        self
    }

    /// Whether to write the event's target (default: yes).
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::full().with_target(false);
    /// # let _ = format;
    /// ```
    pub fn with_target(mut self, on: bool) -> Self {
        self.target = on;
        self
    }

    /// JSON: whether to write the current span as `"span"` (default: yes).
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::json().with_current_span(false);
    /// # let _ = format;
    /// ```
    pub fn with_current_span(mut self, on: bool) -> Self {
        self.current_span = on;
        self
    }

    /// JSON: whether to write the spans from the root as `"spans"` (default: yes).
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::json().with_span_list(false);
    /// # let _ = format;
    /// ```
    pub fn with_span_list(mut self, on: bool) -> Self {
        self.span_list = on;
        self
    }

    /// JSON: write the event's fields at the top level instead of in `"fields"` (default:
    /// no). A field then named `enclog` makes the line sealed whole (that member is the
    /// envelope's).
    ///
    /// ```
    /// let format = enclog::tracing::fields::SealedFields::json().flatten_event(true);
    /// # let _ = format;
    /// ```
    pub fn flatten_event(mut self, on: bool) -> Self {
        self.flatten = on;
        self
    }

    /// JSON or text.
    ///
    /// ```
    /// use enclog::{fields::Syntax, tracing::fields::SealedFields};
    /// assert_eq!(SealedFields::compact().syntax(), Syntax::Text);
    /// ```
    pub fn syntax(&self) -> Syntax {
        match self.style {
            Style::Json => Syntax::Json,
            Style::Full | Style::Compact => Syntax::Text,
        }
    }
}

impl<S, N> FormatEvent<S, N> for SealedFields
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        format::format_event(self, ctx, &mut writer, event)
    }
}

impl<'writer> FormatFields<'writer> for SealedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        format::format_fields(self, &mut writer, fields)
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing_core::span::Record<'_>,
    ) -> fmt::Result {
        format::add_fields(self, &mut current.fields, fields)
    }
}

#[cfg(test)]
mod tests {
    use super::Names;
    use crate::fields::FieldNames;

    #[test]
    fn exact_names_match_only_themselves_at_any_length() {
        let long = "a_rather_long_field_name";
        let names = Names::new(["v0", "user", "sixteen_bytes_16", long, "card*"]);
        for yes in ["v0", "user", "sixteen_bytes_16", long, "card", "card_pan"] {
            assert!(names.matches(yes), "{yes}");
        }
        // Same length, and same first and last eight bytes as the long name: told apart by
        // the string compare.
        let middle = "a_rather_XXXX_field_name";
        for no in [
            "v1",
            "v",
            "",
            "users",
            "usXr",
            "sixteen_bytes_17",
            middle,
            "Card",
        ] {
            assert!(!names.matches(no), "{no}");
        }
        assert!(!Names::default().matches("v0"));
        let short = Names::new(["a", "abc", "abcde", "abcdefgh"]);
        for no in ["b", "aa", "abd", "bbc", "abXde", "abcdeXgh", "abcdefg"] {
            assert!(!short.matches(no), "{no}");
        }
        // Enough names for probes to collide and wrap: each found, no other.
        let many: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
        let names = Names::new(many.iter().chain(many.iter()).cloned());
        assert!(many.iter().all(|n| names.matches(n)));
        assert!((300..900).all(|i| !names.matches(&format!("f{i}"))));
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const ALPHA: &[&str] = &["a", "b", "é", "\u{1F600}", "*", ".", "_", "\0", "A", "/"];

    fn random_name(r: &mut Rng, globs: bool) -> String {
        let len = match r.below(4) {
            0 => r.below(4),
            1 => r.below(9),
            2 => 6 + r.below(14),
            _ => r.below(40),
        };
        let mut s = String::new();
        for _ in 0..len {
            let c = ALPHA[r.below(ALPHA.len())];
            if c == "*" && !globs {
                s.push('a');
            } else {
                s.push_str(c);
            }
        }
        s
    }

    fn mutate(r: &mut Rng, s: &str) -> String {
        let mut b = s.as_bytes().to_vec();
        match r.below(5) {
            0 if !b.is_empty() => {
                let i = r.below(b.len());
                b[i] ^= 1 << r.below(8);
            }
            1 if !b.is_empty() => {
                b.truncate(r.below(b.len()));
            }
            2 => b.push(b"ab._"[r.below(4)]),
            3 if b.len() > 2 => {
                // change a middle byte: keeps length, first and last bytes
                let i = 1 + r.below(b.len() - 2);
                b[i] = b[i].wrapping_add(1);
            }
            _ => b.insert(0, b'x'),
        }
        String::from_utf8_lossy(&b).into_owned()
    }

    /// Differential: the hash table gives exactly what matching every name in turn gives.
    #[test]
    fn names_match_exactly_as_a_linear_scan_does() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let count = match round % 3 {
                0 => r.below(4),
                1 => r.below(40),
                _ => r.below(300),
            };
            let configured: Vec<String> = (0..count)
                .map(|_| {
                    let g = r.0.is_multiple_of(7);
                    random_name(&mut r, g)
                })
                .collect();
            let names = Names::new(configured.clone());
            let oracle = FieldNames::new(configured.clone());
            let mut queries: Vec<String> = configured.clone();
            for c in &configured {
                queries.push(mutate(&mut r, c));
                queries.push(mutate(&mut r, c));
            }
            for _ in 0..50 {
                queries.push(random_name(&mut r, false));
            }
            queries.push(String::new());
            for q in &queries {
                assert_eq!(
                    names.matches(q),
                    oracle.matches(q),
                    "query {q:?} against {configured:?}"
                );
            }
        }
    }

    /// Same length, same first and last 8 bytes, differing only in the middle: for every
    /// length 17..64 and each middle position.
    #[test]
    fn names_of_one_key_that_differ_in_the_middle_are_told_apart() {
        for len in 1..64 {
            let base: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let names = Names::new([base.clone()]);
            assert!(names.matches(&base));
            for i in 0..len {
                let mut b = base.clone().into_bytes();
                b[i] = b'Z';
                let other = String::from_utf8(b).unwrap();
                assert!(!names.matches(&other), "{other} vs {base}");
                // configured the other way round
                let n2 = Names::new([other.clone()]);
                assert!(!n2.matches(&base) && n2.matches(&other));
            }
        }
    }

    /// More exact names than the table indexes: the rest are still matched (as globs).
    #[test]
    fn more_names_than_u16_are_all_matched() {
        let many: Vec<String> = (0..70_000).map(|i| format!("n{i:06}")).collect();
        let names = Names::new(many.clone());
        for i in (0..70_000)
            .step_by(997)
            .chain([65_534, 65_535, 65_536, 69_999])
        {
            assert!(names.matches(&many[i]), "{}", many[i]);
        }
        assert!(!names.matches("n070000") && !names.matches("n"));
        // The empty name, alone and among others.
        assert!(Names::new([""]).matches(""));
        assert!(!Names::new([""]).matches("a"));
        assert!(Names::new(["a", "", "b"]).matches(""));
        assert!(!Names::new(["a", "b"]).matches(""));
    }
}
