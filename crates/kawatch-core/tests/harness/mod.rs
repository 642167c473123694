//! What the fuzz targets run, shared with the regression test that replays
//! the inputs kept in fixtures/fuzz/ (crashes once found, and a few seeds).

use kawatch_core::{decode, status, Analyzer, Limits, LinkType, Timestamp};

const LINKS: [LinkType; 6] = [
    LinkType::Ethernet,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Loop,
    LinkType::RawIp,
];

/// The first byte picks the link type; the rest is one frame. Any bytes
/// decode to a segment or to nothing, never a panic.
pub(crate) fn decode_any(data: &[u8]) {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(pick) % LINKS.len()];
    if let Some(seg) = decode(link, 1, Timestamp(0), frame) {
        // An IP length field can claim at most 64 KiB of payload.
        assert!(seg.payload_len <= 65_535, "payload_len {}", seg.payload_len);
    }
}

/// A sequence of frames through the whole analyser, then a snapshot and
/// every flow's status: never a panic, and the counters add up.
///
/// Input: one byte link type, then records of [u16 LE time step in ms]
/// [u16 LE length][frame]. Steps above 60 s stand for a step back in time
/// (captures do that).
pub(crate) fn ingest_any(data: &[u8]) {
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(pick) % LINKS.len()];
    // A small table and store, so eviction, restoring and dropping run too.
    let limits = Limits {
        max_flows: 8,
        max_retired: 4,
        ..Limits::default()
    };
    let mut an = Analyzer::with_limits(link, limits);
    let mut ts = Timestamp::from_secs_f64(1_700_000_000.0);
    let mut frames = 0u64;
    while rest.len() >= 4 {
        let step_ms = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        rest = &rest[4..];
        let frame = &rest[..len.min(rest.len())];
        rest = &rest[frame.len()..];
        ts = if step_ms > 60_000 {
            ts.add_secs(-f64::from(step_ms - 60_000) / 1e3)
        } else {
            ts.add_secs(f64::from(step_ms) / 1e3)
        };
        an.ingest_frame(ts, frame);
        frames += 1;
    }
    let c = an.counters();
    assert_eq!(c.frames, frames);
    assert_eq!(c.tcp_segments + c.undecoded, frames);
    let snap = an.snapshot(ts.add_secs(3600.0));
    for f in &snap.flows {
        let _ = status::state(f, snap.now);
        for p in &f.probers {
            let _ = status::next_due(f, p);
        }
    }
}
