//! The encoding of a verifier's state inside its sealed file (version 1): LEB128 numbers,
//! length-prefixed bytes, fields in a fixed order. Only this build reads it back, after the
//! state's tag has verified; a field that does not parse is a [`Malformed`] state, never a
//! panic.
//!
//! [`Malformed`]: super::StateError::Malformed

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::format::header::{MAX_VARINT_LEN, read_varint, varint_into};
use crate::format::{ChainKey, LineageId, Link, SessionId};
use crate::key::KeyId;
use crate::verify::chain::{
    ChainSession, ChainWalk, Close, SessionKey, Successor, Top, Verdict, Waiting,
};
use crate::verify::files::FileMark;
use crate::verify::ranges::{SeqRange, SeqRanges};
use crate::verify::sequence::{Gap, LineRun, Loc, SessionState};
use crate::verify::unauthenticated::TextRun;
use crate::verify::{Finding, FindingKind, Location, Verifier, VerifyOptions};

type Result<T> = std::result::Result<T, &'static str>;

/// The state's fields, as bytes (zeroized on drop: they hold chain keys).
pub(super) fn encode(v: &Verifier) -> Zeroizing<Vec<u8>> {
    let mut w = Writer(Zeroizing::new(Vec::new()));
    w.u(v.files.len() as u64);
    for (i, name) in v.files.iter().enumerate() {
        w.str(name);
        match v.marks.get(i).and_then(Option::as_ref) {
            Some(mark) => {
                w.flag(true);
                w.u(u64::from(mark.prefix_len));
                w.raw(&mark.prefix_hash);
                w.u(u64::from(mark.head_len));
                w.raw(&mark.head_hash);
                w.u(mark.bytes);
                w.u(mark.lines);
            }
            None => w.flag(false),
        }
    }
    for n in [
        v.lines,
        v.events,
        v.close_records,
        v.plain_lines,
        v.failed_lines,
        v.unsequenced,
        v.unauthenticated_text,
        v.findings_total,
    ] {
        w.u(n);
    }
    let counted: Vec<_> = (FindingKind::ALL.iter())
        .filter(|k| v.counts[k.index()] > 0)
        .collect();
    w.u(counted.len() as u64);
    for kind in counted {
        w.str(kind.as_str());
        w.u(v.counts[kind.index()]);
    }
    w.u(v.findings.len() as u64);
    for f in &v.findings {
        w.finding(f);
    }
    w.opt(v.text_run.as_ref(), |w, run| {
        w.str(run.kind.as_str());
        w.loc(run.first);
        w.loc(run.last);
        w.u(run.count);
    });

    let mut sessions: Vec<_> = v.sessions.iter().collect();
    sessions.sort_by_key(|(id, _)| id.0);
    w.u(sessions.len() as u64);
    for (id, s) in sessions {
        w.raw(&id.0);
        w.raw(&s.key.0);
        w.loc(s.first_at);
        w.opt(s.run.as_ref(), |w, run| w.line_run(run));
        w.u(s.next);
        w.u(s.gaps.len() as u64);
        for gap in &s.gaps {
            w.u(gap.start);
            w.u(gap.end);
            w.loc(gap.noticed);
            w.opt(gap.after.as_ref(), |w, &l| w.loc(l));
            w.flag(gap.initial);
            w.flag(gap.reported);
        }
        w.loc(s.highest_at);
        w.loc(s.last_at);
        w.opt(s.close.as_ref(), |w, &(seq, at)| {
            w.u(seq);
            w.loc(at);
        });
        w.u(s.ranges.ranges.len() as u64);
        for r in &s.ranges.ranges {
            w.u(r.start);
            w.u(r.end);
            w.u(u64::from(r.file));
            w.u(r.first_line);
            w.u(r.last_line);
            w.flag(r.exact);
        }
        w.flag(s.unclosed_reported);
    }
    w.chain(&v.chain);
    w.0
}

/// Reads what [`encode`] wrote.
pub(super) fn decode(bytes: &[u8]) -> Result<Verifier> {
    let mut r = Reader { bytes, at: 0 };
    let mut v = Verifier::with_options(VerifyOptions::default());
    let files = r.count()?;
    for _ in 0..files {
        v.files.push(Arc::from(r.str()?));
        let mark = if r.flag()? {
            Some(FileMark {
                prefix_len: u32::try_from(r.u()?).map_err(|_| "a prefix length")?,
                prefix_hash: r.raw()?,
                head_len: u32::try_from(r.u()?).map_err(|_| "a line length")?,
                head_hash: r.raw()?,
                bytes: r.u()?,
                lines: r.u()?,
            })
        } else {
            None
        };
        v.marks.push(mark);
    }
    v.lines = r.u()?;
    v.events = r.u()?;
    v.close_records = r.u()?;
    v.plain_lines = r.u()?;
    v.failed_lines = r.u()?;
    v.unsequenced = r.u()?;
    v.unauthenticated_text = r.u()?;
    v.findings_total = r.u()?;
    for _ in 0..r.count()? {
        let kind = r.kind()?;
        v.counts[kind.index()] = r.u()?;
    }
    for _ in 0..r.count()? {
        v.findings.push(r.finding()?);
    }
    v.text_run = r.opt(|r| {
        Ok(TextRun {
            kind: r.kind()?,
            first: r.loc()?,
            last: r.loc()?,
            count: r.u()?,
        })
    })?;
    for _ in 0..r.count()? {
        let id = SessionId(r.raw()?);
        let key = KeyId(r.raw()?);
        let first_at = r.loc()?;
        let run = r.opt(Reader::line_run)?;
        let next = r.u()?;
        let mut gaps = Vec::new();
        for _ in 0..r.count()? {
            gaps.push(Gap {
                start: r.u()?,
                end: r.u()?,
                noticed: r.loc()?,
                after: r.opt(Reader::loc)?,
                initial: r.flag()?,
                reported: r.flag()?,
            });
        }
        let highest_at = r.loc()?;
        let last_at = r.loc()?;
        let close = r.opt(|r| Ok((r.u()?, r.loc()?)))?;
        let mut ranges = SeqRanges::default();
        for _ in 0..r.count()? {
            ranges.ranges.push(SeqRange {
                start: r.u()?,
                end: r.u()?,
                file: r.file()?,
                first_line: r.u()?,
                last_line: r.u()?,
                exact: r.flag()?,
            });
        }
        let unclosed_reported = r.flag()?;
        let ranges_ok = ranges.ranges.iter().all(|r| r.start <= r.end)
            && ranges.ranges.windows(2).all(|w| w[0].end < w[1].start);
        let gaps_ok = gaps.iter().all(|g| g.start <= g.end && g.end < next);
        let run_ok = run.is_none_or(|r| r.first_seq <= r.last_seq && r.last_seq < u64::MAX);
        if next == 0 || !ranges_ok || !gaps_ok || !run_ok {
            return Err("a session's numbers");
        }
        v.sessions.insert(
            id,
            SessionState {
                key,
                first_at,
                run,
                next,
                gaps,
                highest_at,
                last_at,
                close,
                ranges,
                unclosed_reported,
            },
        );
    }
    v.chain = r.chain()?;
    if r.at != bytes.len() {
        return Err("bytes after its end");
    }
    let files = v.files.len();
    if files > u32::MAX as usize {
        return Err("too many files");
    }
    Ok(v)
}

struct Writer(Zeroizing<Vec<u8>>);

impl Writer {
    fn u(&mut self, n: u64) {
        let mut buf = [0u8; MAX_VARINT_LEN];
        let len = varint_into(n, &mut buf);
        self.0.extend_from_slice(&buf[..len]);
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.u(bytes.len() as u64);
        self.raw(bytes);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn flag(&mut self, on: bool) {
        self.0.push(u8::from(on));
    }

    fn opt<T>(&mut self, value: Option<&T>, f: impl FnOnce(&mut Writer, &T)) {
        self.flag(value.is_some());
        if let Some(value) = value {
            f(self, value);
        }
    }

    fn loc(&mut self, at: Loc) {
        self.u(u64::from(at.file));
        self.u(at.line);
    }

    fn location(&mut self, at: &Location) {
        self.str(&at.file);
        self.u(at.line);
    }

    fn session_key(&mut self, id: SessionKey) {
        self.raw(&id.0.0);
        self.raw(&id.1.0);
    }

    fn finding(&mut self, f: &Finding) {
        self.str(f.kind.as_str());
        self.location(&f.at);
        self.opt(f.session.as_ref(), |w, s| w.raw(&s.0));
        self.opt(f.seq.as_ref(), |w, &n| w.u(n));
        self.opt(f.missing.as_ref(), |w, m| {
            w.u(*m.start());
            w.u(*m.end());
        });
        self.opt(f.related.as_ref(), Writer::location);
        self.opt(f.through.as_ref(), Writer::location);
        self.str(&f.message);
        self.u(u64::from(f.file_index));
    }

    fn line_run(&mut self, run: &LineRun) {
        self.str(run.kind.as_str());
        self.loc(run.first_at);
        self.loc(run.last_at);
        self.u(run.first_seq);
        self.u(run.last_seq);
        self.u(run.highest);
        self.opt(run.related.as_ref(), |w, &l| w.loc(l));
        self.flag(run.at_file_start);
    }

    fn close(&mut self, c: &Close) {
        self.u(c.count);
        self.raw(&c.tag);
        self.loc(c.at);
    }

    fn top(&mut self, t: &Top) {
        self.u(t.index);
        self.session_key(t.session);
    }

    fn chain(&mut self, c: &ChainWalk) {
        self.flag(c.started);
        self.opt(c.first.as_ref(), |w, &id| w.session_key(id));
        let mut sessions: Vec<_> = c.sessions.iter().collect();
        sessions.sort_by_key(|(id, _)| (id.0.0, id.1.0));
        self.u(sessions.len() as u64);
        for (&id, s) in sessions {
            self.session_key(id);
            self.raw(&s.lineage.0);
            self.u(s.index);
            self.opt(s.next_chain_key.as_ref(), |w, k| w.raw(&k.0[..]));
            self.loc(s.first_at);
            self.opt(s.close.as_ref(), Writer::close);
            self.opt(s.successor.as_ref(), |w, s| {
                w.session_key(s.session);
                w.loc(s.first_at);
                w.opt(s.expects.as_ref(), |w, (count, tag)| {
                    w.u(*count);
                    w.raw(tag);
                });
                w.flag(s.early);
            });
            self.flag(s.starts_lineage);
            self.flag(s.start_reported);
        }
        let mut lineages: Vec<_> = c.lineages.iter().collect();
        lineages.sort_by_key(|(l, _)| l.0);
        self.u(lineages.len() as u64);
        for (lineage, top) in lineages {
            self.raw(&lineage.0);
            self.top(top);
        }
        let mut waiting: Vec<_> = c.waiting.iter().collect();
        waiting.sort_by_key(|(id, _)| (id.0.0, id.1.0));
        self.u(waiting.len() as u64);
        for (&prev, list) in waiting {
            self.session_key(prev);
            self.u(list.len() as u64);
            for w in list {
                self.session_key(w.session);
                self.loc(w.first_at);
                self.bytes(&w.link.to_saved());
                match w.verdict {
                    Verdict::Quiet => self.u(0),
                    Verdict::Start => self.u(1),
                    Verdict::Headless => self.u(2),
                    Verdict::Missing { count, after } => {
                        self.u(3);
                        self.u(count);
                        self.top(&after);
                    }
                    Verdict::NewChain => self.u(4),
                }
                self.flag(w.reported);
            }
        }
        let mut orphans: Vec<_> = c.orphan_closes.iter().collect();
        orphans.sort_by_key(|(id, _)| (id.0.0, id.1.0));
        self.u(orphans.len() as u64);
        for (&id, close) in orphans {
            self.session_key(id);
            self.close(close);
        }
        self.u(c.unchained);
        self.u(c.unchecked);
        self.opt(c.last_at.as_ref(), |w, &l| w.loc(l));
        let mut v1: Vec<_> = c.v1_sessions.iter().collect();
        v1.sort_by_key(|id| (id.0.0, id.1.0));
        self.u(v1.len() as u64);
        for &id in v1 {
            self.session_key(id);
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u(&mut self) -> Result<u64> {
        let (n, len) = read_varint(&self.bytes[self.at..]).map_err(|_| "a number")?;
        self.at += len;
        Ok(n)
    }

    /// A count of items that follow, each at least one byte: no more than the bytes left.
    fn count(&mut self) -> Result<usize> {
        let n = self.u()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len() - self.at)
            .ok_or("a count larger than the state")
    }

    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).ok_or("a length")?;
        let out = self.bytes.get(self.at..end).ok_or("cut short")?;
        self.at = end;
        Ok(out)
    }

    fn raw<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn bytes(&mut self) -> Result<&[u8]> {
        let n = usize::try_from(self.u()?).map_err(|_| "a length")?;
        self.take(n)
    }

    fn str(&mut self) -> Result<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "a name that is not UTF-8")
    }

    fn flag(&mut self) -> Result<bool> {
        match self.take(1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err("a flag"),
        }
    }

    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        if self.flag()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    fn file(&mut self) -> Result<u32> {
        u32::try_from(self.u()?).map_err(|_| "a file index")
    }

    fn loc(&mut self) -> Result<Loc> {
        Ok(Loc {
            file: self.file()?,
            line: self.u()?,
        })
    }

    fn location(&mut self) -> Result<Location> {
        Ok(Location {
            file: Arc::from(self.str()?),
            line: self.u()?,
        })
    }

    fn kind(&mut self) -> Result<FindingKind> {
        let name = self.str()?;
        (FindingKind::ALL.into_iter())
            .find(|k| k.as_str() == name)
            .ok_or("a kind of finding this enclog does not know")
    }

    fn session_key(&mut self) -> Result<SessionKey> {
        Ok((KeyId(self.raw()?), SessionId(self.raw()?)))
    }

    fn finding(&mut self) -> Result<Finding> {
        Ok(Finding {
            kind: self.kind()?,
            at: self.location()?,
            session: self.opt(|r| Ok(SessionId(r.raw()?)))?,
            seq: self.opt(Reader::u)?,
            missing: self.opt(|r| Ok(r.u()?..=r.u()?))?,
            related: self.opt(Reader::location)?,
            through: self.opt(Reader::location)?,
            message: self.str()?,
            file_index: self.file()?,
        })
    }

    fn line_run(&mut self) -> Result<LineRun> {
        // (Checked by the caller: first_seq <= last_seq.)
        Ok(LineRun {
            kind: self.kind()?,
            first_at: self.loc()?,
            last_at: self.loc()?,
            first_seq: self.u()?,
            last_seq: self.u()?,
            highest: self.u()?,
            related: self.opt(Reader::loc)?,
            at_file_start: self.flag()?,
        })
    }

    fn close(&mut self) -> Result<Close> {
        Ok(Close {
            count: self.u()?,
            tag: self.raw()?,
            at: self.loc()?,
        })
    }

    fn top(&mut self) -> Result<Top> {
        Ok(Top {
            index: self.u()?,
            session: self.session_key()?,
        })
    }

    fn chain(&mut self) -> Result<ChainWalk> {
        let mut c = ChainWalk {
            started: self.flag()?,
            first: self.opt(Reader::session_key)?,
            ..ChainWalk::default()
        };
        for _ in 0..self.count()? {
            let id = self.session_key()?;
            let session = ChainSession {
                lineage: LineageId(self.raw()?),
                index: self.u()?,
                next_chain_key: self.opt(|r| Ok(ChainKey::from_bytes(r.raw()?)))?,
                first_at: self.loc()?,
                close: self.opt(Reader::close)?,
                successor: self.opt(|r| {
                    Ok(Successor {
                        session: r.session_key()?,
                        first_at: r.loc()?,
                        expects: r.opt(|r| Ok((r.u()?, r.raw()?)))?,
                        early: r.flag()?,
                    })
                })?,
                starts_lineage: self.flag()?,
                start_reported: self.flag()?,
            };
            c.sessions.insert(id, session);
        }
        for _ in 0..self.count()? {
            let lineage = LineageId(self.raw()?);
            c.lineages.insert(lineage, self.top()?);
        }
        let mut waiting: HashMap<SessionKey, Vec<Waiting>> = HashMap::new();
        for _ in 0..self.count()? {
            let prev = self.session_key()?;
            let list = waiting.entry(prev).or_default();
            for _ in 0..self.count()? {
                let session = self.session_key()?;
                let first_at = self.loc()?;
                let link = Link::from_saved(self.bytes()?).map_err(|_| "a saved link")?;
                let verdict = match self.u()? {
                    0 => Verdict::Quiet,
                    1 => Verdict::Start,
                    2 => Verdict::Headless,
                    3 => Verdict::Missing {
                        count: self.u()?,
                        after: self.top()?,
                    },
                    4 => Verdict::NewChain,
                    _ => return Err("a verdict"),
                };
                list.push(Waiting {
                    session,
                    first_at,
                    link,
                    verdict,
                    reported: self.flag()?,
                });
            }
        }
        c.waiting = waiting;
        for _ in 0..self.count()? {
            let id = self.session_key()?;
            let close = self.close()?;
            c.orphan_closes.insert(id, close);
        }
        c.unchained = self.u()?;
        c.unchecked = self.u()?;
        c.last_at = self.opt(Reader::loc)?;
        let mut v1 = HashSet::new();
        for _ in 0..self.count()? {
            v1.insert(self.session_key()?);
        }
        c.v1_sessions = v1;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::opener::Opener;
    use crate::{Key, Keyring, Sealer};

    /// A state with a little of everything: two sessions, a gap, a closed one, a link waiting.
    fn sample() -> Zeroizing<Vec<u8>> {
        let key = Key::generate().unwrap();
        let sealer = Sealer::new(key.clone());
        let mut log = Vec::new();
        for i in 0..4 {
            sealer
                .seal_to(None, format!("e{i}").as_bytes(), &mut log)
                .unwrap();
        }
        sealer.close_to(&mut log).unwrap();
        sealer.seal_to(None, b"next", &mut log).unwrap();
        let lines: Vec<&[u8]> = log.split_inclusive(|&b| b == b'\n').collect();
        let part = [lines[0], lines[2], lines[4], lines[5], b"plain\n"].concat();
        let mut v = Verifier::new();
        v.observe_file("app.log", &part[..], &mut Opener::new(Keyring::from(key)))
            .unwrap();
        encode(&v.state().verifier)
    }

    #[test]
    fn a_state_reads_back_as_written() {
        let bytes = sample();
        let again = encode(&decode(&bytes).unwrap());
        assert_eq!(&again[..], &bytes[..]);
    }

    /// What is sealed is checked before it is read; still, no byte string makes the reader
    /// panic: every cut and every one-byte change is an error or a state.
    #[test]
    fn any_cut_or_changed_byte_is_an_error_never_a_panic() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "cut at {len}");
        }
        for at in 0..bytes.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut changed = bytes.to_vec();
                changed[at] = value;
                if let Ok(v) = decode(&changed) {
                    // Whatever it decoded to can be reported on.
                    let _ = v.report();
                }
            }
        }
    }
}
