//! Process-wide signal state: the self-pipe, one slot per signal number, and the handler that
//! `signal-hook-registry` runs.
//!
//! * The **handler** (installed once per signal number, never removed) does two
//!   async-signal-safe things: it bumps the slot's `generation` counter and writes one byte to
//!   the non-blocking self-pipe (a `socketpair`). If the pipe is full the byte is dropped: a
//!   full pipe already guarantees a readiness event, and the counter already moved.
//! * A **listener** ([`Signal`](super::unix::Signal)) remembers the generation it has seen. It is
//!   ready when the counter moved past it, so several listeners of one kind each see every
//!   delivery, and a signal that arrives while nobody is waiting is kept until the next `recv`
//!   (several such arrivals coalesce into one, as in tokio).
//! * Each listener owns a key in its slot's waiter list. [`broadcast`] (run by a runtime's
//!   driver after it drained the pipe) wakes the waiters of every slot whose generation moved
//!   since the last broadcast. A listener stores its waker under the list's mutex and then
//!   re-reads the counter, so a delivery racing with a registration is never lost.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::task::Waker;

/// Signal numbers `1..SLOTS` are tracked (Linux's `SIGRTMAX` is 64).
const SLOTS: usize = 65;

/// Signals that must not get a handler: they cannot be caught (`SIGKILL`, `SIGSTOP`), or
/// returning from a handler for them is undefined behaviour when the kernel raised them
/// (`SIGSEGV`, `SIGILL`, `SIGFPE`, `SIGBUS`).
const FORBIDDEN: [(libc::c_int, &str); 6] = [
    (libc::SIGKILL, "SIGKILL"),
    (libc::SIGSTOP, "SIGSTOP"),
    (libc::SIGSEGV, "SIGSEGV"),
    (libc::SIGILL, "SIGILL"),
    (libc::SIGFPE, "SIGFPE"),
    (libc::SIGBUS, "SIGBUS"),
];

/// The state of one signal number.
struct Slot {
    /// Bumped by the handler on every delivery.
    generation: AtomicUsize,
    /// The generation whose waiters the last [`broadcast`] woke.
    delivered: AtomicUsize,
    /// Whether the handler is installed (a fast skip for [`broadcast`]).
    installed: AtomicBool,
    /// Serialises installation.
    install: Mutex<()>,
    waiters: Mutex<Waiters>,
}

/// One entry per live listener of the slot: `None` until it waits.
#[derive(Default)]
struct Waiters {
    entries: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            generation: AtomicUsize::new(0),
            delivered: AtomicUsize::new(0),
            installed: AtomicBool::new(false),
            install: Mutex::new(()),
            waiters: Mutex::new(Waiters {
                entries: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    /// Takes every stored waker (the listeners keep their keys).
    fn take_wakers(&self, out: &mut Vec<Waker>) {
        let mut waiters = crate::loom::lock(&self.waiters);
        out.extend(waiters.entries.iter_mut().filter_map(Option::take));
    }
}

static STATE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

/// The self-pipe: the handler writes to `write`; each runtime's driver reads a dup of `read`.
pub(crate) struct Pipe {
    pub(crate) read: UnixStream,
    write: UnixStream,
}

static PIPE: OnceLock<Pipe> = OnceLock::new();

/// The process-wide self-pipe, created on first use.
pub(crate) fn pipe() -> io::Result<&'static Pipe> {
    if let Some(pipe) = PIPE.get() {
        return Ok(pipe);
    }
    let (read, write) = UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    // Two threads may race here; the loser's pair is dropped before any handler could use it
    // (handlers are installed only with the pipe returned below).
    let _ = PIPE.set(Pipe { read, write });
    Ok(PIPE.get().expect("the self-pipe was just set"))
}

/// Checks that `signum` may get a handler; the error says why not.
pub(crate) fn check(signum: libc::c_int) -> io::Result<()> {
    if let Some((_, name)) = FORBIDDEN.iter().find(|(n, _)| *n == signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "refusing to listen for {name} (signal {signum}): it cannot be caught, or \
                 returning from its handler is undefined behaviour"
            ),
        ));
    }
    if signum < 1 || signum >= SLOTS as libc::c_int || signum > libc::SIGRTMAX() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "signal {signum} is not a valid signal number on this system (1..={})",
                libc::SIGRTMAX()
            ),
        ));
    }
    Ok(())
}

fn slot(signum: libc::c_int) -> &'static Slot {
    &STATE[signum as usize]
}

/// Installs the recording handler for `signum` (once per process; never removed). `signum` must
/// have passed [`check`].
pub(crate) fn install(signum: libc::c_int) -> io::Result<()> {
    let slot = slot(signum);
    // Acquire: pairs with the Release store below, so a fast-path caller sees a finished install.
    if slot.installed.load(Ordering::Acquire) {
        return Ok(());
    }
    let _guard = crate::loom::lock(&slot.install);
    if slot.installed.load(Ordering::Acquire) {
        return Ok(());
    }
    let fd = pipe()?.write.as_raw_fd();
    let generation = &slot.generation;
    let action = move || {
        // SeqCst: the driver reads the pipe and then this counter; the count must be visible
        // to it by then (the syscall pair is the rest of that ordering, as in tokio).
        generation.fetch_add(1, Ordering::SeqCst);
        let byte = 1u8;
        // SAFETY: `send` is async-signal-safe; `fd` is the write end of the self-pipe, which
        // lives in a static and is never closed; the buffer is one valid byte on our stack.
        // A full pipe (EAGAIN) is fine: a readiness event is already pending.
        unsafe {
            libc::send(
                fd,
                (&raw const byte).cast(),
                1,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            );
        }
    };
    // SAFETY: `register` requires the action to be async-signal-safe: it only performs a
    // lock-free atomic increment and one `send` on a non-blocking socket (signal-hook-registry
    // saves and restores errno around it). `signum` passed `check`, so it is not one of the
    // numbers `register` panics on.
    unsafe { signal_hook_registry::register(signum, action) }.map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("cannot install a handler for signal {signum}: {err}"),
        )
    })?;
    // Release: publishes the installed handler to the Acquire loads above and in `broadcast`.
    slot.installed.store(true, Ordering::Release);
    Ok(())
}

/// The current delivery count of `signum`.
pub(crate) fn generation(signum: libc::c_int) -> usize {
    // SeqCst: pairs with the handler's increment and the re-check after registering a waker.
    slot(signum).generation.load(Ordering::SeqCst)
}

/// Allocates a waiter key for a new listener of `signum`.
pub(crate) fn add_waiter(signum: libc::c_int) -> usize {
    let mut waiters = crate::loom::lock(&slot(signum).waiters);
    match waiters.free.pop() {
        Some(key) => key,
        None => {
            waiters.entries.push(None);
            waiters.entries.len() - 1
        }
    }
}

/// Stores `waker` as the waker of listener `key` (unless it is already there).
pub(crate) fn set_waker(signum: libc::c_int, key: usize, waker: &Waker) {
    let mut waiters = crate::loom::lock(&slot(signum).waiters);
    let entry = &mut waiters.entries[key];
    match entry {
        Some(stored) if stored.will_wake(waker) => {}
        _ => *entry = Some(waker.clone()),
    }
}

/// Frees listener `key`'s entry.
pub(crate) fn remove_waiter(signum: libc::c_int, key: usize) {
    let waker = {
        let mut waiters = crate::loom::lock(&slot(signum).waiters);
        let waker = waiters.entries[key].take();
        waiters.free.push(key);
        waker
    };
    drop(waker); // outside the lock: a waker's destructor may do anything
}

/// Wakes the listeners of every signal delivered since the last broadcast. Returns how many
/// wakers were woken.
pub(crate) fn broadcast() -> usize {
    let mut wakers = Vec::new();
    for slot in &STATE {
        // Acquire: pairs with the Release in `install`.
        if !slot.installed.load(Ordering::Acquire) {
            continue;
        }
        // SeqCst: see `generation`.
        let now = slot.generation.load(Ordering::SeqCst);
        // AcqRel: one broadcaster per generation takes the wakers; a racing one sees its value.
        if slot.delivered.swap(now, Ordering::AcqRel) != now {
            slot.take_wakers(&mut wakers);
        }
    }
    let woken = wakers.len();
    for waker in wakers {
        waker.wake();
    }
    woken
}

/// Wakes every waiting listener of every signal (a driver shut down: its listeners must see it).
pub(crate) fn wake_all() {
    let mut wakers = Vec::new();
    for slot in &STATE {
        slot.take_wakers(&mut wakers);
    }
    for waker in wakers {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_and_invalid_numbers_are_refused() {
        for (signum, name) in FORBIDDEN {
            let err = check(signum).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains(name), "{err}");
        }
        for signum in [0, -1, 65, 1000] {
            let err = check(signum).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("not a valid signal"), "{err}");
        }
        check(libc::SIGUSR1).unwrap();
        check(libc::SIGINT).unwrap();
    }

    #[test]
    fn waiter_keys_are_reused() {
        // SIGWINCH is never raised by the unit tests; its waiter list is ours alone.
        let a = add_waiter(libc::SIGWINCH);
        let b = add_waiter(libc::SIGWINCH);
        assert_ne!(a, b);
        remove_waiter(libc::SIGWINCH, a);
        assert_eq!(add_waiter(libc::SIGWINCH), a);
        remove_waiter(libc::SIGWINCH, a);
        remove_waiter(libc::SIGWINCH, b);
    }
}
