//! `--format json` and `--format events`.

use super::sockets::SocketJson;
use super::summary::{micros, SourceInfo, Totals};
use kawatch_core::Event;
use kawatch_core::Settings;
use kawatch_core::Timestamp;
use kawatch_core::{disagreements, SocketIndex};
use kawatch_core::{FlowView, ProberView};
use serde::ser::SerializeSeq;
use serde::Serialize;
use std::cell::Cell;
use std::io::{self, Write};

/// Version of the JSON report contract.
pub const REPORT_VERSION: u32 = 1;

#[derive(Serialize)]
#[serde(bound = "")]
struct Report<'a, I: Iterator<Item = FlowView>> {
    kawatch_report: u32,
    source: Source<'a>,
    flows: Streamed<'a, I>,
}

/// A sequence serialised straight from an iterator, one element at a time.
struct Streamed<'a, I> {
    flows: Cell<Option<I>>,
    local: Option<&'a Local<'a>>,
}

impl<I: Iterator<Item = FlowView>> Serialize for Streamed<'_, I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for f in self.flows.take().into_iter().flatten() {
            seq.serialize_element(&flow(&f, self.local))?;
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
    fn of(&self, f: &FlowView) -> (Option<SocketJson>, Vec<String>) {
        let mut notes = Vec::new();
        for (end, peer) in [(f.a, f.b), (f.b, f.a)] {
            if let Some(s) = self.index.socket_at(end, peer) {
                let p = f.probers.iter().find(|p| p.endpoint == end);
                for d in disagreements(f, s, p, self.now) {
                    notes.push(format!("{end}: {d}"));
                }
            }
        }
        (self.index.socket_of(f).map(SocketJson::of), notes)
    }
}

#[derive(Serialize)]
struct Source<'a> {
    name: &'a str,
    linktype: &'a str,
    frames: u64,
    tcp_segments: u64,
    undecoded: u64,
    duplicates: u64,
    evicted: u64,
    keepalive_flows_lost: u64,
    truncated: bool,
    truncated_reason: Option<&'a str>,
    interrupted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_drops: Option<u64>,
    first_ts: Option<f64>,
    last_ts: Option<f64>,
}

#[derive(Serialize)]
struct Flow {
    a: String,
    b: String,
    vlan: Vec<u16>,
    first_seen: f64,
    last_seen: f64,
    state: &'static str,
    segments: u64,
    partial: bool,
    zero_window_probes: u32,
    keepalive: Vec<Prober>,
    /// Live reports: the flow's local socket (null when not local).
    #[serde(skip_serializing_if = "Option::is_none")]
    socket: Option<Option<SocketJson>>,
    /// Live reports: where the socket and the wire disagree.
    #[serde(skip_serializing_if = "Option::is_none")]
    disagreements: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Prober {
    prober: String,
    probes_sent: u32,
    probes_answered: u32,
    zero_window_probes: u32,
    idle_s: Option<f64>,
    intvl_s: Option<f64>,
    probes: Option<u32>,
    outcome: &'static str,
    likely: Settings,
    os_defaults: Vec<&'static str>,
    cadence_s: Option<f64>,
    detection_s: Option<f64>,
    first_probe: Option<f64>,
    last_probe: Option<f64>,
}

#[derive(Serialize)]
struct EventLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    frame: u64,
    ts: f64,
    kind: &'static str,
    src: String,
    dst: String,
}

fn ts(t: Timestamp) -> f64 {
    micros(t.as_secs_f64())
}

/// Writes the JSON report (version [`REPORT_VERSION`]), flows streamed.
pub fn write_json(
    totals: &Totals,
    flows: impl Iterator<Item = FlowView>,
    src: &SourceInfo,
    local: Option<&Local<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let c = totals.counters;
    let r = Report {
        kawatch_report: REPORT_VERSION,
        source: Source {
            name: &src.name,
            linktype: &src.linktype,
            frames: c.frames,
            tcp_segments: c.tcp_segments,
            undecoded: c.undecoded,
            duplicates: c.duplicates,
            evicted: c.evicted,
            keepalive_flows_lost: c.keepalive_flows_lost,
            truncated: src.truncated,
            truncated_reason: src.truncated_reason.as_deref(),
            interrupted: src.interrupted,
            kernel_drops: src.kernel_drops,
            first_ts: totals.first_ts.map(ts),
            last_ts: totals.last_ts.map(ts),
        },
        flows: Streamed {
            flows: Cell::new(Some(flows)),
            local,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &r)?;
    writeln!(out)
}

fn flow(f: &FlowView, local: Option<&Local<'_>>) -> Flow {
    let (socket, disagreements) = match local.map(|l| l.of(f)) {
        Some((s, d)) => (Some(s), Some(d)),
        None => (None, None),
    };
    Flow {
        a: f.a.to_string(),
        b: f.b.to_string(),
        vlan: f.vlan.ids().to_vec(),
        first_seen: ts(f.first_seen),
        last_seen: ts(f.last_seen),
        state: f.state.as_str(),
        segments: f.segments,
        partial: f.partial,
        zero_window_probes: f.zero_window_probes,
        keepalive: f.probers.iter().map(prober).collect(),
        socket,
        disagreements,
    }
}

fn prober(p: &ProberView) -> Prober {
    Prober {
        prober: p.endpoint.to_string(),
        probes_sent: p.probes_sent,
        probes_answered: p.probes_answered,
        zero_window_probes: p.zero_window_probes,
        idle_s: p.idle_s.map(micros),
        intvl_s: p.intvl_s.map(micros),
        probes: p.probes,
        outcome: p.outcome.as_str(),
        likely: p.likely,
        os_defaults: p.os_defaults.clone(),
        cadence_s: p.cadence_s.map(micros),
        detection_s: p.detection_s.map(micros),
        first_probe: p.first_probe.map(ts),
        last_probe: p.last_probe.map(ts),
    }
}

/// One event as a JSON value; with `file`, naming the input it came from.
pub fn event_json(ev: &Event, file: Option<&str>) -> serde_json::Value {
    serde_json::to_value(EventLine {
        file,
        frame: ev.frame,
        ts: ts(ev.ts),
        kind: ev.kind.as_str(),
        src: ev.src.to_string(),
        dst: ev.dst.to_string(),
    })
    .expect("event serialises")
}
