//! The live screen (no subcommand): an interface, or a file replayed.

use crate::args::{
    parse_buffer_size, parse_max_flows, parse_max_retired, parse_snaplen, parse_speed, NetnsArgs,
    PathArgs,
};
use anyhow::Result;
use clap::Args;
use kawatch::capture::{LiveOptions, OpenOptions, Reader, Source};
use kawatch::core::Limits;
use std::io::{self, IsTerminal};
use std::path::Path;

#[derive(Args, Debug)]
pub(crate) struct WatchArgs {
    /// List the interfaces a live capture can use, and exit (as `tcpdump -D`).
    #[arg(short = 'D', long = "list-interfaces")]
    pub(crate) list_interfaces: bool,
    /// Capture live from this interface (`any` for all); default: the one tcpdump picks.
    #[arg(short, long, conflicts_with = "read")]
    interface: Option<String>,
    /// Live: capture, and read local sockets, in another network namespace.
    #[command(flatten)]
    netns: NetnsArgs,
    /// The path timeouts each connection is judged against.
    #[command(flatten)]
    pub(crate) paths: PathArgs,
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
    /// Live: kernel capture buffer size in bytes [default: 8 MiB; below 2 MiB
    /// it is read frame by frame, in libpcap's immediate mode].
    #[arg(long, value_name = "BYTES", conflicts_with = "read", value_parser = parse_buffer_size)]
    buffer_size: Option<i32>,
    /// Live: bytes kept per frame [default: 256, all the headers kawatch reads].
    #[arg(short, long, value_name = "BYTES", conflicts_with = "read", value_parser = parse_snaplen)]
    snaplen: Option<i32>,
    /// Most connections tracked at once; when full, closed ones and then the
    /// longest idle leave (counted as evicted).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_flows, value_parser = parse_max_flows)]
    max_flows: usize,
    /// Most evicted connections with keepalives kept whole, still listed and
    /// continued if they speak again: about 750 bytes each (1.1 KiB when both
    /// sides probe; more than a report's, as the screen keeps each prober's
    /// timeline). Beyond it the one kept longest is dropped, counted as
    /// lost.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_retired, value_parser = parse_max_retired)]
    max_retired: usize,
    /// The BPF filter, as tcpdump takes it (instead of trailing words).
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    filter_expr: Option<String>,
    /// Accepted as tcpdump takes it (-n, -nn, `-ni eth0`): kawatch never
    /// resolves names; addresses and ports are always numbers.
    #[arg(short = 'n', action = clap::ArgAction::Count)]
    numeric: u8,
    /// BPF filter, as tcpdump takes it (e.g. `tcp port 5432`).
    #[arg(value_name = "FILTER", conflicts_with = "filter_expr")]
    filter: Vec<String>,
}

pub(crate) fn watch(args: WatchArgs) -> Result<()> {
    if let Some(file) = args
        .filter
        .first()
        .filter(|w| std::path::Path::new(w).is_file())
    {
        return Err(crate::exit::usage(format!(
            "{file} is a file, not a filter: replay it with `kawatch -r {file}`, \
             or report on it with `kawatch report {file}`"
        )));
    }
    if !io::stdout().is_terminal() {
        // (A use the screen cannot serve: the arguments' fault, not the run's.)
        let example = match (&args.read, &args.interface) {
            (Some(file), _) => format!("`kawatch report {file}`"),
            (None, Some(interface)) => format!("`kawatch report -i {interface} --duration 30s`"),
            (None, None) => "`kawatch report -i eth0 --duration 30s` or \
                             `kawatch report capture.pcap`"
                .to_owned(),
        };
        return Err(crate::exit::usage(format!(
            "standard output is not a terminal, and the live view needs one; \
             for output to a file or a pipe use `kawatch report`, e.g. {example}"
        )));
    }
    if args.read.is_some() && args.netns.given() {
        return Err(crate::exit::usage(
            "--netns and --pid go with a live capture, not --read",
        ));
    }
    let filter = args
        .filter_expr
        .clone()
        .unwrap_or_else(|| args.filter.join(" "));
    let open = OpenOptions {
        filter: Some(&filter),
        reader: args.reader,
        stop: None,
        wake: None,
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
            paths: args.paths.paths()?,
            limits: Limits {
                max_flows: args.max_flows,
                max_retired: args.max_retired,
                ..Limits::default()
            },
        },
    )
}

/// `-D`: the interfaces libpcap can capture on, numbered, as tcpdump lists them.
pub(crate) fn list_interfaces() -> Result<()> {
    let devices = kawatch::capture::interfaces()?;
    for (i, d) in devices.iter().enumerate() {
        match &d.1 {
            Some(desc) => println!("{}.{} ({desc})", i + 1, d.0),
            None => println!("{}.{}", i + 1, d.0),
        }
    }
    Ok(())
}
