//! Arguments shared by the commands, and their parsers.

use crate::exit::usage;
use anyhow::{Context, Result};
use clap::Args;
use kawatch::capture::{CaptureError, LiveOptions, Reader};
use kawatch::core::{Limits, PathTimeout};
use kawatch::sockets::Netns;
use kawatch::Timestamp;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a report's or a check's frames come from, and which of them count.
#[derive(Args, Debug)]
pub(crate) struct CaptureArgs {
    /// Read this capture file (`.pcap`, `.pcapng`; `-` for standard input);
    /// repeatable. Files may also be given as the first words.
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        conflicts_with = "interface"
    )]
    pub(crate) read: Vec<String>,
    /// Capture live from this interface (`any` for all).
    #[arg(short, long, value_name = "IF")]
    pub(crate) interface: Option<String>,
    /// With --interface: stop after this long (e.g. 16, 30s, 5m, 1h; at most
    /// 87600h). Ctrl-C also stops.
    #[arg(short, long, value_parser = parse_duration, allow_hyphen_values = true)]
    pub(crate) duration: Option<Duration>,
    /// With --interface: capture in promiscuous mode.
    #[arg(long)]
    pub(crate) promisc: bool,
    /// With --interface: kernel capture buffer size, in bytes or with KiB,
    /// MiB or GiB (32MiB) [default: 8 MiB; below 2 MiB it is read frame by
    /// frame, in libpcap's immediate mode].
    #[arg(long, value_name = "BYTES", value_parser = parse_buffer_size)]
    pub(crate) buffer_size: Option<i32>,
    /// With --interface: bytes kept per frame, 0 for the most (262144), as
    /// tcpdump's [default: 256, all the headers kawatch reads].
    #[arg(short, long, value_name = "BYTES", value_parser = parse_snaplen)]
    pub(crate) snaplen: Option<i32>,
    /// With --interface: capture, and read local sockets, in another network
    /// namespace.
    #[command(flatten)]
    pub(crate) netns: NetnsArgs,
    /// With --interface: do not read this box's sockets (wire view only).
    #[arg(long)]
    pub(crate) no_sockets: bool,
    /// The BPF filter, as tcpdump takes it (instead of trailing words).
    #[arg(
        short = 'f',
        long = "filter",
        value_name = "EXPR",
        conflicts_with = "filter_file"
    )]
    pub(crate) filter: Option<String>,
    /// Read the BPF filter from FILE, as `tcpdump -F` does.
    #[arg(short = 'F', value_name = "FILE")]
    pub(crate) filter_file: Option<PathBuf>,
    /// Stop after COUNT frames (those the filter and --since/--until let
    /// through), as `tcpdump -c`; for each file when several are read (in
    /// all, with --merge).
    #[arg(short = 'c', long, value_name = "COUNT", value_parser = parse_count, allow_negative_numbers = true)]
    pub(crate) count: Option<u64>,
    /// Files: only frames at or after TIME (RFC 3339, e.g.
    /// 2026-11-29T13:00:00Z or with an offset, or epoch seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "interface")]
    pub(crate) since: Option<Timestamp>,
    /// Files: only frames at or before TIME (as --since).
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "interface")]
    pub(crate) until: Option<Timestamp>,
    /// Several files: analyse their frames together, in time order (the
    /// files of a rotating capture), rather than one report per file.
    #[arg(long, conflicts_with = "interface")]
    pub(crate) merge: bool,
    /// Which reader reads files: kawatch's own, or libpcap's (the reference;
    /// it refuses pcapng files mixing link types or byte orders).
    #[arg(long, value_enum, default_value_t = Reader::Native, conflicts_with = "interface")]
    pub(crate) reader: Reader,
    /// Most connections tracked at once; when full, closed ones and then the
    /// longest idle leave (counted as evicted).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_flows, value_parser = parse_max_flows)]
    pub(crate) max_flows: usize,
    /// Most evicted connections with keepalives kept whole, still listed and
    /// continued if they speak again: about 600 bytes each (850 when both
    /// sides probe). Beyond it the one kept longest is dropped, counted as
    /// lost, and warned of.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_retired, value_parser = parse_max_retired)]
    pub(crate) max_retired: usize,
    /// The path timeouts each flow is judged against.
    #[command(flatten)]
    pub(crate) paths: PathArgs,
    /// Accepted as tcpdump takes it (-n, -nn): kawatch never resolves
    /// names; addresses and ports are always numbers.
    #[arg(short = 'n', action = clap::ArgAction::Count)]
    pub(crate) numeric: u8,
    /// Capture files, then the BPF filter's words (`a.pcap b.pcap tcp port
    /// 5432`). Words after `--` are never options.
    #[arg(value_name = "FILE|FILTER")]
    pub(crate) words: Vec<String>,
}

/// What to read: files, or an interface.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Inputs {
    /// Files (`-` is standard input), in the order given.
    Files(Vec<String>),
    /// A live interface.
    Live(String),
}

impl CaptureArgs {
    /// The inputs and the filter the arguments give, as tcpdump takes them:
    /// `-r` files or `-i`; else the leading words that name files (or `-`);
    /// the rest is the filter, unless `-f` or `-F` gives it.
    pub(crate) fn resolve(&self) -> Result<(Inputs, String)> {
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since > until {
                return Err(usage(
                    "--since is later than --until: no frame is in that window (give the earlier time to --since)",
                ));
            }
        }
        let mut words = self.words.iter().peekable();
        let inputs = if let Some(iface) = &self.interface {
            Inputs::Live(iface.clone())
        } else if let Some((option, _)) = [
            ("--duration", self.duration.is_some()),
            ("--promisc", self.promisc),
            ("--buffer-size", self.buffer_size.is_some()),
            ("--snaplen", self.snaplen.is_some()),
            ("--no-sockets", self.no_sockets),
            ("--netns or --pid", self.netns.given()),
        ]
        .into_iter()
        .find(|(_, given)| *given)
        {
            return Err(usage(format!(
                "{option} goes with --interface, a live capture (a file is read as it \
                 was captured): leave it out to read a file"
            )));
        } else if !self.read.is_empty() {
            Inputs::Files(self.read.clone())
        } else {
            // Leading words that name files, or look like file names (a
            // missing one is then an unreadable input, not a filter word).
            let mut files = Vec::new();
            while let Some(w) =
                words.next_if(|w| *w == "-" || Path::new(w).exists() || looks_like_a_file(w))
            {
                files.push(w.clone());
            }
            if files.is_empty() {
                return Err(match words.peek() {
                    // Not a filter word: a file that is not there.
                    Some(w) if looks_like_a_file(w) => CaptureError::Unreadable {
                        path: (*w).clone(),
                        reason: std::io::Error::from_raw_os_error(libc::ENOENT).to_string(),
                    }
                    .into(),
                    _ => usage(
                        "no capture given: give FILE... [FILTER...] (files first), `-` for \
                         standard input, -r FILE, or --interface IF",
                    ),
                });
            }
            Inputs::Files(files)
        };
        if let Inputs::Files(files) = &inputs {
            if files.iter().filter(|f| *f == "-").count() > 1 {
                return Err(usage(
                    "standard input (`-`) is given more than once: it can be read once; \
                     save it to a file to read it twice",
                ));
            }
        }
        let rest: Vec<&str> = words.map(String::as_str).collect();
        let filter = match (&self.filter, &self.filter_file, rest.is_empty()) {
            (Some(f), None, true) => f.clone(),
            (None, Some(path), true) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the filter file {}", path.display()))
                .map_err(|e| usage(format!("{e:#}")))?
                .lines()
                .map(|l| l.split('#').next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" "),
            (None, None, _) => rest.join(" "),
            _ => {
                return Err(usage(format!(
                    "the filter is given twice: by -f/-F and by the words {:?}; give one",
                    rest.join(" ")
                )))
            }
        };
        Ok((inputs, filter.trim().to_string()))
    }

    /// Live capture options.
    pub(crate) fn live(&self, interface: &str) -> LiveOptions {
        LiveOptions {
            interface: Some(interface.to_string()),
            promisc: self.promisc,
            buffer_size: self.buffer_size,
            snaplen: self.snaplen,
        }
    }

    /// Flow-table bounds.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_flows: self.max_flows,
            max_retired: self.max_retired,
            ..Limits::default()
        }
    }
}

/// Whether a word that names no existing file was meant as one (a path, or a
/// capture's extension), not as a filter word.
fn looks_like_a_file(w: &str) -> bool {
    w.contains('/')
        || [".pcap", ".pcapng", ".cap", ".gz", ".dmp"]
            .iter()
            .any(|ext| w.ends_with(ext))
}

/// The idle timeouts of the paths a connection may cross.
#[derive(Args, Debug, Default)]
pub(crate) struct PathArgs {
    /// Judge each flow against this path idle timeout (`check`: require
    /// each flow to survive it): a preset (azure-lb 240s, aws-nlb 350s,
    /// aws-nat 350s, gcp-fw 600s, gcp-nat 20m, rfc5382 2h4m, conntrack 5d),
    /// a duration (300s, 5m), or NAME=DURATION; repeatable or
    /// comma-separated; `defaults` stands for the default set [default:
    /// azure-lb,aws-nlb,gcp-fw,rfc5382].
    #[arg(long = "path-timeout", value_name = "NAME|DURATION", value_delimiter = ',', value_parser = parse_path, allow_hyphen_values = true)]
    pub(crate) given: Vec<PathChoice>,
}

/// One `--path-timeout` value.
#[derive(Clone, Debug)]
pub(crate) enum PathChoice {
    /// `defaults`: the default set.
    Defaults,
    /// A preset, a duration or a named duration.
    One(PathTimeout),
}

fn parse_path(s: &str) -> Result<PathChoice, String> {
    not_an_option(s)?;
    if s.trim().eq_ignore_ascii_case("defaults") {
        return Ok(PathChoice::Defaults);
    }
    PathTimeout::parse(s)
        .map(PathChoice::One)
        .map_err(|e| e.to_string())
}

impl PathArgs {
    /// The path timeouts in force, in the order given (the defaults when
    /// none are), each once; the same name with two timeouts is a usage
    /// error.
    pub(crate) fn paths(&self) -> Result<Vec<PathTimeout>> {
        if self.given.is_empty() {
            return Ok(PathTimeout::defaults());
        }
        let all = self.given.iter().flat_map(|choice| match choice {
            PathChoice::Defaults => PathTimeout::defaults(),
            PathChoice::One(p) => vec![p.clone()],
        });
        PathTimeout::distinct(all).map_err(usage)
    }
}

/// Which network namespace to look into.
#[derive(Args, Debug)]
pub(crate) struct NetnsArgs {
    /// Enter this network namespace first: a name (`ip netns`) or a path
    /// (e.g. /proc/PID/ns/net, a container's).
    #[arg(long, value_name = "NAME|PATH", conflicts_with = "pid")]
    pub(crate) netns: Option<String>,
    /// Enter the network namespace of this process first.
    #[arg(long, value_name = "PID")]
    pub(crate) pid: Option<u32>,
}

impl NetnsArgs {
    /// Whether a namespace was asked for.
    pub(crate) fn given(&self) -> bool {
        self.netns.is_some() || self.pid.is_some()
    }

    /// Enters the namespace asked for, if any. Call before any thread starts.
    pub(crate) fn enter(&self) -> Result<()> {
        let ns = match (&self.netns, self.pid) {
            (Some(n), _) => Netns::Named(n.clone()),
            (None, Some(pid)) => Netns::OfPid(pid),
            (None, None) => return Ok(()),
        };
        kawatch::sockets::netns::enter(&ns)?;
        Ok(())
    }
}

/// Parses --max-flows: a whole number of at least 1.
pub(crate) fn parse_max_flows(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?}: give a whole number of flows, at least 1")),
    }
}

/// Parses --max-retired: a whole number, 0 to keep none.
pub(crate) fn parse_max_retired(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .map_err(|_| format!("{s:?}: give a whole number of flows (0 keeps none)"))
}

/// An option's value that may begin with `-` (a negative number, refused
/// for what it is) is not one when it is the next option (`-d -c 5`, a
/// value forgotten): that is said so.
pub(crate) fn not_an_option(s: &str) -> Result<(), String> {
    let mut c = s.chars();
    match (c.next(), c.next()) {
        (Some('-'), Some(n)) if n == '-' || n.is_ascii_alphabetic() => Err(format!(
            "{s:?} is the next option, not a value: give the value before it"
        )),
        _ => Ok(()),
    }
}

/// Parses `check`'s durations ([`parse_seconds`]), not the next option.
pub(crate) fn parse_seconds_arg(s: &str) -> Result<f64, String> {
    not_an_option(s)?;
    kawatch::check::parse_seconds(s)
}

/// Parses --count: a number of packets, 1 or more.
pub(crate) fn parse_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?}: give a number of packets, 1 or more")),
    }
}

/// Parses --snaplen: 64 bytes (Ethernet, IPv4 and a 20-byte TCP header are
/// 54) up to libpcap's 262144; 0, as for tcpdump, is that most.
pub(crate) fn parse_snaplen(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(0) => Ok(262_144),
        Ok(n) if (64..=262_144).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: give a number of bytes from 64 to 262144 (headers need at least 64), or 0 for 262144"
        )),
    }
}

/// Parses --buffer-size: bytes, or KiB, MiB or GiB (`k`, `M`, `G` too:
/// `32MiB`, `512k`), at least 64 KiB, at most 2 GiB less a byte.
pub(crate) fn parse_buffer_size(s: &str) -> Result<i32, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let scale: Option<i64> = match t[digits..].trim() {
        "" => Some(1),
        "k" | "K" | "KiB" => Some(1 << 10),
        "M" | "MiB" => Some(1 << 20),
        "G" | "GiB" => Some(1 << 30),
        _ => None,
    };
    let bytes = scale
        .zip(t[..digits].parse::<i64>().ok())
        .and_then(|(k, n)| n.checked_mul(k));
    match bytes.map(i32::try_from) {
        Some(Ok(n)) if n >= 65_536 => Ok(n),
        _ => Err(format!(
            "{s:?}: give a size from 64KiB to 2GiB less a byte, in bytes or with KiB, MiB or GiB (8MiB)"
        )),
    }
}

/// Parses a replay speed: a positive number of times real time.
pub(crate) fn parse_speed(s: &str) -> Result<f64, String> {
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

/// The longest `--duration` accepted: ten years, far beyond any capture, and
/// well within what a `Duration` and an `Instant` hold.
const MAX_DURATION_H: u64 = 87_600;

/// Parses `16`, `30s`, `5m`, `1h30m`, `250ms` ([`kawatch::core::parse_seconds`],
/// as every duration kawatch takes), positive and at most [`MAX_DURATION_H`]
/// hours.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    not_an_option(s)?;
    let s = s.trim();
    let longest = format!("the longest duration accepted is {MAX_DURATION_H}h (ten years)");
    let secs = match kawatch::core::parse_seconds(s) {
        Some(secs) => secs,
        None if s.starts_with('-') => return Err(format!("{s:?} must be positive")),
        None => {
            // A number and then something else: name what is not a unit.
            let split = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            let unit = s[split..].trim_start();
            let one_unit = !unit.contains(|c: char| c.is_ascii_digit());
            return Err(
                if split > 0 && one_unit && s[..split].parse::<f64>().is_ok() {
                    format!("unknown unit {unit:?} in {s:?} (use ms, s, m, h or d, e.g. 1m30s)")
                } else {
                    format!("{s:?} is not a duration (try 16, 30s, 5m, 1h30m; {longest})")
                },
            );
        }
    };
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

/// Parses a point in time: RFC 3339 (`2026-11-29T13:00:00Z`,
/// `2026-11-29T14:00:00.5+01:00`) or epoch seconds (`1700000000.25`).
pub(crate) fn parse_time(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    // Epoch seconds, exactly: `1795268910.742965` must name the frame whose
    // time a report printed so, with no float rounding.
    if let Some((int, frac)) = s.split_once('.').or(Some((s, ""))) {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if digits(int) && (frac.is_empty() || digits(frac)) && frac.len() <= 9 {
            let secs: i128 = int.parse().map_err(|_| format!("{s:?} is too large"))?;
            let nanos: i128 = format!("{frac:0<9}").parse().unwrap_or(0);
            return Ok(Timestamp(secs * 1_000_000_000 + nanos));
        }
    }
    let t: jiff::Timestamp = s.parse().map_err(|e| {
        format!("{s:?} is not a time: give RFC 3339 (2026-11-29T13:00:00Z) or epoch seconds ({e})")
    })?;
    Ok(Timestamp(t.as_nanosecond()))
}
