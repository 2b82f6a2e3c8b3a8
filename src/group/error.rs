//! [`GroupError`]: the grouped failure of a [`task_group`](crate::task_group), asyncio's
//! `ExceptionGroup`, with [`split`](GroupError::split) as the analogue of `except*`.

use std::fmt::{self, Write as _};

/// Every error of a failed [`task_group`](crate::task_group), or the fact that it was
/// cancelled.
///
/// The errors of the children come in the order in which the children finished; the body's
/// error, if any, comes last. A group stopped by [`TaskGroup::cancel`](crate::TaskGroup::cancel)
/// (or a failure seen after it) reports no errors and [`is_cancelled`](Self::is_cancelled).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let err = spindle::run(spindle::task_group(|g| async move {
///     g.spawn(async {
///         spindle::time::sleep(Duration::from_millis(10)).await;
///         Err::<(), _>("child failed")
///     });
///     spindle::time::sleep(Duration::from_secs(3600)).await; // dropped when the child fails
///     Ok(())
/// }))
/// .unwrap_err();
/// assert_eq!(err.errors(), &["child failed"]);
/// assert!(!err.is_cancelled());
/// assert_eq!(err.to_string(), "task group failed with 1 error:\n  1. child failed");
/// ```
pub struct GroupError<E> {
    errors: Vec<E>,
    cancelled: bool,
}

impl<E> GroupError<E> {
    pub(crate) fn failed(errors: Vec<E>) -> Self {
        GroupError {
            errors,
            cancelled: false,
        }
    }

    pub(crate) fn cancelled() -> Self {
        GroupError {
            errors: Vec::new(),
            cancelled: true,
        }
    }

    /// The collected errors: the children's in completion order, then the body's.
    ///
    /// ```
    /// let err = spindle::run(spindle::task_group(|_g| async { Err::<(), _>(7) })).unwrap_err();
    /// assert_eq!(err.errors(), &[7]);
    /// ```
    pub fn errors(&self) -> &[E] {
        &self.errors
    }

    /// The collected errors, by value.
    ///
    /// ```
    /// let err = spindle::run(spindle::task_group(|_g| async { Err::<(), _>("no") })).unwrap_err();
    /// assert_eq!(err.into_errors(), vec!["no"]);
    /// ```
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }

    /// How many errors were collected.
    ///
    /// ```
    /// let err = spindle::run(spindle::task_group(|_g| async { Err::<(), _>(1) })).unwrap_err();
    /// assert_eq!(err.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether no error was collected (the group was cancelled).
    ///
    /// ```
    /// let err = spindle::run(spindle::task_group(|g: spindle::TaskGroup<String>| async move {
    ///     g.cancel();
    ///     Ok(())
    /// }))
    /// .unwrap_err();
    /// assert!(err.is_empty() && err.is_cancelled());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether the group ended because [`TaskGroup::cancel`](crate::TaskGroup::cancel) was called
    /// before any failure. A cancelled group reports no errors.
    ///
    /// ```
    /// let err = spindle::run(spindle::task_group(|_g| async { Err::<(), _>("x") })).unwrap_err();
    /// assert!(!err.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Splits the errors into those matching `pred` and the rest, keeping their order: the
    /// analogue of Python's `except*`. A side without errors is `None`.
    ///
    /// ```
    /// use std::io;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::time::Duration;
    ///
    /// let err = spindle::run(spindle::task_group(|g| async move {
    ///     let started = Arc::new(AtomicBool::new(false));
    ///     // A running blocking child cannot be interrupted: it notices the cancellation
    ///     // and still reports its own error.
    ///     let (g2, started2) = (g.clone(), started.clone());
    ///     g.spawn_blocking(move || {
    ///         started2.store(true, Ordering::SeqCst);
    ///         while !g2.is_cancelled() {
    ///             std::thread::sleep(Duration::from_millis(1));
    ///         }
    ///         Err::<(), _>(io::Error::new(io::ErrorKind::TimedOut, "slow"))
    ///     });
    ///     while !started.load(Ordering::SeqCst) {
    ///         spindle::time::sleep(Duration::from_millis(1)).await;
    ///     }
    ///     Err::<(), _>(io::Error::other("broken")) // the body's error comes last
    /// }))
    /// .unwrap_err();
    /// assert_eq!(err.len(), 2);
    /// let (timeouts, rest) = err.split(|e| e.kind() == io::ErrorKind::TimedOut);
    /// assert_eq!(timeouts.unwrap().errors()[0].to_string(), "slow");
    /// assert_eq!(rest.unwrap().errors()[0].to_string(), "broken");
    /// ```
    pub fn split<P: FnMut(&E) -> bool>(
        self,
        mut pred: P,
    ) -> (Option<GroupError<E>>, Option<GroupError<E>>) {
        let cancelled = self.cancelled;
        let (matching, rest): (Vec<E>, Vec<E>) = self.errors.into_iter().partition(|e| pred(e));
        let side =
            |errors: Vec<E>| (!errors.is_empty()).then_some(GroupError { errors, cancelled });
        (side(matching), side(rest))
    }
}

impl<E: Clone> Clone for GroupError<E> {
    fn clone(&self) -> Self {
        GroupError {
            errors: self.errors.clone(),
            cancelled: self.cancelled,
        }
    }
}

/// Equal when both hold equal errors in the same order and agree on cancellation.
impl<E: PartialEq> PartialEq for GroupError<E> {
    fn eq(&self, other: &Self) -> bool {
        self.cancelled == other.cancelled && self.errors == other.errors
    }
}

impl<E: Eq> Eq for GroupError<E> {}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("errors", &self.errors)
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

/// `task group failed with N error(s):` followed by one numbered line per error (continuation
/// lines of an error are indented), or `task group was cancelled`.
///
/// ```
/// let err = spindle::run(spindle::task_group(|_g| async { Err::<(), _>("Body error") }))
///     .unwrap_err();
/// assert_eq!(err.to_string(), "task group failed with 1 error:\n  1. Body error");
/// ```
impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errors.is_empty() {
            return if self.cancelled {
                f.write_str("task group was cancelled")
            } else {
                f.write_str("task group failed with no errors")
            };
        }
        let n = self.errors.len();
        write!(
            f,
            "task group failed with {n} error{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, error) in self.errors.iter().enumerate() {
            write!(f, "\n  {}. ", i + 1)?;
            // Multi-line errors (a nested group's) are indented under their number.
            write!(Indented { inner: f }, "{error}")?;
        }
        Ok(())
    }
}

/// Writes through to `inner`, indenting every line after the first.
struct Indented<'a, 'b> {
    inner: &'a mut fmt::Formatter<'b>,
}

impl fmt::Write for Indented<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            self.inner.write_str(first)?;
        }
        for line in lines {
            self.inner.write_str("\n     ")?;
            self.inner.write_str(line)?;
        }
        Ok(())
    }
}

/// The `source` is the first error.
impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.errors
            .first()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
