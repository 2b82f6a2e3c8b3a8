//! The run queues: crossbeam-deque's lock-free `Worker`/`Stealer`/`Injector`, or, under
//! `--cfg loom`, a mutex-and-VecDeque stand-in with the same methods, because loom cannot model
//! crossbeam's internal atomics. The stand-in keeps the semantics the scheduler relies on:
//! FIFO local pops, stealing about half of a victim's queue, and an MPMC injector.

#[cfg(not(loom))]
pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};

#[cfg(loom)]
pub(crate) use model::{Injector, Steal, Stealer, Worker};

#[cfg(loom)]
mod model {
    use crate::loom::sync::{Arc, Mutex};
    use std::collections::VecDeque;

    pub(crate) enum Steal<T> {
        Empty,
        Success(T),
        #[allow(dead_code)] // crossbeam can ask for a retry; the stand-in never does
        Retry,
    }

    pub(crate) struct Worker<T> {
        queue: Arc<Mutex<VecDeque<T>>>,
    }

    pub(crate) struct Stealer<T> {
        queue: Arc<Mutex<VecDeque<T>>>,
    }

    pub(crate) struct Injector<T> {
        queue: Mutex<VecDeque<T>>,
    }

    impl<T> Worker<T> {
        pub(crate) fn new_fifo() -> Self {
            Worker {
                queue: Arc::new(Mutex::new(VecDeque::new())),
            }
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer {
                queue: self.queue.clone(),
            }
        }
        pub(crate) fn push(&self, task: T) {
            self.queue.lock().unwrap().push_back(task);
        }
        pub(crate) fn pop(&self) -> Option<T> {
            self.queue.lock().unwrap().pop_front()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.queue.lock().unwrap().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.queue.lock().unwrap().len()
        }
    }

    fn steal_half<T>(from: &Mutex<VecDeque<T>>, dest: &Worker<T>) -> Steal<T> {
        let mut batch = {
            let mut from = from.lock().unwrap();
            let take = from.len().div_ceil(2);
            from.drain(..take).collect::<VecDeque<T>>()
        };
        match batch.pop_front() {
            None => Steal::Empty,
            Some(first) => {
                dest.queue.lock().unwrap().extend(batch);
                Steal::Success(first)
            }
        }
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            steal_half(&self.queue, dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.queue.lock().unwrap().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.queue.lock().unwrap().len()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Self {
            Injector {
                queue: Mutex::new(VecDeque::new()),
            }
        }
        pub(crate) fn push(&self, task: T) {
            self.queue.lock().unwrap().push_back(task);
        }
        pub(crate) fn steal(&self) -> Steal<T> {
            match self.queue.lock().unwrap().pop_front() {
                Some(task) => Steal::Success(task),
                None => Steal::Empty,
            }
        }
        pub(crate) fn steal_batch_with_limit_and_pop(
            &self,
            dest: &Worker<T>,
            _limit: usize,
        ) -> Steal<T> {
            steal_half(&self.queue, dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.queue.lock().unwrap().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.queue.lock().unwrap().len()
        }
    }
}
