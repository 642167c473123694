//! The status line: source, replay speed and clock, packets, drops, flows,
//! and how the capture ended. Shortened when it does not fit.

use super::Theme;
use crate::tui::app::ViewState;
use crate::tui::feed::{FeedStatus, LocalStatus};
use crate::tui::fmt::{self, coarse};
use kawatch_core::Snapshot;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::path::Path;

pub(super) fn status_line(
    f: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
    t: Theme,
) {
    let mut line = Line::from(status_spans(snap, status, view, t, false));
    if line.width() > area.width as usize {
        line = Line::from(status_spans(snap, status, view, t, true));
    }
    f.render_widget(Paragraph::new(line), area);
}

fn status_spans(
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
    t: Theme,
    compact: bool,
) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let plural = |n: u64, one: &str, many: &str| {
        format!("{} {}", fmt::count(n), if n == 1 { one } else { many })
    };
    if view.paused {
        spans.push(Span::styled(
            " PAUSED ",
            t.warn().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
    }
    let sep = || Span::styled(" · ", t.dim());
    if status.live {
        spans.push(Span::styled(" live ", t.label()));
        let iface = status.source.trim_start_matches("interface:");
        spans.push(Span::raw(if compact {
            iface.to_string()
        } else {
            format!("{iface} ({})", status.link)
        }));
    } else {
        spans.push(Span::styled(" replay ", t.label()));
        let name = if status.source == "-" {
            "standard input".to_string()
        } else if compact {
            Path::new(&status.source)
                .file_name()
                .map_or_else(|| status.source.clone(), |n| n.to_string_lossy().into())
        } else {
            format!("{} ({})", status.source, status.link)
        };
        spans.push(Span::raw(name));
        spans.push(sep());
        spans.push(Span::raw(match status.speed {
            Some(s) => format!("{}×", speed(s)),
            None if compact => "max".into(),
            None => "full speed".into(),
        }));
        if let Some(first) = snap.first_ts {
            let clock = fmt::Clock::of(snap, &view.zone).at(snap.now);
            spans.push(sep());
            spans.push(Span::raw(if compact {
                clock
            } else {
                format!(
                    "clock {clock} (t+{})",
                    coarse(fmt::secs_between(snap.now, first))
                )
            }));
        }
    }
    if let Some(e) = &status.error {
        spans.push(sep());
        spans.push(Span::styled(format!("capture stopped: {e}"), t.error()));
    }
    spans.push(sep());
    let frames = snap.counters.frames;
    spans.push(Span::raw(if compact {
        plural(frames, "pkt", "pkts")
    } else {
        plural(frames, "packet", "packets")
    }));
    if let Some(d) = status.drops {
        spans.push(sep());
        let style = if d > 0 { t.warn() } else { Style::new() };
        let text = if compact {
            plural(d, "drop", "drops")
        } else {
            format!("{} dropped by kernel", fmt::count(d))
        };
        spans.push(Span::styled(text, style));
    }
    spans.push(sep());
    let n = snap.flows.len() as u64;
    spans.push(Span::raw(if compact {
        plural(n, "flow", "flows")
    } else {
        format!("{} tracked", plural(n, "flow", "flows"))
    }));
    match &status.local {
        Some(LocalStatus::Read { sockets, notes }) => {
            spans.push(sep());
            spans.push(Span::raw(plural(
                *sockets as u64,
                "local socket",
                "local sockets",
            )));
            if !notes.is_empty() {
                spans.push(Span::styled(
                    if compact {
                        " (≈ timer)"
                    } else {
                        " (some settings ≈ from the timer: run as root to read them)"
                    },
                    t.warn(),
                ));
            }
        }
        Some(LocalStatus::Failed(e)) => {
            spans.push(sep());
            spans.push(Span::styled(
                if compact {
                    "no socket data".to_owned()
                } else {
                    format!("no socket data: {e}")
                },
                t.warn(),
            ));
        }
        None => {}
    }
    // (As live: a replay's screen lets quiet flows go too.)
    let expired = snap.counters.expired;
    if expired > 0 {
        spans.push(sep());
        spans.push(Span::raw(if compact {
            format!("{} expired", fmt::count(expired))
        } else {
            let l = kawatch_core::Limits::default();
            format!(
                "{} expired (closed over {}, idle over {})",
                fmt::count(expired),
                coarse(l.closed_linger.as_secs_f64()),
                coarse(l.idle_timeout.as_secs_f64())
            )
        }));
    }
    let evicted = snap.counters.evicted;
    if evicted > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            if compact {
                format!("{} evicted", fmt::count(evicted))
            } else {
                format!("{} evicted (--max-flows)", fmt::count(evicted))
            },
            t.warn(),
        ));
    }
    let lost = snap.counters.keepalive_flows_lost;
    if lost > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            if compact {
                format!("{} lost", fmt::count(lost))
            } else {
                format!(
                    "{} keepalive {} lost (--max-retired)",
                    fmt::count(lost),
                    if lost == 1 { "flow" } else { "flows" }
                )
            },
            t.warn(),
        ));
    }
    if status.finished && !status.live {
        spans.push(sep());
        spans.push(Span::styled(
            if compact { "end" } else { "end of capture" },
            t.label(),
        ));
    }
    if status.warning.is_some() {
        spans.push(sep());
        spans.push(Span::styled(
            match (status.cut_off, compact) {
                (true, true) => "cut off",
                (true, false) => "input cut off mid-packet",
                (false, true) => "warning",
                (false, false) => "a warning, said on leaving",
            },
            t.warn(),
        ));
    }
    spans
}

/// A replay speed: `2`, `2.5`, `0.75`, or a fraction `1/64` below 1.
fn speed(x: f64) -> String {
    let inverse = 1.0 / x;
    if x < 1.0 && (inverse - inverse.round()).abs() < 1e-9 {
        format!("1/{}", inverse.round())
    } else {
        trim_float(x)
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds() {
        let cases = [
            (1.0, "1"),
            (2.5, "2.5"),
            (1024.0, "1024"),
            (0.5, "1/2"),
            (1.0 / 64.0, "1/64"),
            (0.75, "0.75"),
            (0.3, "0.3"),
        ];
        for (x, want) in cases {
            assert_eq!(speed(x), want, "{x}");
        }
    }
}
