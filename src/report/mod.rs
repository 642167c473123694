//! Report formats over the analyser's flows, streamed: JSON and CSV (stable, versioned),
//! a readable table, and JSON Lines events. See docs/report-contract.md.

mod csv;
mod json;
mod pcapng;
mod pretty;
mod sockets;
mod summary;
mod table;
mod types;

pub use self::csv::write_csv;
pub(crate) use self::json::{flow as flow_report, source_report};
pub use self::json::{write_event, write_json, Local};
pub use self::pcapng::Labeller;
pub(crate) use self::sockets::FROM_TIMER;
pub use self::sockets::{write_sockets_json, write_sockets_table};
pub use self::summary::{SourceInfo, Totals};
pub use self::table::write_table;
pub use self::types::{
    EventReport, FlowReport, HeartbeatReport, PathReport, ProberReport, Report, Silence,
    SocketReport, SocketsReport, SourceReport, Sysctl, REPORT_VERSION, SOCKETS_VERSION,
};

use kawatch_core::{Analyzer, FlowView, ReportOrder};
use std::io::{self, Write};

impl Report {
    /// The report of what `an` has analysed, its input as `src` describes
    /// it (name, link type, the path timeouts flows are judged against:
    /// [`SourceInfo::default`] for the defaults): what
    /// [`analyse_file`](crate::analyse_file) gives of a file, for frames or
    /// segments fed by hand, to hold a [`check::Policy`](crate::check::Policy)
    /// against or to assert on.
    ///
    /// ```
    /// use kawatch::core::{Analyzer, LinkType, Timestamp};
    /// use kawatch::report::{Report, SourceInfo};
    /// let mut an = Analyzer::new(LinkType::Ethernet);
    /// // (One frame that is no TCP segment: counted, and no flow.)
    /// an.ingest_frame(Timestamp::from_secs_f64(1.0), &[0u8; 10]);
    /// let report = Report::of(&an, &SourceInfo::default());
    /// assert_eq!((report.source.frames, report.source.undecoded), (1, 1));
    /// assert!(report.flows.is_empty());
    /// ```
    pub fn of(an: &Analyzer, src: &SourceInfo) -> Report {
        Report {
            kawatch_report: REPORT_VERSION,
            source: source_report(&Totals::of(an), src),
            flows: an
                .report_order()
                .into_views()
                .map(|f| flow_report(&f, None, src))
                .collect(),
        }
    }
}

/// What the readable outputs (the table report, `kawatch sockets`, the live
/// screen) write for a value that is unknown: not observable, or not
/// observed yet (an interval before two unanswered probes in a row).
pub const UNKNOWN: &str = "?";

/// What they write for a value that does not apply (the detection time of
/// a prober that never gave up).
pub const NOT_APPLICABLE: &str = "-";

/// A prober's probe count as the readable outputs (the table report, the
/// live screen) show it: the give-up's run when all of it was seen; `≥N`
/// when only part of it was (the capture began inside it), or when no
/// give-up came but a run of N probes went out each with the ones before it
/// unanswered; else [`UNKNOWN`].
pub(crate) fn probes_seen(p: &kawatch_core::ProberView) -> String {
    match (p.probes, p.likely.probes) {
        (Some(n), Some(_)) => n.to_string(),
        _ if p.probes_at_least > 1 => format!("≥{}", p.probes_at_least),
        (Some(n), None) => format!("≥{n}"),
        (None, _) => UNKNOWN.into(),
    }
}

/// Output formats of `kawatch report`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
pub enum Format {
    /// A readable table (not a stable contract).
    #[default]
    Table,
    /// One JSON object, `kawatch_report` version 1.
    Json,
    /// One row per prober (and per flow without one).
    Csv,
    /// JSON Lines, one per classified segment.
    Events,
}

/// A report's flows, in the report's order.
pub enum Flows<'a> {
    /// An analyser's: each flow's view is built where it is written (a JSON
    /// report builds them on its workers, beside the writing).
    Ordered(ReportOrder<'a>),
    /// Views built already, or by the iterator as it goes.
    Views(Box<dyn Iterator<Item = FlowView> + 'a>),
}

impl<'a> Flows<'a> {
    /// Every flow's view, in order, each built when reached.
    pub fn into_views(self) -> Box<dyn Iterator<Item = FlowView> + 'a> {
        match self {
            Flows::Ordered(order) => Box::new(order.into_views()),
            Flows::Views(views) => views,
        }
    }
}

impl std::fmt::Debug for Flows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flows::Ordered(order) => write!(f, "Flows::Ordered({} flows)", order.len()),
            Flows::Views(_) => f.write_str("Flows::Views(..)"),
        }
    }
}

/// Writes the end-of-input report in `format`, streaming `flows` one at a
/// time (events are written as they come with [`write_event`]; for them
/// this writes nothing).
pub fn write_report(
    format: Format,
    totals: &Totals,
    flows: Flows<'_>,
    src: &SourceInfo,
    local: Option<&Local<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(totals, flows.into_views(), src, local, out),
        Format::Json => write_json(totals, flows, src, local, out),
        Format::Csv => write_csv(flows.into_views(), src, local, out),
        Format::Events => Ok(()),
    }
}
