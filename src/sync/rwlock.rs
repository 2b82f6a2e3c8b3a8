//! `RwLock`: many readers or one writer, held across `.await`.
//!
//! Backed by `async-lock`'s reader-writer lock, which is write-preferring: once a writer waits,
//! new readers queue behind it, so a steady stream of readers cannot starve writers. spindle
//! adds the cooperative budget (`read`/`write` spend one unit per acquisition; `try_*` none),
//! owned (`Arc`) guards under tokio-style names, and the `*_blocking` guard rails.

use crate::loom::sync::StdArc as Arc;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// An async reader-writer lock: any number of [`read`](RwLock::read) guards at once, or a
/// single [`write`](RwLock::write) guard.
///
/// ```
/// use spindle::sync::RwLock;
/// use std::sync::Arc;
///
/// spindle::run(async {
///     let config = Arc::new(RwLock::new(String::from("v1")));
///     let readers: Vec<_> = (0..4)
///         .map(|_| {
///             let config = config.clone();
///             spindle::spawn(async move { config.read().await.len() })
///         })
///         .collect();
///     *config.write().await = String::from("v2!");
///     for r in readers {
///         let len = r.await.unwrap();
///         assert!(len == 2 || len == 3); // saw v1 or v2!, never a torn value
///     }
/// });
/// ```
#[repr(transparent)] // `inner_arc` relies on it
pub struct RwLock<T: ?Sized> {
    inner: async_lock::RwLock<T>,
}

impl<T> RwLock<T> {
    const_fn! {
        /// A new unlocked lock holding `value` (a `const fn`, so it works in statics).
        ///
        /// ```
        /// static TABLE: spindle::sync::RwLock<Vec<u8>> = spindle::sync::RwLock::new(Vec::new());
        /// assert!(TABLE.try_read().unwrap().is_empty());
        /// ```
        pub const fn new(value: T) -> RwLock<T> {
            RwLock {
                inner: async_lock::RwLock::new(value),
            }
        }
    }

    /// Consumes the lock and returns the value.
    ///
    /// ```
    /// assert_eq!(spindle::sync::RwLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }

    /// Waits for a read lock of a lock in an `Arc`; the guard owns a clone of the `Arc`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let lock = Arc::new(spindle::sync::RwLock::new(5));
    ///     let guard = lock.read_arc().await;
    ///     let task = spindle::spawn(async move { *guard * 2 });
    ///     assert_eq!(task.await.unwrap(), 10);
    /// });
    /// ```
    pub async fn read_arc(self: &Arc<Self>) -> OwnedRwLockReadGuard<T> {
        let inner = self.inner_arc();
        OwnedRwLockReadGuard(super::Budgeted::new(inner.read_arc()).await)
    }

    /// [`try_read`](RwLock::try_read) with an owned guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(spindle::sync::RwLock::new(5));
    /// assert_eq!(*lock.try_read_arc().unwrap(), 5);
    /// ```
    pub fn try_read_arc(self: &Arc<Self>) -> Option<OwnedRwLockReadGuard<T>> {
        self.inner_arc().try_read_arc().map(OwnedRwLockReadGuard)
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for a shared read lock (behind any waiting writer). Spends one unit of the
    /// cooperative budget when it is taken.
    ///
    /// ```
    /// spindle::run(async {
    ///     let lock = spindle::sync::RwLock::new(1);
    ///     let (a, b) = (lock.read().await, lock.read().await); // two readers at once
    ///     assert_eq!(*a + *b, 2);
    /// });
    /// ```
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard(super::Budgeted::new(self.inner.read()).await)
    }

    /// Waits for the exclusive write lock. Spends one unit of the cooperative budget when it
    /// is taken.
    ///
    /// ```
    /// spindle::run(async {
    ///     let lock = spindle::sync::RwLock::new(1);
    ///     *lock.write().await += 1;
    ///     assert_eq!(*lock.read().await, 2);
    /// });
    /// ```
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard(super::Budgeted::new(self.inner.write()).await)
    }

    /// A read lock if one can be had right now (no writer holds or waits for the lock).
    ///
    /// ```
    /// let lock = spindle::sync::RwLock::new(1);
    /// let w = lock.try_write().unwrap();
    /// assert!(lock.try_read().is_none());
    /// drop(w);
    /// assert!(lock.try_read().is_some());
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.inner.try_read().map(RwLockReadGuard)
    }

    /// The write lock if it is free right now.
    ///
    /// ```
    /// let lock = spindle::sync::RwLock::new(1);
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_none());
    /// drop(r);
    /// assert!(lock.try_write().is_some());
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.inner.try_write().map(RwLockWriteGuard)
    }

    /// Blocks the calling thread for a read lock (for synchronous code).
    ///
    /// # Panics
    /// On a thread that runs spindle tasks (a worker, or inside `block_on`).
    ///
    /// ```
    /// let lock = spindle::sync::RwLock::new(1);
    /// assert_eq!(*lock.read_blocking(), 1);
    /// ```
    #[track_caller]
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        super::assert_may_block("RwLock::read_blocking");
        RwLockReadGuard(self.inner.read_blocking())
    }

    /// Blocks the calling thread for the write lock (for synchronous code).
    ///
    /// # Panics
    /// On a thread that runs spindle tasks (a worker, or inside `block_on`).
    ///
    /// ```
    /// let lock = spindle::sync::RwLock::new(1);
    /// *lock.write_blocking() = 2;
    /// assert_eq!(*lock.read_blocking(), 2);
    /// ```
    #[track_caller]
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        super::assert_may_block("RwLock::write_blocking");
        RwLockWriteGuard(self.inner.write_blocking())
    }

    /// Waits for the write lock of a lock in an `Arc`; the guard owns a clone of the `Arc`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let lock = Arc::new(spindle::sync::RwLock::new(5));
    ///     let mut guard = lock.write_arc().await;
    ///     spindle::spawn(async move { *guard += 1 }).await.unwrap();
    ///     assert_eq!(*lock.read().await, 6);
    /// });
    /// ```
    pub async fn write_arc(self: &Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        let inner = self.inner_arc();
        OwnedRwLockWriteGuard(super::Budgeted::new(inner.write_arc()).await)
    }

    /// [`try_write`](RwLock::try_write) with an owned guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(spindle::sync::RwLock::new(5));
    /// let guard = lock.try_write_arc().unwrap();
    /// assert!(lock.try_write_arc().is_none());
    /// drop(guard);
    /// ```
    pub fn try_write_arc(self: &Arc<Self>) -> Option<OwnedRwLockWriteGuard<T>> {
        self.inner_arc().try_write_arc().map(OwnedRwLockWriteGuard)
    }

    /// A mutable reference to the value; no locking needed.
    ///
    /// ```
    /// let mut lock = spindle::sync::RwLock::new(1);
    /// *lock.get_mut() = 2;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// A clone of `Arc<RwLock<T>>` as `Arc<async_lock::RwLock<T>>`, for async-lock's owned guards.
    fn inner_arc(self: &Arc<Self>) -> Arc<async_lock::RwLock<T>> {
        let raw = Arc::into_raw(Arc::clone(self)) as *const async_lock::RwLock<T>;
        // SAFETY: `raw` comes from `Arc::into_raw` of an `Arc<RwLock<T>>`, and `RwLock<T>` is
        // `#[repr(transparent)]` over `async_lock::RwLock<T>` (same size, alignment and pointer
        // metadata), which is what `Arc::from_raw` requires of a different pointee type.
        unsafe { Arc::from_raw(raw) }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_read() {
            Some(guard) => f.debug_struct("RwLock").field("value", &&*guard).finish(),
            None => f
                .debug_struct("RwLock")
                .field("value", &"<locked>")
                .finish(),
        }
    }
}

/// A shared read guard ([`RwLock::read`]); releases the read lock when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized>(async_lock::RwLockReadGuard<'a, T>);

/// The exclusive write guard ([`RwLock::write`]); releases the lock when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized>(async_lock::RwLockWriteGuard<'a, T>);

/// A read guard that owns an `Arc` of its lock ([`RwLock::read_arc`]).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T>(async_lock::RwLockReadGuardArc<T>);

/// A write guard that owns an `Arc` of its lock ([`RwLock::write_arc`]).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized>(async_lock::RwLockWriteGuardArc<T>);

macro_rules! deref {
    ($guard:ident $(<$lt:lifetime>)?, $($unsized:tt)*) => {
        impl<$($lt,)? T: $($unsized)*> Deref for $guard<$($lt,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<$($lt,)? T: fmt::Debug + $($unsized)*> fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($lt,)? T: fmt::Display + $($unsized)*> fmt::Display for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    };
}

deref!(RwLockReadGuard<'a>, ?Sized);
deref!(RwLockWriteGuard<'a>, ?Sized);
deref!(OwnedRwLockReadGuard, Sized);
deref!(OwnedRwLockWriteGuard, ?Sized);

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read lock without letting another writer in between.
    ///
    /// ```
    /// use spindle::sync::{RwLock, RwLockWriteGuard};
    /// let lock = RwLock::new(1);
    /// let mut w = lock.try_write().unwrap();
    /// *w = 2;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!((*r, *lock.try_read().unwrap()), (2, 2));
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard(async_lock::RwLockWriteGuard::downgrade(guard.0))
    }
}

impl<T> OwnedRwLockWriteGuard<T> {
    /// [`RwLockWriteGuard::downgrade`] for owned guards.
    ///
    /// ```
    /// use spindle::sync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    /// let lock = Arc::new(RwLock::new(1));
    /// let w = lock.try_write_arc().unwrap();
    /// let r = OwnedRwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 1);
    /// assert!(lock.try_read().is_some());
    /// ```
    pub fn downgrade(guard: Self) -> OwnedRwLockReadGuard<T> {
        OwnedRwLockReadGuard(async_lock::RwLockWriteGuardArc::downgrade(guard.0))
    }
}
