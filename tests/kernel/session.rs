//! One capture session: two namespaces, three captures, nine scenarios run
//! concurrently on different ports, then a settings file and a cut copy
//! beside each capture.
//!
//! Timeline (t0 = captures running):
//!   t0 .. D      handshakes and data (ping-pong every 250 ms, bulk for s5),
//!                zero window (s7), one-byte retransmission (s8);
//!   D            every flow's last exchange; then idle: the silent peers
//!                start dropping (s2, s6), the probers probe;
//!   D + ~0.3 s   the cut point (before any probe: idle >= 1 s);
//!   ...          until the last scenario has what it needs (dead probers
//!                give up, alive ones probe a few times).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use socket2::{Domain, SockAddr, Socket, TcpKeepalive};

use super::capture::{cut_capture, epoch_ns, CaptureSpec, RunningCapture};
use super::expect::{CaptureSettings, FlowSpec, KeepaliveSocket, ProberSpec, SETTINGS_FORMAT};
use super::rng::SplitMix64;
use super::sys::{
    self, iptables, tcp_info, tcp_socket_in, wait_all_acked, NetnsPair, ADDR_B4, ADDR_B6, VETH_A,
    VETH_B,
};

pub(crate) const SCENARIOS: [&str; 9] = [
    "s1_peer_alive",
    "s2_peer_silent",
    "s3_peer_reset",
    "s4_both_sides_probe",
    "s5_data_then_idle",
    "s6_ipv6_peer_silent",
    "s7_zero_window",
    "s8_one_byte_retransmission",
    "s9_keepalive_off",
];

/// Length of the data phase (longer than any idle setting, so the keepalive
/// timers of s5 fire, and are put off, while data flows).
const DATA_PHASE: Duration = Duration::from_millis(3200);
/// The cut point comes this long after the last flow went quiet ...
const CUT_AFTER_QUIET: Duration = Duration::from_millis(300);
/// ... and at least this long before the earliest possible probe (idle >= 1 s).
const CUT_BEFORE_PROBE: Duration = Duration::from_millis(200);
/// The captures run this much longer than the scenarios need.
const CAPTURE_TAIL: Duration = Duration::from_millis(1000);
/// No session may run longer than this (every wait below is also bounded).
const SESSION_LIMIT: Duration = Duration::from_secs(60);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ka {
    pub idle: u32,
    pub intvl: u32,
    pub cnt: u32,
}

impl Ka {
    fn draw(rng: &mut SplitMix64) -> Ka {
        Ka {
            idle: rng.range(1, 3),
            intvl: rng.range(1, 2),
            cnt: rng.range(2, 5),
        }
    }
    fn cadence(&self) -> f64 {
        f64::from(self.idle.max(self.intvl))
    }
    fn give_up_after(&self) -> f64 {
        f64::from(self.idle) + f64::from(self.intvl) * f64::from(self.cnt)
    }
    fn socket(&self, endpoint: &str) -> KeepaliveSocket {
        KeepaliveSocket {
            endpoint: endpoint.to_owned(),
            idle_s: self.idle,
            intvl_s: self.intvl,
            cnt: self.cnt,
        }
    }
    fn prober(&self, endpoint: &str, outcome: &str) -> ProberSpec {
        ProberSpec {
            endpoint: endpoint.to_owned(),
            idle_s: self.idle,
            intvl_s: self.intvl,
            cnt: self.cnt,
            outcome: outcome.to_owned(),
            probes_sent: match outcome {
                "dead" => Some(self.cnt),
                "reset" => Some(2),
                _ => None,
            },
            // An RST answer is not counted as answered (report contract).
            probes_answered: match outcome {
                "dead" => Some(0),
                "reset" => Some(1),
                _ => None,
            },
            min_probes_sent: match outcome {
                "alive" => ALIVE_MIN_PROBES,
                _ => 1,
            },
        }
    }
    /// Capture time an alive prober needs after its last exchange.
    fn alive_needs(&self) -> Duration {
        secs((f64::from(self.idle) + f64::from(ALIVE_MIN_PROBES) * self.cadence()) * 1.06 + 0.5)
    }
}

/// The capture of an alive prober lasts for one more probe than this.
const ALIVE_MIN_PROBES: u32 = 2;

/// Socket settings of one run, drawn from the seed.
#[derive(Clone, Debug)]
pub(crate) struct Draw {
    pub s1: Ka,
    pub s2: Ka,
    pub s3: Ka,
    pub s4_client: Ka,
    pub s4_server: Ka,
    pub s5: Ka,
    pub s6: Ka,
    pub s7: Ka,
}

impl Draw {
    pub(crate) fn from_seed(seed: u64) -> Draw {
        let mut rng = SplitMix64::new(seed);
        let s1 = Ka::draw(&mut rng);
        let s2 = Ka::draw(&mut rng);
        let s3 = Ka::draw(&mut rng);
        let s4_client = Ka::draw(&mut rng);
        // Both sides probe with different timing.
        let mut s4_server = Ka::draw(&mut rng);
        for _ in 0..100 {
            if (s4_server.idle, s4_server.intvl) != (s4_client.idle, s4_client.intvl) {
                break;
            }
            s4_server = Ka::draw(&mut rng);
        }
        Draw {
            s1,
            s2,
            s3,
            s4_client,
            s4_server,
            s5: Ka::draw(&mut rng),
            s6: Ka::draw(&mut rng),
            s7: Ka::draw(&mut rng),
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn epoch_s(t: SystemTime) -> f64 {
    epoch_ns(t) as f64 / 1e9
}

/// Set when the captures have stopped; scenario threads then finish.
struct StopFlag {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl StopFlag {
    fn set(&self) {
        *self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        self.cv.notify_all();
    }
    /// Waits up to `limit`; true once stopped.
    fn wait(&self, limit: Duration) -> bool {
        let guard = self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = self
            .cv
            .wait_timeout_while(guard, limit, |s| !*s)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard
    }
}

struct SetOnDrop(Arc<StopFlag>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

struct Ctx {
    ns_a: String,
    ns_b: String,
    /// End of the data phase.
    d: Instant,
    stop: Arc<StopFlag>,
}

/// What an application saw, checked by `application_errors`.
#[derive(Clone, Debug)]
pub(crate) struct AppCheck {
    pub scenario: String,
    pub what: String,
    pub expected: String,
    pub observed: String,
    pub ok: bool,
}

/// Sent by a scenario when its part during the capture is done.
struct Phase1 {
    flow: FlowSpec,
    /// The capture must run at least until then.
    needs_until: Instant,
    /// When this flow's last exchange was done and all data acknowledged.
    quiet_at: Instant,
    app: Vec<AppCheck>,
}

type Phase1Result = Result<Phase1, String>;

pub(crate) struct CaptureOut {
    pub name: String,
    /// kawatch capturing live: `file` is its JSON report, not a capture.
    pub is_report: bool,
    pub file: PathBuf,
    pub settings_file: PathBuf,
    pub cut_file: PathBuf,
    pub settings: CaptureSettings,
    pub stderr: String,
}

pub(crate) struct SessionRecord {
    pub seed: u64,
    pub draw: Draw,
    pub out_dir: PathBuf,
    pub captures: Vec<CaptureOut>,
    pub app: Vec<AppCheck>,
    pub timings: Vec<(String, Duration)>,
}

impl SessionRecord {
    pub(crate) fn summary(&self) -> String {
        let mut s = format!(
            "kernel session: seed {} (replay with KAWATCH_SEED={}), files in {}\n  settings: {:?}\n  timings:",
            self.seed,
            self.seed,
            self.out_dir.display(),
            self.draw
        );
        for (what, d) in &self.timings {
            s.push_str(&format!(" {what} {:.2}s;", d.as_secs_f64()));
        }
        for c in &self.captures {
            let counts: Vec<&str> = c
                .stderr
                .lines()
                .filter(|l| l.contains("packets") || l.contains("Packets"))
                .map(str::trim)
                .collect();
            s.push_str(&format!(
                "\n  capture {}: {} (settings {}; {})",
                c.name,
                c.file.display(),
                c.settings_file.display(),
                counts.join("; ")
            ));
        }
        s
    }
}

pub(crate) struct SessionConfig {
    pub seed: u64,
    pub out_dir: PathBuf,
    /// Distinguishes sessions of one process in namespace names.
    pub tag: String,
    /// Snapshot length for the Ethernet and pcapng captures. The `any`
    /// capture always keeps 128 bytes.
    pub snaplen: u32,
}

pub(crate) fn run_session(cfg: &SessionConfig) -> Result<SessionRecord, String> {
    let began = Instant::now();
    let mut timings = Vec::new();
    let draw = Draw::from_seed(cfg.seed);
    eprintln!(
        "kernel session: seed {} (replay with KAWATCH_SEED={}); settings {:?}",
        cfg.seed, cfg.seed, draw
    );
    for tool in ["ip", "iptables", "ip6tables", "tcpdump", "dumpcap"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
        if !found {
            return Err(format!(
                "{tool} is not installed (Debian: iproute2, iptables, tcpdump, tshark)"
            ));
        }
    }
    let removed = sys::remove_stale_namespaces()?;
    if !removed.is_empty() {
        eprintln!("kernel session: removed stale namespaces {removed:?}");
    }
    let pair = NetnsPair::create(&cfg.tag)?;
    for ns in [&pair.a, &pair.b] {
        sys::drop_marked(ns)?;
    }
    timings.push(("namespaces".to_owned(), began.elapsed()));

    std::fs::create_dir_all(&cfg.out_dir)
        .map_err(|e| format!("cannot create {}: {e}", cfg.out_dir.display()))?;
    let specs = capture_specs(&pair, &cfg.out_dir, cfg.snaplen);
    let mut running = Vec::new();
    for spec in specs {
        let _ = std::fs::remove_file(&spec.file);
        running.push(RunningCapture::start(spec, Duration::from_secs(10))?);
    }
    // The captures say they listen once the packet socket is bound; a little
    // more time costs nothing.
    std::thread::sleep(Duration::from_millis(100));
    timings.push(("captures ready".to_owned(), began.elapsed()));

    let t0 = Instant::now();
    let t0_wall = SystemTime::now();
    let d = t0 + DATA_PHASE;
    let stop = Arc::new(StopFlag {
        stopped: Mutex::new(false),
        cv: Condvar::new(),
    });
    let stop_guard = SetOnDrop(Arc::clone(&stop));
    let ctx = Arc::new(Ctx {
        ns_a: pair.a.clone(),
        ns_b: pair.b.clone(),
        d,
        stop: Arc::clone(&stop),
    });

    type ScenarioFn = fn(&Ctx, &Draw, &mpsc::Sender<Phase1Result>) -> Result<Vec<AppCheck>, String>;
    let scenario_fns: [(&str, ScenarioFn); 9] = [
        (SCENARIOS[0], s1_peer_alive),
        (SCENARIOS[1], s2_peer_silent),
        (SCENARIOS[2], s3_peer_reset),
        (SCENARIOS[3], s4_both_sides_probe),
        (SCENARIOS[4], s5_data_then_idle),
        (SCENARIOS[5], s6_ipv6_peer_silent),
        (SCENARIOS[6], s7_zero_window),
        (SCENARIOS[7], s8_one_byte_retransmission),
        (SCENARIOS[8], s9_keepalive_off),
    ];
    let (tx, rx) = mpsc::channel::<Phase1Result>();
    let mut handles = Vec::new();
    for (name, f) in scenario_fns {
        let ctx = Arc::clone(&ctx);
        let draw = draw.clone();
        let tx = tx.clone();
        handles.push((
            name,
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || {
                    let r = f(&ctx, &draw, &tx);
                    if let Err(e) = &r {
                        // Make sure the main thread hears of it even if the
                        // failure came before phase 1 was reported.
                        let _ = tx.send(Err(format!("{name}: {e}")));
                    }
                    r
                })
                .map_err(|e| format!("cannot spawn {name}: {e}"))?,
        ));
    }
    drop(tx);

    let deadline = t0 + SESSION_LIMIT;
    let mut phase1 = Vec::new();
    while phase1.len() < SCENARIOS.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(p)) => phase1.push(p),
            Ok(Err(e)) => return Err(format!("scenario failed: {e}")),
            Err(_) => {
                let done: Vec<&str> = phase1.iter().map(|p| p.flow.scenario.as_str()).collect();
                return Err(format!(
                    "scenarios did not finish within {SESSION_LIMIT:?}; finished: {done:?}"
                ));
            }
        }
    }
    timings.push(("scenarios' phase 1".to_owned(), began.elapsed()));
    let until = phase1
        .iter()
        .map(|p| p.needs_until)
        .max()
        .unwrap_or(d)
        .min(deadline);
    // Plus a tail: dumpcap (no immediate mode) loses what is still in an
    // unretired ring block when it stops, up to its 250 ms read timeout
    // (seen: the last 0.25 s missing from the pcapng while its counters
    // showed no loss). Nothing a scenario needs may fall into that tail.
    let until = until + CAPTURE_TAIL;
    std::thread::sleep(until.saturating_duration_since(Instant::now()));

    let mut stderrs = Vec::new();
    for cap in running {
        let spec = cap.spec.clone();
        stderrs.push((spec, cap.stop(Duration::from_secs(10))?));
    }
    timings.push(("captures stopped".to_owned(), began.elapsed()));
    stop.set();
    drop(stop_guard);

    let mut app: Vec<AppCheck> = phase1.iter().flat_map(|p| p.app.clone()).collect();
    for (name, h) in handles {
        match h.join() {
            Ok(Ok(more)) => app.extend(more),
            Ok(Err(e)) => return Err(format!("{name}: {e}")),
            Err(_) => return Err(format!("{name}: scenario thread panicked")),
        }
    }
    drop(pair);
    timings.push(("namespaces removed".to_owned(), began.elapsed()));

    // The cut must fall after every flow's exchanges and before any probe.
    // The cut falls after every flow's exchanges and before any probe: a
    // little after the last flow went quiet (normally D + a few ms), and at
    // least CUT_BEFORE_PROBE before the earliest possible probe (quiet +
    // idle; kernel timers never fire early).
    let last_quiet = phase1.iter().map(|p| p.quiet_at).max().unwrap_or(d);
    let cut_instant = last_quiet.max(d) + CUT_AFTER_QUIET;
    for p in &phase1 {
        for x in &p.flow.probers {
            let earliest_probe = p.quiet_at + Duration::from_secs(x.idle_s.into());
            if cut_instant + CUT_BEFORE_PROBE > earliest_probe {
                return Err(format!(
                    "harness timing: the last flow went quiet {:.3} s after the data phase, too late to cut before {}'s first probe (machine overloaded?)",
                    last_quiet.saturating_duration_since(d).as_secs_f64(),
                    x.endpoint
                ));
            }
        }
    }
    let wall = |i: Instant| epoch_s(t0_wall + i.saturating_duration_since(t0));
    let mut flows: Vec<FlowSpec> = phase1.iter().map(|p| p.flow.clone()).collect();
    flows.sort_by_key(|f| SCENARIOS.iter().position(|s| *s == f.scenario));
    for f in &mut flows {
        for a in app.iter().filter(|a| a.scenario == f.scenario) {
            f.app.push(format!("{}: {}", a.what, a.observed));
        }
    }

    let mut captures = Vec::new();
    for (spec, stderr) in stderrs {
        let settings = CaptureSettings {
            kawatch_kernel_fixture: SETTINGS_FORMAT,
            seed: cfg.seed,
            kernel: sys::kernel_release(),
            capture_file: file_name(&spec.file),
            capture_command: spec.command_line(),
            linktype: spec.linktype.to_owned(),
            traffic_start: epoch_s(t0_wall),
            data_phase_end: wall(d),
            cut_at: wall(cut_instant),
            flows: flows.clone(),
        };
        let settings_file = cfg.out_dir.join(format!("{}.settings.json", spec.name));
        write_settings(&settings_file, &settings)?;
        let is_report = spec.name == KAWATCH_LIVE;
        let cut_file = cfg.out_dir.join(format!("{}.cut.pcap", spec.name));
        if !is_report {
            cut_capture(&spec.file, &cut_file, settings.cut_at)?;
        }
        captures.push(CaptureOut {
            name: spec.name.to_owned(),
            is_report,
            file: spec.file.clone(),
            settings_file,
            cut_file,
            settings,
            stderr,
        });
    }
    timings.push(("total".to_owned(), began.elapsed()));
    Ok(SessionRecord {
        seed: cfg.seed,
        draw,
        out_dir: cfg.out_dir.clone(),
        captures,
        app,
        timings,
    })
}

pub(crate) fn write_settings(path: &Path, settings: &CaptureSettings) -> Result<(), String> {
    let text = serde_json::to_string_pretty(settings).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The name of the capture kawatch makes itself.
pub(crate) const KAWATCH_LIVE: &str = "kawatch-live";

fn capture_specs(pair: &NetnsPair, dir: &Path, snaplen: u32) -> Vec<CaptureSpec> {
    let path = |f: &str| dir.join(f);
    let eth_file = path("eth.pcap");
    let any_file = path("any-sll2.pcap");
    let png_file = path("dumpcap.pcapng");
    let live_file = path("kawatch-live.json");
    let snap = snaplen.to_string();
    let strings = |v: &[&str]| {
        v.iter()
            .map(std::string::ToString::to_string)
            .collect::<Vec<_>>()
    };
    // --immediate-mode: without it TPACKET_V3 hands blocks over only when
    // full or after a timeout, and packets still in the ring at SIGINT are
    // lost (seen: 491 packets captured, 502 received by filter). In
    // immediate mode the ring holds fixed frames of snaplen bytes, so the
    // buffer (-B, KiB) must be large: with the default 2 MiB and snaplen
    // 262144 a burst of 9 packets overflowed it (16 dropped by kernel).
    let mut eth_args = strings(&[
        "-i",
        VETH_A,
        "--immediate-mode",
        "-B",
        "65536",
        "-s",
        &snap,
        "-n",
        "-U",
        "-Z",
        "root",
    ]);
    eth_args.extend(["-w".to_owned(), eth_file.display().to_string()]);
    let mut any_args = strings(&[
        "-i",
        "any",
        "-y",
        "LINUX_SLL2",
        "--time-stamp-precision=nano",
        "--immediate-mode",
        "-B",
        "16384",
        "-s",
        "128",
        "-n",
        "-U",
        "-Z",
        "root",
    ]);
    any_args.extend(["-w".to_owned(), any_file.display().to_string()]);
    // dumpcap: -B in MiB.
    let mut png_args = strings(&["-i", VETH_B, "-q", "-B", "64", "-s", &snap]);
    png_args.extend(["-w".to_owned(), png_file.display().to_string()]);
    vec![
        CaptureSpec {
            name: "eth",
            netns: pair.a.clone(),
            program: "tcpdump",
            args: eth_args,
            file: eth_file,
            linktype: "EN10MB",
            ready_line: "listening on",
            ready_needs_file: false,
        },
        CaptureSpec {
            name: "any-sll2",
            netns: pair.b.clone(),
            program: "tcpdump",
            args: any_args,
            file: any_file,
            linktype: "LINUX_SLL2",
            ready_line: "listening on",
            ready_needs_file: false,
        },
        // kawatch itself capturing live on the veth, stopped with SIGINT
        // like the others (its --duration is only a bound); its output is the
        // JSON report, judged like the reports of the files.
        CaptureSpec {
            name: KAWATCH_LIVE,
            netns: pair.a.clone(),
            program: "sh",
            args: vec![
                "-c".to_owned(),
                format!(
                    "exec '{}' report --interface {VETH_A} --duration 120 --format json > '{}'",
                    super::expect::kawatch_bin(),
                    live_file.display()
                ),
            ],
            file: live_file,
            linktype: "EN10MB",
            ready_line: "kawatch: listening on",
            ready_needs_file: false,
        },
        CaptureSpec {
            name: "dumpcap",
            netns: pair.b.clone(),
            program: "dumpcap",
            args: png_args,
            file: png_file,
            linktype: "EN10MB",
            ready_line: "Capturing on",
            ready_needs_file: true,
        },
    ]
}

// ---------------------------------------------------------------- helpers

fn ep(s: &Socket) -> Result<String, String> {
    let a = s
        .local_addr()
        .map_err(|e| format!("local_addr: {e}"))?
        .as_socket()
        .ok_or("local_addr is not an IP address")?;
    Ok(a.to_string())
}

fn set_keepalive(s: &Socket, ka: Ka) -> Result<(), String> {
    let params = TcpKeepalive::new()
        .with_time(Duration::from_secs(ka.idle.into()))
        .with_interval(Duration::from_secs(ka.intvl.into()))
        .with_retries(ka.cnt);
    s.set_tcp_keepalive(&params)
        .map_err(|e| format!("setting keepalive {ka:?}: {e}"))?;
    // Read back what the kernel holds.
    let got = (
        s.keepalive().map_err(|e| e.to_string())?,
        s.tcp_keepalive_time().map_err(|e| e.to_string())?,
        s.tcp_keepalive_interval().map_err(|e| e.to_string())?,
        s.tcp_keepalive_retries().map_err(|e| e.to_string())?,
    );
    let want = (
        true,
        Duration::from_secs(ka.idle.into()),
        Duration::from_secs(ka.intvl.into()),
        ka.cnt,
    );
    if got != want {
        return Err(format!(
            "keepalive settings read back as {got:?}, set {want:?}"
        ));
    }
    Ok(())
}

struct Conn {
    client: Socket,
    server: Socket,
    client_ep: String,
    server_ep: String,
}

/// Server in namespace B, client in namespace A; keepalive set before the
/// handshake on the client, right after accept on the server (before any
/// data, so the idle time counts from the last segment received).
fn connect(
    ctx: &Ctx,
    v6: bool,
    port: u16,
    client_ka: Option<Ka>,
    server_ka: Option<Ka>,
    server_rcvbuf: Option<usize>,
) -> Result<Conn, String> {
    let (domain, server_ip): (Domain, IpAddr) = if v6 {
        (Domain::IPV6, ADDR_B6.parse().expect("address"))
    } else {
        (Domain::IPV4, ADDR_B4.parse().expect("address"))
    };
    let server_addr = SocketAddr::new(server_ip, port);
    let listener = tcp_socket_in(&ctx.ns_b, domain).map_err(|e| format!("listener socket: {e}"))?;
    listener
        .set_reuse_address(true)
        .map_err(|e| e.to_string())?;
    if let Some(size) = server_rcvbuf {
        listener
            .set_recv_buffer_size(size)
            .map_err(|e| format!("SO_RCVBUF: {e}"))?;
    }
    listener
        .bind(&SockAddr::from(server_addr))
        .map_err(|e| format!("bind {server_addr}: {e}"))?;
    listener.listen(1).map_err(|e| e.to_string())?;
    listener
        .set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;

    let client = tcp_socket_in(&ctx.ns_a, domain).map_err(|e| format!("client socket: {e}"))?;
    if let Some(ka) = client_ka {
        set_keepalive(&client, ka)?;
    }
    client
        .connect_timeout(&SockAddr::from(server_addr), IO_TIMEOUT)
        .map_err(|e| format!("connect {server_addr}: {e}"))?;
    let (server, _) = listener
        .accept()
        .map_err(|e| format!("accept on {server_addr}: {e}"))?;
    drop(listener);
    if let Some(ka) = server_ka {
        set_keepalive(&server, ka)?;
    }
    for s in [&client, &server] {
        s.set_read_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        s.set_tcp_nodelay(true).map_err(|e| e.to_string())?;
    }
    Ok(Conn {
        client_ep: ep(&client)?,
        server_ep: ep(&server)?,
        client,
        server,
    })
}

/// Client sends `len` bytes, server echoes them.
fn ping_pong(c: &Conn, len: usize, tag: u8) -> Result<(), String> {
    let msg = vec![tag; len];
    let mut buf = vec![0u8; len];
    (&c.client)
        .write_all(&msg)
        .map_err(|e| format!("client write: {e}"))?;
    (&c.server)
        .read_exact(&mut buf)
        .map_err(|e| format!("server read: {e}"))?;
    (&c.server)
        .write_all(&buf)
        .map_err(|e| format!("server write: {e}"))?;
    (&c.client)
        .read_exact(&mut buf)
        .map_err(|e| format!("client read: {e}"))?;
    if buf != msg {
        return Err("echo differs".to_owned());
    }
    Ok(())
}

/// Exchanges messages every `every` until D, then a last one at D, then
/// waits until everything is acknowledged. Returns the quiet instant.
fn data_phase(ctx: &Ctx, c: &Conn, len: usize, every: Duration) -> Result<Instant, String> {
    let mut n: u8 = 0;
    ping_pong(c, len, b'a')?;
    while Instant::now() + every < ctx.d {
        std::thread::sleep(every);
        n = n.wrapping_add(1);
        ping_pong(c, len, b'a' + n % 26)?;
    }
    std::thread::sleep(ctx.d.saturating_duration_since(Instant::now()));
    ping_pong(c, len, b'z')?;
    wait_all_acked(&[&c.client, &c.server], Duration::from_secs(1))?;
    Ok(Instant::now())
}

fn errno_name(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ETIMEDOUT) => "ETIMEDOUT".to_owned(),
        Some(libc::ECONNRESET) => "ECONNRESET".to_owned(),
        Some(libc::EAGAIN) => "EAGAIN (read timed out)".to_owned(),
        Some(n) => format!("errno {n} ({e})"),
        None => e.to_string(),
    }
}

/// A blocking read on an idle connection; returns what it ended with.
fn blocking_read_outcome(s: &Socket, limit: Duration) -> String {
    if let Err(e) = s.set_read_timeout(Some(limit)) {
        return format!("cannot set SO_RCVTIMEO: {e}");
    }
    let mut buf = [0u8; 64];
    match (&*s).read(&mut buf) {
        Ok(0) => "end of stream (FIN)".to_owned(),
        Ok(n) => format!("{n} bytes of data"),
        Err(e) => errno_name(&e),
    }
}

fn alive_after_capture(scenario: &str, ctx: &Ctx, c: &Conn) -> Vec<AppCheck> {
    ctx.stop.wait(SESSION_LIMIT);
    let observed = match (c.client.take_error(), c.server.take_error()) {
        (Ok(None), Ok(None)) => match ping_pong(c, 8, b'!') {
            Ok(()) => "connection still works (echo after the probes)".to_owned(),
            Err(e) => format!("echo after the probes failed: {e}"),
        },
        (a, b) => format!("socket errors: client {a:?}, server {b:?}"),
    };
    vec![AppCheck {
        scenario: scenario.to_owned(),
        what: "connection after the answered probes".to_owned(),
        expected: "connection still works (echo after the probes)".to_owned(),
        ok: observed == "connection still works (echo after the probes)",
        observed,
    }]
}

fn send1(tx: &mpsc::Sender<Phase1Result>, p: Phase1) -> Result<(), String> {
    tx.send(Ok(p))
        .map_err(|_| "session gave up waiting".to_owned())
}

fn check_timing(
    what: &str,
    done: Instant,
    quiet: Instant,
    must_be_within: f64,
) -> Result<(), String> {
    let took = done.saturating_duration_since(quiet).as_secs_f64();
    if took > must_be_within {
        return Err(format!(
            "harness timing: {what} took {took:.3} s after the flow went quiet, must be under {must_be_within:.3} s (machine overloaded?)"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- scenarios

/// Scenario 1: Client probes, server answers.
fn s1_peer_alive(
    ctx: &Ctx,
    d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[0];
    let c = connect(ctx, false, 5001, Some(d.s1), None, None)?;
    let quiet = data_phase(ctx, &c, 32, Duration::from_millis(250))?;
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary: "client probes, server alive and answering".to_owned(),
                client: c.client_ep.clone(),
                server: c.server_ep.clone(),
                keepalive_sockets: vec![d.s1.socket(&c.client_ep)],
                probers: vec![d.s1.prober(&c.client_ep, "alive")],
                app: vec![],
                min_zero_window_probes: 0,
            },
            needs_until: quiet + d.s1.alive_needs(),
            quiet_at: quiet,
            app: vec![],
        },
    )?;
    Ok(alive_after_capture(name, ctx, &c))
}

/// Scenario 2: Server probes; the client's replies are dropped in its namespace after
/// the data phase, until the server gives up.
fn s2_peer_silent(
    ctx: &Ctx,
    d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[1];
    let ka = d.s2;
    let c = connect(ctx, false, 5002, None, Some(ka), None)?;
    let quiet = data_phase(ctx, &c, 32, Duration::from_millis(250))?;
    sys::set_dropped(&c.client, true)?;
    check_timing(
        "dropping the client's replies",
        Instant::now(),
        quiet,
        f64::from(ka.idle) - 0.3,
    )?;
    let limit = secs(ka.give_up_after() * 1.2 + 3.0);
    let observed = blocking_read_outcome(&c.server, limit);
    let after = Instant::now()
        .saturating_duration_since(quiet)
        .as_secs_f64();
    let expected_after = ka.give_up_after();
    let timing_ok = after >= expected_after - 0.05 && after <= expected_after * 1.125 + 0.5;
    let app = vec![AppCheck {
        scenario: name.to_owned(),
        what: format!("blocking read on the prober {}", c.server_ep),
        expected: format!("ETIMEDOUT ~{expected_after} s after the last exchange"),
        ok: observed == "ETIMEDOUT" && timing_ok,
        observed: format!("{observed} {after:.3} s after the last exchange"),
    }];
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary: "server probes, client silent (its segments dropped), server gives up"
                    .to_owned(),
                client: c.client_ep.clone(),
                server: c.server_ep.clone(),
                keepalive_sockets: vec![ka.socket(&c.server_ep)],
                probers: vec![ka.prober(&c.server_ep, "dead")],
                app: vec![],
                min_zero_window_probes: 0,
            },
            needs_until: Instant::now() + Duration::from_millis(300),
            quiet_at: quiet,
            app,
        },
    )?;
    ctx.stop.wait(SESSION_LIMIT);
    Ok(vec![])
}

/// Scenario 3: Client probes; after the first answered probe the server aborts
/// (SO_LINGER 0) and its RST is dropped, so the next probe meets an RST.
fn s3_peer_reset(
    ctx: &Ctx,
    d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[2];
    let ka = d.s3;
    // Drops only RST|ACK (the abort's RST); the bare RST answering a probe
    // for a connection that no longer exists has no ACK flag and passes.
    iptables(
        &ctx.ns_b,
        false,
        &[
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            "-s",
            ADDR_B4,
            "--sport",
            "5003",
            "--tcp-flags",
            "RST,ACK",
            "RST,ACK",
            "-j",
            "DROP",
        ],
    )?;
    let c = connect(ctx, false, 5003, Some(ka), None, None)?;
    let quiet = data_phase(ctx, &c, 32, Duration::from_millis(250))?;
    // Wait for the first probe's answer: an ACK received well after quiet.
    let deadline = quiet + secs(f64::from(ka.idle) * 1.2 + 1.5);
    let answered_at = loop {
        let info = tcp_info(c.client.as_raw_fd()).map_err(|e| format!("TCP_INFO: {e}"))?;
        let now = Instant::now();
        let since_quiet_ms = now.saturating_duration_since(quiet).as_millis() as i64;
        if since_quiet_ms - i64::from(info.last_ack_recv_ms) > 500 {
            break now - Duration::from_millis(info.last_ack_recv_ms.into());
        }
        if now > deadline {
            return Err(format!(
                "the first keepalive probe was not answered within {:.1} s: {info:?}",
                deadline.saturating_duration_since(quiet).as_secs_f64()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    c.server
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| format!("SO_LINGER: {e}"))?;
    let Conn {
        client,
        server,
        client_ep,
        server_ep,
    } = c;
    drop(server);
    check_timing(
        "aborting the server after the first answered probe",
        Instant::now(),
        answered_at,
        ka.cadence() - 0.3,
    )?;
    let observed = blocking_read_outcome(&client, secs(ka.cadence() * 1.2 + 3.0));
    let app = vec![AppCheck {
        scenario: name.to_owned(),
        what: format!("blocking read on the prober {client_ep}"),
        expected: "ECONNRESET".to_owned(),
        ok: observed == "ECONNRESET",
        observed,
    }];
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary: "client probes; one probe answered, then the server aborts (RST dropped) and the next probe meets an RST"
                    .to_owned(),
                client: client_ep.clone(),
                server: server_ep,
                keepalive_sockets: vec![ka.socket(&client_ep)],
                probers: vec![ka.prober(&client_ep, "reset")],
                app: vec![],
                min_zero_window_probes: 0,
            },
            needs_until: Instant::now() + Duration::from_millis(300),
            quiet_at: quiet,
            app,
        },
    )?;
    ctx.stop.wait(SESSION_LIMIT);
    Ok(vec![])
}

/// Scenario 4: Both sides probe, each with its own settings; both alive.
fn s4_both_sides_probe(
    ctx: &Ctx,
    d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[3];
    let (kc, ks) = (d.s4_client, d.s4_server);
    let c = connect(ctx, false, 5004, Some(kc), Some(ks), None)?;
    let quiet = data_phase(ctx, &c, 32, Duration::from_millis(250))?;
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary: "both sides probe with different settings; both alive".to_owned(),
                client: c.client_ep.clone(),
                server: c.server_ep.clone(),
                keepalive_sockets: vec![kc.socket(&c.client_ep), ks.socket(&c.server_ep)],
                probers: vec![
                    kc.prober(&c.client_ep, "alive"),
                    ks.prober(&c.server_ep, "alive"),
                ],
                app: vec![],
                min_zero_window_probes: 0,
            },
            needs_until: quiet + kc.alive_needs().max(ks.alive_needs()),
            quiet_at: quiet,
            app: vec![],
        },
    )?;
    Ok(alive_after_capture(name, ctx, &c))
}

/// Scenario 5: Bulk-ish data both ways for the whole data phase (the keepalive timer
/// fires during it and is put off), then idle; the server probes.
fn s5_data_then_idle(
    ctx: &Ctx,
    d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[4];
    let ka = d.s5;
    let c = connect(ctx, false, 5005, None, Some(ka), None)?;
    let quiet = data_phase(ctx, &c, 2048, Duration::from_millis(100))?;
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary:
                    "2 KiB echoed every 100 ms for 3.2 s, then idle; server probes, client alive"
                        .to_owned(),
                client: c.client_ep.clone(),
                server: c.server_ep.clone(),
                keepalive_sockets: vec![ka.socket(&c.server_ep)],
                probers: vec![ka.prober(&c.server_ep, "alive")],
                app: vec![],
                min_zero_window_probes: 0,
            },
            needs_until: quiet + ka.alive_needs(),
            quiet_at: quiet,
            app: vec![],
        },
    )?;
    Ok(alive_after_capture(name, ctx, &c))
}

/// Scenario 6: IPv6: client probes; the server's segments are dropped by ip6tables
/// after the data phase, until the client gives up.
fn s6_ipv6_peer_silent(
    ctx: &Ctx,
    d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[5];
    let ka = d.s6;
    let c = connect(ctx, true, 5006, Some(ka), None, None)?;
    let quiet = data_phase(ctx, &c, 32, Duration::from_millis(250))?;
    sys::set_dropped(&c.server, true)?;
    check_timing(
        "dropping the server's replies",
        Instant::now(),
        quiet,
        f64::from(ka.idle) - 0.3,
    )?;
    let observed = blocking_read_outcome(&c.client, secs(ka.give_up_after() * 1.2 + 3.0));
    let after = Instant::now()
        .saturating_duration_since(quiet)
        .as_secs_f64();
    let expected_after = ka.give_up_after();
    let timing_ok = after >= expected_after - 0.05 && after <= expected_after * 1.125 + 0.5;
    let app = vec![AppCheck {
        scenario: name.to_owned(),
        what: format!("blocking read on the prober {}", c.client_ep),
        expected: format!("ETIMEDOUT ~{expected_after} s after the last exchange"),
        ok: observed == "ETIMEDOUT" && timing_ok,
        observed: format!("{observed} {after:.3} s after the last exchange"),
    }];
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary: "IPv6; client probes, server silent (ip6tables), client gives up"
                    .to_owned(),
                client: c.client_ep.clone(),
                server: c.server_ep.clone(),
                keepalive_sockets: vec![ka.socket(&c.client_ep)],
                probers: vec![ka.prober(&c.client_ep, "dead")],
                app: vec![],
                min_zero_window_probes: 0,
            },
            needs_until: Instant::now() + Duration::from_millis(300),
            quiet_at: quiet,
            app,
        },
    )?;
    ctx.stop.wait(SESSION_LIMIT);
    Ok(vec![])
}

/// Scenario 7: Zero window: the server (small SO_RCVBUF) never reads; the client,
/// with keepalive on, writes until the window is 0. The persist timer's
/// zero-window probes follow; keepalive stays quiet while data is queued.
fn s7_zero_window(
    ctx: &Ctx,
    d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[6];
    let ka = d.s7;
    let c = connect(ctx, false, 5007, Some(ka), None, Some(2048))?;
    ping_pong(&c, 16, b'w')?;
    c.client.set_nonblocking(true).map_err(|e| e.to_string())?;
    let chunk = [b'x'; 1024];
    let start = Instant::now();
    let mut blocked_since: Option<Instant> = None;
    let mut written = 0usize;
    // Write until writes have been refused for 500 ms (send buffer full
    // behind a closed window); bounded to 2.5 s.
    while start.elapsed() < Duration::from_millis(2500) {
        match (&c.client).write(&chunk) {
            Ok(n) => {
                written += n;
                blocked_since = None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let since = *blocked_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(500) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("client write: {e}")),
        }
    }
    let info = tcp_info(c.client.as_raw_fd()).map_err(|e| format!("TCP_INFO: {e}"))?;
    if info.unacked == 0 && info.notsent_bytes == 0 {
        return Err(format!(
            "the window never closed: all {written} bytes were taken ({info:?})"
        ));
    }
    let closed_at = Instant::now();
    if closed_at + Duration::from_millis(200) > ctx.d {
        return Err("harness timing: the window closed too late".to_owned());
    }
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary: "server (SO_RCVBUF 2048) stops reading, client with keepalive on keeps writing: zero-window probes, no keepalive"
                    .to_owned(),
                client: c.client_ep.clone(),
                server: c.server_ep.clone(),
                keepalive_sockets: vec![ka.socket(&c.client_ep)],
                probers: vec![],
                app: vec![format!("client wrote {written} bytes before the window closed")],
                // Backoff from ~0.2 s: probes ~0.2, 0.65, 1.5, 3.2, 6.6 s after
                // the window closed; the capture runs past the fifth.
                min_zero_window_probes: 5,
            },
            // Long enough that keepalive would have probed, were it in
            // charge, and for the fifth zero-window probe (after the cut).
            needs_until: closed_at + secs((ka.give_up_after() + 1.0).max(7.5)),
            quiet_at: closed_at,
            app: vec![],
        },
    )?;
    ctx.stop.wait(SESSION_LIMIT);
    let info = tcp_info(c.client.as_raw_fd()).map_err(|e| format!("TCP_INFO: {e}"))?;
    let still_open = matches!(c.client.take_error(), Ok(None)) && info.state == 1;
    Ok(vec![AppCheck {
        scenario: name.to_owned(),
        what: "zero-window sender".to_owned(),
        expected: "still established with data queued".to_owned(),
        ok: still_open && (info.unacked > 0 || info.notsent_bytes > 0),
        observed: format!(
            "established: {still_open}, unacked {} segments, {} bytes not sent",
            info.unacked, info.notsent_bytes
        ),
    }])
}

/// Scenario 8: A 1-byte segment whose ACK is lost (the server's ACKs dropped for
/// 0.8 s) is retransmitted; no keepalive on either side.
fn s8_one_byte_retransmission(
    ctx: &Ctx,
    _d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[7];
    let c = connect(ctx, false, 5008, None, None, None)?;
    ping_pong(&c, 16, b'r')?;
    wait_all_acked(&[&c.client, &c.server], Duration::from_secs(1))?;
    std::thread::sleep(Duration::from_millis(300));
    sys::set_dropped(&c.server, true)?;
    (&c.client)
        .write_all(b"R")
        .map_err(|e| format!("client write: {e}"))?;
    // The byte is sent again 0.2 s and 0.6 s on (RTO 200 ms, doubling);
    // the ACKs speak again before the third, at 1.4 s.
    std::thread::sleep(Duration::from_millis(800));
    sys::set_dropped(&c.server, false)?;
    wait_all_acked(&[&c.client], Duration::from_secs(4))?;
    let mut one = [0u8; 1];
    (&c.server)
        .read_exact(&mut one)
        .map_err(|e| format!("server read: {e}"))?;
    let quiet = Instant::now();
    if quiet + Duration::from_millis(200) > ctx.d {
        return Err("harness timing: the retransmission episode ended too late".to_owned());
    }
    let resent = tcp_info(c.client.as_raw_fd())
        .map_err(|e| format!("TCP_INFO: {e}"))?
        .total_retrans;
    let app = vec![AppCheck {
        scenario: name.to_owned(),
        what: "byte sent while its ACKs were dropped".to_owned(),
        expected: "sent again at least once, delivered once: \"R\"".to_owned(),
        ok: resent >= 1 && one == *b"R",
        observed: format!(
            "sent again {resent} times, delivered once: {:?}",
            String::from_utf8_lossy(&one)
        ),
    }];
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary: "1-byte segment retransmitted while the server's ACKs are dropped; keepalive off"
                    .to_owned(),
                client: c.client_ep.clone(),
                server: c.server_ep.clone(),
                keepalive_sockets: vec![],
                probers: vec![],
                app: vec![],
                min_zero_window_probes: 0,
            },
            needs_until: ctx.d,
            quiet_at: quiet,
            app,
        },
    )?;
    ctx.stop.wait(SESSION_LIMIT);
    Ok(vec![])
}

/// Scenario 9: Keepalive off on both sides; an application heartbeat (1 new byte
/// every 700 ms) for the whole capture.
fn s9_keepalive_off(
    ctx: &Ctx,
    _d: &Draw,
    tx: &mpsc::Sender<Phase1Result>,
) -> Result<Vec<AppCheck>, String> {
    let name = SCENARIOS[8];
    let c = connect(ctx, false, 5009, None, None, None)?;
    ping_pong(&c, 16, b'h')?;
    wait_all_acked(&[&c.client, &c.server], Duration::from_secs(1))?;
    send1(
        tx,
        Phase1 {
            flow: FlowSpec {
                scenario: name.to_owned(),
                summary: "keepalive off; 1-byte application heartbeat every 700 ms".to_owned(),
                client: c.client_ep.clone(),
                server: c.server_ep.clone(),
                keepalive_sockets: vec![],
                probers: vec![],
                app: vec![],
                min_zero_window_probes: 0,
            },
            needs_until: ctx.d,
            quiet_at: Instant::now(),
            app: vec![],
        },
    )?;
    let mut beats = 0u32;
    let limit = Instant::now() + SESSION_LIMIT;
    while !ctx.stop.wait(Duration::from_millis(700)) && Instant::now() < limit {
        (&c.client)
            .write_all(b"H")
            .map_err(|e| format!("heartbeat write: {e}"))?;
        let mut one = [0u8; 1];
        (&c.server)
            .read_exact(&mut one)
            .map_err(|e| format!("heartbeat read: {e}"))?;
        beats += 1;
    }
    Ok(vec![AppCheck {
        scenario: name.to_owned(),
        what: "heartbeats".to_owned(),
        expected: "at least 5 delivered".to_owned(),
        ok: beats >= 5,
        observed: format!("{beats} delivered"),
    }])
}
