//! kawatch: TCP keepalives at the packet level, and on a box in the kernel.
//!
//! The tool around [`kawatch_core`], the pure analysis core (re-exported as
//! [`core`]): [`capture`] is the only module that touches libpcap, [`run`]
//! drives a capture through the core into a [`report`], and [`tui`] is the
//! live screen.
//!
//! ```no_run
//! use kawatch::{capture::{Next, Source}, Analyzer};
//! # fn main() -> Result<(), kawatch::capture::CaptureError> {
//! let mut src = Source::open_file("capture.pcap".as_ref(), None)?;
//! let mut an = Analyzer::new(src.link_type());
//! while let Next::Frame(f) = src.next_frame()? {
//!     for ev in f.ingest(&mut an) {
//!         println!("{} {:?}", ev.frame, ev.kind);
//!     }
//! }
//! let snap = an.snapshot(an.time_range().1.unwrap_or_default());
//! println!("{} flows", snap.flows.len());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod capture;
pub mod check;
pub mod report;
pub mod run;
pub mod sockets;
pub mod tui;

pub use kawatch_core as core;
pub use kawatch_core::{
    status, Analyzer, Counters, Endpoint, Event, EventKind, FlowView, LinkType, Outcome,
    ProberView, Segment, SeqNumber, Snapshot, Timestamp,
};
