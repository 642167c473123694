//! `-w FILE`: the keepalive-related frames (probes, their answers, give-ups,
//! zero-window probes) written to a pcapng file, each with kawatch's label as
//! a packet comment, so that Wireshark shows kawatch's classification beside
//! its own.
//!
//! Some frames are labelled only when later ones decide them (a probe seen
//! at the start of a capture is known for one when the next comes), so
//! copies of the frames that could be labelled, those carrying at most one
//! byte of payload, are held for a while, and the file is written at the end
//! in frame order.

use crate::capture::Frame;
use kawatch_core::{decode_with_len, Event, EventKind, LinkType, Timestamp};
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};

/// Frames held at most, waiting for a label (the oldest leave first).
const MAX_HELD: usize = 1 << 18;

/// A frame's copy.
#[derive(Debug)]
struct Copy {
    ts: Timestamp,
    link: LinkType,
    wire_len: u32,
    data: Vec<u8>,
}

/// Collects the labelled frames of one or several inputs.
#[derive(Debug, Default)]
pub struct Labeller {
    /// The input being read: its position among the inputs, and its name.
    input: (usize, String),
    /// Copies of recent frames that could be labelled, by frame number.
    held: VecDeque<(u64, Copy)>,
    /// Labelled frames by (input, frame number), with their labels.
    labelled: BTreeMap<(usize, u64), (Copy, Vec<String>)>,
    /// Labels that came after their frame's copy had left.
    missed: u64,
}

impl Labeller {
    /// Nothing collected yet.
    pub fn new() -> Labeller {
        Labeller::default()
    }

    /// Frames from now on come from the input named `name` (frame numbers
    /// start again at 1 for each).
    pub fn start_input(&mut self, name: &str) {
        let next = if self.input.1.is_empty() && self.labelled.is_empty() {
            0
        } else {
            self.input.0 + 1
        };
        self.input = (next, name.to_string());
        self.held.clear();
    }

    /// Before frame number `frame` is analysed: keeps a copy if it could be
    /// labelled (a TCP segment with at most one byte of payload).
    pub fn offer(&mut self, frame: u64, f: &Frame<'_>) {
        let Some(link) = f.link else { return };
        let small = decode_with_len(link, frame, f.ts, f.data, f.wire_len)
            .is_some_and(|seg| seg.payload_len <= 1);
        if !small {
            return;
        }
        if self.held.len() >= MAX_HELD {
            self.held.pop_front();
        }
        self.held.push_back((
            frame,
            Copy {
                ts: f.ts,
                link,
                wire_len: f.wire_len,
                data: f.data.to_vec(),
            },
        ));
    }

    /// Labels the frames `events` name.
    pub fn label(&mut self, events: &[Event]) {
        for ev in events {
            let text = format!(
                "kawatch: {} ({} -> {}; {} frame {})",
                describe(ev.kind),
                ev.src,
                ev.dst,
                self.input.1,
                ev.frame
            );
            let key = (self.input.0, ev.frame);
            if let Some((_, labels)) = self.labelled.get_mut(&key) {
                labels.push(text);
                continue;
            }
            match self.held.binary_search_by_key(&ev.frame, |(n, _)| *n) {
                Ok(i) => {
                    let (_, copy) = self.held.remove(i).expect("found");
                    self.labelled.insert(key, (copy, vec![text]));
                }
                Err(_) => self.missed += 1,
            }
        }
    }

    /// Labels whose frame had left before it was decided (never in
    /// practice: that takes more than 262,144 small frames in between).
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// How many frames are labelled.
    pub fn len(&self) -> usize {
        self.labelled.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.labelled.is_empty()
    }

    /// Writes the labelled frames, in input and frame order, as pcapng:
    /// one interface per link type, nanosecond timestamps, each frame's
    /// labels as its comments.
    pub fn write_pcapng(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut links: Vec<LinkType> = Vec::new();
        block(out, 0x0a0d_0d0a, &section_header())?;
        for (copy, labels) in self.labelled.values() {
            let iface = match links.iter().position(|&l| l == copy.link) {
                Some(i) => i,
                None => {
                    links.push(copy.link);
                    block(out, 1, &interface(copy.link))?;
                    links.len() - 1
                }
            };
            block(out, 6, &packet(iface as u32, copy, labels))?;
        }
        out.flush()
    }
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

/// The LINKTYPE_ number a file states for `link`.
fn linktype(link: LinkType) -> u16 {
    match link {
        LinkType::Ethernet => 1,
        LinkType::LinuxSll => 113,
        LinkType::LinuxSll2 => 276,
        LinkType::Null => 0,
        LinkType::Loop => 108,
        LinkType::RawIp => 101,
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
    b.extend_from_slice(&linktype(link).to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // no snapshot length
    push_option(&mut b, 9, &[9]); // if_tsresol: nanoseconds
    push_option(&mut b, 0, &[]);
    b
}

fn packet(iface: u32, copy: &Copy, labels: &[String]) -> Vec<u8> {
    let units = u64::try_from(copy.ts.0.max(0)).unwrap_or(u64::MAX);
    let mut b = Vec::with_capacity(32 + copy.data.len() + 96);
    b.extend_from_slice(&iface.to_le_bytes());
    b.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(units as u32).to_le_bytes());
    b.extend_from_slice(&(copy.data.len() as u32).to_le_bytes());
    b.extend_from_slice(&copy.wire_len.to_le_bytes());
    b.extend_from_slice(&copy.data);
    b.resize(b.len().next_multiple_of(4), 0);
    for label in labels {
        push_option(&mut b, 1, label.as_bytes()); // opt_comment
    }
    push_option(&mut b, 0, &[]);
    b
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
