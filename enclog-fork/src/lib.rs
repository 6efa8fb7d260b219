//! A process-wide **fork generation**: a number that changes in every copy of a process (a
//! child created by `fork()`, `_Fork()` or a raw `clone(2)` without `CLONE_VM`), read with two
//! atomic loads and no system call.
//!
//! This is the one place of the enclog library that needs `unsafe` (to register a
//! `pthread_atfork` handler and to map the wipe-on-fork page; the `enclog` command's
//! `setrlimit` and `prctl` calls are the workspace's only other shipped `unsafe`); the `enclog`
//! library itself is `#![forbid(unsafe_code)]` and asks this crate whether it is still in the
//! process that drew its nonce session.
//!
//! Threat defended: copying a process copies a nonce sequence into two processes. A sealer that
//! compares [`generation`] with the value it saw when its session started knows that it is in
//! a copy and must draw a new session, instead of sealing a second line under a nonce its
//! parent also uses (two lines under one key and nonce leak the XOR of their plaintexts).
//!
//! # What is detected, and how
//!
//! | copy made by | detected by |
//! |---|---|
//! | `fork()` | the `pthread_atfork` child handler, and on Linux the wipe-on-fork page |
//! | glibc's `_Fork()`, the raw `clone` system call without `CLONE_VM`, `nix::sched::clone`, `clone3` | on Linux only: the wipe-on-fork page (no atfork handler runs) |
//! | `vfork()`, `clone` with `CLONE_VM`, `posix_spawn` | nothing to detect: memory is shared, not copied, so parent and child take numbers from one counter |
//!
//! On Linux (4.14 or later) the first call maps one page and marks it
//! `madvise(MADV_WIPEONFORK)`: the kernel hands every child that does not share the parent's
//! memory a zero-filled copy of that page, however the child was made, and keeps the mark on
//! the child's page, so grandchildren are detected too. The page holds a non-zero marker;
//! [`generation`] reads it and, when it finds zero, takes a new generation and re-writes it.
//! [`detects_copies_without_fork`] tells whether this is active.
//!
//! Where `MADV_WIPEONFORK` is unavailable (other systems, Linux before 4.14, a seccomp policy
//! that refuses `madvise`), only `fork()` is detected, by the `pthread_atfork` handler.
//!
//! # Limits
//!
//! A **process snapshot** copies the page as it is, marker included, and is **not detected**:
//! a virtual machine snapshot or a CRIU checkpoint restored more than once, or restored while
//! the original keeps running. Each running copy continues the same nonce session, so two of
//! them seal different lines under one nonce. Do not snapshot a process that seals, or restart
//! the sealing after a restore (a new `Sealer` draws a new session).
//!
//! ```
//! let g = enclog_fork::generation();
//! // ... no fork happened in between:
//! assert_eq!(enclog_fork::generation(), g);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

/// The highest generation this process (or the one it was copied from) has handed out. Lives
/// in ordinary memory, so every copy starts from its parent's value and counts on from there.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The marker: `generation + 1` of the current process; 0 means "this is a copy that has not
/// noticed yet". On Linux it lives in the wipe-on-fork page, elsewhere in [`FALLBACK`].
static MARKER: OnceLock<&'static AtomicU64> = OnceLock::new();
/// The marker where no wipe-on-fork page could be mapped: never zeroed by the kernel, updated
/// by the atfork handler only.
static FALLBACK: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

#[cfg(unix)]
extern "C" fn in_child() {
    // Async-signal-safe: atomic operations only, no allocation, no lock (`OnceLock::get` is
    // one atomic load). With a wipe-on-fork page the marker is already zero here; arming it
    // now means `generation` does not count this fork a second time.
    let fresh = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(marker) = MARKER.get() {
        marker.store(fresh + 1, Ordering::SeqCst);
    }
}

fn register_atfork() {
    REGISTER.call_once(|| {
        #[cfg(unix)]
        {
            // SAFETY: `pthread_atfork` only records the function pointers; `in_child` is an
            // `extern "C"` function with no arguments that performs atomic operations only,
            // which are async-signal-safe and therefore allowed in a child after `fork()`.
            #[allow(unsafe_code)]
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            assert_eq!(rc, 0, "pthread_atfork failed: out of memory");
        }
    });
}

/// One page marked `MADV_WIPEONFORK`, as an atomic at its start; `None` when the kernel
/// refuses (before Linux 4.14: `EINVAL`) or the page cannot be mapped.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn wipe_on_fork_page() -> Option<&'static AtomicU64> {
    // SAFETY: `sysconf` has no preconditions.
    #[allow(unsafe_code)]
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s >= size_of::<AtomicU64>())?;
    // SAFETY: asks for a new anonymous private mapping at an address of the kernel's choice;
    // no existing memory is touched.
    #[allow(unsafe_code)]
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: `page` and `size` are exactly the mapping just created.
    #[allow(unsafe_code)]
    let advised = unsafe { libc::madvise(page, size, libc::MADV_WIPEONFORK) };
    if advised != 0 {
        // SAFETY: unmaps only the mapping just created, which nothing else references.
        #[allow(unsafe_code)]
        unsafe {
            libc::munmap(page, size);
        }
        return None;
    }
    // SAFETY: the mapping is page-aligned (so aligned for `AtomicU64`), at least 8 bytes long,
    // readable and writable, zero-filled (a valid `AtomicU64`), and never unmapped: it stays
    // valid for the rest of the process and in every copy of it (the kernel keeps the mapping
    // in a child and only zeroes its contents). Only atomic operations ever access it.
    #[allow(unsafe_code)]
    Some(unsafe { &*page.cast::<AtomicU64>() })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn wipe_on_fork_page() -> Option<&'static AtomicU64> {
    None
}

#[cold]
fn init() -> &'static AtomicU64 {
    register_atfork();
    let marker = wipe_on_fork_page().unwrap_or(&FALLBACK);
    marker.store(GENERATION.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
    marker
}

/// The marker read 0: this process is a copy whose page the kernel wiped and nobody has
/// noticed yet. Several threads of the copy may get here at once; each takes a number above
/// everything handed out so far (so above any generation a session in the copied memory was
/// drawn under), and the first to re-arm the marker decides the generation they all return.
#[cold]
fn copied(marker: &AtomicU64, generation: &AtomicU64) -> u64 {
    let fresh = generation.fetch_add(1, Ordering::SeqCst) + 1;
    match marker.compare_exchange(0, fresh + 1, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => fresh,
        Err(armed) => armed - 1,
    }
}

/// Returns the fork generation of the calling process: 0 in a process that was not copied
/// since the first call of this function in an ancestor, and a different, larger number in
/// every copy (see the [crate] documentation for which copies are detected).
///
/// The first call registers the `pthread_atfork` handler and maps the wipe-on-fork page (once
/// per process); later calls are two atomic loads (the lazy initialisation's state and the
/// marker), no system call. Call it once before the state it guards is created, then compare.
///
/// ```
/// let before = enclog_fork::generation();
/// assert_eq!(before, enclog_fork::generation());
/// ```
#[inline]
pub fn generation() -> u64 {
    let marker = *MARKER.get_or_init(init);
    match marker.load(Ordering::Relaxed) {
        0 => copied(marker, &GENERATION),
        armed => armed - 1,
    }
}

/// Whether this process detects copies made without `fork()` (by `_Fork()`, or by a raw
/// `clone(2)` without `CLONE_VM`): true where the wipe-on-fork page could be set up (Linux
/// 4.14 or later), false where only `fork()` is detected.
///
/// ```
/// if cfg!(target_os = "linux") && !enclog_fork::detects_copies_without_fork() {
///     eprintln!("MADV_WIPEONFORK unavailable: only fork() children start new sessions");
/// }
/// ```
pub fn detects_copies_without_fork() -> bool {
    !std::ptr::eq(*MARKER.get_or_init(init), &FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_ok(pid: libc::pid_t, what: &str) {
        let mut status = 0;
        #[allow(unsafe_code)]
        // SAFETY: waits for a child this test created.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid);
        assert!(libc::WIFEXITED(status), "{what}: child did not exit");
        assert_eq!(libc::WEXITSTATUS(status), 0, "{what}");
    }

    #[allow(unsafe_code)]
    fn exit_child(code: i32) -> ! {
        // SAFETY: ends a child without unwinding into the test harness.
        unsafe { libc::_exit(code) }
    }

    #[test]
    fn child_sees_a_new_generation_and_parent_keeps_its_own() {
        let before = generation();
        // SAFETY: test-only fork; the child only reads atomics and calls `_exit`.
        #[allow(unsafe_code)]
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // Exactly one more: the atfork handler and the wiped page do not count twice.
            exit_child(if generation() == before + 1 { 0 } else { 1 });
        }
        wait_ok(pid, "a fork child did not see exactly one new generation");
        assert_eq!(generation(), before, "parent generation changed");
    }

    /// A raw `clone` system call without `CLONE_VM` runs no atfork handler; on Linux the
    /// wiped page still tells the child (and its own raw-clone child) that it is a copy.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn a_raw_clone_child_and_grandchild_see_new_generations() {
        assert!(
            detects_copies_without_fork(),
            "MADV_WIPEONFORK unavailable on this kernel"
        );
        #[allow(unsafe_code)]
        fn raw_clone() -> libc::pid_t {
            // SAFETY: `clone` with only SIGCHLD as flags and no new stack behaves as `fork`
            // without the libc wrapper (no atfork handlers); the child only reads and writes
            // atomics, calls `clone`/`waitpid` again and ends with `_exit`.
            let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) };
            assert!(pid >= 0, "clone failed");
            pid as libc::pid_t
        }
        let before = generation();
        let pid = raw_clone();
        if pid == 0 {
            let child = generation();
            if child == before || generation() != child {
                exit_child(1);
            }
            let grandchild = raw_clone();
            if grandchild == 0 {
                let g = generation();
                exit_child(if g != child && g != before { 0 } else { 2 });
            }
            let mut status = 0;
            // SAFETY: waits for the grandchild this child created.
            #[allow(unsafe_code)]
            let waited = unsafe { libc::waitpid(grandchild, &mut status, 0) };
            let ok = waited == grandchild && libc::WIFEXITED(status);
            exit_child(if ok { libc::WEXITSTATUS(status) } else { 3 });
        }
        wait_ok(
            pid,
            "a raw clone child or grandchild kept its parent's generation",
        );
        assert_eq!(generation(), before, "parent generation changed");
    }

    /// Threads of a copy that all notice the wiped marker at once agree on one new generation,
    /// above every generation handed out before.
    #[test]
    fn threads_noticing_a_copy_at_once_agree_on_one_new_generation() {
        for _ in 0..200 {
            let (marker, counter) = (AtomicU64::new(0), AtomicU64::new(7));
            let barrier = std::sync::Barrier::new(4);
            let seen: Vec<u64> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            match marker.load(Ordering::Relaxed) {
                                0 => copied(&marker, &counter),
                                armed => armed - 1,
                            }
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(seen.iter().all(|&g| g == seen[0]), "{seen:?}");
            assert!(seen[0] > 7);
            assert_eq!(marker.load(Ordering::Relaxed), seen[0] + 1);
        }
    }
}
