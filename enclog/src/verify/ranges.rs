//! Which sequence numbers of a session were read, and where: runs of consecutive numbers, each
//! with the file and the lines that hold it.
//!
//! This is what a saved state keeps of a session's lines (not the lines): it is enough to tell,
//! later or on another machine, which numbers are missing or were read twice, and to name the
//! lines around them (`missing seq 5..=7 between app.log.1:120 and app.log:1`). A range grows
//! while the numbers and the lines follow each other in one file, so a file written by one
//! writer gives one range per session; gaps, copies and moved lines add one range each.

use super::sequence::Loc;

/// Consecutive sequence numbers read in one file, in reading order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SeqRange {
    pub(super) start: u64,
    pub(super) end: u64,
    /// The file (index among the verifier's files).
    pub(super) file: u32,
    /// The line holding `start`.
    pub(super) first_line: u64,
    /// The line holding `end`.
    pub(super) last_line: u64,
    /// Every number's line is the line after the previous number's: the line of any number of
    /// the range is known, not only of its ends.
    pub(super) exact: bool,
}

impl SeqRange {
    pub(super) fn single(seq: u64, at: Loc) -> SeqRange {
        SeqRange {
            start: seq,
            end: seq,
            file: at.file,
            first_line: at.line,
            last_line: at.line,
            exact: true,
        }
    }

    /// The line holding `seq`, when it is known.
    pub(super) fn locate(&self, seq: u64) -> Option<Loc> {
        let line = if seq == self.start {
            self.first_line
        } else if seq == self.end {
            self.last_line
        } else if self.exact && (self.start..=self.end).contains(&seq) {
            self.first_line + (seq - self.start)
        } else {
            return None;
        };
        Some(Loc {
            file: self.file,
            line,
        })
    }

    /// The part of this range from `start` to `end` (both inside it).
    pub(super) fn part(&self, start: u64, end: u64) -> SeqRange {
        let first = self.locate(start);
        let last = self.locate(end);
        SeqRange {
            start,
            end,
            file: self.file,
            first_line: first.map_or(self.first_line, |l| l.line),
            last_line: last.map_or(self.last_line, |l| l.line),
            exact: self.exact || (first.is_some() && last.is_some() && start == end),
        }
    }

    pub(super) fn first_at(&self) -> Loc {
        Loc {
            file: self.file,
            line: self.first_line,
        }
    }

    pub(super) fn last_at(&self) -> Loc {
        Loc {
            file: self.file,
            line: self.last_line,
        }
    }
}

/// The numbers a session has: sorted by `start`, disjoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct SeqRanges {
    pub(super) ranges: Vec<SeqRange>,
}

impl SeqRanges {
    /// Adds `seq`, read at `at`; `seq` must not be in a range yet.
    pub(super) fn insert(&mut self, seq: u64, at: Loc) {
        let i = self.ranges.partition_point(|r| r.start <= seq);
        if i > 0 {
            let r = &mut self.ranges[i - 1];
            if r.end.checked_add(1) == Some(seq) && r.file == at.file && at.line > r.last_line {
                r.exact &= at.line == r.last_line + 1;
                r.end = seq;
                r.last_line = at.line;
                return;
            }
        }
        self.ranges.insert(i, SeqRange::single(seq, at));
    }

    /// Adds a whole range whose numbers are in no range yet (a merge).
    pub(super) fn insert_range(&mut self, range: SeqRange) {
        let i = self.ranges.partition_point(|r| r.start <= range.start);
        self.ranges.insert(i, range);
    }

    /// The range holding `seq`.
    pub(super) fn find(&self, seq: u64) -> Option<&SeqRange> {
        let i = self.ranges.partition_point(|r| r.end < seq);
        self.ranges.get(i).filter(|r| r.start <= seq)
    }

    /// The line holding `seq`, when it is known.
    pub(super) fn locate(&self, seq: u64) -> Option<Loc> {
        self.find(seq).and_then(|r| r.locate(seq))
    }

    /// The parts of `start..=end` that no range holds.
    pub(super) fn missing_in(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut from = start;
        for r in &self.ranges {
            if r.end < from {
                continue;
            }
            if r.start > end {
                break;
            }
            if r.start > from {
                out.push((from, r.start - 1));
            }
            match r.end.checked_add(1) {
                Some(next) => from = next,
                None => return out,
            }
            if from > end {
                return out;
            }
        }
        out.push((from, end));
        out
    }

    /// The parts of `start..=end` that a range holds, with that range.
    pub(super) fn held_in(&self, start: u64, end: u64) -> Vec<(u64, u64, SeqRange)> {
        let i = self.ranges.partition_point(|r| r.end < start);
        self.ranges[i..]
            .iter()
            .take_while(|r| r.start <= end)
            .map(|r| (r.start.max(start), r.end.min(end), *r))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: u32, line: u64) -> Loc {
        Loc { file, line }
    }

    #[test]
    fn consecutive_lines_make_one_exact_range_and_others_split_it() {
        let mut r = SeqRanges::default();
        for seq in 0..5 {
            r.insert(seq, at(0, seq + 1));
        }
        assert_eq!(r.ranges.len(), 1);
        assert_eq!(r.locate(3), Some(at(0, 4)));
        // A plain line between: still one range, but only its ends are known.
        r.insert(5, at(0, 7));
        assert_eq!((r.ranges.len(), r.ranges[0].exact), (1, false));
        assert_eq!((r.locate(5), r.locate(3)), (Some(at(0, 7)), None));
        // Another file starts another range; a gap too.
        r.insert(6, at(1, 1));
        r.insert(9, at(1, 2));
        assert_eq!(r.ranges.len(), 3);
        assert_eq!(r.missing_in(0, 9), [(7, 8)]);
        assert_eq!(r.missing_in(0, 12), [(7, 8), (10, 12)]);
        r.insert(8, at(1, 3));
        assert_eq!(r.missing_in(0, 9), [(7, 7)]);
        let held: Vec<_> = r.held_in(4, 8).iter().map(|&(a, b, _)| (a, b)).collect();
        assert_eq!(held, [(4, 5), (6, 6), (8, 8)]);
    }
}
