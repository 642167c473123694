//! `kawatch sockets`: every local TCP connection's keepalive, as a table or
//! as JSON (`kawatch_sockets` version 1, docs/report-contract.md).

use super::types::{SocketReport, SocketsReport, Sysctl, SOCKETS_VERSION};
use super::UNKNOWN;
use crate::sockets::{Defaults, Listing};
use kawatch_core::{LocalSocket, SettingsFrom, TimerKind};
use std::io::{self, Write};

impl SocketReport {
    /// The contract's view of a socket.
    pub fn of(s: &LocalSocket) -> SocketReport {
        let k = &s.keepalive;
        let ms = |v: Option<u32>| v.map(|ms| f64::from(ms) / 1e3);
        SocketReport {
            local: s.local,
            remote: s.remote,
            state: s.state.as_str().to_string(),
            pid: s.owner.as_ref().map(|o| o.pid),
            process: s.owner.as_ref().map(|o| o.process.clone()),
            keepalive: k.on,
            idle_s: k.idle_s,
            intvl_s: k.intvl_s,
            probes: k.probes,
            user_timeout_ms: k.user_timeout_ms,
            settings_from: k.from,
            timer: s.timer.kind.as_str().to_string(),
            next_probe_in_s: s.next_probe_in_s(),
            probes_out: s.probes_out(),
            last_data_recv_s: ms(s.last_data_recv_ms),
            last_data_sent_s: ms(s.last_data_sent_ms),
        }
    }
}

/// Writes the listing as one JSON object.
pub fn write_sockets_json(
    l: &Listing,
    sockets: &[&LocalSocket],
    out: &mut dyn Write,
) -> io::Result<()> {
    let doc = SocketsReport {
        kawatch_sockets: SOCKETS_VERSION,
        netns: l.netns.clone(),
        sysctl: l.sysctl.map(|d: Defaults| Sysctl {
            keepalive_time: d.keepalive_time,
            keepalive_intvl: d.keepalive_intvl,
            keepalive_probes: d.keepalive_probes,
        }),
        sockets: sockets.iter().map(|s| SocketReport::of(s)).collect(),
        notes: l.notes.clone(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The mark before keepalive settings inferred from the kernel's timer, not
/// read from the socket: here and on the live screen.
pub(crate) const FROM_TIMER: &str = "≈";

/// The keepalive column: `off`, `on`, or idle/intvl/count with TCP_USER_TIMEOUT
/// when set, and `≈` before values inferred from the timer.
fn keepalive_text(s: &LocalSocket) -> String {
    let k = &s.keepalive;
    let mark = if k.from == Some(SettingsFrom::Timer) {
        FROM_TIMER
    } else {
        ""
    };
    match k.on {
        None => UNKNOWN.to_owned(),
        Some(false) => format!("{mark}off"),
        Some(true) => {
            let mut t = format!("{mark}{}", k.triple());
            if let Some(ut) = k.user_timeout_ms.filter(|&u| u > 0) {
                t.push_str(&format!(" ut {}s", f64::from(ut) / 1e3));
            }
            t
        }
    }
}

fn timer_text(s: &LocalSocket) -> String {
    match (s.next_probe_in_s(), s.probes_out()) {
        (Some(t), Some(0)) => format!("probe in {t:.1}s"),
        (Some(t), Some(n)) => format!("{n} out, next {t:.1}s"),
        // The FIN_WAIT2 timeout of a socket its process closed.
        _ if s.timer.kind == TimerKind::Keepalive => format!(
            "fin_wait2 ends in {:.1}s",
            f64::from(s.timer.expires_ms) / 1e3
        ),
        _ => s.timer.kind.as_str().to_owned(),
    }
}

/// Writes a readable table, one socket a row, with the namespace defaults
/// and notes beneath.
pub fn write_sockets_table(
    l: &Listing,
    sockets: &[&LocalSocket],
    out: &mut dyn Write,
) -> io::Result<()> {
    let secs = |v: Option<u32>| {
        v.map_or_else(
            || UNKNOWN.to_owned(),
            |ms| format!("{:.1}s", f64::from(ms) / 1e3),
        )
    };
    let header = [
        "LOCAL",
        "REMOTE",
        "STATE",
        "PROCESS",
        "KEEPALIVE",
        "TIMER",
        "RECV",
        "SENT",
    ];
    let rows: Vec<[String; 8]> = sockets
        .iter()
        .map(|s| {
            [
                s.local.to_string(),
                s.remote.to_string(),
                s.state.as_str().to_owned(),
                s.owner
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |o| format!("{}[{}]", o.process, o.pid)),
                keepalive_text(s),
                timer_text(s),
                secs(s.last_data_recv_ms),
                secs(s.last_data_sent_ms),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut t = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            if i + 1 == cells.len() {
                t.push_str(c);
            } else {
                t.push_str(&format!("{c:<w$}  "));
            }
        }
        t.trim_end().to_owned()
    };
    writeln!(out, "{}", line(&header))?;
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells))?;
    }
    if rows.is_empty() {
        if l.sockets.is_empty() {
            writeln!(out, "(no TCP connections in this network namespace)")?;
        } else {
            writeln!(
                out,
                "(none of the {} TCP sockets in this network namespace matches)",
                l.sockets.len()
            )?;
        }
    }
    writeln!(out)?;
    if let Some(d) = l.sysctl {
        writeln!(
            out,
            "namespace {} defaults: idle {}s, intvl {}s, {} probes (net.ipv4.tcp_keepalive_*)",
            l.netns, d.keepalive_time, d.keepalive_intvl, d.keepalive_probes
        )?;
    }
    writeln!(
        out,
        "KEEPALIVE is idle/intvl/probes; {FROM_TIMER} marks values inferred from the kernel's timer, not read from the socket; {UNKNOWN} unknown"
    )?;
    for n in &l.notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kawatch_core::{Endpoint, KeepaliveSettings, KernelTimer, SocketState, TimerKind};

    fn socket(keepalive: KeepaliveSettings) -> LocalSocket {
        let ep = |port| Endpoint::new([127, 0, 0, 1].into(), port);
        LocalSocket {
            local: ep(40000),
            remote: ep(7301),
            state: SocketState::Established,
            inode: 1,
            uid: 0,
            owner: None,
            timer: KernelTimer {
                kind: TimerKind::Keepalive,
                expires_ms: 42_000,
                probes_out: 0,
            },
            keepalive,
            last_data_recv_ms: None,
            last_data_sent_ms: Some(900),
            last_ack_recv_ms: None,
            unacked: None,
        }
    }

    /// The same marks as the live screen: `≈` inferred from the timer, `?`
    /// unknown.
    #[test]
    fn keepalive_marks() {
        let exact = KeepaliveSettings {
            on: Some(true),
            idle_s: Some(60),
            intvl_s: Some(10),
            probes: Some(5),
            user_timeout_ms: Some(0),
            from: Some(SettingsFrom::Socket),
        };
        let inferred = KeepaliveSettings {
            on: Some(true),
            idle_s: Some(60),
            from: Some(SettingsFrom::Timer),
            ..KeepaliveSettings::default()
        };
        let off = KeepaliveSettings {
            on: Some(false),
            from: Some(SettingsFrom::Timer),
            ..KeepaliveSettings::default()
        };
        let cases = [
            (exact, "60s/10s/5"),
            (inferred, "≈60s/?/?"),
            (off, "≈off"),
            (KeepaliveSettings::default(), "?"),
        ];
        for (k, want) in cases {
            assert_eq!(keepalive_text(&socket(k)), want, "{k:?}");
        }
    }

    /// The notes count the sockets shown, not the namespace's.
    #[test]
    fn notes_count_what_is_shown() {
        let (a, b) = (socket(KeepaliveSettings::default()), {
            let mut b = socket(KeepaliveSettings::default());
            b.local.port += 1;
            b
        });
        let unread = crate::sockets::Unread {
            hidden: 0,
            unsupported: false,
            denied: [(a.local, a.remote), (b.local, b.remote)].into(),
        };
        let notes = unread.notes([&a].into_iter());
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with("1 socket(s): no ptrace rights"),
            "{notes:?}"
        );
        assert_eq!(unread.notes([&a, &b].into_iter())[0].get(..2), Some("2 "));
        assert!(unread.notes(std::iter::empty()).is_empty());
    }

    #[test]
    fn table_marks_unknown_times() {
        let l = Listing {
            netns: "net:[1]".into(),
            sysctl: None,
            sockets: Vec::new(),
            listening: Vec::new(),
            notes: Vec::new(),
            unread: crate::sockets::Unread::default(),
        };
        let s = socket(KeepaliveSettings {
            on: Some(true),
            idle_s: Some(60),
            from: Some(SettingsFrom::Timer),
            ..KeepaliveSettings::default()
        });
        let mut out = Vec::new();
        write_sockets_table(&l, &[&s], &mut out).expect("written");
        let text = String::from_utf8(out).expect("UTF-8");
        let row = text.lines().nth(1).expect("a row");
        assert!(row.contains("≈60s/?/?"), "{text}");
        assert!(row.ends_with("?     0.9s"), "RECV unknown: {text}");
        assert!(text.contains("≈ marks values inferred"), "{text}");
    }
}
