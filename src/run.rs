//! The report shell: drive a [`FrameSource`] through the [`Analyzer`] and write a
//! report. File and live reports share it; the TUI has its own shell.

use crate::capture::LeftOut;
use crate::capture::SocketFilter;
use crate::capture::{
    one_core, read_ahead, read_batched, Ahead, CaptureError, Decode, Fed, FrameSource, Next,
};
use crate::report::{
    flow_report, source_report, write_event, write_report, Flows, Format, Labeller, Local, Report,
    SourceInfo, Totals, REPORT_VERSION,
};
use kawatch_core::Timestamp;
use kawatch_core::{with_sockets_where, Endpoint, LocalSocket, SocketIndex};
use kawatch_core::{Analyzer, Limits, PathTimeout};
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::capture::wall_clock;
use thiserror::Error;

/// Why a report could not be produced.
#[derive(Debug, Error)]
pub enum RunError {
    /// Reading the capture failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Writing the report failed.
    #[error("writing the report")]
    Output(#[from] io::Error),
    /// Writing the labelled frames (`-w`) failed.
    #[error("writing the labelled frames")]
    Frames(#[source] io::Error),
}

/// How to run a report.
#[derive(Debug)]
pub struct RunOptions<'a> {
    /// Output format.
    pub format: Format,
    /// Stop a live capture after this long.
    pub duration: Option<Duration>,
    /// Set (e.g. by Ctrl-C) to stop reading early and still report.
    pub stop: Option<&'a AtomicBool>,
    /// Draw a progress bar on stderr for a file of this many bytes.
    pub progress_bytes: Option<u64>,
    /// Flow-table bounds.
    pub limits: Limits,
    /// Live: read this box's sockets beside the capture.
    pub local_sockets: bool,
    /// Stop after this many frames (those the filter and the time window
    /// let through), as `tcpdump -c`.
    pub count: Option<u64>,
    /// Only frames at or after this time.
    pub since: Option<Timestamp>,
    /// Only frames at or before this time.
    pub until: Option<Timestamp>,
    /// `-w`: collect the keepalive-related frames, labelled.
    pub labeller: Option<&'a mut Labeller>,
    /// `--format events`: flushed after each frame's events, as `tcpdump
    /// -l` (always, live).
    pub line_buffered: bool,
    /// Name the input in each row (events, CSV): several inputs are read.
    pub name_rows: bool,
    /// This report follows another in the same output (see
    /// [`SourceInfo::continues`]).
    pub continues: bool,
    /// The path timeouts each flow is judged against.
    pub paths: Vec<PathTimeout>,
    /// Leave the flow table to the process's exit rather than freeing it
    /// flow by flow (a process that reports once and exits).
    pub no_teardown: bool,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            format: Format::default(),
            duration: None,
            stop: None,
            progress_bytes: None,
            limits: Limits::default(),
            local_sockets: false,
            count: None,
            since: None,
            until: None,
            labeller: None,
            line_buffered: false,
            name_rows: false,
            continues: false,
            paths: PathTimeout::defaults(),
            no_teardown: false,
        }
    }
}

/// How often a live report reads this box's sockets.
const SOCKETS_EVERY: Duration = Duration::from_secs(1);

/// Reads this box's sockets every second on a thread of its own (the /proc
/// walk must not hold up the capture), keeping each connection's last
/// reading, at most `max` of them.
struct SocketPoller {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Result<LastSeen, String>>,
    /// The capture's filter and interface: which sockets become flows of
    /// their own.
    filter: Option<String>,
    interface: Option<String>,
}

/// Each connection's last reading, by (local, remote).
type LastSeen = HashMap<(Endpoint, Endpoint), LocalSocket>;

impl SocketPoller {
    /// Reads the sockets every [`SOCKETS_EVERY`], at most `max`; `filter`
    /// and `interface` are the capture's ([`SocketFilter::for_capture`]).
    fn start(max: usize, filter: Option<String>, interface: Option<String>) -> SocketPoller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let poll = move || {
            let mut last = LastSeen::new();
            // `at_stop`: the last reading, whose missing connections closed
            // during the capture; their earlier readings say so, settings kept.
            let mut read = |at_stop: bool| -> Result<(), String> {
                let l = crate::sockets::list().map_err(|e| e.to_string())?;
                let mut listed = std::collections::HashSet::new();
                for mut s in l.sockets.into_iter().chain(l.listening) {
                    let key = (s.local, s.remote);
                    listed.insert(key);
                    if let Some(earlier) = last.get(&key) {
                        s.carry_over(earlier);
                    }
                    if last.len() < max || last.contains_key(&key) {
                        last.insert(key, s);
                    }
                }
                if at_stop {
                    for (key, s) in &mut last {
                        if !listed.contains(key) {
                            *s = s.gone();
                        }
                    }
                }
                Ok(())
            };
            loop {
                read(false)?;
                let until = Instant::now() + SOCKETS_EVERY;
                while Instant::now() < until {
                    if flag.load(Ordering::Relaxed) {
                        // One last reading, at the stop.
                        read(true)?;
                        return Ok(last);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        // SIGINT blocked: Ctrl-C is for the capture's reader, and must not
        // interrupt this thread's netlink reads instead.
        let handle = crate::capture::without_sigint(|| std::thread::spawn(poll));
        SocketPoller {
            stop,
            handle,
            filter,
            interface,
        }
    }

    /// Takes the last reading and hands every socket seen, and those the
    /// capture's filter leaves out.
    fn finish(self) -> Result<(Vec<LocalSocket>, LeftOut), String> {
        self.stop.store(true, Ordering::Relaxed);
        let last = self
            .handle
            .join()
            .map_err(|_| "the socket reader panicked".to_owned())??;
        let mut v: Vec<LocalSocket> = last.into_values().collect();
        v.sort_by_key(|s| (s.local, s.remote));
        let out = SocketFilter::for_capture(self.filter.as_deref(), self.interface.as_deref())
            .left_out(&v);
        Ok((v, out))
    }
}

/// What happened besides the report itself.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// Non-fatal problems to warn about: the input was cut off mid-packet,
    /// a record could not be read, or the read was interrupted; flows with
    /// keepalives were lost to the flow table's bounds.
    pub warnings: Vec<String>,
    /// Frames read.
    pub frames: u64,
    /// The read of a file or standard input was stopped (Ctrl-C) before
    /// its end.
    pub interrupted: bool,
}

/// Reads `src` to its end (or the duration, or `stop`), writing events as they
/// are decided and the report at the end.
///
/// A file that cannot be read to its end (cut off mid-packet, or a record
/// libpcap refuses after the first) still gives the report of the frames read
/// before, marked `truncated` with the reason and a warning. A file or stdin
/// read that `stop` ends early is reported as read so far, marked
/// `interrupted`; for a live capture, `stop` is the normal end.
pub fn run_report(
    src: &mut dyn FrameSource,
    opts: RunOptions<'_>,
    out: &mut dyn Write,
) -> Result<RunSummary, RunError> {
    let format = opts.format;
    let no_teardown = opts.no_teardown;
    let mut read = read_capture(src, opts, out)?;
    let totals = Totals::of(&read.an);
    let local = read.local();
    write_report(
        format,
        &totals,
        read.flows(),
        &read.info,
        local.as_ref(),
        out,
    )?;
    out.flush()?;
    read.print_stats();
    let summary = std::mem::take(&mut read.summary);
    if no_teardown {
        std::mem::forget(read);
    }
    Ok(summary)
}

/// Reads `src` as [`run_report`] does, and gives the report as a value
/// ([`Report`]) instead of writing it: what `kawatch check` evaluates, and
/// what a Rust test reads.
pub fn analyse(
    src: &mut dyn FrameSource,
    opts: RunOptions<'_>,
) -> Result<(Report, RunSummary), RunError> {
    let read = read_capture(
        src,
        RunOptions {
            format: Format::Table,
            ..opts
        },
        &mut io::sink(),
    )?;
    read.print_stats();
    Ok((read.report(), read.summary))
}

/// A capture read to its end (or its stop).
struct Read {
    an: Analyzer,
    info: SourceInfo,
    /// Live: this box's sockets, as last read.
    sockets: Option<Vec<LocalSocket>>,
    /// Live: those the capture's filter leaves out.
    left_out: LeftOut,
    /// Live: the kernel's counts.
    stats: Option<crate::capture::Stats>,
    summary: RunSummary,
}

impl Read {
    /// The sockets as the report matches them to flows.
    fn local(&self) -> Option<Local<'_>> {
        self.sockets.as_deref().map(|s| Local {
            index: SocketIndex::new(s),
            now: wall_clock(),
        })
    }

    /// The report's flows: a file's from the analyser, each view built as
    /// it is written; a live capture's with this box's connections the
    /// wire has not shown.
    fn flows(&self) -> Flows<'_> {
        match &self.sockets {
            Some(sockets) => Flows::Views(Box::new(
                with_sockets_where(self.an.snapshot(wall_clock()), sockets.clone(), |s| {
                    !self.left_out.contains(&(s.local, s.remote))
                })
                .flows
                .into_iter(),
            )),
            None => Flows::Ordered(self.an.report_order()),
        }
    }

    /// The report as a value.
    fn report(&self) -> Report {
        let local = self.local();
        Report {
            kawatch_report: REPORT_VERSION,
            source: source_report(&Totals::of(&self.an), &self.info),
            flows: self
                .flows()
                .into_views()
                .map(|f| flow_report(&f, local.as_ref(), &self.info))
                .collect(),
        }
    }

    /// Live: the kernel's counts, as tcpdump says them, so the same checks
    /// read both.
    fn print_stats(&self) {
        if let Some(stats) = self.stats {
            to_stderr!("{} packets captured", self.summary.frames);
            to_stderr!("{} packets received by filter", stats.received);
            to_stderr!(
                "{} packets dropped by kernel",
                stats.dropped as u64 + stats.if_dropped as u64
            );
        }
    }
}

/// The reading loop of [`run_report`] and [`analyse`]: events are written to
/// `out` as they are decided (`--format events`).
fn read_capture(
    src: &mut dyn FrameSource,
    opts: RunOptions<'_>,
    out: &mut dyn Write,
) -> Result<Read, RunError> {
    let mut an = Analyzer::with_limits(src.link_type(), opts.limits);
    // A report shows no prober's timeline (the live screen's detail view
    // does): about 150 bytes a prober not spent.
    an.keep_timelines(false);
    let started = Instant::now();
    let mut summary = RunSummary::default();
    let stopped = || opts.stop.is_some_and(|s| s.load(Ordering::Relaxed));
    if src.is_live() {
        let interface = src.name().trim_start_matches("interface:");
        to_stderr!(
            "kawatch: listening on {interface}, link-type {}; Ctrl-C to stop",
            src.link_name()
        );
    }
    let poller = (src.is_live() && opts.local_sockets).then(|| {
        SocketPoller::start(
            opts.limits.max_flows,
            src.capture_filter().map(str::to_owned),
            src.capture_interface().map(str::to_owned),
        )
    });
    let live = src.is_live();
    let mut truncated_reason = None;
    let mut interrupted = false;
    let progress = opts.progress_bytes.map(progress_bar);
    // Bytes consumed, estimated from record headers and captured lengths.
    let mut consumed: u64 = 24;
    let mut stopping = false;
    let mut labeller = opts.labeller;
    let labeller_none = labeller.is_none();
    if let Some(l) = labeller.as_deref_mut() {
        l.start_input(src.name()).map_err(RunError::Frames)?;
    }
    let row_name = opts.name_rows.then(|| src.name().to_string());
    // Several inputs merged: each frame's input (a byte each), so an event
    // names the file of the frame it is about, even when decided later.
    let names = src.input_names();
    let mut frame_inputs: Vec<u8> = Vec::new();
    let in_window = |ts: Timestamp| {
        opts.since.is_none_or(|since| ts >= since) && opts.until.is_none_or(|until| ts <= until)
    };
    // A file whose frames need nothing but analysing: no count, time
    // limit or window, merged inputs, labels or events (a progress bar
    // moves a batch at a time).
    let plain = !live
        && opts.count.is_none()
        && opts.duration.is_none()
        && names.len() <= 1
        && opts.since.is_none()
        && opts.until.is_none()
        && labeller_none
        && opts.format != Format::Events;
    let mut read_all = |frames: &mut Frames<'_, '_>| -> Result<(), RunError> {
        loop {
            if !stopping && (stopped() || opts.duration.is_some_and(|d| started.elapsed() >= d)) {
                if !live {
                    interrupted = true;
                    break;
                }
                // Read on to the stop point: everything the kernel accepted
                // before now, and nothing after.
                frames.stop();
                stopping = true;
            }
            if opts.count.is_some_and(|c| an.counters().frames >= c) {
                break;
            }
            let next = match frames {
                // Nothing to do per frame but analyse it: the frames go
                // in a batch at a time (the stop is checked before each).
                Frames::Ahead(a) if plain => match a.ingest_batch(&mut an, stopped) {
                    Ok(Fed::Batch { bytes } | Fed::Stopped { bytes }) => {
                        consumed += bytes;
                        if let Some(bar) = &progress {
                            bar.set_position(consumed);
                        }
                        continue;
                    }
                    Ok(Fed::End) => Ok(Next::End),
                    Err(e) => Err(e),
                },
                _ => frames.next_frame(),
            };
            match next {
                Ok(Next::Frame(f)) => {
                    consumed += 16 + f.captured() as u64;
                    if let Some(bar) = &progress {
                        if an.counters().frames.is_multiple_of(8192) {
                            bar.set_position(consumed);
                        }
                    }
                    if names.len() > 1 {
                        // Merged frames are numbered in the merged stream,
                        // those the filter left out too (no event is of one).
                        let skipped = usize::try_from(f.skipped).unwrap_or(usize::MAX);
                        frame_inputs.extend(std::iter::repeat_n(u8::MAX, skipped));
                        frame_inputs.push(u8::try_from(f.input).unwrap_or(u8::MAX));
                    }
                    if !in_window(f.ts) {
                        an.skip_frames(f.skipped + 1);
                        continue;
                    }
                    let number = an.next_frame_number() + f.skipped;
                    let events = f.ingest(&mut an);
                    if let Some(l) = labeller.as_deref_mut() {
                        l.label(number, &f, events);
                    }
                    if opts.format == Format::Events {
                        for ev in events {
                            let file = match frame_inputs.get((ev.frame as usize).wrapping_sub(1)) {
                                Some(&i) => names.get(usize::from(i)).map(String::as_str),
                                None => row_name.as_deref(),
                            };
                            write_event(ev, file, out)?;
                        }
                        // Live, an event is news: out now, not when a
                        // buffer fills or the capture ends.
                        if (live || opts.line_buffered) && !events.is_empty() {
                            out.flush()?;
                        }
                    }
                    if let Some(l) = labeller.as_deref_mut() {
                        l.analysed(number, &f, &an, live.then_some(f.ts))
                            .map_err(RunError::Frames)?;
                    }
                }
                Ok(Next::Timeout) => {
                    // Live and quiet: what is settled goes out, and what waits
                    // for an undecided frame waits no more than LIVE_WAIT.
                    if let Some(l) = labeller.as_deref_mut() {
                        l.quiet(&an, wall_clock()).map_err(RunError::Frames)?;
                    }
                }
                Ok(Next::End) => break,
                // Ctrl-C interrupted a read waiting on a pipe (EINTR): whatever
                // libpcap made of it, the read was stopped, not the input bad.
                Err(_) if !live && stopped() => {
                    interrupted = true;
                    break;
                }
                Err(e) if e.is_partial() => {
                    truncated_reason = e.partial_reason();
                    summary.warnings.push(e.to_string());
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    };
    // A file is read on a second thread while this one analyses (not a pipe,
    // whose read Ctrl-C must interrupt here, nor a live capture: on this
    // 2-core VM a reader thread doubled kawatch's CPU per packet at 100k
    // packets/s, 3.8-4.4 to 7.2-8.6 µs, and took the sender's core; the
    // kernel's ring is the live buffer). Segments decoded there, unless the
    // frames are written out (--write). On one core, in batches all the
    // same, on this thread. Not with a frame count: the count is exact.
    let decode = if labeller_none {
        Decode::Segments
    } else {
        Decode::Bytes
    };
    if !src.can_restart() || opts.count.is_some() {
        // (With a frame count, nothing past it is read: a link type met only
        // there is not named, its filter warning not given.)
        read_all(&mut Frames::Direct(src))?;
    } else if !one_core() {
        read_ahead(src, decode, |ahead| read_all(&mut Frames::Ahead(ahead)))?;
    } else {
        read_batched(src, decode, |ahead| read_all(&mut Frames::Ahead(ahead)))?;
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    // (Written with the others by the caller: on stderr, and in a check's
    // result.)
    summary.warnings.extend(src.take_warnings());
    summary.frames = an.counters().frames;
    if interrupted {
        summary.interrupted = true;
        let held = match src.frames_held() {
            0 => String::new(),
            1 => "; 1 packet read ahead to keep the inputs in time order is left out \
                  (an earlier packet of another input may not have been read)"
                .to_string(),
            n => format!(
                "; {n} packets read ahead to keep the inputs in time order are left out \
                 (an earlier packet of another input may not have been read)"
            ),
        };
        summary.warnings.push(format!(
            "interrupted after {} packets, before the end of {}: the report covers only what was \
             read{held}",
            summary.frames,
            src.name()
        ));
    }
    let lost = an.counters().keepalive_flows_lost;
    if lost > 0 {
        summary.warnings.push(lost_warning(lost, opts.limits));
    }
    let info = SourceInfo {
        name: src.name().to_string(),
        linktype: src.link_name().to_string(),
        truncated: truncated_reason.is_some(),
        truncated_reason,
        interrupted,
        kernel_drops: src.stats().map(|s| s.dropped as u64 + s.if_dropped as u64),
        name_rows: opts.name_rows,
        continues: opts.continues,
        inputs: if names.len() > 1 { names } else { Vec::new() },
        paths: opts.paths.clone(),
    };
    // A live capture's flows that are this box's own connections get the
    // kernel's view of their sockets: the last reading of each, so a
    // connection that closed during the capture keeps its settings.
    let (sockets, left_out) = match poller.map(SocketPoller::finish) {
        Some(Ok((s, out))) => (Some(s), out),
        Some(Err(e)) => {
            to_stderr!("kawatch: warning: no socket data in the report: {e}");
            (None, LeftOut::new())
        }
        None => (None, LeftOut::new()),
    };
    Ok(Read {
        an,
        info,
        sockets,
        left_out,
        stats: src.stats(),
        summary,
    })
}

/// Where frames come from: the source itself, or batches of it (read ahead
/// on a second thread, or on this one).
enum Frames<'a, 'b> {
    Direct(&'a mut dyn FrameSource),
    Ahead(&'a mut Ahead<'b>),
}

impl Frames<'_, '_> {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        match self {
            Frames::Direct(src) => src.next_frame(),
            Frames::Ahead(a) => a.next_frame(),
        }
    }

    /// Live captures: end at the stop point (see [`FrameSource::stop`]).
    fn stop(&mut self) {
        if let Frames::Direct(src) = self {
            src.stop();
        }
    }
}

/// What to say when flows with keepalives were lost to the flow table's
/// bounds, and what to do about it.
fn lost_warning(lost: u64, limits: Limits) -> String {
    format!(
        "{lost} flow{s} with keepalives left the full flow table (--max-flows {}) and could not \
         be kept (--max-retired {}): they are not in the report; raise --max-retired \
         or --max-flows",
        limits.max_flows,
        limits.max_retired,
        s = if lost == 1 { "" } else { "s" },
    )
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} reading {bar:30} {percent:>3}% {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .expect("static template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}
