//! Report formats over a [`Snapshot`]: JSON and CSV (stable, versioned),
//! a readable table, and JSON Lines events. See docs/report-contract.md.

mod csv;
mod json;
mod table;

pub use self::csv::write_csv;
pub use self::json::{event_json, report_json, REPORT_VERSION};
pub use self::table::write_table;

use crate::analyzer::Event;
use crate::snapshot::Snapshot;
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

/// Writes the end-of-input report in `format` (events are written as they come
/// with [`write_event`]; for them this writes nothing).
pub fn write_report(
    format: Format,
    snap: &Snapshot,
    src: &SourceInfo,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(snap, src, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &report_json(snap, src))?;
            writeln!(out)
        }
        Format::Csv => write_csv(snap, out),
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
