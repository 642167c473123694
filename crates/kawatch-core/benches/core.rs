//! Component benchmark of the core's three stages over generated captures
//! (kawatch-synth: realistic flows with keepalive episodes): decoding frames,
//! ingesting them (flow table, classification, timing), and taking a
//! snapshot. Complements `scripts/bench`, which times the whole tool against
//! a bare libpcap read; this one shows a 10% change in a stage in seconds.
//!
//!     cargo bench -p kawatch-core
//!
//! Per-frame figures: divan prints the throughput from the frame counter.

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use kawatch_core::{decode, Analyzer, LinkType, Timestamp};
use kawatch_synth::{Config, Generator};
use std::sync::OnceLock;

fn main() {
    divan::main();
}

/// A capture held in memory: timestamps and frame bytes.
struct Capture {
    frames: Vec<(Timestamp, Vec<u8>)>,
}

/// Frames per capture, and the flow counts compared (the table's size is
/// what the per-frame cost depends on once it leaves the caches).
const FRAMES: u64 = 200_000;
const FLOWS: [u32; 2] = [2_000, 20_000];

fn capture(flows: u32) -> &'static Capture {
    static SMALL: OnceLock<Capture> = OnceLock::new();
    static LARGE: OnceLock<Capture> = OnceLock::new();
    let cell = if flows == FLOWS[0] { &SMALL } else { &LARGE };
    cell.get_or_init(|| {
        let mut generator = Generator::new(Config::new(flows, FRAMES, 1));
        let mut frames = Vec::new();
        let mut buf = Vec::new();
        while let Some(ts) = generator.next_frame(&mut buf) {
            frames.push((ts, buf.clone()));
        }
        Capture { frames }
    })
}

#[divan::bench(args = FLOWS)]
fn decode_frames(bencher: Bencher, flows: u32) {
    let c = capture(flows);
    bencher.counter(ItemsCount::new(c.frames.len())).bench(|| {
        let mut tcp = 0usize;
        for (i, (ts, f)) in c.frames.iter().enumerate() {
            tcp += usize::from(decode(LinkType::Ethernet, i as u64 + 1, *ts, f).is_some());
        }
        black_box(tcp)
    });
}

#[divan::bench(args = FLOWS, sample_count = 20)]
fn ingest(bencher: Bencher, flows: u32) {
    let c = capture(flows);
    bencher.counter(ItemsCount::new(c.frames.len())).bench(|| {
        let mut an = Analyzer::new(LinkType::Ethernet);
        for (ts, f) in &c.frames {
            black_box(an.ingest_frame(*ts, f));
        }
        an
    });
}

#[divan::bench(args = FLOWS, sample_count = 20)]
fn snapshot(bencher: Bencher, flows: u32) {
    let c = capture(flows);
    let mut an = Analyzer::new(LinkType::Ethernet);
    for (ts, f) in &c.frames {
        an.ingest_frame(*ts, f);
    }
    let now = an.time_range().1.unwrap_or_default();
    bencher
        .counter(ItemsCount::new(an.flow_count()))
        .bench(|| black_box(an.snapshot(now)));
}
