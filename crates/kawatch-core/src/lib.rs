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
//! ```
//! use kawatch_core::{Analyzer, EventKind, LinkType, Timestamp};
//!
//! let mut an = Analyzer::new(LinkType::RawIp);
//! // A frame that is not IP decodes to nothing and is counted as such.
//! assert!(an.ingest_frame(Timestamp::from_secs_f64(1.0), &[0u8; 8]).is_empty());
//! assert_eq!(an.counters().undecoded, 1);
//! let snap = an.snapshot(Timestamp::from_secs_f64(2.0));
//! assert!(snap.flows.is_empty());
//! # let _ = EventKind::Probe;
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
mod time;

pub use analyzer::{Analyzer, Limits, MIN_IDLE_TIMEOUT, RETIRED_FLOW_BYTES};
pub use decode::{decode, decode_with_len, LinkType};
pub use event::{Event, EventKind};
pub use flow::TcpState;
pub use heartbeat::{HeartbeatProtocol, HeartbeatView};
pub use local::{
    infer_from_timer, KeepaliveSettings, KernelTimer, LocalSocket, Owner, SettingsFrom,
    SocketState, TimerKind,
};
pub use merge::{disagreements, with_sockets, Disagreement, SocketIndex};
pub use path::{allowed_silence_s, verdict, BadPathTimeout, PathTimeout, PathVerdict};
pub use prober::{Mark, Outcome};
pub use segment::{BadEndpoint, Endpoint, PayloadHead, Segment, TcpFlags, Vlan};
pub use seq::SeqNumber;
pub use settings::{
    likely_range, likely_secs, likely_text, matching_defaults, Settings, OS_DEFAULTS,
};
pub use snapshot::{Counters, FlowView, ProberView, Snapshot};
pub use time::{Span, Timestamp};
