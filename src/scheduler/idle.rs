//! Idle accounting: how many workers are searching for work and how many are awake, so that a
//! notification wakes at most one parked worker and only when nobody is already looking.
//!
//! One atomic word holds `searching` (low 16 bits) and `unparked` (the rest). The rules:
//! * a notifier wakes a sleeper only if `searching == 0 && unparked < workers`, and the woken
//!   worker is counted as searching *by the notifier*, so a burst of notifications wakes one
//!   worker, which wakes the next only when it finds work (`transition_from_searching` tells
//!   the last searcher to do so);
//! * at most half the workers search at once (stealing is contention);
//! * a worker registers as parked (under the sleepers lock) *before* its final check of the
//!   injector, and a notifier pushes *before* reading this word, both SeqCst, so one of the two
//!   always sees the other: no wake-up is lost.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

const UNPARKED_SHIFT: usize = 16;
const UNPARKED_ONE: usize = 1 << UNPARKED_SHIFT;
const SEARCHING_MASK: usize = UNPARKED_ONE - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    workers: usize,
}

fn searching(state: usize) -> usize {
    state & SEARCHING_MASK
}

fn unparked(state: usize) -> usize {
    state >> UNPARKED_SHIFT
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Idle {
        assert!(workers < SEARCHING_MASK, "too many worker threads");
        Idle {
            state: AtomicUsize::new(workers << UNPARKED_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            workers,
        }
    }

    fn should_wake_one(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        searching(state) == 0 && unparked(state) < self.workers
    }

    /// Picks the sleeper a notification should wake, if any; it is counted as unparked and
    /// searching before this returns.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_wake_one() {
            return None;
        }
        let mut sleepers = crate::loom::lock(&self.sleepers);
        if !self.should_wake_one() {
            return None;
        }
        let index = sleepers.pop()?;
        self.state.fetch_add(UNPARKED_ONE | 1, Ordering::SeqCst);
        Some(index)
    }

    /// Picks a sleeper to wake even if a worker is searching already (the watchdog's wake);
    /// it is counted as unparked and searching before this returns.
    pub(crate) fn worker_to_wake(&self) -> Option<usize> {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        let index = sleepers.pop()?;
        self.state.fetch_add(UNPARKED_ONE | 1, Ordering::SeqCst);
        Some(index)
    }

    /// A worker out of local work wants to steal. Refused when half the workers already search.
    pub(crate) fn transition_to_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if 2 * searching(state) >= self.workers {
            return false;
        }
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searching worker found work (or gives up). True if it was the last searcher: then it
    /// must make sure somebody keeps looking (found work: wake another; giving up: re-check).
    pub(crate) fn transition_from_searching(&self) -> bool {
        searching(self.state.fetch_sub(1, Ordering::SeqCst)) == 1
    }

    /// The worker is about to park. True if it was the last searcher (then it must re-check
    /// every queue before sleeping).
    pub(crate) fn transition_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        let prev = self
            .state
            .fetch_sub(UNPARKED_ONE + is_searching as usize, Ordering::SeqCst);
        sleepers.push(worker);
        is_searching && searching(prev) == 1
    }

    /// The worker woke up. True if a notifier woke it (it is now counted as searching); false
    /// if it woke on its own (timer, socket, spurious) and had to take itself off the list.
    pub(crate) fn transition_from_parked(&self, worker: usize) -> bool {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        match sleepers.iter().position(|&w| w == worker) {
            Some(pos) => {
                sleepers.swap_remove(pos);
                self.state.fetch_add(UNPARKED_ONE, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }

    #[cfg(test)]
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = self.state.load(Ordering::SeqCst);
        (searching(state), unparked(state))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Idle;

    #[test]
    fn one_notification_wakes_one_worker_and_none_while_searching() {
        let idle = Idle::new(4);
        for w in 0..4 {
            assert!(!idle.transition_to_parked(w, false));
        }
        assert_eq!(idle.counts(), (0, 0));
        let woken = idle.worker_to_notify().unwrap();
        assert_eq!(idle.counts(), (1, 1));
        // Somebody is searching: further notifications wake nobody.
        assert_eq!(idle.worker_to_notify(), None);
        assert!(idle.transition_from_parked(woken));
        assert!(idle.transition_from_searching());
        assert_eq!(idle.counts(), (0, 1));
        assert!(idle.worker_to_notify().is_some());
    }

    #[test]
    fn at_most_half_search_and_self_wake_unregisters() {
        let idle = Idle::new(4);
        assert!(idle.transition_to_searching());
        assert!(idle.transition_to_searching());
        assert!(!idle.transition_to_searching());
        assert!(!idle.transition_from_searching());
        assert!(idle.transition_to_parked(3, true));
        assert!(!idle.transition_from_parked(3));
        assert_eq!(idle.counts(), (0, 4));
    }
}
