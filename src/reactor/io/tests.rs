//! Unit tests of socket readiness (`reactor::io`): registration, wake-ups, the tick guard,
//! the drained and closed hints, `try_io`, and lost-wake-up stress over real socket pairs.

use super::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize as StdAtomicUsize};
use std::task::Wake;
use std::time::{Duration, Instant};

/// Counts wake-ups and unparks the waiting test thread.
struct CountingWaker {
    wakes: StdAtomicUsize,
    thread: std::thread::Thread,
}

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let inner = std::sync::Arc::new(CountingWaker {
        wakes: StdAtomicUsize::new(0),
        thread: std::thread::current(),
    });
    (inner.clone(), Waker::from(inner))
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Drives the reactor by hand on a thread, as the scheduler's idle worker would.
struct Driver {
    stop: std::sync::Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl Driver {
    fn start(reactor: Arc<Reactor>) -> Driver {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut woken = 0;
            while !stop2.load(Ordering::SeqCst) {
                let events = reactor.wait_events(Some(Duration::from_millis(20)));
                woken += reactor.io.dispatch(events.into_iter());
            }
            woken
        });
        Driver {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// Polls `f` until it is ready, parking between polls; fails after 10 s.
fn block_on_poll<R>(mut f: impl FnMut(&mut Context<'_>) -> Poll<R>) -> R {
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Poll::Ready(r) = f(&mut cx) {
            return r;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "operation did not complete: a wake-up was lost"
        );
        std::thread::park_timeout(deadline - now);
    }
}

#[test]
fn registration_counts_and_drop_deregisters() {
    let reactor = Arc::new(Reactor::new().unwrap());
    assert!(!reactor.io.has_sources());
    let (a, b) = pair();
    let pa = PollIo::with_reactor(reactor.clone(), a).unwrap();
    let pb = PollIo::with_reactor(reactor.clone(), b).unwrap();
    assert!(reactor.io.has_sources());
    assert_eq!(pa.source.key, 0);
    assert_eq!(pb.source.key, 1);
    drop(pa);
    // The freed key is reused.
    let (c, _d) = pair();
    let pc = PollIo::with_reactor(reactor.clone(), c).unwrap();
    assert_eq!(pc.source.key, 0);
    drop(pb);
    let inner = pc.into_inner();
    assert!(!reactor.io.has_sources());
    // `into_inner` removed the fd from the poller: modifying it now fails.
    assert!(reactor.poller().modify(&inner, Event::all(0)).is_err());
}

#[test]
fn read_waits_for_data_and_wakes_once() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = pair();
    let a = PollIo::with_reactor(reactor.clone(), a).unwrap();
    let (counter, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 16];
    // Optimistic first attempt: WouldBlock clears the bit and registers the waker.
    let first = a.poll_io(&mut cx, Direction::Read, |mut s| s.read(&mut buf));
    assert!(first.is_pending());
    // Polling again with the same waker does not store it twice.
    assert!(a.poll_ready(&mut cx, Direction::Read).is_pending());
    assert_eq!(a.source.waiters.lock().unwrap().read.len(), 1);
    // Writable was never cleared.
    assert!(matches!(
        a.poll_ready(&mut cx, Direction::Write),
        Poll::Ready(Ok(_))
    ));

    (&b).write_all(b"hello").unwrap();
    let events = reactor.wait_events(Some(Duration::from_secs(5)));
    assert_eq!(reactor.io.dispatch(events.iter().copied()), 1);
    assert_eq!(counter.wakes.load(Ordering::SeqCst), 1);
    match a.poll_io(&mut cx, Direction::Read, |mut s| s.read(&mut buf)) {
        Poll::Ready(Ok(5)) => assert_eq!(&buf[..5], b"hello"),
        other => panic!("unexpected {other:?}"),
    }
    // Drained: the next read registers again and nothing else was woken.
    assert!(
        a.poll_io(&mut cx, Direction::Read, |mut s| s.read(&mut buf))
            .is_pending()
    );
    assert_eq!(counter.wakes.load(Ordering::SeqCst), 1);
}

#[test]
fn stale_clear_keeps_newer_readiness() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _b) = pair();
    let a = PollIo::with_reactor(reactor, a).unwrap();
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let Poll::Ready(Ok(tick)) = a.poll_ready(&mut cx, Direction::Read) else {
        panic!("a new source is optimistically ready");
    };
    // An event arrives after the operation saw WouldBlock but before the bit is cleared.
    a.source.set_ready(READABLE, &mut Vec::new());
    a.clear_readiness(Direction::Read, tick);
    let Poll::Ready(Ok(newer)) = a.poll_ready(&mut cx, Direction::Read) else {
        panic!("the newer event must survive the stale clear");
    };
    assert_ne!(newer, tick);
    // A clear with the current tick does clear.
    a.clear_readiness(Direction::Read, newer);
    assert!(a.poll_ready(&mut cx, Direction::Read).is_pending());
}

#[test]
fn every_waiter_of_a_direction_is_woken() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = pair();
    let a = PollIo::with_reactor(reactor.clone(), a).unwrap();
    let counters: Vec<_> = (0..3).map(|_| counting_waker()).collect();
    for (_, waker) in &counters {
        let mut cx = Context::from_waker(waker);
        let mut buf = [0u8; 1];
        assert!(
            a.poll_io(&mut cx, Direction::Read, |mut s| s.read(&mut buf))
                .is_pending()
        );
    }
    (&b).write_all(b"x").unwrap();
    let events = reactor.wait_events(Some(Duration::from_secs(5)));
    assert_eq!(reactor.io.dispatch(events.iter().copied()), 3);
    for (counter, _) in &counters {
        assert_eq!(counter.wakes.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn shutdown_wakes_waiters_and_fails_everything_after() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _b) = pair();
    let a = PollIo::with_reactor(reactor.clone(), a).unwrap();
    let (counter, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 4];
    assert!(
        a.poll_io(&mut cx, Direction::Read, |mut s| s.read(&mut buf))
            .is_pending()
    );
    reactor.shutdown();
    assert_eq!(counter.wakes.load(Ordering::SeqCst), 1);
    for dir in [Direction::Read, Direction::Write] {
        match a.poll_io(&mut cx, dir, |_| Ok(())) {
            Poll::Ready(Err(err)) => assert_eq!(err.to_string(), SHUT_DOWN_MSG),
            other => panic!("expected the shut-down error, got {other:?}"),
        }
    }
    let (c, _d) = pair();
    let err = PollIo::with_reactor(reactor.clone(), c).err().unwrap();
    assert_eq!(err.to_string(), SHUT_DOWN_MSG);
    // Dropping after shutdown still deregisters cleanly.
    drop(a);
    assert!(!reactor.io.has_sources());
}

fn ready_tick(io: &PollIo<UnixStream>, dir: Direction) -> Option<usize> {
    let (_, waker) = counting_waker();
    match io.poll_ready(&mut Context::from_waker(&waker), dir) {
        Poll::Ready(Ok(tick)) => Some(tick),
        Poll::Ready(Err(err)) => panic!("{err}"),
        Poll::Pending => None,
    }
}

#[test]
fn drained_clears_only_unchanged_and_open_readiness() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _b) = pair();
    let a = PollIo::with_reactor(reactor, a).unwrap();
    // Drained at the observed tick: cleared.
    let tick = ready_tick(&a, Direction::Read).unwrap();
    a.record(Direction::Read, tick, Progress::Drained);
    assert_eq!(ready_tick(&a, Direction::Read), None);
    // An event after the observation keeps the newer readiness.
    a.source.set_ready(READABLE, &mut Vec::new());
    let tick = ready_tick(&a, Direction::Read).unwrap();
    a.source.set_ready(READABLE, &mut Vec::new());
    a.record(Direction::Read, tick, Progress::Drained);
    assert!(ready_tick(&a, Direction::Read).is_some());
    // A hang-up (closed bit) vetoes the drained clear, even at the current tick.
    a.source
        .set_ready(READABLE | READ_CLOSED | WRITE_CLOSED, &mut Vec::new());
    let tick = ready_tick(&a, Direction::Read).unwrap();
    a.record(Direction::Read, tick, Progress::Drained);
    assert_eq!(ready_tick(&a, Direction::Read), Some(tick));
    let wtick = ready_tick(&a, Direction::Write).unwrap();
    a.record(Direction::Write, wtick, Progress::Drained);
    assert!(ready_tick(&a, Direction::Write).is_some());
    // ... but WouldBlock (the OS's own word) clears the bit and the closed bit.
    a.clear_readiness(Direction::Read, tick);
    assert_eq!(ready_tick(&a, Direction::Read), None);
}

#[test]
fn eof_keeps_read_readiness_for_good() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _b) = pair();
    let a = PollIo::with_reactor(reactor, a).unwrap();
    let tick = ready_tick(&a, Direction::Read).unwrap();
    a.record(Direction::Read, tick, Progress::Closed);
    let tick = ready_tick(&a, Direction::Read).unwrap();
    a.record(Direction::Read, tick, Progress::Drained);
    assert!(ready_tick(&a, Direction::Read).is_some());
    // Write readiness is independent.
    let wtick = ready_tick(&a, Direction::Write).unwrap();
    a.record(Direction::Write, wtick, Progress::Drained);
    assert_eq!(ready_tick(&a, Direction::Write), None);
}

#[test]
fn hinted_read_waits_for_the_next_event_without_a_wasted_call() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = pair();
    let a = PollIo::with_reactor(reactor.clone(), a).unwrap();
    let (counter, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    (&b).write_all(b"req").unwrap();
    let mut calls = 0;
    let mut buf = [0u8; 64];
    // The op reports "drained" (as a TCP_INQ read of 0 would).
    let mut read = |cx: &mut Context<'_>, calls: &mut usize| {
        a.poll_io_hinted(cx, Direction::Read, |mut s| {
            *calls += 1;
            s.read(&mut buf).map(|n| (n, Progress::Drained))
        })
    };
    assert!(matches!(read(&mut cx, &mut calls), Poll::Ready(Ok(3))));
    // No system call: the readiness was cleared, so the poll registers and waits.
    assert!(read(&mut cx, &mut calls).is_pending());
    assert_eq!(calls, 1);
    (&b).write_all(b"next").unwrap();
    let events = reactor.wait_events(Some(Duration::from_secs(5)));
    reactor.io.dispatch(events.iter().copied());
    assert_eq!(counter.wakes.load(Ordering::SeqCst), 1);
    assert!(matches!(read(&mut cx, &mut calls), Poll::Ready(Ok(4))));
    assert_eq!(calls, 2);
}

#[test]
fn hang_up_events_set_the_closed_bits() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = pair();
    let a = PollIo::with_reactor(reactor.clone(), a).unwrap();
    // Wait for nothing pending, then let the peer go away entirely.
    let tick = ready_tick(&a, Direction::Read).unwrap();
    a.clear_readiness(Direction::Read, tick);
    drop(b);
    let events = reactor.wait_events(Some(Duration::from_secs(5)));
    assert!(events.iter().any(|e| e.closed));
    reactor.io.dispatch(events.iter().copied());
    // Acquire: test-only read of the word.
    let state = a.source.state.load(Ordering::Acquire);
    assert_eq!(
        state & (READ_CLOSED | WRITE_CLOSED),
        READ_CLOSED | WRITE_CLOSED
    );
    let tick = ready_tick(&a, Direction::Read).unwrap();
    a.record(Direction::Read, tick, Progress::Drained);
    assert!(ready_tick(&a, Direction::Read).is_some());
}

#[test]
fn try_io_never_waits() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = pair();
    let a = PollIo::with_reactor(reactor, a).unwrap();
    let mut buf = [0u8; 8];
    let err = a
        .try_io(Direction::Read, |mut s| {
            s.read(&mut buf).map(|n| (n, Progress::Unknown))
        })
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    // Cleared, and no waker was stored.
    assert!(a.source.try_ready(Direction::Read).unwrap().is_none());
    assert!(crate::loom::lock(&a.source.waiters).read.is_empty());
    // Not ready: the op is not even called.
    (&b).write_all(b"x").unwrap();
    let mut called = false;
    let err = a
        .try_io(Direction::Read, |_| {
            called = true;
            Ok((0, Progress::Unknown))
        })
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert!(!called);
}

/// Ping-pong over a socket pair between two threads while a third drives the reactor: every
/// read and write waits for readiness many times, so a lost wake-up would hang (and fail).
#[test]
fn ping_pong_loses_no_wake_ups() {
    const ROUNDS: usize = 2000;
    let reactor = Arc::new(Reactor::new().unwrap());
    let driver = Driver::start(reactor.clone());
    let (a, b) = pair();
    let a = PollIo::with_reactor(reactor.clone(), a).unwrap();
    let b = PollIo::with_reactor(reactor.clone(), b).unwrap();

    fn exchange(io: &PollIo<UnixStream>, first: bool) {
        let mut buf = [0u8; 8];
        for round in 0..ROUNDS as u64 {
            if !first || round > 0 {
                let n =
                    block_on_poll(|cx| io.poll_io(cx, Direction::Read, |mut s| s.read(&mut buf)))
                        .unwrap();
                assert_eq!(n, 8);
                let expected = if first { round - 1 } else { round };
                assert_eq!(u64::from_le_bytes(buf), expected);
            }
            if first || round + 1 < ROUNDS as u64 {
                let out = round.to_le_bytes();
                block_on_poll(|cx| io.poll_io(cx, Direction::Write, |mut s| s.write(&out)))
                    .unwrap();
            }
        }
    }
    let t = std::thread::spawn(move || exchange(&b, false));
    exchange(&a, true);
    t.join().unwrap();
    assert!(driver.stop() > 0);
}

/// Fills the socket buffer until writes block, then drains it from another thread: the
/// writer must be woken by the writable edge.
#[test]
fn blocked_writer_is_woken_when_the_peer_drains() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let driver = Driver::start(reactor.clone());
    let (a, b) = pair();
    let a = PollIo::with_reactor(reactor.clone(), a).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut written = 0usize;
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    while let Poll::Ready(n) = a.poll_io(&mut cx, Direction::Write, |mut s| s.write(&chunk)) {
        written += n.unwrap();
    }
    assert!(written > 0);
    let target = written + 4 * chunk.len();
    let reader = std::thread::spawn(move || {
        b.set_nonblocking(false).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while total < target {
            let n = (&b).read(&mut buf).unwrap();
            assert!(buf[..n].iter().all(|&x| x == 7));
            total += n;
        }
        total
    });
    while written < target {
        let want = (target - written).min(chunk.len());
        written +=
            block_on_poll(|cx| a.poll_io(cx, Direction::Write, |mut s| s.write(&chunk[..want])))
                .unwrap();
    }
    assert_eq!(reader.join().unwrap(), target);
    driver.stop();
}
