//! [`ParallelIteratorExt::cancel_with`]: a rayon parallel iterator that stops when a job is
//! cancelled, without a checkpoint in every closure.
//!
//! Built on rayon's `take_any_while`: before each item goes on, the job's token is checked
//! (one load); the first check that finds the job cancelled stops the whole iterator, on every
//! thread (rayon's consumers report themselves full, so no more items are produced or split
//! off). Items already being processed finish.

use super::job::Job;
use rayon::iter::ParallelIterator;
use rayon::iter::plumbing::UnindexedConsumer;
use std::fmt;

/// Adapters for rayon parallel iterators inside compute jobs.
///
/// ```
/// use rayon::prelude::*;
/// use spindle::compute::{self, Cancelled, ParallelIteratorExt};
///
/// spindle::run(async {
///     let job = compute::spawn(|job| -> Result<u64, Cancelled> {
///         let sum = (0..1_000_000u64)
///             .into_par_iter()
///             .cancel_with(job) // stops early once the job is cancelled
///             .map(|x| x % 7)
///             .sum();
///         job.checkpoint()?; // a stopped iterator's result is partial: do not return it
///         Ok(sum)
///     });
///     assert!(job.await.unwrap().is_ok());
/// });
/// ```
pub trait ParallelIteratorExt: ParallelIterator {
    /// Stops producing items once `job` is cancelled: the job's token is checked before each
    /// item (one load per item), and the first check that fails ends the iterator on every
    /// thread. The result of a stopped iterator covers only some items, so check the job
    /// ([`Job::checkpoint`]) before using it. Put it before the expensive stage
    /// (`par_iter().cancel_with(job).map(kernel)`), so that no item starts after the
    /// cancellation was seen.
    ///
    /// ```
    /// use rayon::prelude::*;
    /// use spindle::compute::{self, ParallelIteratorExt};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// spindle::run(async {
    ///     let handle = compute::spawn(|job| {
    ///         let processed = AtomicU64::new(0);
    ///         (0..1_000_000u64).into_par_iter().cancel_with(job).for_each(|_| {
    ///             processed.fetch_add(1, Ordering::Relaxed);
    ///             std::thread::sleep(std::time::Duration::from_micros(10));
    ///         });
    ///         processed.into_inner()
    ///     });
    ///     let abort = handle.abort_handle();
    ///     spindle::time::sleep(std::time::Duration::from_millis(20)).await;
    ///     abort.abort();
    ///     // Aborted while running: the closure stopped early and its value is discarded.
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    fn cancel_with(self, job: &Job) -> CancelWith<Self>
    where
        Self: Sized,
    {
        CancelWith {
            base: self,
            job: job.clone(),
        }
    }
}

impl<I: ParallelIterator> ParallelIteratorExt for I {}

/// The iterator of [`ParallelIteratorExt::cancel_with`].
///
/// ```
/// use rayon::prelude::*;
/// use spindle::compute::ParallelIteratorExt;
///
/// spindle::run(async {
///     let n = spindle::compute::spawn(|job| (0..100).into_par_iter().cancel_with(job).count());
///     assert_eq!(n.await.unwrap(), 100);
/// });
/// ```
#[must_use = "iterator adaptors are lazy and do nothing unless consumed"]
pub struct CancelWith<I> {
    base: I,
    job: Job,
}

impl<I: ParallelIterator> ParallelIterator for CancelWith<I> {
    type Item = I::Item;

    fn drive_unindexed<C>(self, consumer: C) -> C::Result
    where
        C: UnindexedConsumer<Self::Item>,
    {
        let job = self.job;
        self.base
            .take_any_while(move |_| !job.is_cancelled())
            .drive_unindexed(consumer)
    }
}

impl<I: fmt::Debug> fmt::Debug for CancelWith<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelWith")
            .field("base", &self.base)
            .field("job", &self.job)
            .finish()
    }
}
