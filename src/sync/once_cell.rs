//! `OnceCell`: a value initialised at most once, possibly by an async function.
//!
//! spindle's own code (tokio's design): async-lock's `OnceCell::set` is async, tokio users
//! expect a synchronous `set` that reports *why* it failed. The cell is a flag, the value slot
//! and a one-permit [`Semaphore`]: the task holding the permit runs the initialiser; everyone
//! else queues on the semaphore (FIFO). Success stores the value, sets the flag and *closes*
//! the semaphore, which releases every queued task at once to read the value. An initialiser
//! that fails or is cancelled (its future dropped) drops the permit, so the next queued task
//! tries — initialisation happens exactly once, and never with two initialisers running.

use super::Semaphore;
use super::semaphore::SemaphorePermit;
use crate::loom::UnsafeCell;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;

/// A cell written once, asynchronously: lazily connect, load a config, build a client.
///
/// [`get_or_init`](OnceCell::get_or_init) runs the initialiser in exactly one task even when
/// many race; the others wait for its result.
///
/// ```
/// use spindle::sync::OnceCell;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
/// static LOADS: AtomicUsize = AtomicUsize::new(0);
///
/// async fn config() -> &'static str {
///     CONFIG
///         .get_or_init(|| async {
///             LOADS.fetch_add(1, Ordering::SeqCst);
///             spindle::time::sleep(std::time::Duration::from_millis(5)).await;
///             String::from("debug=1")
///         })
///         .await
/// }
///
/// spindle::run(async {
///     let all = spindle::gather((0..10).map(|_| spindle::spawn(config()))).await;
///     assert!(all.into_iter().all(|c| c.unwrap() == "debug=1"));
///     assert_eq!(LOADS.load(Ordering::SeqCst), 1);
/// });
/// ```
pub struct OnceCell<T> {
    value_set: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    semaphore: Semaphore,
}

// SAFETY: the value is written once, by the permit holder, before `value_set` is published
// (Release) and read only after `value_set` is seen (Acquire); sharing `&OnceCell<T>` hands
// out `&T` to many threads (needs `T: Sync`) and lets any of them store a `T` that another
// thread will drop (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}
// SAFETY: moving the cell moves the `T` it owns.
unsafe impl<T: Send> Send for OnceCell<T> {}

/// Why [`OnceCell::set`] failed; carries the value back.
#[derive(Clone, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// Another task is running an initialiser right now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// True for [`SetError::AlreadyInitializedError`].
    ///
    /// ```
    /// let cell = spindle::sync::OnceCell::new_with(Some(1));
    /// assert!(cell.set(2).unwrap_err().is_already_init_err());
    /// ```
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// True for [`SetError::InitializingError`].
    ///
    /// ```
    /// let cell = spindle::sync::OnceCell::<u8>::new();
    /// assert!(cell.set(1).is_ok());
    /// assert!(!cell.set(2).unwrap_err().is_initializing_err());
    /// ```
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }

    /// The value that could not be stored.
    ///
    /// ```
    /// let cell = spindle::sync::OnceCell::new_with(Some(1));
    /// assert_eq!(cell.set(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitializedError(v) | SetError::InitializingError(v) => v,
        }
    }
}

impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError(..)"),
            SetError::InitializingError(_) => f.write_str("InitializingError(..)"),
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("the cell is already initialized"),
            SetError::InitializingError(_) => {
                f.write_str("the cell is being initialized by another task")
            }
        }
    }
}

impl<T> std::error::Error for SetError<T> {}

impl<T> OnceCell<T> {
    /// An empty cell.
    ///
    /// ```
    /// let cell = spindle::sync::OnceCell::<u32>::new();
    /// assert!(cell.get().is_none());
    /// ```
    pub fn new() -> OnceCell<T> {
        OnceCell::const_new()
    }

    const_fn! {
        /// [`new`](OnceCell::new) as a `const fn`, for statics.
        ///
        /// ```
        /// static CELL: spindle::sync::OnceCell<u32> = spindle::sync::OnceCell::const_new();
        /// assert!(!CELL.initialized());
        /// ```
        pub const fn const_new() -> OnceCell<T> {
            OnceCell {
                value_set: AtomicBool::new(false),
                value: UnsafeCell::new(MaybeUninit::uninit()),
                semaphore: Semaphore::const_new(1),
            }
        }
    }

    /// A cell holding `value`, or an empty one for `None`.
    ///
    /// ```
    /// let cell = spindle::sync::OnceCell::new_with(Some("ready"));
    /// assert_eq!(cell.get(), Some(&"ready"));
    /// ```
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(value) = value {
            let permit = cell.semaphore.try_acquire().expect("a new cell is free");
            cell.store(value, permit);
        }
        cell
    }

    /// Whether the cell holds a value.
    ///
    /// ```
    /// let cell = spindle::sync::OnceCell::new();
    /// cell.set(1).unwrap();
    /// assert!(cell.initialized());
    /// ```
    pub fn initialized(&self) -> bool {
        // Acquire: pairs with the Release in `store`, so the value is visible once this is true.
        self.value_set.load(Ordering::Acquire)
    }

    /// The value, if the cell holds one. Never waits.
    ///
    /// ```
    /// let cell = spindle::sync::OnceCell::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set(5).unwrap();
    /// assert_eq!(cell.get(), Some(&5));
    /// ```
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: `value_set` is true (Acquire), so the value was fully written before it
            // was published and is never written again while `&self` lives.
            Some(self.value.with(|slot| unsafe { (*slot).assume_init_ref() }))
        } else {
            None
        }
    }

    /// A mutable reference to the value, if any (`&mut self` proves exclusivity).
    ///
    /// ```
    /// let mut cell = spindle::sync::OnceCell::new_with(Some(1));
    /// *cell.get_mut().unwrap() += 1;
    /// assert_eq!(cell.get(), Some(&2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.initialized() {
            // SAFETY: initialised (see `get`), and `&mut self` excludes every other access.
            Some(
                self.value
                    .with_mut(|slot| unsafe { (*slot).assume_init_mut() }),
            )
        } else {
            None
        }
    }

    /// Stores `value` if the cell is empty and nobody is initialising it; otherwise hands the
    /// value back in a [`SetError`] that says why. Never waits.
    ///
    /// ```
    /// use spindle::sync::{OnceCell, SetError};
    /// let cell = OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// assert!(matches!(cell.set(2), Err(SetError::AlreadyInitializedError(2))));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_acquire() {
            Some(permit) => {
                self.store(value, permit);
                Ok(())
            }
            // Closed (the value was just stored) or held by a running initialiser.
            None if self.initialized() => Err(SetError::AlreadyInitializedError(value)),
            None => Err(SetError::InitializingError(value)),
        }
    }

    /// The value, initialising it with `f().await` first if the cell is empty. Exactly one
    /// initialiser runs at a time; concurrent callers wait for it and get its value. If the
    /// initialiser is cancelled (the calling future dropped), the next waiter runs its own.
    ///
    /// ```
    /// spindle::run(async {
    ///     let cell = spindle::sync::OnceCell::new();
    ///     let v = cell.get_or_init(|| async { 40 + 2 }).await;
    ///     assert_eq!(*v, 42);
    ///     let again = cell.get_or_init(|| async { unreachable!() }).await;
    ///     assert_eq!(*again, 42);
    /// });
    /// ```
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(value) = self.get() {
            return value;
        }
        match self.semaphore.acquire_checked().await {
            Ok(permit) => {
                let value = f().await;
                self.store(value, permit)
            }
            // Closed: the value is stored.
            Err(_) => self.get().expect("OnceCell: closed without a value"),
        }
    }

    /// Like [`get_or_init`](OnceCell::get_or_init) with a fallible initialiser: an `Err` is
    /// returned to this caller and leaves the cell empty (the next waiter tries its own).
    ///
    /// ```
    /// spindle::run(async {
    ///     let cell = spindle::sync::OnceCell::<u32>::new();
    ///     let failed = cell.get_or_try_init(|| async { "nope".parse::<u32>() }).await;
    ///     assert!(failed.is_err() && !cell.initialized());
    ///     let ok = cell.get_or_try_init(|| async { "7".parse::<u32>() }).await;
    ///     assert_eq!(ok, Ok(&7));
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get() {
            return Ok(value);
        }
        match self.semaphore.acquire_checked().await {
            Ok(permit) => {
                let value = f().await?; // on Err the permit drops: the next waiter tries
                Ok(self.store(value, permit))
            }
            Err(_) => Ok(self.get().expect("OnceCell: closed without a value")),
        }
    }

    /// Takes the value out, leaving the cell empty (and ready to be initialised again).
    ///
    /// ```
    /// let mut cell = spindle::sync::OnceCell::new_with(Some(3));
    /// assert_eq!(cell.take(), Some(3));
    /// assert!(cell.set(4).is_ok());
    /// ```
    pub fn take(&mut self) -> Option<T> {
        if !self.initialized() {
            return None;
        }
        // Relaxed: `&mut self` excludes every concurrent access.
        self.value_set.store(false, Ordering::Relaxed);
        self.semaphore = Semaphore::new(1);
        // SAFETY: the value was initialised (checked above) and the flag is now false, so it
        // is read out exactly once and never dropped again by `Drop`.
        Some(
            self.value
                .with(|slot| unsafe { (*slot).assume_init_read() }),
        )
    }

    /// Consumes the cell and returns its value, if any.
    ///
    /// ```
    /// let cell = spindle::sync::OnceCell::new_with(Some(vec![1]));
    /// assert_eq!(cell.into_inner(), Some(vec![1]));
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Writes the value (the caller holds the only permit), publishes it and releases every
    /// waiter by closing the semaphore. The permit is never given back.
    fn store(&self, value: T, permit: SemaphorePermit<'_>) -> &T {
        // SAFETY: the permit makes this the only writer, and no reader looks at the slot
        // before `value_set` is true.
        self.value.with_mut(|slot| unsafe { (*slot).write(value) });
        // Release: publishes the value to `initialized`/`get` (Acquire).
        self.value_set.store(true, Ordering::Release);
        self.semaphore.close();
        permit.forget();
        self.get().expect("just stored")
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        if self.initialized() {
            // SAFETY: initialised, and this is the last access to the slot.
            self.value
                .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
        }
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> OnceCell<T> {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> OnceCell<T> {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &OnceCell<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
