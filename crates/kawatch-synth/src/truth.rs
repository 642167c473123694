//! The ground truth a synthetic capture was made from, in one vocabulary.
//!
//! Two granularities, same words:
//! - per packet, a [`Role`]: what a segment is as far as keepalive analysis
//!   goes. Scripted conversations tag every packet with one
//!   ([`Frame::role`](crate::Frame::role)); the simulation knows the
//!   role of every frame it writes
//!   ([`Generator::last_role`](crate::Generator::last_role)).
//! - per flow and prober, a [`Truth`] from the simulation: the settings each
//!   side was given, what the capture shows of them, and the expected
//!   [`Outcome`] (the core's own enum, as kawatch reports it).
//!
//! Neither is re-derived from the wire: the script or the model knows which
//! segment is a probe, an answer, a give-up, and what each kernel measured.

use serde::Serialize;

pub use kawatch_core::Outcome;

/// What a packet is, as far as keepalive analysis goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Handshake, data, plain ACKs, FIN, window updates, other RSTs.
    Other,
    /// A keepalive probe (0 or 1 byte at snd_nxt - 1, that byte acknowledged).
    Probe,
    /// The peer's (duplicate) ACK answering a probe.
    ProbeAck,
    /// The peer's RST answering a probe: it has lost the connection.
    ProbeRst,
    /// The prober's RST after its probes went unanswered.
    GiveUp,
    /// A persist-timer probe into a zero window: same bytes as a keepalive.
    ZeroWindowProbe,
    /// A retransmitted data segment (its bytes were never acknowledged).
    Retransmission,
}

impl Role {
    /// The `kind` kawatch's `--format events` gives this role, if any.
    pub fn event_kind(self) -> Option<&'static str> {
        match self {
            Role::Probe => Some("probe"),
            Role::ProbeAck => Some("probe_ack"),
            Role::ProbeRst => Some("probe_rst"),
            Role::GiveUp => Some("give_up"),
            Role::ZeroWindowProbe => Some("zero_window_probe"),
            Role::Other | Role::Retransmission => None,
        }
    }
}

/// A side's keepalive settings (TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KeepaliveConfig {
    /// Idle time before the first probe, seconds.
    pub idle_s: u32,
    /// Interval between unanswered probes, seconds.
    pub intvl_s: u32,
    /// Unanswered probes before giving up.
    pub probes: u32,
    /// TCP_USER_TIMEOUT, if set: give up once idle reaches it with a probe out (item 8).
    pub user_timeout_ms: Option<u32>,
    /// Probe payload: 0 (Linux) or 1 garbage byte (Windows and old BSD, item 14).
    pub probe_len: u8,
}

/// What a simulated flow was made to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// Requests and responses with idle gaps; short keepalive settings on one or both sides.
    Keepalive,
    /// Long idle gaps; long keepalive settings (including Linux's 7200/75/9).
    KeepaliveLong,
    /// A pooled connection: small requests, long idle gaps, no keepalive.
    Plain,
    /// Large responses in quick succession, no keepalive.
    Bulk,
    /// Application heartbeats (new data), no keepalive (item 11).
    Heartbeat,
    /// Uploads into a receiver that stops reading: zero-window probes (item 9).
    ZeroWindow,
    /// Tail losses and a 1-byte segment resent because its ACK was lost (item 10).
    Retransmission,
}

/// How a flow ended, as far as the capture goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowEnd {
    /// Still open when the capture ended.
    Open,
    /// FIN exchange.
    Closed,
    /// An application abort (RST).
    Aborted,
    /// A keepalive gave up (RST).
    Dead,
    /// A rebooted peer answered with RST.
    Reset,
}

/// The whole generated capture's truth.
#[derive(Clone, Debug, Serialize)]
pub struct Truth {
    /// The seed.
    pub seed: u64,
    /// Flows asked for.
    pub flows_requested: u32,
    /// Frames written.
    pub frames: u64,
    /// Frame bytes written (full frames, before any snaplen).
    pub bytes: u64,
    /// Epoch seconds of the first frame.
    pub first_ts: Option<f64>,
    /// Epoch seconds of the last frame.
    pub last_ts: Option<f64>,
    /// Most flows the generator simulated at one moment.
    pub max_simulated_flows: usize,
    /// Most connections open at one moment in the capture (from a flow's
    /// first frame to its last, or to the end when it was left open).
    pub max_open_flows: usize,
    /// Flows with at least one frame in the capture, by id.
    pub flows: Vec<FlowTruth>,
}

/// One simulated flow.
#[derive(Clone, Debug, Serialize)]
pub struct FlowTruth {
    /// Generator flow id.
    pub id: u32,
    /// What it was made to do.
    pub kind: FlowKind,
    /// Client (initiator) endpoint, as kawatch prints endpoints.
    pub client: String,
    /// Server endpoint.
    pub server: String,
    /// VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Connected before the capture started (no handshake in it).
    pub started_before_capture: bool,
    /// Round-trip time, ms.
    pub rtt_ms: f64,
    /// Where the capture sits: 0 = at the client, 1 = at the server.
    pub capture_at: f64,
    /// First frame of the flow in the capture, epoch seconds.
    pub first_ts: f64,
    /// Last frame of the flow in the capture, epoch seconds.
    pub last_ts: f64,
    /// Segments in the capture.
    pub segments: u64,
    /// Zero-window probes in the capture.
    pub zero_window_probes: u32,
    /// Retransmitted data segments in the capture.
    pub retransmissions: u32,
    /// How it ended.
    pub end: FlowEnd,
    /// Client side, then server side.
    pub sides: [SideTruth; 2],
}

/// One side of a simulated flow.
#[derive(Clone, Debug, Serialize)]
pub struct SideTruth {
    /// The endpoint.
    pub endpoint: String,
    /// Keepalive settings; `None` = keepalive off.
    pub keepalive: Option<KeepaliveConfig>,
    /// What its probes in the capture show; `None` when it sent none there.
    pub prober: Option<ProberTruth>,
}

/// What one prober's probes in the capture show.
#[derive(Clone, Debug, Serialize)]
pub struct ProberTruth {
    /// Keepalive probes in the capture.
    pub probes_sent: u32,
    /// Of those, answered in the capture (by the peer's ACK, any accepted segment, or RST).
    pub probes_answered: u32,
    /// Where probing stands at the end of the capture.
    pub outcome: Outcome,
    /// On give-up: unanswered probes of the final run that are in the capture.
    pub give_up_probes: Option<u32>,
    /// On give-up: the kernel's count of unanswered probes (`probes_out`).
    pub give_up_probes_kernel: Option<u32>,
    /// On give-up: every probe of the final run is in the capture.
    pub give_up_run_whole: bool,
    /// Some episode's first probe came when the timer had run the configured idle
    /// (not later, as when the timer was on the interval's beat), and the
    /// segment that started that idle is in the capture and is not the answer
    /// to the prober's previous probe (then the gap is max(idle, intvl), item 5).
    pub idle_observable: bool,
    /// Some first probe has its last received segment in the capture (tight or not).
    pub idle_bounded: bool,
    /// The whole-second idle is determinable from an observation: 0-3 % late,
    /// plus the capture offset, plus a small early allowance stays under the
    /// next second; or it is an OS default.
    pub idle_exact: bool,
    /// Largest observed idle a tight episode can show, seconds.
    pub idle_observed_max_s: f64,
    /// Two consecutive probes in the capture, the first unanswered.
    pub intvl_observable: bool,
    /// The whole-second interval is determinable (as for idle, without the offset).
    pub intvl_exact: bool,
    /// Largest spacing unanswered probes can show, seconds.
    pub intvl_observed_max_s: f64,
    /// The wire proves these are probes even without the start of the flow
    /// (item 18): the peer's ACK of the probed byte is in the capture, or three
    /// unanswered in a row, or a give-up, or a peer RST.
    pub recognisable: bool,
    /// First probe in the capture, epoch seconds.
    pub first_probe: f64,
    /// Last probe in the capture, epoch seconds.
    pub last_probe: f64,
}

/// How early an observation may be read without changing its whole second:
/// capture jitter and other stacks' coarse timers (kawatch allows 0.5 %, at
/// least 50 ms and at most 200 ms). A setting is determinable from the wire
/// when its latest observation plus this stays below the next whole second.
fn early_allowance(observed: f64) -> f64 {
    (observed * 0.005).clamp(0.05, 0.2)
}

/// Whether `setting` seconds is the only whole second an observation up to
/// `max_observed` can come from (OS defaults are taken as known).
pub(crate) fn whole_second_determinable(setting: u32, max_observed: f64) -> bool {
    max_observed + early_allowance(max_observed) < setting as f64 + 1.0 || is_os_default(setting)
}

/// Values kawatch's OS-default table holds (idle 7200, intvl 75 / 1).
fn is_os_default(v: u32) -> bool {
    matches!(v, 1 | 75 | 7200)
}
