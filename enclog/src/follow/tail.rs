//! Reading a file backwards: where its last lines start.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use super::BLOCK;

/// Position just after the `count`-th newline before `end`, scanning backwards in blocks; 0 if
/// there are fewer.
fn after_nth_newline_back(file: &mut File, end: u64, count: usize) -> io::Result<u64> {
    if count == 0 {
        return Ok(end);
    }
    let mut block = vec![0u8; BLOCK];
    let mut found = 0;
    let mut pos = end;
    while pos > 0 {
        let len = usize::try_from(pos.min(BLOCK as u64)).unwrap_or(BLOCK);
        pos -= len as u64;
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut block[..len])?;
        for (i, &b) in block[..len].iter().enumerate().rev() {
            if b == b'\n' {
                found += 1;
                if found == count {
                    return Ok(pos + i as u64 + 1);
                }
            }
        }
    }
    Ok(0)
}

/// Where the last `n` complete lines of a file of length `len` start (an unfinished last line
/// is not counted, and is read from its start once it is finished).
pub(super) fn start_of_last_lines(file: &mut File, len: u64, n: usize) -> io::Result<u64> {
    let end_of_complete = after_nth_newline_back(file, len, 1)?;
    if n == 0 || end_of_complete == 0 {
        return Ok(end_of_complete);
    }
    after_nth_newline_back(file, end_of_complete, n + 1)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::BufRead;
    use std::path::Path;

    use super::*;
    use crate::read::DEFAULT_MAX_LINE;

    /// The last `n` lines of the file at `path` (what `tail -n` prints; the tests' view of
    /// [`start_of_last_lines`], whose skipping of huge lines a follower shares), without their newlines, like `tail -n`: an
    /// unfinished last line counts as a line. The file is read backwards in blocks from its end, so
    /// only the lines returned are held in memory, whatever the file's size; a line longer than
    /// [`DEFAULT_MAX_LINE`](crate::read::DEFAULT_MAX_LINE) is skipped (a follower reports such lines as
    /// errors) rather than read into memory.
    fn last_lines(
        path: impl AsRef<Path>,
        n: usize,
    ) -> Result<Vec<Vec<u8>>, crate::follow::FollowError> {
        let path = path.as_ref();
        let io_error = |action, source| crate::follow::FollowError::Io {
            path: path.to_path_buf(),
            action,
            source,
        };
        let mut file = File::open(path).map_err(|e| io_error("open", e))?;
        let len = file.metadata().map_err(|e| io_error("read", e))?.len();
        if n == 0 || len == 0 {
            return Ok(Vec::new());
        }
        let read = |file: &mut File| -> io::Result<Vec<Vec<u8>>> {
            let mut last = [0u8];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            let terminated = last[0] == b'\n';
            let start = after_nth_newline_back(file, len, if terminated { n + 1 } else { n })?;
            file.seek(SeekFrom::Start(start))?;
            // Only up to the length seen: a writer appending meanwhile does not grow the result.
            // Line by line, so that one huge line is skipped rather than read into memory.
            let mut reader = io::BufReader::new(file.take(len - start));
            let mut lines = Vec::new();
            loop {
                let mut line = Vec::new();
                let n = (&mut reader)
                    .take(DEFAULT_MAX_LINE as u64 + 1)
                    .read_until(b'\n', &mut line)?;
                if n == 0 {
                    return Ok(lines);
                }
                let terminated = line.ends_with(b"\n");
                if terminated {
                    line.pop();
                }
                if line.len() > DEFAULT_MAX_LINE {
                    // Over the cap: skip the rest of this line without keeping it.
                    if !terminated {
                        skip_line(&mut reader)?;
                    }
                    continue;
                }
                lines.push(line);
            }
        };
        read(&mut file).map_err(|e| io_error("read", e))
    }

    /// Reads and drops bytes up to and including the next newline (or the end), in bounded pieces.
    fn skip_line(reader: &mut impl BufRead) -> io::Result<()> {
        loop {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    reader.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = available.len();
                    reader.consume(n);
                }
            }
        }
    }

    fn strings(lines: Vec<Vec<u8>>) -> Vec<String> {
        lines
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn last_lines_with_and_without_a_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(strings(last_lines(&path, 2).unwrap()), ["b", "c"]);
        assert_eq!(strings(last_lines(&path, 3).unwrap()), ["a", "b", "c"]);
        assert_eq!(strings(last_lines(&path, 9).unwrap()), ["a", "b", "c"]);
        assert!(last_lines(&path, 0).unwrap().is_empty());
        fs::write(&path, "a\nb\nc").unwrap();
        assert_eq!(strings(last_lines(&path, 2).unwrap()), ["b", "c"]);
        assert_eq!(strings(last_lines(&path, 1).unwrap()), ["c"]);
        fs::write(&path, "\n\nx\n").unwrap();
        assert_eq!(strings(last_lines(&path, 3).unwrap()), ["", "", "x"]);
        fs::write(&path, "").unwrap();
        assert!(last_lines(&path, 5).unwrap().is_empty());
        let err = last_lines(dir.path().join("absent"), 1).unwrap_err();
        assert!(err.to_string().contains("absent"), "{err}");
    }

    #[test]
    fn last_lines_of_a_file_many_blocks_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let all: Vec<String> = (0..40_000).map(|i| format!("line number {i:06}")).collect();
        for ending in ["\n", ""] {
            fs::write(&path, all.join("\n") + ending).unwrap();
            for n in [1, 7, 5_000, 39_999, 40_000, 50_000] {
                let got = strings(last_lines(&path, n).unwrap());
                assert_eq!(
                    got,
                    all[all.len().saturating_sub(n)..],
                    "n = {n}, ending {ending:?}"
                );
            }
        }
        // One line longer than a block.
        let long = "z".repeat(200_000);
        fs::write(&path, format!("first\n{long}\nlast\n")).unwrap();
        assert_eq!(
            strings(last_lines(&path, 2).unwrap()),
            [long, "last".to_string()]
        );
    }

    /// Threat: `last_lines` on a file whose tail is one enormous line (a runaway writer) reading
    /// it whole into memory. Lines over the reader's cap are skipped; the others come back.
    #[test]
    fn last_lines_skips_a_line_over_the_cap_instead_of_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.log");
        let mut text = b"first\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', DEFAULT_MAX_LINE));
        text.push(b'\n'); // exactly at the cap: kept
        text.extend(std::iter::repeat_n(b'y', DEFAULT_MAX_LINE + 10));
        text.extend_from_slice(b"\nlast\n"); // the line before "last" is over the cap: skipped
        std::fs::write(&path, &text).unwrap();
        let lines = last_lines(&path, 4).unwrap();
        let lens: Vec<usize> = lines.iter().map(Vec::len).collect();
        assert_eq!(
            lens,
            [5, DEFAULT_MAX_LINE, 4],
            "first, the line at the cap, last"
        );
        assert_eq!(lines[2], b"last");
    }
}
