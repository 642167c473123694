//! `--format csv`: one row per prober, and one for each flow without one.

use super::json::{flow as flow_report, Local};
use super::summary::micros;
use super::summary::SourceInfo;
use kawatch_core::{FlowView, ProberView};
use std::fmt::Display;
use std::io::{self, Write};

const HEADER: &str = "a,b,vlan,prober,probes_sent,probes_answered,zero_window_probes,idle_s,intvl_s,probes,outcome,likely_idle_s,likely_intvl_s,likely_probes,os_defaults,cadence_s,detection_s,first_probe,last_probe,partial,longest_silence_s,allowed_silence_s,heartbeats,path,probes_too_soon";

fn opt<T: Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes the header (unless `src` continues an earlier report) and one row
/// per prober; a flow without probers gets one row with the prober's
/// columns empty (its heartbeats and path verdicts still said). After the prober's columns come
/// its flow's: `partial`, then the silences and what keeps it alive
/// (`longest_silence_s`, `allowed_silence_s`, `heartbeats` as `side
/// protocol period_s count answered|unanswered` joined with `/`, `path` as
/// `name=verdict` joined with `/`; added last, so readers by position keep
/// working); then the prober's `probes_too_soon` (added last too, empty
/// for a flow without probers); when several inputs are read ([`SourceInfo::name_rows`]), a
/// last column naming each row's input (with `--merge`, the inputs its flow
/// was seen in, joined with `+`). Fields never contain commas (endpoints use
/// `[v6]:port`, lists are joined with `/`), so none are quoted, but a file
/// or path name with commas or quotes is quoted as RFC 4180 says.
pub fn write_csv(
    flows: impl Iterator<Item = FlowView>,
    src: &SourceInfo,
    local: Option<&Local<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if !src.continues {
        if src.name_rows {
            writeln!(out, "{HEADER},file")?;
        } else {
            writeln!(out, "{HEADER}")?;
        }
    }
    for f in flows {
        let report = flow_report(&f, local, src);
        let vlan: Vec<String> = f.vlan.ids().iter().map(u16::to_string).collect();
        let heartbeats: Vec<String> = report
            .heartbeats
            .iter()
            .map(|h| {
                format!(
                    "{} {} {} {} {}",
                    h.side,
                    h.protocol.as_str(),
                    h.period_s,
                    h.count,
                    if h.answered { "answered" } else { "unanswered" }
                )
            })
            .collect();
        let path: Vec<String> = report
            .path
            .iter()
            .map(|p| format!("{}={}", p.name, p.verdict))
            .collect();
        let flow_cells = format!(
            "{},{},{},{},{}",
            f.partial,
            report.silence.longest_s,
            opt(report.silence.allowed_s),
            heartbeats.join("/"),
            quote(&path.join("/")),
        );
        let probers: Vec<Option<&ProberView>> = if f.probers.is_empty() {
            vec![None]
        } else {
            f.probers.iter().map(Some).collect()
        };
        for p in probers {
            write!(
                out,
                "{},{},{},{},{flow_cells},{}",
                f.a,
                f.b,
                vlan.join("/"),
                p.map_or_else(|| ",".repeat(15), prober_cells),
                opt(p.map(|p| p.probes_too_soon)),
            )?;
            if src.name_rows {
                writeln!(out, ",{}", quote(&src.row_name(f.inputs)))?;
            } else {
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// A prober's 16 columns, `prober` to `last_probe`.
fn prober_cells(p: &ProberView) -> String {
    let secs = |v: Option<f64>| opt(v.map(micros));
    let ts = |v: Option<crate::Timestamp>| opt(v.map(|t| micros(t.as_secs_f64())));
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        p.endpoint,
        p.probes_sent,
        p.probes_answered,
        p.zero_window_probes,
        secs(p.idle_s),
        secs(p.intvl_s),
        opt(p.probes),
        p.outcome.as_str(),
        opt(p.likely.idle_s),
        opt(p.likely.intvl_s),
        opt(p.likely.probes),
        p.os_defaults.join("/"),
        secs(p.cadence_s),
        secs(p.detection_s),
        ts(p.first_probe),
        ts(p.last_probe),
    )
}

/// A field as RFC 4180 writes it: quoted when it holds a comma, a quote or
/// a line break, its quotes doubled.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}
