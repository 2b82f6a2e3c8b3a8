//! The guards of [`Semaphore`]: borrowed ([`SemaphorePermit`]) and owned
//! ([`OwnedSemaphorePermit`]) permits, given back when dropped; `split`, `merge`, `forget`.

use super::Semaphore;
use crate::loom::sync::StdArc as Arc;
use std::fmt;

/// Permits borrowed from a [`Semaphore`]; given back when dropped.
#[must_use = "the permits are released as soon as the guard is dropped"]
pub struct SemaphorePermit<'a> {
    pub(super) sem: &'a Semaphore,
    pub(super) permits: u32,
}

/// Permits from a [`Semaphore`] in an `Arc` ([`Semaphore::acquire_owned`]); `'static`, so
/// they can move into spawned tasks. Given back when dropped.
#[must_use = "the permits are released as soon as the guard is dropped"]
pub struct OwnedSemaphorePermit {
    pub(super) sem: Arc<Semaphore>,
    pub(super) permits: u32,
}

macro_rules! permit_methods {
    ($ty:ty) => {
        /// How many permits this guard holds.
        ///
        /// ```
        /// let sem = spindle::sync::Semaphore::new(2);
        /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
        /// ```
        pub fn num_permits(&self) -> usize {
            self.permits as usize
        }

        /// Drops the guard *without* giving its permits back: the semaphore shrinks for good.
        ///
        /// ```
        /// let sem = spindle::sync::Semaphore::new(2);
        /// sem.try_acquire().unwrap().forget();
        /// assert_eq!(sem.available_permits(), 1);
        /// ```
        pub fn forget(mut self) {
            self.permits = 0;
        }

        /// Moves `n` of this guard's permits into a new guard; `None` if it holds fewer.
        ///
        /// ```
        /// let sem = spindle::sync::Semaphore::new(3);
        /// let mut three = sem.try_acquire_many(3).unwrap();
        /// let one = three.split(1).unwrap();
        /// assert_eq!((three.num_permits(), one.num_permits()), (2, 1));
        /// drop(one);
        /// assert_eq!(sem.available_permits(), 1);
        /// ```
        pub fn split(&mut self, n: usize) -> Option<Self> {
            let n = u32::try_from(n).ok().filter(|n| *n <= self.permits)?;
            self.permits -= n;
            Some(Self {
                sem: self.sem.clone(),
                permits: n,
            })
        }

        /// Takes over the permits of `other` (from the same semaphore).
        ///
        /// # Panics
        /// If `other` belongs to another semaphore.
        ///
        /// ```
        /// let sem = spindle::sync::Semaphore::new(2);
        /// let mut a = sem.try_acquire().unwrap();
        /// a.merge(sem.try_acquire().unwrap());
        /// assert_eq!(a.num_permits(), 2);
        /// ```
        pub fn merge(&mut self, mut other: Self) {
            assert!(
                std::ptr::eq(&*self.sem, &*other.sem),
                "merging permits of two different semaphores"
            );
            self.permits += std::mem::take(&mut other.permits);
        }
    };
}

impl SemaphorePermit<'_> {
    permit_methods!(Self);
}

impl OwnedSemaphorePermit {
    permit_methods!(Self);

    /// The semaphore the permits belong to.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(spindle::sync::Semaphore::new(1));
    /// let permit = sem.clone().try_acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(permit.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.permits as usize);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.permits as usize);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
