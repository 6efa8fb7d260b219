//! A worker thread of a [`ParallelDecryptor`](super::ParallelDecryptor): takes a free
//! chunk, fills it from the input, opens (and renders) its lines, passes it on.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use super::Job;
use super::chunk::{Chunk, Render};
use super::source::{Fill, Source};
use crate::key::keyring::Keyring;
use crate::read::opener::Opener;

/// What the workers share: the pool of free chunks and the input they are filled from.
pub(super) struct Feed<R> {
    pub(super) free: Mutex<Receiver<Chunk>>,
    pub(super) source: Mutex<Source<R>>,
}

/// The worker: takes a free chunk, fills it with the next lines of the input, opens them and
/// passes the chunk on, until the input ends (or fails, or the caller has gone).
pub(super) fn decrypt_chunks<R: Read>(
    keyring: Keyring,
    max_line: usize,
    render: Option<&Render>,
    feed: &Feed<R>,
    results: &Sender<Job>,
) {
    let mut opener = Opener::new(keyring);
    loop {
        let Some(mut chunk) = take_free(&feed.free) else {
            return; // the caller has gone
        };
        let mut source = lock_spinning(&feed.source);
        if feed.source.is_poisoned() {
            // Another worker's reader panicked mid-fill: what it held is gone, and its guard
            // has reported the panic in the place of the chunk it was filling.
            return;
        }
        // A reader that panics is reported in the place of the chunk it was filling, like a
        // panic while opening (not as the end of the input).
        let guard = PanicGuard {
            index: source.next_index(),
            results,
        };
        let filled = source.fill(&mut chunk);
        std::mem::forget(guard);
        drop(source);
        let index = match filled {
            Fill::Lines(index) => index,
            Fill::End => return,
            Fill::Failed(index, e) => {
                let _ = results.send((index, Err(e)));
                return;
            }
        };
        let guard = PanicGuard { index, results };
        chunk.decrypt(&mut opener, max_line, render);
        std::mem::forget(guard);
        if results.send((index, Ok(chunk))).is_err() {
            return; // the caller has gone
        }
    }
}

/// How long a worker spins for a lock or a free chunk before it sleeps: a little more than
/// filling a chunk from the page cache takes (~60–80 µs for 256 KiB).
const SPIN: Duration = Duration::from_micros(200);

/// Locks `mutex`, spinning for up to [`SPIN`] before sleeping. Why not sleep at once: the
/// worker that holds the lock wakes the sleeper, and Linux tends to wake a thread on its waker's
/// core (wake-affine); two workers then share one core while the other idles until the load
/// is balanced, milliseconds later. Measured with `perf sched` on two cores: one core idle
/// 10–47 % of a `decrypt --jobs 2` run when the workers slept on the input's lock.
fn lock_spinning<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    let start = Instant::now();
    loop {
        match mutex.try_lock() {
            Ok(guard) => return guard,
            // Poisoned: a worker panicked holding it. The caller decides (see `is_poisoned`).
            Err(TryLockError::Poisoned(e)) => return e.into_inner(),
            Err(TryLockError::WouldBlock) if start.elapsed() < SPIN => std::hint::spin_loop(),
            Err(TryLockError::WouldBlock) => {
                return mutex.lock().unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

/// A chunk from the pool, waiting (spinning first, as [`lock_spinning`]) while the caller still
/// holds them all; `None` once the caller has gone.
fn take_free(free: &Mutex<Receiver<Chunk>>) -> Option<Chunk> {
    let free = lock_spinning(free);
    let start = Instant::now();
    loop {
        match free.try_recv() {
            Ok(chunk) => return Some(chunk),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if start.elapsed() < SPIN => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => return free.recv().ok(),
        }
    }
}

/// Sends an error in place of the chunk a worker was opening if it panics, so that the caller
/// gets an error at that point instead of waiting forever for the missing chunk.
struct PanicGuard<'a> {
    index: u64,
    results: &'a Sender<Job>,
}

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        let _ = self.results.send((
            self.index,
            Err(io::Error::other(
                "a decryption thread panicked; lines from this point on were not read",
            )),
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;

    use super::*;

    #[test]
    fn a_worker_that_panics_leaves_an_error_in_its_chunks_place() {
        let (tx, rx) = mpsc::channel();
        let worker = thread::spawn(move || {
            let _guard = PanicGuard {
                index: 7,
                results: &tx,
            };
            panic!("simulated bug while opening a chunk");
        });
        assert!(worker.join().is_err());
        let (index, chunk) = rx.recv().unwrap();
        assert_eq!(index, 7);
        let Err(e) = chunk else {
            panic!("the guard sent a chunk, not an error")
        };
        assert!(e.to_string().contains("panicked"));
    }
}
