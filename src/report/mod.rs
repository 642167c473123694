//! Report formats over the analyser's flows, streamed: JSON and CSV (stable, versioned),
//! a readable table, and JSON Lines events. See docs/report-contract.md.

mod csv;
mod json;
mod table;

pub use self::csv::write_csv;
pub use self::json::{event_json, write_json, REPORT_VERSION};
pub use self::table::write_table;

use crate::analyzer::{Analyzer, Counters, Event};
use crate::snapshot::flow_views;
use crate::time::Timestamp;
use std::io::{self, Write};

/// Output formats of `kawatch report`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
pub enum Format {
    /// A readable table (not a stable contract).
    #[default]
    Table,
    /// One JSON object, `kawatch_report` version 1.
    Json,
    /// One row per prober.
    Csv,
    /// JSON Lines, one per classified segment.
    Events,
}

/// What the report says of its input.
#[derive(Clone, Debug, Default)]
pub struct SourceInfo {
    /// Path, `-`, or `interface:IF`.
    pub name: String,
    /// libpcap's link-type name.
    pub linktype: String,
    /// The input ended mid-record.
    pub truncated: bool,
    /// Live capture: packets the kernel dropped.
    pub kernel_drops: Option<u64>,
}

/// Totals a report prints besides its flows.
#[derive(Clone, Copy, Debug)]
pub struct Totals {
    /// Frame counts.
    pub counters: Counters,
    /// First capture timestamp.
    pub first_ts: Option<Timestamp>,
    /// Last capture timestamp.
    pub last_ts: Option<Timestamp>,
}

impl Totals {
    /// The totals of an analyser.
    pub fn of(an: &Analyzer) -> Totals {
        let (first_ts, last_ts) = an.time_range();
        Totals {
            counters: an.counters(),
            first_ts,
            last_ts,
        }
    }
}

/// Writes the end-of-input report in `format`, streaming flows one at a time
/// (events are written as they come with [`write_event`]; for them this
/// writes nothing).
pub fn write_report(
    format: Format,
    an: &Analyzer,
    src: &SourceInfo,
    out: &mut dyn Write,
) -> io::Result<()> {
    let totals = Totals::of(an);
    let flows = flow_views(an);
    match format {
        Format::Table => write_table(&totals, flows, src, out),
        Format::Json => write_json(&totals, flows, src, out),
        Format::Csv => write_csv(flows, out),
        Format::Events => Ok(()),
    }
}

/// Writes one event as a JSON line.
pub fn write_event(ev: &Event, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &event_json(ev))?;
    writeln!(out)
}

/// Seconds rounded to the microsecond (what an f64 epoch timestamp can hold).
pub(crate) fn micros(secs: f64) -> f64 {
    (secs * 1e6).round() / 1e6
}
