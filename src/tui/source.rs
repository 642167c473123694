//! Where the feed's frames come from: a [`FrameSource`], such as a
//! [`Source`](crate::capture::Source) (a file, standard input, an interface)
//! or [`Frames`], frames held in memory (for tests, or a capture read ahead).

pub use crate::capture::FrameSource;
use crate::capture::{CaptureError, Frame, Next};
use kawatch_core::{LinkType, Timestamp};

/// Frames in memory, replayed in order; then the error the input ended
/// with, if any (once), then the end.
#[derive(Debug)]
pub struct Frames {
    name: String,
    link: LinkType,
    link_name: String,
    /// Timestamp, length on the wire, link type, captured bytes.
    pub(crate) frames: Vec<(Timestamp, u32, Option<LinkType>, Vec<u8>)>,
    next: usize,
    ends_with: Option<CaptureError>,
}

impl Frames {
    /// No frames yet, named `name`, of link type `link` (`link_name` as
    /// libpcap calls it, e.g. `EN10MB`).
    pub fn new(name: &str, link: LinkType, link_name: &str) -> Frames {
        Frames {
            name: name.to_string(),
            link,
            link_name: link_name.to_string(),
            frames: Vec::new(),
            next: 0,
            ends_with: None,
        }
    }

    /// Adds a whole frame captured at `ts`.
    pub fn push(&mut self, ts: Timestamp, data: Vec<u8>) {
        let wire_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.frames.push((ts, wire_len, Some(self.link), data));
    }

    /// Adds a frame captured at `ts` that was `wire_len` bytes on the wire.
    pub fn push_with_len(&mut self, ts: Timestamp, data: Vec<u8>, wire_len: u32) {
        self.frames.push((ts, wire_len, Some(self.link), data));
    }

    /// Makes the input end with `e` after its frames (a cut-off file).
    pub fn end_with(&mut self, e: CaptureError) {
        self.ends_with = Some(e);
    }

    /// Reads all of `src` (not live: a live source has no end) into memory,
    /// keeping its name and link type, and the error it ended with.
    pub fn read(src: &mut impl FrameSource) -> Frames {
        let mut out = Frames::new(src.name(), src.link_type(), src.link_name());
        loop {
            match src.next_frame() {
                Ok(Next::Frame(Frame {
                    ts,
                    data,
                    wire_len,
                    link,
                    ..
                })) => out.frames.push((ts, wire_len, link, data.to_vec())),
                Ok(Next::Timeout) => {}
                Ok(Next::End) => break,
                Err(e) => {
                    out.end_with(e);
                    break;
                }
            }
        }
        out
    }

    /// How many frames it holds.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether it holds no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

impl FrameSource for Frames {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        match self.frames.get(self.next) {
            Some((ts, wire_len, link, data)) => {
                self.next += 1;
                Ok(Next::Frame(Frame {
                    ts: *ts,
                    data,
                    wire_len: *wire_len,
                    link: *link,
                    input: 0,
                    skipped: 0,
                    decoded: None,
                }))
            }
            None => match self.ends_with.take() {
                Some(e) => Err(e),
                None => Ok(Next::End),
            },
        }
    }

    fn link_type(&self) -> LinkType {
        self.link
    }

    fn link_name(&self) -> &str {
        &self.link_name
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn is_live(&self) -> bool {
        false
    }

    fn can_restart(&self) -> bool {
        true
    }

    /// From the first frame again. The error the input ended with, if any,
    /// was handed out once and is not repeated.
    fn restart(&mut self) -> Result<bool, CaptureError> {
        self.next = 0;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Source;
    use std::path::Path;

    fn count(src: &mut impl FrameSource) -> usize {
        let mut n = 0;
        while let Ok(Next::Frame(_)) = src.next_frame() {
            n += 1;
        }
        n
    }

    /// A file can be read again; a pipe cannot (it is not opened again).
    #[test]
    fn a_file_restarts_a_pipe_does_not() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth/null.pcap");
        let mut file = Source::open_file(&path, Some("ip")).expect("fixture opens");
        assert!(file.can_restart());
        // The filter passes 12 of its 22 frames (the IPv4 ones, as tcpdump).
        assert_eq!(count(&mut file), 12);
        assert!(file.restart().expect("opened again"));
        assert_eq!(count(&mut file), 12, "all of it again, filtered as before");

        let (reader, mut writer) = std::io::pipe().expect("a pipe");
        let bytes = std::fs::read(&path).expect("fixture");
        let feeder = std::thread::spawn(move || {
            use std::io::Write;
            let _ = writer.write_all(&bytes);
        });
        use std::os::fd::AsRawFd;
        let dev = format!("/dev/fd/{}", reader.as_raw_fd());
        let mut pipe = Source::open_file(Path::new(&dev), None).expect("the pipe opens");
        assert!(!pipe.can_restart());
        assert_eq!(count(&mut pipe), 22);
        assert!(!pipe.restart().expect("no error"), "not read twice");
        let _ = feeder.join();

        let mut frames = Frames::read(&mut Source::open_file(&path, None).expect("fixture"));
        assert!(frames.can_restart());
        assert_eq!(count(&mut frames), 22);
        assert!(frames.restart().expect("restarted"));
        assert_eq!(count(&mut frames), 22);
    }
}
