//! A time-ordered queue: earliest first, ties in insertion order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Timed<T> {
    t: i64,
    n: u32,
    v: T,
}

impl<T> PartialEq for Timed<T> {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.n) == (o.t, o.n)
    }
}
impl<T> Eq for Timed<T> {}
impl<T> PartialOrd for Timed<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Timed<T> {
    // Reversed: BinaryHeap pops the earliest.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.n).cmp(&(self.t, self.n))
    }
}

pub(super) struct Queue<T> {
    heap: BinaryHeap<Timed<T>>,
    /// Insertion counter: orders equal times.
    n: u32,
}

impl<T> Queue<T> {
    pub(super) fn new() -> Queue<T> {
        Queue {
            heap: BinaryHeap::new(),
            n: 0,
        }
    }

    pub(super) fn push(&mut self, t: i64, v: T) {
        self.n = self.n.wrapping_add(1);
        self.heap.push(Timed { t, n: self.n, v });
    }

    pub(super) fn peek_time(&self) -> Option<i64> {
        self.heap.peek().map(|e| e.t)
    }

    pub(super) fn pop(&mut self) -> Option<(i64, T)> {
        self.heap.pop().map(|e| (e.t, e.v))
    }

    pub(super) fn clear(&mut self) {
        self.heap.clear();
    }
}
