//! The streaming driver: tens of thousands of overlapping simulated flows,
//! merged into one capture in time order.
//!
//! Flows start at planned times (IPv4, some IPv6, some VLAN-tagged, some
//! before the capture), each run by the kernel model until its next captured
//! frame; the earliest frame of all goes out next. Nothing holds more than
//! the flows alive at a moment, and a finished flow leaves only its truth.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use kawatch_core::Timestamp;

use crate::kernel::{start_time, Flow, Params};
use crate::link::LinkType;
use crate::time::{stamp, to_epoch_s};
use crate::truth::{FlowEnd, FlowTruth, Role, Truth};
use crate::writer::{Format, Writer};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    /// Flows to start (flows that started before the capture included).
    pub flows: u32,
    /// Frames to write at most; the capture is cut there if it comes first.
    pub packets: u64,
    /// PRNG seed: equal configs give byte-identical captures.
    pub seed: u64,
    /// Capture length in seconds.
    pub duration_s: u32,
    /// The mix of flow kinds.
    pub profile: Profile,
}

/// The mix of flow kinds a generated capture draws from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// Every kind: keepalives (short and long), plain, bulk, heartbeat,
    /// zero-window and retransmission flows (about 565 bytes a frame).
    #[default]
    Mixed,
    /// Mostly keepalive flows, little bulk data: small frames (about 370
    /// bytes a frame) and most flows probing.
    SmallFrames,
}

impl Config {
    /// `flows` flows and about `packets` frames over three hours.
    pub fn new(flows: u32, packets: u64, seed: u64) -> Config {
        Config {
            flows,
            packets,
            seed,
            duration_s: 3 * 3600,
            profile: Profile::Mixed,
        }
    }
}

/// Streams a capture's frames in time order; [`Generator::finish`] gives the truth.
///
/// ```
/// use kawatch_synth::{Config, Generator};
/// let mut gen = Generator::new(Config::new(100, 2_000, 7));
/// let mut frame = Vec::new();
/// while let Some(ts) = gen.next_frame(&mut frame) {
///     let _ = (ts, &frame, gen.last_role());
/// }
/// let truth = gen.finish();
/// assert!(!truth.flows.is_empty());
/// ```
pub struct Generator {
    cfg: Config,
    params: Params,
    /// (start, id), earliest first.
    starts: Vec<(i64, u32)>,
    next_start: usize,
    slots: Vec<Option<Flow>>,
    free: Vec<usize>,
    /// (next frame's capture time, slot), earliest first.
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    truth: Vec<FlowTruth>,
    frames: u64,
    bytes: u64,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    last_role: Role,
    active: usize,
    max_active: usize,
    done: bool,
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: Config) -> Generator {
        let mut starts: Vec<(i64, u32)> = (0..cfg.flows)
            .map(|id| (start_time(cfg.seed, cfg.duration_s, cfg.profile, id), id))
            .collect();
        starts.sort_unstable();
        // Packets per flow the flows aim for, before the capture's cut; the
        // factor makes up for flows cut short by the capture's end.
        let budget_scale = 1.05 * cfg.packets as f64 / cfg.flows.max(1) as f64;
        Generator {
            params: Params {
                seed: cfg.seed,
                duration_s: cfg.duration_s,
                budget_scale,
                profile: cfg.profile,
            },
            cfg,
            starts,
            next_start: 0,
            slots: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            truth: Vec::new(),
            frames: 0,
            bytes: 0,
            first_ts: None,
            last_ts: None,
            last_role: Role::Other,
            active: 0,
            max_active: 0,
            done: false,
        }
    }

    /// Writes the next frame (Ethernet) into `buf` and returns its timestamp;
    /// `None` at the end.
    pub fn next_frame(&mut self, buf: &mut Vec<u8>) -> Option<Timestamp> {
        if self.done {
            return None;
        }
        if self.frames >= self.cfg.packets {
            self.stop();
            return None;
        }
        loop {
            let top = self.heap.peek().map(|Reverse((t, _))| *t);
            match self.starts.get(self.next_start) {
                Some(&(start, id)) if top.is_none_or(|t| start <= t) => {
                    self.next_start += 1;
                    self.activate(id);
                    continue;
                }
                _ => {}
            }
            let Some(Reverse((_, slot))) = self.heap.pop() else {
                self.stop();
                return None;
            };
            let flow = self.slots[slot].as_mut().expect("live slot");
            let (t, role) = flow.emit(buf);
            match flow.advance() {
                Some(next) => self.heap.push(Reverse((next, slot))),
                None => self.retire(slot),
            }
            self.frames += 1;
            self.bytes += buf.len() as u64;
            self.first_ts.get_or_insert(t);
            self.last_ts = Some(t);
            self.last_role = role;
            return Some(stamp(t));
        }
    }

    /// The role of the frame [`Generator::next_frame`] wrote last.
    pub fn last_role(&self) -> Role {
        self.last_role
    }

    fn activate(&mut self, id: u32) {
        let mut flow = Flow::new(&self.params, id);
        let next = flow.advance();
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(flow);
                i
            }
            None => {
                self.slots.push(Some(flow));
                self.slots.len() - 1
            }
        };
        self.active += 1;
        self.max_active = self.max_active.max(self.active);
        match next {
            Some(t) => self.heap.push(Reverse((t, slot))),
            None => self.retire(slot),
        }
    }

    fn retire(&mut self, slot: usize) {
        let flow = self.slots[slot].take().expect("live slot");
        self.active -= 1;
        self.free.push(slot);
        if flow.captured() {
            self.truth.push(flow.truth());
        }
    }

    /// The capture ends: every flow still going is cut here.
    fn stop(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.heap.clear();
        for slot in 0..self.slots.len() {
            if self.slots[slot].is_some() {
                self.retire(slot);
            }
        }
    }

    /// Frames produced so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Flows open now.
    pub fn active_flows(&self) -> usize {
        self.active
    }

    /// Ends the capture (if frames remain) and returns the truth, flows by id.
    pub fn finish(mut self) -> Truth {
        self.stop();
        let mut flows = std::mem::take(&mut self.truth);
        flows.sort_by_key(|f| f.id);
        let end = self.last_ts.map_or(0.0, to_epoch_s);
        let mut edges: Vec<(f64, i32)> = flows
            .iter()
            .flat_map(|f| {
                let last = if f.end == FlowEnd::Open {
                    end
                } else {
                    f.last_ts
                };
                [(f.first_ts, 1), (last, -1)]
            })
            .collect();
        edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut open = 0i64;
        let mut max_open = 0;
        for (_, d) in edges {
            open += d as i64;
            max_open = max_open.max(open as usize);
        }
        Truth {
            seed: self.cfg.seed,
            flows_requested: self.cfg.flows,
            frames: self.frames,
            bytes: self.bytes,
            first_ts: self.first_ts.map(to_epoch_s),
            last_ts: self.last_ts.map(to_epoch_s),
            max_simulated_flows: self.max_active,
            max_open_flows: max_open,
            flows,
        }
    }
}

/// Generates `cfg`'s capture into `out` (nanosecond pcap, Ethernet, records
/// cut to `snaplen`) and returns its truth.
pub fn write_capture<W: Write>(cfg: Config, out: W, snaplen: u32) -> io::Result<Truth> {
    let mut w = Writer::new(out, Format::PcapNano, LinkType::Ethernet).snaplen(snaplen);
    let mut gen = Generator::new(cfg);
    let mut buf = Vec::with_capacity(1600);
    while let Some(ts) = gen.next_frame(&mut buf) {
        w.write(ts, &buf)?;
    }
    w.finish()?;
    Ok(gen.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_in_time_order_and_decode() {
        let mut gen = Generator::new(Config::new(300, 20_000, 3));
        let mut buf = Vec::new();
        let mut last = Timestamp(i128::MIN);
        while let Some(ts) = gen.next_frame(&mut buf) {
            assert!(ts >= last, "out of order: {ts:?} after {last:?}");
            last = ts;
            let seg = kawatch_core::decode(kawatch_core::LinkType::Ethernet, 1, ts, &buf);
            assert!(seg.is_some(), "undecodable frame {buf:02x?}");
        }
        let truth = gen.finish();
        assert!(truth.frames > 10_000, "{}", truth.frames);
        assert!(truth
            .flows
            .iter()
            .any(|f| f.sides.iter().any(|s| s.prober.is_some())));
    }

    #[test]
    fn equal_seeds_give_equal_captures() {
        let run = |seed| {
            let mut out = Vec::new();
            let truth = write_capture(Config::new(50, 3000, seed), &mut out, 65535).unwrap();
            (out, truth.frames)
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9).0, run(10).0);
    }

    /// The per-frame roles and the per-flow truth agree: each keepalive
    /// probe, zero-window probe and retransmission counted in the truth is
    /// a frame of that role.
    #[test]
    fn frame_roles_add_up_to_the_truth() {
        let mut gen = Generator::new(Config::new(400, 30_000, 12));
        let mut buf = Vec::new();
        let mut count = std::collections::HashMap::<Role, u64>::new();
        while gen.next_frame(&mut buf).is_some() {
            *count.entry(gen.last_role()).or_default() += 1;
        }
        let truth = gen.finish();
        let sum = |f: &dyn Fn(&FlowTruth) -> u64| truth.flows.iter().map(f).sum::<u64>();
        let probes = sum(&|f| {
            f.sides
                .iter()
                .filter_map(|s| s.prober.as_ref())
                .map(|p| u64::from(p.probes_sent))
                .sum()
        });
        let get = |r| count.get(&r).copied().unwrap_or(0);
        assert!(probes > 0);
        assert_eq!(get(Role::Probe), probes);
        assert_eq!(
            get(Role::ZeroWindowProbe),
            sum(&|f| u64::from(f.zero_window_probes))
        );
        assert_eq!(
            get(Role::Retransmission),
            sum(&|f| u64::from(f.retransmissions))
        );
        assert_eq!(count.values().sum::<u64>(), truth.frames);
    }
}
