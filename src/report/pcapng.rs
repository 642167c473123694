//! `-w FILE`: the keepalive-related frames (probes, their answers, give-ups,
//! zero-window probes) written to a pcapng file, each with kawatch's label as
//! a packet comment, so that Wireshark shows kawatch's classification beside
//! its own.
//!
//! The file is written as the capture is read, in frame order, in bounded
//! memory. Most frames are labelled as they are analysed; some only when
//! later ones decide them (a probe seen at the start of a capture is known
//! for one when the next comes: the analyser's
//! [`undecided_frames`](kawatch_core::Analyzer::undecided_frames)). So a
//! copy of each frame the analyser leaves undecided is held until it has
//! decided it, and a labelled frame is written as soon as no copy of an
//! earlier frame is held.
//! A frame undecided for long does not hold the rest back for ever: past
//! [`MAX_WAITING`] labelled frames (and, live, past [`LIVE_WAIT`]), the
//! oldest are written, and that frame, if labelled later, comes after them.

use crate::capture::{wall_clock, Frame};
use kawatch_core::{Analyzer, Event, EventKind, LinkType, Timestamp};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

/// Copies held at most of frames a later event may name (the oldest leave
/// first).
const MAX_HELD: usize = 1 << 18;

/// Labelled frames held at most, waiting for an earlier undecided one.
pub(crate) const MAX_WAITING: usize = 1 << 14;

/// Live, how long a labelled frame waits at most for an earlier undecided
/// one before it is written.
pub(crate) const LIVE_WAIT: Duration = Duration::from_secs(1);

/// Live, how often the analyser is asked at most (and the file flushed).
pub(crate) const LIVE_SETTLE: Duration = Duration::from_millis(250);

/// The analyser is asked what it has not decided once per this many frames,
/// or per as many frames as it has flows when it has more (the question
/// reads every flow).
const SETTLE_FRAMES: u64 = 1 << 14;

/// A frame's copy.
#[derive(Debug)]
struct Copy {
    ts: Timestamp,
    link: LinkType,
    wire_len: u32,
    data: Vec<u8>,
}

/// A labelled frame waiting to be written: its copy and the events that
/// name it (their words are written out with it).
#[derive(Debug)]
struct Labelled {
    copy: Copy,
    /// When it was labelled: its capture time, or under `-U` the wall
    /// clock's (what the live wait counts from).
    at: Timestamp,
    first: Event,
    more: Vec<Event>,
}

impl Copy {
    /// A copy of `f`, of a link type kawatch decodes (the only frames an
    /// event names).
    fn of(f: &Frame<'_>) -> Option<Copy> {
        Some(Copy {
            ts: f.ts,
            link: f.link?,
            wire_len: f.wire_len,
            data: f.data.to_vec(),
        })
    }
}

/// Labels the keepalive-related frames of one or several inputs and writes
/// them out, as pcapng, as they are settled.
pub struct Labeller {
    /// The input being read: its position among the inputs, and its name.
    input: (usize, String),
    /// Copies of frames that could still be labelled, by frame number.
    held: BTreeMap<u64, Copy>,
    /// Labelled frames not written yet, by (input, frame number), with
    /// the events that name them.
    labelled: BTreeMap<(usize, u64), Labelled>,
    /// The inputs' names, by position.
    names: Vec<String>,
    /// Labels that came after their frame's copy had left.
    missed: u64,
    /// Frames since the analyser was last asked what it has not decided.
    since_settled: u64,
    /// Live or `-U`, when it was.
    settled_at: Option<Timestamp>,
    /// What it answered (scratch).
    undecided: Vec<u64>,
    /// Where the file goes.
    out: Box<dyn Write>,
    /// The interfaces written, one per link type.
    links: Vec<LinkType>,
    /// Whether the section header is written.
    started: bool,
    /// Frames written.
    written: u64,
    /// [`SETTLE_FRAMES`] (smaller in tests).
    settle_every: u64,
    /// [`MAX_WAITING`] (smaller in tests).
    max_waiting: usize,
    /// `-U`: flushed as written, settled every quarter second.
    packet_buffered: bool,
    /// Times the analyser was asked.
    settles: u64,
    /// Whether frames were written since the last flush.
    unflushed: bool,
}

impl std::fmt::Debug for Labeller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Labeller")
            .field("input", &self.input)
            .field("held", &self.held.len())
            .field("labelled", &self.labelled.len())
            .field("missed", &self.missed)
            .field("written", &self.written)
            .finish()
    }
}

impl Labeller {
    /// How long a silent input (a pipe) may keep a `-U` labeller from the
    /// reader before [`Labeller::quiet`] is called: as often as a live one
    /// settles.
    pub const QUIET_WAKE: Duration = LIVE_SETTLE;

    /// Nothing collected yet; the file goes to `out`.
    pub fn new(out: Box<dyn Write>) -> Labeller {
        Labeller {
            input: (0, String::new()),
            held: BTreeMap::new(),
            labelled: BTreeMap::new(),
            names: Vec::new(),
            missed: 0,
            since_settled: 0,
            settled_at: None,
            undecided: Vec::new(),
            out,
            links: Vec::new(),
            started: false,
            written: 0,
            settle_every: SETTLE_FRAMES,
            max_waiting: MAX_WAITING,
            packet_buffered: false,
            settles: 0,
            unflushed: false,
        }
    }

    /// `-U`, for a file or pipe still being written: the file begins at
    /// once, each frame is flushed as soon as nothing before it can still be
    /// labelled, and, as live, the analyser is asked what it has not decided
    /// every quarter second and a frame waits a second at most (by the wall
    /// clock) for an earlier undecided one.
    pub fn packet_buffered(mut self) -> Labeller {
        self.packet_buffered = true;
        self
    }

    /// Frames from now on come from the input named `name` (frame numbers
    /// start again at 1 for each): the frames of the one before are written.
    pub fn start_input(&mut self, name: &str) -> io::Result<()> {
        if self.packet_buffered {
            // As `tcpdump -U`: a reader sees the file begin at once.
            self.start()?;
            self.flush()?;
        }
        self.write_while(|_, _| true)?;
        self.input = (self.names.len(), name.to_string());
        self.names.push(name.to_string());
        self.held.clear();
        self.since_settled = 0;
        Ok(())
    }

    /// After frame number `frame`, `f`, is analysed into `events`: labels
    /// the frames they name (this one copied, earlier ones from the copies
    /// held).
    pub fn label(&mut self, frame: u64, f: &Frame<'_>, events: &[Event]) {
        for ev in events {
            let key = (self.input.0, ev.frame);
            if let Some(l) = self.labelled.get_mut(&key) {
                l.more.push(*ev);
                continue;
            }
            let copy = if ev.frame == frame {
                Copy::of(f)
            } else {
                self.held.remove(&ev.frame)
            };
            match copy {
                Some(copy) => {
                    let at = if self.packet_buffered {
                        wall_clock()
                    } else {
                        copy.ts
                    };
                    let (first, more) = (*ev, Vec::new());
                    self.labelled.insert(
                        key,
                        Labelled {
                            copy,
                            at,
                            first,
                            more,
                        },
                    );
                }
                None => self.missed += 1,
            }
        }
    }

    /// After frame number `frame`, `f`, is analysed by `an` (and labelled):
    /// keeps a copy of it if a later event may name it, and writes the
    /// labelled frames no held copy comes before. Now and then asks `an`
    /// what it has not decided, to let go of the copies it has decided.
    /// Live, `now` is the frame's time (the wall clock's): asked every
    /// quarter second too, so that the file follows the capture.
    pub fn analysed(
        &mut self,
        frame: u64,
        f: &Frame<'_>,
        an: &Analyzer,
        now: Option<Timestamp>,
    ) -> io::Result<()> {
        if an.last_frame_undecided() && !self.labelled.contains_key(&(self.input.0, frame)) {
            if let Some(copy) = Copy::of(f) {
                if self.held.len() >= MAX_HELD {
                    self.held.pop_first();
                }
                self.held.insert(frame, copy);
            }
        }
        self.write_settled(None)?;
        self.since_settled += 1;
        // Too many wait: the oldest go (asking the analyser first, to let go
        // of the copies it decided, once per half the bound at most).
        if self.labelled.len() > self.max_waiting
            && self.since_settled < self.max_waiting as u64 / 2
        {
            self.write_oldest(self.labelled.len() - self.max_waiting)?;
        }
        // `-U`: as live, by the wall clock (a pipe's frames may be old).
        let now = now.or_else(|| self.packet_buffered.then(wall_clock));
        if self.since_settled >= self.settle_every.max(an.flow_count() as u64)
            || self.labelled.len() > self.max_waiting
            || now.is_some_and(|now| self.due(now))
        {
            self.settle(an, now)?;
        } else if self.packet_buffered {
            self.flush()?;
        }
        Ok(())
    }

    /// Live, when no frame came for a while: as [`Labeller::analysed`]
    /// with the wall clock's `now`.
    pub fn quiet(&mut self, an: &Analyzer, now: Timestamp) -> io::Result<()> {
        if self.due(now) {
            self.settle(an, Some(now))?;
        }
        Ok(())
    }

    /// Whether a quarter second has passed since the last settling, at `now`.
    fn due(&self, now: Timestamp) -> bool {
        self.settled_at
            .is_none_or(|at| now >= at.add_secs(LIVE_SETTLE.as_secs_f64()))
    }

    /// Asks `an` what it has not decided: the copies of other frames go,
    /// and the labelled frames no undecided one comes before are written
    /// (live or `-U`, at `now`: with those labelled before `now -
    /// LIVE_WAIT`), and the oldest when too many wait; then the output is
    /// flushed.
    fn settle(&mut self, an: &Analyzer, now: Option<Timestamp>) -> io::Result<()> {
        self.since_settled = 0;
        self.settles += 1;
        if now.is_some() {
            self.settled_at = now;
        }
        if !self.held.is_empty() {
            an.undecided_frames(&mut self.undecided);
            self.undecided.sort_unstable();
            let undecided = &self.undecided;
            self.held.retain(|n, _| undecided.binary_search(n).is_ok());
        }
        self.write_settled(now.map(|now| now.add_secs(-LIVE_WAIT.as_secs_f64())))?;
        // Bounded: when too many wait, the oldest go.
        self.write_oldest(self.labelled.len().saturating_sub(self.max_waiting))?;
        self.flush()
    }

    /// Flushes what was written since the last flush.
    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.unflushed) {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Writes the `n` oldest labelled frames, whatever comes before them.
    fn write_oldest(&mut self, n: usize) -> io::Result<()> {
        let mut k = 0;
        self.write_while(|_, _| {
            k += 1;
            k <= n
        })
    }

    /// Writes the labelled frames no held copy comes before (and those
    /// labelled before `before`, the live wait).
    fn write_settled(&mut self, before: Option<Timestamp>) -> io::Result<()> {
        let input = self.input.0;
        let first = self.held.first_key_value().map_or(u64::MAX, |(n, _)| *n);
        self.write_while(|key, l| {
            key.0 < input || key.1 < first || before.is_some_and(|b| l.at < b)
        })
    }

    /// Writes every frame left, in order, and flushes: the file is whole.
    /// Returns how many frames it holds.
    pub fn finish(mut self) -> io::Result<u64> {
        self.write_while(|_, _| true)?;
        self.start()?;
        self.out.flush()?;
        Ok(self.written)
    }

    /// Labels whose frame had left before it was decided (never in
    /// practice: that takes more than 262,144 frames undecided at once).
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// How many frames are labelled and wait to be written.
    pub fn len(&self) -> usize {
        self.labelled.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.labelled.is_empty()
    }

    /// The section header, once.
    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            self.unflushed = true;
            block(&mut *self.out, 0x0a0d_0d0a, &section_header())?;
        }
        Ok(())
    }

    /// Writes the labelled frames, first first, while `go` says so.
    fn write_while(
        &mut self,
        mut go: impl FnMut(&(usize, u64), &Labelled) -> bool,
    ) -> io::Result<()> {
        let mut body = Vec::new();
        let mut text = String::new();
        while let Some(first) = self.labelled.first_entry() {
            if !go(first.key(), first.get()) {
                break;
            }
            let (input, _) = *first.key();
            let l = first.remove();
            self.start()?;
            let iface = match self.links.iter().position(|&k| k == l.copy.link) {
                Some(i) => i,
                None => {
                    self.links.push(l.copy.link);
                    block(&mut *self.out, 1, &interface(l.copy.link))?;
                    self.links.len() - 1
                }
            };
            body.clear();
            packet_head(&mut body, iface as u32, &l.copy);
            for ev in std::iter::once(&l.first).chain(&l.more) {
                text.clear();
                let name = self.names.get(input).map_or("", String::as_str);
                label(&mut text, ev, name);
                push_option(&mut body, 1, text.as_bytes()); // opt_comment
            }
            push_option(&mut body, 0, &[]);
            block(&mut *self.out, 6, &body)?;
            self.written += 1;
            self.unflushed = true;
        }
        Ok(())
    }
}

/// An event's words, as a frame's comment.
fn label(text: &mut String, ev: &Event, input: &str) {
    use std::fmt::Write as _;
    let _ = write!(
        text,
        "kawatch: {} ({} -> {}; {} frame {})",
        describe(ev.kind),
        ev.src,
        ev.dst,
        input,
        ev.frame
    );
}

/// A label's words.
fn describe(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Probe => "keepalive probe",
        EventKind::ProbeAck => "keepalive probe answered (ACK)",
        EventKind::ProbeRst => "keepalive probe answered with RST (the peer lost the connection)",
        EventKind::GiveUp => "give-up RST after unanswered keepalive probes",
        EventKind::ZeroWindowProbe => "zero-window probe (not a keepalive)",
    }
}

fn section_header() -> Vec<u8> {
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    push_option(&mut b, 4, b"kawatch"); // shb_userappl
    push_option(&mut b, 0, &[]);
    b
}

fn interface(link: LinkType) -> Vec<u8> {
    let mut b = Vec::with_capacity(20);
    b.extend_from_slice(&link.linktype().to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // no snapshot length
    push_option(&mut b, 9, &[9]); // if_tsresol: nanoseconds
    push_option(&mut b, 0, &[]);
    b
}

/// An enhanced packet block's body up to its options.
fn packet_head(b: &mut Vec<u8>, iface: u32, copy: &Copy) {
    let units = u64::try_from(copy.ts.0.max(0)).unwrap_or(u64::MAX);
    b.extend_from_slice(&iface.to_le_bytes());
    b.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(units as u32).to_le_bytes());
    b.extend_from_slice(&(copy.data.len() as u32).to_le_bytes());
    b.extend_from_slice(&copy.wire_len.to_le_bytes());
    b.extend_from_slice(&copy.data);
    b.resize(b.len().next_multiple_of(4), 0);
}

/// An option: code, length, value padded to 32 bits.
fn push_option(b: &mut Vec<u8>, code: u16, value: &[u8]) {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    b.extend_from_slice(&code.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&value[..usize::from(len)]);
    b.resize(b.len().next_multiple_of(4), 0);
}

/// A block: type, total length, body, total length.
fn block(out: &mut dyn Write, block_type: u32, body: &[u8]) -> io::Result<()> {
    let total = u32::try_from(12 + body.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    out.write_all(&block_type.to_le_bytes())?;
    out.write_all(&total)?;
    out.write_all(body)?;
    out.write_all(&total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kawatch_synth::conversation::{A, B};
    use kawatch_synth::{Capture, Conversation, Format};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A writer the test reads while the labeller writes: what was flushed
    /// (as a pipe's reader would see it).
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>, Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.1.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.borrow_mut().append(&mut self.1.borrow_mut());
            Ok(())
        }
    }

    /// The frame numbers the packet blocks' first comments name, in file order.
    fn written_frames(file: &[u8]) -> Vec<u64> {
        let mut frames = Vec::new();
        let mut at = 0;
        while at + 8 <= file.len() {
            let kind = u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
            let len = u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap()) as usize;
            if kind == 6 {
                let text = String::from_utf8_lossy(&file[at..at + len]);
                let n = text.split(" frame ").nth(1).unwrap();
                let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
                frames.push(digits.parse().unwrap());
            }
            at += len;
        }
        frames
    }

    /// Two connections: one seen from the middle of its idle time, whose
    /// unanswered probes are decided only once their spacing shows, and one
    /// whose answered probes are labelled as they come, between them.
    fn capture() -> Vec<kawatch_synth::Frame> {
        let mut late = connection(1);
        for _ in 0..4 {
            late.probe(A).wait(5.0);
        }
        let mut now = connection(3);
        now.handshake();
        for _ in 0..40 {
            now.wait(1.0).probe(A).probe_ack(B);
        }
        frames_of([late, now])
    }

    /// A connection from 198.18.0.`n` to 198.18.0.`n + 1`.
    fn connection(n: u8) -> Conversation {
        let host = |ip: u8, port| kawatch_synth::conversation::Host::v4([198, 18, 0, ip], port, ip);
        Conversation::new(
            host(n, 40000 + u16::from(n)),
            host(n + 1, 5000 + u16::from(n)),
        )
    }

    /// Their frames, in one Ethernet capture.
    fn frames_of(
        conversations: impl IntoIterator<Item = Conversation>,
    ) -> Vec<kawatch_synth::Frame> {
        conversations
            .into_iter()
            .fold(
                Capture::new(kawatch_synth::LinkType::Ethernet, Format::PcapNano),
                Capture::with,
            )
            .frames()
    }

    /// Feeds `frames` to an analyser and `l` as `kawatch report -w` does;
    /// returns how many labelled frames waited at most.
    fn feed(
        l: &mut Labeller,
        frames: &[kawatch_synth::Frame],
        mut after: impl FnMut(u64, &Labeller),
    ) -> usize {
        let mut an = Analyzer::new(kawatch_core::LinkType::Ethernet);
        let mut most = 0;
        for f in frames {
            let f = Frame {
                ts: Timestamp(f.ts.0),
                data: &f.data,
                wire_len: f.orig_len,
                link: Some(kawatch_core::LinkType::Ethernet),
                input: 0,
                skipped: 0,
                decoded: None,
            };
            let number = an.next_frame_number();
            let events = f.ingest(&mut an);
            l.label(number, &f, events);
            l.analysed(number, &f, &an, None).unwrap();
            most = most.max(l.len());
            after(number, l);
        }
        most
    }

    #[test]
    fn frames_are_written_as_they_settle_in_frame_order() {
        let frames = capture();
        let out = Shared::default();
        let mut l = Labeller::new(Box::new(out.clone()));
        l.settle_every = 4;
        let mut seen_while_reading = 0;
        feed(&mut l, &frames, |_, _| {
            seen_while_reading = written_frames(&out.0.borrow()).len();
        });
        let before_end = l.written;
        l.finish().unwrap();
        let all = written_frames(&out.0.borrow());
        // 4 late probes, 40 probes and 40 answers.
        assert_eq!(all.len(), 84, "{all:?}");
        assert!(all.windows(2).all(|w| w[0] < w[1]), "frame order: {all:?}");
        // Each written once nothing before it was undecided: all of them
        // before the end (the late probes decided by the fourth).
        assert!(
            seen_while_reading > 0 && before_end == 84,
            "written while read: {before_end} of 84 before the end, {seen_while_reading} flushed"
        );
        // The same bytes as all written at the end.
        let whole = Shared::default();
        let mut at_end = Labeller::new(Box::new(whole.clone()));
        at_end.settle_every = u64::MAX;
        feed(&mut at_end, &frames, |_, _| {});
        at_end.finish().unwrap();
        assert_eq!(*whole.0.borrow(), *out.0.borrow());
    }

    /// One connection whose probes and answers are each labelled as they
    /// come.
    fn answered() -> Vec<kawatch_synth::Frame> {
        let mut now = connection(3);
        now.handshake();
        for _ in 0..10 {
            now.wait(75.0).probe(A).probe_ack(B);
        }
        frames_of([now])
    }

    #[test]
    fn a_labelled_frame_with_nothing_undecided_before_it_goes_out_at_once() {
        for packet_buffered in [false, true] {
            let out = Shared::default();
            let mut l = Labeller::new(Box::new(out.clone()));
            if packet_buffered {
                l = l.packet_buffered();
            }
            let mut late = Vec::new();
            feed(&mut l, &answered(), |frame, l| {
                let flushed = written_frames(&out.0.borrow()).len() as u64;
                if !l.is_empty() || (packet_buffered && flushed < l.written) {
                    late.push(frame);
                }
            });
            assert!(
                late.is_empty(),
                "-U {packet_buffered}: frames waited after {late:?}"
            );
            assert_eq!(l.written, 20);
            // Asked at most on the first frame and a quarter second later
            // (-U): not per frame.
            assert!(
                l.settles <= 2,
                "-U {packet_buffered}: asked {} times",
                l.settles
            );
        }
    }

    #[test]
    fn packet_buffered_begins_the_file_at_once() {
        let out = Shared::default();
        let mut l = Labeller::new(Box::new(out.clone())).packet_buffered();
        l.start_input("x").unwrap();
        assert_eq!(out.0.borrow()[..4], 0x0a0d_0d0au32.to_le_bytes());
        let out = Shared::default();
        let mut l = Labeller::new(Box::new(out.clone()));
        l.start_input("x").unwrap();
        assert!(
            out.0.borrow().is_empty(),
            "without -U, with the first frame"
        );
    }

    #[test]
    fn packet_buffered_writes_the_same_file() {
        let frames = capture();
        let (a, b) = (Shared::default(), Shared::default());
        let mut plain = Labeller::new(Box::new(a.clone()));
        feed(&mut plain, &frames, |_, _| {});
        plain.finish().unwrap();
        let mut prompt = Labeller::new(Box::new(b.clone())).packet_buffered();
        prompt.settle_every = 4;
        feed(&mut prompt, &frames, |_, _| {});
        prompt.finish().unwrap();
        assert_eq!(*a.0.borrow(), *b.0.borrow());
    }

    #[test]
    fn a_frame_undecided_for_long_holds_back_only_so_many() {
        let frames = capture();
        let out = Shared::default();
        let mut l = Labeller::new(Box::new(out.clone()));
        (l.settle_every, l.max_waiting) = (4, 10);
        let most = feed(&mut l, &frames, |_, _| {});
        assert!(most <= 10 + 1, "{most} waited");
        // Over the bound, the oldest go down to half: the analyser is then
        // asked once per five more frames at most, not once per frame.
        let mut l = Labeller::new(Box::new(Shared::default()));
        (l.settle_every, l.max_waiting) = (u64::MAX, 10);
        feed(&mut l, &frames, |_, _| {});
        assert!(
            l.settles <= 88 / 5,
            "asked {} times for 88 frames",
            l.settles
        );
        let mut l = Labeller::new(Box::new(out.clone()));
        (l.settle_every, l.max_waiting) = (4, 10);
        out.0.borrow_mut().clear();
        out.1.borrow_mut().clear();
        feed(&mut l, &frames, |_, _| {});
        l.finish().unwrap();
        let all = written_frames(&out.0.borrow());
        assert_eq!(all.len(), 84);
        // The late probes came after frames that followed them.
        assert!(all.windows(2).any(|w| w[0] > w[1]), "{all:?}");
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 84, "each once");
    }
}
