//! Write failures of the encrypted writers: reported once, counted, and cleared when writing
//! works again (threat: a full disk silently dropping audit lines, or a failing writer flooding
//! stderr with one message per event).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What an encrypted writer does when the writer under it fails. Either way a lost line is
/// counted (`lost_lines()`), never written in clear, and never panics.
///
/// ```
/// let policy = enclog::seal::WriteErrorPolicy::default();
/// assert_eq!(policy, enclog::seal::WriteErrorPolicy::ReportOnce);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteErrorPolicy {
    /// Print one message to stderr when writes start failing and one when they succeed again
    /// (with the number of lines lost). The default.
    #[default]
    ReportOnce,
    /// Print nothing; poll `lost_lines()` instead.
    Silent,
}

#[derive(Debug, Default)]
pub(crate) struct FailureState {
    policy: WriteErrorPolicy,
    failing: AtomicBool,
    lost: AtomicU64,
}

impl FailureState {
    pub(crate) fn new(policy: WriteErrorPolicy) -> FailureState {
        FailureState {
            policy,
            ..FailureState::default()
        }
    }

    pub(crate) fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Whether messages go to stderr.
    #[cfg(feature = "tracing")]
    pub(crate) fn reports(&self) -> bool {
        self.policy == WriteErrorPolicy::ReportOnce
    }

    /// Counts `n` lines lost for a reason its caller reports itself (no message here, and the
    /// writer is not marked failing: nothing failed to write).
    #[cfg(feature = "tracing")]
    pub(crate) fn count_lost(&self, n: u64) -> u64 {
        self.lost.fetch_add(n, Ordering::Relaxed) + n
    }

    /// Records one lost line. The message names the error only: never the event.
    pub(crate) fn failed(&self, what: &str, err: &dyn std::fmt::Display) {
        self.failed_lines(1, what, err);
    }

    /// Records `n` lost lines that failed the same way (one message at most).
    pub(crate) fn failed_lines(&self, n: u64, what: &str, err: &dyn std::fmt::Display) {
        let total = self.lost.fetch_add(n, Ordering::Relaxed) + n;
        if !self.failing.swap(true, Ordering::Relaxed)
            && self.policy == WriteErrorPolicy::ReportOnce
        {
            eprintln!(
                "enclog: cannot {what}: {err}; the line was dropped (lost so far: {total}); \
                 further failures are counted silently until a write succeeds"
            );
        }
    }

    /// Records a failed flush: reported like a failed write (once until writing works again),
    /// but no line is counted as lost: the lines were handed over, only flushing them failed.
    #[cfg(any(feature = "log", feature = "tracing"))]
    pub(crate) fn flush_failed(&self, err: &std::io::Error) {
        if !self.failing.swap(true, Ordering::Relaxed)
            && self.policy == WriteErrorPolicy::ReportOnce
        {
            eprintln!(
                "enclog: cannot flush the encrypted log's writer: {err}; further failures are \
                 counted silently until a write succeeds"
            );
        }
    }

    pub(crate) fn succeeded(&self) {
        if self.failing.load(Ordering::Relaxed)
            && self.failing.swap(false, Ordering::Relaxed)
            && self.policy == WriteErrorPolicy::ReportOnce
        {
            eprintln!(
                "enclog: writing encrypted log lines again ({} lost in total)",
                self.lost()
            );
        }
    }

    /// Records the outcome of writing one line: the writers cannot return it (it happens in a
    /// drop, in `log::Log::log`, on a worker thread), so it is reported and counted here.
    pub(crate) fn record(&self, result: std::io::Result<()>) {
        match &result {
            Ok(()) => self.succeeded(),
            Err(e) => self.failed("write an encrypted log line", e),
        }
    }
}
