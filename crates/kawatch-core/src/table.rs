//! The flow table: flows in fixed-size chunks, found through a compact
//! open-addressing index.
//!
//! - **Chunks** of [`CHUNK`] flows, made as the table first needs them and
//!   never moved: growing adds one chunk, so it never holds an old and a new
//!   copy of the flows at once (a hash map's resize doubles its peak). A
//!   flow that leaves frees its slot for the next one.
//! - **Index**: 8 bytes a slot, `(hash's high 32 bits) << 32 | (slot + 1)`,
//!   0 when empty; linear probing from the hash's high bits, at most 3/4
//!   full, with backward-shift deletion (no tombstones). A lookup reads one
//!   or two index cache lines, and the flow's own key only when the 32-bit
//!   hash tags match. The index doubles when full; at 8 bytes a slot that is
//!   11 to 21 bytes per flow, 32 during a doubling.

use crate::flow::{Flow, FlowKey};

/// Flows per chunk (a power of two).
const CHUNK_SHIFT: u32 = 11;
const CHUNK: usize = 1 << CHUNK_SHIFT;

/// The index's first size, in slots.
const MIN_INDEX: usize = 64;

/// Flows by key.
#[derive(Debug, Default)]
pub(crate) struct FlowTable {
    chunks: Vec<Vec<Option<Flow>>>,
    /// Free slots below the chunks' fill.
    free: Vec<u32>,
    index: Vec<u64>,
    len: usize,
}

/// A key's 64-bit hash: the key's words folded by multiplication and
/// mixed (murmur3's finaliser), so the high bits that place a key in the
/// index are well spread.
#[inline]
pub(crate) fn hash(key: &FlowKey) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = K;
    for w in key.as_words() {
        h = (h.rotate_left(23) ^ w).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl FlowTable {
    /// Flows held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn slot(&self, i: u32) -> &Option<Flow> {
        &self.chunks[(i >> CHUNK_SHIFT) as usize][i as usize & (CHUNK - 1)]
    }

    #[inline]
    fn slot_mut(&mut self, i: u32) -> &mut Option<Flow> {
        &mut self.chunks[(i >> CHUNK_SHIFT) as usize][i as usize & (CHUNK - 1)]
    }

    /// The flow in slot `i`, if one is.
    #[inline]
    pub(crate) fn get(&self, i: u32) -> Option<&Flow> {
        self.chunks
            .get((i >> CHUNK_SHIFT) as usize)?
            .get(i as usize & (CHUNK - 1))?
            .as_ref()
    }

    /// The flow in slot `i` (one [`FlowTable::find`] or
    /// [`FlowTable::insert`] returned, with no removal since).
    #[inline]
    pub(crate) fn at_mut(&mut self, i: u32) -> &mut Flow {
        self.slot_mut(i).as_mut().expect("a live slot")
    }

    /// The index position holding `key`, and its flow's slot, if held.
    #[inline]
    fn position(&self, key: &FlowKey) -> Option<(usize, u32)> {
        if self.len == 0 {
            return None;
        }
        let tag = hash(key) >> 32;
        let mask = self.index.len() - 1;
        let mut pos = tag as usize & mask;
        loop {
            let e = self.index[pos];
            if e == 0 {
                return None;
            }
            if e >> 32 == tag {
                let i = (e as u32) - 1;
                if self.slot(i).as_ref().is_some_and(|f| f.key == *key) {
                    return Some((pos, i));
                }
            }
            pos = (pos + 1) & mask;
        }
    }

    /// The slot of `key`'s flow, if held.
    #[inline]
    pub(crate) fn find(&self, key: &FlowKey) -> Option<u32> {
        self.position(key).map(|(_, i)| i)
    }

    /// Adds a flow whose key is not held; returns its slot.
    pub(crate) fn insert(&mut self, flow: Flow) -> u32 {
        if (self.len + 1) * 4 > self.index.len() * 3 {
            self.grow_index();
        }
        let tag = hash(&flow.key) >> 32;
        let i = match self.free.pop() {
            Some(i) => {
                *self.slot_mut(i) = Some(flow);
                i
            }
            None => {
                if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                let n = self.chunks.len() - 1;
                let chunk = &mut self.chunks[n];
                chunk.push(Some(flow));
                u32::try_from((n << CHUNK_SHIFT) + chunk.len() - 1).expect("under 2^32 flows")
            }
        };
        self.place(tag << 32 | u64::from(i + 1));
        self.len += 1;
        i
    }

    /// Puts an index entry in the first free position from its home.
    #[inline]
    fn place(&mut self, e: u64) {
        let mask = self.index.len() - 1;
        let mut pos = (e >> 32) as usize & mask;
        while self.index[pos] != 0 {
            pos = (pos + 1) & mask;
        }
        self.index[pos] = e;
    }

    fn grow_index(&mut self) {
        let size = (self.index.len() * 2).max(MIN_INDEX);
        let old = std::mem::replace(&mut self.index, vec![0; size]);
        for e in old.into_iter().filter(|&e| e != 0) {
            self.place(e);
        }
    }

    /// Takes `key`'s flow out, if held.
    pub(crate) fn remove(&mut self, key: &FlowKey) -> Option<Flow> {
        let (pos, i) = self.position(key)?;
        // Backward-shift deletion: entries after the hole that may move
        // back to it (their home is not between the hole and them) do.
        let mask = self.index.len() - 1;
        let (mut hole, mut j) = (pos, pos);
        loop {
            j = (j + 1) & mask;
            let e = self.index[j];
            if e == 0 {
                break;
            }
            let home = (e >> 32) as usize & mask;
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.index[hole] = e;
                hole = j;
            }
        }
        self.index[hole] = 0;
        self.len -= 1;
        self.free.push(i);
        self.slot_mut(i).take()
    }

    /// Every flow, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.chunks.iter().flatten().flatten()
    }

    /// Every flow with its slot, in slot order.
    pub(crate) fn iter_slots(&self) -> impl Iterator<Item = (u32, &Flow)> {
        self.chunks
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, f)| Some((i as u32, f.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{Endpoint, Segment, Vlan};
    use crate::time::Timestamp;
    use std::net::IpAddr;

    fn key(n: u32) -> FlowKey {
        FlowKey::new(
            Endpoint::new(
                IpAddr::from([10, 0, (n >> 8) as u8, n as u8]),
                1000 + (n >> 16) as u16,
            ),
            Endpoint::new(IpAddr::from([10, 1, 0, 1]), 443),
            Vlan::NONE,
        )
    }

    fn flow(n: u32) -> Flow {
        let k = key(n);
        let seg = Segment {
            ts: Timestamp::from_nanos(i64::from(n)),
            ..Segment::test_ack(k.endpoint(0), k.endpoint(1))
        };
        Flow::new(k, &seg, (0, crate::time::Tick(i64::from(n))), 0)
    }

    #[test]
    fn inserts_finds_and_removes_like_a_map() {
        let mut t = FlowTable::default();
        let mut model = std::collections::HashSet::new();
        let mut x = 12345u32;
        for _ in 0..60_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let n = x % 9_000;
            if model.contains(&n) {
                if x & 1 == 0 {
                    assert!(t.remove(&key(n)).is_some());
                    model.remove(&n);
                } else {
                    let i = t.find(&key(n)).expect("held");
                    assert_eq!(t.at_mut(i).key, key(n));
                }
            } else {
                assert!(t.find(&key(n)).is_none());
                let i = t.insert(flow(n));
                assert_eq!(t.find(&key(n)), Some(i));
                model.insert(n);
            }
            assert_eq!(t.len(), model.len());
        }
        assert_eq!(t.iter().count(), model.len());
        for n in 0..9_000 {
            assert_eq!(t.find(&key(n)).is_some(), model.contains(&n), "{n}");
        }
    }
}
