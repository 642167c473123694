//! The command line as tcpdump and tshark users expect it (issue 12):
//! options anywhere, `-r`, several files (one report each, or merged), the
//! filter as words, `-f` or `-F`, `--`, `-D`, `-c`, `--since`/`--until`,
//! `-w` with labelled frames, distinct exit codes, `--version`, completions
//! and the manual page.

use crate::support::*;
use kawatch::capture::{Next, Source};
use kawatch_synth::{cases, Format, LinkType, Writer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

fn fixture(name: &str) -> String {
    crate::fixtures::crate_root()
        .join("fixtures/synth")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every JSON document in `text` (a stream of reports).
fn documents(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.expect("a JSON document"))
        .collect()
}

fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

#[test]
fn options_go_before_or_after_the_inputs() {
    let alive = fixture("alive.pcap");
    let a = alive.as_str();
    let reference = stdout(&ok(&["report", "--format", "json", a]));
    for args in [
        vec!["report", a, "--format", "json"],
        vec!["report", "-r", a, "-T", "json"],
        vec!["report", "-T", "json", "--read", a],
        vec!["report", a, "-T", "json", "tcp"],
        vec!["report", "-T", "json", a, "--", "tcp"],
        vec!["report", "-T", "json", "-f", "tcp", a],
        // tcpdump's -n and -nn: names are never resolved anyway.
        vec!["report", "-nn", "-T", "json", a],
        vec!["report", "-n", "-r", a, "-T", "json"],
    ] {
        let got = stdout(&ok(&args));
        assert_eq!(documents(&got), documents(&reference), "{args:?}");
    }
}

#[test]
fn the_filter_as_words_as_f_or_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let filter_file = dir.path().join("filter");
    std::fs::write(&filter_file, "# keepalive traffic only\ntcp port 5001\n").unwrap();
    let file = fixture("pcapng_interfaces.pcapng");
    let probers = |args: &[&str]| -> Vec<String> {
        let r = &documents(&stdout(&ok(args)))[0];
        r["flows"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["keepalive"].as_array().unwrap().clone())
            .map(|k| k["prober"].as_str().unwrap().to_string())
            .collect()
    };
    let want = ["198.18.1.1:40001"];
    let ff = filter_file.to_str().unwrap();
    assert_eq!(
        probers(&["report", "-T", "json", &file, "tcp", "port", "5001"]),
        want
    );
    assert_eq!(
        probers(&["report", "-T", "json", "-f", "tcp port 5001", &file]),
        want
    );
    assert_eq!(probers(&["report", "-T", "json", "-F", ff, &file]), want);
    // Twice is a usage error.
    let o = run(&["report", "-f", "tcp", &file, "port", "5001"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the filter is given twice"));
}

/// Several files: one report each, every row naming its file; `--merge`
/// reads them as one capture (a rotated capture's pieces give the report of
/// the whole).
#[test]
fn several_files_one_report_each_or_merged() {
    let (alive, dead) = (fixture("alive.pcap"), fixture("dead_give_up.pcap"));
    // Table: a block per file.
    let table = stdout(&ok(&["report", &alive, &dead]));
    assert!(table.contains("alive.pcap (EN10MB)") && table.contains("dead_give_up.pcap (EN10MB)"));
    // JSON: a stream of reports.
    let docs = documents(&stdout(&ok(&["report", "-T", "json", &alive, &dead])));
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1]["source"]["name"], dead.as_str());
    // CSV: one header, a last column naming the file.
    let csv = stdout(&ok(&["report", "-T", "csv", &alive, &dead]));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("a,b,") && lines[0].ends_with(",heartbeats,path,probes_too_soon,file"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].ends_with(&alive) && lines[2].ends_with(&dead),
        "{csv}"
    );
    // Events: each names its file.
    let events = stdout(&ok(&["report", "-T", "events", &alive, &dead]));
    let files: Vec<String> = events
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["file"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        files.contains(&alive) && files.contains(&dead) && files.len() == 12,
        "{events}"
    );
    // One file: rows do not name it (as grep does).
    let one = stdout(&ok(&["report", "-T", "events", &alive]));
    assert!(!one.contains("\"file\""));

    // A capture cut in two by time, as `tcpdump -G` rotates: merged, the
    // same flows as the whole.
    let dir = tempfile::tempdir().unwrap();
    let frames = (cases::by_file_name("dead_give_up.pcap").unwrap().build)().frames();
    let part = |name: &str, range: std::ops::Range<usize>| -> PathBuf {
        let mut w = Writer::new(Vec::new(), Format::PcapMicro, LinkType::Ethernet);
        for f in &frames[range] {
            w.write_record(f.ts, &f.data, f.orig_len).unwrap();
        }
        let path = dir.path().join(name);
        std::fs::write(&path, w.finish().unwrap()).unwrap();
        path
    };
    // (A `+` in a name, as in files named after their sources.)
    let (a, b) = (part("a+1.pcap", 0..7), part("b.pcap", 7..frames.len()));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    // Given in either order: merged by time.
    let merged = &documents(&stdout(&ok(&["report", "-T", "json", "--merge", b, a])))[0];
    let whole = &documents(&stdout(&ok(&["report", "-T", "json", &dead])))[0];
    // The inputs one by one, as given; `check` lists them the same way.
    assert_eq!(merged["source"]["files"], serde_json::json!([b, a]));
    assert_eq!(
        whole["source"].get("files"),
        None,
        "only merged reports list files"
    );
    let check = stdout(&run(&[
        "check",
        "-T",
        "json",
        "--require-keepalive",
        "--merge",
        b,
        a,
    ]));
    assert_eq!(
        serde_json::from_str::<Value>(&check).unwrap()["inputs"],
        serde_json::json!([b, a])
    );
    let keepalive = |r: &Value| r["flows"][0]["keepalive"].clone();
    assert_eq!(keepalive(merged), keepalive(whole));
    assert_eq!(merged["source"]["frames"], whole["source"]["frames"]);
    // With a filter, the frames it leaves out still count: events are
    // numbered by their place in the whole, as the whole file's are.
    let no_syn = "tcp[tcpflags] & tcp-syn == 0";
    let frames_of = |args: &[&str]| -> Vec<Value> {
        stdout(&ok(args))
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["frame"].clone())
            .collect()
    };
    let whole_events = frames_of(&["report", "-T", "events", &dead, no_syn]);
    assert!(!whole_events.is_empty());
    assert_eq!(
        frames_of(&["report", "-T", "events", "--merge", b, a, no_syn]),
        whole_events
    );
    // Merged captures of different connections: each row names the files
    // its flow was in, in every format.
    let (ifaces, a_only) = (fixture("pcapng_interfaces.pcapng"), alive.clone());
    let r = &documents(&stdout(&ok(&[
        "report", "-T", "json", "--merge", &a_only, &ifaces,
    ])))[0];
    let files: Vec<(String, Vec<String>)> = r["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let files = f["files"].as_array().unwrap();
            (
                f["a"].as_str().unwrap().to_string(),
                files
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(files.len(), 3);
    for (a, files) in &files {
        let want = if a == "198.18.0.1:40000" {
            &a_only
        } else {
            &ifaces
        };
        assert_eq!(files, &vec![want.clone()], "{a}");
    }
    let csv = stdout(&ok(&["report", "-T", "csv", "--merge", &a_only, &ifaces]));
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|l| l.ends_with(&format!(",{a_only}"))),
        "{csv}"
    );
    let table = stdout(&ok(&["report", "--merge", &a_only, &ifaces]));
    assert!(table.contains("FILE") && table.contains(&ifaces), "{table}");
    let events = stdout(&ok(&[
        "report", "-T", "events", "--merge", &a_only, &ifaces,
    ]));
    for line in events.lines() {
        let ev: Value = serde_json::from_str(line).unwrap();
        let want = if ev["src"] == "198.18.0.1:40000" || ev["dst"] == "198.18.0.1:40000" {
            &a_only
        } else {
            &ifaces
        };
        assert_eq!(ev["file"].as_str(), Some(want.as_str()), "{line}");
    }
    // Apart, the second piece alone cannot show the idle.
    let apart = documents(&stdout(&ok(&["report", "-T", "json", a, b])));
    assert_eq!(apart.len(), 2);
    assert_ne!(keepalive(&apart[1]), keepalive(whole));
}

#[test]
fn count_and_time_window() {
    let dead = fixture("dead_give_up.pcap");
    let frames = |args: &[&str]| -> u64 {
        let mut all = vec!["report", "-T", "json", dead.as_str()];
        all.extend(args);
        documents(&stdout(&ok(&all)))[0]["source"]["frames"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(frames(&[]), 10);
    assert_eq!(frames(&["-c", "3"]), 3);
    // The capture starts at 1700000000 (2023-11-14T22:13:20Z); the probes
    // are 2-5 s later.
    assert_eq!(frames(&["--since", "1700000002"]), 4);
    assert_eq!(frames(&["--since", "2023-11-14T22:13:22Z"]), 4);
    assert_eq!(frames(&["--since", "2023-11-14T23:13:22+01:00"]), 4);
    assert_eq!(frames(&["--until", "1700000001"]), 6);
    assert_eq!(
        frames(&["--since", "1700000002", "--until", "1700000003"]),
        1
    );
    assert_eq!(frames(&["--since", "1700000002", "-c", "2"]), 2);
    let o = run(&["report", &dead, "--since", "yesterday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("RFC 3339"), "{}", stderr(&o));
}

/// `-w`: the keepalive-related frames, labelled, in a pcapng file that
/// kawatch (and Wireshark) read back; `-w -` writes it to standard output.
#[test]
fn write_labelled_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labelled.pcapng");
    let dead = fixture("dead_give_up.pcap");
    let o = ok(&["report", "-w", out.to_str().unwrap(), &dead]);
    assert!(stdout(&o).contains("dead"), "the report is still written");
    let bytes = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(
        text.matches("kawatch: keepalive probe (").count(),
        3,
        "three probes"
    );
    assert_eq!(text.matches("kawatch: give-up RST").count(), 1);
    // The frames are the input's frames 7-10, byte for byte.
    let read = |p: &Path| -> Vec<Vec<u8>> {
        let mut src = Source::open_file(p, None).unwrap();
        let mut v = Vec::new();
        while let Next::Frame(f) = src.next_frame().unwrap() {
            v.push(f.data.to_vec());
        }
        v
    };
    let input = read(Path::new(&dead));
    assert_eq!(read(&out), input[6..10].to_vec());
    // The labelled file is itself a capture kawatch reports on.
    let r = report_json(&out);
    assert_eq!(r["flows"][0]["keepalive"][0]["outcome"], "dead");
    if have("tshark") {
        let t = std::process::Command::new("tshark")
            .args([
                "-r",
                out.to_str().unwrap(),
                "-T",
                "fields",
                "-e",
                "frame.comment",
            ])
            .output()
            .unwrap();
        assert_eq!(
            stdout(&t)
                .lines()
                .filter(|l| l.contains("kawatch:"))
                .count(),
            4
        );
    } else {
        skip(
            "cli_habits::write_labelled_frames (tshark)",
            "tshark is not installed",
        );
    }
    // `-w -`: the frames on standard output, and no report; a format
    // asked for is said to change nothing.
    let o = ok(&["report", "-w", "-", &dead]);
    assert_eq!(o.stdout, bytes);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let o = ok(&["report", "-T", "json", "-w", "-", &dead]);
    assert_eq!(o.stdout, bytes);
    assert!(
        stderr(&o).contains("--format changes nothing here"),
        "{}",
        stderr(&o)
    );
}

/// The table's longest silence never rounds to a timeout it is not (3.0698 s
/// beside a 3.1 s path read "3.1s" and "exceeded"); path timeouts take
/// milliseconds as check's durations do.
#[test]
fn a_longest_silence_near_a_timeout_shows_its_digits() {
    let alive = fixture("alive.pcap");
    let table = stdout(&ok(&["report", "--path-timeout", "3100ms,1m", &alive]));
    let row = table
        .lines()
        .find(|l| l.contains(" <> "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("3.070s") && row.contains("at risk"), "{table}");
    let table = stdout(&ok(&["report", "--path-timeout", "1m", &alive]));
    assert!(table.contains(" 3.1s "), "{table}");
}

#[test]
fn exit_codes_say_what_went_wrong() {
    // Windows and timeouts that can hold nothing: usage errors that say so.
    let alive = fixture("alive.pcap");
    for (args, says) in [
        (
            vec![
                "--since",
                "2026-01-02T00:00:00Z",
                "--until",
                "2026-01-01T00:00:00Z",
            ],
            "--since is later than --until",
        ),
        (vec!["--path-timeout", "0s"], "a timeout is more than 0"),
    ] {
        let mut all = vec!["report", alive.as_str()];
        all.extend(args);
        let o = run(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}");
        assert!(stderr(&o).contains(says), "{all:?}: {}", stderr(&o));
    }
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a capture").unwrap();
    let t = text.to_str().unwrap();
    let alive = fixture("alive.pcap");
    let cases: Vec<(&str, Vec<&str>, i32)> = vec![
        ("success", vec!["report", &alive], 0),
        (
            "unknown option",
            vec!["report", "--no-such-option", &alive],
            2,
        ),
        ("bad value", vec!["report", "-c", "zero", &alive], 2),
        ("bad filter", vec!["report", &alive, "port", "banana"], 2),
        ("no input", vec!["report"], 2),
        (
            "no such interface",
            vec!["report", "-i", "kawatch-no-such-if", "-d", "1"],
            2,
        ),
        ("missing file", vec!["report", "/nonexistent/x.pcap"], 3),
        (
            "missing file by -r",
            vec!["report", "-r", "/nonexistent/x.pcap"],
            3,
        ),
        ("not a capture", vec!["report", "-r", t], 3),
        // With -r, the words are the filter; the file is looked at first.
        (
            "-r and words",
            vec!["report", &alive, "-r", "/nonexistent/x.pcap"],
            3,
        ),
        (
            "one of several unreadable, as words",
            vec!["report", &alive, t],
            3,
        ),
    ];
    for (name, args, code) in cases {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(code), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{name}");
    }
}

#[test]
fn version_completions_and_manual() {
    let v = stdout(&ok(&["--version"]));
    assert!(
        v.starts_with("kawatch ") && v.contains("libpcap version"),
        "{v}"
    );
    let bash = stdout(&ok(&["completions", "bash"]));
    assert!(
        bash.contains("_kawatch") && bash.contains("--max-flows"),
        "bash completion"
    );
    let zsh = stdout(&ok(&["completions", "zsh"]));
    assert!(zsh.contains("#compdef kawatch"));
    let man = stdout(&ok(&["man"]));
    assert!(
        man.contains(".TH kawatch") && man.contains("report"),
        "man page"
    );
    if have("man") {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("kawatch.1");
        std::fs::write(&page, &man).unwrap();
        let o = std::process::Command::new("man")
            .args(["-l", page.to_str().unwrap()])
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        assert!(stdout(&o).contains("keepalive"), "man renders it");
    }
}

#[test]
fn list_interfaces() {
    let o = ok(&["-D"]);
    let out = stdout(&o);
    // Loopback is always there; the list is numbered as tcpdump numbers it.
    assert!(
        out.lines()
            .any(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(".lo")),
        "{out}"
    );
}

/// Found by a fresh pair of eyes trying the command line (issue 12).
#[test]
fn what_a_new_user_tripped_on() {
    let dir = tempfile::tempdir().unwrap();
    let seed4 = crate::fixtures::crate_root()
        .join("fixtures/kernel/seed4-eth.pcap")
        .to_string_lossy()
        .into_owned();
    // Frame numbers are positions in the input, filter or not (Wireshark's).
    let frames_of = |args: &[&str]| -> Vec<u64> {
        let mut all = vec!["report", "-T", "events", seed4.as_str()];
        all.extend(args);
        stdout(&ok(&all))
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["src"] == "198.18.0.2:5002")
            .map(|e| e["frame"].as_u64().unwrap())
            .collect()
    };
    let whole = frames_of(&[]);
    assert!(!whole.is_empty());
    assert_eq!(frames_of(&["tcp", "port", "5002"]), whole);
    assert_eq!(frames_of(&["--since", "1795268910"]), whole);
    // --until with a time copied from a report includes that frame.
    let ts = |args: &[&str]| -> u64 {
        let mut all = vec!["report", "-T", "json", seed4.as_str()];
        all.extend(args);
        documents(&stdout(&ok(&all)))[0]["source"]["frames"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(ts(&["--until", "1795268910.742965"]), 434);
    // --merge of one file (a glob matching one) is that file.
    let one = documents(&stdout(&ok(&["report", "-T", "json", "--merge", &seed4])));
    assert_eq!(one[0]["source"]["frames"], 500);
    // A missing file among several: the others are read, exit 3; the error
    // is said once, and summed up at the end.
    let o = run(&["report", "nosuch.pcap", &seed4]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stdout(&o).contains("seed4-eth.pcap (EN10MB)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        stderr(&o).matches("cannot read nosuch.pcap").count(),
        1,
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("1 of 2 inputs could not be read"),
        "{}",
        stderr(&o)
    );
    // A piece of a merge that cannot be read (a rotating capture's newest,
    // still empty): the others are merged, the report says it lacks one,
    // exit 3; `check` fails every rule with it and still writes its result.
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let o = run(&[
        "report",
        "-T",
        "json",
        "--merge",
        &seed4,
        empty.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let merged = &documents(&stdout(&o))[0]["source"];
    assert_eq!(merged["frames"], 500, "{merged}");
    assert_eq!(merged["truncated"], true, "{merged}");
    assert!(
        merged["truncated_reason"].as_str().is_some_and(|r| r
            .starts_with("a piece could not be read: ")
            && r.contains("empty.pcap")),
        "{merged}"
    );
    assert!(
        stderr(&o).contains("1 of 2 inputs could not be read"),
        "{}",
        stderr(&o)
    );
    // No piece opens: each said once, then summed up, exit 3.
    let o = run(&[
        "report",
        "--merge",
        empty.to_str().unwrap(),
        empty.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("is not a pcap").count(),
        2,
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("none of the 2 inputs could be read"),
        "{}",
        stderr(&o)
    );
    // A piece cut off (the one being written): what was read of it stands,
    // and the reason names it.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &std::fs::read(&seed4).unwrap()[..3000]).unwrap();
    let alive = fixture("alive.pcap");
    let o = run(&[
        "report",
        "-T",
        "json",
        "--merge",
        &alive,
        cut.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let merged = &documents(&stdout(&o))[0]["source"];
    assert!(
        merged["truncated_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with(&format!(
                "{}: cut off in the middle of a packet",
                cut.display()
            ))),
        "{merged}"
    );
    let o = run(&[
        "check",
        "--merge",
        "--require-keepalive",
        &seed4,
        empty.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("whole_input: ") && stdout(&o).contains("empty.pcap"),
        "{}",
        stdout(&o)
    );
    let o = run(&["report", "nosuch.pcap", "nosuch2.pcap"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("none of the 2 inputs could be read"),
        "{}",
        stderr(&o)
    );
    // A pcapng cut inside its header: damaged, not "reporting what was read".
    let dumpcap = crate::fixtures::crate_root().join("fixtures/kernel/seed4-dumpcap.pcapng");
    let cut = dir.path().join("cut.pcapng");
    std::fs::write(&cut, &std::fs::read(dumpcap).unwrap()[..100]).unwrap();
    let o = run(&["report", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("cut off before its first packet"),
        "{}",
        stderr(&o)
    );
    // libpcap refusing a file is an input error, said once.
    let ifaces = fixture("pcapng_interfaces.pcapng");
    let o = run(&["report", "--reader", "libpcap", &ifaces]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(!stderr(&o).contains("kawatch report: "), "{}", stderr(&o));
    // An output that cannot be written: 5.
    let o = run(&["report", "-w", "/nonexistent/x.pcapng", &seed4]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    // An output that is an input, by another path: refused before it is
    // truncated (a usage error), the input whole.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("in.pcap");
    std::fs::copy(&seed4, &copy).unwrap();
    let other = format!("{}/./in.pcap", dir.path().display());
    let o = run(&["report", "-w", &other, copy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("would overwrite the input"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&seed4).unwrap(),
        "the input is untouched"
    );
    // A file given to the live screen as a filter word says what to do.
    let o = run(&[seed4.as_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("kawatch -r"), "{}", stderr(&o));
    // Namespaces: an unknown name is a usage error; not being allowed, 4.
    let o = run(&["sockets", "--netns", "kawatch-no-such-ns"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A file that is no namespace: said so, a usage error.
    if running_as_root() {
        let o = run(&["sockets", "--netns", "/etc/passwd"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("not a network namespace"),
            "{}",
            stderr(&o)
        );
    }
    if have("setpriv") && running_as_root() {
        let o = std::process::Command::new("setpriv")
            .args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .args([env!("CARGO_BIN_EXE_kawatch"), "sockets", "--pid", "1"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        assert!(stderr(&o).contains("needs root"), "{}", stderr(&o));
    } else {
        skip(
            "cli_habits (namespace permission)",
            "needs root and setpriv to drop it",
        );
    }
    // A command's own manual page; `--junit -` writes JUnit to stdout.
    assert!(stdout(&ok(&["man", "check"])).contains(".TH kawatch-check"));
    assert_eq!(run(&["man", "nosuch"]).status.code(), Some(2));
    let junit = stdout(&ok(&[
        "check",
        "--no-dead",
        "--junit",
        "-",
        &fixture("alive.pcap"),
    ]));
    assert!(
        junit.starts_with("<?xml") && junit.contains("<testsuite "),
        "{junit}"
    );
    // Completions into a pipe closed early: no panic.
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} completions zsh | head -1",
            env!("CARGO_BIN_EXE_kawatch")
        ))
        .output()
        .unwrap();
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

/// Whether the tests run as root (the kernel tests' rule: `id -u` is 0).
fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// What kawatch writes to stdout, read from a pipe fed with `input` that
/// stays open: whether kawatch was still reading when `needle` appeared;
/// `None` when it did not within `within`.
fn seen_while_input_open(
    args: &[&str],
    input: &[u8],
    needle: &[u8],
    within: std::time::Duration,
) -> Option<bool> {
    use std::io::{Read, Write};
    use std::process::Stdio;
    use std::sync::mpsc;
    let mut child = kawatch()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run kawatch");
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(input).expect("feed kawatch");
    stdin.flush().unwrap();
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let needle = needle.to_vec();
    // The reader keeps draining after the needle: were it to close the
    // pipe, kawatch's next write would end it on a broken pipe before it
    // is asked whether it still runs.
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let mut found = false;
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            if !found {
                seen.extend_from_slice(&buf[..n]);
                found = seen.windows(needle.len()).any(|w| w == needle);
                if found {
                    let _ = tx.send(());
                }
            }
        }
    });
    let found = rx.recv_timeout(within).is_ok();
    let running = matches!(child.try_wait(), Ok(None));
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    found.then_some(running)
}

/// `-l` and `-U`, as tcpdump's: from a pipe fed by a capture still running,
/// events (`-l`) and labelled frames (`-U -w -`) come out as they are
/// decided, not when a buffer fills or the input ends.
#[test]
fn line_and_packet_buffered_output_follows_a_pipe() {
    let input = std::fs::read(fixture("dead_give_up.pcap")).unwrap();
    let cases: [(&str, &[&str], &[u8]); 2] = [
        (
            "-l",
            &["report", "--format", "events", "-l", "-"],
            b"\"kind\":\"probe\"",
        ),
        (
            "-U -w -",
            &["report", "-U", "-w", "-", "-"],
            b"kawatch: keepalive probe (",
        ),
    ];
    for (name, args, needle) in cases {
        assert_eq!(
            seen_while_input_open(args, &input, needle, Duration::from_secs(10)),
            Some(true),
            "{name}: the first probe is written while the pipe is still open"
        );
    }
    // Where they would change nothing, kawatch says so.
    let alive = fixture("alive.pcap");
    for args in [
        vec!["report", "-l", &alive],
        vec!["report", "-l", "-w", "-", &alive],
    ] {
        let o = ok(&args);
        assert!(
            stderr(&o).contains("-l changes nothing"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let o = run(&["report", "-U", &alive]);
    assert_eq!(o.status.code(), Some(2), "-U without -w");
}

/// A connection from 198.18.0.`n` (port 40000 + `n`) to 198.18.0.`n + 1`
/// (port 5000 + `n`).
fn conversation(n: u8) -> kawatch_synth::Conversation {
    use kawatch_synth::conversation::Host;
    let host = |ip: u8, port| Host::v4([198, 18, 0, ip], port, ip);
    kawatch_synth::Conversation::new(
        host(n, 40000 + u16::from(n)),
        host(n + 1, 5000 + u16::from(n)),
    )
}

/// `conversations` in one capture of `format`, as bytes.
fn capture_of(format: Format, conversations: &[&kawatch_synth::Conversation]) -> Vec<u8> {
    conversations
        .iter()
        .fold(
            kawatch_synth::Capture::new(LinkType::Ethernet, format),
            |c, &conversation| c.with(conversation.clone()),
        )
        .to_bytes()
}

/// `kawatch ARGS` reading a pipe fed `input[..split]`, then after `pause`
/// the rest, then closed: what it wrote and how it exited.
fn fed_with_a_pause(args: &[&str], input: &[u8], split: usize, pause: Duration) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = kawatch()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kawatch");
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(&input[..split]).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(pause);
    // (A kawatch that gave up at the silence has closed the pipe: its
    // status and stderr say why.)
    let _ = stdin.write_all(&input[split..]);
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// `-U` from a pipe that falls silent: a labelled frame waiting behind an
/// earlier one the analyser cannot decide yet (a connection first seen
/// mid-idle: its lone empty ACK may be a probe) is written within about a
/// second of the silence, as live, not when the pipe next speaks or closes.
#[test]
fn packet_buffered_writes_what_waited_when_a_pipe_falls_silent() {
    use kawatch_synth::conversation::{A, B};
    let mut undecided = conversation(1);
    undecided.probe(A);
    let mut labelled = conversation(3);
    labelled
        .wait(1.0)
        .handshake()
        .wait(2.0)
        .probe(A)
        .probe_ack(B);
    let input = capture_of(Format::PcapNano, &[&undecided, &labelled]);
    let needle = b"kawatch: keepalive probe (";
    assert_eq!(
        seen_while_input_open(
            &["report", "-U", "-w", "-", "-"],
            &input,
            needle,
            Duration::from_secs(10)
        ),
        Some(true),
        "the probe's frame is written while the silent pipe is open"
    );
    // Without -U the file is written as a file read is: the probe's frame
    // waits for the undecided one, here until the pipe closes.
    assert_eq!(
        seen_while_input_open(
            &["report", "-w", "-", "-"],
            &input,
            needle,
            Duration::from_secs(3)
        ),
        None,
        "without -U nothing waits on the clock"
    );
}

/// `-U` from a pcapng pipe whose first packet comes long after its header
/// blocks (`tshark -w -` or `dumpcap -w -` on a quiet interface): opening
/// waits for the interfaces as long as it takes, and the report is whole.
#[test]
fn packet_buffered_waits_for_a_pcapng_pipe_first_packet() {
    use kawatch_synth::conversation::{A, B};
    let mut c = conversation(3);
    c.handshake().wait(2.0).probe(A).probe_ack(B);
    let format = Format::Pcapng { tsresol: 9 };
    let header = capture_of(format, &[]).len();
    let input = capture_of(format, &[&c]);
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("labelled.pcapng");
    let frames = frames.to_str().unwrap();
    let out = fed_with_a_pause(
        &["report", "--format", "json", "-U", "-w", frames, "-"],
        &input,
        header,
        Duration::from_millis(800),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).expect("a report");
    assert_eq!(r["flows"][0]["keepalive"][0]["probes_sent"], 1, "{r}");
    let written = Source::open_file(Path::new(frames), None).map(|mut s| {
        std::iter::from_fn(|| match s.next_frame() {
            Ok(Next::Frame(_)) => Some(()),
            _ => None,
        })
        .count()
    });
    assert_eq!(written.ok(), Some(2), "the probe and its answer written");
}

/// A pipe that falls silent between frames a filter leaves out and the
/// next that passes does not change what `-U` reports: every event names
/// the frame it names when the same bytes come without a pause.
#[test]
fn a_silence_after_filtered_frames_keeps_the_frame_numbers() {
    use kawatch_synth::conversation::{A, B};
    let mut left_out = conversation(1);
    left_out.handshake().data(A, 100).ack(B);
    let mut passing = conversation(3);
    passing
        .wait(5.0)
        .handshake()
        .wait(2.0)
        .probe(A)
        .probe_ack(B);
    let first = capture_of(Format::PcapNano, &[&left_out]).len();
    let input = capture_of(Format::PcapNano, &[&left_out, &passing]);
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("labelled.pcapng");
    let frames = frames.to_str().unwrap();
    let args = [
        "report", "--format", "events", "-U", "-w", frames, "port", "5003", "-r", "-",
    ];
    let events = |pause: Duration| {
        let out = fed_with_a_pause(&args, &input, first, pause);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let steady = events(Duration::ZERO);
    assert!(steady.contains("\"kind\":\"probe\""), "{steady}");
    assert_eq!(events(Duration::from_millis(800)), steady);
}

/// A give-up whose run began before `--since` shows `≥N` probes, and the
/// table's legend then says what `≥` means; a table with none says nothing
/// of it.
#[test]
fn the_legend_explains_at_least_where_it_shows() {
    let file = crate::fixtures::crate_root()
        .join("fixtures/kernel/seed4-eth.pcap")
        .to_string_lossy()
        .into_owned();
    let legend = "≥N at least N (part of the run was seen)";
    let part = run(&["report", "--since", "2026-11-21T13:48:30Z", &file]);
    let text = String::from_utf8_lossy(&part.stdout);
    assert!(text.contains(" ≥5 ") && text.contains(legend), "{text}");
    let whole = run(&["report", &file]);
    let text = String::from_utf8_lossy(&whole.stdout);
    assert!(
        !text.contains('≥') && text.contains("does not apply"),
        "{text}"
    );
}
