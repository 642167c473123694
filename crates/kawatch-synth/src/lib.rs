//! Synthetic captures for kawatch, and the truth they were made from.
//!
//! Two ways to make a capture, one [`writer`] and one [`truth`] vocabulary:
//!
//! - **Scripted**: a [`Conversation`] is one TCP connection written step by
//!   step (`c.wait(2.04).probe(A)`), every packet tagged with its [`Role`]; a
//!   [`Capture`] puts conversations into a file under any link layer and
//!   format. The named [`cases`] are checked in under `fixtures/synth/`.
//! - **Simulated**: a [`Generator`] streams tens of thousands of overlapping
//!   flows, each run by a small model of two Linux TCP endpoints' keepalive
//!   timers (see `kernel`), and ends with a [`Truth`]: per flow and prober
//!   the settings, what the capture shows of them, and the expected outcome.
//!
//! ```
//! use kawatch_synth::{cases, Config, Format, Generator, LinkType, Writer};
//!
//! // A named case, byte for byte what fixtures/synth/alive.pcap holds.
//! let alive = cases::by_file_name("alive.pcap").unwrap();
//! let _bytes = (alive.build)().to_bytes();
//!
//! // A generated capture, streamed through the same writer.
//! let mut w = Writer::new(Vec::new(), Format::PcapNano, LinkType::Ethernet);
//! let mut gen = Generator::new(Config::new(50, 1_000, 7));
//! let mut frame = Vec::new();
//! while let Some(ts) = gen.next_frame(&mut frame) {
//!     w.write(ts, &frame).unwrap();
//! }
//! let _pcap = w.finish().unwrap();
//! println!("{} flows", gen.finish().flows.len());
//! ```

pub mod capture;
pub mod cases;
pub mod conversation;
pub mod generator;
mod kernel;
pub mod link;
mod rng;
mod time;
pub mod truth;
pub mod writer;

pub use capture::{Capture, Frame};
pub use conversation::Conversation;
pub use generator::{write_capture, Config, Generator, Profile};
pub use kernel::MAX_LATE;
pub use link::LinkType;
pub use time::{EPOCH_BASE_S, T0};
pub use truth::{Outcome, Role, Truth};
pub use writer::{Format, Writer};
