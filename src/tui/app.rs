//! View state, and the [`Action`]s that change it: applied in one place,
//! [`ViewState::apply`]. [`ViewState::sync`] derives the visible rows (sorted,
//! filtered, each with its state) from a snapshot; rendering only reads them.

use jiff::tz::TimeZone;
use kawatch_core::status::{self, State};
use kawatch_core::{Endpoint, Vlan};
use kawatch_core::{FlowView, PathTimeout, Snapshot};
use std::cmp::Ordering;

/// What identifies a connection across snapshots.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FlowId {
    /// Endpoint A.
    pub a: Endpoint,
    /// Endpoint B.
    pub b: Endpoint,
    /// VLAN tags.
    pub vlan: Vlan,
}

impl FlowId {
    /// The id of a flow.
    pub fn of(f: &FlowView) -> FlowId {
        FlowId {
            a: f.a,
            b: f.b,
            vlan: f.vlan,
        }
    }
}

/// What the table is sorted by.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum SortKey {
    /// What needs attention first: dead, overdue, probing, reset, alive, ...
    #[default]
    State,
    /// Observed keepalive idle, shortest first; flows without probes last.
    Idle,
    /// Most recent activity first.
    Activity,
    /// Endpoint A, then B.
    Endpoint,
}

impl SortKey {
    /// The next key in the cycle.
    pub fn next(self) -> SortKey {
        match self {
            SortKey::State => SortKey::Idle,
            SortKey::Idle => SortKey::Activity,
            SortKey::Activity => SortKey::Endpoint,
            SortKey::Endpoint => SortKey::State,
        }
    }

    /// Its name on screen.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::State => "state",
            SortKey::Idle => "idle",
            SortKey::Activity => "last activity",
            SortKey::Endpoint => "endpoint",
        }
    }
}

/// Something the user asked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Leave kawatch.
    Quit,
    /// Selection (or detail view) up one line.
    Up,
    /// Down one line.
    Down,
    /// Up one page.
    PageUp,
    /// Down one page.
    PageDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Sort by the next key.
    CycleSort,
    /// Reverse the sort order.
    ReverseSort,
    /// Start typing a filter.
    FilterStart,
    /// A character typed into the filter.
    FilterInput(char),
    /// Delete the filter's last character.
    FilterBackspace,
    /// Delete the whole filter text while typing.
    FilterErase,
    /// Keep the filter and stop typing.
    FilterAccept,
    /// Drop the filter (and stop typing).
    FilterClear,
    /// Open the detail view of the selected connection.
    OpenDetail,
    /// Back from the detail view.
    CloseDetail,
    /// Detail view: the next connection in the table.
    NextFlow,
    /// Detail view: the previous connection.
    PrevFlow,
    /// Pause or resume.
    TogglePause,
    /// Show or hide the help.
    ToggleHelp,
    /// All connections, or only those with keepalive probes.
    ToggleKeepaliveOnly,
    /// Narrow screen: hidden columns of lower priority into view.
    ColumnsRight,
    /// Back towards the columns of higher priority.
    ColumnsLeft,
    /// Replay twice as fast (then as fast as it reads).
    Faster,
    /// Replay half as fast.
    Slower,
    /// Replay again from the start of the capture.
    Restart,
    /// The next path timeout in focus (the survival mark's).
    CyclePath,
}

/// Where the table's columns can scroll from where they are, as the screen
/// last laid them out ([`render::column_steps`](crate::tui::render::column_steps)).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ColumnSteps {
    /// The scroll that brings the next hidden column into view.
    pub next: usize,
    /// The least scroll that shows the last column.
    pub max: usize,
}

/// What an action asks of the capture side (the feed), beside the view.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Request {
    /// Stop (true) or restart (false) the replay clock.
    Pause(bool),
    /// Replay at this speed; `None`: as fast as it reads.
    Speed(Option<f64>),
    /// Replay again from the start.
    Restart,
}

/// The slowest replay speed `-` reaches: 1/64 real time.
pub const SLOWEST: f64 = 1.0 / 64.0;

/// The fastest paced replay speed `+` reaches; past it, as fast as it reads.
pub const FASTEST: f64 = 1024.0;

/// Twice as fast, up to [`FASTEST`]; past it, as fast as it reads (`None`).
pub fn faster(speed: Option<f64>) -> Option<f64> {
    match speed {
        Some(s) if s < FASTEST => Some((s * 2.0).min(FASTEST)),
        _ => None,
    }
}

/// Half as fast, down to [`SLOWEST`]; from as fast as it reads, [`FASTEST`].
pub fn slower(speed: Option<f64>) -> Option<f64> {
    match speed {
        None => Some(FASTEST),
        Some(s) => Some((s / 2.0).max(SLOWEST.min(s))),
    }
}

/// A visible row: an index into the snapshot's flows and its state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RowRef {
    /// Index into `Snapshot::flows`.
    pub flow: usize,
    /// Its state at the snapshot's time.
    pub state: State,
}

/// Everything about the screen that is not the data.
#[derive(Clone, Debug)]
pub struct ViewState {
    /// Sort key.
    pub sort: SortKey,
    /// Reverse order.
    pub reverse: bool,
    /// Filter text (whitespace-separated terms, all must match).
    pub filter: String,
    /// Typing into the filter.
    pub editing: bool,
    /// Only connections with keepalive probes.
    pub keepalive_only: bool,
    /// The selected connection.
    pub selected: Option<FlowId>,
    /// Its position in `rows`.
    pub cursor: usize,
    /// First row shown.
    pub offset: usize,
    /// Table rows that fit on screen.
    pub page: usize,
    /// The connection the detail view shows.
    pub detail: Option<FlowId>,
    /// Detail view scroll, lines.
    pub detail_scroll: u16,
    /// Help overlay shown.
    pub help: bool,
    /// Help overlay scroll, lines (when it does not fit).
    pub help_scroll: u16,
    /// Narrow screen: how many of the optional columns, in priority order,
    /// are scrolled out of view to show those after them.
    pub hscroll: usize,
    /// Where they can scroll ([`ViewState::set_columns`]); `None` until the
    /// screen is laid out: one column a step.
    pub columns: Option<ColumnSteps>,
    /// A live capture (else a replay: speed and restart keys apply).
    pub live: bool,
    /// The replay can start again (a file; not standard input).
    pub restartable: bool,
    /// Replay speed, as last asked; `None`: as fast as it reads.
    pub speed: Option<f64>,
    /// Display frozen (and, in a replay, the clock stopped).
    pub paused: bool,
    /// Asked to quit.
    pub quit: bool,
    /// Colours allowed (`NO_COLOR` unset).
    pub color: bool,
    /// The time zone capture timestamps are shown in, each at the offset in
    /// force at its instant: the local zone, or UTC (`--utc`).
    pub zone: TimeZone,
    /// The path timeouts a connection's survival is judged against.
    pub paths: Vec<PathTimeout>,
    /// The one in focus, an index into `paths`: the table's mark and the
    /// detail view's picture are against it.
    pub path: usize,
    /// Visible rows, sorted and filtered (from [`ViewState::sync`]).
    pub rows: Vec<RowRef>,
    /// Connections per state rank, before filtering.
    pub counts: [usize; State::RANKS],
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState::new(true)
    }
}

impl ViewState {
    /// A fresh view: sorted by state, nothing selected, times in UTC, the
    /// default path timeouts ([`PathTimeout::defaults`]), the first in focus.
    pub fn new(color: bool) -> ViewState {
        ViewState {
            sort: SortKey::State,
            reverse: false,
            filter: String::new(),
            editing: false,
            keepalive_only: false,
            selected: None,
            cursor: 0,
            offset: 0,
            page: 10,
            detail: None,
            detail_scroll: 0,
            help: false,
            help_scroll: 0,
            hscroll: 0,
            columns: None,
            live: false,
            restartable: false,
            speed: None,
            paused: false,
            quit: false,
            color,
            zone: TimeZone::UTC,
            paths: PathTimeout::defaults(),
            path: 0,
            rows: Vec::new(),
            counts: [0; State::RANKS],
        }
    }

    /// The path timeout in focus; `None` when there are none.
    pub fn focused_path(&self) -> Option<&PathTimeout> {
        self.paths.get(self.path).or(self.paths.first())
    }

    /// Sets how many table rows fit, keeping the selection in view.
    pub fn set_page(&mut self, rows: usize) {
        self.page = rows.max(1);
        self.scroll_to_cursor();
    }

    /// Sets where the columns can scroll, as the screen lays them out now,
    /// keeping the scroll within it.
    pub fn set_columns(&mut self, steps: ColumnSteps) {
        self.hscroll = self.hscroll.min(steps.max);
        self.columns = Some(steps);
    }

    /// Recomputes the visible rows from `snap`, keeping the selected connection
    /// selected wherever it moved.
    pub fn sync(&mut self, snap: &Snapshot) {
        let terms: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut counts = [0; State::RANKS];
        self.rows.clear();
        let local = kawatch_core::SocketIndex::new(&snap.local);
        for (i, f) in snap.flows.iter().enumerate() {
            let st = status::state_with(f, snap.now, &local);
            counts[st.rank() as usize] += 1;
            if self.keepalive_only && f.probers.is_empty() {
                continue;
            }
            if !terms.is_empty() && !matches(f, st, &terms) {
                continue;
            }
            self.rows.push(RowRef { flow: i, state: st });
        }
        self.counts = counts;
        let sort = self.sort;
        let flows = &snap.flows;
        self.rows
            .sort_by(|x, y| compare(sort, &flows[x.flow], x.state, &flows[y.flow], y.state));
        if self.reverse {
            self.rows.reverse();
        }
        let found = self.selected.and_then(|id| {
            self.rows
                .iter()
                .position(|r| FlowId::of(&flows[r.flow]) == id)
        });
        match found {
            Some(i) => self.cursor = i,
            None => self.cursor = self.cursor.min(self.rows.len().saturating_sub(1)),
        }
        self.selected = self
            .rows
            .get(self.cursor)
            .map(|r| FlowId::of(&flows[r.flow]));
        self.scroll_to_cursor();
    }

    /// Applies an action; `snap` is the data on screen. Returns what it
    /// asks of the capture side, if anything.
    pub fn apply(&mut self, action: Action, snap: &Snapshot) -> Option<Request> {
        match action {
            Action::TogglePause => {
                self.paused = !self.paused;
                return Some(Request::Pause(self.paused));
            }
            Action::Faster | Action::Slower if !self.live => {
                let to = if action == Action::Faster {
                    faster(self.speed)
                } else {
                    slower(self.speed)
                };
                if to == self.speed {
                    return None;
                }
                self.speed = to;
                return Some(Request::Speed(to));
            }
            Action::Restart if !self.live && self.restartable => {
                // A frozen screen would hide the new start.
                self.paused = false;
                return Some(Request::Restart);
            }
            _ => self.apply_view(action, snap),
        }
        None
    }

    /// Applies an action that changes only the view.
    fn apply_view(&mut self, action: Action, snap: &Snapshot) {
        match action {
            Action::Quit => self.quit = true,
            Action::Up if self.help => self.help_scroll = self.help_scroll.saturating_sub(1),
            Action::Down if self.help => self.help_scroll = self.help_scroll.saturating_add(1),
            Action::PageUp if self.help => {
                self.help_scroll = self.help_scroll.saturating_sub(self.page as u16);
            }
            Action::PageDown if self.help => {
                self.help_scroll = self.help_scroll.saturating_add(self.page as u16);
            }
            Action::Top if self.help => self.help_scroll = 0,
            Action::Bottom if self.help => self.help_scroll = u16::MAX,
            Action::Up if self.detail.is_some() => {
                self.detail_scroll = self.detail_scroll.saturating_sub(1);
            }
            Action::Down if self.detail.is_some() => {
                self.detail_scroll = self.detail_scroll.saturating_add(1);
            }
            Action::PageUp if self.detail.is_some() => {
                self.detail_scroll = self.detail_scroll.saturating_sub(self.page as u16);
            }
            Action::PageDown if self.detail.is_some() => {
                self.detail_scroll = self.detail_scroll.saturating_add(self.page as u16);
            }
            Action::Top if self.detail.is_some() => self.detail_scroll = 0,
            Action::Bottom if self.detail.is_some() => self.detail_scroll = u16::MAX,
            Action::Up => self.move_cursor(snap, -1),
            Action::Down => self.move_cursor(snap, 1),
            Action::PageUp => self.move_cursor(snap, -(self.page as isize)),
            Action::PageDown => self.move_cursor(snap, self.page as isize),
            Action::Top => self.move_cursor(snap, isize::MIN / 2),
            Action::Bottom => self.move_cursor(snap, isize::MAX / 2),
            Action::CycleSort => {
                self.sort = self.sort.next();
                self.reverse = false;
                self.sync(snap);
            }
            Action::ReverseSort => {
                self.reverse = !self.reverse;
                self.sync(snap);
            }
            Action::FilterStart => self.editing = true,
            Action::FilterInput(c) => {
                self.filter.push(c);
                self.sync(snap);
            }
            Action::FilterBackspace => {
                self.filter.pop();
                self.sync(snap);
            }
            Action::FilterErase => {
                self.filter.clear();
                self.sync(snap);
            }
            Action::FilterAccept => self.editing = false,
            Action::FilterClear => {
                self.editing = false;
                self.filter.clear();
                self.sync(snap);
            }
            Action::OpenDetail => {
                if let Some(id) = self.selected {
                    self.detail = Some(id);
                    self.detail_scroll = 0;
                }
            }
            Action::CloseDetail => self.detail = None,
            Action::NextFlow | Action::PrevFlow => {
                let by = if action == Action::NextFlow { 1 } else { -1 };
                self.move_cursor(snap, by);
                if self.detail.is_some() {
                    self.detail = self.selected;
                    self.detail_scroll = 0;
                }
            }
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::ToggleKeepaliveOnly => {
                self.keepalive_only = !self.keepalive_only;
                self.sync(snap);
            }
            Action::ColumnsRight => {
                self.hscroll = self
                    .columns
                    .map_or(self.hscroll.saturating_add(1), |c| c.next);
            }
            Action::ColumnsLeft => self.hscroll = self.hscroll.saturating_sub(1),
            Action::CyclePath => self.path = (self.path + 1) % self.paths.len().max(1),
            // Asked of the capture side (`apply`); here, a live capture's.
            Action::TogglePause | Action::Faster | Action::Slower | Action::Restart => {}
        }
    }

    fn move_cursor(&mut self, snap: &Snapshot, by: isize) {
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() as isize - 1;
        self.cursor = (self.cursor as isize).saturating_add(by).clamp(0, last) as usize;
        self.selected = snap.flows.get(self.rows[self.cursor].flow).map(FlowId::of);
        self.scroll_to_cursor();
    }

    fn scroll_to_cursor(&mut self) {
        let len = self.rows.len();
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + self.page {
            self.offset = self.cursor + 1 - self.page;
        }
        // No empty space below the last row when rows would fill it.
        self.offset = self.offset.min(len.saturating_sub(self.page));
    }
}

fn matches(f: &FlowView, st: State, terms: &[String]) -> bool {
    let mut text = format!("{} {} {}", f.a, f.b, st.word());
    for id in f.vlan.ids() {
        text.push_str(&format!(" vlan{id} {id}"));
    }
    let text = text.to_lowercase();
    terms.iter().all(|t| text.contains(t.as_str()))
}

fn compare(sort: SortKey, x: &FlowView, xs: State, y: &FlowView, ys: State) -> Ordering {
    let by_endpoint = || (x.a, x.b, x.vlan).cmp(&(y.a, y.b, y.vlan));
    let idle = |f: &FlowView| {
        status::primary(f)
            .and_then(|i| f.probers[i].idle_s)
            .unwrap_or(f64::INFINITY)
    };
    let give_up = |f: &FlowView| {
        status::primary(f)
            .and_then(|i| f.probers[i].give_up_at)
            .map_or(i128::MAX, |(t, _)| t.0)
    };
    match sort {
        SortKey::State => xs
            .rank()
            .cmp(&ys.rank())
            .then_with(|| give_up(x).cmp(&give_up(y)))
            .then_with(by_endpoint),
        SortKey::Idle => idle(x)
            .total_cmp(&idle(y))
            .then_with(|| xs.rank().cmp(&ys.rank()))
            .then_with(by_endpoint),
        SortKey::Activity => status::last_activity(y)
            .0
            .cmp(&status::last_activity(x).0)
            .then_with(by_endpoint),
        SortKey::Endpoint => by_endpoint(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_steps_double_and_halve_within_bounds() {
        let cases: &[(Option<f64>, Option<f64>, Option<f64>)] = &[
            // (speed, after +, after -)
            (Some(1.0), Some(2.0), Some(0.5)),
            (Some(2.5), Some(5.0), Some(1.25)),
            (Some(512.0), Some(1024.0), Some(256.0)),
            (Some(1000.0), Some(1024.0), Some(500.0)),
            (Some(1024.0), None, Some(512.0)),
            (Some(5000.0), None, Some(2500.0)),
            (None, None, Some(1024.0)),
            (Some(1.0 / 32.0), Some(1.0 / 16.0), Some(1.0 / 64.0)),
            (Some(1.0 / 64.0), Some(1.0 / 32.0), Some(1.0 / 64.0)),
            (Some(0.01), Some(0.02), Some(0.01)),
        ];
        for &(s, up, down) in cases {
            assert_eq!(faster(s), up, "{s:?} +");
            assert_eq!(slower(s), down, "{s:?} -");
        }
    }

    fn empty() -> Snapshot {
        crate::tui::empty_snapshot()
    }

    #[test]
    fn replay_keys_ask_the_feed_live_ones_do_not() {
        let snap = empty();
        let mut replay = ViewState::new(false);
        replay.speed = Some(1.0);
        replay.restartable = true;
        assert_eq!(
            replay.apply(Action::Faster, &snap),
            Some(Request::Speed(Some(2.0)))
        );
        assert_eq!(
            replay.apply(Action::Slower, &snap),
            Some(Request::Speed(Some(1.0)))
        );
        assert_eq!(
            replay.apply(Action::TogglePause, &snap),
            Some(Request::Pause(true))
        );
        assert_eq!(replay.apply(Action::Restart, &snap), Some(Request::Restart));
        assert!(!replay.paused, "a restart resumes");
        replay.speed = Some(SLOWEST);
        assert_eq!(replay.apply(Action::Slower, &snap), None, "already slowest");
        let mut stdin = ViewState::new(false);
        assert_eq!(stdin.apply(Action::Restart, &snap), None, "cannot restart");
        let mut live = ViewState::new(false);
        live.live = true;
        assert_eq!(live.apply(Action::Faster, &snap), None);
        assert_eq!(live.apply(Action::Restart, &snap), None);
        assert_eq!(
            live.apply(Action::TogglePause, &snap),
            Some(Request::Pause(true))
        );
    }
}
