//! Writes a large synthetic capture (and optionally its truth as JSON).
//!
//! `cargo run --release --example gencap -- --flows 50000 --packets 2500000 --seed 1 --out big.pcap --truth big.json`
//!
//! `--profile small` draws mostly keepalive flows (small frames); `--flood
//! syn` writes `--flows` lone SYNs (a SYN flood, one flow each) and `--flood
//! keepalive` `--flows` connections that each send data, then one answered
//! keepalive probe two hours later: the table's worst cases, for
//! `scripts/bench`.

use anyhow::{Context, Result};
use clap::Parser;
use kawatch_core::Timestamp;
use kawatch_synth::writer::DEFAULT_SNAPLEN;
use kawatch_synth::{Config, Format, Generator, LinkType, Profile, Writer};
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
    /// The mix of flows: `mixed` (about 565 bytes a frame) or `small`
    /// (mostly keepalive flows, about 370 bytes a frame).
    #[arg(long, default_value = "mixed", value_parser = ["mixed", "small"])]
    profile: String,
    /// Instead of the simulation: `syn` (a SYN flood of --flows lone SYNs)
    /// or `keepalive` (--flows connections with one answered probe each).
    #[arg(long, value_parser = ["syn", "keepalive"])]
    flood: Option<String>,
}

/// An Ethernet/IPv4/TCP frame with `len` bytes of payload (zeros).
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    buf: &mut Vec<u8>,
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    len: usize,
) {
    buf.clear();
    buf.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (40 + len) as u16;
    buf.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    buf.extend_from_slice(&src);
    buf.extend_from_slice(&dst);
    let mut sum: u32 = 0;
    for pair in buf[14..34].chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let csum = !(sum as u16);
    buf[24..26].copy_from_slice(&csum.to_be_bytes());
    buf.extend_from_slice(&sport.to_be_bytes());
    buf.extend_from_slice(&dport.to_be_bytes());
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&ack.to_be_bytes());
    buf.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    buf.resize(buf.len() + len, 0);
}

/// The client address and port of flood flow `i`: distinct for 2^32 flows.
fn flood_client(i: u32) -> ([u8; 4], u16) {
    let host = i / 60_000;
    (
        [10, (host >> 16) as u8, (host >> 8) as u8, host as u8],
        1024 + (i % 60_000) as u16,
    )
}

/// Writes a flood (see `--flood`); returns the frames written.
fn flood<W: std::io::Write>(w: &mut Writer<W>, kind: &str, flows: u32) -> Result<u64> {
    const SERVER: [u8; 4] = [198, 19, 0, 1];
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH: u8 = 0x08;
    let base = 1_700_000_000_i64 * 1_000_000_000;
    let mut buf = Vec::with_capacity(128);
    let mut frames = 0;
    // 20 us apart: a million flows in 20 s.
    let at = |i: u32, offset_s: i64| {
        Timestamp::from_nanos(base + offset_s * 1_000_000_000 + i64::from(i) * 20_000)
    };
    match kind {
        "syn" => {
            for i in 0..flows {
                let (c, port) = flood_client(i);
                tcp_frame(
                    &mut buf,
                    c,
                    port,
                    SERVER,
                    443,
                    i.wrapping_mul(2_654_435_761),
                    0,
                    SYN,
                    0,
                );
                w.write(at(i, 0), &buf)?;
                frames += 1;
            }
        }
        _ => {
            let (iss, srv) = (1_000_u32, 5_000_u32);
            // Each client sends 10 bytes the server acknowledges...
            for i in 0..flows {
                let (c, port) = flood_client(i);
                tcp_frame(&mut buf, c, port, SERVER, 443, iss, srv, ACK | PSH, 10);
                w.write(at(i, 0), &buf)?;
                tcp_frame(&mut buf, SERVER, 443, c, port, srv, iss + 10, ACK, 0);
                w.write(at(i, 0), &buf)?;
                frames += 2;
            }
            // ... then, two hours idle, probes once and is answered.
            for i in 0..flows {
                let (c, port) = flood_client(i);
                tcp_frame(&mut buf, c, port, SERVER, 443, iss + 9, srv, ACK, 0);
                w.write(at(i, 7_200), &buf)?;
                tcp_frame(&mut buf, SERVER, 443, c, port, srv, iss + 10, ACK, 0);
                w.write(at(i, 7_200), &buf)?;
                frames += 2;
            }
        }
    }
    Ok(frames)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let cfg = Config {
        duration_s: args.duration,
        profile: if args.profile == "small" {
            Profile::SmallFrames
        } else {
            Profile::Mixed
        },
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
    if let Some(kind) = &args.flood {
        let frames = flood(&mut w, kind, args.flows)?;
        w.finish()?;
        eprintln!(
            "gencap: {kind} flood, {frames} frames, {} flows, {:.1} s",
            args.flows,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
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
