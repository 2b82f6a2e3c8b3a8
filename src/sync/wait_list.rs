//! A FIFO of waiters with stable keys, for the primitives that need exact queueing semantics
//! (`Notify`, `Semaphore`): a slab of slots threaded into a doubly linked list by index.
//!
//! Why not an intrusive list of pinned futures (tokio's choice): it needs `unsafe` pointer
//! juggling and `!Unpin` futures. Here a waiting future owns a [`Key`] into the slab instead.
//! Membership in the queue and ownership of the slot are separate on purpose: a notifier
//! *unlinks* a waiter (`pop_front`) and leaves a mark in its slot, but only the waiting future
//! *frees* the slot (`remove`), when it completes or is dropped. So a key can never be reused
//! while its future still holds it. The list lives inside the primitive's mutex; every method is
//! O(1) (the slab grows like a `Vec` and reuses freed slots).

/// Index of a slot; valid from `push_back` until `remove`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key(usize);

const NIL: usize = usize::MAX;

#[derive(Debug)]
struct Slot<T> {
    /// `None`: a free slot (then `next` links the free list).
    value: Option<T>,
    linked: bool,
    prev: usize,
    next: usize,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct WaitList<T> {
    slots: Vec<Slot<T>>,
    free: usize,
    head: usize,
    tail: usize,
    /// Number of linked (queued) slots.
    linked: usize,
    /// Number of slots holding a value (queued or not).
    occupied: usize,
}

impl<T> WaitList<T> {
    /// Slots kept allocated when the list empties.
    const KEPT_SLOTS: usize = 8;

    pub(crate) const fn new() -> WaitList<T> {
        WaitList {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            linked: 0,
            occupied: 0,
        }
    }

    /// True when nobody is queued (slots may still be held by notified waiters).
    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// Queues `value` at the back.
    pub(crate) fn push_back(&mut self, value: T) -> Key {
        let index = if self.free != NIL {
            let index = self.free;
            self.free = self.slots[index].next;
            self.slots[index] = Slot {
                value: Some(value),
                linked: false,
                prev: NIL,
                next: NIL,
            };
            index
        } else {
            self.slots.push(Slot {
                value: Some(value),
                linked: false,
                prev: NIL,
                next: NIL,
            });
            self.slots.len() - 1
        };
        self.occupied += 1;
        self.link_back(index);
        Key(index)
    }

    fn link_back(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.linked = true;
        slot.prev = self.tail;
        slot.next = NIL;
        if self.tail == NIL {
            self.head = index;
        } else {
            self.slots[self.tail].next = index;
        }
        self.tail = index;
        self.linked += 1;
    }

    fn unlink(&mut self, index: usize) {
        let (prev, next) = {
            let slot = &mut self.slots[index];
            debug_assert!(slot.linked, "unlinking a waiter that is not queued");
            slot.linked = false;
            (
                std::mem::replace(&mut slot.prev, NIL),
                std::mem::replace(&mut slot.next, NIL),
            )
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next].prev = prev;
        }
        self.linked -= 1;
    }

    /// The first queued waiter.
    pub(crate) fn front(&self) -> Option<Key> {
        (self.head != NIL).then_some(Key(self.head))
    }

    /// Unlinks the first queued waiter; its slot stays until its owner calls `remove`.
    pub(crate) fn pop_front(&mut self) -> Option<Key> {
        let key = self.front()?;
        self.unlink(key.0);
        Some(key)
    }

    /// Unlinks the last queued waiter; its slot stays until its owner calls `remove`.
    pub(crate) fn pop_back(&mut self) -> Option<Key> {
        if self.tail == NIL {
            return None;
        }
        let key = Key(self.tail);
        self.unlink(key.0);
        Some(key)
    }

    /// Whether the waiter is still queued.
    #[cfg(test)]
    pub(crate) fn is_linked(&self, key: Key) -> bool {
        self.slots[key.0].linked
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> &mut T {
        self.slots[key.0]
            .value
            .as_mut()
            .expect("wait list: key used after remove")
    }

    /// Frees the slot (unlinking it first if it is still queued) and returns its value.
    pub(crate) fn remove(&mut self, key: Key) -> T {
        if self.slots[key.0].linked {
            self.unlink(key.0);
        }
        let slot = &mut self.slots[key.0];
        let value = slot.value.take().expect("wait list: key removed twice");
        slot.next = self.free;
        self.free = key.0;
        self.occupied -= 1;
        if self.occupied == 0 {
            // Everyone left: start over, and give back the memory of a burst of waiters (a
            // few slots stay, so that one waiter at a time never allocates).
            self.slots.clear();
            self.slots.shrink_to(Self::KEPT_SLOTS);
            self.free = NIL;
        }
        value
    }
}

/// Wakers collected under a lock and woken after it is released, in batches so that a long
/// queue needs no allocation.
pub(crate) struct WakeList {
    wakers: [Option<std::task::Waker>; WakeList::CAPACITY],
    len: usize,
}

impl WakeList {
    pub(crate) const CAPACITY: usize = 32;

    pub(crate) fn new() -> WakeList {
        WakeList {
            wakers: std::array::from_fn(|_| None),
            len: 0,
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == Self::CAPACITY
    }

    /// # Panics
    /// When full; callers check [`is_full`](Self::is_full) first.
    pub(crate) fn push(&mut self, waker: std::task::Waker) {
        assert!(!self.is_full(), "WakeList overflow");
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    /// Wakes every collected waker (call it with no lock held).
    pub(crate) fn wake_all(&mut self) {
        for slot in &mut self.wakers[..self.len] {
            if let Some(waker) = slot.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_stable_keys() {
        let mut list = WaitList::new();
        let a = list.push_back('a');
        let b = list.push_back('b');
        let c = list.push_back('c');
        assert_eq!(list.pop_front(), Some(a));
        // `a` is unlinked but its slot is still owned: a new waiter gets a fresh slot.
        let d = list.push_back('d');
        assert_ne!(d, a);
        assert!(!list.is_linked(a));
        assert_eq!(*list.get_mut(a), 'a');
        assert_eq!(list.remove(a), 'a');
        // Removing a queued waiter from the middle keeps the order of the rest.
        assert_eq!(list.remove(c), 'c');
        assert_eq!(list.pop_back(), Some(d));
        assert_eq!(list.pop_front(), Some(b));
        assert!(list.is_empty());
        assert_eq!(list.pop_front(), None);
        assert_eq!(list.remove(b), 'b');
        assert_eq!(list.remove(d), 'd');
        // Everything freed: the slab starts over.
        assert!(list.slots.is_empty());
        let burst: Vec<_> = (0..1_000).map(|_| list.push_back('x')).collect();
        for k in burst {
            list.remove(k);
        }
        assert!(
            list.slots.capacity() <= WaitList::<char>::KEPT_SLOTS,
            "burst memory kept"
        );
    }

    #[test]
    fn freed_slots_are_reused() {
        let mut list = WaitList::new();
        let keys: Vec<_> = (0..10).map(|i| list.push_back(i)).collect();
        let held = list.push_back(99);
        for k in &keys {
            list.remove(*k);
        }
        let again: Vec<_> = (0..10).map(|i| list.push_back(i)).collect();
        assert_eq!(list.slots.len(), 11, "freed slots were not reused");
        let mut order = Vec::new();
        while let Some(k) = list.pop_front() {
            order.push(*list.get_mut(k));
        }
        assert_eq!(order, vec![99, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        for k in again.into_iter().chain([held]) {
            list.remove(k);
        }
    }
}
