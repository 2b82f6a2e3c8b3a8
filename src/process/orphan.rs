//! Orphans: children whose [`Child`](super::Child) was dropped while they still ran (or that
//! `kill_on_drop` just killed). Nobody will `wait` for them, so spindle reaps them itself, with
//! no thread and whether or not any runtime is still alive.
//!
//! * Their pids go into a process-global, lock-free table: chunks of 64 atomic slots, linked
//!   from a static head, allocated by ordinary code and never freed (the table only grows to
//!   the largest number of orphans alive at once).
//! * The first orphan installs a `SIGCHLD` action (with `signal-hook-registry`, beside any other
//!   handler). A child's exit raises `SIGCHLD`, and the action reaps every orphan in the table
//!   that has exited: `waitpid(pid, WNOHANG)` is async-signal-safe, and so are the atomics.
//! * Ordinary code sweeps the table too: right after adopting an orphan (it may have exited
//!   before its pid was in the table, so its `SIGCHLD` found nothing to reap) and on every spawn.
//!
//! A pid stays valid until it is reaped (a zombie keeps it), so the only hazard is two reapers
//! of one slot: after the first reaped it, the pid may be reused by an unrelated child, which the
//! second would then reap. Each slot therefore carries a CLAIMED bit: only the claimer calls
//! `waitpid`. A reaper that finds the slot claimed sets DIRTY instead, and the claimer, before
//! giving the claim back, sees DIRTY and looks again — so an exit that lands while another
//! reaper holds the claim is never missed.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::ptr;

const CHUNK: usize = 64;
/// Set while one reaper examines the slot.
const CLAIMED: u64 = 1 << 32;
/// Set by a reaper that found the slot claimed: the claimer must look again.
const DIRTY: u64 = 1 << 33;
const PID_MASK: u64 = u32::MAX as u64;

struct Chunk {
    /// 0 = free; otherwise the pid, plus the CLAIMED / DIRTY bits.
    slots: [AtomicU64; CHUNK],
    next: *const Chunk,
}

/// The newest chunk; each links to the previous one.
static HEAD: AtomicPtr<Chunk> = AtomicPtr::new(ptr::null_mut());
/// Serialises growing the table (ordinary code only; the handler never allocates).
static GROW: Mutex<()> = Mutex::new(());
/// Whether the SIGCHLD action is installed.
static REAPER: AtomicBool = AtomicBool::new(false);
static REAPER_INSTALL: Mutex<()> = Mutex::new(());

/// Calls `f` on every slot of the table. Async-signal-safe (loads only).
fn for_each_slot(mut f: impl FnMut(&AtomicU64)) {
    // Acquire: pairs with the Release publication of a new chunk in `insert`.
    let mut chunk = HEAD.load(Ordering::Acquire).cast_const();
    while !chunk.is_null() {
        // SAFETY: chunks are leaked (never freed) and fully initialised before they are
        // published with Release; `next` is immutable after publication.
        let current = unsafe { &*chunk };
        current.slots.iter().for_each(&mut f);
        chunk = current.next;
    }
}

/// Hands `pid` (a child of this process that nobody will wait for) to the reaper.
pub(crate) fn adopt(pid: u32) {
    install_reaper();
    insert(pid);
    // It may have exited before its pid was in the table.
    reap();
}

fn insert(pid: u32) {
    let value = u64::from(pid);
    let mut placed = false;
    for_each_slot(|slot| {
        // Relaxed load: a hint that the CAS (AcqRel, like every transition of a slot) confirms.
        if !placed && slot.load(Ordering::Relaxed) == 0 {
            placed = slot
                .compare_exchange(0, value, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok();
        }
    });
    if placed {
        return;
    }
    let _grow = crate::loom::lock(&GROW);
    let chunk = Box::new(Chunk {
        slots: std::array::from_fn(|i| AtomicU64::new(if i == 0 { value } else { 0 })),
        // Relaxed: the GROW lock orders writers of HEAD; readers use Acquire.
        next: HEAD.load(Ordering::Relaxed),
    });
    // Release: publishes the chunk's contents to the Acquire load in `for_each_slot`.
    HEAD.store(Box::into_raw(chunk), Ordering::Release);
}

/// Reaps every orphan that has exited. Async-signal-safe: atomics and `waitpid` only.
pub(crate) fn reap() {
    for_each_slot(reap_slot);
}

fn reap_slot(slot: &AtomicU64) {
    loop {
        // Acquire/AcqRel throughout: the slot word is the only shared state, and a claimer
        // must see the latest pid and flags.
        let state = slot.load(Ordering::Acquire);
        if state == 0 {
            return;
        }
        if state & CLAIMED != 0 {
            if state & DIRTY != 0
                || slot
                    .compare_exchange(state, state | DIRTY, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                return; // the claimer will look again
            }
            continue;
        }
        if slot
            .compare_exchange(state, state | CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        let pid = (state & PID_MASK) as libc::pid_t;
        loop {
            let mut status = 0;
            // SAFETY: `waitpid` is async-signal-safe; `status` is a valid out-pointer. `pid` is
            // our unreaped child (only the claimer reaps a slot), so it names no other process.
            let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            let gone = reaped == pid
                || (reaped == -1
                    && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR));
            if gone {
                // Reaped, or not our child any more (ECHILD: e.g. SIGCHLD set to SIG_IGN).
                slot.store(0, Ordering::Release);
                return;
            }
            if reaped == 0 {
                let claimed = state & PID_MASK | CLAIMED;
                match slot.compare_exchange(
                    claimed,
                    state & PID_MASK,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return, // still running; released
                    // DIRTY: someone saw a SIGCHLD meanwhile. Clear it and look again.
                    Err(_) => slot.store(claimed, Ordering::Release),
                }
            }
            // EINTR: try again.
        }
    }
}

/// Installs the SIGCHLD action that reaps orphans (once per process).
fn install_reaper() {
    // Acquire: pairs with the Release below.
    if REAPER.load(Ordering::Acquire) {
        return;
    }
    let _install = crate::loom::lock(&REAPER_INSTALL);
    if REAPER.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: the action is async-signal-safe (`reap` uses atomics and `waitpid` only; it
    // never allocates or locks), and SIGCHLD is not a forbidden signal.
    let installed = unsafe { signal_hook_registry::register(libc::SIGCHLD, reap) };
    // If installing fails (it does not on Linux), orphans are still reaped by the sweeps on
    // adopt and spawn, only later.
    if installed.is_ok() {
        // Release: publishes the installed action.
        REAPER.store(true, Ordering::Release);
    }
}

/// Sweeps the table if it ever held anything (one atomic load otherwise).
pub(crate) fn reap_if_any() {
    // Relaxed: a hint; a chunk published concurrently is swept by its own adopter.
    if !HEAD.load(Ordering::Relaxed).is_null() {
        reap();
    }
}

/// How many orphans are waiting to be reaped.
#[cfg(test)]
pub(crate) fn pending() -> usize {
    let mut count = 0;
    for_each_slot(|slot| {
        if slot.load(Ordering::Acquire) != 0 {
            count += 1;
        }
    });
    count
}
