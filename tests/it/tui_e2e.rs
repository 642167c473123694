//! The real `kawatch` binary in a real terminal: tmux runs it, `send-keys`
//! types, `capture-pane -p` reads the screen. Only what needs a real
//! terminal is here; keys, pause, filter, sort, the detail view and paced
//! replay run in-process in `tests/it/tui_run.rs`.
//!
//! * `quit_restores_the_terminal`: `kawatch --read` on a fixture draws in
//!   the alternate screen; `q` gives the terminal back (cooked mode, the
//!   shell's screen) and exits 0.
//! * `sigterm_restores_the_terminal`.
//! * `times_are_local_or_utc`: `TZ` gives the screen's zone; `--utc` UTC.
//! * `a_hung_up_terminal_ends_kawatch`: a capture named or on standard input.
//! * `a_replay_from_a_pipe_stays_after_the_pipe_ends`.
//! * `not_a_terminal_points_to_report`: no tmux needed.
//! * `live_in_network_namespaces` (ignored: needs root): two namespaces, a
//!   veth pair, a socket with 1 s keepalives, `kawatch --interface` inside one
//!   namespace; `alive`, then the peer's replies dropped: `probing`, `dead`.
//!
//! Without tmux the tmux tests print `SKIP <test>: tmux not installed` and
//! pass, unless `KAWATCH_STRICT=1`.

// The OS calls here need unsafe: signals to the programs under test.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kawatch");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Whether tmux runs here; if not, says SKIP (or fails under KAWATCH_STRICT=1).
fn have_tmux(test: &str) -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("KAWATCH_STRICT").is_ok_and(|v| v == "1") {
            panic!("{test}: tmux not installed (KAWATCH_STRICT=1)");
        }
        eprintln!("SKIP {test}: tmux not installed");
    }
    ok
}

/// A tmux server of its own (`-S`, a socket in the temp dir), killed and its
/// socket removed on drop, with one 160x40 session.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Runs `cmd` in a fresh session; after it exits the pane shows
    /// `KAWATCH-EXIT=<status>` and stays.
    fn start(name: &str, cmd: &str) -> Tmux {
        let socket =
            std::env::temp_dir().join(format!("kawatch-e2e-{}-{name}", std::process::id()));
        let t = Tmux { socket };
        let script = format!("{cmd}; echo KAWATCH-EXIT=$?; sleep 600");
        let out = t
            .tmux()
            .args(["new-session", "-d", "-s", "main", "-x", "160", "-y", "40"])
            .arg(script)
            .env_remove("NO_COLOR")
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).args(["-f", "/dev/null"]);
        c
    }

    fn pane(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys one at a time (an Esc right before another key would read as Alt).
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = self
                .tmux()
                .args(["send-keys", "-t", "main", k])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "send-keys {k}");
            std::thread::sleep(Duration::from_millis(120));
        }
    }

    /// Text typed literally.
    fn type_text(&self, text: &str) {
        let ok = self
            .tmux()
            .args(["send-keys", "-t", "main", "-l", text])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "send-keys -l {text}");
        std::thread::sleep(Duration::from_millis(120));
    }

    /// Waits until the pane satisfies `ok`; panics with the pane after `limit`.
    fn wait(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let pane = self.pane();
            if ok(&pane) {
                return pane;
            }
            if start.elapsed() > limit {
                panic!("waited {limit:?} for {what}; the pane shows:\n{pane}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of the program the pane's shell runs (kawatch).
    fn child_pid(&self) -> Option<u32> {
        let out = self
            .tmux()
            .args(["display-message", "-p", "-t", "main", "#{pane_pid}"])
            .output()
            .ok()?;
        let shell: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .tmux()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn row<'a>(pane: &'a str, needle: &str) -> Option<&'a str> {
    pane.lines().find(|l| l.contains(needle))
}

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn quit_restores_the_terminal() {
    if !have_tmux("quit_restores_the_terminal") {
        return;
    }
    let file = fixture("fixtures/synth/null.pcap");
    let t = Tmux::start("quit", &format!("{BIN} --read {}", file.display()));
    let pane = t.wait("the end of the replay", WAIT, |p| {
        p.contains("end of capture")
    });
    let v6 = row(&pane, "[2001:db8::1]:40000").expect("IPv6 row");
    assert!(v6.contains("dead"), "{pane}");
    t.keys(&["q"]);
    let pane = t.wait("kawatch to exit", WAIT, |p| p.contains("KAWATCH-EXIT="));
    assert!(pane.contains("KAWATCH-EXIT=0"), "{pane}");
    assert!(
        !pane.contains("ENDPOINT A"),
        "the alternate screen is gone:\n{pane}"
    );
    // The shell's terminal is usable: raw mode is off, so a typed line echoes.
    t.type_text("typed-after-quit");
    t.wait("echo in cooked mode", WAIT, |p| {
        p.contains("typed-after-quit")
    });
}

#[test]
fn sigterm_restores_the_terminal() {
    if !have_tmux("sigterm_restores_the_terminal") {
        return;
    }
    let file = fixture("fixtures/synth/alive.pcap");
    let t = Tmux::start("sigterm", &format!("{BIN} --read {}", file.display()));
    t.wait("the table", WAIT, |p| p.contains("end of capture"));
    let pid = t.child_pid().expect("kawatch's pid");
    // SAFETY: kill(2) on the process this test started, by its pid.
    let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let pane = t.wait("kawatch to exit", WAIT, |p| p.contains("KAWATCH-EXIT="));
    assert!(pane.contains("KAWATCH-EXIT=0"), "{pane}");
    assert!(!pane.contains("ENDPOINT A"), "{pane}");
    // The shell's terminal is usable: raw mode is off, so a typed line echoes.
    t.type_text("typed-after-exit");
    t.wait("echo in cooked mode", WAIT, |p| {
        p.contains("typed-after-exit")
    });
}

/// The screen's times are local (`TZ`), at the offset of their moment, or
/// UTC with `--utc`. null.pcap ends at 2023-11-14 22:13:28.181 UTC: 23:13
/// in Berlin's winter time.
#[test]
fn times_are_local_or_utc() {
    if !have_tmux("times_are_local_or_utc") {
        return;
    }
    if jiff::tz::TimeZone::get("Europe/Berlin").is_err() {
        eprintln!("SKIP times_are_local_or_utc: no time zone database (tzdata)");
        return;
    }
    let file = fixture("fixtures/synth/null.pcap");
    for (flag, want) in [("", "clock 23:13:28.181"), ("--utc", "clock 22:13:28.181")] {
        let t = Tmux::start(
            &format!("tz{flag}"),
            &format!("TZ=Europe/Berlin {BIN} {flag} --read {}", file.display()),
        );
        let pane = t.wait("the end of the replay", WAIT, |p| {
            p.contains("end of capture")
        });
        assert!(pane.contains(want), "{flag}: {want:?} missing:\n{pane}");
        t.keys(&["q"]);
        t.wait("kawatch to exit", WAIT, |p| p.contains("KAWATCH-EXIT=0"));
    }
}

/// When its terminal goes away (the tmux pane or ssh session is killed),
/// kawatch exits instead of spinning on a dead tty (crossterm issue #793).
#[test]
fn a_hung_up_terminal_ends_kawatch() {
    if !have_tmux("a_hung_up_terminal_ends_kawatch") {
        return;
    }
    let file = fixture("fixtures/synth/alive.pcap");
    // The capture named, or on standard input (a file, always readable:
    // the keys come from the terminal, which is what hangs up).
    for (name, read) in [
        ("hangup", format!("{}", file.display())),
        ("hangup-stdin", format!("- < {}", file.display())),
    ] {
        let t = Tmux::start(name, &format!("{BIN} --read {read}"));
        t.wait("the table", WAIT, |p| p.contains("end of capture"));
        let pid = t.child_pid().expect("kawatch's pid");
        drop(t); // kill-server: the pane's terminal hangs up
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting for its (killed) parent's reaper.
            if stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z") {
                break;
            }
            if std::time::Instant::now() >= deadline {
                // SAFETY: kill(2) on the process this test started, by its pid.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                panic!("{name}: kawatch still ran 5 s after its terminal hung up: {stat}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A replay of standard input stays up when the pipe's writer has
/// finished: the end of the capture is not the end of the terminal.
#[test]
fn a_replay_from_a_pipe_stays_after_the_pipe_ends() {
    if !have_tmux("a_replay_from_a_pipe_stays_after_the_pipe_ends") {
        return;
    }
    let file = fixture("fixtures/synth/alive.pcap");
    let t = Tmux::start("pipe", &format!("cat {} | {BIN} --read -", file.display()));
    let pane = t.wait("the end of the replay", WAIT, |p| {
        p.contains("end of capture") || p.contains("KAWATCH-EXIT=")
    });
    assert!(
        !pane.contains("KAWATCH-EXIT="),
        "it quit by itself:\n{pane}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(!t.pane().contains("KAWATCH-EXIT="), "{}", t.pane());
    t.keys(&["q"]);
    let pane = t.wait("kawatch to exit", WAIT, |p| p.contains("KAWATCH-EXIT="));
    assert!(pane.contains("KAWATCH-EXIT=0"), "{pane}");
}

#[test]
fn not_a_terminal_points_to_report() {
    let out = Command::new(BIN)
        .args(["--read"])
        .arg(fixture("fixtures/synth/alive.pcap"))
        .stdin(Stdio::null())
        .output()
        .expect("run kawatch");
    // A use the screen cannot serve: wrong arguments (2), as tcpdump's users
    // read it, not a failure of the run.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a terminal"), "{err}");
    assert!(err.contains("kawatch report"), "{err}");
    assert!(err.contains("alive.pcap`"), "names the file given: {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn report_subcommand_still_works() {
    let out = Command::new(BIN)
        .args(["report", "--format", "csv"])
        .arg(fixture("fixtures/synth/dead_give_up.pcap"))
        .output()
        .expect("run kawatch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("a,b,vlan,prober"));
}

#[test]
fn bad_arguments_fail_cleanly() {
    let cases: &[(&[&str], &str)] = &[
        (&["--speed", "2"], "--read"),
        (&["--read", "x.pcap", "--speed", "0"], "positive"),
        (
            &["--read", "x.pcap", "--interface", "lo"],
            "cannot be used with",
        ),
    ];
    for (args, want) in cases {
        let out = Command::new(BIN).args(*args).output().expect("run kawatch");
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

// ---------------------------------------------------------------------------
// Live, in two network namespaces (root)
// ---------------------------------------------------------------------------

mod live {
    use super::*;
    use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};

    /// Test addresses: 198.18.0.0/15 (benchmarking) only.
    const ADDR_A: &str = "198.18.7.1";
    const ADDR_B: &str = "198.18.7.2";
    const VETH_A: &str = "kwtui-a";
    const VETH_B: &str = "kwtui-b";

    fn run(args: &[&str]) -> Result<(), String> {
        let out = Command::new(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{args:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Two namespaces joined by a veth pair; deleted on drop, pass or fail.
    pub(super) struct Netns {
        pub a: String,
        pub b: String,
    }

    impl Netns {
        /// `tag` tells apart the namespaces of tests running at once.
        pub(super) fn new(tag: &str) -> Result<Netns, String> {
            let pid = std::process::id();
            let ns = Netns {
                a: format!("kawatch-tui-{pid}-{tag}-a"),
                b: format!("kawatch-tui-{pid}-{tag}-b"),
            };
            run(&["ip", "netns", "add", &ns.a])?;
            run(&["ip", "netns", "add", &ns.b])?;
            run(&[
                "ip", "link", "add", VETH_A, "netns", &ns.a, "type", "veth", "peer", "name",
                VETH_B, "netns", &ns.b,
            ])?;
            for (n, dev, addr) in [(&ns.a, VETH_A, ADDR_A), (&ns.b, VETH_B, ADDR_B)] {
                run(&[
                    "ip",
                    "-n",
                    n,
                    "addr",
                    "add",
                    &format!("{addr}/24"),
                    "dev",
                    dev,
                ])?;
                run(&["ip", "-n", n, "link", "set", dev, "up"])?;
                run(&["ip", "-n", n, "link", "set", "lo", "up"])?;
            }
            Ok(ns)
        }
    }

    impl Drop for Netns {
        fn drop(&mut self) {
            for n in [&self.a, &self.b] {
                let _ = run(&["ip", "netns", "del", n]);
            }
        }
    }

    /// Runs `f` on a thread that has entered namespace `ns`; sockets made
    /// there stay in it.
    fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{ns}");
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path).expect("namespace file");
                use std::os::fd::AsRawFd;
                // SAFETY: setns on a valid namespace fd affects only this thread.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("namespace thread")
        })
    }

    /// A client in A with 1 s keepalives connected to a server in B on
    /// `port`, after one exchange of data.
    pub(super) fn connection(ns: &Netns, port: u16) -> (TcpStream, TcpStream) {
        let listener = in_netns(&ns.b, || {
            TcpListener::bind((ADDR_B, port)).expect("listen in B")
        });
        let client = in_netns(&ns.a, || {
            let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
            let ka = TcpKeepalive::new()
                .with_time(Duration::from_secs(1))
                .with_interval(Duration::from_secs(1))
                .with_retries(5);
            s.set_tcp_keepalive(&ka).expect("keepalive options");
            s.set_keepalive(true).expect("SO_KEEPALIVE");
            let to: SocketAddr = format!("{ADDR_B}:{port}").parse().expect("address");
            s.connect_timeout(&SockAddr::from(to), Duration::from_secs(5))
                .expect("connect");
            TcpStream::from(s)
        });
        let (mut server, _) = listener.accept().expect("accept");
        let mut client = client;
        let mut buf = [0u8; 5];
        client.write_all(b"hello").expect("write");
        server.read_exact(&mut buf).expect("read");
        server.write_all(b"hi").expect("write back");
        client.read_exact(&mut buf[..2]).expect("read back");
        (client, server)
    }

    /// Drops the server's segments from `port` in B: probes go unanswered.
    pub(super) fn drop_replies(ns: &Netns, port: u16) -> Result<(), String> {
        let port = port.to_string();
        run(&[
            "ip", "netns", "exec", &ns.b, "iptables", "-A", "OUTPUT", "-p", "tcp", "--sport",
            &port, "-j", "DROP",
        ])
    }

    /// A client in A with keepalive set as given (None: off) connected to
    /// a server in B on `port`, after one exchange of data: idle from then on.
    pub(super) fn idle_connection(
        ns: &Netns,
        port: u16,
        keepalive: Option<(u64, u64, u32)>,
    ) -> (TcpStream, TcpStream) {
        let listener = in_netns(&ns.b, || {
            TcpListener::bind((ADDR_B, port)).expect("listen in B")
        });
        let mut client = in_netns(&ns.a, || {
            let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
            if let Some((idle, intvl, cnt)) = keepalive {
                let ka = TcpKeepalive::new()
                    .with_time(Duration::from_secs(idle))
                    .with_interval(Duration::from_secs(intvl))
                    .with_retries(cnt);
                s.set_tcp_keepalive(&ka).expect("keepalive options");
            }
            let to: SocketAddr = format!("{ADDR_B}:{port}").parse().expect("address");
            s.connect_timeout(&SockAddr::from(to), Duration::from_secs(5))
                .expect("connect");
            TcpStream::from(s)
        });
        let (mut server, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 5];
        client.write_all(b"hello").expect("write");
        server.read_exact(&mut buf).expect("read");
        (client, server)
    }

    pub(super) const VETH: &str = VETH_A;
    pub(super) const CLIENT: &str = ADDR_A;
    pub(super) const SERVER: &str = ADDR_B;
}

#[test]
#[ignore = "needs root and network namespaces; run scripts/test as root"]
fn live_in_network_namespaces() {
    if !have_tmux("live_in_network_namespaces") {
        return;
    }
    // Dropped in reverse order of declaration, on a panic too: the sockets,
    // tmux (and kawatch with it), then the namespaces.
    let ns = live::Netns::new("wire").expect("namespaces (are you root?)");
    let endpoint = |s: &std::net::TcpStream| {
        let a = s.local_addr().expect("address");
        format!("{}:{}", a.ip(), a.port())
    };
    // Already idle and probing when kawatch starts: no handshake to see.
    let early = live::connection(&ns, 5006);
    std::thread::sleep(Duration::from_secs(3));
    let t = Tmux::start(
        "live",
        &format!("ip netns exec {} {BIN} --interface {}", ns.a, live::VETH),
    );
    t.wait("the live view", WAIT, |p| {
        p.contains(&format!("live {}", live::VETH))
    });
    let (client, server) = live::connection(&ns, 5007);
    let (client_ep, server_ep) = (endpoint(&client), endpoint(&server));
    let early_ep = endpoint(&early.0);
    assert!(client_ep.starts_with(live::CLIENT) && server_ep.starts_with(live::SERVER));
    let pane = t.wait("both connections, alive", Duration::from_secs(20), |p| {
        row(p, &client_ep).is_some_and(|r| r.contains(&server_ep) && r.contains("alive"))
            && row(p, &early_ep).is_some_and(|r| r.contains(":5006") && r.contains("alive"))
    });
    eprintln!("alive:\n{pane}");
    let r = row(&pane, &client_ep).expect("row");
    assert!(r.contains('→'), "the client probes: {pane}");
    assert!(r.contains("1s/"), "likely idle 1 s: {pane}");
    let r = row(&pane, &early_ep).expect("row of the connection seen mid-idle");
    assert!(r.contains('→'), "{pane}");

    live::drop_replies(&ns, 5007).expect("iptables in the peer's namespace");
    let pane = t.wait("probing", Duration::from_secs(20), |p| {
        row(p, &client_ep).is_some_and(|r| r.contains("probing"))
    });
    eprintln!("probing:\n{pane}");
    // The wire's earliest give-up, or, once the kernel reports probes out,
    // its own timer: the next probe or the give-up RST.
    assert!(
        row(&pane, &client_ep).is_some_and(|r| r.contains("dead in")
            || r.contains("dead any time")
            || r.contains("RST in")
            || (r.contains("probe ") && r.contains(" in "))),
        "{pane}"
    );
    // Five probes a second apart, then the kernel gives up.
    let pane = t.wait("dead", Duration::from_secs(20), |p| {
        row(p, &client_ep).is_some_and(|r| r.contains("dead") && r.contains("gave up"))
    });
    eprintln!("dead:\n{pane}");
    assert!(
        row(&pane, &early_ep).is_some_and(|r| r.contains("alive")),
        "the other connection is untouched: {pane}"
    );
    t.keys(&["Enter"]);
    let pane = t.wait("the detail view", WAIT, |p| p.contains("Timeline"));
    eprintln!("detail:\n{pane}");
    t.keys(&["q"]);
    t.wait("kawatch to exit", WAIT, |p| p.contains("KAWATCH-EXIT=0"));
    drop(t);
    drop((client, server, early));
    drop(ns);
}

/// The centrepiece of the live screen on a box: connections that will not
/// probe for an hour, idle before kawatch starts, are listed within seconds
/// with their process and exact keepalive settings read from the kernel.
#[test]
#[ignore = "needs root and network namespaces; run scripts/test as root"]
fn live_screen_shows_local_sockets_at_once() {
    if !have_tmux("live_screen_shows_local_sockets_at_once") {
        return;
    }
    let ns = live::Netns::new("sockets").expect("namespaces (are you root?)");
    let endpoint = |s: &std::net::TcpStream| {
        let a = s.local_addr().expect("address");
        format!("{}:{}", a.ip(), a.port())
    };
    let on = live::idle_connection(&ns, 5011, Some((3600, 30, 4)));
    let off = live::idle_connection(&ns, 5012, None);
    let (on_ep, off_ep) = (endpoint(&on.0), endpoint(&off.0));
    let started = Instant::now();
    let t = Tmux::start(
        "sockets",
        &format!("ip netns exec {} {BIN} --interface {}", ns.a, live::VETH),
    );
    let pid = format!("[{}]", std::process::id());
    let pane = t.wait("both idle connections with their sockets", WAIT, |p| {
        row(p, &on_ep).is_some_and(|r| r.contains("=3600s/30s/4") && r.contains(&pid))
            && row(p, &off_ep).is_some_and(|r| r.contains("=off"))
    });
    let took = started.elapsed();
    eprintln!("sockets after {took:?}:\n{pane}");
    let r = row(&pane, &on_ep).expect("row");
    assert!(
        r.contains("probe in"),
        "NEXT from the kernel's timer: {pane}"
    );
    assert!(
        pane.contains("2 local sockets"),
        "the status line counts them: {pane}"
    );
    t.keys(&["q"]);
    t.wait("kawatch to exit", WAIT, |p| p.contains("KAWATCH-EXIT=0"));
    drop(t);
    // With a filter, the count is of the sockets it lets through.
    let t = Tmux::start(
        "sockets-filtered",
        &format!(
            "ip netns exec {} {BIN} --interface {} tcp port 5011",
            ns.a,
            live::VETH
        ),
    );
    let pane = t.wait("the filtered connection", WAIT, |p| {
        row(p, &on_ep).is_some_and(|r| r.contains("=3600s/30s/4"))
    });
    assert!(row(&pane, &off_ep).is_none(), "filtered out: {pane}");
    assert!(
        pane.contains("1 local socket") && !pane.contains("2 local sockets"),
        "{pane}"
    );
    t.keys(&["q"]);
    t.wait("kawatch to exit", WAIT, |p| p.contains("KAWATCH-EXIT=0"));
    drop(t);
    drop((on, off));
    drop(ns);
}
