//! sock_diag over netlink (NETLINK_SOCK_DIAG, `INET_DIAG_REQ_V2`): every TCP
//! socket of the current network namespace, as `ss -tie` reads them.

use super::SocketsError;
use kawatch_core::KeepaliveSettings;
use kawatch_core::{Endpoint, KernelTimer, LocalSocket, SocketState, TimerKind};
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::nlas::Nla;
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponse, InetResponseBuffer, SocketId, StateFlags,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_utils::Parseable;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr};
use std::time::{Duration, Instant};

/// SOCK_DIAG_BY_FAMILY: the message type of a sock_diag answer.
const SOCK_DIAG_BY_FAMILY: u16 = 20;

/// The longest a dump may take before it is abandoned.
const DUMP_LIMIT: Duration = Duration::from_secs(5);

/// Every TCP socket of the namespace except listeners, IPv4 then IPv6, with
/// `tcp_info`. Settings are left unknown here (the caller fills them in).
pub(crate) fn dump() -> Result<Vec<LocalSocket>, SocketsError> {
    let mut out = Vec::new();
    for family in [AF_INET, AF_INET6] {
        dump_family(family, &mut out)?;
    }
    Ok(out)
}

fn dump_family(family: u8, out: &mut Vec<LocalSocket>) -> Result<(), SocketsError> {
    let netlink = |what: &str, e: std::io::Error| SocketsError::Netlink(format!("{what}: {e}"));
    let mut socket = Socket::new(NETLINK_SOCK_DIAG).map_err(|e| netlink("socket", e))?;
    socket.bind_auto().map_err(|e| netlink("bind", e))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| netlink("connect", e))?;
    socket
        .set_non_blocking(false)
        .map_err(|e| netlink("blocking mode", e))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let socket_id = if family == AF_INET {
        SocketId::new_v4()
    } else {
        SocketId::new_v6()
    };
    // Listeners too: their ports tell which end of a loopback connection
    // accepted it.
    let states = StateFlags::all();
    let mut request = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::INFO,
            states,
            socket_id,
        })
        .into(),
    );
    request.finalize();
    let mut buf = vec![0; request.buffer_len()];
    request.serialize(&mut buf);
    socket.send(&buf, 0).map_err(|e| netlink("send", e))?;

    let started = Instant::now();
    let mut rx = vec![0u8; 1 << 16];
    loop {
        if started.elapsed() > DUMP_LIMIT {
            return Err(SocketsError::Netlink(format!(
                "the socket dump did not finish within {DUMP_LIMIT:?}"
            )));
        }
        let n = socket
            .recv(&mut &mut rx[..], 0)
            .map_err(|e| netlink("recv", e))?;
        let mut at = 0;
        while at < n {
            let msg = NetlinkBuffer::new_checked(&rx[at..n])
                .map_err(|e| SocketsError::Netlink(format!("bad netlink message: {e}")))?;
            let len = msg.length() as usize;
            match msg.message_type() {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    let payload = msg.payload();
                    let code = payload
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if code != 0 {
                        return Err(SocketsError::Netlink(format!(
                            "the kernel refused the socket dump: {}",
                            std::io::Error::from_raw_os_error(-code)
                        )));
                    }
                }
                SOCK_DIAG_BY_FAMILY => {
                    if let Some(s) = parse(msg.payload())? {
                        out.push(s);
                    }
                }
                _ => {}
            }
            if len == 0 {
                break;
            }
            // Messages are 4-byte aligned.
            at += (len + 3) & !3;
        }
    }
}

/// One `inet_diag_msg` with its attributes. The typed parser drops the
/// keepalive timer's probe count (`idiag_retrans`): read it from the raw
/// message.
fn parse(payload: &[u8]) -> Result<Option<LocalSocket>, SocketsError> {
    let bad = |e: netlink_packet_utils::DecodeError| {
        SocketsError::Netlink(format!("bad sock_diag message: {e}"))
    };
    let raw = InetResponseBuffer::new_checked(payload).map_err(bad)?;
    let timer = KernelTimer {
        kind: TimerKind::from_kernel(raw.timer()),
        expires_ms: raw.expires(),
        probes_out: raw.retransmits(),
    };
    let resp = InetResponse::parse(&raw).map_err(bad)?;
    let Some(state) = SocketState::from_kernel(resp.header.state) else {
        return Ok(None);
    };
    let id = &resp.header.socket_id;
    let mut s = LocalSocket {
        local: Endpoint::new(id.source_address.to_canonical(), id.source_port),
        remote: Endpoint::new(id.destination_address.to_canonical(), id.destination_port),
        state,
        inode: u64::from(resp.header.inode),
        uid: resp.header.uid,
        owner: None,
        timer,
        keepalive: KeepaliveSettings::default(),
        last_data_recv_ms: None,
        last_ack_recv_ms: None,
        last_data_sent_ms: None,
        unacked: None,
    };
    for nla in &resp.nlas {
        if let Nla::TcpInfo(info) = nla {
            // struct tcp_info (include/uapi/linux/tcp.h): eight u8 fields,
            // then u32s: rto, ato, snd_mss, rcv_mss, unacked (24),
            // sacked, lost, retrans, fackets, last_data_sent (44),
            // last_ack_sent, last_data_recv (52), last_ack_recv (56).
            let u32_at = |at: usize| {
                info.get(at..at + 4)
                    .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            };
            s.unacked = u32_at(24);
            // Before the handshake's answer these clocks were never set:
            // the kernel gives the time since its jiffies began (the
            // uptime less five minutes), no segment's.
            if state != SocketState::SynSent {
                s.last_data_sent_ms = u32_at(44);
                s.last_data_recv_ms = u32_at(52);
                s.last_ack_recv_ms = u32_at(56);
            }
        }
    }
    Ok(Some(s))
}
