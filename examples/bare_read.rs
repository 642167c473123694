//! The baseline for `scripts/bench`: a bare libpcap loop over a capture file
//! (pcap_next_ex through the pcap crate), counting frames and bytes, nothing else.
//!
//! `cargo run --release --example bare_read -- FILE.pcap`

use anyhow::{bail, Context, Result};
use pcap::{Capture, Precision};
use std::time::Instant;

fn main() -> Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        bail!("usage: bare_read FILE.pcap");
    };
    let started = Instant::now();
    // The same precision kawatch opens files with, so libpcap does the same work.
    let mut cap = Capture::from_file_with_precision(&path, Precision::Nano)
        .with_context(|| format!("opening {path}"))?;
    let (mut frames, mut bytes) = (0u64, 0u64);
    loop {
        match cap.next_packet() {
            Ok(p) => {
                frames += 1;
                bytes += p.data.len() as u64;
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => bail!("{path}: {e}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{frames} frames, {bytes} bytes, {secs:.3} s, {:.0} frames/s",
        frames as f64 / secs
    );
    Ok(())
}
