//! A capture file of scripted conversations, under one link layer and format.

use kawatch_core::Timestamp;

use crate::conversation::{Conversation, Packet};
use crate::link::LinkType;
use crate::truth::Role;
use crate::writer::{Format, Writer, DEFAULT_SNAPLEN};

/// One record of the file: the captured bytes (at most snaplen), the length
/// the frame had on the wire, and what the packet is.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Capture timestamp.
    pub ts: Timestamp,
    /// The bytes in the file.
    pub data: Vec<u8>,
    /// The frame's length on the wire.
    pub orig_len: u32,
    /// Ground truth.
    pub role: Role,
}

/// A capture file under construction.
#[derive(Clone, Debug)]
pub struct Capture {
    link: LinkType,
    format: Format,
    snaplen: u32,
    ethernet_padding: Option<u8>,
    ethernet_trailer: Vec<u8>,
    cut_tail: usize,
    packets: Vec<Packet>,
}

impl Capture {
    /// An empty capture; snapshot length [`DEFAULT_SNAPLEN`].
    pub fn new(link: LinkType, format: Format) -> Self {
        Capture {
            link,
            format,
            snaplen: DEFAULT_SNAPLEN,
            ethernet_padding: None,
            ethernet_trailer: Vec::new(),
            cut_tail: 0,
            packets: Vec::new(),
        }
    }

    /// Adds a conversation's packets.
    pub fn with(mut self, conversation: Conversation) -> Self {
        self.packets.extend(conversation.into_packets());
        self
    }

    /// Frames longer than `snaplen` are cut to it (orig_len keeps the length).
    pub fn snaplen(mut self, snaplen: u32) -> Self {
        self.snaplen = snaplen;
        self
    }

    /// Ethernet frames shorter than the 60-byte minimum are padded with
    /// `pad`, and every frame then gets `trailer` appended: bytes after the
    /// IP packet that are not part of it.
    pub fn ethernet_trailer(mut self, pad: u8, trailer: &[u8]) -> Self {
        assert_eq!(self.link, LinkType::Ethernet);
        self.ethernet_padding = Some(pad);
        self.ethernet_trailer = trailer.to_vec();
        self
    }

    /// Drops the last `bytes` of the file, so it ends mid-record.
    pub fn cut_off(mut self, bytes: usize) -> Self {
        self.cut_tail = bytes;
        self
    }

    /// The file format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The records, in time order (frame number = index + 1).
    pub fn frames(&self) -> Vec<Frame> {
        let mut packets: Vec<&Packet> = self.packets.iter().collect();
        packets.sort_by_key(|p| p.ts); // stable: equal times keep script order
        packets
            .into_iter()
            .map(|p| {
                let mut data =
                    self.link
                        .frame(&p.headers(), self.ethernet_padding, &self.ethernet_trailer);
                let orig_len = data.len() as u32;
                data.truncate(self.snaplen as usize);
                Frame {
                    ts: p.ts,
                    data,
                    orig_len,
                    role: p.role,
                }
            })
            .collect()
    }

    /// The file, through the [`Writer`]. With [`Self::cut_off`], the last
    /// record is not whole.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), self.format, self.link)
            .snaplen(self.snaplen)
            .cut_tail(self.cut_tail);
        for frame in self.frames() {
            w.write_record(frame.ts, &frame.data, frame.orig_len)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        w.finish().unwrap_or_else(|e| panic!("{e}"))
    }
}
