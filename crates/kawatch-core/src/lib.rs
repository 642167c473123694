//! kawatch's analysis core: TCP keepalives from captured frames.
//!
//! A pure pipeline with **no I/O and no clock**:
//!
//! ```text
//! bytes + capture timestamp
//!   -> decode (link layer, IPv4/IPv6, TCP)      decode.rs
//!   -> flow table (4-tuple + VLAN tags)         flow.rs, analyzer.rs
//!   -> classify (probe, reply, give-up, ...)    classify/
//!   -> per-prober timing (idle, intvl, count)   prober.rs, settings.rs
//!   -> application heartbeats (small data)      heartbeat.rs
//!   -> snapshot (plain values to print or draw) snapshot.rs, status.rs
//!   -> path verdicts (middlebox idle timeouts)  path.rs
//! ```
//!
//! Time enters only as capture timestamps ([`Timestamp`]), so a file replay,
//! a live capture and a test run the same code. Capturing, printing and
//! drawing belong to the `kawatch` tool; this crate cannot touch a file, a
//! device or a terminal: it depends on no crate that could, and its manifest
//! forbids code the compiler cannot check.
//!
//! # The API
//!
//! - [`Analyzer`]: the flow table. Feed it frames with
//!   [`Analyzer::ingest_frame`] (bytes of a [`LinkType`] and their capture
//!   [`Timestamp`]) or decoded [`Segment`]s with [`Analyzer::ingest`]; each
//!   call returns the [`Event`]s that segment decided (a probe, its answer, a
//!   give-up, a zero-window probe). [`Limits`] bound the table.
//! - [`Snapshot`]: every flow at a moment, [`FlowView`] per flow and
//!   [`ProberView`] per side that probed: the observed timings (idle,
//!   interval, probe count), the whole-second [`Settings`] they imply, the
//!   [`Outcome`]; [`status`] puts a flow's state into words.
//! - [`LocalSocket`] and [`SocketIndex`]: the kernel's view of this box's
//!   sockets, matched to flows, and [`disagreements`] between the two.
//!
//! With the `serde` feature, the plain values ([`Endpoint`], [`Outcome`],
//! [`EventKind`], [`Settings`], ...) serialise as the report contract
//! spells them, and derive `schemars::JsonSchema`.
//!
//! A connection that goes quiet, a keepalive probe one byte below what the
//! peer has acknowledged, and the peer's answer, as raw IPv4 frames:
//!
//! ```
//! use kawatch_core::{Analyzer, EventKind, LinkType, Outcome, Timestamp};
//! use etherparse::PacketBuilder;
//!
//! // A raw IPv4 TCP segment (ACK set) from 198.18.0.X:PORT.
//! fn segment(from_a: bool, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
//!     let (a, b) = ([198, 18, 0, 1], [198, 18, 0, 2]);
//!     let builder = if from_a {
//!         PacketBuilder::ipv4(a, b, 64).tcp(40000, 5000, seq, 65535)
//!     } else {
//!         PacketBuilder::ipv4(b, a, 64).tcp(5000, 40000, seq, 65535)
//!     };
//!     let mut frame = Vec::new();
//!     builder.ack(ack).write(&mut frame, payload).unwrap();
//!     frame
//! }
//! let at = Timestamp::from_secs_f64;
//!
//! let mut an = Analyzer::new(LinkType::RawIp);
//! // a sends 5 bytes, b acknowledges them: then 60 s of silence.
//! assert!(an.ingest_frame(at(1000.0), &segment(true, 1000, 7000, b"hello")).is_empty());
//! assert!(an.ingest_frame(at(1000.01), &segment(false, 7000, 1005, b"")).is_empty());
//! // a's keepalive probe: no data, at seq 1004, one below what b acknowledged.
//! let events = an.ingest_frame(at(1060.01), &segment(true, 1004, 7000, b""));
//! assert_eq!(events[0].kind, EventKind::Probe);
//! assert_eq!(events[0].frame, 3);
//! // b answers with an ACK of 1005.
//! let events = an.ingest_frame(at(1060.02), &segment(false, 7000, 1005, b""));
//! assert_eq!(events[0].kind, EventKind::ProbeAck);
//!
//! let snap = an.snapshot(at(1061.0));
//! let flow = &snap.flows[0];
//! assert_eq!(flow.b.port, 5000);
//! let prober = &flow.probers[0];
//! assert_eq!(prober.endpoint, flow.a);
//! assert_eq!((prober.probes_sent, prober.probes_answered), (1, 1));
//! assert_eq!(prober.outcome, Outcome::Alive);
//! // Idle: from the last segment a received to its probe.
//! assert!((prober.idle_s.unwrap() - 60.0).abs() < 1e-6);
//! assert_eq!(prober.likely.idle_s, Some(60));
//!
//! // A frame that is not IP decodes to nothing, and is counted as such.
//! assert!(an.ingest_frame(at(1062.0), &[0u8; 8]).is_empty());
//! assert_eq!(an.counters().undecoded, 1);
//! ```

mod analyzer;
mod classify;
mod decode;
mod event;
mod flow;
pub mod heartbeat;
mod local;
mod merge;
pub mod path;
mod prober;
mod segment;
mod seq;
mod settings;
mod snapshot;
pub mod status;
mod table;
mod time;

pub use analyzer::{Analyzer, Limits, ReportOrder, MIN_IDLE_TIMEOUT, RETIRED_FLOW_BYTES};
pub use decode::{decode, decode_with_len, LinkType};
pub use event::{Event, EventKind};
pub use flow::TcpState;
pub use heartbeat::{HeartbeatProtocol, HeartbeatView};
pub use local::{
    infer_from_timer, KeepaliveSettings, KernelTimer, LocalSocket, Owner, SettingsFrom,
    SocketState, TimerKind,
};
pub use merge::{disagreements, with_sockets, with_sockets_where, Disagreement, SocketIndex};
pub use path::{
    allowed_silence_s, keepalive_silence_s, prober_silence_s, socket_silence_s, verdict,
    BadPathTimeout, PathTimeout, PathVerdict, TIMER_SLACK,
};
pub use prober::{Mark, Outcome};
pub use segment::{BadEndpoint, Endpoint, PayloadHead, Segment, TcpFlags, Vlan};
pub use seq::SeqNumber;
pub use settings::{
    likely_range, likely_secs, likely_text, matching_defaults, Settings, OS_DEFAULTS,
};
pub use snapshot::{Counters, FlowView, ProberView, Snapshot};
pub use time::{parse_seconds, Span, Timestamp};
