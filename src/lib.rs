//! kawatch: TCP keepalives at the packet level, and on a box in the kernel.
//!
//! The tool around [`kawatch_core`], the pure analysis core (re-exported as
//! [`core`]): [`capture`] is the only module that touches libpcap, [`run`]
//! drives a capture through the core into a [`report`], [`check`] holds
//! rules against reports, and [`tui`] is the live screen.
//!
//! # As a library, for Rust tests
//!
//! | to | call |
//! |---|---|
//! | analyse a capture file into a typed [`Report`](report::Report) | [`analyse_file`], or [`Analysis`] for a BPF filter or flow-table bounds |
//! | iterate its events ([`EventReport`](report::EventReport)) | [`events_of_file`], or [`Analysis::events`]: an [`Events`] iterator |
//! | hold keepalive rules against reports | [`check::Policy::from_toml`] and [`check::Policy::evaluate`]: a [`check::CheckReport`] |
//! | read kawatch's JSON back | `serde_json` into [`report::Report`], [`report::EventReport`], [`report::SocketsReport`], [`check::CheckReport`] |
//!
//! The report types are the JSON contract (docs/report-contract.md): they
//! derive serde's `Serialize` and `Deserialize`, and the JSON Schemas in
//! docs/schemas/ are generated from them. A capture file that is cut off
//! still gives the report of what was read, with `source.truncated` set.
//!
//! A test that a service notices a dead peer in time:
//!
//! ```
//! use kawatch::check::Policy;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let report = kawatch::analyse_file("fixtures/synth/dead_give_up.pcap")?;
//! let prober = &report.flows[0].keepalive[0];
//! assert_eq!(prober.outcome, kawatch::Outcome::Dead);
//! assert_eq!((prober.likely.idle_s, prober.likely.intvl_s, prober.likely.probes), (Some(2), Some(1), Some(3)));
//!
//! let policy = Policy::from_toml(r#"
//!     [[rule]]
//!     name = "a dead peer is noticed within 10 s"
//!     port = 5000
//!     keepalive = "required"
//!     max_detection = "10s"
//! "#)?;
//! let result = policy.evaluate(&[report]);
//! assert!(result.passed, "{:?}", result.failures().collect::<Vec<_>>());
//!
//! // The same rule against a capture whose connection never probes fails,
//! // and says why.
//! let quiet = kawatch::analyse_file("fixtures/synth/zero_window_probes.pcap")?;
//! let result = policy.evaluate(&[quiet]);
//! assert!(!result.passed);
//! let (rule, finding) = result.failures().next().unwrap();
//! assert_eq!(rule, "a dead peer is noticed within 10 s");
//! assert_eq!(finding.requirement, "keepalive");
//! # Ok(())
//! # }
//! ```
//!
//! Below these, the capture and the core are open too: a [`capture::Source`]
//! hands frames to an [`Analyzer`], which decides [`Event`]s and gives a
//! [`Snapshot`] of every flow at any moment.
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

/// `eprintln!`, except that a standard error that cannot be written (closed,
/// or a pipe whose reader left) is ignored rather than a panic: what would
/// have been said is lost, the exit status stays.
macro_rules! to_stderr {
    ($($arg:tt)*) => {
        $crate::stderr_line(format_args!($($arg)*))
    };
}

mod analysis;
pub mod capture;
pub mod check;
pub mod report;
pub mod run;
pub mod sockets;
pub mod tui;

pub use analysis::{analyse_file, events_of_file, Analysis, Events};
pub use capture::CaptureError;
pub use kawatch_core as core;
pub use kawatch_core::{
    status, Analyzer, Counters, Endpoint, Event, EventKind, FlowView, Limits, LinkType, Outcome,
    ProberView, Segment, SeqNumber, Snapshot, Timestamp,
};

/// Writes `line` and a newline to standard error, ignoring a failure to
/// (what `kawatch`'s messages go through: a warning or an error message
/// never turns into a panic when standard error is closed).
pub fn stderr_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
