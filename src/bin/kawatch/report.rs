//! `kawatch report`: a capture (files, standard input, an interface) through
//! the analyser into a report.

use crate::args::{CaptureArgs, Inputs};
use crate::signals::{install_sigint, STOP};
use anyhow::{Context, Result};
use clap::Args;
use kawatch::capture::{CaptureError, FrameSource, Merged, OpenOptions, Source};
use kawatch::report::{Format, Labeller};
use kawatch::run::{run_report, RunError, RunOptions};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

#[derive(Args, Debug)]
pub(crate) struct ReportArgs {
    /// Output format.
    #[arg(short = 'T', long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Write the keepalive-related frames (probes, their answers, give-ups,
    /// zero-window probes) to FILE as pcapng, each with kawatch's label as a
    /// packet comment; `-` for standard output (then no report is written).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub(crate) write: Option<String>,
    /// With `--format events`: write each frame's events as they are
    /// decided, not when a buffer fills, as `tcpdump -l` (for a pipe fed by a
    /// capture still running; a live capture's events always are).
    #[arg(short = 'l', long = "line-buffered")]
    pub(crate) line_buffered: bool,
    /// With `-w`: write each labelled frame as soon as no frame before it
    /// can still be labelled, and flush it, as `tcpdump -U` (for a pipe fed
    /// by a capture still running; a live capture's are flushed every
    /// quarter second). As live, a frame waits a second at most for an
    /// earlier one still undecided, also while the pipe is silent.
    #[arg(short = 'U', long = "packet-buffered", requires = "write")]
    pub(crate) packet_buffered: bool,
    #[command(flatten)]
    pub(crate) capture: CaptureArgs,
}

/// Whether `a` and `b` name one existing file (the same device and inode:
/// a link or another spelling of the path too).
fn same_file(a: &str, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    if a == "-" || b == "-" {
        return false;
    }
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Files smaller than this read too fast to need a progress bar.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

pub(crate) fn report(args: ReportArgs) -> Result<()> {
    // Before opening: a wait for a FIFO's writer or a pipe's first bytes
    // must end on Ctrl-C too.
    install_sigint();
    let (inputs, filter) = args.capture.resolve()?;
    let frames_to_stdout = args.write.as_deref() == Some("-");
    if let (Some(path), Inputs::Files(files)) = (args.write.as_deref(), &inputs) {
        if let Some(input) = files.iter().find(|f| same_file(f, path)) {
            return Err(crate::exit::usage(format!(
                "-w {path} would overwrite the input {input}: write the labelled frames to another file"
            )));
        }
    }
    // Create the output file first: a path that cannot be written is known
    // before a long read.
    let frames_file = match args.write.as_deref() {
        Some(path) if path != "-" => {
            Some(File::create(path).with_context(|| format!("cannot write {path}"))?)
        }
        _ => None,
    };
    if frames_to_stdout && args.format != Format::Table {
        to_stderr!(
            "kawatch: warning: --format changes nothing here: with -w -, standard output is the labelled frames and no report is written (-w FILE writes both)"
        );
    }
    if args.line_buffered && frames_to_stdout {
        to_stderr!(
            "kawatch: warning: -l changes nothing here: with -w -, standard output is the labelled frames (-U writes them as they come)"
        );
    } else if args.line_buffered && args.format != Format::Events {
        to_stderr!(
            "kawatch: warning: -l changes nothing here: only --format events is written as the capture is read; the {} report is written when it ends",
            clap::ValueEnum::to_possible_value(&args.format).map_or_else(String::new, |v| v.get_name().to_string())
        );
    }
    let frames_name = args.write.as_deref().unwrap_or("-");
    let mut labeller = args.write.is_some().then(|| {
        let out: Box<dyn Write> = match frames_file {
            Some(f) => Box::new(BufWriter::new(f)),
            None => Box::new(BufWriter::new(io::stdout().lock())),
        };
        let labeller = Labeller::new(out);
        if args.packet_buffered {
            labeller.packet_buffered()
        } else {
            labeller
        }
    });
    let stdout = io::stdout();
    let mut out: Box<dyn Write> = if frames_to_stdout {
        Box::new(io::sink())
    } else {
        Box::new(BufWriter::with_capacity(1 << 16, stdout.lock()))
    };
    let capture = &args.capture;
    let paths = capture.paths.paths()?;
    let run = |src: &mut dyn FrameSource,
               out: &mut dyn Write,
               labeller: Option<&mut Labeller>,
               progress_bytes: Option<u64>,
               several: bool,
               continues: bool| {
        let opts = RunOptions {
            format: args.format,
            duration: capture.duration,
            stop: Some(&STOP),
            progress_bytes,
            limits: capture.limits(),
            local_sockets: !capture.no_sockets,
            count: capture.count,
            since: capture.since,
            until: capture.until,
            labeller,
            line_buffered: args.line_buffered,
            name_rows: several,
            continues,
            paths: paths.clone(),
            // One input: its table is left to the exit.
            no_teardown: !several,
        };
        match run_report(src, opts, out) {
            Ok(summary) => {
                for w in summary.warnings {
                    to_stderr!("kawatch: warning: {w}");
                }
                Ok(())
            }
            Err(RunError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                // (Events are written as the capture is read; the other
                // formats after it, when the file is whole.)
                if args.write.is_some() && !frames_to_stdout && args.format == Format::Events {
                    to_stderr!(
                        "kawatch: warning: the report's output was closed, so reading stopped there: {frames_name} holds the labelled frames read until then"
                    );
                }
                Ok(())
            }
            Err(RunError::Frames(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(RunError::Frames(e)) => {
                Err(anyhow::Error::new(e).context(format!("writing {frames_name}")))
            }
            Err(e) => Err(anyhow::Error::new(e)),
        }
    };
    // Inputs that could not be read (each said when met) and the first's
    // error, whose exit status the run ends with.
    let (mut failed, mut unread, mut several_read) = (None, 0usize, 0usize);
    match inputs {
        Inputs::Live(iface) => {
            capture.netns.enter()?;
            let mut src = Source::open_live(&capture.live(&iface), Some(&filter))?;
            run(&mut src, &mut out, labeller.as_mut(), None, false, false)?;
        }
        Inputs::Files(files) => {
            let open = OpenOptions {
                filter: Some(&filter),
                reader: capture.reader,
                stop: Some(&STOP),
                // -U from a pipe that falls silent: what waits is written
                // as it would be live.
                wake: args.packet_buffered.then_some(Labeller::QUIET_WAKE),
            };
            let several = files.len() > 1;
            several_read = files.len();
            if capture.merge {
                // A piece that cannot be read (a rotating capture's newest
                // is often still empty) leaves the others to merge: the
                // report is partial, and says which piece it lacks.
                let (sources, left_out) = open_pieces(&files, &open)?;
                // None opened (each said as met): summed up, as without --merge.
                if sources.is_empty() {
                    let unopened = left_out.len();
                    let first = left_out.into_iter().next().map(|(_, e)| e);
                    let first = first.unwrap_or_else(|| anyhow::anyhow!("no input"));
                    let said = crate::exit::AlreadySaid::inputs(unopened, files.len(), first);
                    return Err(said.into());
                }
                let mut merged = Merged::new(sources).with_filter(&filter)?;
                for (name, e) in &left_out {
                    merged.without(name, format!("{e:#}"));
                }
                run(&mut merged, &mut out, labeller.as_mut(), None, true, false)?;
                unread = left_out.len();
                failed = left_out.into_iter().next().map(|(_, e)| e);
            } else {
                // Reports written: the next follows one (a blank line between
                // tables, one CSV header) only after an input that was read.
                let mut written = 0;
                for (i, file) in files.iter().enumerate() {
                    if i > 0 && STOP.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    // One input that cannot be read does not stop the others.
                    let mut src = match open_input(file, &open) {
                        Ok(src) => src,
                        Err(e) if several => {
                            to_stderr!("kawatch: error: {e:#}");
                            failed.get_or_insert(e);
                            unread += 1;
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    // A progress bar for long file reads, only where a person
                    // watches stderr.
                    let progress = std::fs::metadata(file)
                        .ok()
                        .filter(|m| m.is_file() && m.len() >= PROGRESS_MIN_BYTES)
                        .map(|m| m.len())
                        .filter(|_| io::stderr().is_terminal());
                    let read = run(
                        &mut src,
                        &mut out,
                        labeller.as_mut(),
                        progress,
                        several,
                        written > 0,
                    );
                    match read {
                        Ok(()) => written += 1,
                        // Nothing of it read (its first packet, a filter for
                        // its link type): the others are read all the same.
                        Err(e) if several && unread_input(&e) => {
                            to_stderr!("kawatch: error: {e:#}");
                            failed.get_or_insert(e);
                            unread += 1;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        r => r.context("writing the report")?,
    }
    drop(out);
    if let Some(labeller) = labeller {
        write_frames(labeller, frames_name)?;
    }
    match failed {
        Some(first) => Err(crate::exit::AlreadySaid::inputs(unread, several_read, first).into()),
        None => Ok(()),
    }
}

/// Opens a file, or standard input for `-`.
/// The pieces of a merge that opened, and those that did not with why.
pub(crate) type Pieces = (Vec<Source>, Vec<(String, anyhow::Error)>);

/// The pieces of a merge (`--merge`), opened without the filter: it
/// applies to the merged frames, so that those it leaves out count in the
/// merged numbering ([`Merged::with_filter`]). Those that open, and those
/// that cannot with why (each said on stderr as met): the others are
/// merged without them. One file alone that cannot be opened is the error.
pub(crate) fn open_pieces(files: &[String], open: &OpenOptions<'_>) -> Result<Pieces> {
    let unfiltered = OpenOptions {
        filter: None,
        ..*open
    };
    let (mut sources, mut left_out) = (Vec::new(), Vec::new());
    for f in files {
        match open_input(f, &unfiltered) {
            Ok(src) => sources.push(src),
            Err(e) if files.len() > 1 => {
                to_stderr!("kawatch: error: {e:#}");
                left_out.push((f.clone(), e));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((sources, left_out))
}

pub(crate) fn open_input(file: &str, open: &OpenOptions<'_>) -> Result<Source> {
    Ok(if file == "-" {
        Source::open_stdin_with(open)?
    } else {
        Source::open_file_with(Path::new(file), open)?
    })
}

/// `-w`: the labelled frames still waiting written, the file ended.
fn write_frames(labeller: Labeller, name: &str) -> Result<()> {
    let missed = labeller.missed();
    match labeller.finish() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        r => {
            r.with_context(|| format!("writing {name}"))?;
        }
    }
    if missed > 0 {
        to_stderr!(
            "kawatch: warning: {missed} labelled frames were decided too long after they were read to be written to {name}"
        );
    }
    Ok(())
}

/// Whether `e`, from reading one of several inputs, is that input's alone:
/// a capture error other than a stop (Ctrl-C), before anything of it was
/// written.
pub(crate) fn unread_input(e: &anyhow::Error) -> bool {
    crate::exit::capture_error(e).is_some_and(|c| !matches!(c, CaptureError::Interrupted { .. }))
}
