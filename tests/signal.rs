//! spindle::signal: deliveries through the reactor, coalescing, several listeners, ctrl_c,
//! refused signals, shutdown. Signals are process-wide, so these tests live in their own binary
//! and run one at a time (the `SERIAL` lock).

use futures_lite::future::poll_once;
use spindle::runtime::{Builder, Runtime};
use spindle::signal::unix::{Signal, SignalKind, signal};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn runtime() -> Runtime {
    Builder::new()
        .worker_threads(2)
        .compute_threads(1)
        .build()
        .unwrap()
}

/// Raises `signum` on the calling thread; the handler has run when this returns.
fn raise(signum: libc::c_int) {
    // SAFETY: `raise` has no preconditions; every caller installed a listener first, so the
    // signal's default action (termination) is replaced by spindle's handler.
    assert_eq!(unsafe { libc::raise(signum) }, 0);
}

/// Sends `signum` to the whole process (any thread may run the handler).
fn kill_self(signum: libc::c_int) {
    // SAFETY: as in `raise`.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signum) }, 0);
}

/// Polls `signal` once: `Some(..)` if a delivery (or the end) was ready.
async fn ready_now(signal: &mut Signal) -> Option<Option<()>> {
    poll_once(signal.recv()).await
}

/// Fails the test instead of hanging if a wake-up is lost.
async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    spindle::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not woken within 20 s (a lost wake-up)"))
}

#[test]
fn sigusr1_received_twice_in_a_row() {
    let _serial = serial();
    runtime().block_on(async {
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        assert_eq!(ready_now(&mut usr1).await, None, "nothing delivered yet");
        for round in 0..2 {
            raise(libc::SIGUSR1);
            assert_eq!(within("recv", usr1.recv()).await, Some(()), "round {round}");
            assert_eq!(ready_now(&mut usr1).await, None, "one raise, one delivery");
        }
    });
}

#[test]
fn a_waiting_task_is_woken_by_the_reactor() {
    let _serial = serial();
    let rt = runtime();
    rt.block_on(async {
        let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
        let waiter = spindle::spawn(async move {
            usr2.recv().await.unwrap();
            usr2.recv().await.unwrap();
        });
        // Raise from a plain thread while the task waits (the workers are parked in the reactor
        // or on their condvars by then, most likely), twice with a pause.
        let sender = std::thread::spawn(|| {
            for _ in 0..2 {
                std::thread::sleep(Duration::from_millis(100));
                kill_self(libc::SIGUSR2);
            }
        });
        within("waiter", waiter).await.unwrap();
        sender.join().unwrap();
    });
}

#[test]
fn two_listeners_of_one_kind_both_see_it() {
    let _serial = serial();
    runtime().block_on(async {
        let mut a = signal(SignalKind::user_defined1()).unwrap();
        let mut b = signal(SignalKind::user_defined1()).unwrap();
        let task_b = spindle::spawn(async move { b.recv().await });
        raise(libc::SIGUSR1);
        assert_eq!(within("a", a.recv()).await, Some(()));
        assert_eq!(within("b", task_b).await.unwrap(), Some(()));
        // A listener created after the delivery does not see it.
        let mut c = signal(SignalKind::user_defined1()).unwrap();
        assert_eq!(ready_now(&mut c).await, None);
    });
}

#[test]
fn deliveries_while_nobody_waits_are_kept_and_coalesced() {
    let _serial = serial();
    runtime().block_on(async {
        let mut hup = signal(SignalKind::hangup()).unwrap();
        // Two deliveries before anyone calls recv.
        raise(libc::SIGHUP);
        raise(libc::SIGHUP);
        // Give the reactor time to drain the pipe and broadcast to nobody.
        spindle::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(within("recv", hup.recv()).await, Some(()));
        // Coalesced into one, as in tokio.
        assert_eq!(ready_now(&mut hup).await, None);
    });
}

#[test]
fn listeners_on_two_runtimes_both_see_it() {
    let _serial = serial();
    let rt1 = runtime();
    let rt2 = runtime();
    let mut on1 = rt1.block_on(async { signal(SignalKind::user_defined2()).unwrap() });
    let mut on2 = rt2.block_on(async { signal(SignalKind::user_defined2()).unwrap() });
    let t1 = rt1.spawn(async move { on1.recv().await });
    let t2 = rt2.spawn(async move { on2.recv().await });
    std::thread::sleep(Duration::from_millis(50));
    kill_self(libc::SIGUSR2);
    assert_eq!(
        rt1.block_on(async { within("rt1", t1).await }).unwrap(),
        Some(())
    );
    assert_eq!(
        rt2.block_on(async { within("rt2", t2).await }).unwrap(),
        Some(())
    );
}

#[test]
fn a_burst_loses_no_final_wake_up() {
    let _serial = serial();
    const RAISES: usize = 2_000;
    runtime().block_on(async {
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let received = std::sync::Arc::new(AtomicUsize::new(0));
        let receiver = spindle::spawn({
            let done = done.clone();
            let received = received.clone();
            async move {
                loop {
                    usr1.recv().await.unwrap();
                    received.fetch_add(1, Ordering::SeqCst);
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                }
            }
        });
        let sender = std::thread::spawn(move || {
            for i in 0..RAISES {
                kill_self(libc::SIGUSR1);
                if i % 100 == 0 {
                    std::thread::yield_now();
                }
            }
            done.store(true, Ordering::SeqCst);
            // The last delivery happens after `done`: the receiver must see it and stop.
            kill_self(libc::SIGUSR1);
        });
        within("receiver", receiver).await.unwrap();
        sender.join().unwrap();
        let received = received.load(Ordering::SeqCst);
        assert!(
            (1..=RAISES + 1).contains(&received),
            "received {received} deliveries of {}",
            RAISES + 1
        );
    });
}

#[test]
fn ctrl_c_sees_sigint() {
    let _serial = serial();
    runtime().block_on(async {
        let mut ctrl_c = std::pin::pin!(spindle::signal::ctrl_c());
        // The first poll installs the SIGINT handler (so raising it below cannot kill the test
        // process) and starts listening.
        assert!(poll_once(&mut ctrl_c).await.is_none());
        raise(libc::SIGINT);
        within("ctrl_c", ctrl_c).await.unwrap();
    });
}

#[test]
fn forbidden_and_invalid_signals_are_refused() {
    let _serial = serial();
    runtime().block_on(async {
        for (signum, name) in [
            (libc::SIGKILL, "SIGKILL"),
            (libc::SIGSTOP, "SIGSTOP"),
            (libc::SIGSEGV, "SIGSEGV"),
            (libc::SIGILL, "SIGILL"),
            (libc::SIGFPE, "SIGFPE"),
            (libc::SIGBUS, "SIGBUS"),
        ] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{name}");
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
        for signum in [0, -3, 65, 4096] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("not a valid signal"), "{err}");
        }
    });
}

#[test]
fn outside_a_runtime_is_an_error() {
    let _serial = serial();
    let err = signal(SignalKind::user_defined1()).unwrap_err();
    assert!(
        err.to_string().contains("inside a spindle runtime"),
        "{err}"
    );
    let err = futures_lite::future::block_on(spindle::signal::ctrl_c()).unwrap_err();
    assert!(
        err.to_string().contains("inside a spindle runtime"),
        "{err}"
    );
}

#[test]
fn recv_ends_when_the_runtime_shuts_down() {
    let _serial = serial();
    let rt = runtime();
    let mut usr2 = rt.block_on(async { signal(SignalKind::user_defined2()).unwrap() });
    drop(rt);
    let other = runtime();
    assert_eq!(
        other.block_on(async { within("recv", usr2.recv()).await }),
        None
    );
    // The process keeps its handler: a new listener on a live runtime works.
    other.block_on(async {
        let mut again = signal(SignalKind::user_defined2()).unwrap();
        raise(libc::SIGUSR2);
        assert_eq!(within("again", again.recv()).await, Some(()));
    });
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Signal>();
    send_sync::<SignalKind>();
    fn send<T: Send>(_: &T) {}
    send(&spindle::signal::ctrl_c());
}
