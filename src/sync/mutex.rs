//! `Mutex`: an async mutual-exclusion lock whose guard may be held across `.await`.
//!
//! Backed by `async-lock`'s mutex: an atomic fast path (one CAS to lock, one to unlock) and an
//! `event-listener` queue of waiters. It is starvation-resistant: a waiter that has waited more
//! than half a millisecond switches the lock to a fair hand-off, so a task that locks in a hot
//! loop cannot keep another out for long. spindle adds the cooperative budget (`lock` spends
//! one unit per acquisition; `try_lock` none) and tokio's names.

use crate::loom::sync::StdArc as Arc;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// An async mutex: asyncio's `Lock` holding the data it protects.
///
/// Unlike `std::sync::Mutex`, waiting for the lock suspends the task instead of blocking the
/// thread, and the guard is `Send`, so it can be held across `.await` (e.g. to keep a
/// connection busy while a request is in flight). For short critical sections with no
/// `.await` inside, `std::sync::Mutex` is faster.
///
/// ```
/// use spindle::sync::Mutex;
/// use std::sync::Arc;
///
/// spindle::run(async {
///     let counter = Arc::new(Mutex::new(0u64));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let counter = counter.clone();
///             spindle::spawn(async move {
///                 for _ in 0..100 {
///                     let mut n = counter.lock().await;
///                     spindle::yield_now().await; // held across an await
///                     *n += 1;
///                 }
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*counter.lock().await, 1_000);
/// });
/// ```
#[repr(transparent)] // `inner_arc` relies on it
pub struct Mutex<T: ?Sized> {
    inner: async_lock::Mutex<T>,
}

impl<T> Mutex<T> {
    const_fn! {
        /// A new unlocked mutex holding `value` (a `const fn`, so it works in statics).
        ///
        /// ```
        /// static TOTAL: spindle::sync::Mutex<u32> = spindle::sync::Mutex::new(0);
        /// assert_eq!(*TOTAL.try_lock().unwrap(), 0);
        /// ```
        pub const fn new(value: T) -> Mutex<T> {
            Mutex {
                inner: async_lock::Mutex::new(value),
            }
        }
    }

    /// Consumes the mutex and returns the value.
    ///
    /// ```
    /// let m = spindle::sync::Mutex::new(String::from("x"));
    /// assert_eq!(m.into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock and returns a guard that unlocks it when dropped. Spends one unit
    /// of the cooperative budget when the lock is taken.
    ///
    /// ```
    /// spindle::run(async {
    ///     let m = spindle::sync::Mutex::new(vec![1]);
    ///     m.lock().await.push(2);
    ///     assert_eq!(*m.lock().await, [1, 2]);
    /// });
    /// ```
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard(super::Budgeted::new(self.inner.lock()).await)
    }

    /// Takes the lock if it is free right now (no waiting, no budget); `None` otherwise.
    ///
    /// ```
    /// let m = spindle::sync::Mutex::new(1);
    /// let guard = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// drop(guard);
    /// assert!(m.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.inner.try_lock().map(MutexGuard)
    }

    /// Blocks the calling thread until the lock is free — for synchronous code that shares
    /// the mutex with tasks (a plain thread, or a `spawn_blocking` closure).
    ///
    /// # Panics
    /// On a thread that runs spindle tasks (a worker, or inside `block_on`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(spindle::sync::Mutex::new(0));
    /// let m2 = m.clone();
    /// std::thread::spawn(move || *m2.lock_blocking() += 1).join().unwrap();
    /// assert_eq!(*m.lock_blocking(), 1);
    /// ```
    #[track_caller]
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        super::assert_may_block("Mutex::lock_blocking");
        MutexGuard(self.inner.lock_blocking())
    }

    /// Waits for the lock of a mutex in an `Arc` and returns a guard that owns a clone of the
    /// `Arc` (`'static`: it can move into a spawned task).
    ///
    /// ```
    /// use spindle::sync::Mutex;
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let m = Arc::new(Mutex::new(0));
    ///     let mut guard = m.lock_arc().await;
    ///     spindle::spawn(async move { *guard += 1 }).await.unwrap();
    ///     assert_eq!(*m.lock().await, 1);
    /// });
    /// ```
    pub async fn lock_arc(self: &Arc<Self>) -> OwnedMutexGuard<T> {
        let lock = self.inner_arc().lock_arc(); // owns its own clone of the Arc
        OwnedMutexGuard(super::Budgeted::new(lock).await)
    }

    /// [`try_lock`](Mutex::try_lock) with an owned guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(spindle::sync::Mutex::new(0));
    /// let guard = m.try_lock_arc().unwrap();
    /// assert!(m.try_lock_arc().is_none());
    /// drop(guard);
    /// ```
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<OwnedMutexGuard<T>> {
        self.inner_arc().try_lock_arc().map(OwnedMutexGuard)
    }

    /// A mutable reference to the value; no locking needed, `&mut self` proves exclusivity.
    ///
    /// ```
    /// let mut m = spindle::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(*m.try_lock().unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// A clone of `Arc<Mutex<T>>` as `Arc<async_lock::Mutex<T>>`, for async-lock's owned guards.
    fn inner_arc(self: &Arc<Self>) -> Arc<async_lock::Mutex<T>> {
        let raw = Arc::into_raw(Arc::clone(self)) as *const async_lock::Mutex<T>;
        // SAFETY: `raw` comes from `Arc::into_raw` of an `Arc<Mutex<T>>`, and `Mutex<T>` is
        // `#[repr(transparent)]` over `async_lock::Mutex<T>` (same size, alignment and pointer
        // metadata), which is what `Arc::from_raw` requires of a different pointee type.
        unsafe { Arc::from_raw(raw) }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(guard) => f.debug_struct("Mutex").field("value", &&*guard).finish(),
            None => f.debug_struct("Mutex").field("value", &"<locked>").finish(),
        }
    }
}

/// The guard of [`Mutex::lock`]: derefs to the value; unlocks when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized>(async_lock::MutexGuard<'a, T>);

/// The guard of [`Mutex::lock_arc`]: like [`MutexGuard`] but owns an `Arc` of the mutex.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized>(async_lock::MutexGuardArc<T>);

macro_rules! guard_impls {
    ($guard:ident $(<$lt:lifetime>)?) => {
        impl<$($lt,)? T: ?Sized> Deref for $guard<$($lt,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<$($lt,)? T: ?Sized> DerefMut for $guard<$($lt,)? T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Debug> fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Display> fmt::Display for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    };
}

guard_impls!(MutexGuard<'a>);
guard_impls!(OwnedMutexGuard);

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(spindle::sync::Mutex::new(0));
    /// let guard = m.try_lock_arc().unwrap();
    /// assert!(Arc::ptr_eq(&spindle::sync::OwnedMutexGuard::mutex(&guard), &m));
    /// ```
    pub fn mutex(guard: &Self) -> Arc<Mutex<T>>
    where
        // The returned `Arc` may be the one that drops `T`, on another thread.
        T: Send,
    {
        let inner: &Arc<async_lock::Mutex<T>> = async_lock::MutexGuardArc::source(&guard.0);
        let inner = inner.clone();
        // SAFETY: the inverse of `Mutex::inner_arc`: the pointer comes from `Arc::into_raw`, and
        // `Mutex<T>` is `#[repr(transparent)]` over `async_lock::Mutex<T>`.
        unsafe { Arc::from_raw(Arc::into_raw(inner) as *const Mutex<T>) }
    }
}
