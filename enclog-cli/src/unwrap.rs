//! `decrypt --unwrap`: container runtimes' log wrappers removed before decryption.
//!
//! - Docker's json-file driver writes `{"log":"…","stream":"stdout","time":"…"}` per record
//!   and splits lines longer than 16 KiB into several records, all but the last without the
//!   final `\n`.
//! - The Kubernetes CRI format (kubelet, containerd, CRI-O) writes
//!   `TIMESTAMP STREAM TAG CONTENT`, TAG `P` for a partial line continued by the next record
//!   of the same stream, `F` for the last piece.
//!
//! Each line is recognised on its own; other lines pass through unchanged. Partial records are
//! joined per stream, so an event split by the runtime decrypts whole. Line numbers in messages
//! stay those of the file: [`LineMap`] tells them for the joined lines.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

/// Maps the lines [`Unwrap`] emits to the file's line numbers (the last record of a joined
/// line). Entries are dropped as they are looked up, so it stays as small as the read-ahead.
#[derive(Clone, Default)]
pub(crate) struct LineMap {
    /// (first emitted line with this shift, source line − emitted line), in order.
    shifts: Rc<RefCell<VecDeque<(u64, u64)>>>,
    current: Rc<RefCell<u64>>,
}

impl LineMap {
    /// The file's line number of emitted line `emitted` (asked in increasing order).
    pub(crate) fn source_line(&self, emitted: u64) -> u64 {
        let mut shifts = self.shifts.borrow_mut();
        let mut current = self.current.borrow_mut();
        while let Some(&(from, shift)) = shifts.front() {
            if from > emitted {
                break;
            }
            *current = shift;
            shifts.pop_front();
        }
        emitted + *current
    }

    fn record(&self, emitted: u64, source: u64, last_shift: &mut u64) {
        let shift = source - emitted;
        if shift != *last_shift {
            self.shifts.borrow_mut().push_back((emitted, shift));
            *last_shift = shift;
        }
    }
}

/// A reader of unwrapped lines.
pub(crate) struct Unwrap<R> {
    inner: R,
    record: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    /// Partial lines waiting for their end: stdout, stderr.
    partial: [Vec<u8>; 2],
    source_line: u64,
    emitted: u64,
    last_shift: u64,
    map: LineMap,
    max_line: usize,
}

impl<R: BufRead> Unwrap<R> {
    pub(crate) fn new(inner: R, max_line: usize) -> (Unwrap<R>, LineMap) {
        let map = LineMap::default();
        let reader = Unwrap {
            inner,
            record: Vec::new(),
            out: Vec::new(),
            pos: 0,
            partial: [Vec::new(), Vec::new()],
            source_line: 0,
            emitted: 0,
            last_shift: 0,
            map: map.clone(),
            max_line,
        };
        (reader, map)
    }

    /// Reads records until one line is complete; puts it in `out`. `false` at the end.
    fn next_line(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        loop {
            self.record.clear();
            let limit = self.max_line as u64 + 1;
            let n = (&mut self.inner)
                .take(limit)
                .read_until(b'\n', &mut self.record)?;
            if n == 0 {
                // The end: a partial line that never got its last piece comes out as it is.
                for partial in &mut self.partial {
                    if !partial.is_empty() {
                        self.out.append(partial);
                        self.out.push(b'\n');
                        self.emit();
                        return Ok(true);
                    }
                }
                return Ok(false);
            }
            self.source_line += 1;
            let record = self.record.strip_suffix(b"\n").unwrap_or(&self.record);
            let (stream, content, complete) = match parse(record) {
                Some(parsed) => parsed,
                None => {
                    self.out.extend_from_slice(record);
                    self.out.push(b'\n');
                    self.emit();
                    return Ok(true);
                }
            };
            let partial = &mut self.partial[stream];
            if partial.len() + content.len() > self.max_line {
                // Bounded memory: an over-long joined line is cut here; the decryptor reports
                // the piece it gets as not opening.
                partial.clear();
            }
            partial.extend_from_slice(&content);
            if complete {
                self.out.append(partial);
                self.out.push(b'\n');
                self.emit();
                return Ok(true);
            }
        }
    }

    fn emit(&mut self) {
        self.emitted += 1;
        self.map
            .record(self.emitted, self.source_line, &mut self.last_shift);
    }
}

impl<R: BufRead> Read for Unwrap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Unwrap<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.out.len() && !self.next_line()? {
            return Ok(&[]);
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.out.len());
    }
}

/// One wrapper record: (stream index, content without the line's `\n`, whether the line is
/// complete). `None`: not a wrapper record.
fn parse(record: &[u8]) -> Option<(usize, Vec<u8>, bool)> {
    if record.first() == Some(&b'{') {
        return parse_docker(record);
    }
    parse_cri(record)
}

fn parse_docker(record: &[u8]) -> Option<(usize, Vec<u8>, bool)> {
    let parsed: serde_json::Value = serde_json::from_slice(record).ok()?;
    let stream = usize::from(parsed.get("stream").and_then(|s| s.as_str()) == Some("stderr"));
    let mut log = parsed.get("log")?.as_str()?.as_bytes().to_vec();
    let complete = log.ends_with(b"\n");
    if complete {
        log.pop();
    }
    Some((stream, log, complete))
}

fn parse_cri(record: &[u8]) -> Option<(usize, Vec<u8>, bool)> {
    let mut parts = record.splitn(4, |&b| b == b' ');
    let time = parts.next()?;
    let stream = parts.next()?;
    let tag = parts.next()?;
    let content = parts.next().unwrap_or(b"");
    let looks_like_time = time.first().is_some_and(u8::is_ascii_digit) && time.contains(&b'T');
    let stream = match stream {
        b"stdout" => 0,
        b"stderr" => 1,
        _ => return None,
    };
    let complete = match tag.split(|&b| b == b':').next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    looks_like_time.then(|| (stream, content.to_vec(), complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unwrap_all(input: &str) -> (String, Vec<u64>) {
        let (mut reader, map) = Unwrap::new(input.as_bytes(), 1 << 20);
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        let lines = (1..=out.lines().count() as u64)
            .map(|n| map.source_line(n))
            .collect();
        (out, lines)
    }

    #[test]
    fn docker_records_are_unwrapped_and_partials_joined() {
        let input = concat!(
            "{\"log\":\"a \\\"quoted\\\" line\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            "{\"log\":\"first half \",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            "{\"log\":\"err\\n\",\"stream\":\"stderr\",\"time\":\"t\"}\n",
            "{\"log\":\"second half\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            "not a wrapper\n",
        );
        let (out, lines) = unwrap_all(input);
        assert_eq!(
            out,
            "a \"quoted\" line\nerr\nfirst half second half\nnot a wrapper\n"
        );
        assert_eq!(lines, [1, 3, 4, 5]);
    }

    #[test]
    fn cri_records_are_unwrapped_and_partials_joined() {
        let input = concat!(
            "2026-11-26T20:27:30.1Z stdout P abc\n",
            "2026-11-26T20:27:30.2Z stdout F def\n",
            "2026-11-26T20:27:30.3Z stderr F \n",
            "plain line with spaces in it\n",
            "2026-11-26T20:27:30.4Z stdout P cut off at the end",
        );
        let (out, lines) = unwrap_all(input);
        assert_eq!(
            out,
            "abcdef\n\nplain line with spaces in it\ncut off at the end\n"
        );
        assert_eq!(lines, [2, 3, 4, 5]);
    }
}
