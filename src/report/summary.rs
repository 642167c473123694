//! What every report format says besides its flows: the input and the totals.

use kawatch_core::{Analyzer, Counters, PathTimeout, Timestamp};

/// What the report says of its input, and the path timeouts its flows are
/// judged against.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    /// Path, `-`, or `interface:IF`.
    pub name: String,
    /// libpcap's link-type name.
    pub linktype: String,
    /// The input could not be read to its end: it ended mid-record, or a
    /// record after the first could not be read. The frames before count.
    pub truncated: bool,
    /// Why, when `truncated` (e.g. `unreadable after packet 13: invalid
    /// packet capture length ...`).
    pub truncated_reason: Option<String>,
    /// The read of a file or standard input was stopped (Ctrl-C) before its
    /// end. Never set for a live capture, which Ctrl-C ends normally.
    pub interrupted: bool,
    /// Live capture: packets the kernel dropped.
    pub kernel_drops: Option<u64>,
    /// Several inputs are read: rows (CSV, events) name theirs.
    pub name_rows: bool,
    /// This report follows another in the same output (several inputs,
    /// one report each): the CSV header is not written again, a table is
    /// set apart by a blank line.
    pub continues: bool,
    /// Several inputs read as one (`--merge`): their names, so that each
    /// flow names the ones it was seen in ([`kawatch_core::FlowView::inputs`]).
    pub inputs: Vec<String>,
    /// The path timeouts each flow is judged against (default:
    /// [`PathTimeout::defaults`]).
    pub paths: Vec<PathTimeout>,
}

impl Default for SourceInfo {
    fn default() -> SourceInfo {
        SourceInfo {
            name: String::new(),
            linktype: String::new(),
            truncated: false,
            truncated_reason: None,
            interrupted: false,
            kernel_drops: None,
            name_rows: false,
            continues: false,
            inputs: Vec::new(),
            paths: PathTimeout::defaults(),
        }
    }
}

impl SourceInfo {
    /// The input each row names: the merged inputs a flow was seen in
    /// (joined with `+`), or the one input.
    pub(crate) fn row_name(&self, inputs: u32) -> String {
        if self.inputs.len() < 2 {
            return self.name.clone();
        }
        files_of(inputs, &self.inputs).join("+")
    }
}

/// The names of the inputs whose bits are set in `inputs`.
pub(crate) fn files_of(inputs: u32, names: &[String]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .filter(|&(i, _)| inputs & (1 << i.min(31)) != 0)
        .map(|(_, n)| n.clone())
        .collect()
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

/// Seconds rounded to the microsecond (what an f64 epoch timestamp can hold).
pub(crate) fn micros(secs: f64) -> f64 {
    (secs * 1e6).round() / 1e6
}
