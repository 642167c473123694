//! The library's front door: a capture file into a typed [`Report`], or its
//! events one at a time. What a Rust test calls; `kawatch report` and
//! `kawatch check` go through the same [`run::analyse`](crate::run::analyse).

use crate::capture::{CaptureError, Next, Source};
use crate::report::{EventReport, Report, SourceInfo};
use crate::run::{analyse, RunError, RunOptions};
use kawatch_core::{Analyzer, Limits, PathTimeout};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Analyses a capture file (pcap or pcapng) into its report: what
/// `kawatch report --format json FILE` writes, as a value.
///
/// A file cut off mid-packet, or with a record that cannot be read after the
/// first, still gives the report of the frames before it, with
/// `source.truncated` set and `source.truncated_reason` saying why. For a
/// BPF filter or flow-table bounds, see [`Analysis`].
///
/// ```
/// # fn main() -> Result<(), kawatch::CaptureError> {
/// let report = kawatch::analyse_file("fixtures/synth/dead_give_up.pcap")?;
/// let flow = &report.flows[0];
/// assert_eq!(flow.b.port, 5000);
/// let prober = &flow.keepalive[0];
/// assert_eq!(prober.outcome, kawatch::Outcome::Dead);
/// assert_eq!(prober.likely.idle_s, Some(2));
/// assert!(!report.source.truncated);
/// # Ok(())
/// # }
/// ```
pub fn analyse_file(path: impl AsRef<Path>) -> Result<Report, CaptureError> {
    Analysis::new(path).run()
}

/// The keepalive-related segments of a capture file, as `kawatch report
/// --format events FILE` writes them, in the order they are decided: see
/// [`Events`].
///
/// ```
/// use kawatch::core::EventKind;
/// # fn main() -> Result<(), kawatch::CaptureError> {
/// let mut probes = 0;
/// for event in kawatch::events_of_file("fixtures/synth/alive.pcap")? {
///     let event = event?;
///     if event.kind == EventKind::Probe {
///         probes += 1;
///         println!("frame {}: probe {} -> {}", event.frame, event.src, event.dst);
///     }
/// }
/// assert_eq!(probes, 4);
/// # Ok(())
/// # }
/// ```
pub fn events_of_file(path: impl AsRef<Path>) -> Result<Events, CaptureError> {
    Analysis::new(path).events()
}

/// How to analyse a capture file: a BPF filter, the flow table's bounds.
/// [`analyse_file`] and [`events_of_file`] are `Analysis::new(path)` with
/// the defaults.
///
/// ```
/// use kawatch::{Analysis, Limits};
/// # fn main() -> Result<(), kawatch::CaptureError> {
/// let report = Analysis::new("fixtures/synth/dead_give_up.pcap")
///     .filter("tcp port 5000")
///     .limits(Limits { max_flows: 1000, ..Limits::default() })
///     .run()?;
/// assert_eq!(report.flows.len(), 1);
///
/// // A filter that matches nothing leaves the frames read but no flow.
/// let none = Analysis::new("fixtures/synth/dead_give_up.pcap")
///     .filter("tcp port 1")
///     .run()?;
/// assert!(none.flows.is_empty());
///
/// // A filter libpcap cannot compile is an error.
/// let bad = Analysis::new("fixtures/synth/dead_give_up.pcap").filter("tcp port").run();
/// assert!(matches!(bad, Err(kawatch::CaptureError::BadFilter { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use = "an Analysis does nothing until run() or events()"]
pub struct Analysis {
    path: PathBuf,
    filter: Option<String>,
    limits: Limits,
    paths: Vec<PathTimeout>,
}

impl Analysis {
    /// An analysis of the capture file at `path`: every frame, the default
    /// flow-table bounds (as `kawatch report`).
    pub fn new(path: impl AsRef<Path>) -> Analysis {
        Analysis {
            path: path.as_ref().to_path_buf(),
            filter: None,
            limits: Limits::default(),
            paths: PathTimeout::defaults(),
        }
    }

    /// Only the frames a BPF filter lets through, as tcpdump takes it
    /// (`tcp port 5432`); compiled by libpcap for each link type in the file.
    pub fn filter(mut self, filter: impl Into<String>) -> Analysis {
        self.filter = Some(filter.into());
        self
    }

    /// The flow table's bounds (`--max-flows`, `--max-retired`).
    pub fn limits(mut self, limits: Limits) -> Analysis {
        self.limits = limits;
        self
    }

    /// The path timeouts each flow is judged against (`--path-timeout`;
    /// default [`PathTimeout::defaults`]): each flow's `path` has one
    /// verdict per timeout, in this order.
    ///
    /// ```
    /// use kawatch::core::{HeartbeatProtocol, PathTimeout, PathVerdict};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let paths = [PathTimeout::parse("aws-nlb")?, PathTimeout::parse("15s")?];
    /// let report = kawatch::Analysis::new("fixtures/synth/heartbeats.pcap")
    ///     .paths(paths)
    ///     .run()?;
    /// // An HTTP/2 PING every 20 s keeps the first flow alive behind an NLB,
    /// // but its silences are longer than 15 s.
    /// let flow = &report.flows[0];
    /// assert_eq!(flow.heartbeats[0].protocol, HeartbeatProtocol::Http2Ping);
    /// assert_eq!(flow.heartbeats[0].period_s, 20.0);
    /// assert!(flow.keepalive.is_empty());
    /// assert_eq!(flow.path[0].verdict, PathVerdict::Safe);
    /// assert_eq!((flow.path[1].name.as_str(), flow.path[1].verdict), ("15s", PathVerdict::Exceeded));
    /// # Ok(())
    /// # }
    /// ```
    pub fn paths(mut self, paths: impl IntoIterator<Item = PathTimeout>) -> Analysis {
        self.paths = paths.into_iter().collect();
        self
    }

    /// Reads the file to its end and gives its report; a partial file gives
    /// the report of what was read, marked `source.truncated`.
    pub fn run(self) -> Result<Report, CaptureError> {
        let mut src = self.open()?;
        let opts = RunOptions {
            limits: self.limits,
            paths: self.paths,
            ..RunOptions::default()
        };
        match analyse(&mut src, opts) {
            Ok((report, _)) => Ok(report),
            Err(RunError::Capture(e)) => Err(e),
            // `analyse` writes nothing (its output is a sink).
            Err(RunError::Output(e) | RunError::Frames(e)) => Err(CaptureError::Unreadable {
                path: self.path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// The file's events, read as they are iterated: see [`Events`].
    pub fn events(self) -> Result<Events, CaptureError> {
        let src = self.open()?;
        let an = Analyzer::with_limits(src.link_type(), self.limits);
        Ok(Events {
            src,
            an,
            pending: VecDeque::new(),
            truncated_reason: None,
            done: false,
            paths: self.paths,
        })
    }

    fn open(&self) -> Result<Source, CaptureError> {
        Source::open_file(&self.path, self.filter.as_deref())
    }
}

/// A capture's events (probes, their answers, give-ups, zero-window probes),
/// read from the file as they are iterated: one frame at a time, so a large
/// capture is never held whole.
///
/// Each item is an event, or the error that stopped the read (then the
/// iteration ends). A file that cannot be read to its end (cut off
/// mid-packet) is no error: the iteration ends at the last frame read, and
/// [`Events::truncated_reason`] says why. When it has ended,
/// [`Events::report`] gives the report of the frames read, as
/// [`analyse_file`] would have: one pass for both.
///
/// ```
/// use kawatch::core::EventKind;
/// # fn main() -> Result<(), kawatch::CaptureError> {
/// let mut events = kawatch::events_of_file("fixtures/synth/cut_off.pcap")?;
/// let kinds: Vec<EventKind> = events.by_ref().map(|e| e.map(|e| e.kind)).collect::<Result<_, _>>()?;
/// assert!(kinds.contains(&EventKind::Probe));
/// // The file ends mid-packet: the events before it stand.
/// assert!(events.truncated_reason().unwrap().starts_with("cut off"));
/// let report = events.report();
/// assert!(report.source.truncated);
/// assert_eq!(report.flows[0].keepalive[0].probes_sent, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Events {
    src: Source,
    an: Analyzer,
    /// Events decided by the last frame, not handed out yet.
    pending: VecDeque<EventReport>,
    truncated_reason: Option<String>,
    done: bool,
    paths: Vec<PathTimeout>,
}

impl Events {
    /// Why the input could not be read to its end, once the iteration has
    /// ended there (`cut off in the middle of a packet: ...`); `None` while
    /// it goes on, and for a whole file.
    pub fn truncated_reason(&self) -> Option<&str> {
        self.truncated_reason.as_deref()
    }

    /// The report of the frames read so far: of the whole file once the
    /// iteration has ended.
    pub fn report(&self) -> Report {
        let info = SourceInfo {
            name: self.src.name().to_string(),
            linktype: self.src.link_name().to_string(),
            truncated: self.truncated_reason.is_some(),
            truncated_reason: self.truncated_reason.clone(),
            paths: self.paths.clone(),
            ..SourceInfo::default()
        };
        Report::of(&self.an, &info)
    }

    /// The analyser the frames went through, for what the report does not
    /// hold (a [`Snapshot`](crate::Snapshot) at a moment, counters).
    pub fn analyzer(&self) -> &Analyzer {
        &self.an
    }
}

impl Iterator for Events {
    type Item = Result<EventReport, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            if self.done {
                return None;
            }
            match self.src.next_frame() {
                Ok(Next::Frame(f)) => {
                    let events = f.ingest(&mut self.an);
                    self.pending
                        .extend(events.iter().map(|ev| EventReport::of(ev, None)));
                }
                // A file has no read timeouts.
                Ok(Next::Timeout) => {}
                Ok(Next::End) => self.done = true,
                Err(e) if e.is_partial() => {
                    self.truncated_reason = e.partial_reason();
                    self.done = true;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl std::iter::FusedIterator for Events {}
