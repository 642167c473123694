//! Several captures read as one, frames in time order, as mergecap merges
//! them: the files a rotating capture wrote (`tcpdump -C`/`-G`), or captures
//! of one connection's two ends.

use super::bpf::Filter;
use super::{CaptureError, Frame, FrameSource, Next, Source};
use kawatch_core::{LinkType, Timestamp};

/// Frames of several sources in time order (ties go to the earlier source).
pub struct Merged {
    inputs: Vec<Input>,
    name: String,
    link_name: String,
    /// The last frame handed out.
    out: Vec<u8>,
    /// The first error that ended a source early but left its frames
    /// standing (a file cut off or damaged mid-way): reported once every
    /// source has ended.
    partial: Option<CaptureError>,
    warnings: Vec<String>,
    /// The BPF filter, applied to the merged frames
    /// ([`Merged::with_filter`]).
    filter: Option<Filter>,
    /// Frames the filter left out since the last one handed out.
    skipped: u64,
}

struct Input {
    src: Source,
    /// Its next frame, read ahead: (time, wire length, link type, bytes).
    next: Option<(Timestamp, u32, Option<LinkType>, Vec<u8>)>,
    ended: bool,
}

impl Merged {
    /// `sources` merged; it is named by their names joined with `+`.
    pub fn new(sources: Vec<Source>) -> Merged {
        let name = join(sources.iter().map(Source::name), "+");
        let mut link_names: Vec<&str> = Vec::new();
        for s in &sources {
            for l in s.link_name().split(',') {
                if !link_names.contains(&l) {
                    link_names.push(l);
                }
            }
        }
        let link_name = link_names.join(",");
        Merged {
            inputs: sources
                .into_iter()
                .map(|src| Input {
                    src,
                    next: None,
                    ended: false,
                })
                .collect(),
            name,
            link_name,
            out: Vec::new(),
            partial: None,
            warnings: Vec::new(),
            filter: None,
            skipped: 0,
        }
    }

    /// Applies the BPF filter `text` to the merged frames, as libpcap
    /// applies one to a file's (`pcap_offline_filter`), so that the frames
    /// it leaves out still count in the merged stream's numbering (the
    /// sources are opened without it). An expression that does not compile
    /// for a source's link type is refused here, as opening it would.
    pub fn with_filter(mut self, text: &str) -> Result<Merged, CaptureError> {
        if text.trim().is_empty() {
            return Ok(self);
        }
        let mut filter = Filter::new(text);
        for input in &self.inputs {
            filter
                .program(dlt_of(input.src.link_type()), input.src.filter_flavour())
                .map_err(|reason| CaptureError::BadFilter {
                    filter: text.to_owned(),
                    reason,
                })?;
        }
        self.filter = Some(filter);
        Ok(self)
    }

    /// Notes that a piece (`name`) could not be read at all (`reason`): the
    /// merge ends as a partial read saying so, as a piece cut off does.
    pub fn without(&mut self, name: &str, reason: String) {
        let e = CaptureError::PieceUnread {
            name: name.to_owned(),
            reason,
        };
        if self.partial.is_some() {
            self.warnings.push(e.to_string());
        } else {
            self.partial = Some(e);
        }
    }

    /// Reads ahead one frame from every source that has none waiting.
    fn fill(&mut self) -> Result<Filled, CaptureError> {
        let several = self.inputs.len() > 1;
        for input in &mut self.inputs {
            while input.next.is_none() && !input.ended {
                match input.src.next_frame() {
                    Ok(Next::Frame(f)) => {
                        input.next = Some((f.ts, f.wire_len, f.link, f.data.to_vec()));
                    }
                    // A pipe fell silent (`OpenOptions::wake`): the caller
                    // hears of it, and the next call waits on.
                    Ok(Next::Timeout) => return Ok(Filled::Quiet),
                    Ok(Next::End) => input.ended = true,
                    // The first such error ends the merged read as it would
                    // a single file's; any other is a warning.
                    Err(e) if e.is_partial() => {
                        input.ended = true;
                        // Which piece, when there are several.
                        let e = match e.partial_reason() {
                            Some(reason) if several => CaptureError::InPiece {
                                name: input.src.name().to_owned(),
                                reason,
                                message: e.to_string(),
                            },
                            _ => e,
                        };
                        if self.partial.is_some() {
                            self.warnings.push(e.to_string());
                        } else {
                            self.partial = Some(e);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            self.warnings.extend(input.src.take_warnings());
        }
        Ok(Filled::Ready)
    }
}

/// What [`Merged::fill`] did.
enum Filled {
    /// Every input holds its next frame, or has ended.
    Ready,
    /// An input fell silent first.
    Quiet,
}

impl FrameSource for Merged {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        let (ts, wire_len, link, i) = loop {
            if let Filled::Quiet = self.fill()? {
                return Ok(Next::Timeout);
            }
            let earliest = self
                .inputs
                .iter()
                .enumerate()
                .filter_map(|(i, input)| input.next.as_ref().map(|n| (n.0, i)))
                .min();
            let Some((_, i)) = earliest else {
                return match self.partial.take() {
                    Some(e) => Err(e),
                    None => Ok(Next::End),
                };
            };
            let (ts, wire_len, link, data) = self.inputs[i].next.take().expect("read ahead");
            self.out = data;
            let passes = match &mut self.filter {
                None => true,
                // (A link type it does not compile for passes nothing.)
                Some(filter) => {
                    let input = &self.inputs[i].src;
                    filter
                        .program(
                            dlt_of(link.unwrap_or(input.link_type())),
                            input.filter_flavour(),
                        )
                        .is_ok_and(|p| filter.matches(p, &self.out, wire_len))
                }
            };
            if passes {
                break (ts, wire_len, link, i);
            }
            self.skipped += 1;
        };
        Ok(Next::Frame(Frame {
            ts,
            data: &self.out,
            wire_len,
            link,
            input: i,
            skipped: std::mem::take(&mut self.skipped),
            decoded: None,
        }))
    }

    fn link_type(&self) -> LinkType {
        self.inputs
            .first()
            .map_or(LinkType::Ethernet, |i| i.src.link_type())
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

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn frames_held(&self) -> usize {
        self.inputs.iter().filter(|i| i.next.is_some()).count()
    }

    fn input_names(&self) -> Vec<String> {
        self.inputs
            .iter()
            .map(|i| i.src.name().to_string())
            .collect()
    }
}

/// libpcap's DLT for frames of `link`.
fn dlt_of(link: LinkType) -> i32 {
    super::bpf::dlt_of_linktype(u32::from(link.linktype()))
}

fn join<'a>(names: impl Iterator<Item = &'a str>, sep: &str) -> String {
    names.collect::<Vec<_>>().join(sep)
}
