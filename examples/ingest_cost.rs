//! The analysis cost per frame, without the reading: `scripts/bench`'s
//! flow-count scaling. Reads a capture with libpcap in batches of 4,096
//! frames (each copied, at most 256 bytes of it), and times only the
//! analyser's ingesting of each batch. The table is bounded by
//! `--max-flows` (default: large enough to hold every flow), so the figure
//! shows how the cost grows with the flows tracked.
//!
//! `cargo run --release --example ingest_cost -- FILE.pcap [--max-flows N]`
//! prints `FRAMES FLOWS NS_PER_FRAME`.

use anyhow::{bail, Context, Result};
use kawatch_core::{Analyzer, Limits, LinkType, Timestamp};
use pcap::{Capture, Precision};
use std::hint::black_box;
use std::time::{Duration, Instant};

const BATCH: usize = 4096;
const KEEP: usize = 256;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        bail!("usage: ingest_cost FILE.pcap [--max-flows N]");
    };
    let mut limits = Limits {
        max_flows: 1 << 22,
        ..Limits::default()
    };
    if let (Some(flag), Some(n)) = (args.next(), args.next()) {
        if flag != "--max-flows" {
            bail!("unknown option {flag}");
        }
        limits.max_flows = n.parse().context("--max-flows")?;
    }
    let mut cap = Capture::from_file_with_precision(&path, Precision::Nano)
        .with_context(|| format!("opening {path}"))?;
    let link = LinkType::from_dlt(cap.get_datalink().0).context("a link type kawatch decodes")?;
    let mut an = Analyzer::with_limits(link, limits);
    // As `kawatch report` analyses: no prober timelines (a report shows none).
    an.keep_timelines(false);
    let mut data = vec![0u8; BATCH * KEEP];
    let mut meta: Vec<(Timestamp, usize, u32)> = Vec::with_capacity(BATCH);
    let (mut frames, mut spent) = (0u64, Duration::ZERO);
    let mut done = false;
    while !done {
        meta.clear();
        while meta.len() < BATCH {
            match cap.next_packet() {
                Ok(p) => {
                    let n = p.data.len().min(KEEP);
                    let i = meta.len();
                    data[i * KEEP..i * KEEP + n].copy_from_slice(&p.data[..n]);
                    let ts = Timestamp::from_parts(
                        p.header.ts.tv_sec,
                        p.header.ts.tv_usec, // nanoseconds: opened with Precision::Nano
                    );
                    meta.push((ts, n, p.header.len));
                }
                Err(pcap::Error::NoMorePackets) => {
                    done = true;
                    break;
                }
                Err(e) => bail!("{path}: {e}"),
            }
        }
        let started = Instant::now();
        for (i, &(ts, n, len)) in meta.iter().enumerate() {
            black_box(an.ingest_frame_with_len(ts, &data[i * KEEP..i * KEEP + n], len));
        }
        spent += started.elapsed();
        frames += meta.len() as u64;
    }
    println!(
        "{frames} {} {:.1}",
        an.flow_count(),
        spent.as_nanos() as f64 / frames.max(1) as f64
    );
    std::mem::forget(an);
    Ok(())
}
