//! `kawatch check`: keepalive rules over captures, for CI: exit 0 when every
//! rule holds, 1 when one fails.

use crate::args::{parse_seconds_arg, CaptureArgs, Inputs};
use crate::exit::{usage, AlreadySaid, INTERRUPTED, OK, RULE_FAILED};
use crate::report::{open_input, open_pieces, unread_input};
use crate::signals::{install_sigint, STOP};
use anyhow::{Context, Result};
use clap::Args;
use kawatch::capture::{FrameSource, Merged, OpenOptions, Source};
use kawatch::check::{
    write_junit, write_text, Finding, Policy, Requirement, Rule, Side, Status, Unknown,
};
use kawatch::core::Outcome;
use kawatch::report::Report;
use kawatch::run::{analyse, RunOptions};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Output formats of `kawatch check`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
pub(crate) enum CheckFormat {
    /// Each rule's verdict, and every failure in words.
    #[default]
    Text,
    /// One JSON object, `kawatch_check` version 1.
    Json,
}

#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// Rules from a policy file (TOML, `[[rule]]` tables; see the README);
    /// the flags below add one more rule.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Only flows with this port at either end (repeatable).
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,
    /// Only flows with this address at either end (repeatable).
    #[arg(long, value_name = "ADDR")]
    host: Vec<IpAddr>,
    /// Whose keepalive the flags' rule looks at [default: either].
    #[arg(long, value_enum)]
    side: Option<Side>,
    /// Keepalive must be on: some side probes (or, live, its socket has keepalive on).
    #[arg(long, conflicts_with = "forbid_keepalive")]
    require_keepalive: bool,
    /// Keepalive must be off.
    #[arg(long)]
    forbid_keepalive: bool,
    /// The keepalive idle is at most D (e.g. 60s, 2m).
    #[arg(long, value_name = "D", value_parser = parse_seconds_arg, allow_hyphen_values = true)]
    max_idle: Option<f64>,
    /// The interval between unanswered probes is at most D.
    #[arg(long, value_name = "D", value_parser = parse_seconds_arg, allow_hyphen_values = true)]
    max_intvl: Option<f64>,
    /// At most N unanswered probes before giving up.
    #[arg(long, value_name = "N")]
    max_probes: Option<u32>,
    /// A dead peer is noticed within D: idle + intvl x probes.
    #[arg(long, value_name = "D", value_parser = parse_seconds_arg, allow_hyphen_values = true)]
    max_detection: Option<f64>,
    /// No prober gave up, and no peer answered a probe with RST.
    #[arg(long)]
    no_dead: bool,
    /// No flow is silent (no segment either way) longer than D.
    #[arg(long, value_name = "D", value_parser = parse_seconds_arg, allow_hyphen_values = true)]
    max_silence: Option<f64>,
    /// The flows survive this path idle timeout: a preset (aws-nlb,
    /// azure-lb, gcp-fw, ...), a duration (300s) or NAME=DURATION;
    /// repeatable or comma-separated.
    #[arg(long, value_name = "NAME|DURATION", value_delimiter = ',', value_parser = parse_survives)]
    survives: Vec<String>,
    /// What a value the capture cannot show counts as, in the flags' rule
    /// [default: fail] (a policy's rules say it with `unknown =`).
    #[arg(long, value_enum)]
    unknown: Option<Unknown>,
    /// At least N flows match the flags' rule [default: 1] (a rule matching
    /// nothing fails); above 1, a requirement of its own.
    #[arg(long, value_name = "N")]
    min_flows: Option<u32>,
    /// Output format.
    #[arg(short = 'T', long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    /// Also write the result as JUnit XML to FILE (a test suite per rule, a
    /// test case per finding); `-` writes it to standard output instead of
    /// the summary.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    #[command(flatten)]
    capture: CaptureArgs,
}

/// Parses --survives: a path timeout, kept as given.
fn parse_survives(s: &str) -> Result<String, String> {
    kawatch::core::PathTimeout::parse(s)
        .map(|_| s.trim().to_string())
        .map_err(|e| e.to_string())
}

impl CheckArgs {
    /// The paths the flags' rule requires flows to survive: `--survives`,
    /// and `--path-timeout` (the paths in force, which `check` requires).
    fn survives(&self) -> Option<Vec<String>> {
        let mut all = self.survives.clone();
        if !self.capture.paths.given.is_empty() {
            let paths = self.capture.paths.paths().ok()?;
            all.extend(paths.iter().map(ToString::to_string));
        }
        (!all.is_empty()).then_some(all)
    }

    /// The rule the flags make, if they require anything.
    fn rule(&self) -> Option<Rule> {
        let rule = Rule {
            name: None,
            port: self.port.clone(),
            host: self.host.clone(),
            side: self.side.unwrap_or_default(),
            keepalive: if self.require_keepalive {
                Some(Requirement::Required)
            } else if self.forbid_keepalive {
                Some(Requirement::Forbidden)
            } else {
                None
            },
            max_idle: self.max_idle,
            max_intvl: self.max_intvl,
            max_probes: self.max_probes,
            max_detection: self.max_detection,
            outcome: self.no_dead.then(|| vec![Outcome::Alive, Outcome::Probing]),
            max_silence: self.max_silence,
            survives: self.survives(),
            min_flows: self.min_flows.unwrap_or(1),
            unknown: self.unknown.unwrap_or_default(),
        };
        rule.requires_something().then_some(rule)
    }

    /// The policy file's rules, then the flags' rule.
    fn policy(&self) -> Result<Policy> {
        // A path given twice with two timeouts is a usage error.
        self.capture.paths.paths()?;
        let mut policy = match &self.policy {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the policy {}", path.display()))
                    .map_err(|e| usage(format!("{e:#}")))?;
                Policy::from_toml(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?
            }
            None => Policy::default(),
        };
        match self.rule() {
            Some(rule) => policy.rules.push(rule),
            None if !self.port.is_empty()
                || !self.host.is_empty()
                || self.side.is_some()
                || self.unknown.is_some()
                || self.min_flows.is_some() =>
            {
                return Err(usage(
                    "--port, --host, --side, --unknown and --min-flows shape the flags' rule, which \
                     requires nothing: add a requirement flag (e.g. --require-keepalive), or put \
                     them in the policy's rules",
                ))
            }
            None if policy.rules.is_empty() => {
                return Err(usage(
                    "no rule given: add --require-keepalive, --max-idle D, --max-intvl D, \
                     --max-probes N, --max-detection D, --no-dead, --max-silence D, --survives PATH or \
                     --forbid-keepalive, or --policy FILE",
                ))
            }
            None => {}
        }
        policy.validate().map_err(|e| usage(e.to_string()))?;
        Ok(policy)
    }
}

/// Runs the check; the exit status: 0 every rule holds, 1 one fails, 130
/// a signal cut a file or pipe short (the result of what was read is
/// written all the same).
pub(crate) fn check(args: CheckArgs) -> Result<u8> {
    install_sigint();
    if args.junit.as_deref() == Some(Path::new("-")) && args.format == CheckFormat::Json {
        return Err(usage(
            "--junit - writes JUnit XML to standard output, where -T json would go: give \
             --junit FILE, or leave out -T json",
        ));
    }
    let policy = args.policy()?;
    let (inputs, filter) = args.capture.resolve()?;
    let capture = &args.capture;
    let warnings = std::cell::RefCell::new(Vec::new());
    let analyse_one = |src: &mut dyn FrameSource| -> Result<Report> {
        let opts = RunOptions {
            duration: capture.duration,
            stop: Some(&STOP),
            limits: capture.limits(),
            local_sockets: !capture.no_sockets,
            count: capture.count,
            since: capture.since,
            until: capture.until,
            ..RunOptions::default()
        };
        let (report, summary) = analyse(src, opts)?;
        for w in &summary.warnings {
            to_stderr!("kawatch: warning: {w}");
        }
        warnings.borrow_mut().extend(summary.warnings);
        Ok(report)
    };
    let mut reports = Vec::new();
    // Inputs that could not be read at all (with several, the others are
    // checked and the result written all the same), and the first error.
    let mut unread: Vec<(String, String)> = Vec::new();
    let mut failed = None;
    let given = match &inputs {
        Inputs::Files(files) => files.len(),
        Inputs::Live(_) => 1,
    };
    match inputs {
        Inputs::Live(iface) => {
            capture.netns.enter()?;
            let mut src = Source::open_live(&capture.live(&iface), Some(&filter))?;
            reports.push(analyse_one(&mut src)?);
        }
        Inputs::Files(files) => {
            let open = OpenOptions {
                filter: Some(&filter),
                reader: capture.reader,
                stop: Some(&STOP),
                wake: None,
            };
            if capture.merge {
                // A piece that cannot be read leaves the others to merge,
                // and fails every rule (as an unreadable input does).
                let (sources, left_out) = open_pieces(&files, &open)?;
                for (name, e) in left_out {
                    unread.push((name, format!("{e:#}")));
                    failed.get_or_insert(e);
                }
                if !sources.is_empty() {
                    let mut merged = Merged::new(sources).with_filter(&filter)?;
                    reports.push(analyse_one(&mut merged)?);
                }
            } else {
                // Every input must be read: a check over part of them is no
                // check. One that cannot be read fails every rule, and the
                // result of the others is written, so that a CI system shows
                // the failure where it shows the rest.
                let several = files.len() > 1;
                for f in &files {
                    let read = open_input(f, &open).and_then(|mut src| analyse_one(&mut src));
                    match read {
                        Ok(report) => reports.push(report),
                        // (Opened, but nothing of it read: the same.)
                        Err(e) if several && unread_input(&e) => {
                            to_stderr!("kawatch: error: {e:#}");
                            unread.push((f.clone(), format!("{e:#}")));
                            failed.get_or_insert(e);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
    let mut result = policy.evaluate(&reports);
    result.warnings = warnings.into_inner();
    for (name, e) in &unread {
        // (The error names the input.)
        let message = format!("input not read: {e}");
        for rule in &mut result.rules {
            // Before the rule's min_flows, as the contract orders them.
            let at = rule
                .findings
                .iter()
                .rposition(|f| f.requirement == "min_flows")
                .unwrap_or(rule.findings.len());
            rule.findings.insert(
                at,
                Finding::of_rule("whole_input", Status::Fail, message.clone()),
            );
        }
        result.inputs.push(name.clone());
        result.warnings.push(message);
        result.passed = false;
    }
    let junit_to_stdout = args.junit.as_deref() == Some(Path::new("-"));
    let write_out = || -> anyhow::Result<()> {
        let stdout = io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        match args.format {
            // `--junit -`: the JUnit XML is standard output's.
            _ if junit_to_stdout => write_junit(&result, &mut out)?,
            CheckFormat::Text => write_text(&result, &mut out)?,
            CheckFormat::Json => {
                serde_json::to_writer_pretty(&mut out, &result)?;
                writeln!(out)?;
            }
        }
        out.flush()?;
        Ok(())
    };
    match write_out() {
        Ok(()) => {}
        // A reader that left early (`| head`): the status still says
        // whether the rules held.
        Err(e) if is_broken_pipe(&e) => {}
        Err(e) => return Err(e.context("writing the check's result")),
    }
    if let Some(path) = args.junit.as_ref().filter(|_| !junit_to_stdout) {
        let write_junit_file = || -> anyhow::Result<()> {
            let mut f = BufWriter::new(std::fs::File::create(path)?);
            write_junit(&result, &mut f)?;
            f.flush()?;
            Ok(())
        };
        write_junit_file().with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(first) = failed {
        return Err(AlreadySaid::inputs(unread.len(), given, first).into());
    }
    // A file or pipe a signal cut short was not checked whole: whatever the
    // rules said of its part, that is no pass (a CI job's timeout must not
    // turn into a green check).
    Ok(if result.interrupted {
        INTERRUPTED
    } else if result.passed {
        OK
    } else {
        RULE_FAILED
    })
}

/// Whether `e` is standard output's reader having left (EPIPE), however
/// the writer wrapped it.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().map(io::Error::kind).or(c
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind))
            == Some(io::ErrorKind::BrokenPipe)
    })
}
