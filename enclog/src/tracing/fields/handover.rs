//! The hand-over from enclog's formatter to enclog's writers, on one thread.
//!
//! `tracing_subscriber::fmt` formats an event into its own buffer, then writes that buffer
//! with one `write_all` to the layer's writer, on the same thread, before it formats anything
//! else. The formatter builds the **real** line in this thread's [`Pending`] (the values to
//! seal in clear, and where each is) and writes only the **redacted** line (each such value
//! replaced by [`REDACTED`](super::REDACTED)) into `tracing`'s buffer. A writer of enclog's
//! that receives exactly the redacted line [`claim`]s the real one and seals it field by field;
//! any other writer writes the redacted line, which holds no sealed value. The pending line is
//! claimed once: the next event formatted on the thread starts a new one.

use std::cell::{Cell, RefCell};
use std::ops::Range;

use crate::fields::{FieldsError, IndexText, Syntax, Value};
use crate::format::Mode;
use crate::seal::fields::{Prepared, with_prepared};
use crate::seal::{SealError, Sealer};

/// Where a value to seal is, relative to buffers that travel together.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    /// Its path in the names (a JSON Pointer in a JSON line, the field's name in a text line).
    pub(crate) path: Range<usize>,
    /// Its field's name in the names.
    pub(crate) name: Range<usize>,
    /// Its bytes in the line.
    pub(crate) range: Range<usize>,
    pub(crate) index: IndexSpec,
    /// Sealed by value (a [`sealed`](super::sealed) value), whatever the names say.
    pub(crate) by_value: bool,
}

/// What a value's blind index is computed over, if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IndexSpec {
    None,
    /// The JSON value (a string's characters, or its canonical form).
    FromJson,
    /// The value's own bytes (a text line's number, or a value written without quotes).
    Value,
    /// The bytes at this range of the index texts (a text line's string without its quotes).
    Given(Range<usize>),
}

/// A line being written: its text, and the values in it to seal.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub(crate) real: String,
    pub(crate) specs: Vec<Spec>,
    /// Paths and names, back to back.
    pub(crate) names: String,
    pub(crate) index_text: Vec<u8>,
}

impl Out {
    /// Empties it for the next line (its sealed values zeroized, if still there).
    pub(crate) fn clear(&mut self) {
        self.wipe();
        self.specs.clear();
        self.names.clear();
    }

    /// Zeroizes what held plaintext: the values to seal (the rest of the line is written in
    /// clear anyway), the index texts. Only the bytes in use: what lies beyond them was
    /// zeroized when it was in use.
    pub(crate) fn wipe(&mut self) {
        if !self.specs.is_empty() && !self.real.is_empty() {
            let mut real = std::mem::take(&mut self.real).into_bytes();
            for spec in &self.specs {
                if let Some(value) = real.get_mut(spec.range.clone()) {
                    zeroize::Zeroize::zeroize(value);
                }
            }
            real.clear();
            self.real = String::from_utf8(real).unwrap_or_default();
        }
        self.real.clear();
        if !self.index_text.is_empty() {
            zeroize::Zeroize::zeroize(&mut self.index_text[..]);
            self.index_text.clear();
        }
    }
}

/// The thread's line between its formatter and its writer.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub(crate) syntax: Option<Syntax>,
    pub(crate) out: Out,
    /// What the formatter wrote into `tracing`'s buffer, without the newline.
    pub(crate) redacted: String,
    /// Where a span's vaulted values are opened.
    pub(crate) scratch: Vec<u8>,
    /// A `log` record's target (tracing-log gives it as a field).
    pub(crate) log_target: String,
    /// The allocation of the values handed to the sealer, kept from line to line.
    spare: Vec<Value<'static>>,
}

impl Pending {
    /// Zeroizes the whole line: one left half-written (a value's `Debug` failed) may hold
    /// part of a value to seal that is not listed yet.
    pub(crate) fn wipe_all(&mut self) {
        let mut real = std::mem::take(&mut self.out.real).into_bytes();
        zeroize::Zeroize::zeroize(&mut real[..]);
        real.clear();
        self.out.real = String::from_utf8(real).unwrap_or_default();
        self.wipe();
    }

    /// Zeroizes what held plaintext.
    pub(crate) fn wipe(&mut self) {
        self.out.wipe();
        if !self.scratch.is_empty() {
            zeroize::Zeroize::zeroize(&mut self.scratch[..]);
            self.scratch.clear();
        }
    }
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
    /// Whether [`PENDING`] holds a line not claimed yet: one load for a writer to learn it has
    /// nothing to look at (every event of every other formatter).
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the thread's pending line (disarmed: the formatter is writing a new one), or
/// with a fresh one that no writer can claim when the thread's is in use (an event logged
/// while another is formatted) or gone.
pub(crate) fn with_pending<R>(f: impl FnOnce(&mut Pending, bool) -> R) -> R {
    let _ = ARMED.try_with(|a| a.set(false));
    let mut f = Some(f);
    let ran = PENDING.try_with(|cell| {
        cell.try_borrow_mut()
            .ok()
            .map(|mut p| (f.take().expect("once"))(&mut p, true))
    });
    match ran {
        Ok(Some(r)) => r,
        _ => (f.take().expect("not run"))(&mut Pending::default(), false),
    }
}

/// Marks the thread's pending line ready for a writer to claim.
pub(crate) fn arm() {
    let _ = ARMED.try_with(|a| a.set(true));
}

/// Whether a line is waiting to be claimed on this thread.
#[inline]
pub(crate) fn armed() -> bool {
    ARMED.try_with(Cell::get).unwrap_or(false)
}

/// If `buf[start..]` (a trailing newline aside) is the redacted line waiting on this thread,
/// runs `f` with the pending line and `buf`; the line is claimed (a second writer of the same
/// bytes gets `None`).
pub(crate) fn claim<R>(
    buf: &mut Vec<u8>,
    start: usize,
    f: impl FnOnce(&mut Pending, &mut Vec<u8>) -> R,
) -> Option<R> {
    if !armed() {
        return None;
    }
    PENDING
        .try_with(|cell| {
            let mut p = cell.try_borrow_mut().ok()?;
            let bytes = &buf[start..];
            let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
            if bytes != p.redacted.as_bytes() || p.syntax.is_none() {
                return None;
            }
            let _ = ARMED.try_with(|a| a.set(false));
            Some(f(&mut p, buf))
        })
        .ok()
        .flatten()
}

/// The values of a line as the sealer takes them.
pub(crate) fn values<'a>(
    specs: &[Spec],
    names: &'a str,
    line: &'a [u8],
    index_text: &'a [u8],
    into: &mut Vec<Value<'a>>,
) {
    into.clear();
    into.extend(specs.iter().map(|s| Value {
        path: &names[s.path.clone()],
        name: &names[s.name.clone()],
        range: s.range.clone(),
        index: match &s.index {
            IndexSpec::None => None,
            IndexSpec::FromJson => Some(IndexText::FromJson),
            IndexSpec::Value => Some(IndexText::Given(&line[s.range.clone()])),
            IndexSpec::Given(r) => Some(IndexText::Given(&index_text[r.clone()])),
        },
    }));
}

/// Gives a vector's allocation to values of another lifetime (it holds none once emptied).
pub(crate) fn reuse<'b>(mut values: Vec<Value<'_>>) -> Vec<Value<'b>> {
    values.clear();
    // Collecting an emptied vector into one of the same layout keeps its allocation.
    values
        .into_iter()
        .map(|_| unreachable!("emptied"))
        .collect()
}

/// Prepares the line `line` (with its values `specs`) for sealing: `Err` if it cannot be
/// sealed field by field.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare(
    prep: &mut Prepared,
    sealer: &Sealer,
    syntax: Syntax,
    specs: &[Spec],
    names: &str,
    line: &[u8],
    index_text: &[u8],
    spare: &mut Vec<Value<'static>>,
) -> Result<(), FieldsError> {
    let index_key = if specs.iter().any(|s| s.index != IndexSpec::None) {
        sealer.index_key()
    } else {
        None
    };
    let mut values = reuse(std::mem::take(spare));
    self::values(specs, names, line, index_text, &mut values);
    let prepared = match syntax {
        Syntax::Json => prep.json(line, &values, index_key.as_deref()),
        Syntax::Text => prep.text(line, &values, index_key.as_deref()),
    };
    *spare = reuse(values);
    if prepared.is_err() {
        prep.wipe();
    }
    prepared
}

/// What became of an event a writer was given.
pub(crate) enum HandOver<R> {
    /// Not the pending line of enclog's formatter: seal it as it is.
    NotOurs,
    /// The real line could not be sealed field by field: `buf` now holds it, to seal whole.
    Whole,
    /// Sealed field by field and handed to `write` (or sealing failed).
    Sealed(Result<R, SealError>),
}

/// For a writer of enclog's holding one event in `buf[start..]`: if it is the redacted line of
/// enclog's formatter, seals the real line field by field into `line` and hands it to `write`
/// (under the session's order lock); if the real line cannot be sealed that way (a key that
/// seals whole lines only, a repeated JSON key, the marker `enclog:` in a clear value…),
/// replaces the event in `buf` by the real line, to be sealed whole.
pub(crate) fn seal_claimed<R>(
    sealer: &Sealer,
    buf: &mut Vec<u8>,
    start: usize,
    line: &mut Vec<u8>,
    write: impl FnOnce(&[u8]) -> R,
) -> HandOver<R> {
    if !armed() {
        return HandOver::NotOurs;
    }
    with_prepared(|prep| {
        let claimed = claim(buf, start, |p, buf| {
            let syntax = p.syntax.expect("claimed lines are complete");
            let Pending { out, spare, .. } = p;
            let prepared = if sealer.mode() == Mode::Fernet {
                Err(FieldsError::FernetKey)
            } else {
                prepare(
                    prep,
                    sealer,
                    syntax,
                    &out.specs,
                    &out.names,
                    out.real.as_bytes(),
                    &out.index_text,
                    spare,
                )
            };
            if prepared.is_err() {
                buf.truncate(start);
                buf.extend_from_slice(out.real.as_bytes());
            }
            p.wipe();
            prepared.is_ok()
        });
        match claimed {
            None => HandOver::NotOurs,
            Some(false) => HandOver::Whole,
            Some(true) => {
                HandOver::Sealed(
                    sealer
                        .seal_prepared(prep, line, write)
                        .map_err(|e| match e {
                            FieldsError::Seal(e) => e,
                            // A Fernet key goes the whole-line way (checked before preparing):
                            // this is one set while the line was prepared.
                            _ => SealError::FieldsUnderFernet,
                        }),
                )
            }
        }
    })
}
