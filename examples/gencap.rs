//! Writes a large synthetic capture (and optionally its truth as JSON).
//!
//! `cargo run --release --example gencap -- --flows 50000 --packets 2500000 --seed 1 --out big.pcap --truth big.json`

use anyhow::{Context, Result};
use clap::Parser;
use kawatch_synth::writer::DEFAULT_SNAPLEN;
use kawatch_synth::{Config, Format, Generator, LinkType, Writer};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

/// Generate a synthetic pcap of many overlapping TCP flows with keepalives.
#[derive(Parser, Debug)]
struct Args {
    /// Flows to start.
    #[arg(long, default_value_t = 50_000)]
    flows: u32,
    /// Frames to write at most (the capture is cut there).
    #[arg(long, default_value_t = 2_500_000)]
    packets: u64,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Capture length in seconds.
    #[arg(long, default_value_t = 3 * 3600)]
    duration: u32,
    /// Bytes kept per frame (tcpdump -s); 0 keeps whole frames.
    #[arg(long, default_value_t = 0)]
    snaplen: u32,
    /// Output pcap file.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the truth (JSON).
    #[arg(long)]
    truth: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let cfg = Config {
        duration_s: args.duration,
        ..Config::new(args.flows, args.packets, args.seed)
    };
    let file =
        File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let snaplen = if args.snaplen == 0 {
        DEFAULT_SNAPLEN
    } else {
        args.snaplen
    };
    let mut w = Writer::new(
        BufWriter::with_capacity(1 << 20, file),
        Format::PcapNano,
        LinkType::Ethernet,
    )
    .snaplen(snaplen);
    let mut gen = Generator::new(cfg);
    let mut buf = Vec::with_capacity(1600);
    while let Some(ts) = gen.next_frame(&mut buf) {
        w.write(ts, &buf)?;
    }
    w.finish()?;
    let truth = gen.finish();
    let probers = truth
        .flows
        .iter()
        .flat_map(|f| &f.sides)
        .filter(|s| s.prober.is_some())
        .count();
    eprintln!(
        "gencap: {} frames, {} bytes, {} flows with frames ({} requested), {} probers, at most {} connections open at once, {:.1} s",
        truth.frames,
        truth.bytes,
        truth.flows.len(),
        truth.flows_requested,
        probers,
        truth.max_open_flows,
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.truth {
        let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        serde_json::to_writer(BufWriter::new(f), &truth)?;
    }
    Ok(())
}
