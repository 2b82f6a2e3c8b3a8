//! The `gather!` / `try_gather!` macros and the slot types they expand to.
//!
//! A macro call evaluates its arguments at once (so the futures may borrow locals), stores them
//! in a tuple of [`MaybeDone`] / [`TryMaybeDone`] slots and returns an `async move` block that
//! owns the tuple. The block is pinned by whoever polls it, so the tuple never moves after the
//! first poll and each slot can be pinned in place: no allocation, no `Send` or `'static` bound.
//! Every poll of the block polls each slot that is still pending, in argument order, with the
//! caller's own `Context`; when all are done the outputs are moved out in argument order.
//!
//! The macros cannot name one variable per future, so a slot is reached by destructuring the
//! tuple with a pattern of `_`s: the k-th future is `(_, _, …(k times), slot, ..)`. The list of
//! `_`s is built while the macro munches its arguments.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future and, once it finished, its output. Used by `gather!`; not a public API.
#[doc(hidden)]
pub enum MaybeDone<F: Future> {
    /// Still running.
    Pending(F),
    /// Finished; the output waits to be taken.
    Done(F::Output),
    /// The output was taken (or the slot was cleared).
    Taken,
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future that has not been polled yet.
    #[inline]
    pub fn new(future: F) -> Self {
        MaybeDone::Pending(future)
    }

    /// Polls the future if it is still pending; `true` once the output is stored.
    #[inline]
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the slot is structurally pinned only in its `Pending` variant: the future
        // is polled in place below and is only ever destroyed in place (the assignment to
        // `*this` drops it where it lies). The output in `Done` is never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let output = match this {
            MaybeDone::Pending(future) => {
                // SAFETY: `future` lives inside `self`, which is pinned, and (see above) is
                // never moved out of the slot.
                match unsafe { Pin::new_unchecked(future) }.poll(cx) {
                    Poll::Ready(output) => output,
                    Poll::Pending => return false,
                }
            }
            MaybeDone::Done(_) => return true,
            MaybeDone::Taken => panic!("gather!: a future was polled after its output was taken"),
        };
        *this = MaybeDone::Done(output);
        true
    }

    /// Moves the output out. Panics if the future has not finished.
    #[inline]
    pub fn take_output(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: only the `Done` variant is read, and it holds no pinned data; a pending
        // future is never moved (we panic instead).
        let this = unsafe { self.get_unchecked_mut() };
        match std::mem::replace(this, MaybeDone::Taken) {
            MaybeDone::Done(output) => output,
            MaybeDone::Pending(_) | MaybeDone::Taken => {
                unreachable!("gather!: output taken before the future finished")
            }
        }
    }
}

/// Like [`MaybeDone`] for a future of `Result<T, E>`: keeps only the `Ok` value and hands an
/// error back at once. Used by `try_gather!`; not a public API.
#[doc(hidden)]
pub enum TryMaybeDone<F, T> {
    /// Still running.
    Pending(F),
    /// Finished with `Ok`.
    Done(T),
    /// The value was taken, or the future failed.
    Taken,
}

/// Builds a [`TryMaybeDone`], checking that the future yields a `Result`.
#[doc(hidden)]
#[inline]
pub fn try_maybe_done<F, T, E>(future: F) -> TryMaybeDone<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    TryMaybeDone::Pending(future)
}

impl<F, T, E> TryMaybeDone<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    /// Polls the future if it is still pending: `Ok(true)` once it succeeded, `Ok(false)` while
    /// it runs, `Err(e)` when it failed (the slot is then empty and its future dropped).
    #[inline]
    pub fn poll_try(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Result<bool, E> {
        // SAFETY: as for `MaybeDone::poll_done`: the future is pinned in place in `Pending`
        // and only destroyed in place by the assignment below.
        let this = unsafe { self.get_unchecked_mut() };
        let result = match this {
            TryMaybeDone::Pending(future) => {
                // SAFETY: `future` is inside the pinned slot and never moved out of it.
                match unsafe { Pin::new_unchecked(future) }.poll(cx) {
                    Poll::Ready(result) => result,
                    Poll::Pending => return Ok(false),
                }
            }
            TryMaybeDone::Done(_) => return Ok(true),
            TryMaybeDone::Taken => {
                panic!("try_gather!: a future was polled after its output was taken")
            }
        };
        match result {
            Ok(value) => {
                *this = TryMaybeDone::Done(value);
                Ok(true)
            }
            Err(error) => {
                *this = TryMaybeDone::Taken;
                Err(error)
            }
        }
    }

    /// Moves the `Ok` value out. Panics if the future has not succeeded.
    #[inline]
    pub fn take_output(self: Pin<&mut Self>) -> T {
        // SAFETY: only the `Done` variant is moved out, and it holds no pinned data.
        let this = unsafe { self.get_unchecked_mut() };
        match std::mem::replace(this, TryMaybeDone::Taken) {
            TryMaybeDone::Done(value) => value,
            TryMaybeDone::Pending(_) | TryMaybeDone::Taken => {
                unreachable!("try_gather!: output taken before the future succeeded")
            }
        }
    }
}

/// Runs several futures concurrently **on the current task** and waits for all of them:
/// asyncio's `gather`.
///
/// `gather!(f1, f2, …)` is a future of the tuple `(f1's output, f2's output, …)`, in argument
/// order. The arguments are evaluated at once (anything that implements
/// [`IntoFuture`](std::future::IntoFuture) is accepted) and are then polled by the task that
/// awaits the `gather!`, so they may borrow local variables and need not be `Send` or
/// `'static`; nothing is allocated. The total time is that of the slowest future, not the sum.
///
/// For a collection of futures use [`gather`](crate::gather()); to run futures in parallel on
/// the worker threads use [`spawn`](crate::spawn) or a [`task_group`](crate::task_group).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// spindle::run(async {
///     let greeting = String::from("hello");
///     let start = Instant::now();
///     let (a, b, c) = spindle::gather!(
///         async {
///             spindle::time::sleep(Duration::from_millis(30)).await;
///             greeting.len() // borrows a local
///         },
///         async {
///             spindle::time::sleep(Duration::from_millis(20)).await;
///             "two"
///         },
///         async { 3.0 },
///     )
///     .await;
///     assert_eq!((a, b, c), (5, "two", 3.0));
///     assert!(start.elapsed() < Duration::from_millis(500)); // about 30 ms, not 50
/// });
/// ```
#[macro_export]
macro_rules! gather {
    // Internal: give every future its list of `_`s (how many tuple fields precede its slot).
    (@munch [$($done:tt)*] [$($skip:tt)*] $head:expr, $($rest:expr,)*) => {
        $crate::gather!(@munch [$($done)* ([$($skip)*] $head)] [$($skip)* _] $($rest,)*)
    };
    // Internal: all futures munched; build the slots and the polling block.
    (@munch [$( ([$($skip:tt)*] $fut:expr) )*] [$($all:tt)*]) => {{
        let __spindle_slots = (
            $( $crate::group::MaybeDone::new(::core::future::IntoFuture::into_future($fut)), )*
        );
        async move {
            let mut __spindle_slots = __spindle_slots;
            ::core::future::poll_fn(|__spindle_cx| {
                let mut __spindle_all_done = true;
                $(
                    let ($($skip,)* __spindle_slot, ..) = &mut __spindle_slots;
                    // SAFETY: the slots are a local of this async block, which is pinned while
                    // it is polled; they are never moved after the first poll.
                    let __spindle_slot = unsafe { ::core::pin::Pin::new_unchecked(__spindle_slot) };
                    __spindle_all_done &= __spindle_slot.poll_done(__spindle_cx);
                )*
                if !__spindle_all_done {
                    return ::core::task::Poll::Pending;
                }
                ::core::task::Poll::Ready(($({
                    let ($($skip,)* __spindle_slot, ..) = &mut __spindle_slots;
                    // SAFETY: as above, the slot is pinned in place.
                    unsafe { ::core::pin::Pin::new_unchecked(__spindle_slot) }.take_output()
                },)*))
            })
            .await
        }
    }};
    () => {
        async {}
    };
    ($($fut:expr),+ $(,)?) => {
        $crate::gather!(@munch [] [] $($fut,)+)
    };
}

/// Like [`gather!`](crate::gather!) for futures that return `Result`: the first `Err` wins.
///
/// `try_gather!(f1, f2, …)` is a future of `Result<(T1, T2, …), E>` where every `fi` is a
/// future of `Result<Ti, E>` (one shared error type). The futures run concurrently on the
/// current task; as soon as one returns `Err(e)` the others are dropped (their destructors
/// have run by the time `try_gather!` completes) and the result is `Err(e)`. If all succeed
/// the values come back in argument order.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// spindle::run(async {
///     let ok: Result<(u32, &str), String> =
///         spindle::try_gather!(async { Ok(1) }, async { Ok("one") }).await;
///     assert_eq!(ok, Ok((1, "one")));
///
///     let failed: Result<((), ()), String> = spindle::try_gather!(
///         async {
///             spindle::time::sleep(Duration::from_secs(3600)).await; // dropped, not awaited
///             Ok(())
///         },
///         async { Err("boom".to_string()) },
///     )
///     .await;
///     assert_eq!(failed, Err("boom".to_string()));
/// });
/// ```
#[macro_export]
macro_rules! try_gather {
    (@munch [$($done:tt)*] [$($skip:tt)*] $head:expr, $($rest:expr,)*) => {
        $crate::try_gather!(@munch [$($done)* ([$($skip)*] $head)] [$($skip)* _] $($rest,)*)
    };
    (@munch [$( ([$($skip:tt)*] $fut:expr) )*] [$($all:tt)*]) => {{
        let __spindle_slots = (
            $( $crate::group::try_maybe_done(::core::future::IntoFuture::into_future($fut)), )*
        );
        async move {
            let mut __spindle_slots = __spindle_slots;
            // On `Err` the block returns, which drops `__spindle_slots` (every other future)
            // in place before the block completes.
            ::core::future::poll_fn(|__spindle_cx| {
                let mut __spindle_all_done = true;
                $(
                    let ($($skip,)* __spindle_slot, ..) = &mut __spindle_slots;
                    // SAFETY: the slots are a local of this async block, which is pinned while
                    // it is polled; they are never moved after the first poll.
                    let __spindle_slot = unsafe { ::core::pin::Pin::new_unchecked(__spindle_slot) };
                    match __spindle_slot.poll_try(__spindle_cx) {
                        ::core::result::Result::Ok(__spindle_done) => {
                            __spindle_all_done &= __spindle_done;
                        }
                        ::core::result::Result::Err(__spindle_error) => {
                            return ::core::task::Poll::Ready(
                                ::core::result::Result::Err(__spindle_error),
                            );
                        }
                    }
                )*
                if !__spindle_all_done {
                    return ::core::task::Poll::Pending;
                }
                ::core::task::Poll::Ready(::core::result::Result::Ok(($({
                    let ($($skip,)* __spindle_slot, ..) = &mut __spindle_slots;
                    // SAFETY: as above, the slot is pinned in place.
                    unsafe { ::core::pin::Pin::new_unchecked(__spindle_slot) }.take_output()
                },)*)))
            })
            .await
        }
    }};
    () => {
        async { ::core::result::Result::Ok(()) }
    };
    ($($fut:expr),+ $(,)?) => {
        $crate::try_gather!(@munch [] [] $($fut,)+)
    };
}
