//! Text the verifier cannot vouch for: lines without a token, and text around a token.
//!
//! Threat: forged text passing for part of an authenticated log. A file of plain lines, or
//! words put before a valid token, must never read as "clean". A run of such lines in one file
//! is one finding, so a plain file gives one finding, not one per line.

use crate::read::opener::{MetaStatus, Opened};

use super::sequence::Loc;
use super::{Finding, FindingKind, Verifier};

/// Consecutive lines of one file with the same unauthenticated text problem.
#[derive(Clone, Copy, Debug)]
pub(super) struct TextRun {
    pub(super) kind: FindingKind,
    pub(super) first: Loc,
    pub(super) last: Loc,
    pub(super) count: u64,
}

/// Whether `text` says nothing (empty, spaces, a CRLF file's `\r`).
pub(super) fn is_blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

impl Verifier {
    /// Counts the text around an opened token; the finding it makes (in strict mode), if any.
    pub(super) fn text_around(&mut self, opened: &Opened<'_>) -> Option<FindingKind> {
        let added_fields = opened
            .fields
            .as_ref()
            .is_some_and(|f| !f.unauthenticated.is_empty());
        if is_blank(opened.before) && is_blank(opened.after) && !added_fields {
            return None;
        }
        self.unauthenticated_text += 1;
        // Edited clear metadata is already a finding of its own, naming what was written.
        (self.options.strict && opened.meta_status != MetaStatus::Differs)
            .then_some(FindingKind::UnauthenticatedText)
    }

    /// Takes the next non-blank line: `finding` is what it adds to the current run of
    /// unauthenticated text, or `None` for a line that ends the run.
    pub(super) fn text_line(&mut self, at: Loc, finding: Option<FindingKind>) {
        if let (Some(kind), Some(run)) = (finding, &mut self.text_run)
            && run.kind == kind
            && run.first.file == at.file
        {
            run.last = at;
            run.count += 1;
            return;
        }
        if let Some(run) = self.text_run.take() {
            let finding = self.text_run_finding(&run);
            self.push_finding(finding);
        }
        self.text_run = finding.map(|kind| TextRun {
            kind,
            first: at,
            last: at,
            count: 1,
        });
    }

    pub(super) fn text_run_finding(&self, run: &TextRun) -> Finding {
        let (what, lines) = if run.count == 1 {
            ("the line".to_owned(), "it")
        } else {
            (
                format!(
                    "{} lines, from here through line {},",
                    run.count, run.last.line
                ),
                "them",
            )
        };
        let message = match run.kind {
            FindingKind::PlainLine => format!(
                "{what} hold{} no token: nothing in {lines} is authenticated, so anyone who \
                 can write to the file could have written {lines}; if the log mixes in plain \
                 lines on purpose, allow plain lines (enclog verify --allow-plain)",
                if run.count == 1 { "s" } else { "" }
            ),
            _ => format!(
                "{what} ha{} text before or after the token that is not authenticated (a \
                 syslog header, a JSON wrapper, or forged words): trust only the decrypted \
                 event and its matching clear metadata",
                if run.count == 1 { "s" } else { "ve" }
            ),
        };
        let mut finding = self.finding(run.kind, run.first, None, None, None, None, message);
        if run.count > 1 {
            finding.through = Some(self.location(run.last));
        }
        finding
    }
}
