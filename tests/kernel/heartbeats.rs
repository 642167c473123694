//! Application heartbeats from real clients and servers (issue 13): a
//! WebSocket client pinging (python3-websockets; in one scenario the server
//! pings too, at another period), an MQTT client's PINGREQ against mosquitto
//! (python3-paho-mqtt: libmosquitto, behind `mosquitto_sub`, refuses a
//! keepalive under 5 s, and times it in whole seconds, so that now and then
//! a gap comes a second short), gRPC keepalive pings (python3-grpcio:
//! HTTP/2 PING), `redis-cli -r N -i P PING` against redis-server, and
//! OpenSSH's `ServerAliveInterval` against sshd (`keepalive@openssh.com`
//! wants a reply: sshd answers each).
//!
//! Each scenario gets its own namespace pair: the server runs in `b` with a
//! configuration written for the test (listening on the test address only),
//! the client in `a`, both as child processes killed on drop; tcpdump
//! captures on `a`'s veth. The period (2 to 3 s) and the address family come
//! from a printed seed; all the scenarios run at once (about 20 s). The capture then goes through kawatch's library
//! (`events_of_file`, the analyser's flow views): the connection must carry
//! exactly one heartbeat, the client's, named for its protocol, at the
//! configured period (within 10 %), answered, with at least four beats, and
//! no keepalive prober (no socket here has TCP keepalive probing within the
//! capture: the namespaces keep the kernel's 2-hour default, and the
//! servers' own keepalive is switched off where they have one). One more ssh
//! scenario turns the client's TCP keepalive on with a 1 s idle: the kernel
//! probes twice between beats, and the prober must be found beside the
//! heartbeat, neither taken for the other. Each capture is also cut to
//! start among the last beats: the heartbeats must be found without the
//! connection's start.
//!
//! A scenario whose Debian packages are missing is skipped (it says so on
//! stderr), or fails under `KAWATCH_STRICT=1`.

use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kawatch::core::{FlowView, HeartbeatProtocol};
use kawatch::Endpoint;

use crate::capture::{CaptureSpec, RunningCapture};
use crate::rng::SplitMix64;
use crate::sys::{
    netns_exec, run_with_timeout, NetnsPair, ADDR_A4, ADDR_A6, ADDR_B4, ADDR_B6, VETH_A,
};

/// The real programs a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// python3-websockets, the client's `ping_interval`.
    WebSocket,
    /// The same with the server pinging too, at another period: both sides
    /// beat, each answering the other's pings.
    WebSocketBothPing,
    /// mosquitto, and paho's client with a short keepalive.
    Mqtt,
    /// python3-grpcio, `grpc.keepalive_time_ms`.
    Grpc,
    /// redis-server, `redis-cli -r N -i P PING`.
    Redis,
    /// sshd, `ssh -o ServerAliveInterval=P`.
    Ssh,
    /// The same with `TCPKeepAlive=yes` in a namespace whose keepalive idles
    /// 1 s: the kernel probes between the beats. The prober and the
    /// heartbeat must both be found, apart.
    SshTcpKeepalive,
}

impl Kind {
    pub(crate) const ALL: [Kind; 7] = [
        Kind::WebSocket,
        Kind::WebSocketBothPing,
        Kind::Mqtt,
        Kind::Grpc,
        Kind::Redis,
        Kind::Ssh,
        Kind::SshTcpKeepalive,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::WebSocket => "websocket",
            Kind::WebSocketBothPing => "websocket-both-ping",
            Kind::Mqtt => "mqtt",
            Kind::Grpc => "grpc",
            Kind::Redis => "redis",
            Kind::Ssh => "ssh",
            Kind::SshTcpKeepalive => "ssh-tcp-keepalive",
        }
    }

    /// The name kawatch must give the heartbeat.
    fn protocol(self) -> HeartbeatProtocol {
        match self {
            Kind::WebSocket | Kind::WebSocketBothPing => HeartbeatProtocol::WebsocketPing,
            Kind::Mqtt => HeartbeatProtocol::MqttPing,
            Kind::Grpc => HeartbeatProtocol::Http2Ping,
            Kind::Redis => HeartbeatProtocol::RedisPing,
            Kind::Ssh | Kind::SshTcpKeepalive => HeartbeatProtocol::SshPeriodic,
        }
    }

    fn port(self) -> u16 {
        match self {
            Kind::WebSocket | Kind::WebSocketBothPing => 8765,
            Kind::Mqtt => 1883,
            Kind::Grpc => 50051,
            Kind::Redis => 6379,
            Kind::Ssh | Kind::SshTcpKeepalive => 22,
        }
    }

    /// The Debian packages it needs (scripts/test installs them).
    fn packages(self) -> &'static str {
        match self {
            Kind::WebSocket | Kind::WebSocketBothPing => "python3-websockets",
            Kind::Mqtt => "mosquitto, python3-paho-mqtt",
            Kind::Grpc => "python3-grpcio",
            Kind::Redis => "redis-server, redis-tools",
            Kind::Ssh | Kind::SshTcpKeepalive => "openssh-server, openssh-client",
        }
    }

    /// Whether the period is set in whole seconds (else in milliseconds).
    fn whole_seconds(self) -> bool {
        matches!(self, Kind::Mqtt | Kind::Ssh | Kind::SshTcpKeepalive)
    }

    /// Whether the client's socket has TCP keepalive probing within the
    /// capture (after [`PROBE_IDLE_S`] of silence).
    fn probes(self) -> bool {
        self == Kind::SshTcpKeepalive
    }
}

/// What one scenario was set up with, drawn from its seed.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub kind: Kind,
    pub seed: u64,
    pub v6: bool,
    /// The heartbeat period configured in the client, ms.
    pub period_ms: u32,
    /// The server's, where it has one, ms.
    pub server_period_ms: Option<u32>,
    /// How long the client stays connected and idle, s.
    pub idle_s: f64,
}

impl Settings {
    pub(crate) fn draw(kind: Kind, seed: u64) -> Settings {
        // One stream per scenario, all from the run's seed.
        let mut rng = SplitMix64::new(seed ^ (kind as u64 + 1).wrapping_mul(0x9E37_79B9));
        let v6 = rng.range(0, 1) == 1;
        let period_ms = if kind.probes() {
            // Room for two probes, 1 s apart, between beats.
            3000
        } else if kind.whole_seconds() {
            rng.range(2, 3) * 1000
        } else if kind == Kind::WebSocketBothPing {
            rng.range(20, 25) * 100
        } else {
            rng.range(20, 30) * 100
        };
        // Half a second or more apart, so that the two cadences drift
        // across each other.
        let server_period_ms =
            (kind == Kind::WebSocketBothPing).then(|| period_ms + rng.range(5, 8) * 100);
        // Six periods: five beats or more, whatever the first beat waits for.
        let longest = period_ms.max(server_period_ms.unwrap_or(0));
        let idle_s = 6.0 * f64::from(longest) / 1000.0 + 0.5;
        Settings {
            kind,
            seed,
            v6,
            period_ms,
            server_period_ms,
            idle_s,
        }
    }

    fn period_s(&self) -> f64 {
        f64::from(self.period_ms) / 1000.0
    }

    fn server_ip(&self) -> &'static str {
        if self.v6 {
            ADDR_B6
        } else {
            ADDR_B4
        }
    }

    fn client_ip(&self) -> &'static str {
        if self.v6 {
            ADDR_A6
        } else {
            ADDR_A4
        }
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "{}: seed {} (KAWATCH_SEED={} replays it), {}, period {} ms{}, idle {:.1} s",
            self.kind.name(),
            self.seed,
            self.seed,
            if self.v6 { "IPv6" } else { "IPv4" },
            self.period_ms,
            self.server_period_ms
                .map_or_else(String::new, |ms| format!(" (the server's {ms} ms)")),
            self.idle_s
        )
    }
}

/// What a scenario that ran saw: the flows of its capture.
pub(crate) struct Ran {
    pub settings: Settings,
    pub flows: Vec<FlowView>,
    pub capture: PathBuf,
    pub elapsed: Duration,
    /// The client's and server's output, for failures.
    pub logs: String,
}

/// A scenario's result.
pub(crate) enum Outcome {
    Ran(Box<Ran>),
    /// Its programs are not installed: why.
    Skipped(String),
}

// ---------------------------------------------------------------- programs

const PYTHON: &str = "/usr/bin/python3";
const WEBSOCKET_PY: &str = include_str!("heartbeats/websocket.py");
const GRPC_PY: &str = include_str!("heartbeats/grpc_keepalive.py");
const MQTT_PY: &str = include_str!("heartbeats/mqtt_client.py");

/// A program on PATH, or in the sbin directories a non-login root PATH may lack.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn python_has(module: &str) -> bool {
    Path::new(PYTHON).is_file()
        && run_with_timeout(
            Command::new(PYTHON).args(["-c", &format!("import {module}")]),
            Duration::from_secs(20),
        )
        .is_ok_and(|o| o.status.success())
}

/// Why `kind` cannot run here, if it cannot.
fn missing(kind: Kind) -> Option<String> {
    let mut lacking: Vec<String> = ["ip", "ss", "tcpdump"]
        .into_iter()
        .filter(|p| program(p).is_none())
        .map(str::to_owned)
        .collect();
    let programs: &[&str] = match kind {
        Kind::Mqtt => &["mosquitto"],
        Kind::Redis => &["redis-server", "redis-cli"],
        Kind::Ssh | Kind::SshTcpKeepalive => &["sshd", "ssh", "ssh-keygen"],
        Kind::WebSocket | Kind::WebSocketBothPing | Kind::Grpc => &[],
    };
    lacking.extend(
        programs
            .iter()
            .filter(|p| program(p).is_none())
            .map(|p| (*p).to_owned()),
    );
    let module = match kind {
        Kind::WebSocket | Kind::WebSocketBothPing => Some("websockets"),
        Kind::Mqtt => Some("paho.mqtt.client"),
        Kind::Grpc => Some("grpc"),
        Kind::Redis | Kind::Ssh | Kind::SshTcpKeepalive => None,
    };
    if let Some(m) = module {
        if !python_has(m) {
            lacking.push(format!("{PYTHON} -c 'import {m}'"));
        }
    }
    (!lacking.is_empty()).then(|| {
        format!(
            "{} not available (Debian: {})",
            lacking.join(", "),
            kind.packages()
        )
    })
}

/// A server or client inside a namespace, its output in a file; killed on
/// drop (and with this process, should it die first).
struct Proc {
    what: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(what: &'static str, ns: &str, argv: &[String], log: &Path) -> Result<Proc, String> {
        let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        // If this test process dies without cleaning up, it must not go on.
        let mut cmd = crate::sys::dies_with_us(Command::new("ip"));
        let child = cmd
            .args(["netns", "exec", ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("cannot start the {what} ({argv:?}): {e}"))?;
        Ok(Proc {
            what,
            child: Some(child),
            log: log.to_owned(),
        })
    }

    fn output(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "--- {} ({}):\n{}",
            self.what,
            self.log.display(),
            tail.join("\n")
        )
    }

    /// Whether it has exited, and how.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits (bounded) for it to end by itself.
    fn wait(&mut self, limit: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the {} did not finish within {limit:?}\n{}",
                    self.what,
                    self.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// On drop, kills every process left in the namespaces (by pid, as `ip
/// netns pids` lists them): what the servers forked (sshd's session and its
/// `sleep`) outlives the server when a scenario ends early.
struct KillLeftovers(Vec<String>);

impl Drop for KillLeftovers {
    fn drop(&mut self) {
        for ns in &self.0 {
            let Ok(out) = netns_pids(ns) else {
                continue;
            };
            for pid in out.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
                // SAFETY: kill(2) on a process inside this test's own namespace.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

fn netns_pids(ns: &str) -> Result<String, String> {
    crate::sys::run_ok(
        Command::new("ip").args(["netns", "pids", ns]),
        Duration::from_secs(10),
    )
}

/// Waits (bounded) until something listens on `port` in `ns`.
fn wait_listening(ns: &str, port: u16, server: &mut Proc, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    let filter = format!("sport = :{port}");
    loop {
        let out = netns_exec(ns, &["ss", "-Hltn", &filter])?;
        if !out.trim().is_empty() {
            return Ok(());
        }
        if let Some(status) = server.exited() {
            return Err(format!(
                "the server exited ({status}) before listening\n{}",
                server.output()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "nothing listens on port {port} after {limit:?}\n{}",
                server.output()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The server's and client's command lines (files they need written to `dir`).
fn commands(s: &Settings, dir: &Path) -> Result<(Vec<String>, Vec<String>), String> {
    let (ip, port) = (s.server_ip(), s.kind.port().to_string());
    let lifetime = format!("{:.0}", s.idle_s + 30.0);
    let idle = format!("{:.1}", s.idle_s);
    let py = |script: &str, text: &str| -> Result<String, String> {
        let p = dir.join(script);
        write(&p, text)?;
        Ok(p.display().to_string())
    };
    Ok(match s.kind {
        Kind::WebSocket | Kind::WebSocketBothPing => {
            let script = py("websocket.py", WEBSOCKET_PY)?;
            let interval = format!("{:.1}", s.period_s());
            // 0: the server does not ping.
            let server_interval =
                format!("{:.1}", f64::from(s.server_period_ms.unwrap_or(0)) / 1000.0);
            (
                strings(&[
                    PYTHON,
                    &script,
                    "server",
                    ip,
                    &port,
                    &lifetime,
                    &server_interval,
                ]),
                strings(&[PYTHON, &script, "client", ip, &port, &interval, &idle]),
            )
        }
        Kind::Grpc => {
            let script = py("grpc_keepalive.py", GRPC_PY)?;
            let ms = s.period_ms.to_string();
            (
                strings(&[PYTHON, &script, "server", ip, &port, &lifetime]),
                strings(&[PYTHON, &script, "client", ip, &port, &ms, &idle]),
            )
        }
        Kind::Mqtt => {
            let script = py("mqtt_client.py", MQTT_PY)?;
            let conf = dir.join("mosquitto.conf");
            write(
                &conf,
                &format!(
                    "listener {port} {ip}\nallow_anonymous true\npersistence false\n\
                     log_dest stderr\nlog_type all\n"
                ),
            )?;
            let keepalive = (s.period_ms / 1000).to_string();
            (
                strings(&["mosquitto", "-c", &conf.display().to_string()]),
                strings(&[PYTHON, &script, ip, &port, &keepalive, &idle]),
            )
        }
        Kind::Redis => {
            // The first PING goes at once, then one every period.
            let repeat = ((s.idle_s * 1000.0 / f64::from(s.period_ms)) as u32).to_string();
            let interval = format!("{:.1}", s.period_s());
            let d = dir.display().to_string();
            (
                strings(&[
                    "redis-server",
                    "--bind",
                    ip,
                    "--port",
                    &port,
                    "--daemonize",
                    "no",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "no",
                    // No SO_KEEPALIVE on the accepted connection.
                    "--tcp-keepalive",
                    "0",
                    "--dir",
                    &d,
                    "--logfile",
                    "",
                ]),
                strings(&[
                    "redis-cli",
                    "-h",
                    ip,
                    "-p",
                    &port,
                    "-r",
                    &repeat,
                    "-i",
                    &interval,
                    "PING",
                ]),
            )
        }
        Kind::Ssh | Kind::SshTcpKeepalive => ssh_commands(s, dir, &idle)?,
    })
}

/// sshd with keys and a configuration made for the test, root logging in
/// by key; ssh running `sleep` while it sends `keepalive@openssh.com`.
fn ssh_commands(
    s: &Settings,
    dir: &Path,
    idle: &str,
) -> Result<(Vec<String>, Vec<String>), String> {
    let keygen = program("ssh-keygen").ok_or("ssh-keygen not found")?;
    let (host_key, user_key) = (dir.join("host_ed25519"), dir.join("user_ed25519"));
    for k in [&host_key, &user_key] {
        let _ = std::fs::remove_file(k);
        let _ = std::fs::remove_file(k.with_extension("pub"));
        crate::sys::run_ok(
            Command::new(&keygen)
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(k),
            Duration::from_secs(20),
        )?;
    }
    let authorized = dir.join("authorized_keys");
    std::fs::copy(user_key.with_extension("pub"), &authorized)
        .map_err(|e| format!("{}: {e}", authorized.display()))?;
    // sshd's privilege separation directory (Debian's service makes it at start).
    std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
    let conf = dir.join("sshd_config");
    let port = s.kind.port();
    write(
        &conf,
        &format!(
            "Port {port}\nListenAddress {}\nHostKey {}\nPidFile none\n\
             AuthorizedKeysFile {}\nPermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             # PAM: root's account may be locked (no password) on a fresh machine.\n\
             UsePAM yes\nStrictModes no\nPrintMotd no\nPrintLastLog no\n\
             # No TCP keepalive and no server-side heartbeat: only the client's.\n\
             TCPKeepAlive no\nClientAliveInterval 0\n",
            s.server_ip(),
            host_key.display(),
            authorized.display()
        ),
    )?;
    let sshd = program("sshd").ok_or("sshd not found")?;
    let alive = format!("ServerAliveInterval={}", s.period_ms / 1000);
    let tcp_keepalive = if s.kind.probes() {
        "TCPKeepAlive=yes"
    } else {
        "TCPKeepAlive=no"
    };
    let key = user_key.display().to_string();
    let port = port.to_string();
    Ok((
        vec![
            sshd.display().to_string(),
            "-D".to_owned(),
            "-e".to_owned(),
            "-f".to_owned(),
            conf.display().to_string(),
        ],
        strings(&[
            "ssh",
            "-F",
            "/dev/null",
            "-T",
            "-i",
            &key,
            "-p",
            &port,
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            "-o",
            tcp_keepalive,
            "-o",
            &alive,
            "-o",
            "ServerAliveCountMax=3",
            &format!("root@{}", s.server_ip()),
            "sleep",
            idle,
        ]),
    ))
}

// ---------------------------------------------------------------- running

/// The keepalive idle (and interval) of the client's namespace where the
/// kernel probes between the beats, s.
const PROBE_IDLE_S: u32 = 1;

/// Runs one scenario: servers and captures cleaned up on every path out.
pub(crate) fn run(kind: Kind, seed: u64, out_dir: &Path) -> Result<Outcome, String> {
    let settings = Settings::draw(kind, seed);
    if let Some(why) = missing(kind) {
        return Ok(Outcome::Skipped(why));
    }
    let began = Instant::now();
    let dir = out_dir.join(kind.name());
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (server_cmd, client_cmd) = commands(&settings, &dir)?;
    let pair = NetnsPair::create(&format!("hb-{}", kind.name()))?;
    // Dropped before the pair: the namespaces are emptied, then deleted.
    let leftovers = KillLeftovers(vec![pair.a.clone(), pair.b.clone()]);

    if kind.probes() {
        for (name, v) in [
            ("net.ipv4.tcp_keepalive_time", PROBE_IDLE_S),
            ("net.ipv4.tcp_keepalive_intvl", 1),
            ("net.ipv4.tcp_keepalive_probes", 5),
        ] {
            netns_exec(&pair.a, &["sysctl", "-q", "-w", &format!("{name}={v}")])?;
        }
    }
    let mut server = Proc::spawn("server", &pair.b, &server_cmd, &dir.join("server.log"))?;
    wait_listening(&pair.b, kind.port(), &mut server, Duration::from_secs(20))?;

    let file = dir.join(format!("{}.pcap", kind.name()));
    let _ = std::fs::remove_file(&file);
    let spec = CaptureSpec {
        name: "heartbeat",
        netns: pair.a.clone(),
        program: "tcpdump",
        args: strings(&[
            "-i",
            VETH_A,
            "--immediate-mode",
            "-s",
            "65535",
            "-n",
            "-U",
            "-Z",
            "root",
            "-w",
            &file.display().to_string(),
        ]),
        file: file.clone(),
        linktype: "EN10MB",
        ready_line: "listening on",
        ready_needs_file: false,
    };
    let cap = RunningCapture::start(spec, Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_millis(100));

    let mut client = Proc::spawn("client", &pair.a, &client_cmd, &dir.join("client.log"))?;
    let limit = Duration::from_secs_f64(settings.idle_s + 25.0);
    let status = client.wait(limit)?;
    let logs = format!(
        "server: {}\nclient: {}\n{}\n{}",
        server_cmd.join(" "),
        client_cmd.join(" "),
        client.output(),
        server.output()
    );
    if !status.success() {
        return Err(format!("the client failed ({status})\n{logs}"));
    }
    std::thread::sleep(Duration::from_millis(200));
    cap.stop(Duration::from_secs(10))?;
    drop(server);
    drop(leftovers);
    drop(pair);

    let flows = flows_of(&file)?;
    Ok(Outcome::Ran(Box::new(Ran {
        settings,
        flows,
        capture: file,
        elapsed: began.elapsed(),
        logs,
    })))
}

/// Every flow of a capture, through the library: the analyser's views after
/// every frame went through it.
pub(crate) fn flows_of(path: &Path) -> Result<Vec<FlowView>, String> {
    let mut events =
        kawatch::events_of_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for ev in &mut events {
        ev.map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let flows: Vec<FlowView> = events.analyzer().flow_views().collect();
    cli_agrees(path, &flows)?;
    Ok(flows)
}

/// `kawatch report -T json` says what the library found: each flow's
/// heartbeats (side, protocol, period, count), and with a heartbeat every
/// few seconds, `safe` on every default path.
fn cli_agrees(path: &Path, flows: &[FlowView]) -> Result<(), String> {
    let out = std::process::Command::new(crate::expect::kawatch_bin())
        .args(["report", "-T", "json"])
        .arg(path)
        .output()
        .map_err(|e| format!("kawatch report: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "kawatch report {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("kawatch report: {e}"))?;
    let listed = doc["flows"].as_array().cloned().unwrap_or_default();
    for f in flows {
        let Some(j) = listed
            .iter()
            .find(|j| j["a"] == f.a.to_string() && j["b"] == f.b.to_string())
        else {
            return Err(format!("{} <-> {}: not in the JSON report", f.a, f.b));
        };
        let seen: Vec<(String, String, u64, f64)> = j["heartbeats"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                (
                    h["side"].as_str().unwrap_or_default().to_string(),
                    h["protocol"].as_str().unwrap_or_default().to_string(),
                    h["count"].as_u64().unwrap_or_default(),
                    h["period_s"].as_f64().unwrap_or_default(),
                )
            })
            .collect();
        let want: Vec<(String, String, u64, f64)> = f
            .heartbeats
            .iter()
            .map(|h| {
                (
                    h.endpoint.to_string(),
                    h.protocol.as_str().to_string(),
                    u64::from(h.count),
                    (h.period_s * 1e6).round() / 1e6,
                )
            })
            .collect();
        if seen != want {
            return Err(format!(
                "{} <-> {}: the JSON's heartbeats {seen:?}, the library's {want:?}",
                f.a, f.b
            ));
        }
        let verdicts: Vec<&str> = j["path"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["verdict"].as_str())
            .collect();
        if !f.heartbeats.is_empty()
            && (verdicts.len() != 4 || verdicts.iter().any(|v| *v != "safe"))
        {
            return Err(format!(
                "{} <-> {}: a heartbeat every few seconds, yet path verdicts {verdicts:?}",
                f.a, f.b
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- judging

fn endpoint(ip: &str, port: u16) -> Endpoint {
    Endpoint::new(ip.parse::<IpAddr>().expect("test address"), port)
}

fn show(f: &FlowView) -> String {
    let hb: Vec<String> = f
        .heartbeats
        .iter()
        .map(|h| {
            format!(
                "{} -> {}: {} period {:.3}s count {} answers {} answered {}",
                h.endpoint, h.peer, h.protocol, h.period_s, h.count, h.answers, h.answered
            )
        })
        .collect();
    let pr: Vec<String> = f
        .probers
        .iter()
        .map(|p| {
            format!(
                "{}: {} probes, {} answered, idle {:?} s, {}",
                p.endpoint,
                p.probes_sent,
                p.probes_answered,
                p.idle_s,
                p.outcome.as_str()
            )
        })
        .collect();
    format!(
        "{} <-> {}: {} segments, heartbeats [{}], probers [{}]",
        f.a,
        f.b,
        f.segments,
        hb.join("; "),
        pr.join("; ")
    )
}

/// What kawatch must make of a scenario's capture.
#[derive(Clone, Debug)]
pub(crate) struct Expect {
    pub server: Endpoint,
    pub client_ip: IpAddr,
    pub protocol: HeartbeatProtocol,
    /// The client's heartbeat period, ms.
    pub period_ms: u32,
    /// The server's, if it beats too, ms.
    pub server_period_ms: Option<u32>,
    /// The client's kernel probes (after [`PROBE_IDLE_S`]).
    pub probes: bool,
}

impl Settings {
    pub(crate) fn expect(&self) -> Expect {
        Expect {
            server: endpoint(self.server_ip(), self.kind.port()),
            client_ip: self.client_ip().parse().expect("test address"),
            protocol: self.kind.protocol(),
            period_ms: self.period_ms,
            server_period_ms: self.server_period_ms,
            probes: self.kind.probes(),
        }
    }
}

/// What is wrong with what kawatch made of the scenario's capture.
pub(crate) fn problems(s: &Expect, flows: &[FlowView]) -> Vec<String> {
    let (server, client_ip) = (s.server, s.client_ip);
    let conns: Vec<&FlowView> = flows
        .iter()
        .filter(|f| f.a == server || f.b == server)
        .collect();
    let mut out = Vec::new();
    let [conn] = conns[..] else {
        out.push(format!(
            "expected one connection to {server}, found {}:\n  {}",
            conns.len(),
            flows.iter().map(show).collect::<Vec<_>>().join("\n  ")
        ));
        return out;
    };
    let client = if conn.a == server { conn.b } else { conn.a };
    if client.ip != client_ip {
        out.push(format!(
            "the connection's client is {client}, not {client_ip}"
        ));
    }
    if conn.a != client {
        out.push(format!(
            "the initiator should be the client {client}: {}",
            show(conn)
        ));
    }
    if s.probes {
        // The client's kernel probes after 1 s without anything received:
        // its prober is found beside the heartbeat, answered each time.
        match &conn.probers[..] {
            [p] if p.endpoint == client => {
                if p.probes_sent < 3 || p.probes_answered < p.probes_sent.saturating_sub(1) {
                    out.push(format!(
                        "the client's prober sent {} probes, {} answered \
                         (two between each pair of beats, each answered, expected)",
                        p.probes_sent, p.probes_answered
                    ));
                }
                if p.idle_s
                    .is_some_and(|i| (i - f64::from(PROBE_IDLE_S)).abs() > 0.2)
                {
                    out.push(format!(
                        "the prober's idle {:?} s, configured {PROBE_IDLE_S} s",
                        p.idle_s
                    ));
                }
            }
            _ => out.push(format!(
                "expected one keepalive prober, the client's: {}",
                show(conn)
            )),
        }
    } else if !conn.probers.is_empty() {
        out.push(format!(
            "a keepalive prober on a connection without TCP keepalive: {}",
            show(conn)
        ));
    }
    // The client's heartbeat, and the server's where it pings too.
    let mut want = vec![("client", client, server, s.period_ms)];
    if let Some(ms) = s.server_period_ms {
        want.push(("server", server, client, ms));
    }
    if conn.heartbeats.len() != want.len() {
        out.push(format!(
            "expected {} heartbeat(s) (the {}), found {}",
            want.len(),
            want.iter()
                .map(|w| w.0)
                .collect::<Vec<_>>()
                .join("'s and the "),
            conn.heartbeats.len()
        ));
    }
    for (side, from, to, period_ms) in want {
        let Some(h) = conn.heartbeats.iter().find(|h| h.endpoint == from) else {
            out.push(format!("no heartbeat from the {side} ({from})"));
            continue;
        };
        let mut wrong = Vec::new();
        if h.peer != to {
            wrong.push(format!("its peer is {}, not {to}", h.peer));
        }
        if h.protocol != s.protocol {
            wrong.push(format!("protocol {}, expected {}", h.protocol, s.protocol));
        }
        let want = f64::from(period_ms) / 1000.0;
        if (h.period_s - want).abs() > 0.1 * want {
            wrong.push(format!(
                "period {:.3} s, configured {want:.3} s (more than 10 % off)",
                h.period_s
            ));
        }
        let least = kawatch::core::heartbeat::MIN_BEATS;
        if h.count < least {
            wrong.push(format!(
                "only {} beats (at least {least} expected)",
                h.count
            ));
        }
        if !h.answered || h.answers * 2 <= h.count {
            wrong.push(format!(
                "not answered: {} answers to {} beats (every ping here gets its pong)",
                h.answers, h.count
            ));
        }
        for w in wrong {
            out.push(format!("the {side}'s heartbeat: {w}"));
        }
    }
    if !out.is_empty() {
        out.push(format!("the connection: {}", show(conn)));
    }
    // No heartbeat anywhere else, and no prober: nothing else here beats.
    for f in flows.iter().filter(|f| !std::ptr::eq(*f, conn)) {
        if !f.heartbeats.is_empty() || !f.probers.is_empty() {
            out.push(format!(
                "another flow with heartbeats or probers: {}",
                show(f)
            ));
        }
    }
    out
}

/// The capture cut to start in the middle of the beats, with the last four
/// (or more) of each side's left: the connection is picked up without its
/// handshake, and its heartbeats must still be found, named by their bytes
/// (an SSH connection's by nothing left: its banner was cut off, so its
/// beats are `periodic`), at their period, answered; and the probes, where
/// there are some, are still a prober's.
pub(crate) fn cut_problems(r: &Ran) -> Vec<String> {
    let s = &r.settings;
    let server = endpoint(s.server_ip(), s.kind.port());
    let Some(conn) = r.flows.iter().find(|f| f.a == server || f.b == server) else {
        return vec!["no connection to cut".to_owned()];
    };
    let Some(from) = conn
        .heartbeats
        .iter()
        .map(|h| h.last_beat.as_secs_f64() - 3.5 * h.period_s)
        .reduce(f64::min)
    else {
        return vec!["no heartbeat to cut into".to_owned()];
    };
    let cut = r.capture.with_extension("cut.pcap");
    let kept = match crate::capture::cut_capture(&r.capture, &cut, from) {
        Ok((kept, _)) => kept,
        Err(e) => return vec![e],
    };
    let flows = match flows_of(&cut) {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let mut out = Vec::new();
    let conns: Vec<&FlowView> = flows
        .iter()
        .filter(|f| f.a == server || f.b == server)
        .collect();
    let [cut_conn] = conns[..] else {
        return vec![format!(
            "cut at {from:.6} ({kept} frames kept): expected one connection to {server}, found {}",
            conns.len()
        )];
    };
    if cut_conn.heartbeats.len() != conn.heartbeats.len() {
        out.push(format!(
            "{} heartbeat(s), the whole capture has {}",
            cut_conn.heartbeats.len(),
            conn.heartbeats.len()
        ));
    }
    for whole in &conn.heartbeats {
        let Some(h) = cut_conn
            .heartbeats
            .iter()
            .find(|h| h.endpoint == whole.endpoint)
        else {
            out.push(format!("no heartbeat from {}", whole.endpoint));
            continue;
        };
        let protocol = if whole.protocol == HeartbeatProtocol::SshPeriodic {
            HeartbeatProtocol::Periodic
        } else {
            whole.protocol
        };
        if h.protocol != protocol {
            out.push(format!(
                "{}: protocol {}, expected {protocol}",
                h.endpoint, h.protocol
            ));
        }
        if (h.period_s - whole.period_s).abs() > 0.1 * whole.period_s {
            out.push(format!(
                "{}: period {:.3} s, {:.3} s in the whole capture",
                h.endpoint, h.period_s, whole.period_s
            ));
        }
        if h.count < 4 || !h.answered {
            out.push(format!(
                "{}: {} beats, {} answered (the last 4 were kept)",
                h.endpoint, h.count, h.answers
            ));
        }
    }
    if cut_conn.probers.len() != usize::from(s.kind.probes()) {
        out.push(format!(
            "{} prober(s), expected {}",
            cut_conn.probers.len(),
            usize::from(s.kind.probes())
        ));
    }
    if !out.is_empty() {
        out.push(format!(
            "cut at {from:.6} ({kept} frames kept, {}): {}",
            cut.display(),
            show(cut_conn)
        ));
    }
    out
}

/// One line for the log: what was measured against what was set.
pub(crate) fn summary(r: &Ran) -> String {
    let server = endpoint(r.settings.server_ip(), r.settings.kind.port());
    let measured = r
        .flows
        .iter()
        .filter(|f| f.a == server || f.b == server)
        .flat_map(|f| f.heartbeats.iter())
        .map(|h| {
            format!(
                "{} {:.3}s x{} ({} answered)",
                h.protocol, h.period_s, h.count, h.answers
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let probers = r
        .flows
        .iter()
        .filter(|f| f.a == server || f.b == server)
        .flat_map(|f| f.probers.iter())
        .map(|p| {
            format!(
                "{} probes ({} answered, idle {:.3} s)",
                p.probes_sent,
                p.probes_answered,
                p.idle_s.unwrap_or(f64::NAN)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{}; measured [{measured}], probers [{probers}]; {:.1} s; {}",
        r.settings.describe(),
        r.elapsed.as_secs_f64(),
        r.capture.display()
    )
}
