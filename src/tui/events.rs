//! Where the UI's input and time come from: [`EventSource`]. The terminal's
//! is `term::TtyEvents` (keys from crossterm, the wall clock);
//! a test's is a script of keys and waits on a clock of its own.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use std::io;
use std::time::Instant;

/// Something for the UI loop to act on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Input {
    /// A key was pressed.
    Key(KeyEvent),
    /// The screen changed size: draw again.
    Resize,
    /// The input is over (the terminal hung up, a signal asked kawatch to
    /// leave, a script ended): the UI returns.
    End,
}

/// Keys and time for [`run_with`](super::run_with).
pub trait EventSource {
    /// The time now, on the clock the UI's ticks (and, when
    /// [`stepped`](EventSource::stepped), a replay's pacing) follow.
    fn now(&self) -> Instant;

    /// The next input, waiting until `deadline` at most; `None` once it is
    /// reached (a tick: the screen is drawn again).
    fn next(&mut self, deadline: Instant) -> io::Result<Option<Input>>;

    /// Whether another input is already waiting; keys that come together
    /// are applied together and drawn once.
    fn pending(&mut self) -> io::Result<bool>;

    /// Whether [`now`](EventSource::now) moves only as this source says (a
    /// script with a clock of its own). Then a replay moves in step with it:
    /// before each screen is drawn, the replay has done exactly what is due
    /// by `now`, so a run depends on nothing but the script.
    fn stepped(&self) -> bool {
        false
    }

    /// The screen just drawn (a script may keep it; a terminal has it).
    fn shown(&mut self, _screen: &Buffer) {}
}
