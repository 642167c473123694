//! The `kawatch` command line.

// The OS calls here need unsafe: registering the SIGINT action (its code
// runs in a signal handler) and clearing SA_RESTART on it (sigaction).
#![allow(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use kawatch::capture::{CaptureError, LiveOptions, OpenOptions, Reader, Source};
use kawatch::core::Limits;
use kawatch::report::Format;
use kawatch::report::{write_sockets_json, write_sockets_table};
use kawatch::run::{run_report, RunError, RunOptions};
use kawatch::sockets::Netns;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Watch TCP keepalives: classify probes and replies per flow and reconstruct
/// each side's idle / interval / probe-count settings.
///
/// Without a subcommand: a live, full-screen view of every TCP connection's
/// keepalive state, from an interface or a capture file replayed.
#[derive(Parser, Debug)]
#[command(
    name = "kawatch",
    version,
    about,
    propagate_version = true,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    watch: WatchArgs,
}

#[derive(Args, Debug)]
struct WatchArgs {
    /// Capture live from this interface (`any` for all); default: the one tcpdump picks.
    #[arg(short, long, conflicts_with = "read")]
    interface: Option<String>,
    /// Live: capture, and read local sockets, in another network namespace.
    #[command(flatten)]
    netns: NetnsArgs,
    /// Live: do not read this box's sockets from the kernel (wire view only).
    #[arg(long, conflicts_with = "read")]
    no_sockets: bool,
    /// Replay a capture file (`.pcap`, `.pcapng`, `-` for standard input) instead of capturing.
    #[arg(short, long, value_name = "FILE")]
    read: Option<String>,
    /// With --read: which reader reads the file: kawatch's own, or libpcap's
    /// (the reference; it refuses pcapng files mixing link types or byte orders).
    #[arg(long, value_enum, default_value_t = Reader::Native, requires = "read")]
    reader: Reader,
    /// With --read: replay at N times real time (default: as fast as it reads).
    #[arg(long, value_name = "N", requires = "read", value_parser = parse_speed)]
    speed: Option<f64>,
    /// Live: capture in promiscuous mode.
    #[arg(long, conflicts_with = "read")]
    promisc: bool,
    /// Show times in UTC (default: the local time zone, each time at the
    /// offset in force at its moment).
    #[arg(long)]
    utc: bool,
    /// Live: kernel capture buffer size in bytes [default: 8 MiB].
    #[arg(long, value_name = "BYTES", conflicts_with = "read", value_parser = parse_buffer_size)]
    buffer_size: Option<i32>,
    /// Live: bytes kept per frame [default: 256, all the headers kawatch reads].
    #[arg(short, long, value_name = "BYTES", conflicts_with = "read", value_parser = parse_snaplen)]
    snaplen: Option<i32>,
    /// Most connections tracked at once; when full, closed ones and then the
    /// longest idle leave (counted as evicted).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_flows, value_parser = parse_max_flows)]
    max_flows: usize,
    /// BPF filter, as tcpdump takes it (e.g. `tcp port 5432`).
    #[arg(
        value_name = "FILTER",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    filter: Vec<String>,
}

/// Parses --max-flows: a whole number of at least 1.
fn parse_max_flows(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?}: give a whole number of flows, at least 1")),
    }
}

/// Parses --snaplen: 64 bytes (Ethernet, IPv4 and a 20-byte TCP header are
/// 54) up to libpcap's 262144.
fn parse_snaplen(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(n) if (64..=262_144).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: give a number of bytes from 64 to 262144 (headers need at least 64)"
        )),
    }
}

/// Parses --buffer-size: at least 64 KiB, at most 2 GiB.
fn parse_buffer_size(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(n) if n >= 65_536 => Ok(n),
        _ => Err(format!(
            "{s:?}: give a number of bytes from 65536 to 2147483647"
        )),
    }
}

/// Parses a replay speed: a positive number of times real time.
fn parse_speed(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim()
        .trim_end_matches(['x', 'X'])
        .parse()
        .map_err(|_| format!("{s:?} is not a speed (try 1, 10 or 0.5)"))?;
    if !n.is_finite() || n <= 0.0 {
        return Err(format!("{s:?}: the speed must be a positive number"));
    }
    Ok(n)
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse a capture (file, `-` for stdin, or a live interface) and print a report.
    Report(ReportArgs),
    /// List every local TCP connection's keepalive, read from the kernel now:
    /// on or off, idle/intvl/probes, the timer, the owning process. No capture.
    Sockets(SocketsArgs),
}

/// Output formats of `kawatch sockets`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
enum SocketsFormat {
    /// A readable table.
    #[default]
    Table,
    /// One JSON object, `kawatch_sockets` version 1.
    Json,
}

#[derive(Args, Debug)]
struct SocketsArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = SocketsFormat::Table)]
    format: SocketsFormat,
    /// Only connections with this port at either end (repeatable).
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,
    /// Only connections with this address at either end (repeatable).
    #[arg(long, value_name = "ADDR")]
    host: Vec<std::net::IpAddr>,
    #[command(flatten)]
    netns: NetnsArgs,
}

/// Which network namespace to look into.
#[derive(Args, Debug)]
struct NetnsArgs {
    /// Enter this network namespace first: a name (`ip netns`) or a path
    /// (e.g. /proc/PID/ns/net, a container's).
    #[arg(long, value_name = "NAME|PATH", conflicts_with = "pid")]
    netns: Option<String>,
    /// Enter the network namespace of this process first.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
}

impl NetnsArgs {
    /// Enters the namespace asked for, if any. Call before any thread starts.
    fn enter(&self) -> Result<()> {
        let ns = match (&self.netns, self.pid) {
            (Some(n), _) => Netns::Named(n.clone()),
            (None, Some(pid)) => Netns::OfPid(pid),
            (None, None) => return Ok(()),
        };
        kawatch::sockets::netns::enter(&ns)?;
        Ok(())
    }
}

fn sockets(args: SocketsArgs) -> Result<()> {
    args.netns.enter()?;
    let listing = kawatch::sockets::list().context("kawatch sockets")?;
    let wanted = |s: &&kawatch::core::LocalSocket| {
        let ends = [s.local, s.remote];
        (args.port.is_empty() || ends.iter().any(|e| args.port.contains(&e.port)))
            && (args.host.is_empty()
                || ends
                    .iter()
                    .any(|e| args.host.iter().any(|h| h.to_canonical() == e.ip)))
    };
    let shown: Vec<_> = listing.sockets.iter().filter(wanted).collect();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = match args.format {
        SocketsFormat::Table => write_sockets_table(&listing, &shown, &mut out),
        SocketsFormat::Json => write_sockets_json(&listing, &shown, &mut out),
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing the listing"),
    }
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Capture live from this interface instead of reading a file (`any` for all).
    #[arg(short, long)]
    interface: Option<String>,
    /// With --interface: stop after this long (e.g. 16, 30s, 5m, 1h; at most
    /// 87600h). Ctrl-C also stops.
    #[arg(short, long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// With --interface: capture in promiscuous mode.
    #[arg(long)]
    promisc: bool,
    /// With --interface: kernel capture buffer size in bytes [default: 8 MiB].
    #[arg(long, value_name = "BYTES", value_parser = parse_buffer_size)]
    buffer_size: Option<i32>,
    /// With --interface: bytes kept per frame [default: 256, all the headers kawatch reads].
    #[arg(short, long, value_name = "BYTES", value_parser = parse_snaplen)]
    snaplen: Option<i32>,
    /// Most connections tracked at once; when full, closed ones and then the
    /// longest idle leave (counted as evicted).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_flows, value_parser = parse_max_flows)]
    max_flows: usize,
    /// With --interface: capture, and read local sockets, in another network
    /// namespace.
    #[command(flatten)]
    netns: NetnsArgs,
    /// With --interface: do not read this box's sockets (no "socket" in the report).
    #[arg(long)]
    no_sockets: bool,
    /// Which reader reads a file: kawatch's own, or libpcap's (the reference;
    /// it refuses pcapng files mixing link types or byte orders).
    #[arg(long, value_enum, default_value_t = Reader::Native)]
    reader: Reader,
    /// Capture file (`.pcap`, `.pcapng`, or `-` for standard input), unless
    /// --interface is given; then an optional BPF filter, as tcpdump takes it.
    #[arg(
        value_name = "FILE [FILTER]",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
}

/// The longest `--duration` accepted: ten years, far beyond any capture, and
/// well within what a `Duration` and an `Instant` hold.
const MAX_DURATION_H: u64 = 87_600;

/// Parses `16`, `30s`, `5m`, `1h`, `250ms` (a number, decimals and exponents
/// allowed, and an optional unit), positive and at most [`MAX_DURATION_H`]
/// hours.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = [("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)]
        .iter()
        .find_map(|&(unit, scale)| s.strip_suffix(unit).map(|n| (n, scale)))
        .unwrap_or((s, 1.0));
    let longest = format!("the longest duration accepted is {MAX_DURATION_H}h (ten years)");
    let n: f64 = match num.trim_end().parse() {
        Ok(n) => n,
        Err(_) => {
            // A number and then something else: name what is not a unit.
            let split = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            return Err(if split > 0 && s[..split].parse::<f64>().is_ok() {
                format!(
                    "unknown unit {:?} in {s:?} (use ms, s, m or h)",
                    &s[split..]
                )
            } else {
                format!("{s:?} is not a duration (try 16, 30s, 5m, 1h)")
            });
        }
    };
    let secs = n * scale;
    if secs.is_nan() {
        return Err(format!(
            "{s:?} is not a duration (try 16, 30s, 5m, 1h; {longest})"
        ));
    }
    if secs <= 0.0 {
        return Err(format!("{s:?} must be positive"));
    }
    // `MAX_DURATION_H` hours in seconds is exact in an f64.
    #[allow(clippy::cast_precision_loss)]
    if secs > (MAX_DURATION_H * 3600) as f64 {
        return Err(format!("{s:?} is too long: {longest}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

static STOP: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler (signal-hook): the first Ctrl-C sets `STOP`,
/// so a read gives up and the report of what was read is written; a second
/// exits at once with status 130.
///
/// Without `SA_RESTART`: signal-hook installs its handlers with it
/// (signal-hook-registry 1.4, `Slot::new`), and under it a `read` waiting on
/// a pipe or FIFO that sends nothing resumes after the handler and never
/// returns. Cleared, the read fails with `EINTR` and kawatch reports.
fn install_sigint() {
    // SAFETY: the action is async-signal-safe: an atomic swap, then _exit.
    let registered = unsafe {
        signal_hook::low_level::register(signal_hook::consts::SIGINT, || {
            if STOP.swap(true, Ordering::Relaxed) {
                // A second Ctrl-C: the user means it.
                signal_hook::low_level::exit(EXIT_INTERRUPTED.into());
            }
        })
    };
    if let Err(e) = registered.and_then(|_| interrupt_reads(signal_hook::consts::SIGINT)) {
        eprintln!("kawatch: warning: Ctrl-C may not stop a read that waits: {e}");
    }
}

/// Clears `SA_RESTART` on the action installed for `sig`, keeping its
/// handler, mask and other flags: a blocking read the signal interrupts
/// returns `EINTR` instead of resuming.
fn interrupt_reads(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: sigaction fills a zeroed struct with the installed action,
    // which is installed again with only SA_RESTART cleared.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut action) != 0 {
            return Err(io::Error::last_os_error());
        }
        action.sa_flags &= !libc::SA_RESTART;
        if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Exit status after Ctrl-C stopped kawatch before it could report (as a
/// shell reports a program SIGINT ended: 128 + 2).
const EXIT_INTERRUPTED: u8 = 130;

/// Files smaller than this read too fast to need a progress bar.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

fn report(args: ReportArgs) -> Result<()> {
    // Before opening: a wait for a FIFO's writer or a pipe's first bytes
    // must end on Ctrl-C too.
    install_sigint();
    let mut rest = args.args.into_iter();
    let mut file_size = None;
    let mut src = match &args.interface {
        Some(iface) => {
            args.netns.enter()?;
            let filter = rest.collect::<Vec<_>>().join(" ");
            let opts = LiveOptions {
                interface: Some(iface.clone()),
                promisc: args.promisc,
                buffer_size: args.buffer_size,
                snaplen: args.snaplen,
            };
            Source::open_live(&opts, Some(&filter))?
        }
        None => {
            if args.netns.netns.is_some() || args.netns.pid.is_some() {
                bail!("--netns and --pid go with --interface (a file is read as it is)");
            }
            if args.duration.is_some()
                || args.promisc
                || args.buffer_size.is_some()
                || args.snaplen.is_some()
            {
                bail!("--duration, --promisc, --buffer-size and --snaplen go with --interface");
            }
            let Some(file) = rest.next() else {
                bail!("no capture given: kawatch report FILE [FILTER...], `-` for standard input, or --interface IF");
            };
            let filter = rest.collect::<Vec<_>>().join(" ");
            let open = OpenOptions {
                filter: Some(&filter),
                reader: args.reader,
                stop: Some(&STOP),
            };
            if file == "-" {
                Source::open_stdin_with(&open)?
            } else {
                file_size = std::fs::metadata(&file)
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| m.len());
                Source::open_file_with(Path::new(&file), &open)?
            }
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // A progress bar for long file reads, only where a person watches stderr.
    let progress_bytes =
        file_size.filter(|&n| n >= PROGRESS_MIN_BYTES && io::stderr().is_terminal());
    let opts = RunOptions {
        format: args.format,
        duration: args.duration,
        stop: Some(&STOP),
        progress_bytes,
        limits: Limits {
            max_flows: args.max_flows,
            ..Limits::default()
        },
        local_sockets: !args.no_sockets,
    };
    match run_report(&mut src, opts, &mut out) {
        Ok(summary) => {
            if let Some(w) = summary.warning {
                eprintln!("kawatch: warning: {w}");
            }
            Ok(())
        }
        Err(RunError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("kawatch report"),
    }
}

fn watch(args: WatchArgs) -> Result<()> {
    if !io::stdout().is_terminal() {
        bail!(
            "standard output is not a terminal, and the live view needs one; \
             for output to a file or a pipe use `kawatch report`, e.g. \
             `kawatch report --interface eth0 --duration 30s` or `kawatch report capture.pcap`"
        );
    }
    if args.read.is_some() && (args.netns.netns.is_some() || args.netns.pid.is_some()) {
        bail!("--netns and --pid go with a live capture, not --read");
    }
    let filter = args.filter.join(" ");
    let open = OpenOptions {
        filter: Some(&filter),
        reader: args.reader,
        stop: None,
    };
    let src = match &args.read {
        Some(file) if file == "-" => Source::open_stdin_with(&open)?,
        Some(file) => Source::open_file_with(Path::new(file), &open)?,
        None => {
            args.netns.enter()?;
            let opts = LiveOptions {
                interface: args.interface.clone(),
                promisc: args.promisc,
                buffer_size: args.buffer_size,
                snaplen: args.snaplen,
            };
            Source::open_live(&opts, Some(&filter))?
        }
    };
    kawatch::tui::run(
        src,
        kawatch::tui::Options {
            speed: args.speed,
            color: kawatch::tui::color_allowed(),
            zone: if args.utc {
                jiff::tz::TimeZone::UTC
            } else {
                kawatch::tui::local_zone()
            },
            local_sockets: args.read.is_none() && !args.no_sockets,
            limits: Limits {
                max_flows: args.max_flows,
                ..Limits::default()
            },
        },
    )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Report(args)) => report(args),
        Some(Command::Sockets(args)) => sockets(args),
        None => watch(cli.watch),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<CaptureError>() {
            Some(interrupted @ CaptureError::Interrupted { .. }) => {
                eprintln!("kawatch: {interrupted}");
                ExitCode::from(EXIT_INTERRUPTED)
            }
            _ => {
                eprintln!("kawatch: error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
