//! kawatch: TCP keepalives at the packet level.
//!
//! Captured frames go through a pure core — decode ([`decode`]) -> flow table
//! ([`flow`]) -> classification ([`classify`]) -> per-prober timing
//! ([`prober`], [`settings`]) -> [`Snapshot`] — driven by [`Analyzer`], which
//! does no I/O and reads no clock. [`capture`] is the only module that
//! touches libpcap; [`report`] prints snapshots and events.
//!
//! ```no_run
//! use kawatch::{capture::{Next, Source}, Analyzer};
//! # fn main() -> Result<(), kawatch::capture::CaptureError> {
//! let mut src = Source::open_file("capture.pcap".as_ref(), None)?;
//! let mut an = Analyzer::new(src.link_type());
//! while let Next::Frame(f) = src.next_frame()? {
//!     for ev in an.ingest_frame(f.ts, f.data) {
//!         println!("{} {:?}", ev.frame, ev.kind);
//!     }
//! }
//! let snap = an.snapshot(an.time_range().1.unwrap_or_default());
//! println!("{} flows", snap.flows.len());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod analyzer;
pub mod capture;
pub mod classify;
pub mod decode;
pub mod flow;
pub mod prober;
pub mod report;
pub mod run;
pub mod segment;
pub mod seq;
pub mod settings;
pub mod snapshot;
pub mod synth;
pub mod time;
pub mod tui;

pub use analyzer::{Analyzer, Counters, Event, EventKind};
pub use decode::LinkType;
pub use prober::Outcome;
pub use segment::{Endpoint, Segment};
pub use seq::SeqNumber;
pub use snapshot::{FlowView, ProberView, Snapshot};
pub use time::Timestamp;
