//! The errors of [`mpsc`](super): [`SendError`], [`RecvError`], [`TrySendError`],
//! [`TryRecvError`]. They print like tokio's and do not require `T: Debug`.

use std::fmt;

/// [`Sender::send`](super::Sender::send) failed: the channel is closed. Carries the message back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// [`Receiver::recv`](super::Receiver::recv) failed: the channel is closed and empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError;

/// Why [`Sender::try_send`](super::Sender::try_send) failed. Carries the message back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full (bounded channels only).
    Full(T),
    /// The channel is closed.
    Closed(T),
}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message right now; the channel is open.
    Empty,
    /// The channel is closed and empty.
    Closed,
}

impl<T> SendError<T> {
    /// The message that was not sent.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::mpsc::unbounded();
    /// drop(rx);
    /// let err = spindle::run(async move { tx.send(9).await.unwrap_err() });
    /// assert_eq!(err.into_inner(), 9);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::mpsc::bounded(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(m) | TrySendError::Closed(m) => m,
        }
    }

    /// True for [`TrySendError::Full`].
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::mpsc::bounded(1);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.try_send(2).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// True for [`TrySendError::Closed`].
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::mpsc::bounded(1);
    /// drop(rx);
    /// assert!(tx.try_send(1).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl TryRecvError {
    /// True for [`TryRecvError::Empty`].
    ///
    /// ```
    /// let (_tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// True for [`TryRecvError::Closed`].
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
    /// drop(tx);
    /// assert!(rx.try_recv().unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TryRecvError::Closed)
    }
}

// Errors print like tokio's and do not require `T: Debug` (the message is not shown).
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending into a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending into a full channel"),
            TrySendError::Closed(_) => f.write_str("sending into a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(err: SendError<T>) -> TrySendError<T> {
        TrySendError::Closed(err.0)
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving from an empty and closed channel")
    }
}

impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving from an empty channel"),
            TryRecvError::Closed => f.write_str("receiving from an empty and closed channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> TryRecvError {
        TryRecvError::Closed
    }
}
