//! The whole UI loop in-process: [`run_with`] on ratatui's `TestBackend`,
//! frames from a fixture capture held in memory ([`Frames`]), and a script
//! of keys and waits on a clock of its own. Pause, filter, sort, the detail
//! view, paced replay and the end of a capture, as a user sees them, with
//! insta snapshots of the screen (`tests/it/snapshots/it__tui_run__*.snap`).
//!
//! Deterministic: the script's clock moves only when it says, and the
//! replay is stepped to it before each screen is drawn (`stepped`), so the
//! screens depend on nothing but the script. Times of day are shown in UTC.
//!
//! `INSTA_UPDATE=always cargo test --test it tui_run::` rewrites the snapshots;
//! read every diff before keeping one.

use kawatch::capture::Source;
use kawatch::core::Limits;
use kawatch::tui::events::{EventSource, Input};
use kawatch::tui::feed::FeedStatus;
use kawatch::tui::source::Frames;
use kawatch::tui::{run_with, Options};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

/// One thing the script does.
enum Step {
    /// Press a key.
    Key(KeyEvent),
    /// Let this much time pass (the UI ticks meanwhile).
    Wait(Duration),
    /// Keep the screen as it is now, under this name.
    Screen(&'static str),
}

/// A user: keys, waits and looks, on a clock of its own.
struct Script {
    now: Instant,
    steps: VecDeque<Step>,
    /// The end of the wait under way.
    waiting: Option<Instant>,
    /// The screen last drawn, as text.
    last: String,
    /// Whether `last` shows the present (drawn since time moved or a key).
    fresh: bool,
    /// Screens kept, by name.
    screens: Vec<(&'static str, String)>,
}

impl Script {
    fn new() -> Script {
        Script {
            now: Instant::now(),
            steps: VecDeque::new(),
            waiting: None,
            last: String::new(),
            fresh: false,
            screens: Vec::new(),
        }
    }

    fn key(mut self, k: KeyEvent) -> Script {
        self.steps.push_back(Step::Key(k));
        self
    }

    fn keys(mut self, ks: &[KeyEvent]) -> Script {
        for k in ks {
            self.steps.push_back(Step::Key(*k));
        }
        self
    }

    fn text(mut self, s: &str) -> Script {
        for c in s.chars() {
            self.steps.push_back(Step::Key(ch(c)));
        }
        self
    }

    fn wait(mut self, ms: u64) -> Script {
        self.steps.push_back(Step::Wait(Duration::from_millis(ms)));
        self
    }

    fn screen(mut self, name: &'static str) -> Script {
        self.steps.push_back(Step::Screen(name));
        self
    }

    /// The screen kept as `name`.
    fn shot(&self, name: &str) -> &str {
        self.screens
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| panic!("no screen {name}"), |(_, s)| s.as_str())
    }
}

impl EventSource for Script {
    fn now(&self) -> Instant {
        self.now
    }

    fn next(&mut self, deadline: Instant) -> std::io::Result<Option<Input>> {
        loop {
            match self.steps.front() {
                None => return Ok(Some(Input::End)),
                Some(Step::Key(k)) => {
                    let k = *k;
                    self.steps.pop_front();
                    self.fresh = false;
                    return Ok(Some(Input::Key(k)));
                }
                Some(Step::Screen(name)) => {
                    if !self.fresh {
                        // Draw the present first.
                        return Ok(None);
                    }
                    self.screens.push((name, self.last.clone()));
                    self.steps.pop_front();
                }
                Some(Step::Wait(d)) => {
                    let until = *self.waiting.get_or_insert(self.now + *d);
                    self.fresh = false;
                    if until > deadline {
                        self.now = deadline;
                        return Ok(None);
                    }
                    self.now = until;
                    self.waiting = None;
                    self.steps.pop_front();
                }
            }
        }
    }

    fn pending(&mut self) -> std::io::Result<bool> {
        Ok(matches!(self.steps.front(), Some(Step::Key(_))))
    }

    fn stepped(&self) -> bool {
        true
    }

    fn shown(&mut self, screen: &Buffer) {
        self.last = text(screen);
        self.fresh = true;
    }
}

/// The screen as text, trailing blanks trimmed.
fn text(buf: &Buffer) -> String {
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

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

/// A capture in `fixtures/`, read with libpcap into memory. Opened by its
/// relative path (tests run in the package's directory), so the status
/// line shows the same name on every machine.
fn frames(rel: &str) -> Frames {
    let mut src = Source::open_file(Path::new(rel), None).expect("fixture opens");
    Frames::read(&mut src)
}

fn opts(speed: Option<f64>) -> Options {
    Options {
        speed,
        color: true,
        limits: Limits::default(),
        zone: jiff::tz::TimeZone::UTC,
        local_sockets: false,
        paths: kawatch::core::PathTimeout::defaults(),
    }
}

/// Runs the UI on `frames` at `speed` in a `w`x`h` terminal until the script
/// quits or ends.
fn run(frames: Frames, speed: Option<f64>, w: u16, h: u16, script: &mut Script) -> FeedStatus {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    run_with(&mut term, frames, opts(speed), script).expect("the UI runs")
}

/// The status line (second to last).
fn status_line(screen: &str) -> &str {
    let lines: Vec<&str> = screen.lines().collect();
    lines[lines.len() - 2]
}

/// The title line.
fn title(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

#[test]
fn full_speed_replay_shows_the_end_of_capture() {
    let mut s = Script::new().screen("end").key(ch('q'));
    let status = run(frames("fixtures/synth/null.pcap"), None, 140, 10, &mut s);
    assert!(status.finished && status.error.is_none() && status.warning.is_none());
    let end = s.shot("end");
    assert!(status_line(end).contains("end of capture"), "{end}");
    insta::assert_snapshot!("end_of_capture", end);
}

#[test]
fn paced_replay_follows_the_clock() {
    // Probes at +2.03, +3.06 and +4.09 s, unanswered; the RST at +5.12 s.
    let mut s = Script::new()
        .screen("start")
        .wait(3200)
        .screen("probing")
        .wait(2800)
        .screen("dead")
        .key(ch('q'));
    let status = run(
        frames("fixtures/synth/dead_give_up.pcap"),
        Some(1.0),
        140,
        8,
        &mut s,
    );
    assert!(status.finished);
    let start = s.shot("start");
    assert!(status_line(start).contains("1× · clock"), "{start}");
    assert!(status_line(start).contains("(t+0.0s)"), "{start}");
    assert!(!status_line(start).contains("end of capture"), "{start}");
    let probing = s.shot("probing");
    assert!(status_line(probing).contains("(t+3.2s)"), "{probing}");
    assert!(probing.contains("probing 2/"), "{probing}");
    assert!(
        probing.contains("dead in ≥"),
        "the earliest give-up: {probing}"
    );
    let dead = s.shot("dead");
    assert!(dead.contains("gave up after"), "{dead}");
    assert!(status_line(dead).contains("end of capture"), "{dead}");
    insta::assert_snapshot!("paced_start", start);
    insta::assert_snapshot!("paced_probing", probing);
    insta::assert_snapshot!("paced_dead", dead);
}

#[test]
fn speed_scales_the_replay_clock() {
    let mut s = Script::new().wait(1200).screen("at 1.2 s").key(ch('q'));
    run(
        frames("fixtures/synth/dead_give_up.pcap"),
        Some(2.5),
        140,
        8,
        &mut s,
    );
    let at = s.shot("at 1.2 s");
    assert!(status_line(at).contains("2.5× · clock"), "{at}");
    assert!(status_line(at).contains("(t+3.0s)"), "{at}");
}

#[test]
fn pause_stops_the_replay_and_resume_goes_on_from_there() {
    // Looking at the screen at 1.2 s draws it then; space freezes that.
    let mut s = Script::new()
        .wait(1200)
        .screen("before")
        .key(ch(' '))
        .screen("paused")
        .wait(3000)
        .screen("still paused")
        .key(ch(' '))
        .wait(400)
        .screen("resumed")
        .key(ch('q'));
    let status = run(
        frames("fixtures/synth/dead_give_up.pcap"),
        Some(1.0),
        140,
        8,
        &mut s,
    );
    assert!(!status.paused);
    let before = s.shot("before");
    assert!(status_line(before).contains("(t+1.2s)"), "{before}");
    let paused = s.shot("paused");
    assert!(status_line(paused).starts_with(" PAUSED "), "{paused}");
    assert!(status_line(paused).contains("(t+1.2s)"), "{paused}");
    assert_eq!(s.shot("still paused"), paused, "nothing moves while paused");
    let resumed = s.shot("resumed");
    assert!(!resumed.contains("PAUSED"), "{resumed}");
    assert!(status_line(resumed).contains("(t+1.6s)"), "{resumed}");
    insta::assert_snapshot!("paused", paused);
}

#[test]
fn filter_typed_kept_and_cleared() {
    let mut s = Script::new()
        .key(ch('/'))
        .text("2001")
        .screen("typing")
        .key(key(KeyCode::Enter))
        .screen("kept")
        .key(key(KeyCode::Esc))
        .screen("cleared")
        .key(ch('q'));
    run(
        frames("fixtures/kernel/seed4-eth.pcap"),
        None,
        160,
        16,
        &mut s,
    );
    let typing = s.shot("typing");
    assert!(typing.contains(" filter: 2001▏"), "{typing}");
    let kept = s.shot("kept");
    assert!(title(kept).contains("filter: 2001"), "{kept}");
    assert!(!kept.contains("198.18.0.1:"), "only IPv6 rows: {kept}");
    assert!(kept.contains("[2001:db8:4b:1::1]:51842"), "{kept}");
    let cleared = s.shot("cleared");
    assert!(!title(cleared).contains("filter"), "{cleared}");
    assert!(cleared.contains("198.18.0.1:"), "{cleared}");
    insta::assert_snapshot!("filter_typing", typing);
    insta::assert_snapshot!("filter_kept", kept);
}

#[test]
fn sort_cycles_and_reverses() {
    let mut s = Script::new()
        .screen("by state")
        .key(ch('s'))
        .screen("by idle")
        .key(ch('s'))
        .key(ch('r'))
        .screen("by activity, reversed")
        .key(ch('q'));
    run(
        frames("fixtures/kernel/seed4-eth.pcap"),
        None,
        160,
        16,
        &mut s,
    );
    assert!(title(s.shot("by state")).contains("sort: state ↓"));
    assert!(title(s.shot("by idle")).contains("sort: idle ↓"));
    let rev = s.shot("by activity, reversed");
    assert!(title(rev).contains("sort: last activity ↑"), "{rev}");
    insta::assert_snapshot!("sort_state", s.shot("by state"));
    insta::assert_snapshot!("sort_idle", s.shot("by idle"));
    insta::assert_snapshot!("sort_activity_reversed", rev);
}

#[test]
fn detail_opens_scrolls_moves_and_closes() {
    let mut s = Script::new()
        .key(key(KeyCode::Enter))
        .screen("detail")
        .keys(&[key(KeyCode::Down), key(KeyCode::Down), key(KeyCode::Down)])
        .screen("scrolled")
        .key(ch('G'))
        .screen("bottom")
        .key(ch('n'))
        .screen("next")
        .key(key(KeyCode::Esc))
        .screen("table")
        .key(ch('?'))
        .screen("help")
        .key(key(KeyCode::Esc))
        .key(ch('q'));
    run(
        frames("fixtures/kernel/seed4-eth.pcap"),
        None,
        120,
        14,
        &mut s,
    );
    let detail = s.shot("detail");
    assert!(detail.contains("Kept by     TCP keepalive"), "{detail}");
    let scrolled = s.shot("scrolled");
    assert_ne!(scrolled, detail);
    let lines = |t: &str| t.lines().skip(1).take(3).collect::<Vec<_>>().join("\n");
    assert_eq!(
        lines(scrolled),
        detail
            .lines()
            .skip(4)
            .take(3)
            .collect::<Vec<_>>()
            .join("\n"),
        "three lines down"
    );
    let bottom = s.shot("bottom");
    assert!(
        bottom.contains("RST: gave up"),
        "the timeline's end: {bottom}"
    );
    assert!(
        bottom.lines().nth(11).is_some_and(|l| !l.is_empty()),
        "no scrolling past the end: {bottom}"
    );
    let next = s.shot("next");
    assert_ne!(title(next), "");
    assert_ne!(
        next.lines().nth(1),
        detail.lines().nth(1),
        "another connection"
    );
    let table = s.shot("table");
    assert!(table.contains("ENDPOINT A"), "{table}");
    assert!(s.shot("help").contains("kawatch help"));
    insta::assert_snapshot!("detail", detail);
    insta::assert_snapshot!("detail_scrolled", scrolled);
    insta::assert_snapshot!("detail_next", next);
}

#[test]
fn ctrl_c_quits_while_typing() {
    let mut s = Script::new()
        .key(ch('/'))
        .text("q")
        .screen("typing")
        .key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
        // Never reached: the UI has returned.
        .wait(60_000);
    run(frames("fixtures/synth/null.pcap"), None, 140, 10, &mut s);
    assert!(s.shot("typing").contains(" filter: q▏"));
    assert_eq!(s.steps.len(), 1, "the wait after ctrl-c is left");
}

#[test]
fn a_cut_off_capture_warns() {
    let mut s = Script::new().screen("end").key(ch('q'));
    let status = run(frames("fixtures/synth/cut_off.pcap"), None, 140, 8, &mut s);
    assert!(status.warning.is_some(), "{status:?}");
    assert!(status.error.is_none());
    let end = s.shot("end");
    // Shortened to fit: `end · cut off`.
    assert!(status_line(end).ends_with("end · cut off"), "{end}");
}

// ---------------------------------------------------------------------------
// Replay keys: speed and restart; columns on a narrow screen
// ---------------------------------------------------------------------------

#[test]
fn plus_and_minus_change_the_replay_speed() {
    // dead_give_up: probes at +2.03, +3.06, +4.09 s, the RST at +5.12 s.
    // A key publishes at once; then every 250 ms, on the 200 ms ticks: 800
    // ms after a key is a publication.
    let mut s = Script::new()
        .wait(1200)
        .screen("1x at 1.2 s")
        .key(ch('+'))
        .screen("2x")
        .wait(800)
        .screen("2x for 0.8 s")
        .keys(&[ch('-'), ch('-')])
        .screen("1/2x")
        .wait(800)
        .screen("1/2x for 0.8 s")
        .keys(&[ch('-'); 8])
        .screen("slowest")
        .key(ch('='))
        .screen("1/32x")
        .keys(&[ch('+'); 15])
        .screen("fastest")
        .key(ch('+'))
        .screen("full speed")
        .key(ch('-'))
        .screen("from full speed")
        .key(ch('q'));
    run(
        frames("fixtures/synth/dead_give_up.pcap"),
        Some(1.0),
        140,
        8,
        &mut s,
    );
    let cases = [
        ("1x at 1.2 s", "1× · clock", "(t+1.2s)"),
        ("2x", "2× · clock", "(t+1.2s)"),
        ("2x for 0.8 s", "2× · clock", "(t+2.8s)"),
        ("1/2x", "1/2× · clock", "(t+2.8s)"),
        ("1/2x for 0.8 s", "1/2× · clock", "(t+3.2s)"),
        ("slowest", "1/64× · clock", "(t+3.2s)"),
        ("1/32x", "1/32× · clock", "(t+3.2s)"),
        ("fastest", "1024× · clock", "(t+3.2s)"),
        // As fast as it reads: the rest of the capture at once.
        ("full speed", "full speed · clock", "end of capture"),
        ("from full speed", "1024× · clock", "end of capture"),
    ];
    for (name, speed, clock) in cases {
        let line = status_line(s.shot(name));
        assert!(line.contains(speed), "{name}: {speed:?} missing: {line}");
        assert!(line.contains(clock), "{name}: {clock:?} missing: {line}");
    }
    let end = s.shot("full speed");
    assert!(end.contains("gave up after"), "{end}");
}

#[test]
fn r_replays_again_keeping_sort_and_filter() {
    // dead_give_up at 1x ends after 5.12 s, dead.
    let mut s = Script::new()
        .key(ch('s'))
        .key(ch('/'))
        .text("5000")
        .key(key(KeyCode::Enter))
        .wait(6000)
        .screen("ended")
        .key(ch('R'))
        .screen("again")
        .wait(3200)
        .screen("probing again")
        .key(ch(' '))
        .key(ch('R'))
        .screen("again from a pause")
        .wait(6000)
        .screen("ended again")
        .key(ch('q'));
    let status = run(
        frames("fixtures/synth/dead_give_up.pcap"),
        Some(1.0),
        140,
        8,
        &mut s,
    );
    assert!(status.finished && status.error.is_none(), "{status:?}");
    let ended = s.shot("ended");
    assert!(status_line(ended).contains("end of capture"), "{ended}");
    assert!(ended.contains("dead"), "{ended}");
    assert!(ended.contains("R replay again"), "the hint: {ended}");
    let again = s.shot("again");
    assert!(status_line(again).contains("(t+0.0s)"), "{again}");
    assert!(!status_line(again).contains("end of capture"), "{again}");
    assert!(again.contains("opening"), "a fresh analyser: {again}");
    assert!(
        title(again).contains("filter: 5000") && title(again).contains("sort: idle"),
        "sort and filter stay: {again}"
    );
    let probing = s.shot("probing again");
    assert!(status_line(probing).contains("(t+3.2s)"), "{probing}");
    assert!(probing.contains("probing 2/"), "{probing}");
    let resumed = s.shot("again from a pause");
    assert!(!status_line(resumed).contains("PAUSED"), "{resumed}");
    assert!(status_line(resumed).contains("(t+0.0s)"), "{resumed}");
    let ended_again = s.shot("ended again");
    assert!(status_line(ended_again).contains("1 flow"), "{ended_again}");
    assert!(
        status_line(ended_again).contains("10 packets"),
        "counted once: {ended_again}"
    );
    assert!(ended_again.contains("gave up after"), "{ended_again}");
    insta::assert_snapshot!("replayed_again", again);
}

/// Frames that cannot be read twice (as standard input cannot).
struct Once(Frames);

impl kawatch::tui::FrameSource for Once {
    fn next_frame(&mut self) -> Result<kawatch::capture::Next<'_>, kawatch::capture::CaptureError> {
        self.0.next_frame()
    }
    fn link_type(&self) -> kawatch::LinkType {
        self.0.link_type()
    }
    fn link_name(&self) -> &str {
        self.0.link_name()
    }
    fn name(&self) -> &str {
        "-"
    }
    fn is_live(&self) -> bool {
        false
    }
}

#[test]
fn r_does_nothing_on_what_cannot_be_read_again() {
    let mut s = Script::new()
        .screen("end")
        .key(ch('R'))
        .screen("after R")
        .key(ch('q'));
    let mut term = Terminal::new(TestBackend::new(140, 10)).expect("test terminal");
    let status = run_with(
        &mut term,
        Once(frames("fixtures/synth/null.pcap")),
        opts(None),
        &mut s,
    )
    .expect("the UI runs");
    assert!(status.finished && !status.restartable);
    let end = s.shot("end");
    assert!(!end.contains("R replay again"), "no hint: {end}");
    assert_eq!(s.shot("after R"), end, "nothing happens");
}

#[test]
fn columns_scroll_back_at_once_after_the_last() {
    // At 90 columns: 4 of the columns are hidden.
    let mut s = Script::new()
        .screen("start")
        .keys(&[ch('>'); 12])
        .screen("last")
        .key(ch('<'))
        .screen("one back")
        .key(ch('q'));
    run(
        frames("fixtures/kernel/seed4-eth.pcap"),
        None,
        90,
        16,
        &mut s,
    );
    let legend = |name: &str| {
        let shot = s.shot(name);
        shot.lines().rev().nth(2).unwrap_or_default().to_string()
    };
    assert!(
        legend("start").ends_with("more columns ▶"),
        "{}",
        s.shot("start")
    );
    assert!(!legend("last").contains('▶'), "{}", s.shot("last"));
    // Not still at the end of twelve presses: one press shows one more.
    assert!(legend("one back").contains('▶'), "{}", s.shot("one back"));
}
