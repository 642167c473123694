//! A check's result for people (text) and for CI systems (JUnit XML); JSON
//! is the [`CheckReport`] serialised.

use super::{CheckReport, Finding, Status};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::io::{self, Write};

/// The result in words: a line per rule, each failure and warning with the
/// flow, the requirement, the observed value and the limit, and a verdict.
pub fn write_text(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    for rule in &r.rules {
        let failed = rule
            .findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .count();
        let verdict = if failed == 0 { "ok  " } else { "FAIL" };
        writeln!(
            out,
            "{verdict} {}: {} flow{} matched, {} check{}, {failed} failed",
            rule.name,
            rule.flows_matched,
            plural(rule.flows_matched as usize),
            rule.findings.len(),
            plural(rule.findings.len())
        )?;
        for f in rule.findings.iter().filter(|f| f.status != Status::Pass) {
            let mark = if f.status == Status::Fail {
                "fail"
            } else {
                "warn"
            };
            writeln!(out, "     {mark} {}", describe(f))?;
        }
    }
    for w in &r.warnings {
        writeln!(out, "warning: {w}")?;
    }
    let failures = r.failures().count();
    let warnings = r.warnings().count();
    if r.interrupted {
        writeln!(
            out,
            "kawatch check: NOT PASSED: interrupted before the end of its input \
             ({failures} failure{} in {} rule{} over what was read)",
            plural(failures),
            r.rules.len(),
            plural(r.rules.len())
        )
    } else if r.passed {
        writeln!(
            out,
            "kawatch check: passed ({} rule{}{})",
            r.rules.len(),
            plural(r.rules.len()),
            if warnings > 0 {
                format!(", {warnings} warning{}", plural(warnings))
            } else {
                String::new()
            }
        )
    } else {
        writeln!(
            out,
            "kawatch check: FAILED ({failures} failure{} in {} rule{})",
            plural(failures),
            r.rules.len(),
            plural(r.rules.len())
        )
    }
}

/// One finding in a line: where, what, seen and limit.
fn describe(f: &Finding) -> String {
    let mut s = String::new();
    if let Some(flow) = &f.flow {
        s.push_str(flow);
        s.push_str(": ");
    }
    if let Some(p) = &f.prober {
        s.push_str(&format!("prober {p}: "));
    }
    s.push_str(&format!("{}: {}", f.requirement, f.message));
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The result as JUnit XML: a test suite per rule, a test case per flow and
/// requirement (failures as failures, warnings as passes with the warning in
/// their output).
pub fn write_junit(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let mut report = quick_junit::Report::new("kawatch check");
    for rule in &r.rules {
        let mut suite = TestSuite::new(rule.name.as_str());
        if !r.warnings.is_empty() {
            suite.set_system_out(format!("warning: {}", r.warnings.join("\nwarning: ")));
        }
        for f in &rule.findings {
            // `survives aws-nlb`: one case per path.
            let requirement = match &f.path {
                Some(path) => format!("{} {path}", f.requirement),
                None => f.requirement.clone(),
            };
            let name = match (&f.flow, &f.prober) {
                (Some(flow), Some(p)) => format!("{flow} [{p}]: {requirement}"),
                (Some(flow), None) => format!("{flow}: {requirement}"),
                (None, _) => requirement,
            };
            let mut status = match f.status {
                Status::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Status::Pass | Status::Warn => TestCaseStatus::success(),
            };
            status.set_message(f.message.as_str());
            let mut case = TestCase::new(name, status);
            case.set_classname(format!("kawatch.{}", rule.name));
            if f.status != Status::Fail {
                let prefix = if f.status == Status::Warn {
                    "warning: "
                } else {
                    ""
                };
                case.set_system_out(format!("{prefix}{}", f.message));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    if r.interrupted {
        // Every rule's cases speak only of what was read: one more, failed,
        // says the input was not read whole.
        let mut suite = TestSuite::new("input");
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(
            "interrupted before the end of its input: the rules covered only what was read",
        );
        let mut case = TestCase::new("read whole", status);
        case.set_classname("kawatch.input");
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    report.serialize(&mut *out).map_err(io::Error::other)?;
    writeln!(out)
}
