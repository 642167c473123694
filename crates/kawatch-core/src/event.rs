//! What the analyser decides about a segment: probes, their answers, give-ups
//! and zero-window probes, each an [`Event`].

use crate::segment::Endpoint;
use crate::time::Timestamp;

/// What a classified segment was.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema),
    serde(rename_all = "snake_case")
)]
pub enum EventKind {
    /// A keepalive probe.
    Probe,
    /// The peer's ACK answering a probe.
    ProbeAck,
    /// The peer's RST answering a probe (it lost the connection).
    ProbeRst,
    /// The prober's RST after unanswered probes.
    GiveUp,
    /// A zero-window probe (same bytes as a keepalive; not one).
    ZeroWindowProbe,
}

impl EventKind {
    /// The word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Probe => "probe",
            EventKind::ProbeAck => "probe_ack",
            EventKind::ProbeRst => "probe_rst",
            EventKind::GiveUp => "give_up",
            EventKind::ZeroWindowProbe => "zero_window_probe",
        }
    }
}

/// A classified segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Event {
    /// 1-based frame number in the input.
    pub frame: u64,
    /// Capture timestamp of that frame.
    pub ts: Timestamp,
    /// What it was.
    pub kind: EventKind,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
}
