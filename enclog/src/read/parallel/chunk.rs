//! A chunk of whole lines: its input, what a worker made of each line (opened, failed, or
//! written by a renderer), and how the caller's thread turns a line back into an [`Entry`].

use std::ops::Range;

use crate::format::{self, Link, Mode, RecordKind};
use crate::key::KeyId;
use crate::read::decryptor::{Entry, LineError, Outcome, classify};
use crate::read::opener::{MetaStatus, Opened, Opener, Sequence};

/// Whole lines of input, and what each turned out to be once a worker has opened them.
#[derive(Default)]
pub(super) struct Chunk {
    pub(super) input: Vec<u8>,
    /// Set instead of `input` for one line longer than the cap: its length and whether it
    /// ended with a newline (its bytes were never kept).
    pub(super) too_long: Option<(u64, bool)>,
    /// Offset in the input just past this chunk.
    pub(super) end: u64,
    /// Plaintexts and metadata copies, which `items` point into.
    pub(super) arena: Vec<u8>,
    /// What a renderer wrote, which `items` point into.
    pub(super) output: Vec<u8>,
    pub(super) items: Vec<Item>,
}

/// A renderer (see [`ParallelDecryptor::rendering`]).
pub(super) type Render = dyn Fn(&Outcome<'_>, &[u8], &mut Vec<u8>) -> bool + Send + Sync;

/// One item of a chunk: lines rendered, or a line kept for the caller.
pub(super) enum Item {
    /// Consecutive lines a renderer wrote: their output in `Chunk::output`, and how many.
    Rendered {
        output: Range<usize>,
        lines: u64,
    },
    Line(Line),
}

/// One line's outcome, with ranges into its chunk instead of borrows.
pub(super) struct Line {
    raw: Range<usize>,
    terminated: bool,
    outcome: LineOutcome,
}

enum LineOutcome {
    Plain,
    Opened(OpenedAt),
    Failed(LineError),
    TooLong(u64),
}

/// An [`Opened`] line: `plaintext` and `meta` index the arena, `before` and `after` the input.
struct OpenedAt {
    plaintext: Range<usize>,
    before: Range<usize>,
    after: Range<usize>,
    meta: Option<Range<usize>>,
    meta_status: MetaStatus,
    key_id: KeyId,
    mode: Mode,
    sequence: Option<Sequence>,
    record: RecordKind,
    link: Option<Box<Link>>,
    tag: [u8; 16],
    version: u8,
    timestamp: Option<u64>,
    fields: Option<Box<crate::read::SealedFields>>,
}

impl Line {
    #[inline]
    pub(super) fn entry<'a>(&self, chunk: &'a Chunk, line_no: u64, limit: usize) -> Entry<'a> {
        let (input, arena) = (&chunk.input[..], &chunk.arena[..]);
        let outcome = match &self.outcome {
            LineOutcome::Plain => Outcome::Plain,
            LineOutcome::Failed(e) => Outcome::Failed(e.clone()),
            &LineOutcome::TooLong(len) => Outcome::Failed(LineError::TooLong { len, limit }),
            LineOutcome::Opened(o) => Outcome::Opened(Opened {
                plaintext: &arena[o.plaintext.clone()],
                before: &input[o.before.clone()],
                after: &input[o.after.clone()],
                meta: o.meta.clone().map(|m| &arena[m]),
                meta_status: o.meta_status,
                key_id: o.key_id,
                mode: o.mode,
                sequence: o.sequence,
                record: o.record,
                link: o.link.clone(),
                tag: o.tag,
                version: o.version,
                timestamp: o.timestamp,
                fields: o.fields.clone(),
            }),
        };
        Entry {
            line_no,
            raw: &input[self.raw.clone()],
            terminated: self.terminated,
            outcome,
        }
    }
}

impl Chunk {
    pub(super) fn reset(&mut self) {
        self.input.clear();
        self.too_long = None;
        self.arena.clear();
        self.output.clear();
        self.items.clear();
    }

    /// Opens every line of the chunk, exactly as `Decryptor::next_entry` would, and has
    /// `render` (if any) write those it takes.
    pub(super) fn decrypt(
        &mut self,
        opener: &mut Opener,
        max_line: usize,
        render: Option<&Render>,
    ) {
        let Chunk {
            input,
            too_long,
            arena,
            output,
            items,
            ..
        } = self;
        if let Some((len, terminated)) = *too_long {
            items.push(Item::Line(Line {
                raw: 0..0,
                terminated,
                outcome: LineOutcome::TooLong(len),
            }));
            return;
        }
        let base = input.as_ptr() as usize;
        // Where a slice of a line of `input` starts in `input`.
        let at = |s: &[u8]| s.as_ptr() as usize - base;
        let mut start = 0;
        while start < input.len() {
            let (end, next, terminated, token) = match format::first_line(&input[start..]) {
                (Some(i), token) => (start + i, start + i + 1, true, token),
                (None, _) => (input.len(), input.len(), false, None),
            };
            let line = &input[start..end];
            if line.len() > max_line {
                items.push(Item::Line(Line {
                    raw: start..start,
                    terminated,
                    outcome: LineOutcome::TooLong(line.len() as u64),
                }));
                start = next;
                continue;
            }
            // As in `Decryptor`: a `\r` before the newline is kept.
            let raw = line;
            let outcome = classify(opener, raw, terminated, token);
            if let Some(render) = render
                && terminated
            {
                let from = output.len();
                if render(&outcome, raw, output) {
                    let to = output.len();
                    match items.last_mut() {
                        Some(Item::Rendered { output: run, lines }) if run.end == from => {
                            run.end = to;
                            *lines += 1;
                        }
                        _ => items.push(Item::Rendered {
                            output: from..to,
                            lines: 1,
                        }),
                    }
                    start = next;
                    continue;
                }
                // Declined: whatever it wrote is not kept.
                output.truncate(from);
            }
            let outcome = match outcome {
                Outcome::Plain => LineOutcome::Plain,
                Outcome::Failed(e) => LineOutcome::Failed(e),
                Outcome::Opened(o) => {
                    let mut keep = |s: &[u8]| {
                        arena.extend_from_slice(s);
                        arena.len() - s.len()..arena.len()
                    };
                    LineOutcome::Opened(OpenedAt {
                        plaintext: keep(o.plaintext),
                        meta: o.meta.map(&mut keep),
                        before: at(o.before)..at(o.before) + o.before.len(),
                        after: at(o.after)..at(o.after) + o.after.len(),
                        meta_status: o.meta_status,
                        key_id: o.key_id,
                        mode: o.mode,
                        sequence: o.sequence,
                        record: o.record,
                        link: o.link,
                        tag: o.tag,
                        version: o.version,
                        timestamp: o.timestamp,
                        fields: o.fields,
                    })
                }
            };
            items.push(Item::Line(Line {
                raw: start..start + raw.len(),
                terminated,
                outcome,
            }));
            start = next;
        }
    }
}
