//! The `kawatch` command line.

/// `eprintln!` that ignores a standard error it cannot write
/// ([`kawatch::stderr_line`]).
macro_rules! to_stderr {
    ($($arg:tt)*) => {
        kawatch::stderr_line(format_args!($($arg)*))
    };
}

mod args;
mod check;
mod exit;
mod report;
mod signals;
mod sockets;
mod watch;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::io;
use std::process::ExitCode;

/// Watch TCP keepalives: classify probes and replies per flow and reconstruct
/// each side's idle / interval / probe-count settings.
///
/// Without a subcommand: a live, full-screen view of every TCP connection's
/// keepalive state, from an interface or a capture file replayed.
///
/// Exit status: 0 success; 1 `check`: a rule failed; 2 wrong arguments;
/// 3 an input cannot be read; 4 not permitted (to capture, to enter a
/// namespace); 5 another failure (e.g. writing the output); 130 Ctrl-C
/// (SIGTERM, SIGHUP) before anything was read, or a `check` it cut short.
#[derive(Parser, Debug)]
#[command(
    name = "kawatch",
    about,
    propagate_version = true,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    watch: watch::WatchArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse captures (files, `-` for stdin, or a live interface) and print a report.
    Report(Box<report::ReportArgs>),
    /// Hold keepalive rules against captures, for CI: exit 0 when every rule
    /// holds, 1 when one fails (e.g. `kawatch check --port 5432
    /// --require-keepalive --max-detection 90s capture.pcap`).
    Check(Box<check::CheckArgs>),
    /// List every local TCP connection's keepalive, read from the kernel now:
    /// on or off, idle/intvl/probes, the timer, the owning process. No capture.
    Sockets(sockets::SocketsArgs),
    /// Print a shell completion script (e.g. `kawatch completions bash >
    /// /etc/bash_completion.d/kawatch`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (e.g. `kawatch man > /usr/local/share/man/man1/kawatch.1`),
    /// or a command's (`kawatch man report > .../kawatch-report.1`).
    Man {
        /// The command whose page to print: report, check, sockets, completions.
        command: Option<String>,
    },
}

/// The command line's definition, with the version naming libpcap's.
fn command() -> clap::Command {
    let version = format!(
        "{} ({})",
        env!("CARGO_PKG_VERSION"),
        kawatch::capture::libpcap_version()
    );
    Cli::command().version(version)
}

/// Writes `bytes` to standard output; a reader that stopped early (`| head`)
/// is not an error.
fn print_all(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    match io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Some(Command::Check(args)) => {
            return match check::check(*args) {
                Ok(code) => ExitCode::from(code),
                Err(e) => exit::fail(&e),
            }
        }
        Some(Command::Report(args)) => report::report(*args),
        Some(Command::Sockets(args)) => sockets::sockets(args),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "kawatch", &mut script);
            print_all(&script)
        }
        Some(Command::Man { command: sub }) => {
            let top = command();
            let cmd = match &sub {
                None => Some(top),
                Some(name) => top
                    .find_subcommand(name)
                    .map(|c| c.clone().name(format!("kawatch-{name}"))),
            };
            match cmd {
                Some(cmd) => {
                    let mut page = Vec::new();
                    clap_mangen::Man::new(cmd)
                        .render(&mut page)
                        .map_err(anyhow::Error::from)
                        .and_then(|()| print_all(&page))
                }
                None => Err(exit::usage(format!(
                    "no command {:?}: kawatch man [report|check|sockets|completions]",
                    sub.unwrap_or_default()
                ))),
            }
        }
        None if cli.watch.list_interfaces => watch::list_interfaces(),
        None => watch::watch(cli.watch),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => exit::fail(&e),
    }
}
