//! Application heartbeats end to end: real frames (kawatch-synth's scripted
//! conversations, each protocol's own bytes) through decode, the flow table
//! and the detector, whole and cut by a short snaplen; and the path verdicts
//! of the flows they make.

use kawatch_core::{
    allowed_silence_s, verdict, Analyzer, FlowView, HeartbeatProtocol, LinkType, PathTimeout,
    PathVerdict, PayloadHead,
};
use kawatch_synth::conversation::{Conversation, Host, Side, A, B};

fn conversation() -> Conversation {
    let mut c = Conversation::new(
        Host::v4([198, 18, 0, 1], 40000, 1),
        Host::v4([198, 18, 0, 2], 5000, 2),
    );
    c.handshake();
    c
}

/// The conversation's flows, its frames read as raw IP, each cut to
/// `snaplen` bytes when given (the wire length kept).
fn flows(c: &Conversation, snaplen: Option<usize>) -> Vec<FlowView> {
    let mut an = Analyzer::new(LinkType::RawIp);
    for p in c.packets() {
        let cut = snaplen.map_or(p.ip.len(), |s| s.min(p.ip.len()));
        an.ingest_frame_with_len(
            kawatch_core::Timestamp(p.ts.0),
            &p.ip[..cut],
            p.ip.len() as u32,
        );
    }
    an.flow_views().collect()
}

/// `ping` from `pinger` every `period` seconds, `n` times, each answered
/// 30 ms later with `pong` (if any) and acknowledged.
fn pings(
    c: &mut Conversation,
    pinger: Side,
    ping: &[u8],
    pong: Option<&[u8]>,
    period: f64,
    n: u32,
) {
    let other = if pinger == A { B } else { A };
    let start = c.now();
    for k in 0..n {
        c.at(start + 1.0 + period * f64::from(k));
        c.send_bytes(pinger, ping);
        match pong {
            Some(pong) => {
                c.wait(0.03).send_bytes(other, pong);
                c.wait(0.04).ack(pinger);
            }
            None => {
                c.wait(0.04).ack(other);
            }
        }
    }
}

fn http2_ping(ack: bool) -> Vec<u8> {
    let mut f = vec![0, 0, 8, 6, u8::from(ack), 0, 0, 0, 0];
    f.extend_from_slice(&[0x42; 8]);
    f
}

fn tls_record(len: usize) -> Vec<u8> {
    let mut r = vec![0x17, 0x03, 0x03];
    r.extend_from_slice(&((len - 5) as u16).to_be_bytes());
    r.resize(len, 0x99);
    r
}

#[test]
fn each_protocol_is_named_from_the_wire() {
    struct Case {
        name: &'static str,
        pinger: Side,
        ping: Vec<u8>,
        pong: Option<Vec<u8>>,
        want: HeartbeatProtocol,
    }
    let cases = [
        Case {
            name: "gRPC keepalive: HTTP/2 PING on h2c",
            pinger: A,
            ping: http2_ping(false),
            pong: Some(http2_ping(true)),
            want: HeartbeatProtocol::Http2Ping,
        },
        Case {
            name: "WebSocket ping from the server, masked pong from the client",
            pinger: B,
            ping: vec![0x89, 0x02, b'h', b'b'],
            pong: Some(vec![0x8a, 0x82, 9, 8, 7, 6, b'h' ^ 9, b'b' ^ 8]),
            want: HeartbeatProtocol::WebsocketPing,
        },
        Case {
            name: "MQTT PINGREQ / PINGRESP",
            pinger: A,
            ping: vec![0xc0, 0x00],
            pong: Some(vec![0xd0, 0x00]),
            want: HeartbeatProtocol::MqttPing,
        },
        Case {
            name: "AMQP 0-9-1 heartbeat, one way",
            pinger: B,
            ping: vec![8, 0, 0, 0, 0, 0, 0, 0xce],
            pong: None,
            want: HeartbeatProtocol::AmqpHeartbeat,
        },
        Case {
            name: "Redis PING / +PONG",
            pinger: A,
            ping: b"*1\r\n$4\r\nPING\r\n".to_vec(),
            pong: Some(b"+PONG\r\n".to_vec()),
            want: HeartbeatProtocol::RedisPing,
        },
        Case {
            name: "TLS application data both ways",
            pinger: A,
            ping: tls_record(39),
            pong: Some(tls_record(39)),
            want: HeartbeatProtocol::TlsPeriodic,
        },
        Case {
            name: "anything else",
            pinger: A,
            ping: b"still there?".to_vec(),
            pong: Some(b"yes".to_vec()),
            want: HeartbeatProtocol::Periodic,
        },
    ];
    for case in cases {
        let mut c = conversation();
        pings(
            &mut c,
            case.pinger,
            &case.ping,
            case.pong.as_deref(),
            20.0,
            5,
        );
        // Whole frames, and frames cut to their first 16 payload bytes
        // (raw IP: 20 + 20 bytes of headers).
        for snaplen in [None, Some(40 + PayloadHead::MAX), Some(40 + 9)] {
            if snaplen == Some(49) && case.want != HeartbeatProtocol::Http2Ping {
                continue;
            }
            let [f] = flows(&c, snaplen).try_into().expect("one flow");
            let what = format!("{} (snaplen {snaplen:?})", case.name);
            let [h] = f.heartbeats.as_slice() else {
                panic!("{what}: {:?}", f.heartbeats);
            };
            let pinger = if case.pinger == A { f.a } else { f.b };
            assert_eq!(h.endpoint, pinger, "{what}");
            assert_eq!(h.protocol, case.want, "{what}");
            assert_eq!(h.count, 5, "{what}");
            assert_eq!(h.answered, case.pong.is_some(), "{what}");
            assert!((h.period_s - 20.0).abs() < 1e-6, "{what}: {}", h.period_s);
            assert!(f.probers.is_empty(), "{what}: heartbeats make no prober");
        }
    }
}

#[test]
fn paths_a_heartbeat_protects() {
    // gRPC pings every 5 minutes: under every default path but Azure's 4.
    let mut c = conversation();
    pings(
        &mut c,
        A,
        &http2_ping(false),
        Some(&http2_ping(true)),
        300.0,
        4,
    );
    let [f] = flows(&c, None).try_into().expect("one flow");
    assert_eq!(allowed_silence_s(&f), Some(300.0));
    let verdicts: Vec<(String, PathVerdict)> = PathTimeout::defaults()
        .into_iter()
        .map(|p| (p.name.clone(), verdict(&f, &p)))
        .collect();
    let want = [
        ("azure-lb", PathVerdict::Exceeded),
        ("aws-nlb", PathVerdict::Safe),
        ("gcp-fw", PathVerdict::Safe),
        ("rfc5382", PathVerdict::Safe),
    ];
    let want: Vec<(String, PathVerdict)> = want.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    assert_eq!(verdicts, want);

    // The same silences with nothing keeping them short.
    let mut c = conversation();
    for k in 0..4 {
        c.at(1.0 + 300.0 * f64::from(k)).data(A, 400);
        c.wait(0.04).data(B, 900);
    }
    let [f] = flows(&c, None).try_into().expect("one flow");
    assert!(f.heartbeats.is_empty());
    assert_eq!(allowed_silence_s(&f), None);
    let aws = PathTimeout::parse("aws-nlb").unwrap();
    assert_eq!(verdict(&f, &aws), PathVerdict::AtRisk);
}

#[test]
fn the_heartbeats_fixture_holds_what_its_case_says() {
    // fixtures/synth/heartbeats.pcap, as kawatch_synth::cases makes it. The
    // MQTT CONNECT begins its cadence (60.04 s before the first PINGREQ):
    // its period counts it, its count (the three PINGREQs) does not.
    let case = kawatch_synth::cases::by_file_name("heartbeats.pcap").expect("the case");
    let mut an = Analyzer::new(LinkType::Ethernet);
    for f in (case.build)().frames() {
        an.ingest_frame_with_len(kawatch_core::Timestamp(f.ts.0), &f.data, f.orig_len);
    }
    let got: Vec<(u16, HeartbeatProtocol, f64, u32, bool)> = an
        .flow_views()
        .flat_map(|f| {
            assert!(f.probers.is_empty(), "no keepalive: {f:?}");
            f.heartbeats
        })
        .map(|h| {
            let period = (h.period_s * 1e3).round() / 1e3;
            (h.endpoint.port, h.protocol, period, h.count, h.answered)
        })
        .collect();
    assert_eq!(
        got,
        [
            (40000, HeartbeatProtocol::Http2Ping, 20.0, 4, true),
            (41000, HeartbeatProtocol::MqttPing, 60.013, 3, true),
            (443, HeartbeatProtocol::WebsocketPing, 24.833, 4, true),
        ]
    );
}
