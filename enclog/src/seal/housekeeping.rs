//! One background thread per process for the sealers' timed chores: today, retiring a
//! recipient-mode session whose `max_age` passed while its writer was idle (so its key does not
//! outlive the rotation interval), and checking what a [`LogFile`](crate::file::LogFile)'s path
//! names (so a writer follows its log across logrotate's rename).
//!
//! Threat: an idle writer keeping its session key in memory past the rotation interval. Rotation
//! used to happen only at the next seal, so a writer that logged once and then idled for a day
//! exposed that line's session key to a memory dump for a day.
//!
//! A [`Chore`] is held by a weak reference: a dropped sealer drops out of the list, and the
//! thread never keeps one alive. The list is process-wide and lock-free (an `ArcSwap`), so a
//! forked child inherits its parent's chores and reads them without a lock (threat: a child of
//! a pre-fork server writing into the rotated file forever, because nothing in it watched the
//! path). Threads do not survive `fork()`: the thread's state (its lock and condition
//! variable) is keyed by [`enclog_fork::generation`], a child never touches its parent's lock
//! (a thread of the parent may have held it at the fork), and the child's thread is started by
//! [`resume`] (a sealer calls it when it starts a session: once per forked child, at its first
//! line) or by the next [`register`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Instant;

use arc_swap::ArcSwapOption;

/// Something the background thread does when it is due.
pub(crate) trait Chore: Send + Sync {
    /// Does what is due at `now`; returns when it should run next (`None`: only when woken).
    /// In a forked child it runs in the child, with the state the child inherited.
    fn run(&self, now: Instant) -> Option<Instant>;
}

type Chores = Vec<Weak<dyn Chore>>;

/// Every registered chore of this process, inherited by a forked child.
static CHORES: ArcSwapOption<Chores> = ArcSwapOption::const_empty();

/// The background thread's state in one process (one fork generation).
struct Housekeeper {
    generation: u64,
    /// Whether a thread runs for this state; `false` if none was started or it could not be.
    running: AtomicBool,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// Set by [`wake`] (and [`register`]): run the chores again before sleeping.
    woken: bool,
}

static CURRENT: ArcSwapOption<Housekeeper> = ArcSwapOption::const_empty();

/// The housekeeper of this process, created (with a fresh lock) in a forked child.
fn current() -> Arc<Housekeeper> {
    let generation = enclog_fork::generation();
    loop {
        let seen = CURRENT.load_full();
        if let Some(keeper) = seen.as_ref().filter(|k| k.generation == generation) {
            return Arc::clone(keeper);
        }
        let fresh = Arc::new(Housekeeper {
            generation,
            running: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let previous = CURRENT.compare_and_swap(&seen, Some(Arc::clone(&fresh)));
        let installed = match (&*previous, &seen) {
            (Some(p), Some(s)) => Arc::ptr_eq(p, s),
            (None, None) => true,
            _ => false,
        };
        if installed {
            if let Some(parent) = seen {
                // The parent's state may be locked by a thread that does not exist here:
                // never drop (or touch) it in the child.
                std::mem::forget(parent);
            }
            return fresh;
        }
    }
}

/// Adds `chore` to this process's background thread (starting it if needed) and runs it soon;
/// a chore already in the list (registered again in a forked child) is not added twice.
/// Returns `false` when the thread cannot be started: the caller then relies on its own
/// fallback (a sealer rotates at its next line, as before).
pub(crate) fn register(chore: Weak<dyn Chore>) -> bool {
    CHORES.rcu(|chores| {
        let mut all: Chores = chores
            .iter()
            .flat_map(|c| c.iter())
            .filter(|c| c.strong_count() > 0)
            .cloned()
            .collect();
        if !all.iter().any(|c| Weak::ptr_eq(c, &chore)) {
            all.push(chore.clone());
        }
        Some(Arc::new(all))
    });
    let keeper = current();
    let mut state = keeper.state.lock().unwrap_or_else(|e| e.into_inner());
    state.woken = true;
    keeper.start(&mut state);
    keeper.wake.notify_one();
    keeper.running.load(Ordering::Relaxed)
}

/// Starts this process's background thread if chores are registered and none runs: in a
/// forked child, the parent's chores (a [`LogFile`](crate::file::LogFile)'s watch) then run in
/// the child too. Cheap when the thread runs (two atomic loads); call it at a rare event (a
/// session start), not per line.
pub(crate) fn resume() {
    let keeper = current();
    if keeper.running.load(Ordering::Relaxed) || CHORES.load().as_ref().is_none_or(|c| c.is_empty())
    {
        return;
    }
    let mut state = keeper.state.lock().unwrap_or_else(|e| e.into_inner());
    state.woken = true;
    keeper.start(&mut state);
    keeper.wake.notify_one();
}

/// Makes the background thread run its chores again now (a chore's schedule changed).
pub(crate) fn wake() {
    let keeper = current();
    let mut state = keeper.state.lock().unwrap_or_else(|e| e.into_inner());
    state.woken = true;
    keeper.wake.notify_one();
}

impl Housekeeper {
    /// Spawns the thread unless one runs; `state` (the lock) orders concurrent starts.
    fn start(self: &Arc<Self>, _state: &mut State) {
        if self.running.load(Ordering::Relaxed) {
            return;
        }
        let for_thread = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("enclog-housekeeping".into())
            .spawn(move || for_thread.work());
        self.running.store(spawned.is_ok(), Ordering::Relaxed);
    }

    fn work(&self) {
        loop {
            // Run the chores without holding the lock: a chore may wait for a writer, and that
            // writer may be starting a session of another sealer (which registers or wakes).
            self.state.lock().unwrap_or_else(|e| e.into_inner()).woken = false;
            let chores: Vec<Arc<dyn Chore>> = CHORES
                .load()
                .iter()
                .flat_map(|c| c.iter())
                .filter_map(Weak::upgrade)
                .collect();
            let now = Instant::now();
            let next = chores.iter().filter_map(|c| c.run(now)).min();
            drop(chores);
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.woken {
                continue;
            }
            let _state = match next {
                Some(at) => {
                    let wait = at.saturating_duration_since(Instant::now());
                    self.wake
                        .wait_timeout(state, wait)
                        .map(|(s, _)| s)
                        .unwrap_or_else(|e| e.into_inner().0)
                }
                None => self.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    struct Counter(AtomicUsize);

    impl Chore for Counter {
        fn run(&self, now: Instant) -> Option<Instant> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Some(now + Duration::from_millis(5))
        }
    }

    /// A registered chore runs again and again on its schedule, and a dropped one is let go.
    #[test]
    fn a_chore_runs_on_its_schedule_and_is_dropped_with_its_owner() {
        let chore = Arc::new(Counter(AtomicUsize::new(0)));
        let weak: Weak<dyn Chore> = Arc::downgrade(&chore) as Weak<dyn Chore>;
        assert!(register(weak.clone()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while chore.0.load(Ordering::SeqCst) < 3 {
            assert!(
                Instant::now() < deadline,
                "the chore did not run three times"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(chore);
        // The thread may hold it for the length of one run, never longer.
        while weak.upgrade().is_some() {
            assert!(Instant::now() < deadline, "the thread kept the chore alive");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
