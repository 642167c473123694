//! `--format json` and `--format events`: the [`types`](super::types)
//! written out, flows streamed one at a time.

use super::summary::{files_of, micros, SourceInfo, Totals};
use super::types::{
    ts, EventReport, FlowReport, SocketReport, SourceReport, Spare, REPORT_VERSION,
};
use super::Flows;
use kawatch_core::Timestamp;
use kawatch_core::{disagreements, SocketIndex};
use kawatch_core::{Event, FlowView, Outcome, TcpState};
use serde::Serialize;
use std::io::{self, Write};
use std::sync::mpsc::sync_channel;

/// The report's head: all of a [`Report`](super::Report) but its flows,
/// which follow it streamed.
#[derive(Serialize)]
struct Head {
    kawatch_report: u32,
    source: SourceReport,
}

/// Flows one worker turns into JSON at a time.
const FLOWS_PER_BATCH: usize = 64;

/// A live report's view of this box's sockets, read when the capture ended.
#[derive(Debug)]
pub struct Local<'a> {
    /// The sockets, by 4-tuple.
    pub index: SocketIndex<'a>,
    /// When they were read (the capture's end).
    pub now: Timestamp,
}

impl Local<'_> {
    /// The flow's local socket, the other end's when both are this box's
    /// ([`SocketIndex::sockets_of`]), and where each local side's socket and
    /// the wire disagree (`ip:port: what`).
    fn of(&self, f: &FlowView) -> (Option<SocketReport>, Option<SocketReport>, Vec<String>) {
        let mut notes = Vec::new();
        for (end, peer) in [(f.a, f.b), (f.b, f.a)] {
            if let Some(s) = self.index.socket_at(end, peer) {
                let p = f.probers.iter().find(|p| p.endpoint == end);
                for d in disagreements(f, s, p, self.now) {
                    notes.push(format!("{end}: {d}"));
                }
            }
        }
        let (socket, peer) = self.index.sockets_of(f);
        (
            socket.map(SocketReport::of),
            peer.map(SocketReport::of),
            notes,
        )
    }
}

/// What a report says of its input.
pub(crate) fn source_report(totals: &Totals, src: &SourceInfo) -> SourceReport {
    let c = totals.counters;
    SourceReport {
        name: src.name.clone(),
        files: src.inputs.clone(),
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

/// Writes the JSON report (version [`REPORT_VERSION`]), flows streamed:
/// byte for byte what `serde_json::to_writer_pretty` writes of the whole
/// [`Report`](super::Report), and a newline.
///
/// The flows are turned into JSON in batches on every core but one's share
/// (the report of a large capture is mostly this), and written in order
/// as they come back; at most two batches a worker are in flight, so a
/// report of a million flows is never held whole. An analyser's flows
/// ([`Flows::Ordered`]) have their views built by the workers too.
pub fn write_json(
    totals: &Totals,
    flows: Flows<'_>,
    src: &SourceInfo,
    local: Option<&Local<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let head = Head {
        kawatch_report: REPORT_VERSION,
        source: source_report(totals, src),
    };
    let mut text = serde_json::to_vec_pretty(&head)?;
    // The flows go where the head's closing brace was.
    text.truncate(text.len() - b"\n}".len());
    text.extend_from_slice(b",\n  \"flows\": [");
    out.write_all(&text)?;
    // Every flow's text starts ",\n    "; the first one's without the comma.
    let mut first = true;
    let mut write = |chunk: &[u8]| {
        let chunk = if std::mem::take(&mut first) {
            &chunk[1..]
        } else {
            chunk
        };
        out.write_all(chunk)
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    match flows {
        Flows::Ordered(order) => {
            let n = order.len();
            let batches = (0..n)
                .step_by(FLOWS_PER_BATCH)
                .map(|lo| lo..(lo + FLOWS_PER_BATCH).min(n));
            let json = |batch: std::ops::Range<usize>, text: &mut Vec<u8>| {
                flows_json(batch.filter_map(|i| order.view(i)), local, src, text);
            };
            in_batches(batches, workers, &json, &mut write)?;
        }
        Flows::Views(mut views) => {
            let batches = std::iter::from_fn(|| {
                let batch: Vec<FlowView> = views.by_ref().take(FLOWS_PER_BATCH).collect();
                (!batch.is_empty()).then_some(batch)
            });
            let json = |batch: Vec<FlowView>, text: &mut Vec<u8>| {
                flows_json(batch.into_iter(), local, src, text);
            };
            in_batches(batches, workers, &json, &mut write)?;
        }
    }
    out.write_all(if first { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
    out.flush()
}

/// Turns each batch into JSON with `json`, on `workers` threads (batch `k`
/// on worker `k % workers`; on this thread when there is one), and hands
/// the texts to `write` in the batches' order.
fn in_batches<B: Send>(
    mut batches: impl Iterator<Item = B>,
    workers: usize,
    json: &(dyn Fn(B, &mut Vec<u8>) + Sync),
    write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    if workers < 2 {
        let mut text = Vec::new();
        for batch in batches {
            text.clear();
            json(batch, &mut text);
            write(&text)?;
        }
        return Ok(());
    }
    std::thread::scope(|s| {
        let mut to = Vec::with_capacity(workers);
        let mut from = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (batch_tx, batch_rx) = sync_channel::<B>(2);
            let (text_tx, text_rx) = sync_channel::<Vec<u8>>(2);
            s.spawn(move || {
                for batch in batch_rx {
                    let mut text = Vec::with_capacity(FLOWS_PER_BATCH * 1536);
                    json(batch, &mut text);
                    if text_tx.send(text).is_err() {
                        break; // The writer stopped (a write failed).
                    }
                }
            });
            to.push(batch_tx);
            from.push(text_rx);
        }
        let (mut sent, mut written) = (0, 0);
        let mut more = true;
        loop {
            while more && sent < written + 2 * workers {
                let Some(batch) = batches.next() else {
                    more = false;
                    break;
                };
                to[sent % workers]
                    .send(batch)
                    .map_err(|_| io::Error::other("a report worker stopped"))?;
                sent += 1;
            }
            if written == sent {
                return Ok(());
            }
            let text = from[written % workers]
                .recv()
                .map_err(|_| io::Error::other("a report worker stopped"))?;
            write(&text)?;
            written += 1;
        }
    })
}

/// Appends each flow's JSON to `text`, each after ",\n" and at the depth
/// of the report's flows (two levels in).
fn flows_json(
    flows: impl Iterator<Item = FlowView>,
    local: Option<&Local<'_>>,
    src: &SourceInfo,
    text: &mut Vec<u8>,
) {
    let mut writer = super::pretty::FlowWriter::default();
    let mut spare = Spare::default();
    for f in flows {
        text.extend_from_slice(b",\n    ");
        let report = flow_in(&f, local, src, spare);
        writer.flow(text, 2, &report);
        spare = report.into_spare();
    }
}

/// serde_json's pretty layout (two spaces a level) starting `depth`
/// levels in, so a part of a document is written as the whole would
/// write it.
pub(crate) struct Indented {
    depth: usize,
    has_value: bool,
}

impl Indented {
    pub(crate) fn at(depth: usize) -> Indented {
        Indented {
            depth,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W, comma: bool) -> io::Result<()> {
        const SPACES: &[u8] = b"                                ";
        w.write_all(if comma { b",\n" } else { b"\n" })?;
        let mut n = self.depth * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            w.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, false)?;
        }
        w.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// A flow as the report writes it: with its socket in a live report, when
/// several inputs are read as one the ones it was seen in, and judged
/// against the input's path timeouts.
pub(crate) fn flow(f: &FlowView, local: Option<&Local<'_>>, info: &SourceInfo) -> FlowReport {
    flow_in(f, local, info, Spare::default())
}

/// As [`flow`], in an earlier report's allocations.
fn flow_in(f: &FlowView, local: Option<&Local<'_>>, info: &SourceInfo, spare: Spare) -> FlowReport {
    // Judged once, at the end, against the input's paths.
    let mut report = FlowReport::unjudged_in(f, spare);
    if info.inputs.len() > 1 {
        report.files = files_of(f.inputs, &info.inputs);
    }
    if let Some((socket, peer, notes)) = local.map(|l| l.of(f)) {
        report.socket = Some(socket);
        report.peer_socket = peer;
        report.disagreements = Some(notes);
        // A side whose socket has keepalive off now (turned off since it
        // probed) keeps nothing alive any more, whatever the wire showed.
        if f.probers
            .iter()
            .any(|p| report.keepalive_off_at(p.endpoint))
        {
            let kept = FlowView {
                probers: f
                    .probers
                    .iter()
                    .filter(|p| !report.keepalive_off_at(p.endpoint))
                    .cloned()
                    .collect(),
                ..f.clone()
            };
            report.silence.allowed_s = kawatch_core::allowed_silence_s(&kept).map(micros);
        }
        // A local socket's exact idle beats the wire's likely one (one the
        // kernel's timer suggests is an estimate, and does not count: as on
        // the live screen); on loopback, either end's.
        let exact = report
            .local_sockets()
            .filter(|s| s.settings_from == Some(kawatch_core::SettingsFrom::Socket))
            .filter_map(SocketReport::keeps_silence_s)
            .reduce(f64::min);
        if let Some(idle) = exact {
            let allowed = report.silence.allowed_s.map_or(idle, |a| a.min(idle));
            report.silence.allowed_s = Some(allowed);
        }
    }
    // Live, a connection still open when the capture ended has been silent
    // since its last segment, a silence under way that counts (as on the
    // screen): a path drops it all the same. (A file's end says nothing of
    // what came after.)
    if let Some(l) = local {
        let open = f.state == TcpState::Established
            && !f
                .probers
                .iter()
                .any(|p| matches!(p.outcome, Outcome::Dead | Outcome::Reset))
            && !report.local_sockets().any(|s| s.state == "close");
        let under_way = (l.now - f.last_seen).as_secs_f64();
        if open && under_way > report.silence.longest_s {
            report.silence.longest_s = micros(under_way);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use kawatch_core::{Endpoint, Vlan};

    /// A live report counts the silence under way at the capture's end of
    /// a connection still open, not of one closed (found by a live review:
    /// 47 s silent, reported 0.0001 s and "at risk, no silence longer than
    /// a timeout yet"); a file's report counts only the gaps it saw.
    #[test]
    fn a_live_silence_under_way_counts() {
        let ep = |p| Endpoint::new([198, 18, 0, 1].into(), p);
        let f = |state| FlowView {
            a: ep(40000),
            b: ep(5044),
            vlan: Vlan::default(),
            first_seen: Timestamp::from_secs_f64(100.0),
            last_seen: Timestamp::from_secs_f64(103.0),
            last_data: None,
            state,
            segments: 4,
            partial: false,
            longest_silence_s: 0.0001,
            inputs: 0,
            zero_window_probes: 0,
            fin: [false; 2],
            probers: Vec::new(),
            heartbeats: Vec::new(),
        };
        let info = SourceInfo {
            paths: vec![kawatch_core::PathTimeout::parse("corp=10s").unwrap()],
            ..SourceInfo::default()
        };
        let live = Local {
            index: SocketIndex::new(&[]),
            now: Timestamp::from_secs_f64(150.0),
        };
        let open = flow(&f(TcpState::Established), Some(&live), &info);
        assert_eq!(open.silence.longest_s, 47.0);
        assert_eq!(open.path[0].verdict, kawatch_core::PathVerdict::Exceeded);
        let closed = flow(&f(TcpState::Closed), Some(&live), &info);
        assert_eq!(closed.silence.longest_s, 0.0001);
        let file = flow(&f(TcpState::Established), None, &info);
        assert_eq!(file.silence.longest_s, 0.0001);
    }

    /// A prober whose socket on this box has keepalive off now (turned off
    /// since it probed) keeps nothing alive any more: a live report allows
    /// no silence for it, and its table says nothing keeps it (both kept the
    /// wire's keepalive; found by a live review).
    #[test]
    fn keepalive_turned_off_since_keeps_nothing_alive() {
        use kawatch_core::{Analyzer, KeepaliveSettings, KernelTimer, LinkType, LocalSocket};
        use kawatch_core::{SettingsFrom, SocketState, TimerKind};
        let case = kawatch_synth::cases::by_file_name("alive.pcap").unwrap();
        let mut an = Analyzer::new(LinkType::Ethernet);
        for fr in (case.build)().frames() {
            an.ingest_frame_with_len(fr.ts, &fr.data, fr.orig_len);
        }
        let f = an.flow_views().next().unwrap();
        let p = &f.probers[0];
        let off = LocalSocket {
            local: p.endpoint,
            remote: p.peer,
            state: SocketState::Established,
            inode: 1,
            uid: 0,
            owner: None,
            timer: KernelTimer {
                kind: TimerKind::None,
                expires_ms: 0,
                probes_out: 0,
            },
            keepalive: KeepaliveSettings {
                on: Some(false),
                from: Some(SettingsFrom::Socket),
                ..KeepaliveSettings::default()
            },
            last_data_recv_ms: None,
            last_data_sent_ms: None,
            last_ack_recv_ms: None,
            unacked: None,
        };
        let sockets = [off];
        let live = Local {
            index: SocketIndex::new(&sockets),
            now: f.last_seen,
        };
        let info = SourceInfo::default();
        assert!(flow(&f, None, &info).silence.allowed_s.is_some());
        let report = flow(&f, Some(&live), &info);
        assert_eq!(report.silence.allowed_s, None, "{report:?}");
    }
}
