//! A hierarchical timing wheel: the pure, single-threaded data structure behind spindle's timers.
//!
//! Time is counted in ticks of 1 ms. Six levels of 64 slots each cover 64^6 ticks (about 2.2
//! years): a slot of level `L` spans 64^L ticks, and an entry lives on the level of the highest
//! bit in which its deadline differs from `elapsed` (the last tick processed), so every occupied
//! slot starts strictly after `elapsed`. Deadlines further away than level 5 can hold go to an
//! unsorted overflow list that is re-sorted each time `elapsed` crosses a 2^36-tick boundary.
//! Each level keeps an `occupied: u64` bitmap, so the next expiration is a `trailing_zeros`.
//! [`Wheel::advance`] processes the earliest slot while it is due: entries whose deadline has
//! come fire, the others cascade to a lower level. Entries live in a slab (`Vec` + free list)
//! and are linked into their slot by index in a doubly linked list, so insert, reset and cancel
//! are O(1). The wheel never wakes anybody: fired wakers are handed back to the caller, which
//! wakes them after releasing its lock (and drops replaced wakers outside it as well).

use std::task::Waker;

/// Bits of a tick consumed by one level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels in the wheel proper (the overflow list comes on top).
const LEVELS: usize = 6;
/// Ticks covered by the whole wheel: deadlines at least this far apart from `elapsed` in their
/// high bits go to the overflow list.
const SPAN_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// The `level` value of an entry in the overflow list.
const OVERFLOW: u8 = LEVELS as u8;
/// The null link.
const NIL: u32 = u32::MAX;
/// When the last entry is freed, a slab that grew beyond this many entries is released.
/// (Smaller under miri, so that its test of the release stays fast there.)
const SHRINK_ABOVE: usize = if cfg!(miri) { 64 } else { 4096 };

/// What the owner of a [`Key`] can observe about its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryState {
    /// Linked into a slot (or the overflow list), waiting for its deadline.
    Pending,
    /// Its deadline was reached: it was unlinked and its waker handed out.
    Fired,
    /// Unlinked by [`Wheel::cancel_all`] (runtime shutdown) before its deadline.
    Cancelled,
}

/// Slab slot state. Transitions (all under the owner's `&mut Wheel`):
///
/// * `Free -> Pending`: `insert` with a deadline after `elapsed`.
/// * `Free -> Fired`: `insert` with a deadline at or before `elapsed` (fires at once).
/// * `Pending -> Fired`: `advance` reached the deadline (waker moved to the caller).
/// * `Pending -> Cancelled`: `cancel_all` (waker moved to the caller).
/// * `Pending | Fired | Cancelled -> Pending | Fired`: `reset` to a new deadline.
/// * `Fired -> Cancelled`: `cancel` (a re-arm refused after shutdown).
/// * any live state `-> Free`: `remove` (the only way a slab slot is released).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Free,
    Live(EntryState),
}

struct Entry {
    /// Deadline in ticks.
    deadline: u64,
    /// Woken when the entry fires; `None` once handed out.
    waker: Option<Waker>,
    /// Slot-list links while `Pending`; `next` is the free-list link while `Free`.
    prev: u32,
    next: u32,
    state: Slot,
    /// Where the entry is linked while `Pending`: level (or `OVERFLOW`) and slot.
    level: u8,
    slot: u8,
}

/// One level: 64 list heads and the bitmap of non-empty slots.
struct Level {
    occupied: u64,
    heads: [u32; SLOTS],
}

/// The owner's handle on one entry. Not `Clone`: [`Wheel::remove`] consumes it, so an entry
/// cannot be freed twice or used after it was freed.
#[derive(Debug)]
pub(crate) struct Key(u32);

impl Key {
    /// The slab index (stable while the entry is live); used by tests to identify entries.
    #[cfg(test)]
    pub(crate) fn index(&self) -> usize {
        self.0 as usize
    }
}

/// The timing wheel. See the module documentation.
pub(crate) struct Wheel {
    /// Every deadline `<= elapsed` has fired; every pending deadline is `> elapsed`.
    elapsed: u64,
    levels: [Level; LEVELS],
    /// Head of the unsorted overflow list.
    overflow: u32,
    entries: Vec<Entry>,
    /// Head of the free list.
    free: u32,
    /// Number of `Pending` entries.
    pending: usize,
    /// Number of entries that are not `Free`.
    live: usize,
}

impl Default for Wheel {
    fn default() -> Self {
        Wheel::new()
    }
}

/// The level an entry with `deadline > elapsed` belongs to (`>= LEVELS` means overflow).
fn level_for(elapsed: u64, deadline: u64) -> usize {
    // The low bits are forced on so that differences inside one level-0 window map to level 0.
    let masked = (elapsed ^ deadline) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros();
    (significant / SLOT_BITS) as usize
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [NIL; SLOTS],
            }),
            overflow: NIL,
            entries: Vec::new(),
            free: NIL,
            pending: 0,
            live: 0,
        }
    }

    /// The last tick processed: every deadline at or before it has fired.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of entries waiting for their deadline.
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Number of slab entries in use (pending, fired or cancelled, not yet removed).
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Length of the slab (used and free entries).
    #[cfg(test)]
    pub(crate) fn slab_len(&self) -> usize {
        self.entries.len()
    }

    /// Adds an entry. A deadline at or before `elapsed` fires at once (`Fired`, the waker is not
    /// kept); otherwise the entry is `Pending` with a clone of `waker`.
    pub(crate) fn insert(&mut self, deadline: u64, waker: &Waker) -> (Key, EntryState) {
        let index = self.alloc(deadline);
        let state = if deadline <= self.elapsed {
            EntryState::Fired
        } else {
            let entry = &mut self.entries[index as usize];
            entry.waker = Some(waker.clone());
            self.pending += 1;
            self.link(index);
            EntryState::Pending
        };
        self.entries[index as usize].state = Slot::Live(state);
        (Key(index), state)
    }

    /// The state of a live entry.
    pub(crate) fn state(&self, key: &Key) -> EntryState {
        match self.entries[key.0 as usize].state {
            Slot::Live(state) => state,
            Slot::Free => unreachable!("timer key used after its entry was freed"),
        }
    }

    /// Stores `waker` in a pending entry unless it already holds one that wakes the same task.
    /// Returns the replaced waker, for the caller to drop outside its lock.
    pub(crate) fn set_waker(&mut self, key: &Key, waker: &Waker) -> Option<Waker> {
        debug_assert_eq!(self.state(key), EntryState::Pending);
        let entry = &mut self.entries[key.0 as usize];
        match &entry.waker {
            Some(current) if current.will_wake(waker) => None,
            _ => entry.waker.replace(waker.clone()),
        }
    }

    /// Moves an entry to a new deadline, whatever its state. A pending entry keeps its waker.
    /// If the new deadline is at or before `elapsed` the entry fires at once and its waker (if
    /// any) is returned for the caller to wake outside its lock.
    pub(crate) fn reset(&mut self, key: &Key, deadline: u64) -> (EntryState, Option<Waker>) {
        let index = key.0;
        match self.state(key) {
            EntryState::Pending => self.unlink(index),
            // Not linked: it becomes pending (or fires) below.
            EntryState::Fired | EntryState::Cancelled => self.pending += 1,
        }
        let entry = &mut self.entries[index as usize];
        entry.deadline = deadline;
        if deadline <= self.elapsed {
            entry.state = Slot::Live(EntryState::Fired);
            self.pending -= 1;
            (EntryState::Fired, entry.waker.take())
        } else {
            entry.state = Slot::Live(EntryState::Pending);
            self.link(index);
            (EntryState::Pending, None)
        }
    }

    /// Marks a fired entry cancelled (a re-arm that the owner refused). Pending entries are
    /// unlinked first; the waker is returned for the caller to drop outside its lock.
    pub(crate) fn cancel(&mut self, key: &Key) -> Option<Waker> {
        if self.state(key) == EntryState::Pending {
            self.unlink(key.0);
            self.pending -= 1;
        }
        let entry = &mut self.entries[key.0 as usize];
        entry.state = Slot::Live(EntryState::Cancelled);
        entry.waker.take()
    }

    /// Frees an entry in any state (unlinking it if pending). Returns its waker, for the caller
    /// to drop outside its lock.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let index = key.0;
        if self.state(&key) == EntryState::Pending {
            self.unlink(index);
            self.pending -= 1;
        }
        let entry = &mut self.entries[index as usize];
        let waker = entry.waker.take();
        entry.state = Slot::Free;
        entry.next = self.free;
        self.free = index;
        self.live -= 1;
        if self.live == 0 && self.entries.len() > SHRINK_ABOVE {
            // No key is outstanding, so the whole slab can go (after a burst of timers).
            self.entries = Vec::new();
            self.free = NIL;
        }
        waker
    }

    /// The earliest tick at which [`advance`](Self::advance) may fire or cascade something;
    /// `None` when nothing is pending. Never later than the earliest pending deadline, and
    /// always after `elapsed`.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|(_, _, tick)| tick)
    }

    /// An empty wheel moves to `now` in O(1): nothing can fire and no slot needs cascading.
    pub(crate) fn jump_when_empty(&mut self, now: u64) {
        debug_assert_eq!(self.pending, 0, "jump_when_empty on a wheel with entries");
        if self.pending == 0 && now > self.elapsed {
            self.elapsed = now;
        }
    }

    /// Fires every entry whose deadline is `<= now`, pushing their wakers onto `wakers`, and
    /// moves `elapsed` to `now` (it never goes back). Returns the number of entries fired.
    pub(crate) fn advance(&mut self, now: u64, wakers: &mut Vec<Waker>) -> usize {
        let mut fired = 0;
        while let Some((level, slot, tick)) = self.next_slot() {
            if tick > now {
                break;
            }
            let mut cursor = if level == OVERFLOW as usize {
                // The levels are empty (they always expire before the overflow list), so the
                // wheel can jump straight to `now` and re-sort the list relative to it; this
                // keeps a jump over many 2^36-tick boundaries to one pass.
                self.elapsed = now;
                std::mem::replace(&mut self.overflow, NIL)
            } else {
                self.elapsed = tick;
                let level = &mut self.levels[level];
                level.occupied &= !(1u64 << slot);
                std::mem::replace(&mut level.heads[slot], NIL)
            };
            while cursor != NIL {
                let index = cursor;
                let entry = &mut self.entries[index as usize];
                cursor = entry.next;
                entry.prev = NIL;
                entry.next = NIL;
                if entry.deadline <= now {
                    // Pending -> Fired: unlinked above, waker handed to the caller.
                    entry.state = Slot::Live(EntryState::Fired);
                    if let Some(waker) = entry.waker.take() {
                        wakers.push(waker);
                    }
                    self.pending -= 1;
                    fired += 1;
                } else {
                    // Still pending: cascade to a lower level (deadline > elapsed holds).
                    self.link(index);
                }
            }
        }
        if now > self.elapsed {
            self.elapsed = now;
        }
        fired
    }

    /// Unlinks every pending entry, marks it `Cancelled` and hands its waker to the caller.
    /// Returns how many entries were cancelled.
    pub(crate) fn cancel_all(&mut self, wakers: &mut Vec<Waker>) -> usize {
        let mut heads = Vec::new();
        for level in &mut self.levels {
            let mut occupied = std::mem::take(&mut level.occupied);
            while occupied != 0 {
                let slot = occupied.trailing_zeros() as usize;
                occupied &= occupied - 1;
                heads.push(std::mem::replace(&mut level.heads[slot], NIL));
            }
        }
        heads.push(std::mem::replace(&mut self.overflow, NIL));
        let mut cancelled = 0;
        for mut cursor in heads {
            while cursor != NIL {
                let entry = &mut self.entries[cursor as usize];
                cursor = entry.next;
                entry.prev = NIL;
                entry.next = NIL;
                // Pending -> Cancelled.
                entry.state = Slot::Live(EntryState::Cancelled);
                if let Some(waker) = entry.waker.take() {
                    wakers.push(waker);
                }
                cancelled += 1;
            }
        }
        debug_assert_eq!(cancelled, self.pending);
        self.pending = 0;
        cancelled
    }

    /// The earliest non-empty slot as (level, slot, tick it starts at). Lower levels always
    /// expire before higher ones: a level-`L` entry lies inside the level-(L+1) slot that
    /// contains `elapsed`, which ends before the next level-(L+1) slot starts.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for (level_index, level) in self.levels.iter().enumerate() {
            if level.occupied != 0 {
                // Every occupied slot lies after the slot containing `elapsed` in the current
                // window of this level, so the lowest set bit is the earliest slot.
                let slot = level.occupied.trailing_zeros() as usize;
                let shift = SLOT_BITS * level_index as u32;
                let window_mask = (1u64 << (shift + SLOT_BITS)) - 1;
                let tick = (self.elapsed & !window_mask) + ((slot as u64) << shift);
                debug_assert!(tick > self.elapsed);
                return Some((level_index, slot, tick));
            }
        }
        if self.overflow != NIL {
            // Overflow deadlines differ from `elapsed` above bit 36, so none comes before the
            // next 2^36 boundary (which exists: in the last window nothing can overflow).
            let boundary = (self.elapsed | ((1u64 << SPAN_BITS) - 1)).checked_add(1);
            debug_assert!(boundary.is_some());
            return Some((OVERFLOW as usize, 0, boundary.unwrap_or(u64::MAX)));
        }
        None
    }

    /// Takes a slab slot (from the free list if possible) for a new entry.
    fn alloc(&mut self, deadline: u64) -> u32 {
        self.live += 1;
        let fresh = Entry {
            deadline,
            waker: None,
            prev: NIL,
            next: NIL,
            state: Slot::Free,
            level: 0,
            slot: 0,
        };
        if self.free != NIL {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            debug_assert_eq!(entry.state, Slot::Free);
            self.free = entry.next;
            *entry = fresh;
            index
        } else {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("more than 4 billion live timers");
            self.entries.push(fresh);
            index
        }
    }

    /// Links a pending entry (deadline > elapsed) at the front of its slot's list.
    fn link(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        debug_assert!(deadline > self.elapsed);
        let level = level_for(self.elapsed, deadline);
        let (head, level, slot) = if level >= LEVELS {
            (&mut self.overflow, OVERFLOW, 0)
        } else {
            let slot = ((deadline >> (SLOT_BITS * level as u32)) as usize) & (SLOTS - 1);
            let lvl = &mut self.levels[level];
            lvl.occupied |= 1u64 << slot;
            (&mut lvl.heads[slot], level as u8, slot as u8)
        };
        let old_head = std::mem::replace(head, index);
        let entry = &mut self.entries[index as usize];
        entry.prev = NIL;
        entry.next = old_head;
        entry.level = level;
        entry.slot = slot;
        if old_head != NIL {
            self.entries[old_head as usize].prev = index;
        }
    }

    /// Unlinks a pending entry from its slot's list in O(1).
    fn unlink(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        let (prev, next, level, slot) = (entry.prev, entry.next, entry.level, entry.slot as usize);
        entry.prev = NIL;
        entry.next = NIL;
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
            return;
        }
        // It was the head of its list.
        if level == OVERFLOW {
            debug_assert_eq!(self.overflow, index);
            self.overflow = next;
        } else {
            let lvl = &mut self.levels[level as usize];
            debug_assert_eq!(lvl.heads[slot], index);
            lvl.heads[slot] = next;
            if next == NIL {
                lvl.occupied &= !(1u64 << slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// A waker that records its id in a shared log when woken.
    struct Recorder {
        id: u64,
        log: Arc<Mutex<Vec<u64>>>,
    }

    impl Wake for Recorder {
        fn wake(self: Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
        }
    }

    fn recorder(id: u64, log: &Arc<Mutex<Vec<u64>>>) -> Waker {
        Waker::from(Arc::new(Recorder {
            id,
            log: log.clone(),
        }))
    }

    fn noop() -> Waker {
        Waker::noop().clone()
    }

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            if n == 0 { 0 } else { self.next() % n }
        }
    }

    /// Advances and returns the fired wakers, woken, as sorted ids.
    fn advance_ids(wheel: &mut Wheel, now: u64, log: &Arc<Mutex<Vec<u64>>>) -> Vec<u64> {
        let mut wakers = Vec::new();
        let fired = wheel.advance(now, &mut wakers);
        assert_eq!(fired, wakers.len());
        for waker in wakers {
            waker.wake();
        }
        let mut ids = std::mem::take(&mut *log.lock().unwrap());
        ids.sort_unstable();
        ids
    }

    #[test]
    fn level_selection() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(64, 127), 0);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, (1 << 36) - 1), 5);
        assert_eq!(level_for(0, 1 << 36), 6);
        assert!(level_for(0, u64::MAX) >= LEVELS);
    }

    #[test]
    fn fires_exactly_at_deadline_never_early() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let deadlines = [1u64, 5, 63, 64, 65, 100, 4095, 4096, 4097, 300_000, 1 << 36];
        let keys: Vec<Key> = deadlines
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let (key, state) = wheel.insert(d, &recorder(i as u64, &log));
                assert_eq!(state, EntryState::Pending);
                key
            })
            .collect();
        assert_eq!(wheel.pending(), deadlines.len());
        for (i, &d) in deadlines.iter().enumerate() {
            // One tick before the deadline: nothing (new) fires.
            assert!(
                advance_ids(&mut wheel, d - 1, &log).is_empty(),
                "early at {d}"
            );
            assert_eq!(wheel.state(&keys[i]), EntryState::Pending);
            // The slot holding `d` now starts exactly at `d`.
            assert_eq!(wheel.next_expiration(), Some(d), "deadline {d}");
            assert_eq!(advance_ids(&mut wheel, d, &log), vec![i as u64]);
            assert_eq!(wheel.state(&keys[i]), EntryState::Fired);
        }
        assert_eq!(wheel.pending(), 0);
        assert_eq!(wheel.next_expiration(), None);
        for key in keys {
            assert!(wheel.remove(key).is_none());
        }
        assert_eq!(wheel.live(), 0);
    }

    #[test]
    fn next_expiration_is_slot_start_for_higher_levels() {
        let mut wheel = Wheel::new();
        let (_k, _) = wheel.insert(200, &noop());
        // 200 lies in level-1 slot 3, which starts at tick 192.
        assert_eq!(wheel.next_expiration(), Some(192));
        let mut wakers = Vec::new();
        assert_eq!(wheel.advance(192, &mut wakers), 0);
        // Cascaded to level 0: now the exact deadline is known.
        assert_eq!(wheel.next_expiration(), Some(200));
        assert_eq!(wheel.elapsed(), 192);
    }

    #[test]
    fn deadline_not_after_elapsed_fires_on_insert() {
        let mut wheel = Wheel::new();
        let mut wakers = Vec::new();
        wheel.advance(1000, &mut wakers);
        let (key, state) = wheel.insert(1000, &noop());
        assert_eq!(state, EntryState::Fired);
        assert_eq!(wheel.pending(), 0);
        let (key2, state2) = wheel.insert(3, &noop());
        assert_eq!(state2, EntryState::Fired);
        let (key3, state3) = wheel.insert(1001, &noop());
        assert_eq!(state3, EntryState::Pending);
        assert_eq!(wheel.next_expiration(), Some(1001));
        wheel.remove(key);
        wheel.remove(key2);
        assert!(wheel.remove(key3).is_some());
        assert_eq!(wheel.pending(), 0);
    }

    #[test]
    fn elapsed_never_goes_back() {
        let mut wheel = Wheel::new();
        let mut wakers = Vec::new();
        wheel.advance(500, &mut wakers);
        wheel.advance(10, &mut wakers);
        assert_eq!(wheel.elapsed(), 500);
        assert!(wakers.is_empty());
    }

    #[test]
    fn cancel_unlinks_in_any_position() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        // Five entries sharing one slot: remove the middle, the head and the tail.
        let mut keys: Vec<Option<Key>> = (0..5)
            .map(|i| Some(wheel.insert(10, &recorder(i, &log)).0))
            .collect();
        for i in [2usize, 4, 0] {
            assert!(wheel.remove(keys[i].take().unwrap()).is_some());
        }
        assert_eq!(wheel.pending(), 2);
        assert_eq!(advance_ids(&mut wheel, 10, &log), vec![1, 3]);
        // Removing every entry of a slot clears its occupied bit.
        let key = wheel.insert(20, &noop()).0;
        wheel.remove(key);
        assert_eq!(wheel.levels[0].occupied, 0);
        assert_eq!(wheel.next_expiration(), None);
        // And in the overflow list.
        let a = wheel.insert(u64::MAX, &noop()).0;
        let b = wheel.insert(u64::MAX - 1, &noop()).0;
        assert!(wheel.next_expiration().is_some());
        wheel.remove(b);
        wheel.remove(a);
        assert_eq!(wheel.next_expiration(), None);
    }

    #[test]
    fn huge_deadlines_do_not_overflow() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let (max, _) = wheel.insert(u64::MAX, &recorder(1, &log));
        let (far, _) = wheel.insert(1 << 50, &recorder(2, &log));
        let (near, _) = wheel.insert(7, &recorder(3, &log));
        assert_eq!(wheel.next_expiration(), Some(7));
        assert_eq!(advance_ids(&mut wheel, 7, &log), vec![3]);
        // Overflow: the next boundary of 2^36.
        assert_eq!(wheel.next_expiration(), Some(1 << 36));
        // A giant jump is one pass, not 2^14 boundary crossings, and fires nothing early.
        assert!(advance_ids(&mut wheel, (1 << 50) - 1, &log).is_empty());
        assert_eq!(advance_ids(&mut wheel, 1 << 50, &log), vec![2]);
        assert!(advance_ids(&mut wheel, u64::MAX - 1, &log).is_empty());
        assert_eq!(wheel.state(&max), EntryState::Pending);
        let next = wheel.next_expiration().unwrap();
        assert!(next > u64::MAX - 1);
        assert_eq!(advance_ids(&mut wheel, u64::MAX, &log), vec![1]);
        assert_eq!(wheel.next_expiration(), None);
        // Inserting in the very last window works too.
        let (last, state) = wheel.insert(u64::MAX, &noop());
        assert_eq!(state, EntryState::Fired);
        for key in [max, far, near, last] {
            wheel.remove(key);
        }
    }

    #[test]
    fn cascade_from_every_level_keeps_order() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        // Start from an unaligned elapsed so that windows are not trivially aligned.
        let mut wakers = Vec::new();
        wheel.advance(12_345, &mut wakers);
        let base = wheel.elapsed();
        let offsets: Vec<u64> = (0..=7).map(|l| 1u64 << (6 * l)).collect();
        let mut keys = Vec::new();
        for (i, off) in offsets.iter().enumerate() {
            for delta in [0u64, 1, 3] {
                let id = (i as u64) * 10 + delta;
                keys.push(wheel.insert(base + off + delta, &recorder(id, &log)).0);
            }
        }
        let mut expected: Vec<(u64, u64)> = offsets
            .iter()
            .enumerate()
            .flat_map(|(i, off)| [0u64, 1, 3].map(|d| (base + off + d, (i as u64) * 10 + d)))
            .collect();
        expected.sort_unstable();
        // Step from expiration to expiration: each step fires exactly the due entries.
        let mut fired = Vec::new();
        while let Some(next) = wheel.next_expiration() {
            let ids = advance_ids(&mut wheel, next, &log);
            for id in &ids {
                let (deadline, _) = expected.iter().find(|(_, e)| e == id).unwrap();
                assert_eq!(*deadline, next, "entry {id} fired at {next}");
            }
            fired.extend(ids);
        }
        let order: Vec<u64> = expected.iter().map(|&(_, id)| id).collect();
        assert_eq!(fired, order);
        for key in keys {
            wheel.remove(key);
        }
    }

    #[test]
    fn reset_moves_entries_and_keeps_waker() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let (key, _) = wheel.insert(100, &recorder(1, &log));
        // Later.
        assert_eq!(wheel.reset(&key, 5000).0, EntryState::Pending);
        assert!(advance_ids(&mut wheel, 4999, &log).is_empty());
        // Earlier.
        assert_eq!(wheel.reset(&key, 5003).0, EntryState::Pending);
        assert_eq!(wheel.reset(&key, 5001).0, EntryState::Pending);
        assert_eq!(wheel.next_expiration(), Some(5001));
        assert_eq!(advance_ids(&mut wheel, 5001, &log), vec![1]);
        assert_eq!(wheel.state(&key), EntryState::Fired);
        // Re-arm a fired entry: pending again, but its waker was handed out.
        assert_eq!(wheel.reset(&key, 6000).0, EntryState::Pending);
        assert_eq!(wheel.pending(), 1);
        let mut wakers = Vec::new();
        assert_eq!(wheel.advance(6000, &mut wakers), 1);
        assert!(wakers.is_empty());
        // A new waker can be stored; the same one is not cloned again.
        wheel.reset(&key, 7000);
        let w = recorder(2, &log);
        assert!(wheel.set_waker(&key, &w).is_none());
        assert!(wheel.set_waker(&key, &w).is_none());
        assert!(wheel.set_waker(&key, &recorder(3, &log)).is_some());
        // Reset into the past fires at once and hands the waker back.
        let (state, waker) = wheel.reset(&key, 10);
        assert_eq!(state, EntryState::Fired);
        waker.unwrap().wake();
        assert_eq!(*log.lock().unwrap(), vec![3]);
        assert_eq!(wheel.pending(), 0);
        wheel.remove(key);
    }

    #[test]
    fn cancel_all_and_cancel() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let keys: Vec<Key> = [5u64, 70, 5000, 1 << 40]
            .iter()
            .enumerate()
            .map(|(i, &d)| wheel.insert(d, &recorder(i as u64, &log)).0)
            .collect();
        let fired_key = wheel.insert(1, &recorder(9, &log)).0;
        assert_eq!(advance_ids(&mut wheel, 1, &log), vec![9]);
        let mut wakers = Vec::new();
        assert_eq!(wheel.cancel_all(&mut wakers), 4);
        assert_eq!(wakers.len(), 4);
        assert_eq!(wheel.pending(), 0);
        assert_eq!(wheel.next_expiration(), None);
        for key in &keys {
            assert_eq!(wheel.state(key), EntryState::Cancelled);
        }
        assert_eq!(wheel.state(&fired_key), EntryState::Fired);
        assert!(wheel.cancel(&fired_key).is_none());
        assert_eq!(wheel.state(&fired_key), EntryState::Cancelled);
        // Nothing fires any more.
        assert!(advance_ids(&mut wheel, u64::MAX, &log).is_empty());
        for key in keys {
            wheel.remove(key);
        }
        wheel.remove(fired_key);
        assert_eq!(wheel.live(), 0);
    }

    #[test]
    fn slab_reuses_freed_entries() {
        let mut wheel = Wheel::new();
        let keys: Vec<Key> = (0..100).map(|i| wheel.insert(10 + i, &noop()).0).collect();
        assert_eq!(wheel.slab_len(), 100);
        let indices: BTreeSet<usize> = keys.iter().map(Key::index).collect();
        for key in keys {
            wheel.remove(key);
        }
        for round in 0..50 {
            let keys: Vec<Key> = (0..100)
                .map(|i| wheel.insert(round + i + 1, &noop()).0)
                .collect();
            let reused: BTreeSet<usize> = keys.iter().map(Key::index).collect();
            assert_eq!(reused, indices);
            for key in keys {
                wheel.remove(key);
            }
        }
        assert_eq!(wheel.slab_len(), 100);
        // A big burst is released once the last entry goes.
        let burst = 2 * SHRINK_ABOVE as u64 + 100;
        let keys: Vec<Key> = (0..burst).map(|i| wheel.insert(i + 1, &noop()).0).collect();
        assert_eq!(wheel.slab_len() as u64, burst);
        for key in keys {
            wheel.remove(key);
        }
        assert_eq!(wheel.slab_len(), 0);
        let (key, _) = wheel.insert(5, &noop());
        assert_eq!(key.index(), 0);
        wheel.remove(key);
    }

    /// Random inserts, resets, cancels and advances, checked step by step against a BTreeMap.
    fn run_model(seed: u64, steps: usize) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut rng = Rng(seed);
        let mut wheel = Wheel::new();
        let mut now = 0u64;
        // Model: (deadline, id) of pending entries; id -> key for live entries.
        let mut model: BTreeSet<(u64, u64)> = BTreeSet::new();
        let mut deadline_of: HashMap<u64, u64> = HashMap::new();
        let mut keys: BTreeMap<u64, Key> = BTreeMap::new();
        let mut next_id = 0u64;
        for _ in 0..steps {
            let delay = match rng.below(10) {
                0 => 0,
                1..=4 => rng.below(64),
                5 | 6 => rng.below(5000),
                7 => rng.below(1 << 20),
                8 => rng.below(1 << 40),
                _ => match rng.below(3) {
                    0 => u64::MAX - now,
                    _ => rng.below(u64::MAX - now),
                },
            };
            let deadline = now.saturating_add(delay);
            match rng.below(8) {
                0..=2 => {
                    let id = next_id;
                    next_id += 1;
                    let (key, state) = wheel.insert(deadline, &recorder(id, &log));
                    if deadline <= now {
                        assert_eq!(state, EntryState::Fired);
                    } else {
                        assert_eq!(state, EntryState::Pending);
                        model.insert((deadline, id));
                        deadline_of.insert(id, deadline);
                    }
                    keys.insert(id, key);
                }
                3 if !keys.is_empty() => {
                    // Cancel (remove) a random live entry.
                    let nth = rng.below(keys.len() as u64) as usize;
                    let id = *keys.keys().nth(nth).unwrap();
                    let key = keys.remove(&id).unwrap();
                    let was_pending = wheel.state(&key) == EntryState::Pending;
                    wheel.remove(key);
                    if let Some(d) = deadline_of.remove(&id) {
                        assert!(was_pending);
                        assert!(model.remove(&(d, id)));
                    } else {
                        assert!(!was_pending);
                    }
                }
                4 if !keys.is_empty() => {
                    // Reset a random live entry (pending or fired) to a new deadline.
                    let nth = rng.below(keys.len() as u64) as usize;
                    let id = *keys.keys().nth(nth).unwrap();
                    let (state, waker) = wheel.reset(&keys[&id], deadline);
                    if let Some(d) = deadline_of.remove(&id) {
                        model.remove(&(d, id));
                    }
                    if deadline <= now {
                        assert_eq!(state, EntryState::Fired);
                        drop(waker);
                    } else {
                        assert_eq!(state, EntryState::Pending);
                        model.insert((deadline, id));
                        deadline_of.insert(id, deadline);
                        // A re-armed entry that had fired has no waker: give it a new one.
                        wheel.set_waker(&keys[&id], &recorder(id, &log));
                    }
                }
                _ => {
                    // Advance by a random amount, sometimes straight to the next expiration.
                    let target = match rng.below(4) {
                        0 => wheel.next_expiration().unwrap_or(now),
                        1 => now.saturating_add(rng.below(3)),
                        2 => now.saturating_add(rng.below(100_000)),
                        _ => model.first().map_or(now, |&(d, _)| d),
                    };
                    let fired = advance_ids(&mut wheel, target, &log);
                    let mut expected = Vec::new();
                    while let Some(&(d, id)) = model.first() {
                        if d > target {
                            break;
                        }
                        model.pop_first();
                        deadline_of.remove(&id);
                        expected.push(id);
                    }
                    expected.sort_unstable();
                    assert_eq!(fired, expected, "advance to {target} (seed {seed})");
                    now = target.max(now);
                }
            }
            assert_eq!(wheel.pending(), model.len());
            assert_eq!(wheel.elapsed(), now);
            match (wheel.next_expiration(), model.first()) {
                (None, None) => {}
                (Some(next), Some(&(min, _))) => {
                    assert!(next > now && next <= min, "next {next} now {now} min {min}");
                }
                (next, min) => panic!("next_expiration {next:?} but model min {min:?}"),
            }
        }
        for (_, key) in keys {
            wheel.remove(key);
        }
        assert_eq!(wheel.pending(), 0);
        assert_eq!(wheel.live(), 0);
    }

    #[test]
    fn random_operations_match_model() {
        for seed in 1..=40u64 {
            run_model(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, 3000);
        }
    }
}
