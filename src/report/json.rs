//! `--format json` and `--format events`: the [`types`](super::types)
//! written out, flows streamed one at a time.

use super::summary::{files_of, SourceInfo, Totals};
use super::types::{ts, EventReport, FlowReport, SocketReport, SourceReport, REPORT_VERSION};
use kawatch_core::Timestamp;
use kawatch_core::{disagreements, SocketIndex};
use kawatch_core::{Event, FlowView};
use serde::ser::SerializeSeq;
use serde::Serialize;
use std::cell::Cell;
use std::io::{self, Write};

/// A [`Report`](super::Report) whose flows are serialised straight from an
/// iterator, so a report of a million flows is never held whole.
#[derive(Serialize)]
#[serde(bound = "")]
struct StreamedReport<'a, I: Iterator<Item = FlowView>> {
    kawatch_report: u32,
    source: SourceReport,
    flows: Streamed<'a, I>,
}

/// A sequence serialised straight from an iterator, one element at a time.
struct Streamed<'a, I> {
    flows: Cell<Option<I>>,
    local: Option<&'a Local<'a>>,
    /// The input: the merged inputs' names, the path timeouts.
    info: &'a SourceInfo,
}

impl<I: Iterator<Item = FlowView>> Serialize for Streamed<'_, I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for f in self.flows.take().into_iter().flatten() {
            seq.serialize_element(&flow(&f, self.local, self.info))?;
        }
        seq.end()
    }
}

/// A live report's view of this box's sockets, read when the capture ended.
#[derive(Debug)]
pub struct Local<'a> {
    /// The sockets, by 4-tuple.
    pub index: SocketIndex<'a>,
    /// When they were read (the capture's end).
    pub now: Timestamp,
}

impl Local<'_> {
    /// The flow's local socket, and where each local side's socket and the
    /// wire disagree (`ip:port: what`).
    fn of(&self, f: &FlowView) -> (Option<SocketReport>, Vec<String>) {
        let mut notes = Vec::new();
        for (end, peer) in [(f.a, f.b), (f.b, f.a)] {
            if let Some(s) = self.index.socket_at(end, peer) {
                let p = f.probers.iter().find(|p| p.endpoint == end);
                for d in disagreements(f, s, p, self.now) {
                    notes.push(format!("{end}: {d}"));
                }
            }
        }
        (self.index.socket_of(f).map(SocketReport::of), notes)
    }
}

/// What a report says of its input.
pub(crate) fn source_report(totals: &Totals, src: &SourceInfo) -> SourceReport {
    let c = totals.counters;
    SourceReport {
        name: src.name.clone(),
        linktype: src.linktype.clone(),
        frames: c.frames,
        tcp_segments: c.tcp_segments,
        undecoded: c.undecoded,
        duplicates: c.duplicates,
        evicted: c.evicted,
        keepalive_flows_lost: c.keepalive_flows_lost,
        truncated: src.truncated,
        truncated_reason: src.truncated_reason.clone(),
        interrupted: src.interrupted,
        kernel_drops: src.kernel_drops,
        first_ts: totals.first_ts.map(ts),
        last_ts: totals.last_ts.map(ts),
    }
}

/// Writes the JSON report (version [`REPORT_VERSION`]), flows streamed.
pub fn write_json(
    totals: &Totals,
    flows: impl Iterator<Item = FlowView>,
    src: &SourceInfo,
    local: Option<&Local<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let r = StreamedReport {
        kawatch_report: REPORT_VERSION,
        source: source_report(totals, src),
        flows: Streamed {
            flows: Cell::new(Some(flows)),
            local,
            info: src,
        },
    };
    // Serialised through a buffer of its own: serde writes in many small
    // pieces, each a call through `dyn Write` otherwise.
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut w, &r)?;
    writeln!(w)?;
    w.flush()
}

/// A flow as the report writes it: with its socket in a live report, when
/// several inputs are read as one the ones it was seen in, and judged
/// against the input's path timeouts.
pub(crate) fn flow(f: &FlowView, local: Option<&Local<'_>>, info: &SourceInfo) -> FlowReport {
    let mut report = FlowReport::of(f);
    if info.inputs.len() > 1 {
        report.files = files_of(f.inputs, &info.inputs);
    }
    if let Some((socket, notes)) = local.map(|l| l.of(f)) {
        // A local socket's exact idle beats the wire's likely one (one the
        // kernel's timer suggests is an estimate, and does not count: as on
        // the live screen).
        let exact = socket
            .iter()
            .filter(|s| s.keepalive == Some(true))
            .filter(|s| s.settings_from == Some(kawatch_core::SettingsFrom::Socket))
            .filter_map(|s| {
                kawatch_core::keepalive_silence_s(
                    s.idle_s.map(f64::from),
                    s.intvl_s.map(f64::from),
                    None,
                )
            })
            .reduce(f64::min);
        if let Some(idle) = exact {
            let allowed = report.silence.allowed_s.map_or(idle, |a| a.min(idle));
            report.silence.allowed_s = Some(allowed);
        }
        report.socket = Some(socket);
        report.disagreements = Some(notes);
    }
    report.judge(&info.paths);
    report
}

/// Writes one event as a JSON line; with `file`, naming the input it came
/// from (several are read).
pub fn write_event(ev: &Event, file: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &EventReport::of(ev, file))?;
    writeln!(out)
}
