//! `kawatch sockets` against real sockets in a test namespace: keepalive off;
//! on with explicit settings; on with the namespace's defaults after the test
//! changed them; with TCP_USER_TIMEOUT; held by a child process; IPv4 and
//! IPv6. Settings come from a printed seed. Run as root, the listing must be
//! exact (read from the sockets); run without ptrace rights, it must fall
//! back to the kernel's timer, say so, and infer the idle time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use socket2::{Domain, Socket, TcpKeepalive};

use crate::expect::kawatch_bin;
use crate::rng::SplitMix64;
use crate::sys::{
    netns_exec, run_with_timeout, tcp_socket_in, NetnsPair, ADDR_A4, ADDR_B4, ADDR_B6,
};

/// What one client socket was set up with, and so what the listing must say.
#[derive(Clone, Debug, PartialEq)]
pub struct Want {
    pub what: String,
    pub keepalive: bool,
    pub idle_s: u32,
    pub intvl_s: u32,
    pub probes: u32,
    pub user_timeout_ms: u32,
    /// Owned by a child process with this pid (else by this test process).
    pub child_pid: Option<u32>,
}

/// The sockets of a namespace set up for the test; closed on drop.
pub struct Setup {
    pub pair: NetnsPair,
    pub wants: BTreeMap<String, Want>,
    pub defaults: (u32, u32, u32),
    _sockets: Vec<Socket>,
    child: Option<Child>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(crate) fn listener(ns: &str, addr: &str, port: u16) -> Result<Socket, String> {
    let ip: IpAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let sa = SocketAddr::new(ip, port);
    let domain = if sa.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = tcp_socket_in(ns, domain).map_err(|e| e.to_string())?;
    s.set_reuse_address(true).map_err(|e| e.to_string())?;
    s.bind(&sa.into()).map_err(|e| format!("bind {sa}: {e}"))?;
    s.listen(16).map_err(|e| e.to_string())?;
    Ok(s)
}

pub(crate) fn connect(ns: &str, server: &Socket) -> Result<(Socket, Socket), String> {
    let to = server
        .local_addr()
        .map_err(|e| e.to_string())?
        .as_socket()
        .ok_or("not an IP socket")?;
    let domain = if to.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let c = tcp_socket_in(ns, domain).map_err(|e| e.to_string())?;
    c.connect_timeout(&to.into(), Duration::from_secs(5))
        .map_err(|e| format!("connect {to}: {e}"))?;
    let (s, _) = server.accept().map_err(|e| format!("accept: {e}"))?;
    Ok((c, s))
}

/// Turns `s`'s keepalive on with these settings (seconds, probes).
pub(crate) fn keepalive(s: &Socket, idle: u32, intvl: u32, cnt: u32) -> Result<(), String> {
    s.set_tcp_keepalive(
        &TcpKeepalive::new()
            .with_time(Duration::from_secs(idle.into()))
            .with_interval(Duration::from_secs(intvl.into()))
            .with_retries(cnt),
    )
    .map_err(|e| e.to_string())
}

pub(crate) fn local(s: &Socket) -> Result<String, String> {
    Ok(s.local_addr()
        .map_err(|e| e.to_string())?
        .as_socket()
        .ok_or("not an IP socket")?
        .to_string())
}

/// Builds the namespace, its defaults and its sockets from `seed`.
pub fn set_up(seed: u64, tag: &str) -> Result<Setup, String> {
    let mut rng = SplitMix64::new(seed);
    let pair = NetnsPair::create(tag)?;
    // Non-default namespace defaults, so inheriting them is visible.
    let defaults = (rng.range(300, 5000), rng.range(5, 120), rng.range(2, 20));
    for (name, v) in [
        ("net.ipv4.tcp_keepalive_time", defaults.0),
        ("net.ipv4.tcp_keepalive_intvl", defaults.1),
        ("net.ipv4.tcp_keepalive_probes", defaults.2),
    ] {
        netns_exec(&pair.a, &["sysctl", "-q", "-w", &format!("{name}={v}")])?;
    }
    let servers = [
        listener(&pair.b, ADDR_B4, 7401)?,
        listener(&pair.b, ADDR_B6, 7402)?,
    ];
    let mut wants = BTreeMap::new();
    let mut sockets = Vec::new();
    let (dt, di, dp) = defaults;
    for (server, family) in servers.iter().zip(["v4", "v6"]) {
        // Keepalive off.
        let (c, s) = connect(&pair.a, server)?;
        wants.insert(
            local(&c)?,
            Want {
                what: format!("{family} keepalive off"),
                keepalive: false,
                idle_s: dt,
                intvl_s: di,
                probes: dp,
                user_timeout_ms: 0,
                child_pid: None,
            },
        );
        sockets.extend([c, s]);
        // Explicit settings.
        let (idle, intvl, cnt) = (rng.range(30, 4000), rng.range(1, 300), rng.range(1, 30));
        let (c, s) = connect(&pair.a, server)?;
        keepalive(&c, idle, intvl, cnt)?;
        wants.insert(
            local(&c)?,
            Want {
                what: format!("{family} keepalive {idle}/{intvl}/{cnt}"),
                keepalive: true,
                idle_s: idle,
                intvl_s: intvl,
                probes: cnt,
                user_timeout_ms: 0,
                child_pid: None,
            },
        );
        sockets.extend([c, s]);
        // On, with the namespace's defaults.
        let (c, s) = connect(&pair.a, server)?;
        c.set_keepalive(true).map_err(|e| e.to_string())?;
        wants.insert(
            local(&c)?,
            Want {
                what: format!("{family} keepalive with namespace defaults"),
                keepalive: true,
                idle_s: dt,
                intvl_s: di,
                probes: dp,
                user_timeout_ms: 0,
                child_pid: None,
            },
        );
        sockets.extend([c, s]);
        // On, with TCP_USER_TIMEOUT.
        let ut = rng.range(1, 600) * 1000;
        let (c, s) = connect(&pair.a, server)?;
        c.set_keepalive(true).map_err(|e| e.to_string())?;
        c.set_tcp_user_timeout(Some(Duration::from_millis(ut.into())))
            .map_err(|e| e.to_string())?;
        wants.insert(
            local(&c)?,
            Want {
                what: format!("{family} keepalive with TCP_USER_TIMEOUT {ut} ms"),
                keepalive: true,
                idle_s: dt,
                intvl_s: di,
                probes: dp,
                user_timeout_ms: ut,
                child_pid: None,
            },
        );
        sockets.extend([c, s]);
    }
    // Held by a child process.
    let (idle, intvl, cnt) = (rng.range(30, 4000), rng.range(1, 300), rng.range(1, 30));
    let script = format!(
        "import socket,sys,time\n\
         c=socket.create_connection(('{ADDR_B4}',7401))\n\
         c.setsockopt(socket.SOL_SOCKET,socket.SO_KEEPALIVE,1)\n\
         c.setsockopt(socket.IPPROTO_TCP,socket.TCP_KEEPIDLE,{idle})\n\
         c.setsockopt(socket.IPPROTO_TCP,socket.TCP_KEEPINTVL,{intvl})\n\
         c.setsockopt(socket.IPPROTO_TCP,socket.TCP_KEEPCNT,{cnt})\n\
         print(c.getsockname()[0]+':'+str(c.getsockname()[1]),flush=True)\n\
         time.sleep(60)\n"
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", &pair.a, "python3", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start python3 for the child-process socket: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let (s, _) = servers[0].accept().map_err(|e| format!("accept: {e}"))?;
    sockets.push(s);
    wants.insert(
        line.trim().to_owned(),
        Want {
            what: format!("child process keepalive {idle}/{intvl}/{cnt}"),
            keepalive: true,
            idle_s: idle,
            intvl_s: intvl,
            probes: cnt,
            user_timeout_ms: 0,
            child_pid: Some(child.id()),
        },
    );
    sockets.extend(servers);
    Ok(Setup {
        pair,
        wants,
        defaults,
        _sockets: sockets,
        child: Some(child),
    })
}

/// `kawatch sockets --format json`, run as `runner` (argv prefix) inside
/// `ns`; parsed.
pub fn listing(ns: &str, runner: &[&str]) -> Result<Value, String> {
    json_of(
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(runner)
            .args([kawatch_bin(), "sockets", "--format", "json"]),
    )
}

/// `kawatch sockets --netns NS --format json`, run from the host's namespace.
pub fn listing_with_netns_flag(ns: &str) -> Result<Value, String> {
    json_of(Command::new(kawatch_bin()).args(["sockets", "--netns", ns, "--format", "json"]))
}

fn json_of(cmd: &mut Command) -> Result<Value, String> {
    let shown = format!("{cmd:?}");
    let out = run_with_timeout(cmd, Duration::from_secs(30))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{shown}: not JSON ({e})"))
}

fn find<'a>(doc: &'a Value, local: &str) -> Option<&'a Value> {
    doc["sockets"]
        .as_array()?
        .iter()
        .find(|s| s["local"].as_str() == Some(local))
}

/// Run as root: every socket exactly as set up.
pub fn exact_problems(setup: &Setup, doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let (dt, di, dp) = setup.defaults;
    let sysctl = &doc["sysctl"];
    if sysctl["keepalive_time"] != dt
        || sysctl["keepalive_intvl"] != di
        || sysctl["keepalive_probes"] != dp
    {
        problems.push(format!("sysctl {sysctl}, set to {dt}/{di}/{dp}"));
    }
    let me = std::process::id();
    for (local, w) in &setup.wants {
        let Some(s) = find(doc, local) else {
            problems.push(format!("{} ({local}) is not listed", w.what));
            continue;
        };
        let pid = w.child_pid.unwrap_or(me);
        let checks: [(&str, Value, Value); 9] = [
            ("keepalive", s["keepalive"].clone(), w.keepalive.into()),
            ("idle_s", s["idle_s"].clone(), w.idle_s.into()),
            ("intvl_s", s["intvl_s"].clone(), w.intvl_s.into()),
            ("probes", s["probes"].clone(), w.probes.into()),
            (
                "user_timeout_ms",
                s["user_timeout_ms"].clone(),
                w.user_timeout_ms.into(),
            ),
            ("settings_from", s["settings_from"].clone(), "socket".into()),
            ("state", s["state"].clone(), "established".into()),
            ("pid", s["pid"].clone(), pid.into()),
            (
                "timer",
                s["timer"].clone(),
                if w.keepalive { "keepalive" } else { "none" }.into(),
            ),
        ];
        for (field, got, want) in checks {
            if got != want {
                problems.push(format!(
                    "{} ({local}): {field} {got}, expected {want}",
                    w.what
                ));
            }
        }
        if w.child_pid.is_some() && s["process"] != "python3" {
            problems.push(format!(
                "{} ({local}): process {}, expected python3",
                w.what, s["process"]
            ));
        }
        if w.keepalive {
            let next = s["next_probe_in_s"].as_f64().unwrap_or(-1.0);
            if !(0.0..=f64::from(w.idle_s)).contains(&next) || s["probes_out"] != 0 {
                problems.push(format!(
                    "{} ({local}): next probe in {next} s with {} out; expected within the idle {} s, none out",
                    w.what, s["probes_out"], w.idle_s
                ));
            }
        }
    }
    if !doc["notes"].as_array().is_some_and(Vec::is_empty) {
        problems.push(format!(
            "as root there should be no notes: {}",
            doc["notes"]
        ));
    }
    problems
}

/// Run without ptrace rights (as nobody): settings from the timer, marked so,
/// idle within timer slack, interval and count unknown, a note that says how
/// to read them exactly.
pub fn inferred_problems(setup: &Setup, doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (local, w) in &setup.wants {
        let Some(s) = find(doc, local) else {
            problems.push(format!("{} ({local}) is not listed", w.what));
            continue;
        };
        if s["settings_from"] != "timer" || s["keepalive"] != w.keepalive {
            problems.push(format!(
                "{} ({local}): keepalive {} from {}, expected {} from timer",
                w.what, s["keepalive"], s["settings_from"], w.keepalive
            ));
        }
        if w.keepalive {
            // Timers fire late, never early; the listing rounds to seconds.
            let idle = s["idle_s"].as_u64().unwrap_or(0);
            if idle.abs_diff(u64::from(w.idle_s)) > 1 {
                problems.push(format!(
                    "{} ({local}): inferred idle {}, set {}",
                    w.what, s["idle_s"], w.idle_s
                ));
            }
            if !s["intvl_s"].is_null() || !s["probes"].is_null() {
                problems.push(format!(
                    "{} ({local}): interval/count {}/{} shown, but the timer cannot tell them",
                    w.what, s["intvl_s"], s["probes"]
                ));
            }
        }
    }
    let notes = doc["notes"].to_string();
    if !notes.contains("run as root") {
        problems.push(format!(
            "no note says how to read settings exactly: {notes}"
        ));
    }
    problems
}

/// Connections on a namespace's loopback, both ends this box's, the
/// server's port below the client's, so it sorts first: to port 7301, the
/// client's end with keepalive on (seeded settings) and the server's off;
/// to port 7302, the server's end probing every second and the client's
/// off, so the wire's first sender is the server; to port 7303, both ends
/// with keepalive on, the server's idle (seeded) the longer, so neither
/// probes within the tests' few seconds.
pub struct Loopback {
    pub pair: NetnsPair,
    /// The client's end and the server's, `ip:port`, of each.
    pub client: String,
    pub server: String,
    pub probed_client: String,
    pub probing_server: String,
    pub both_client: String,
    pub both_server: String,
    /// The idle of 7303's client end and of its server end, seconds.
    pub both_idle: (u32, u32),
    /// 7304: a connection across the veth (keepalive on at the client in
    /// `a`); 7305: one to `a`'s own veth address, so over loopback.
    pub across: String,
    pub to_self: String,
    _sockets: [Socket; 15],
}

/// A loopback connection in a namespace of its own, the client's
/// keepalive on (`idle` s, 10 s, 3 probes): (the namespace, the client's
/// end, its socket, the server's, the listener).
pub fn one_connection(tag: &str, idle: u32) -> Result<(NetnsPair, String, [Socket; 3]), String> {
    let pair = NetnsPair::create(tag)?;
    let listening = listener(&pair.a, "127.0.0.1", 7701)?;
    let (c, s) = connect(&pair.a, &listening)?;
    keepalive(&c, idle, 10, 3)?;
    let client = local(&c)?;
    Ok((pair, client, [c, s, listening]))
}

pub fn loopback(seed: u64, tag: &str) -> Result<Loopback, String> {
    let mut rng = SplitMix64::new(seed);
    let pair = NetnsPair::create(tag)?;
    let listening = listener(&pair.a, "127.0.0.1", 7301)?;
    let (c, s) = connect(&pair.a, &listening)?;
    let (idle, intvl, cnt) = (rng.range(30, 4000), rng.range(1, 300), rng.range(1, 30));
    keepalive(&c, idle, intvl, cnt)?;
    let listening2 = listener(&pair.a, "127.0.0.1", 7302)?;
    let (c2, s2) = connect(&pair.a, &listening2)?;
    keepalive(&s2, 1, 1, 5)?;
    let listening3 = listener(&pair.a, "127.0.0.1", 7303)?;
    let (c3, s3) = connect(&pair.a, &listening3)?;
    let client_idle = rng.range(30, 2000);
    let server_idle = client_idle + rng.range(1, 2000);
    keepalive(&c3, client_idle, 10, 3)?;
    keepalive(&s3, server_idle, 10, 3)?;
    let listening4 = listener(&pair.b, ADDR_B4, 7304)?;
    let (c4, s4) = connect(&pair.a, &listening4)?;
    keepalive(&c4, 600, 10, 3)?;
    let listening5 = listener(&pair.a, ADDR_A4, 7305)?;
    let (c5, s5) = connect(&pair.a, &listening5)?;
    keepalive(&c5, 600, 10, 3)?;
    Ok(Loopback {
        client: local(&c)?,
        server: local(&s)?,
        probed_client: local(&c2)?,
        probing_server: local(&s2)?,
        both_client: local(&c3)?,
        both_server: local(&s3)?,
        both_idle: (client_idle, server_idle),
        across: local(&c4)?,
        to_self: local(&c5)?,
        pair,
        _sockets: [
            listening, c, s, listening2, c2, s2, listening3, c3, s3, listening4, c4, s4,
            listening5, c5, s5,
        ],
    })
}
