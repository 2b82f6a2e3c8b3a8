//! `JoinError`: why a task produced no output (cancelled, or panicked).

use std::any::Any;
use std::fmt;

/// A task did not complete normally: it was cancelled (aborted, or its runtime shut down) or it
/// panicked.
///
/// ```
/// let err = spindle::run(async {
///     spindle::spawn(async { panic!("boom") }).await.unwrap_err()
/// });
/// assert!(err.is_panic());
/// assert_eq!(err.to_string(), "task panicked with message \"boom\"");
/// ```
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic {
        payload: SyncPayload,
        /// Read out at construction, so that `Display` needs no shared access to the payload.
        message: Option<String>,
    },
}

/// A panic payload is `Send` but not `Sync`; this wrapper only ever hands it out by value
/// (`into_panic`), never by shared reference, which makes sharing the wrapper sound.
struct SyncPayload(Box<dyn Any + Send>);

// SAFETY: no `&self` method reaches the payload; it is only moved out of an owned JoinError.
unsafe impl Sync for SyncPayload {}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send>) -> JoinError {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        JoinError {
            repr: Repr::Panic {
                payload: SyncPayload(payload),
                message,
            },
        }
    }

    /// True if the task was cancelled: aborted, or its runtime shut down before it finished.
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(std::future::pending::<()>());
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked.
    ///
    /// ```
    /// let err = spindle::run(async { spindle::spawn(async { panic!() }).await.unwrap_err() });
    /// assert!(err.is_panic() && !err.is_cancelled());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic { .. })
    }

    /// The panic payload; panics if the task was cancelled instead (see [`try_into_panic`]).
    ///
    /// [`try_into_panic`]: JoinError::try_into_panic
    ///
    /// ```
    /// let err = spindle::run(async { spindle::spawn(async { panic!("boom") }).await.unwrap_err() });
    /// let payload = err.into_panic();
    /// assert_eq!(*payload.downcast::<&str>().unwrap(), "boom");
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` on a cancelled task; check `is_panic()` or use `try_into_panic`")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(std::future::pending::<()>());
    ///     handle.abort();
    ///     let err = handle.await.unwrap_err();
    ///     assert!(err.try_into_panic().is_err());
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JoinError> {
        match self.repr {
            Repr::Panic { payload, .. } => Ok(payload.0),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic {
                message: Some(message),
                ..
            } => write!(f, "task panicked with message {message:?}"),
            Repr::Panic { message: None, .. } => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic { message, .. } => {
                f.debug_tuple("JoinError::Panic").field(message).finish()
            }
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}
