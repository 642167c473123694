//! Shared by the integration tests: run the real binary, find optional inputs,
//! and skip loudly (or fail under KAWATCH_STRICT=1) where they are absent.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Every flow's keepalive records (probers) in a JSON report.
pub(crate) fn probers(r: &Value) -> Vec<&Value> {
    r["flows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["keepalive"].as_array().unwrap())
        .collect()
}

/// The kawatch binary under test.
pub(crate) fn kawatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kawatch"))
}

/// Runs `kawatch ARGS`, returning its output.
pub(crate) fn run(args: &[&str]) -> Output {
    kawatch()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run kawatch")
}

/// `kawatch report --format json FILE`, parsed; panics with stderr on failure.
pub(crate) fn report_json(file: &Path) -> Value {
    let out = run(&["report", "--format", "json", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "kawatch failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report is JSON")
}

/// Frame numbers of `kind` events from `kawatch report --format events FILE`, sorted.
pub(crate) fn event_frames(file: &Path, kind: &str) -> Vec<u64> {
    let out = run(&["report", "--format", "events", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("event line is JSON"))
        .filter(|e| e["kind"] == kind)
        .map(|e| e["frame"].as_u64().unwrap())
        .collect();
    v.sort_unstable();
    v
}

/// Whether missing prerequisites must fail the test instead of skipping it.
pub(crate) fn strict() -> bool {
    std::env::var_os("KAWATCH_STRICT").is_some_and(|v| v == "1")
}

/// Skips (prints why) or, under KAWATCH_STRICT=1, fails.
pub(crate) fn skip(test: &str, reason: &str) {
    if strict() {
        panic!("{test}: {reason} (KAWATCH_STRICT=1 requires it)");
    }
    eprintln!("SKIP {test}: {reason}");
}

/// ../shared/corpus beside the repository, if present.
pub(crate) fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// Whether a program is on PATH.
pub(crate) fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Frame numbers tshark flags with `field` (e.g. `tcp.analysis.keep_alive`), sorted.
pub(crate) fn tshark_frames(file: &Path, field: &str) -> Vec<u64> {
    let out = Command::new("tshark")
        .args([
            "-r",
            file.to_str().unwrap(),
            "-Y",
            field,
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .stderr(Stdio::null())
        .output()
        .expect("run tshark");
    let mut v: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    v.sort_unstable();
    v
}
