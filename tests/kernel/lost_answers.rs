//! A Linux prober whose answers are lost past the capture point: the wire
//! at the prober shows every probe answered, its firewall drops the answers
//! before the socket hears them, and the kernel gives up all the same.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::capture::{CaptureSpec, RunningCapture};
use super::sockets::{connect, keepalive, listener, local};
use super::sys::{iptables, wait_all_acked, NetnsPair, ADDR_B4, VETH_A};

const IO_TIMEOUT: Duration = Duration::from_secs(5);
const PORT: u16 = 7601;

/// What the client's application saw when it read after the probes.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub capture: PathBuf,
    pub client: String,
    /// The error the read returned (ETIMEDOUT when the kernel gave up).
    pub read_error: Option<std::io::Error>,
}

/// The client probes (`idle` s, interval 1 s, `cnt` probes); once the
/// connection is idle and `answered` probes were answered (each an idle
/// after the last answer), its namespace drops what the server sends on
/// INPUT, where tcpdump on its veth has already seen it. With `request_at`,
/// the server also writes that long after the drop began (between the
/// client's probes: lost, and resent, like the answers).
pub(crate) fn run(
    idle: u32,
    cnt: u32,
    request_at: Option<Duration>,
    answered: u32,
    dir: &Path,
) -> Result<Outcome, String> {
    let pair = NetnsPair::create(match (request_at.is_some(), answered > 0) {
        (true, _) => "lostreq",
        (false, true) => "lostlate",
        (false, false) => "lost",
    })?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let file = dir.join("lost-answers.pcap");
    let capture = RunningCapture::start(CaptureSpec::tcpdump(&pair.a, VETH_A, &file), IO_TIMEOUT)?;
    let listener = listener(&pair.b, ADDR_B4, PORT)?;
    let (client, server) = connect(&pair.a, &listener)?;
    keepalive(&client, idle, 1, cnt)?;
    let client_ep = local(&client)?;
    client.send(b"ping").map_err(|e| format!("send: {e}"))?;
    let mut buf = [0u8; 4];
    server
        .set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    (&server)
        .read_exact(&mut buf)
        .map_err(|e| format!("server read: {e}"))?;
    wait_all_acked(&[&client, &server], Duration::from_secs(2))?;
    // (Half an idle past the last answered probe.)
    std::thread::sleep(Duration::from_millis(
        u64::from(idle * answered) * 1000
            + if answered > 0 {
                u64::from(idle) * 500
            } else {
                0
            },
    ));
    iptables(
        &pair.a,
        false,
        &[
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--sport",
            &PORT.to_string(),
            "-j",
            "DROP",
        ],
    )?;
    // The give-up comes idle + cnt intervals after the data; the read
    // waits for it, bounded.
    let limit = f64::from(idle + cnt) * 1.2 + 2.0;
    client
        .set_read_timeout(Some(Duration::from_secs_f64(limit)))
        .map_err(|e| e.to_string())?;
    let err = std::thread::scope(|s| {
        if let Some(at) = request_at {
            let server = &server;
            s.spawn(move || {
                std::thread::sleep(at);
                let _ = server.send(b"late");
            });
        }
        (&client).read(&mut buf).err()
    });
    drop((client, server, listener));
    std::thread::sleep(Duration::from_millis(300));
    capture.stop(IO_TIMEOUT)?;
    drop(pair);
    Ok(Outcome {
        capture: file,
        client: client_ep,
        read_error: err,
    })
}
