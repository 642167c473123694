//! A capture file of scripted conversations, under one link layer and format
//! (or, in pcapng, several interfaces of different link layers).

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
    /// The interface it was captured on (0 unless [`Capture::with_on`]).
    pub interface: u32,
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
    /// Each packet with its interface.
    packets: Vec<(u32, Packet)>,
    /// pcapng interfaces after the first: (link type, snapshot length).
    more_interfaces: Vec<(LinkType, u32)>,
    big_endian: bool,
    /// pcapng: a new section, in the other byte order, every this many records.
    section_every: Option<usize>,
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
            more_interfaces: Vec::new(),
            big_endian: false,
            section_every: None,
        }
    }

    /// Adds a conversation's packets.
    pub fn with(mut self, conversation: Conversation) -> Self {
        self.packets
            .extend(conversation.into_packets().into_iter().map(|p| (0, p)));
        self
    }

    /// pcapng: adds a conversation captured on another interface, of link
    /// type `link` and snapshot length `snaplen` (one interface per such
    /// pair, declared at the start of the file).
    pub fn with_on(mut self, link: LinkType, snaplen: u32, conversation: Conversation) -> Self {
        assert!(matches!(self.format, Format::Pcapng { .. }));
        let iface = match self
            .more_interfaces
            .iter()
            .position(|&i| i == (link, snaplen))
        {
            Some(i) => i,
            None => {
                self.more_interfaces.push((link, snaplen));
                self.more_interfaces.len() - 1
            }
        } as u32
            + 1;
        self.packets
            .extend(conversation.into_packets().into_iter().map(|p| (iface, p)));
        self
    }

    /// Writes every number big-endian, as a big-endian machine does.
    pub fn big_endian(mut self) -> Self {
        self.big_endian = true;
        self
    }

    /// pcapng: starts a new section every `records` records, each in the
    /// other byte order than the one before.
    pub fn section_every(mut self, records: usize) -> Self {
        assert!(matches!(self.format, Format::Pcapng { .. }) && records > 0);
        self.section_every = Some(records);
        self
    }

    /// The link type and snapshot length of interface `iface`.
    fn interface(&self, iface: u32) -> (LinkType, u32) {
        match iface {
            0 => (self.link, self.snaplen),
            i => self.more_interfaces[i as usize - 1],
        }
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
        let mut packets: Vec<&(u32, Packet)> = self.packets.iter().collect();
        packets.sort_by_key(|(_, p)| p.ts); // stable: equal times keep script order
        packets
            .into_iter()
            .map(|&(interface, ref p)| {
                let (link, snaplen) = self.interface(interface);
                let mut data =
                    link.frame(&p.headers(), self.ethernet_padding, &self.ethernet_trailer);
                let orig_len = data.len() as u32;
                data.truncate(snaplen as usize);
                Frame {
                    ts: p.ts,
                    data,
                    orig_len,
                    role: p.role,
                    interface,
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
        if self.big_endian {
            w = w.big_endian();
        }
        for &(link, snaplen) in &self.more_interfaces {
            w.interface(link, snaplen).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut big_endian = self.big_endian;
        for (i, frame) in self.frames().into_iter().enumerate() {
            if self.section_every.is_some_and(|n| i > 0 && i % n == 0) {
                big_endian = !big_endian;
                w.section(big_endian).unwrap_or_else(|e| panic!("{e}"));
            }
            w.write_record_on(frame.interface, frame.ts, &frame.data, frame.orig_len)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        w.finish().unwrap_or_else(|e| panic!("{e}"))
    }
}
