//! `Barrier`: `n` tasks wait until all of them have arrived, then all continue; one of each
//! generation is told it is the leader.
//!
//! Backed by `async-lock`'s barrier (a counter and generation behind its async mutex, and an
//! `event-listener` to release a generation). spindle adds the cooperative budget (one unit per
//! completed `wait`) and the `wait_blocking` guard rail.

use std::fmt;

/// A reusable barrier for `n` tasks: asyncio's `Barrier`.
///
/// Each call to [`wait`](Barrier::wait) blocks until `n` calls are waiting; then all `n`
/// complete together and the barrier resets for the next generation. Exactly one of them gets
/// a [`BarrierWaitResult`] with `is_leader() == true`.
///
/// A `wait` future dropped after it arrived still counts as arrived (the barrier cannot take
/// an arrival back), as in tokio.
///
/// ```
/// use spindle::sync::Barrier;
/// use std::sync::Arc;
///
/// spindle::run(async {
///     let barrier = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             spindle::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += t.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    inner: async_lock::Barrier,
    n: usize,
}

/// What [`Barrier::wait`] returns: whether this task was the generation's leader.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one waiter of each generation (the last to arrive).
    ///
    /// ```
    /// spindle::run(async {
    ///     let barrier = spindle::sync::Barrier::new(1);
    ///     assert!(barrier.wait().await.is_leader());
    /// });
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl fmt::Debug for BarrierWaitResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWaitResult")
            .field("is_leader", &self.0)
            .finish()
    }
}

impl Barrier {
    const_fn! {
        /// A barrier for `n` tasks. `n == 0` behaves like `n == 1` (every `wait` completes at once,
        /// as the leader).
        ///
        /// ```
        /// let barrier = spindle::sync::Barrier::new(4);
        /// assert_eq!(barrier.parties(), 4);
        /// ```
        pub const fn new(n: usize) -> Barrier {
            Barrier {
                inner: async_lock::Barrier::new(n),
                n,
            }
        }
    }

    /// How many tasks each generation waits for.
    ///
    /// ```
    /// assert_eq!(spindle::sync::Barrier::new(2).parties(), 2);
    /// ```
    pub fn parties(&self) -> usize {
        self.n
    }

    /// Waits until `n` tasks are waiting, then completes for all of them. Spends one unit of
    /// the cooperative budget when it completes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let barrier = Arc::new(spindle::sync::Barrier::new(2));
    ///     let other = spindle::spawn({
    ///         let barrier = barrier.clone();
    ///         async move { barrier.wait().await }
    ///     });
    ///     let mine = barrier.wait().await;
    ///     let theirs = other.await.unwrap();
    ///     assert!(mine.is_leader() != theirs.is_leader());
    /// });
    /// ```
    pub async fn wait(&self) -> BarrierWaitResult {
        let result = super::Budgeted::new(self.inner.wait()).await;
        BarrierWaitResult(result.is_leader())
    }

    /// Blocks the calling thread until `n` parties wait (for synchronous code).
    ///
    /// # Panics
    /// On a thread that runs spindle tasks (a worker, or inside `block_on`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(spindle::sync::Barrier::new(2));
    /// let b2 = barrier.clone();
    /// let t = std::thread::spawn(move || b2.wait_blocking().is_leader());
    /// let me = barrier.wait_blocking().is_leader();
    /// assert!(me != t.join().unwrap());
    /// ```
    #[track_caller]
    pub fn wait_blocking(&self) -> BarrierWaitResult {
        super::assert_may_block("Barrier::wait_blocking");
        BarrierWaitResult(self.inner.wait_blocking().is_leader())
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("parties", &self.n).finish()
    }
}
