//! A process-wide **fork generation**: a counter that increases in every child created by
//! `fork()`, read with one relaxed atomic load and no system call.
//!
//! This is the one place of the enclog library that needs `unsafe` (to register a
//! `pthread_atfork` handler; the `enclog` command's `setrlimit` is the workspace's only other
//! shipped `unsafe`); the `enclog` library itself is `#![forbid(unsafe_code)]` and asks
//! this crate whether it is still in the process that drew its nonce session.
//!
//! Threat defended: `fork()` copies a nonce sequence into two processes. A sealer that compares
//! [`generation`] with the value it saw when its session started knows that it is in a child and
//! must draw a new session, instead of sealing a second line under a nonce its parent also uses.
//!
//! ```
//! let g = enclog_fork::generation();
//! // ... no fork happened in between:
//! assert_eq!(enclog_fork::generation(), g);
//! ```

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

#[cfg(unix)]
extern "C" fn in_child() {
    // Async-signal-safe: a single atomic add, no allocation, no lock.
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

fn register() {
    REGISTER.call_once(|| {
        #[cfg(unix)]
        {
            // SAFETY: `pthread_atfork` only records the function pointers; `in_child` is an
            // `extern "C"` function with no arguments that performs one atomic add, which is
            // async-signal-safe and therefore allowed in a child after `fork()`.
            #[allow(unsafe_code)]
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            assert_eq!(rc, 0, "pthread_atfork failed: out of memory");
        }
    });
}

/// Returns the fork generation of the calling process: 0 in a process that was not created by
/// `fork()` since the first call of this function in an ancestor, and a larger number in every
/// forked child.
///
/// The first call registers the `pthread_atfork` handler (once per process); later calls are a
/// single relaxed atomic load. Call it once before the state it guards is created, then compare.
///
/// ```
/// let before = enclog_fork::generation();
/// assert_eq!(before, enclog_fork::generation());
/// ```
pub fn generation() -> u64 {
    register();
    GENERATION.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_sees_a_new_generation_and_parent_keeps_its_own() {
        let before = generation();
        // SAFETY: test-only fork; the child only reads an atomic and calls `_exit`.
        #[allow(unsafe_code)]
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = if generation() == before + 1 { 0 } else { 1 };
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(code)
            };
        }
        let mut status = 0;
        #[allow(unsafe_code)]
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid);
        assert!(libc::WIFEXITED(status));
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "child did not see a new generation"
        );
        assert_eq!(generation(), before, "parent generation changed");
    }
}
