//! Local sockets: what the kernel says about a TCP socket on this box, as
//! plain values (the tool's socket reader fills them in from sock_diag,
//! /proc and getsockopt), and the pure rules over them: keepalive settings
//! inferred from the kernel's timer when they cannot be read exactly
//! (KEEPALIVE-FACTS items 22-24).

use crate::segment::Endpoint;

/// A TCP socket's state as the kernel names it (include/net/tcp_states.h).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema),
    serde(rename_all = "snake_case")
)]
pub enum SocketState {
    /// TCP_ESTABLISHED.
    Established,
    /// TCP_SYN_SENT.
    SynSent,
    /// TCP_SYN_RECV.
    SynRecv,
    /// TCP_FIN_WAIT1.
    FinWait1,
    /// TCP_FIN_WAIT2.
    FinWait2,
    /// TCP_TIME_WAIT.
    TimeWait,
    /// TCP_CLOSE.
    Close,
    /// TCP_CLOSE_WAIT.
    CloseWait,
    /// TCP_LAST_ACK.
    LastAck,
    /// TCP_LISTEN.
    Listen,
    /// TCP_CLOSING.
    Closing,
    /// TCP_NEW_SYN_RECV.
    NewSynRecv,
}

impl SocketState {
    /// From the kernel's number (`idiag_state`).
    pub fn from_kernel(n: u8) -> Option<SocketState> {
        Some(match n {
            1 => SocketState::Established,
            2 => SocketState::SynSent,
            3 => SocketState::SynRecv,
            4 => SocketState::FinWait1,
            5 => SocketState::FinWait2,
            6 => SocketState::TimeWait,
            7 => SocketState::Close,
            8 => SocketState::CloseWait,
            9 => SocketState::LastAck,
            10 => SocketState::Listen,
            11 => SocketState::Closing,
            12 => SocketState::NewSynRecv,
            _ => return None,
        })
    }

    /// The name `ss` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketState::Established => "established",
            SocketState::SynSent => "syn_sent",
            SocketState::SynRecv => "syn_recv",
            SocketState::FinWait1 => "fin_wait1",
            SocketState::FinWait2 => "fin_wait2",
            SocketState::TimeWait => "time_wait",
            SocketState::Close => "close",
            SocketState::CloseWait => "close_wait",
            SocketState::LastAck => "last_ack",
            SocketState::Listen => "listen",
            SocketState::Closing => "closing",
            SocketState::NewSynRecv => "new_syn_recv",
        }
    }
}

/// The timer the kernel has armed on a socket (`idiag_timer`). Only one is
/// shown: a retransmission or zero-window timer hides the keepalive timer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema),
    serde(rename_all = "snake_case")
)]
pub enum TimerKind {
    /// No timer armed.
    None,
    /// Retransmission (or loss probe) timer: data is in flight.
    Retransmit,
    /// The keepalive timer (`sk_timer`).
    Keepalive,
    /// TIME_WAIT.
    TimeWait,
    /// Zero-window probe (persist) timer.
    ZeroWindow,
}

impl TimerKind {
    /// From the kernel's number (`idiag_timer`).
    pub fn from_kernel(n: u8) -> TimerKind {
        match n {
            1 => TimerKind::Retransmit,
            2 => TimerKind::Keepalive,
            3 => TimerKind::TimeWait,
            4 => TimerKind::ZeroWindow,
            _ => TimerKind::None,
        }
    }

    /// Every kind.
    pub const ALL: [TimerKind; 5] = [
        TimerKind::None,
        TimerKind::Retransmit,
        TimerKind::Keepalive,
        TimerKind::TimeWait,
        TimerKind::ZeroWindow,
    ];

    /// The kind [`TimerKind::as_str`] names.
    pub fn from_name(name: &str) -> Option<TimerKind> {
        TimerKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The word the sockets contract uses.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::None => "none",
            TimerKind::Retransmit => "retransmit",
            TimerKind::Keepalive => "keepalive",
            TimerKind::TimeWait => "time_wait",
            TimerKind::ZeroWindow => "zero_window",
        }
    }
}

/// The kernel's timer on a socket at the moment it was read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KernelTimer {
    /// Which timer.
    pub kind: TimerKind,
    /// Milliseconds until it fires (`idiag_expires`).
    pub expires_ms: u32,
    /// For the keepalive timer: probes sent and unanswered
    /// (`idiag_retrans`, the kernel's `icsk_probes_out`).
    pub probes_out: u8,
}

/// Where a socket's keepalive settings came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema),
    serde(rename_all = "snake_case")
)]
pub enum SettingsFrom {
    /// Read with getsockopt from the socket itself: exact, including the
    /// namespace defaults a socket inherits.
    Socket,
    /// Inferred from the kernel's keepalive timer: within timer slack.
    Timer,
}

/// A socket's keepalive settings, as far as they are known.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct KeepaliveSettings {
    /// SO_KEEPALIVE; `None` when it could not be told.
    pub on: Option<bool>,
    /// TCP_KEEPIDLE, seconds.
    pub idle_s: Option<u32>,
    /// TCP_KEEPINTVL, seconds.
    pub intvl_s: Option<u32>,
    /// TCP_KEEPCNT.
    pub probes: Option<u32>,
    /// TCP_USER_TIMEOUT, milliseconds (0: not set).
    pub user_timeout_ms: Option<u32>,
    /// Where they came from; `None` when nothing is known.
    pub from: Option<SettingsFrom>,
}

impl KeepaliveSettings {
    /// Whether the socket's keepalive is off, as read from the socket
    /// itself (a timer's estimate never says off).
    pub fn off(&self) -> bool {
        self.on == Some(false) && self.from == Some(SettingsFrom::Socket)
    }

    /// The unanswered probes the kernel sends before it gives up:
    /// TCP_KEEPCNT; with TCP_USER_TIMEOUT set, which replaces the count
    /// (item 8: Linux gives up at the first keepalive timer at or past the
    /// user timeout with a probe out), the probes sent before then, at
    /// least one.
    pub fn probes_to_give_up(&self) -> Option<u32> {
        match self.user_timeout_ms {
            Some(ut) if ut > 0 => {
                let (idle, intvl) = (u64::from(self.idle_s?), u64::from(self.intvl_s?));
                // The timer fires at idle + k x intvl with k probes out.
                let after_idle = u64::from(ut).saturating_sub(idle * 1000);
                let n = after_idle.div_ceil(intvl.max(1) * 1000).max(1);
                Some(u32::try_from(n).unwrap_or(u32::MAX))
            }
            _ => self.probes,
        }
    }

    /// Seconds from the last segment received to the give-up: idle +
    /// intvl x [`KeepaliveSettings::probes_to_give_up`].
    pub fn detection_s(&self) -> Option<f64> {
        let n = self.probes_to_give_up()?;
        Some(f64::from(self.idle_s?) + f64::from(self.intvl_s?) * f64::from(n))
    }

    /// `idle/intvl/count` as `60s/10s/5`, `?` for what is unknown.
    pub fn triple(&self) -> String {
        let n =
            |v: Option<u32>, unit: &str| v.map_or_else(|| "?".to_owned(), |v| format!("{v}{unit}"));
        format!(
            "{}/{}/{}",
            n(self.idle_s, "s"),
            n(self.intvl_s, "s"),
            n(self.probes, "")
        )
    }
}

/// The process holding a socket.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// The descriptor number in that process.
    pub fd: i32,
    /// The command name (`/proc/PID/comm`).
    pub process: String,
}

/// What the kernel says about one local TCP socket.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LocalSocket {
    /// This side.
    pub local: Endpoint,
    /// The peer.
    pub remote: Endpoint,
    /// TCP state.
    pub state: SocketState,
    /// Socket inode (0 for sockets no descriptor holds, such as TIME_WAIT).
    pub inode: u64,
    /// Owner's user id.
    pub uid: u32,
    /// The process holding it, when it could be found.
    pub owner: Option<Owner>,
    /// The armed timer.
    pub timer: KernelTimer,
    /// Keepalive settings and where they came from.
    pub keepalive: KeepaliveSettings,
    /// Milliseconds since the last data received (`tcpi_last_data_recv`).
    pub last_data_recv_ms: Option<u32>,
    /// Milliseconds since the last ACK received (`tcpi_last_ack_recv`).
    pub last_ack_recv_ms: Option<u32>,
    /// Milliseconds since the last data sent (`tcpi_last_data_sent`).
    pub last_data_sent_ms: Option<u32>,
    /// Segments sent and not yet acknowledged (`tcpi_unacked`).
    pub unacked: Option<u32>,
}

impl LocalSocket {
    /// Milliseconds since the last segment the kernel counts as received
    /// activity for keepalive: `min(now - lrcvtime, now - rcv_tstamp)`, that
    /// is the newer of the last data and the last ACK received (item 2).
    pub fn since_last_received_ms(&self) -> Option<u32> {
        match (self.last_data_recv_ms, self.last_ack_recv_ms) {
            (Some(d), Some(a)) => Some(d.min(a)),
            (d, a) => d.or(a),
        }
    }

    /// Seconds until the next keepalive probe (or the give-up), when the
    /// keepalive timer is the one armed. With no probe out the timer may
    /// fire before the idle has passed since the last segment received
    /// (after an answered probe it fires an interval after that probe): it
    /// then sends nothing and waits the rest, so the probe comes at the
    /// later of the two (item 5).
    pub fn next_probe_in_s(&self) -> Option<f64> {
        if !self.keepalive_timer() {
            return None;
        }
        let mut ms = self.timer.expires_ms;
        if self.timer.probes_out == 0 {
            if let (Some(idle), Some(since)) =
                (self.keepalive.idle_s, self.since_last_received_ms())
            {
                ms = ms.max(idle.saturating_mul(1000).saturating_sub(since));
            }
        }
        Some(f64::from(ms) / 1e3)
    }

    /// This reading as it stands `ms` later, the kernel's clocks run on:
    /// the timer nearer, the last segments further back.
    pub fn aged(&self, ms: u32) -> LocalSocket {
        let later = |v: Option<u32>| v.map(|v| v.saturating_add(ms));
        LocalSocket {
            timer: KernelTimer {
                expires_ms: self.timer.expires_ms.saturating_sub(ms),
                ..self.timer
            },
            last_data_recv_ms: later(self.last_data_recv_ms),
            last_ack_recv_ms: later(self.last_ack_recv_ms),
            last_data_sent_ms: later(self.last_data_sent_ms),
            ..self.clone()
        }
    }

    /// Keeps what an `earlier` reading of the same connection knew better:
    /// its exact settings, when this one could only infer them (the owner
    /// exited, or could not be read this time); and of two idles inferred
    /// from the timer, the longer: each is at most the setting (the timer
    /// is re-armed lazily, and after an answered probe it runs an interval:
    /// [`infer_from_timer`]).
    pub fn carry_over(&mut self, earlier: &LocalSocket) {
        if (earlier.local, earlier.remote) != (self.local, self.remote) {
            return;
        }
        let (now, then) = (&mut self.keepalive, &earlier.keepalive);
        match (now.from, then.from) {
            (Some(SettingsFrom::Socket), _) | (_, None) => {}
            (_, Some(SettingsFrom::Socket)) => *now = *then,
            (_, Some(SettingsFrom::Timer)) if now.on == Some(true) && then.on == Some(true) => {
                now.idle_s = now.idle_s.max(then.idle_s);
                now.from = Some(SettingsFrom::Timer);
            }
            _ => {}
        }
    }

    /// This reading of a socket the kernel no longer lists (it closed
    /// since): its settings stay what was read, its state is closed, with
    /// no timer armed and no segment times (they would run on from the
    /// reading, for a socket that is no more).
    pub fn gone(&self) -> LocalSocket {
        LocalSocket {
            state: SocketState::Close,
            timer: KernelTimer {
                kind: TimerKind::None,
                expires_ms: 0,
                probes_out: 0,
            },
            last_data_recv_ms: None,
            last_ack_recv_ms: None,
            last_data_sent_ms: None,
            unacked: None,
            ..self.clone()
        }
    }

    /// Unanswered probes out, when the keepalive timer is the one armed.
    pub fn probes_out(&self) -> Option<u32> {
        self.keepalive_timer()
            .then_some(u32::from(self.timer.probes_out))
    }

    /// Whether the timer armed is keepalive's. A socket its process closed
    /// (no file: inode 0) waiting in FIN_WAIT2 has the kernel's FIN_WAIT2
    /// timeout on the keepalive timer: that one says nothing of keepalive.
    pub fn keepalive_timer(&self) -> bool {
        self.timer.kind == TimerKind::Keepalive
            && !(self.state == SocketState::FinWait2 && self.inode == 0)
    }
}

/// Keepalive as far as the kernel's timer tells it, for a socket whose
/// options cannot be read (no ptrace rights over its owner).
///
/// - Keepalive timer armed: on. With no probe out, expiry plus the time since
///   the last segment received is TCP_KEEPIDLE (item 24: exact right after the
///   timer fired, an underestimate before, since the timer is re-armed
///   lazily). With probes out the timer waits TCP_KEEPINTVL from the last
///   probe, which the kernel does not date: the interval stays unknown.
/// - An established socket with no timer armed and nothing in flight: off.
/// - An orphan (closed by its process) in FIN_WAIT2: unknown; its timer is
///   the FIN_WAIT2 timeout.
/// - Anything else (a retransmission timer hides the keepalive timer): unknown.
pub fn infer_from_timer(s: &LocalSocket) -> KeepaliveSettings {
    let mut k = KeepaliveSettings::default();
    match s.timer.kind {
        // (An orphan's FIN_WAIT2 timeout: [`LocalSocket::keepalive_timer`].)
        TimerKind::Keepalive if !s.keepalive_timer() => {}
        TimerKind::Keepalive => {
            k.on = Some(true);
            k.from = Some(SettingsFrom::Timer);
            if s.timer.probes_out == 0 {
                if let Some(since) = s.since_last_received_ms() {
                    let ms = u64::from(s.timer.expires_ms) + u64::from(since);
                    // Whole seconds; timers fire late, never early (item 7).
                    k.idle_s = u32::try_from((ms + 500) / 1000).ok();
                }
            }
        }
        TimerKind::None
            if s.state == SocketState::Established && s.unacked.is_none_or(|u| u == 0) =>
        {
            k.on = Some(false);
            k.from = Some(SettingsFrom::Timer);
        }
        _ => {}
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn sock(kind: TimerKind, expires_ms: u32, probes_out: u8) -> LocalSocket {
        let ip = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
        LocalSocket {
            local: Endpoint::new(ip, 40000),
            remote: Endpoint::new(ip, 5432),
            state: SocketState::Established,
            inode: 1,
            uid: 0,
            owner: None,
            timer: KernelTimer {
                kind,
                expires_ms,
                probes_out,
            },
            keepalive: KeepaliveSettings::default(),
            last_data_recv_ms: Some(4_000),
            last_ack_recv_ms: Some(3_000),
            last_data_sent_ms: Some(5_000),
            unacked: Some(0),
        }
    }

    /// Settings read from the socket: keepalive on, idle/intvl/count and
    /// the user timeout (ms).
    fn exact(idle: u32, intvl: u32, cnt: u32, ut: u32) -> KeepaliveSettings {
        KeepaliveSettings {
            on: Some(true),
            idle_s: Some(idle),
            intvl_s: Some(intvl),
            probes: Some(cnt),
            user_timeout_ms: Some(ut),
            from: Some(SettingsFrom::Socket),
        }
    }

    #[test]
    fn timer_inference() {
        let cases: &[(&str, LocalSocket, KeepaliveSettings)] = &[
            (
                "keepalive armed, no probe out: idle = expiry + since last received (the newer of data and ACK)",
                sock(TimerKind::Keepalive, 57_000, 0),
                KeepaliveSettings {
                    on: Some(true),
                    idle_s: Some(60),
                    from: Some(SettingsFrom::Timer),
                    ..Default::default()
                },
            ),
            (
                "probes out: the timer counts the interval from an undated probe",
                sock(TimerKind::Keepalive, 1_000, 2),
                KeepaliveSettings {
                    on: Some(true),
                    from: Some(SettingsFrom::Timer),
                    ..Default::default()
                },
            ),
            (
                "no timer, established, nothing in flight: keepalive is off",
                sock(TimerKind::None, 0, 0),
                KeepaliveSettings {
                    on: Some(false),
                    from: Some(SettingsFrom::Timer),
                    ..Default::default()
                },
            ),
            (
                "a retransmission timer hides the keepalive timer",
                sock(TimerKind::Retransmit, 200, 1),
                KeepaliveSettings::default(),
            ),
            (
                "no timer but data in flight: unknown",
                LocalSocket {
                    unacked: Some(3),
                    ..sock(TimerKind::None, 0, 0)
                },
                KeepaliveSettings::default(),
            ),
            (
                "an orphan in FIN_WAIT2: the timer is its FIN_WAIT2 timeout, not keepalive",
                LocalSocket {
                    state: SocketState::FinWait2,
                    inode: 0,
                    ..sock(TimerKind::Keepalive, 59_000, 0)
                },
                KeepaliveSettings::default(),
            ),
            (
                "no timer in TIME_WAIT's place: not established, unknown",
                LocalSocket {
                    state: SocketState::FinWait2,
                    ..sock(TimerKind::None, 0, 0)
                },
                KeepaliveSettings::default(),
            ),
        ];
        for (name, s, want) in cases {
            assert_eq!(infer_from_timer(s), *want, "{name}");
        }
    }

    /// TCP_USER_TIMEOUT replaces the count (item 8): the timer fires at
    /// idle + k x intvl with k probes out, and gives up at the first firing
    /// at or past the user timeout with a probe out.
    #[test]
    fn the_give_up_with_and_without_a_user_timeout() {
        let k = exact;
        let cases = [
            (
                "no user timeout: the count",
                k(60, 10, 5, 0),
                Some(5),
                Some(110.0),
            ),
            (
                "3/2/2, 12 s: probes at 3,5,7,9,11; RST at 13",
                k(3, 2, 2, 12_000),
                Some(5),
                Some(13.0),
            ),
            (
                "a user timeout on a firing: that firing gives up",
                k(3, 2, 9, 11_000),
                Some(4),
                Some(11.0),
            ),
            (
                "a user timeout under the idle: one probe",
                k(60, 10, 9, 5_000),
                Some(1),
                Some(70.0),
            ),
        ];
        for (name, s, probes, detection) in cases {
            assert_eq!(
                (s.probes_to_give_up(), s.detection_s()),
                (probes, detection),
                "{name}"
            );
        }
        let unknown = KeepaliveSettings {
            idle_s: None,
            ..k(3, 2, 2, 12_000)
        };
        assert_eq!(unknown.probes_to_give_up(), None, "the idle is needed");
    }

    /// After an answered probe the timer runs an interval from the probe;
    /// the next probe comes only once the idle has passed since the answer.
    #[test]
    fn the_next_probe_and_a_reading_later() {
        let exact = exact(7, 3, 3, 0);
        // Answered 0.5 s ago (an ACK), the probe sent 0.5 s before that.
        let answered = LocalSocket {
            keepalive: exact,
            last_ack_recv_ms: Some(500),
            ..sock(TimerKind::Keepalive, 2_000, 0)
        };
        assert_eq!(answered.next_probe_in_s(), Some(6.5), "not the timer's 2 s");
        let out = LocalSocket {
            keepalive: exact,
            ..sock(TimerKind::Keepalive, 2_000, 1)
        };
        assert_eq!(
            out.next_probe_in_s(),
            Some(2.0),
            "a probe out: the interval"
        );
        assert_eq!(sock(TimerKind::Retransmit, 200, 0).next_probe_in_s(), None);
        // 300 ms on: the timer nearer, the last segments further back.
        let later = out.aged(300);
        assert_eq!(later.next_probe_in_s(), Some(1.7));
        assert_eq!(
            (
                later.last_data_recv_ms,
                later.last_ack_recv_ms,
                later.last_data_sent_ms
            ),
            (Some(4_300), Some(3_300), Some(5_300))
        );
        assert_eq!(out.aged(9_000).timer.expires_ms, 0);
    }

    /// A reading keeps what an earlier one of the connection knew better.
    #[test]
    fn readings_carry_over() {
        let inferred = |idle| KeepaliveSettings {
            on: Some(true),
            idle_s: idle,
            from: Some(SettingsFrom::Timer),
            ..KeepaliveSettings::default()
        };
        let exact = exact(7, 3, 3, 0);
        let with = |k| LocalSocket {
            keepalive: k,
            ..sock(TimerKind::Keepalive, 1_000, 0)
        };
        let cases = [
            (
                "exact, then inferred: exact stays",
                exact,
                inferred(Some(3)),
                exact,
            ),
            (
                "exact, then unknown: exact stays",
                exact,
                KeepaliveSettings::default(),
                exact,
            ),
            (
                "inferred 7, then 3 after an answered probe: 7",
                inferred(Some(7)),
                inferred(Some(3)),
                inferred(Some(7)),
            ),
            (
                "inferred 3, then 7: 7",
                inferred(Some(3)),
                inferred(Some(7)),
                inferred(Some(7)),
            ),
            (
                "inferred, then exact: exact",
                inferred(Some(3)),
                exact,
                exact,
            ),
        ];
        for (name, then, now, want) in cases {
            let mut s = with(now);
            s.carry_over(&with(then));
            assert_eq!(s.keepalive, want, "{name}");
        }
        let mut other = LocalSocket {
            remote: Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 9)), 1),
            ..with(inferred(Some(3)))
        };
        other.carry_over(&with(exact));
        assert_eq!(other.keepalive, inferred(Some(3)), "another connection");
    }

    #[test]
    fn kernel_numbers() {
        assert_eq!(SocketState::from_kernel(1), Some(SocketState::Established));
        assert_eq!(SocketState::from_kernel(10), Some(SocketState::Listen));
        assert_eq!(SocketState::from_kernel(0), None);
        assert_eq!(TimerKind::from_kernel(2), TimerKind::Keepalive);
        assert_eq!(TimerKind::from_kernel(9), TimerKind::None);
    }
}
