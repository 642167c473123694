//! Screens of the terminal UI, drawn with ratatui's `TestBackend` and
//! compared with insta snapshots (`tests/snapshots/`), and key handling.
//!
//! The data is real: frames built with etherparse go through the
//! [`Analyzer`] (or a capture in `fixtures/` is read with [`Source`]), and
//! the snapshot the screens draw is the analyser's. Nothing here is a
//! hand-written `FlowView`.
//!
//! `INSTA_UPDATE=always cargo test --test it tui_render::` rewrites the snapshots;
//! read every diff before keeping one.

use etherparse::PacketBuilder;
use kawatch::capture::{Next, Source};
use kawatch::status as state;
use kawatch::tui::app::{Action, SortKey, ViewState};
use kawatch::tui::feed::FeedStatus;
use kawatch::tui::{keys, render};
use kawatch::{Analyzer, LinkType, Snapshot, Timestamp};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use std::net::IpAddr;
use std::path::Path;

// ---------------------------------------------------------------------------
// Frames: a few TCP conversations, built packet by packet
// ---------------------------------------------------------------------------

/// Capture time 0 of the scenes.
const T0: f64 = 1_700_000_000.0;

/// One end of a conversation.
#[derive(Clone, Copy)]
struct Peer {
    ip: IpAddr,
    port: u16,
}

fn v4(ip: [u8; 4], port: u16) -> Peer {
    Peer {
        ip: IpAddr::from(ip),
        port,
    }
}

fn v6(ip: &str, port: u16) -> Peer {
    Peer {
        ip: ip.parse().expect("IPv6 literal"),
        port,
    }
}

/// Frames in capture-time order once sorted.
#[derive(Default)]
struct Wire {
    frames: Vec<(f64, Vec<u8>)>,
}

const ACK: u8 = 1;
const SYN: u8 = 2;
const FIN: u8 = 4;
const RST: u8 = 8;

impl Wire {
    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        at: f64,
        src: Peer,
        dst: Peer,
        flags: u8,
        seq: u32,
        ack: u32,
        len: usize,
    ) {
        self.segment_with(at, src, dst, flags, seq, ack, &vec![0x61; len]);
    }

    /// A segment carrying `payload`.
    #[allow(clippy::too_many_arguments)]
    fn segment_with(
        &mut self,
        at: f64,
        src: Peer,
        dst: Peer,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) {
        let mac = |p: &Peer| [0x02, 0, 0, 0, 0, (p.port & 0xff) as u8];
        let eth = PacketBuilder::ethernet2(mac(&src), mac(&dst));
        let ip = match (src.ip, dst.ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
            _ => panic!("mixed address families"),
        };
        let mut tcp = ip.tcp(src.port, dst.port, seq, 64_000);
        if flags & ACK != 0 {
            tcp = tcp.ack(ack);
        }
        if flags & SYN != 0 {
            tcp = tcp.syn();
        }
        if flags & FIN != 0 {
            tcp = tcp.fin();
        }
        if flags & RST != 0 {
            tcp = tcp.rst();
        }
        let mut bytes = Vec::new();
        tcp.write(&mut bytes, payload).expect("frame");
        self.frames.push((at, bytes));
    }

    /// Feeds every frame, in time order, to a fresh analyser.
    fn analyzer(self) -> Analyzer {
        self.analyzer_with(kawatch::core::Limits::default())
    }

    /// Feeds every frame, in time order, to a fresh analyser with these bounds.
    fn analyzer_with(mut self, limits: kawatch::core::Limits) -> Analyzer {
        self.frames.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut an = Analyzer::with_limits(LinkType::Ethernet, limits);
        for (at, bytes) in &self.frames {
            an.ingest_frame(Timestamp::from_secs_f64(T0 + at), bytes);
        }
        an
    }
}

/// A TCP conversation that keeps both sides' sequence numbers.
struct Conn<'w> {
    w: &'w mut Wire,
    ends: [Peer; 2],
    nxt: [u32; 2],
}

const A: usize = 0;
const B: usize = 1;

impl<'w> Conn<'w> {
    fn new(w: &'w mut Wire, a: Peer, b: Peer) -> Conn<'w> {
        Conn {
            w,
            ends: [a, b],
            nxt: [1_000, 50_000],
        }
    }

    fn send(&mut self, at: f64, side: usize, flags: u8, seq: u32, len: usize) -> &mut Self {
        let ack = self.nxt[1 - side];
        let (src, dst) = (self.ends[side], self.ends[1 - side]);
        self.w.segment(at, src, dst, flags, seq, ack, len);
        self
    }

    /// SYN, SYN-ACK, ACK from `at`.
    fn handshake(&mut self, at: f64) -> &mut Self {
        let (a, b) = (self.ends[A], self.ends[B]);
        self.w.segment(at, a, b, SYN, self.nxt[A] - 1, 0, 0);
        self.w.segment(
            at + 0.0001,
            b,
            a,
            SYN | ACK,
            self.nxt[B] - 1,
            self.nxt[A],
            0,
        );
        self.send(at + 0.0002, A, ACK, self.nxt[A], 0)
    }

    /// `len` bytes from `side`, acknowledged by the other side 0.3 ms later.
    fn data(&mut self, at: f64, side: usize, len: usize) -> &mut Self {
        let seq = self.nxt[side];
        self.send(at, side, ACK, seq, len);
        self.nxt[side] += len as u32;
        let seq = self.nxt[1 - side];
        self.send(at + 0.0003, 1 - side, ACK, seq, 0)
    }

    /// `payload` from `side`, not acknowledged (an application's own bytes:
    /// a heartbeat, its answer).
    fn bytes(&mut self, at: f64, side: usize, payload: &[u8]) -> &mut Self {
        let (src, dst) = (self.ends[side], self.ends[1 - side]);
        let (seq, ack) = (self.nxt[side], self.nxt[1 - side]);
        self.w.segment_with(at, src, dst, ACK, seq, ack, payload);
        self.nxt[side] += payload.len() as u32;
        self
    }

    /// A keepalive probe from `side`: seq = snd_nxt - 1, no data.
    fn probe(&mut self, at: f64, side: usize) -> &mut Self {
        let seq = self.nxt[side] - 1;
        self.send(at, side, ACK, seq, 0)
    }

    /// A probe from `side` and the peer's answer 0.2 ms later.
    fn answered(&mut self, at: f64, side: usize) -> &mut Self {
        self.probe(at, side);
        let seq = self.nxt[1 - side];
        self.send(at + 0.0002, 1 - side, ACK, seq, 0)
    }

    /// The prober's RST after unanswered probes.
    fn give_up(&mut self, at: f64, side: usize) -> &mut Self {
        let seq = self.nxt[side];
        self.send(at, side, RST | ACK, seq, 0)
    }

    /// The peer answering a probe from `side` with RST (it lost the connection).
    fn peer_reset(&mut self, at: f64, side: usize) -> &mut Self {
        let (src, dst) = (self.ends[1 - side], self.ends[side]);
        let seq = self.nxt[1 - side];
        self.w.segment(at, src, dst, RST, seq, 0, 0);
        self
    }

    fn fin(&mut self, at: f64, side: usize) -> &mut Self {
        let seq = self.nxt[side];
        self.send(at, side, FIN | ACK, seq, 0);
        self.nxt[side] += 1;
        self
    }
}

/// The scenes happen this long after the first connection opened, which
/// idles on Linux's default 7200 s.
const END: f64 = 7200.0;

/// The snapshot's clock: `END + 100` s.
fn now() -> Timestamp {
    Timestamp::from_secs_f64(T0 + END + 100.0)
}

/// Thirteen connections, one per thing the screen must show.
fn scene() -> Analyzer {
    let mut w = Wire::default();
    let e = END;
    // Linux defaults: idle 7200 s, answered.
    Conn::new(
        &mut w,
        v4([198, 18, 0, 1], 41000),
        v4([198, 18, 0, 2], 5432),
    )
    .handshake(0.0)
    .data(0.1, A, 200)
    .data(0.2, B, 900)
    .answered(7200.6, A);
    // Alive: idle 15 s, answered every 15 s.
    let mut c = Conn::new(&mut w, v4([198, 18, 0, 3], 40100), v4([198, 18, 0, 4], 443));
    c.handshake(e).data(e + 0.1, A, 100).data(e + 0.2, B, 1400);
    for k in 1..=6 {
        c.answered(e + 0.2 + 15.06 * k as f64, A);
    }
    // Probing: idle 10 s, interval 3 s, three probes unanswered.
    Conn::new(
        &mut w,
        v4([198, 18, 0, 5], 40200),
        v4([198, 18, 0, 6], 6379),
    )
    .handshake(e + 70.0)
    .data(e + 80.0, A, 64)
    .probe(e + 90.03, A)
    .probe(e + 93.06, A)
    .probe(e + 96.09, A);
    // Dead: idle 2 s, interval 1 s, 3 probes, then RST.
    Conn::new(
        &mut w,
        v4([198, 18, 0, 7], 40300),
        v4([198, 18, 0, 8], 8080),
    )
    .handshake(e + 50.0)
    .data(e + 50.0005, A, 10)
    .probe(e + 52.03, A)
    .probe(e + 53.06, A)
    .probe(e + 54.09, A)
    .give_up(e + 55.12, A);
    // Reset by peer: it answers a probe with RST.
    Conn::new(
        &mut w,
        v4([198, 18, 0, 9], 40400),
        v4([198, 18, 0, 10], 9000),
    )
    .handshake(e + 60.0)
    .data(e + 60.1, B, 30)
    .probe(e + 65.15, A)
    .peer_reset(e + 65.1503, A);
    // Active: data a moment ago.
    Conn::new(
        &mut w,
        v4([198, 18, 0, 11], 40500),
        v4([198, 18, 0, 12], 80),
    )
    .handshake(e + 99.0)
    .data(e + 99.5, A, 300)
    .data(e + 99.6, B, 1200);
    // Idle: quiet for a minute, no keepalives.
    Conn::new(
        &mut w,
        v4([198, 18, 0, 13], 40600),
        v4([198, 18, 0, 14], 22),
    )
    .handshake(e + 30.0)
    .data(e + 40.0, A, 48);
    // Closed: FIN both ways.
    Conn::new(
        &mut w,
        v4([198, 18, 0, 15], 40700),
        v4([198, 18, 0, 16], 25),
    )
    .handshake(e + 10.0)
    .data(e + 10.5, A, 20)
    .fin(e + 20.0, A)
    .fin(e + 20.001, B);
    // Already idle when the capture started: the first thing seen is a probe.
    Conn::new(
        &mut w,
        v4([198, 18, 1, 20], 51000),
        v4([198, 18, 1, 21], 1883),
    )
    .answered(e + 70.0, A)
    .answered(e + 85.02, A);
    // Both sides probe, IPv6.
    let mut c = Conn::new(&mut w, v6("2001:db8::a", 50000), v6("2001:db8::b", 6000));
    c.handshake(e + 5.0)
        .data(e + 5.1, A, 10)
        .data(e + 5.2, B, 10);
    c.answered(e + 25.22, A)
        .answered(e + 35.25, B)
        .answered(e + 45.4, A)
        .answered(e + 65.27, B)
        .answered(e + 65.6, A)
        .answered(e + 85.8, A);
    // Overdue: answered every 10 s, then nothing for a minute.
    Conn::new(
        &mut w,
        v4([198, 18, 0, 17], 40800),
        v4([198, 18, 0, 18], 3306),
    )
    .handshake(e + 0.5)
    .data(e + 0.6, A, 10)
    .answered(e + 10.65, A)
    .answered(e + 20.7, A)
    .answered(e + 30.75, A);
    // Opening: only a SYN.
    let (a, b) = (v4([198, 18, 0, 19], 40900), v4([198, 18, 0, 20], 8443));
    w.segment(e + 98.0, a, b, SYN, 7, 0, 0);
    w.analyzer()
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

fn replay_status(source: &str) -> FeedStatus {
    FeedStatus {
        source: source.into(),
        link: "EN10MB".into(),
        speed: Some(10.0),
        ..FeedStatus::default()
    }
}

fn live_status() -> FeedStatus {
    FeedStatus {
        source: "interface:kw0".into(),
        link: "EN10MB".into(),
        live: true,
        drops: Some(0),
        ..FeedStatus::default()
    }
}

fn view(snap: &Snapshot, color: bool, rows: usize) -> ViewState {
    let mut v = ViewState::new(color);
    v.set_page(rows);
    v.sync(snap);
    v
}

fn draw(
    snap: &Snapshot,
    status: &FeedStatus,
    v: &mut ViewState,
    w: u16,
    h: u16,
) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    // As the UI loop does: the source says what the replay keys may do.
    v.live = status.live;
    v.set_page(render::table_rows(ratatui::layout::Rect::new(0, 0, w, h)));
    term.draw(|f| render::draw(f, snap, status, v))
        .expect("draw");
    term
}

/// The screen as text, trailing blanks trimmed.
fn text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Runs of styled cells: `y x..x fg bg modifiers 'text'`, default style left out.
fn styles(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut x = 0;
        while x < buf.area.width {
            let c = &buf[(x, y)];
            let key = (c.fg, c.bg, c.modifier);
            let start = x;
            let mut s = String::new();
            while x < buf.area.width {
                let d = &buf[(x, y)];
                if (d.fg, d.bg, d.modifier) != key {
                    break;
                }
                s.push_str(d.symbol());
                x += 1;
            }
            if key != (Color::Reset, Color::Reset, Modifier::empty()) && !s.trim().is_empty() {
                out.push_str(&format!(
                    "{y:>2} {start:>3}..{x:<3} {:?} {:?} {:?} '{}'\n",
                    key.0,
                    key.1,
                    key.2,
                    s.trim_end()
                ));
            }
        }
    }
    out
}

fn no_colour_anywhere(term: &Terminal<TestBackend>) -> bool {
    let buf = term.backend().buffer();
    buf.content()
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
}

// ---------------------------------------------------------------------------
// Screens
// ---------------------------------------------------------------------------

#[test]
fn table() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 30);
    let term = draw(&snap, &replay_status("scene.pcap"), &mut v, 160, 40);
    insta::assert_snapshot!("table", text(&term));
}

#[test]
fn table_colours() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 30);
    let term = draw(&snap, &replay_status("scene.pcap"), &mut v, 160, 40);
    insta::assert_snapshot!("table_colours", styles(&term));
    assert!(!no_colour_anywhere(&term));
}

#[test]
fn table_no_color() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, false, 30);
    let term = draw(&snap, &replay_status("scene.pcap"), &mut v, 160, 40);
    assert!(no_colour_anywhere(&term), "NO_COLOR: no colour at all");
    // The same words; emphasis only through bold, dim, reverse, underline.
    let mut coloured = view(&snap, true, 30);
    let with = draw(&snap, &replay_status("scene.pcap"), &mut coloured, 160, 40);
    assert_eq!(text(&term), text(&with));
    insta::assert_snapshot!("table_no_color_styles", styles(&term));
}

#[test]
fn detail_probing() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 30);
    // The probing connection is the third by state (after dead and overdue).
    for _ in 0..2 {
        v.apply(Action::Down, &snap);
    }
    v.apply(Action::OpenDetail, &snap);
    let term = draw(&snap, &replay_status("scene.pcap"), &mut v, 160, 40);
    let t = text(&term);
    assert!(t.contains("198.18.0.5:40200"), "{t}");
    insta::assert_snapshot!("detail_probing", t);
}

#[test]
fn detail_both_sides() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 30);
    v.apply(Action::FilterStart, &snap);
    for c in "2001:".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    v.apply(Action::FilterAccept, &snap);
    v.apply(Action::OpenDetail, &snap);
    let term = draw(&snap, &replay_status("scene.pcap"), &mut v, 160, 40);
    insta::assert_snapshot!("detail_both_sides", text(&term));
}

/// Both sides probe; the server's probes go unanswered and it gives up.
/// The client's own probes were answered, and none of its next ones will
/// come: the connection was reset, not "the prober may be gone".
#[test]
fn a_reset_connection_expects_no_more_probes() {
    let mut w = Wire::default();
    Conn::new(
        &mut w,
        v4([198, 18, 7, 1], 44000),
        v4([198, 18, 7, 2], 5432),
    )
    .handshake(0.0)
    .data(0.1, A, 100)
    .answered(10.1, A)
    .answered(20.1, A)
    .probe(30.0, B)
    .probe(32.0, B)
    .probe(34.0, B)
    .give_up(36.0, B);
    let snap = w.analyzer().snapshot(Timestamp::from_secs_f64(T0 + 200.0));
    let mut v = view(&snap, false, 30);
    v.apply(Action::OpenDetail, &snap);
    let t = text(&draw(&snap, &replay_status("x.pcap"), &mut v, 160, 40));
    assert!(t.contains("nothing: the connection was reset"), "{t}");
    assert!(!t.contains("may be gone"), "{t}");
}

#[test]
fn detail_dead() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 30);
    v.apply(Action::OpenDetail, &snap);
    let term = draw(&snap, &replay_status("scene.pcap"), &mut v, 120, 30);
    insta::assert_snapshot!("detail_dead", text(&term));
}

#[test]
fn help_overlay() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 30);
    v.apply(Action::ToggleHelp, &snap);
    let term = draw(&snap, &replay_status("scene.pcap"), &mut v, 160, 40);
    insta::assert_snapshot!("help", text(&term));
}

/// At 80x24 the help does not fit: long lines wrap under their own start,
/// and it scrolls to its last line.
#[test]
fn help_overlay_at_80_wraps_and_scrolls() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 20);
    press(&mut v, &snap, &[ch('?')]);
    let top = text(&draw(&snap, &replay_status("scene.pcap"), &mut v, 80, 24));
    assert!(top.contains("kawatch help · ↑↓ scroll"), "{top}");
    assert!(top.contains("first/last"), "wrapped, not cut: {top}");
    press(&mut v, &snap, &[ch('G')]);
    let bottom = text(&draw(&snap, &replay_status("scene.pcap"), &mut v, 80, 24));
    assert!(bottom.contains("(KEEPALIVE)"), "the last line: {bottom}");
    insta::assert_snapshot!("help_80_top", top);
    insta::assert_snapshot!("help_80_bottom", bottom);
}

#[test]
fn empty_live() {
    let snap = Analyzer::new(LinkType::Ethernet).snapshot(now());
    let mut v = view(&snap, true, 20);
    let term = draw(&snap, &live_status(), &mut v, 100, 16);
    insta::assert_snapshot!("empty_live", text(&term));
}

#[test]
fn empty_filter() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 20);
    v.apply(Action::FilterStart, &snap);
    for c in "nothing-like-this".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    let term = draw(&snap, &replay_status("scene.pcap"), &mut v, 100, 16);
    insta::assert_snapshot!("empty_filter", text(&term));
}

#[test]
fn narrow_80() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 20);
    let term = draw(&snap, &live_status(), &mut v, 80, 24);
    insta::assert_snapshot!("narrow_80", text(&term));
}

#[test]
fn narrow_50() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 10);
    let term = draw(&snap, &live_status(), &mut v, 50, 12);
    insta::assert_snapshot!("narrow_50", text(&term));
}

/// The table at `w` x `h` after pressing `keys` (`>`, `<`).
fn scrolled(w: u16, h: u16, keys_: &str) -> String {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, true, 20);
    let area = ratatui::layout::Rect::new(0, 0, w, h);
    v.set_page(render::table_rows(area));
    for c in keys_.chars() {
        // As the UI loop does: the screen's layout says where `>` goes.
        v.set_columns(render::column_steps(area, &snap, &live_status(), &v));
        press(&mut v, &snap, &[ch(c)]);
    }
    text(&draw(&snap, &live_status(), &mut v, w, h))
}

/// At 80 columns, `>` shifts the hidden columns into view one by one (the
/// endpoints and the state stay), `◀` marks those scrolled out on the left,
/// the legend line counts both sides; `<` goes back.
#[test]
fn narrow_80_scrolls() {
    let start = scrolled(80, 24, "");
    assert!(legend_line(&start).ends_with("9 more columns ▶"), "{start}");
    // The next hidden column, the survival mark against the path in focus,
    // comes into view; the arrow makes room for it.
    let one = scrolled(80, 24, ">");
    assert!(title_and_header(&one).1.starts_with('◀'), "{one}");
    assert!(legend_line(&one).contains("◀ 1 more column · "), "{one}");
    assert!(
        one.contains("AZURE-LB 240s") && one.contains("✓ safe"),
        "{one}"
    );
    let three = scrolled(80, 24, ">>>");
    let end = scrolled(80, 24, &">".repeat(20));
    assert!(
        legend_line(&end).trim_end().ends_with("more columns"),
        "{end}"
    );
    assert!(
        !legend_line(&end).contains('▶'),
        "nothing left on the right: {end}"
    );
    assert!(end.contains("QUIET"), "the last column in view: {end}");
    // `<` brings back one column at a time.
    let back = scrolled(80, 24, ">>><");
    assert!(
        title_and_header(&back).1.starts_with('◀') && back != three,
        "{back}"
    );
    assert_eq!(scrolled(80, 24, "><"), start, "< goes back");
    assert_eq!(scrolled(80, 24, "><<"), start, "no further");
    for s in [&one, &three, &end] {
        for l in s.lines().skip(2).take(8) {
            assert!(
                l.contains("198.18.") || l.contains("2001:"),
                "endpoints stay: {s}"
            );
        }
    }
    insta::assert_snapshot!("narrow_80_scrolled_1", one);
    insta::assert_snapshot!("narrow_80_scrolled_3", three);
    insta::assert_snapshot!("narrow_80_scrolled_end", end);
}

/// At 50 columns nothing beside the endpoints and the state fits: each `>`
/// brings one column into view, the endpoints giving way to it.
#[test]
fn narrow_50_scrolls() {
    let one = scrolled(50, 12, ">");
    let two = scrolled(50, 12, ">>");
    assert!(one.contains("KEPT BY"), "{one}");
    assert!(two.contains("AZURE-LB 240s"), "{two}");
    assert!(
        legend_line(&two).contains("◀ 1 more column · 8 more columns ▶"),
        "{two}"
    );
    let end = scrolled(50, 12, &">".repeat(20));
    assert!(end.contains("QUIET"), "{end}");
    insta::assert_snapshot!("narrow_50_scrolled_1", one);
    insta::assert_snapshot!("narrow_50_scrolled_2", two);
    insta::assert_snapshot!("narrow_50_scrolled_end", end);
}

fn title_and_header(screen: &str) -> (&str, &str) {
    let mut l = screen.lines();
    (l.next().unwrap_or_default(), l.next().unwrap_or_default())
}

/// A capture shipped in `fixtures/`, read through libpcap as `--read` does.
#[test]
fn fixture_capture() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth/null.pcap");
    let mut src = Source::open_file(&path, None).expect("fixture opens");
    let mut an = Analyzer::new(src.link_type());
    while let Next::Frame(f) = src.next_frame().expect("fixture reads") {
        an.ingest_frame(f.ts, f.data);
    }
    let end = an.time_range().1.expect("frames");
    let snap = an.snapshot(end);
    let mut v = view(&snap, true, 20);
    let mut status = replay_status("fixtures/synth/null.pcap");
    status.link = src.link_name().into();
    status.speed = None;
    status.finished = true;
    let term = draw(&snap, &status, &mut v, 160, 10);
    insta::assert_snapshot!("fixture_null", text(&term));
}

/// States and countdowns move with the clock, with no new packet.
#[test]
fn time_moves_states_on() {
    let an = scene();
    let probing = |t: f64| {
        let snap = an.snapshot(Timestamp::from_secs_f64(T0 + END + t));
        let f = snap
            .flows
            .iter()
            .find(|f| f.a.port == 40200)
            .expect("probing flow")
            .clone();
        state::state(&f, snap.now).word()
    };
    assert_eq!(probing(97.0), "probing 3/~9");
    assert_eq!(probing(100.0), "probing 3/~9");
    // The next probe (interval 3 s) was due at +99.09; past the timer's slack it is overdue.
    assert_eq!(probing(101.5), "overdue");

    let screen = |t: f64| {
        let snap = an.snapshot(Timestamp::from_secs_f64(T0 + END + t));
        let mut v = view(&snap, false, 30);
        v.apply(Action::FilterInput('4'), &snap);
        for c in "0200".chars() {
            v.apply(Action::FilterInput(c), &snap);
        }
        text(&draw(&snap, &replay_status("scene.pcap"), &mut v, 160, 8))
    };
    let early = screen(97.0);
    let later = screen(99.0);
    // The earliest give-up (one 3 s interval after the last probe) counts
    // down with the clock; no guess from defaults that jumps when the
    // interval shows.
    assert!(early.contains("dead in ≥2.1s"), "{early}");
    assert!(
        later.contains("dead in ≥0.1s") || later.contains("dead any time"),
        "{later}"
    );

    // An alive flow whose next probe is overdue turns `overdue` on its own.
    let alive = |t: f64| {
        let snap = an.snapshot(Timestamp::from_secs_f64(T0 + END + t));
        let f = snap
            .flows
            .iter()
            .find(|f| f.a.port == 40800)
            .unwrap()
            .clone();
        state::state(&f, snap.now).word()
    };
    assert_eq!(alive(31.0), "alive");
    assert_eq!(alive(42.0), "alive");
    assert_eq!(alive(45.0), "overdue");
}

/// Only the rows on screen are formatted; thousands of flows stay cheap.
#[test]
fn thousands_of_flows() {
    let mut w = Wire::default();
    for i in 0..3000u32 {
        let a = v4([198, 18, (i / 250) as u8 + 2, (i % 250) as u8 + 1], 40000);
        let b = v4([198, 19, 0, 1], 443);
        let mut c = Conn::new(&mut w, a, b);
        let t = i as f64 * 0.01;
        c.handshake(t).data(t + 0.1, A, 10).answered(t + 15.1, A);
    }
    let an = w.analyzer();
    let snap = an.snapshot(Timestamp::from_secs_f64(T0 + 60.0));
    let start = std::time::Instant::now();
    let mut v = view(&snap, true, 30);
    for _ in 0..10 {
        v.sync(&snap);
        draw(&snap, &live_status(), &mut v, 160, 40);
    }
    let per_frame = start.elapsed() / 10;
    assert_eq!(v.rows.len(), 3000);
    assert!(
        per_frame < std::time::Duration::from_millis(200),
        "sync + draw of 3000 flows took {per_frame:?}"
    );
}

// ---------------------------------------------------------------------------
// Keys: key -> action -> state
// ---------------------------------------------------------------------------

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

/// Presses keys one by one, as the UI does.
fn press(v: &mut ViewState, snap: &Snapshot, keys_: &[KeyEvent]) -> Vec<Option<Action>> {
    keys_
        .iter()
        .map(|k| {
            let a = keys::action(*k, v);
            if let Some(a) = a {
                v.apply(a, snap);
            }
            a
        })
        .collect()
}

#[test]
fn keys_to_actions_to_state() {
    let snap = scene().snapshot(now());
    type Check = fn(&ViewState, &Snapshot) -> bool;
    type Case<'a> = (&'a str, &'a [KeyEvent], &'a [Option<Action>], Check);
    let cases: &[Case] = &[
        ("q quits", &[ch('q')], &[Some(Action::Quit)], |v, _| v.quit),
        (
            "ctrl-c quits",
            &[ctrl('c')],
            &[Some(Action::Quit)],
            |v, _| v.quit,
        ),
        (
            "ctrl-c quits while typing a filter",
            &[ch('/'), ctrl('c')],
            &[Some(Action::FilterStart), Some(Action::Quit)],
            |v, _| v.quit,
        ),
        (
            "down moves the selection",
            &[key(KeyCode::Down), ch('j')],
            &[Some(Action::Down), Some(Action::Down)],
            |v, _| v.cursor == 2,
        ),
        (
            "up stops at the top",
            &[key(KeyCode::Up), ch('k')],
            &[Some(Action::Up), Some(Action::Up)],
            |v, _| v.cursor == 0,
        ),
        (
            "G and g: last and first",
            &[ch('G')],
            &[Some(Action::Bottom)],
            |v, s| v.cursor == s.flows.len() - 1,
        ),
        (
            "s cycles the sort",
            &[ch('s'), ch('s')],
            &[Some(Action::CycleSort), Some(Action::CycleSort)],
            |v, _| v.sort == SortKey::Activity,
        ),
        (
            "r reverses",
            &[ch('r')],
            &[Some(Action::ReverseSort)],
            |v, s| v.reverse && s.flows[v.rows[v.rows.len() - 1].flow].a.port == 40300,
        ),
        (
            "/ types a filter; letters are text, not commands",
            &[ch('/'), ch('q'), ch('s'), key(KeyCode::Backspace)],
            &[
                Some(Action::FilterStart),
                Some(Action::FilterInput('q')),
                Some(Action::FilterInput('s')),
                Some(Action::FilterBackspace),
            ],
            |v, _| v.editing && v.filter == "q" && !v.quit,
        ),
        (
            "enter keeps the filter",
            &[
                ch('/'),
                ch('6'),
                ch('3'),
                ch('7'),
                ch('9'),
                key(KeyCode::Enter),
            ],
            &[
                Some(Action::FilterStart),
                Some(Action::FilterInput('6')),
                Some(Action::FilterInput('3')),
                Some(Action::FilterInput('7')),
                Some(Action::FilterInput('9')),
                Some(Action::FilterAccept),
            ],
            |v, _| !v.editing && v.filter == "6379" && v.rows.len() == 1,
        ),
        (
            "esc drops the filter",
            &[ch('/'), ch('x'), key(KeyCode::Esc)],
            &[
                Some(Action::FilterStart),
                Some(Action::FilterInput('x')),
                Some(Action::FilterClear),
            ],
            |v, s| !v.editing && v.filter.is_empty() && v.rows.len() == s.flows.len(),
        ),
        (
            "filter terms all match (AND)",
            &[
                ch('/'),
                ch('a'),
                ch('l'),
                ch('i'),
                ch('v'),
                ch('e'),
                ch(' '),
                ch('4'),
                ch('4'),
                ch('3'),
            ],
            &[
                Some(Action::FilterStart),
                Some(Action::FilterInput('a')),
                Some(Action::FilterInput('l')),
                Some(Action::FilterInput('i')),
                Some(Action::FilterInput('v')),
                Some(Action::FilterInput('e')),
                Some(Action::FilterInput(' ')),
                Some(Action::FilterInput('4')),
                Some(Action::FilterInput('4')),
                Some(Action::FilterInput('3')),
            ],
            |v, s| v.rows.len() == 1 && s.flows[v.rows[0].flow].b.port == 443,
        ),
        (
            "enter opens the detail of the selected row, esc closes it",
            &[key(KeyCode::Enter)],
            &[Some(Action::OpenDetail)],
            |v, _| v.detail.is_some() && v.detail == v.selected,
        ),
        (
            "detail: esc goes back",
            &[key(KeyCode::Enter), key(KeyCode::Esc)],
            &[Some(Action::OpenDetail), Some(Action::CloseDetail)],
            |v, _| v.detail.is_none(),
        ),
        (
            "detail: down scrolls, n moves to the next connection",
            &[key(KeyCode::Enter), key(KeyCode::Down), ch('n')],
            &[
                Some(Action::OpenDetail),
                Some(Action::Down),
                Some(Action::NextFlow),
            ],
            |v, _| v.cursor == 1 && v.detail == v.selected && v.detail_scroll == 0,
        ),
        (
            "detail: / does nothing",
            &[key(KeyCode::Enter), ch('/')],
            &[Some(Action::OpenDetail), None],
            |v, _| !v.editing,
        ),
        (
            "space pauses and resumes",
            &[ch(' ')],
            &[Some(Action::TogglePause)],
            |v, _| v.paused,
        ),
        (
            "? shows help; other keys wait; ↓ scrolls the help, not the table; ? hides it",
            &[ch('?'), ch('s'), key(KeyCode::Down), ch('?')],
            &[
                Some(Action::ToggleHelp),
                None,
                Some(Action::Down),
                Some(Action::ToggleHelp),
            ],
            |v, _| !v.help && v.sort == SortKey::State && v.cursor == 0,
        ),
        (
            "q quits from the help",
            &[ch('?'), ch('q')],
            &[Some(Action::ToggleHelp), Some(Action::Quit)],
            |v, _| v.quit,
        ),
        (
            "a: keepalive flows only",
            &[ch('a')],
            &[Some(Action::ToggleKeepaliveOnly)],
            |v, s| {
                v.keepalive_only
                    && v.rows.iter().all(|r| !s.flows[r.flow].probers.is_empty())
                    && v.rows.len() == 8
            },
        ),
        (
            "unbound keys do nothing",
            &[ch('x'), key(KeyCode::F(5))],
            &[None, None],
            |v, _| !v.quit && v.cursor == 0,
        ),
    ];
    for (name, pressed, want, check) in cases {
        let mut v = view(&snap, true, 30);
        let got = press(&mut v, &snap, pressed);
        assert_eq!(&got, want, "{name}: actions");
        assert!(check(&v, &snap), "{name}: state {v:#?}");
    }
}

#[test]
fn selection_follows_the_connection_across_snapshots() {
    let an = scene();
    let snap = an.snapshot(now());
    let mut v = view(&snap, true, 30);
    // Select the overdue-to-be alive flow on port 40800 by filtering, then clear.
    press(
        &mut v,
        &snap,
        &[ch('/'), ch('4'), ch('0'), ch('8'), key(KeyCode::Enter)],
    );
    let id = v.selected;
    press(&mut v, &snap, &[key(KeyCode::Esc)]);
    assert_eq!(v.selected, id, "clearing the filter keeps the selection");
    // Later the state order changes; the selection stays on the same connection.
    let later = an.snapshot(Timestamp::from_secs_f64(T0 + END + 30.0));
    v.sync(&later);
    assert_eq!(v.selected, id);
    assert_eq!(
        later.flows[v.rows[v.cursor].flow].a.port, 40800,
        "cursor moved with it"
    );
}

#[test]
fn sort_keys_order_rows() {
    let snap = scene().snapshot(now());
    let ports =
        |v: &ViewState| -> Vec<u16> { v.rows.iter().map(|r| snap.flows[r.flow].a.port).collect() };
    let mut v = view(&snap, true, 30);
    let by_state = ports(&v);
    assert_eq!(
        &by_state[..3],
        &[40300, 40800, 40200],
        "dead, overdue, probing first"
    );
    v.apply(Action::CycleSort, &snap); // idle
    let by_idle = ports(&v);
    assert_eq!(by_idle[0], 40300, "shortest observed idle (2 s) first");
    v.apply(Action::CycleSort, &snap); // last activity
    assert_eq!(ports(&v)[0], 40500, "most recent activity first");
    v.apply(Action::CycleSort, &snap); // endpoint
    let by_ep = ports(&v);
    assert_eq!(by_ep[0], 41000, "198.18.0.1 first");
    assert_eq!(*by_ep.last().unwrap(), 50000, "IPv6 after IPv4");
}

// ---------------------------------------------------------------------------
// This box's sockets beside the wire (issue 10)
// ---------------------------------------------------------------------------

/// A socket as the kernel would report it.
fn socket(
    local: Peer,
    remote: Peer,
    keepalive: kawatch::core::KeepaliveSettings,
    timer: (kawatch::core::TimerKind, u32, u8),
    owner: Option<(&str, u32)>,
) -> kawatch::core::LocalSocket {
    use kawatch::core::{Endpoint, KernelTimer, LocalSocket, Owner, SocketState};
    let ep = |p: Peer| Endpoint::new(p.ip, p.port);
    LocalSocket {
        local: ep(local),
        remote: ep(remote),
        state: SocketState::Established,
        inode: 1,
        uid: 0,
        owner: owner.map(|(process, pid)| Owner {
            pid,
            fd: 5,
            process: process.into(),
        }),
        timer: KernelTimer {
            kind: timer.0,
            expires_ms: timer.1,
            probes_out: timer.2,
        },
        keepalive,
        last_data_recv_ms: Some(30_000),
        last_ack_recv_ms: Some(30_000),
        last_data_sent_ms: Some(31_000),
        unacked: Some(0),
    }
}

/// The scene with four local sockets: two the wire shows (one read exactly,
/// one whose settings disagree with the wire), two it has not shown yet
/// (keepalive off; keepalive inferred from the timer).
fn scene_with_sockets() -> Snapshot {
    use kawatch::core::{KeepaliveSettings, SettingsFrom, TimerKind};
    let exact = |idle, intvl, probes| KeepaliveSettings {
        on: Some(true),
        idle_s: Some(idle),
        intvl_s: Some(intvl),
        probes: Some(probes),
        user_timeout_ms: Some(0),
        from: Some(SettingsFrom::Socket),
    };
    let sockets = vec![
        socket(
            v4([198, 18, 0, 1], 41000),
            v4([198, 18, 0, 2], 5432),
            exact(7200, 75, 9),
            (TimerKind::Keepalive, 7_100_000, 0),
            Some(("psql", 4242)),
        ),
        socket(
            v4([198, 18, 0, 3], 40100),
            v4([198, 18, 0, 4], 443),
            exact(20, 3, 5),
            (TimerKind::Keepalive, 4_000, 0),
            Some(("curl", 4300)),
        ),
        socket(
            v4([198, 18, 0, 50], 47000),
            v4([198, 18, 0, 51], 6379),
            KeepaliveSettings {
                on: Some(false),
                from: Some(SettingsFrom::Socket),
                ..exact(7200, 75, 9)
            },
            (TimerKind::None, 0, 0),
            Some(("redis-cli", 777)),
        ),
        socket(
            v4([198, 18, 0, 52], 47001),
            v4([198, 18, 0, 53], 5672),
            KeepaliveSettings {
                on: Some(true),
                idle_s: Some(60),
                from: Some(SettingsFrom::Timer),
                ..KeepaliveSettings::default()
            },
            (TimerKind::Keepalive, 42_000, 0),
            None,
        ),
    ];
    kawatch::core::with_sockets(scene().snapshot(now()), sockets)
}

#[test]
fn local_sockets_in_the_table() {
    let snap = scene_with_sockets();
    let mut v = view(&snap, false, 30);
    let status = FeedStatus {
        local: Some(kawatch::tui::feed::LocalStatus::Read {
            sockets: 4,
            notes: vec!["1 socket(s): no ptrace rights".into()],
        }),
        ..live_status()
    };
    let term = draw(&snap, &status, &mut v, 230, 24);
    let t = text(&term);
    for want in [
        "psql[4242]",
        "=7200s/75s/9",
        "=off",
        "redis-cli[777]",
        "≈60s/?/?",
        "probe in 42s",
        "198.18.0.52:47001",
        "4 local sockets (some settings ≈ from the timer: run as root to read them)",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    insta::assert_snapshot!("local_sockets", t);
}

#[test]
fn local_socket_in_the_detail_view() {
    let snap = scene_with_sockets();
    let mut v = view(&snap, false, 30);
    v.apply(Action::FilterStart, &snap);
    for c in "40100".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    v.apply(Action::FilterAccept, &snap);
    v.apply(Action::OpenDetail, &snap);
    let term = draw(&snap, &live_status(), &mut v, 160, 50);
    let t = text(&term);
    for want in [
        "198.18.0.3:40100 on this box",
        "curl [pid 4300",
        "idle/intvl/probes 20s/3s/5",
        "Disagrees",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    insta::assert_snapshot!("local_socket_detail", t);
}

/// A probing connection whose socket on this box the kernel lists no more,
/// with no FIN or RST on the wire (its probes dropped on the way out, the
/// kernel gave up): `gone`, not a probing countdown or a growing "late"
/// (found by a live review); the detail view says why.
#[test]
fn a_socket_closed_unseen_is_gone() {
    use kawatch::core::{KeepaliveSettings, SettingsFrom, TimerKind};
    let exact = KeepaliveSettings {
        on: Some(true),
        idle_s: Some(10),
        intvl_s: Some(3),
        probes: Some(5),
        user_timeout_ms: Some(0),
        from: Some(SettingsFrom::Socket),
    };
    let closed = socket(
        v4([198, 18, 0, 5], 40200),
        v4([198, 18, 0, 6], 6379),
        exact,
        (TimerKind::Keepalive, 1_000, 3),
        Some(("redis-cli", 900)),
    )
    .gone();
    let snap = kawatch::core::with_sockets_where(scene().snapshot(now()), vec![closed], |_| false);
    let mut v = view(&snap, false, 30);
    let t = text(&draw(&snap, &live_status(), &mut v, 200, 24));
    let row = t
        .lines()
        .find(|l| l.contains("198.18.0.5:40200"))
        .expect("the connection");
    assert!(row.contains("gone"), "{row}");
    assert!(row.contains("socket closed, wire silent"), "{row}");
    assert!(!row.contains("dead in"), "{row}");
    v.apply(Action::FilterStart, &snap);
    for c in "40200".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    v.apply(Action::FilterAccept, &snap);
    v.apply(Action::OpenDetail, &snap);
    let t = text(&draw(&snap, &live_status(), &mut v, 160, 50));
    assert!(
        t.contains("this box's socket closed with no FIN or RST on the wire"),
        "{t}"
    );
}

/// A prober whose socket's keepalive was turned off since it probed: no
/// probe is due and none is late (the row said "probe due", and before
/// that "overdue"; found by a live review).
#[test]
fn keepalive_turned_off_since_is_neither_due_nor_late() {
    use kawatch::core::{KeepaliveSettings, SettingsFrom, TimerKind};
    let off = socket(
        v4([198, 18, 0, 3], 40100),
        v4([198, 18, 0, 4], 443),
        KeepaliveSettings {
            on: Some(false),
            from: Some(SettingsFrom::Socket),
            ..KeepaliveSettings::default()
        },
        (TimerKind::None, 0, 0),
        Some(("curl", 4300)),
    );
    // Long after the last answered probe: by the wire, a probe is late.
    let later = now().add_secs(120.0);
    let snap = kawatch::core::with_sockets_where(scene().snapshot(later), vec![off], |_| true);
    let mut v = view(&snap, false, 30);
    let t = text(&draw(&snap, &live_status(), &mut v, 200, 24));
    let row = t
        .lines()
        .find(|l| l.contains("198.18.0.3:40100"))
        .expect("the connection");
    assert!(row.contains("keepalive off"), "{row}");
    assert!(!row.contains("overdue") && !row.contains("due"), "{row}");
    // Nor does the wire's old keepalive keep it alive any more.
    assert!(!row.contains("ka 15s"), "{row}");
    assert!(row.contains("nothing"), "{row}");
}

/// A replay that ends while a side is probing says so; it does not count down
/// past the end of what the capture can show.
#[test]
fn a_replay_ended_while_probing_says_so() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, false, 30);
    let ended = FeedStatus {
        finished: true,
        ..replay_status("scene.pcap")
    };
    let t = text(&draw(&snap, &ended, &mut v, 200, 24));
    let probing = t
        .lines()
        .find(|l| l.contains("198.18.0.5:40200"))
        .expect("the probing connection");
    assert!(probing.contains("capture ended, 3 unanswered"), "{t}");
    assert!(!t.contains("dead in"), "no countdown after the end: {t}");
}

/// Flows with keepalives lost to the flow table's bounds are counted beside
/// the evictions, in words when the line has room.
#[test]
fn the_status_line_counts_lost_keepalive_flows() {
    let mut w = Wire::default();
    for i in 0..5u16 {
        let t = 20.0 * f64::from(i);
        Conn::new(
            &mut w,
            v4([198, 18, 0, 1], 41000 + i),
            v4([198, 18, 0, 2], 80),
        )
        .handshake(t)
        .answered(t + 10.0, A);
    }
    let limits = kawatch::core::Limits {
        max_flows: 2,
        max_retired: 1,
        ..kawatch::core::Limits::default()
    };
    let an = w.analyzer_with(limits);
    let snap = an.snapshot(Timestamp::from_secs_f64(T0 + 100.0));
    assert_eq!(snap.counters.keepalive_flows_lost, 2);
    let status = live_status();
    let mut v = view(&snap, false, 10);
    let wide = text(&draw(&snap, &status, &mut v, 200, 12));
    let status_line = |t: &str| {
        t.lines()
            .find(|l| l.contains("evicted"))
            .unwrap_or("")
            .to_owned()
    };
    let line = status_line(&wide);
    assert!(
        line.contains("3 evicted (--max-flows)")
            && line.contains("2 keepalive flows lost (--max-retired)"),
        "{wide}"
    );
    let narrow = text(&draw(&snap, &status, &mut v, 80, 12));
    let line = status_line(&narrow);
    assert!(
        line.contains("3 evicted") && line.contains("2 lost"),
        "{narrow}"
    );
}

// ---------------------------------------------------------------------------
// Times: in the zone of their moment, dated when a capture spans days
// ---------------------------------------------------------------------------

/// Seconds after [`T0`] of an RFC 3339 time, and 0.1 ms: the scenes'
/// times are `f64` seconds, and this keeps a time a hair's breadth past
/// its millisecond, which is shown cut.
fn after_t0(s: &str) -> f64 {
    let t: jiff::Timestamp = s.parse().expect("a time");
    t.as_second() as f64 + f64::from(t.subsec_nanosecond()) / 1e9 - T0 + 0.0001
}

/// A zone from the system's time zone database, or `None` (and why,
/// printed) when this machine has none.
fn zone(name: &str) -> Option<jiff::tz::TimeZone> {
    match jiff::tz::TimeZone::get(name) {
        Ok(z) => Some(z),
        Err(e) => {
            eprintln!("SKIP: time zone {name} not available (is tzdata installed?): {e}");
            None
        }
    }
}

/// The detail view of the connection whose text contains `port`, its
/// "Connection" line.
fn connection_line(snap: &Snapshot, zone: &jiff::tz::TimeZone, port: &str) -> String {
    let mut v = view(snap, false, 30);
    v.zone = zone.clone();
    v.apply(Action::FilterStart, snap);
    for c in port.chars() {
        v.apply(Action::FilterInput(c), snap);
    }
    v.apply(Action::FilterAccept, snap);
    v.apply(Action::OpenDetail, snap);
    let t = text(&draw(snap, &replay_status("scene.pcap"), &mut v, 160, 20));
    t.lines()
        .find(|l| l.contains("first seen"))
        .unwrap_or_else(|| panic!("no connection line:\n{t}"))
        .to_string()
}

/// One capture, one view in Europe/Berlin: a January connection at +01:00,
/// a June one at +02:00; the capture spans days, so dates show.
#[test]
fn times_at_the_offset_of_their_moment() {
    let Some(berlin) = zone("Europe/Berlin") else {
        return;
    };
    let mut w = Wire::default();
    let jan = after_t0("2026-01-15T12:00:00.25Z");
    let jun = after_t0("2026-06-01T12:03:07.5Z");
    Conn::new(&mut w, v4([198, 18, 0, 1], 41001), v4([198, 18, 0, 2], 80))
        .handshake(jan)
        .data(jan + 1.0, A, 10);
    Conn::new(&mut w, v4([198, 18, 0, 3], 41002), v4([198, 18, 0, 4], 80))
        .handshake(jun)
        .data(jun + 1.0, A, 10);
    let snap = w
        .analyzer()
        .snapshot(Timestamp::from_secs_f64(T0 + jun + 2.0));
    let cases = [
        ("41001", &berlin, "first seen 2026-01-15 13:00:00.250"),
        ("41002", &berlin, "first seen 2026-06-01 14:03:07.500"),
        (
            "41001",
            &jiff::tz::TimeZone::UTC,
            "first seen 2026-01-15 12:00:00.250",
        ),
        (
            "41002",
            &jiff::tz::TimeZone::UTC,
            "first seen 2026-06-01 12:03:07.500",
        ),
    ];
    for (port, z, want) in cases {
        let line = connection_line(&snap, z, port);
        assert!(
            line.contains(want),
            "{port} in {z:?}: {want:?} missing: {line}"
        );
    }
}

/// A capture within one local day shows times of day; one that crosses
/// midnight in the zone (but not in UTC) shows dates, on the status line too.
#[test]
fn the_date_shows_when_the_capture_spans_days() {
    let Some(berlin) = zone("Europe/Berlin") else {
        return;
    };
    let utc = jiff::tz::TimeZone::UTC;
    let mut w = Wire::default();
    let start = after_t0("2026-06-01T21:30:00Z");
    Conn::new(&mut w, v4([198, 18, 0, 1], 41001), v4([198, 18, 0, 2], 80))
        .handshake(start)
        .data(start + 3600.0, A, 10);
    let snap = w
        .analyzer()
        .snapshot(Timestamp::from_secs_f64(T0 + start + 3600.5));
    // 21:30-22:30 UTC; 23:30-00:30 in Berlin.
    let utc_line = connection_line(&snap, &utc, "41001");
    assert!(
        utc_line.contains("first seen 21:30:00.000 · last seen 22:30:00.000"),
        "{utc_line}"
    );
    let berlin_line = connection_line(&snap, &berlin, "41001");
    assert!(
        berlin_line
            .contains("first seen 2026-06-01 23:30:00.000 · last seen 2026-06-02 00:30:00.000"),
        "{berlin_line}"
    );
    let status = |z: &jiff::tz::TimeZone| {
        let mut v = view(&snap, false, 10);
        v.zone = z.clone();
        let t = text(&draw(&snap, &replay_status("scene.pcap"), &mut v, 160, 12));
        t.lines().nth(10).unwrap_or_default().to_string()
    };
    assert!(
        status(&utc).contains("clock 22:30:00.500 (t+1h00m)"),
        "{}",
        status(&utc)
    );
    assert!(
        status(&berlin).contains("clock 2026-06-02 00:30:00.500 (t+1h00m)"),
        "{}",
        status(&berlin)
    );
}

// ---------------------------------------------------------------------------
// Marks: one symbol per meaning, explained under the table when on screen
// ---------------------------------------------------------------------------

/// The line under the table's rows (above the status line).
fn legend_line(screen: &str) -> &str {
    let lines: Vec<&str> = screen.lines().collect();
    lines[lines.len() - 3]
}

#[test]
fn the_legend_explains_the_marks_on_screen() {
    let snap = scene().snapshot(now());
    let screen = |filter: &str, w: u16| {
        let mut v = view(&snap, false, 30);
        for c in filter.chars() {
            v.apply(Action::FilterInput(c), &snap);
        }
        text(&draw(&snap, &replay_status("scene.pcap"), &mut v, w, 30))
    };
    let cases: &[(&str, u16, &[&str], &[&str])] = &[
        // `probing 3/~9`: the count is assumed; its INTVL is known, CNT
        // only at least the run so far (`≥3`).
        (
            "40200",
            220,
            &["? unknown", "~ assumed (Linux default)", "≥ at least"],
            &[">", "-"],
        ),
        // Already idle when the capture began: no data seen, so QUIET is a
        // lower bound, and nothing of its settings is known.
        (
            "51000",
            220,
            &["? unknown", "> at least (no data seen)"],
            &["~"],
        ),
        // Dead, every value known: nothing to explain.
        ("40300", 220, &[], &["?", "~", ">"]),
        // No prober: empty cells, nothing to explain.
        ("40500", 220, &[], &["?", "-"]),
        // Only the marks of the columns shown: at 60 columns the count
        // column is hidden, the state's `~` is not.
        ("40200", 60, &["~ assumed (Linux default)"], &["? unknown"]),
    ];
    for (filter, w, want, not) in cases {
        let s = screen(filter, *w);
        let legend = legend_line(&s);
        for m in *want {
            assert!(
                legend.contains(m),
                "{filter} at {w}: {m:?} missing: {legend:?}\n{s}"
            );
        }
        for m in *not {
            assert!(
                !legend.contains(m),
                "{filter} at {w}: {m:?} shown: {legend:?}\n{s}"
            );
        }
        if want.is_empty() {
            assert_eq!(legend.trim(), "", "{filter}: {s}");
        }
    }
}

/// Unknown is `?` everywhere on screen, `-` only what does not apply.
#[test]
fn unknown_is_a_question_mark() {
    let snap = scene_with_sockets();
    let mut v = view(&snap, false, 30);
    let t = text(&draw(&snap, &live_status(), &mut v, 230, 24));
    let overdue = row_of(&t, "198.18.0.17:40800");
    // IDLE known; INTVL and CNT unknown; LIKELY `10s/?/?`.
    assert!(
        overdue.contains("10.05s       ?    ?  10s/?/?"),
        "{overdue}"
    );
    // The KEEPALIVE of a socket whose keepalive timer is hidden is unknown;
    // `-` only where nothing applies (a path to a connection never opened).
    let rows = t.lines().filter(|l| !l.contains(" opening "));
    assert!(
        rows.into_iter().all(|l| !l.contains("  -  ")),
        "no `-` for unknown:\n{t}"
    );
    // The detail view: a prober still probing has no detection time (`-`),
    // its count is at least the run so far (`≥3`), its cadence unknown (`?`).
    let mut v = view(&snap, false, 30);
    for c in "40200".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    v.apply(Action::OpenDetail, &snap);
    let d = text(&draw(&snap, &live_status(), &mut v, 160, 30));
    assert!(
        d.contains("probes ≥3 · answered every ? · detection -"),
        "{d}"
    );
}

fn row_of<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle}:\n{screen}"))
}

// ---------------------------------------------------------------------------
// What keeps each connection alive, and will it survive its path (issue 13)
// ---------------------------------------------------------------------------

/// An HTTP/2 PING frame (gRPC's keepalive), or its ACK.
fn h2_ping(ack: bool) -> Vec<u8> {
    let mut p = vec![0, 0, 8, 6, u8::from(ack), 0, 0, 0, 0];
    p.extend_from_slice(b"kawatch!");
    p
}

/// Four connections, one per answer to "what keeps it alive": TCP keepalive
/// every 60 s; an HTTP/2 PING every 30 s; TCP keepalive every 300 s (under
/// AWS's 350 s, over Azure's 240 s: it once went 300 s quiet); nothing
/// (it once went 400 s quiet).
fn survival_scene() -> Analyzer {
    let mut w = Wire::default();
    let mut c = Conn::new(
        &mut w,
        v4([198, 18, 5, 1], 43000),
        v4([198, 18, 5, 2], 5432),
    );
    c.handshake(380.0).data(380.1, A, 200).data(380.2, B, 900);
    for k in 1..=4 {
        c.answered(380.2 + 60.03 * f64::from(k), A);
    }
    let mut c = Conn::new(
        &mut w,
        v4([198, 18, 5, 3], 43100),
        v4([198, 18, 5, 4], 50051),
    );
    c.handshake(470.0).data(470.1, A, 300).data(470.2, B, 400);
    for k in 1..=5 {
        let at = 470.2 + 30.0 * f64::from(k);
        c.bytes(at, A, &h2_ping(false))
            .bytes(at + 0.0003, B, &h2_ping(true));
        let seq = c.nxt[A];
        c.send(at + 0.04, A, ACK, seq, 0);
    }
    Conn::new(&mut w, v4([198, 18, 5, 5], 43200), v4([198, 18, 5, 6], 443))
        .handshake(0.0)
        .data(0.1, A, 100)
        .answered(300.15, A)
        .answered(600.2, A);
    Conn::new(
        &mut w,
        v4([198, 18, 5, 7], 43300),
        v4([198, 18, 5, 8], 6379),
    )
    .handshake(100.0)
    .data(100.1, A, 50)
    .data(500.1, A, 50)
    .data(510.0, B, 50);
    // Joined mid-idle: a probe answered, neither its idle nor a cadence seen.
    Conn::new(
        &mut w,
        v4([198, 18, 5, 9], 43400),
        v4([198, 18, 5, 10], 5432),
    )
    .answered(620.0, A);
    w.analyzer()
}

/// The survival scene's clock.
fn survival_now() -> Timestamp {
    Timestamp::from_secs_f64(T0 + 640.0)
}

/// The survival scene's table, `keys_` pressed, at `w` x `h`.
fn survival_screen(color: bool, keys_: &str, w: u16, h: u16) -> Terminal<TestBackend> {
    let snap = survival_scene().snapshot(survival_now());
    let mut v = view(&snap, color, 10);
    for c in keys_.chars() {
        press(&mut v, &snap, &[ch(c)]);
    }
    draw(&snap, &replay_status("survival.pcap"), &mut v, w, h)
}

#[test]
fn what_keeps_each_connection_and_whether_it_survives() {
    let t = text(&survival_screen(true, "", 160, 10));
    let header = title_and_header(&t).1;
    assert!(header.contains("STATE  KEPT BY "), "{t}");
    assert!(header.contains("  AZURE-LB 240s"), "{t}");
    let cases = [
        ("198.18.5.1:43000", "ka 60s", "✓ safe"),
        ("198.18.5.3:43100", "h2 ping 30s", "✓ safe"),
        ("198.18.5.5:43200", "ka 300s", "✗ exceeded"),
        ("198.18.5.7:43300", "nothing", "✗ exceeded"),
        // Probes, how often unknown: as `kawatch report`'s "keepalive, idle ?".
        ("198.18.5.9:43400", "ka ?", "! at risk"),
    ];
    for (who, kept, mark) in cases {
        let row = row_of(&t, who);
        assert!(row.contains(&format!("{kept:<11}  {mark}")), "{who}: {row}");
    }
    insta::assert_snapshot!("survival", t);
}

/// The screen's marks are the core's verdicts (no silence under way is
/// longer than a timeout in these scenes), path by path.
#[test]
fn the_marks_are_the_core_s_verdicts() {
    for (snap, filter) in [
        (survival_scene().snapshot(survival_now()), "198.18.5."),
        (scene().snapshot(now()), ""),
    ] {
        let mut v = view(&snap, false, 30);
        for (i, path) in kawatch::core::PathTimeout::defaults().iter().enumerate() {
            v.path = i;
            let t = text(&draw(&snap, &replay_status("x.pcap"), &mut v, 230, 24));
            for f in snap
                .flows
                .iter()
                .filter(|f| f.a.to_string().contains(filter))
            {
                let want = match kawatch::core::verdict(f, path) {
                    // A connection that never opened: no verdict.
                    _ if !kawatch::core::path::opened(f.state) => "opening",
                    kawatch::core::PathVerdict::Safe => "✓ safe",
                    kawatch::core::PathVerdict::AtRisk => "! at risk",
                    kawatch::core::PathVerdict::Exceeded => "✗ exceeded",
                };
                let row = row_of(&t, &format!("{} ", f.a));
                assert!(
                    row.contains(want),
                    "{} on {}: {want}: {row}",
                    f.a,
                    path.name
                );
            }
        }
    }
}

/// `t` cycles the path in focus: the header names it, the marks follow it,
/// and after the last comes the first again.
#[test]
fn cycling_the_path_changes_the_mark() {
    let screens: Vec<String> = ["", "t", "tt", "ttt", "tttt"]
        .iter()
        .map(|k| text(&survival_screen(false, k, 160, 10)))
        .collect();
    let want = [
        ("AZURE-LB 240s", "✗ exceeded", "✗ exceeded"),
        ("AWS-NLB 350s", "✓ safe", "✗ exceeded"),
        ("GCP-FW 600s", "✓ safe", "! at risk"),
        ("RFC5382 2h4m", "✓ safe", "! at risk"),
        ("AZURE-LB 240s", "✗ exceeded", "✗ exceeded"),
    ];
    for (t, (head, ka300, nothing)) in screens.iter().zip(want) {
        assert!(title_and_header(t).1.contains(head), "{head}: {t}");
        assert!(row_of(t, "43200").contains(ka300), "{head}: {t}");
        assert!(row_of(t, "43300").contains(nothing), "{head}: {t}");
        assert!(row_of(t, "43000").contains("✓ safe"), "{head}: {t}");
    }
    assert!(screens[0].contains("t path"), "the keys line hints it");
    assert_eq!(screens[0], screens[4]);
    // The key is in the help, from the key table.
    let help = text(&survival_screen(false, "?", 160, 40));
    assert!(help.contains("the next path timeout"), "{help}");

    // One path: nothing to cycle, no hint; no path: no mark.
    let snap = survival_scene().snapshot(survival_now());
    let mut one = view(&snap, false, 10);
    one.paths = vec!["corp-fw=30m".parse().expect("a path")];
    assert_eq!(press(&mut one, &snap, &[ch('t')]), [None]);
    let t = text(&draw(&snap, &replay_status("x.pcap"), &mut one, 160, 10));
    assert!(title_and_header(&t).1.contains("CORP-FW 30m"), "{t}");
    assert!(!t.contains("t path"), "{t}");
    let mut none = view(&snap, false, 10);
    none.paths.clear();
    let t = text(&draw(&snap, &replay_status("x.pcap"), &mut none, 160, 10));
    assert!(!t.contains("safe") && !t.contains("exceeded"), "{t}");
    assert!(row_of(&t, "43100").contains("h2 ping 30s"), "{t}");
}

/// Without colour the marks say it in symbols and words; with colour, safe
/// is green and exceeded red.
#[test]
fn survival_without_colour() {
    let plain = survival_screen(false, "", 160, 10);
    let coloured = survival_screen(true, "", 160, 10);
    assert!(no_colour_anywhere(&plain), "NO_COLOR: no colour at all");
    assert_eq!(text(&plain), text(&coloured), "the same words");
    let styled = styles(&coloured);
    assert!(styled.contains("Green Reset NONE '✓ safe'"), "{styled}");
    assert!(styled.contains("Red Reset BOLD '✗ exceeded'"), "{styled}");
    insta::assert_snapshot!("survival_no_color_styles", styles(&plain));
}

/// Narrow: what keeps a connection comes first after the state, then the
/// mark; at 50 columns `>` brings them into view one by one.
#[test]
fn survival_narrow() {
    let at_80 = text(&survival_screen(false, "", 80, 10));
    assert!(title_and_header(&at_80).1.contains("KEPT BY"), "{at_80}");
    let at_50 = text(&survival_screen(false, "", 50, 10));
    assert!(!at_50.contains("KEPT BY"), "{at_50}");
    let snap = survival_scene().snapshot(survival_now());
    let area = ratatui::layout::Rect::new(0, 0, 50, 10);
    let mut v = view(&snap, false, 10);
    let mut shots = Vec::new();
    for _ in 0..2 {
        v.set_columns(render::column_steps(area, &snap, &live_status(), &v));
        press(&mut v, &snap, &[ch('>')]);
        shots.push(text(&draw(&snap, &live_status(), &mut v, 50, 10)));
    }
    assert!(
        title_and_header(&shots[0]).1.contains("KEPT BY"),
        "{}",
        shots[0]
    );
    assert!(
        title_and_header(&shots[1]).1.contains("AZURE-LB 240s"),
        "{}",
        shots[1]
    );
    insta::assert_snapshot!("survival_narrow_80", at_80);
    insta::assert_snapshot!("survival_narrow_50", at_50);
    insta::assert_snapshot!("survival_narrow_50_scrolled_1", shots[0]);
    insta::assert_snapshot!("survival_narrow_50_scrolled_2", shots[1]);
}

/// The detail view of the row `port` is on, after `keys_`.
fn survival_detail(port: &str, keys_: &str) -> String {
    let snap = survival_scene().snapshot(survival_now());
    let mut v = view(&snap, false, 10);
    for c in port.chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    v.apply(Action::OpenDetail, &snap);
    for c in keys_.chars() {
        press(&mut v, &snap, &[ch(c)]);
    }
    text(&draw(
        &snap,
        &replay_status("survival.pcap"),
        &mut v,
        110,
        40,
    ))
}

/// The detail view pictures the longest silence against the path's
/// timeout, and the heartbeat's beats beside the keepalive's probes.
#[test]
fn survival_in_the_detail_view() {
    let ka = survival_detail("43000", "");
    for want in [
        "Kept by     TCP keepalive, keeps silences to 60s (its likely settings)",
        "✓ safe on azure-lb 240s: ka 60s keeps silences below it",
        "█ longest silence 60s  ┆ allowed 60s  ┃ azure-lb 240s",
        "ka →",
    ] {
        assert!(ka.contains(want), "{want:?}:\n{ka}");
    }
    // A line wider than the view wraps, the rest indented under its text.
    assert!(
        ka.lines()
            .any(|l| l.trim_end() == "              gives up)"),
        "{ka}"
    );
    let h2 = survival_detail("43100", "");
    for want in [
        "http2-ping heartbeat every 30s",
        "h2 ping →",
        "♥ 198.18.5.3:43100 beats to 198.18.5.4:50051",
        "http2-ping every 30.00s · 5 beats, 5 answered",
    ] {
        assert!(h2.contains(want), "{want:?}:\n{h2}");
    }
    // Five beats, 30 s apart, in the last 240 s: five ticks on its row.
    let beats = row_of(&h2, "h2 ping →").matches('│').count();
    assert_eq!(beats, 5, "{h2}");
    let gone = survival_detail("43300", "");
    for want in [
        "nothing seen: no keepalive probe, no heartbeat",
        "✗ exceeded on azure-lb 240s: a silence of 400s was longer",
        "┆ allowed: nothing keeps it short",
    ] {
        assert!(gone.contains(want), "{want:?}:\n{gone}");
    }
    // `t` works in the detail view too: the picture moves to AWS's 350 s.
    let aws = survival_detail("43200", "t");
    assert!(aws.contains("✓ safe on aws-nlb 350s"), "{aws}");
    assert!(aws.contains("[aws-nlb 350s] ✓"), "{aws}");
    insta::assert_snapshot!("survival_detail_keepalive", ka);
    insta::assert_snapshot!("survival_detail_h2", h2);
    insta::assert_snapshot!("survival_detail_exceeded", gone);
}

/// Live, a socket's exact idle (read from it) counts: 120 s keeps the quiet
/// connection under Google's 600 s; an idle inferred from the kernel's
/// timer is shown (≈) but does not count.
#[test]
fn the_socket_s_exact_idle_counts_live() {
    use kawatch::core::{KeepaliveSettings, SettingsFrom, TimerKind};
    let with = |from| {
        let k = KeepaliveSettings {
            on: Some(true),
            idle_s: Some(120),
            intvl_s: None,
            probes: None,
            user_timeout_ms: None,
            from: Some(from),
        };
        let s = socket(
            v4([198, 18, 5, 7], 43300),
            v4([198, 18, 5, 8], 6379),
            k,
            (TimerKind::Keepalive, 1_000, 0),
            None,
        );
        let snap = kawatch::core::with_sockets(survival_scene().snapshot(survival_now()), vec![s]);
        let mut v = view(&snap, false, 10);
        v.path = 2; // gcp-fw 600 s
        text(&draw(&snap, &live_status(), &mut v, 200, 10))
    };
    let exact = with(SettingsFrom::Socket);
    let row = row_of(&exact, "43300");
    assert!(
        row.contains("ka 120s ") && row.contains("✓ safe"),
        "{exact}"
    );
    let timer = with(SettingsFrom::Timer);
    let row = row_of(&timer, "43300");
    assert!(
        row.contains("ka ≈120s ") && row.contains("! at risk"),
        "{timer}"
    );
}

/// The heartbeats capture (`kawatch_synth::cases::heartbeats`): gRPC's
/// HTTP/2 PING, MQTT's PINGREQ, a server's WebSocket ping.
#[test]
fn fixture_heartbeats() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth/heartbeats.pcap");
    let mut src = Source::open_file(&path, None).expect("fixture opens");
    let mut an = Analyzer::new(src.link_type());
    while let Next::Frame(f) = src.next_frame().expect("fixture reads") {
        an.ingest_frame(f.ts, f.data);
    }
    let end = an.time_range().1.expect("frames");
    let snap = an.snapshot(end);
    let mut v = view(&snap, false, 20);
    let mut status = replay_status("fixtures/synth/heartbeats.pcap");
    status.finished = true;
    let t = text(&draw(&snap, &status, &mut v, 160, 9));
    for want in ["h2 ping 20s", "mqtt ping 60s", "ws ping 25s"] {
        assert!(t.contains(want), "{want}:\n{t}");
    }
    insta::assert_snapshot!("fixture_heartbeats", t);
}

/// A silence under way counts as soon as it is longer than the timeout: the
/// HTTP/2 PINGs stopped 5 minutes ago, so on Azure's 240 s the connection
/// would be gone, whatever its period said.
#[test]
fn a_silence_under_way_counts() {
    let an = survival_scene();
    let row = |after: f64, live: bool| {
        let snap = an.snapshot(Timestamp::from_secs_f64(T0 + 620.2 + after));
        let mut v = view(&snap, false, 10);
        v.live = live;
        let status = if live {
            live_status()
        } else {
            replay_status("x.pcap")
        };
        let t = text(&draw(&snap, &status, &mut v, 160, 10));
        row_of(&t, "43100").to_owned()
    };
    // Live: a silence under way counts as soon as it is longer.
    assert!(row(200.0, true).contains("✓ safe"), "{}", row(200.0, true));
    assert!(
        row(300.0, true).contains("✗ exceeded"),
        "{}",
        row(300.0, true)
    );
    assert!(
        row(300.0, true).contains("h2 ping 30s"),
        "still what kept it"
    );
    // A replay counts the gaps between segments only, as `kawatch report`:
    // a file's end says nothing of what came after.
    assert!(
        row(300.0, false).contains("✓ safe"),
        "{}",
        row(300.0, false)
    );
}

/// A local socket the wire has not shown: the detail view says its times
/// are the kernel's (which counts from the connection's start when no data
/// moved), not a payload the capture saw.
#[test]
fn a_socket_not_on_the_wire_in_the_detail_view() {
    let snap = scene_with_sockets();
    let mut v = view(&snap, false, 30);
    v.apply(Action::FilterStart, &snap);
    for c in "47000".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    v.apply(Action::FilterAccept, &snap);
    v.apply(Action::OpenDetail, &snap);
    let t = text(&draw(&snap, &live_status(), &mut v, 160, 50));
    for want in [
        "198.18.0.50:47000",
        "not seen on the wire yet: from the kernel's socket table",
        "last sent or received 30s ago, the kernel says",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    assert!(!t.contains("last payload"), "{t}");
}

/// A give-up whose run began before the capture (it opened in the idle, so
/// earlier probes may have gone unseen): the detail view and CNT say `≥3`,
/// and why the likely count is unknown, as the table report's PROBES does.
#[test]
fn a_give_up_whose_run_began_before_the_capture() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth/mid_idle_unanswered.pcap");
    let mut src = Source::open_file(&path, None).expect("fixture");
    let mut an = Analyzer::new(src.link_type());
    while let Next::Frame(f) = src.next_frame().expect("readable") {
        f.ingest(&mut an);
    }
    let snap = an.snapshot(an.time_range().1.expect("frames"));
    let mut v = view(&snap, false, 30);
    let table = text(&draw(&snap, &replay_status("x"), &mut v, 220, 20));
    assert!(
        row_of(&table, "198.18.0.1:40000").contains(" ≥3 "),
        "{table}"
    );
    v.apply(Action::OpenDetail, &snap);
    let d = text(&draw(&snap, &replay_status("x"), &mut v, 160, 40));
    for want in [
        "dead: gave up after ≥3 unanswered probes",
        "probes ≥3",
        "probes: the run began before the capture showed it",
    ] {
        assert!(d.contains(want), "{want:?} missing:\n{d}");
    }
}

/// On a small terminal the detail view wraps its lines rather than cutting
/// them, and draws its pictures to the width: the silences bar keeps the
/// path's timeout mark, the timeline its "now"; every line fits.
#[test]
fn the_detail_view_fits_a_small_terminal() {
    let snap = survival_scene().snapshot(survival_now());
    let mut v = view(&snap, false, 10);
    for c in "43000".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    v.apply(Action::OpenDetail, &snap);
    let mut seen = String::new();
    // Scrolled a page at a time down to its end (the view is 20 rows).
    for _ in 0..8 {
        let t = text(&draw(
            &snap,
            &replay_status("survival.pcap"),
            &mut v,
            60,
            20,
        ));
        // The body: not the title, the status and keys lines (shortened
        // by their own rules).
        let lines: Vec<&str> = t.lines().collect();
        for l in &lines[1..lines.len() - 2] {
            seen.push_str(l);
            seen.push('\n');
        }
        press(
            &mut v,
            &snap,
            &[KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE)],
        );
    }
    assert!(!seen.contains('…'), "nothing cut:\n{seen}");
    let bar = seen
        .lines()
        .find(|l| l.contains("Silences"))
        .expect("the bar");
    assert!(bar.contains('┃') && bar.contains('┆'), "{bar}");
    let ka = seen
        .lines()
        .find(|l| l.trim_start().starts_with("ka →"))
        .expect("timeline");
    assert!(ka.contains('│'), "probes on the timeline: {ka}");
    assert!(
        seen.lines().any(|l| l.trim_end().ends_with("now")),
        "{seen}"
    );
    assert!(seen.contains("gives up)"), "wrapped, whole:\n{seen}");
}

/// A replay read to its end: the detail view says the next probe is not in
/// the capture, as the table's NEXT says `capture ended`.
#[test]
fn the_detail_view_knows_the_replay_ended() {
    let snap = survival_scene().snapshot(survival_now());
    let mut v = view(&snap, false, 10);
    for c in "43000".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    v.apply(Action::OpenDetail, &snap);
    let ended = FeedStatus {
        finished: true,
        ..replay_status("survival.pcap")
    };
    let t = text(&draw(&snap, &ended, &mut v, 160, 40));
    assert!(
        t.contains("nothing more in the capture: it ended before the next probe, expected at"),
        "{t}"
    );
    assert!(!t.contains("probe expected in about"), "{t}");
}

/// Esc backs out one step at a time: the detail view, then the filter.
#[test]
fn esc_leaves_the_detail_then_clears_the_filter() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, false, 30);
    let esc = key(KeyCode::Esc);
    let typed: Vec<KeyEvent> = std::iter::once(ch('/'))
        .chain("40200".chars().map(ch))
        .chain([key(KeyCode::Enter), key(KeyCode::Enter)])
        .collect();
    press(&mut v, &snap, &typed);
    assert!(
        v.detail.is_some() && v.filter == "40200",
        "in the detail view, filtered"
    );
    press(&mut v, &snap, &[esc]);
    assert!(
        v.detail.is_none() && v.filter == "40200",
        "back to the filtered table"
    );
    press(&mut v, &snap, &[esc]);
    assert!(v.filter.is_empty(), "the filter cleared");
}

/// On a narrow screen the title keeps what narrows the table (the filter,
/// how many rows it shows) and lets the sort go first.
#[test]
fn a_narrow_title_keeps_the_filter() {
    let snap = scene().snapshot(now());
    let mut v = view(&snap, false, 30);
    for c in "40200".chars() {
        v.apply(Action::FilterInput(c), &snap);
    }
    for w in [80, 60] {
        let t = text(&draw(&snap, &replay_status("scene.pcap"), &mut v, w, 20));
        let title = t.lines().next().unwrap_or_default();
        assert!(title.contains("filter: 40200 · 1 shown"), "{w}: {title}");
        if w == 60 {
            assert!(!title.contains("sort:"), "the sort goes first: {title}");
        }
    }
}
