//! `kawatch sockets`: every local TCP connection's keepalive, from the kernel.

use crate::args::NetnsArgs;
use anyhow::{Context, Result};
use clap::Args;
use kawatch::report::{write_sockets_json, write_sockets_table};
use std::io::{self, BufWriter, Write};

/// Output formats of `kawatch sockets`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
pub(crate) enum SocketsFormat {
    /// A readable table.
    #[default]
    Table,
    /// One JSON object, `kawatch_sockets` version 1.
    Json,
}

#[derive(Args, Debug)]
pub(crate) struct SocketsArgs {
    /// Output format.
    #[arg(short = 'T', long, value_enum, default_value_t = SocketsFormat::Table)]
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

pub(crate) fn sockets(args: SocketsArgs) -> Result<()> {
    args.netns.enter()?;
    let mut listing = kawatch::sockets::list().context("kawatch sockets")?;
    let wanted = |s: &&kawatch::core::LocalSocket| {
        let ends = [s.local, s.remote];
        (args.port.is_empty() || ends.iter().any(|e| args.port.contains(&e.port)))
            && (args.host.is_empty()
                || ends
                    .iter()
                    .any(|e| args.host.iter().any(|h| h.to_canonical() == e.ip)))
    };
    // The notes count what is shown.
    listing.notes = listing.unread.notes(listing.sockets.iter().filter(wanted));
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
