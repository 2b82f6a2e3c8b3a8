//! The one door to shared-memory primitives.
//!
//! Every atomic, `UnsafeCell`, mutex, condvar, thread spawn and thread-local inside spindle is
//! imported from here. A normal build re-exports `std`; building with `RUSTFLAGS="--cfg loom"`
//! swaps in loom's model-checked types so that `loom-tests/` can explore every interleaving of
//! the task state machine, the parking protocol and the timer entries.
//!
//! `UnsafeCell` follows loom's closure API (`with` / `with_mut`) in both builds, so code written
//! against it checks its accesses under loom and costs nothing otherwise.

#[cfg(not(loom))]
mod imp {
    pub(crate) mod sync {
        /// A lock shared with threads loom does not run (rayon's), never part of a loom model.
        pub(crate) use std::sync::Mutex as StdMutex;
        pub(crate) use std::sync::{
            Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
        };
        /// The runtime handle's `Arc`: std in both builds (loom's has no `new_cyclic`/`Weak`,
        /// and the handle is not part of any model).
        pub(crate) use std::sync::{Arc as StdArc, Weak as StdWeak};

        pub(crate) mod atomic {
            pub(crate) use std::sync::atomic::{
                AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
            };
            /// Process-wide counters (statics) and statistics shared with threads loom does not
            /// run (rayon's), never part of a loom model.
            pub(crate) use std::sync::atomic::{
                AtomicBool as StdAtomicBool, AtomicU64 as StdAtomicU64,
                AtomicUsize as StdAtomicUsize,
            };
        }
    }

    pub(crate) mod thread {
        pub(crate) use std::thread::{Thread, current, park};
    }

    pub(crate) use std::thread_local;

    /// `std::cell::UnsafeCell` with loom's access API.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) mod sync {
        pub(crate) use loom::sync::{
            Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
        };
        // loom has no Weak / new_cyclic; the runtime handle that needs them is not modelled.
        /// A lock shared with threads loom does not run (rayon's), never part of a loom model.
        pub(crate) use std::sync::Mutex as StdMutex;
        pub(crate) use std::sync::{Arc as StdArc, Weak as StdWeak};

        pub(crate) mod atomic {
            pub(crate) use loom::sync::atomic::{
                AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
            };
            /// Process-wide counters (statics) and statistics shared with threads loom does not
            /// run (rayon's), never part of a loom model.
            pub(crate) use std::sync::atomic::{
                AtomicBool as StdAtomicBool, AtomicU64 as StdAtomicU64,
                AtomicUsize as StdAtomicUsize,
            };
        }
    }

    pub(crate) mod thread {
        pub(crate) use loom::thread::{Thread, current, park};
    }

    pub(crate) use loom::cell::UnsafeCell;
}

/// loom's `thread_local!` does not accept std's `const { .. }` initializer: strip it.
#[cfg(loom)]
macro_rules! loom_thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
        $crate::loom::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
        $crate::loom::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
    };
}
#[cfg(loom)]
pub(crate) use loom_thread_local as thread_local;

pub(crate) use imp::*;

/// A mutex lock that ignores poisoning: spindle catches task panics itself, so a poisoned lock
/// only means a panic unwound through code that left the data consistent (we never panic while
/// holding a lock in a way that breaks an invariant).
pub(crate) fn lock<T>(mutex: &sync::Mutex<T>) -> sync::MutexGuard<'_, T> {
    #[cfg(not(loom))]
    {
        mutex
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    #[cfg(loom)]
    {
        mutex.lock().unwrap()
    }
}

/// [`lock`] for a read lock.
pub(crate) fn read<T>(lock: &sync::RwLock<T>) -> sync::RwLockReadGuard<'_, T> {
    #[cfg(not(loom))]
    {
        lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    #[cfg(loom)]
    {
        lock.read().unwrap()
    }
}

/// [`lock`] for a write lock.
pub(crate) fn write<T>(lock: &sync::RwLock<T>) -> sync::RwLockWriteGuard<'_, T> {
    #[cfg(not(loom))]
    {
        lock.write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    #[cfg(loom)]
    {
        lock.write().unwrap()
    }
}
