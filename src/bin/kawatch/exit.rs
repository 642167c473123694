//! Exit statuses, distinct for each kind of failure so that scripts and CI
//! can tell them apart (documented in docs/report-contract.md).

use anyhow::Error;
use kawatch::capture::CaptureError;
use kawatch::run::RunError;
use kawatch::sockets::SocketsError;
use std::path::Path;
use std::process::ExitCode;

/// Every check held; the report was written.
pub(crate) const OK: u8 = 0;
/// `kawatch check`: a rule failed.
pub(crate) const RULE_FAILED: u8 = 1;
/// The arguments are wrong: an unknown option, a bad value or filter, no
/// such interface (clap uses 2 for its own errors too).
pub(crate) const USAGE: u8 = 2;
/// An input cannot be read: missing, not a capture, compressed, damaged
/// before its first frame, of a link type kawatch does not decode.
pub(crate) const INPUT: u8 = 3;
/// Not allowed: to capture, or to enter a network namespace.
pub(crate) const PERMISSION: u8 = 4;
/// Anything else: the output could not be written, the kernel's socket
/// listing failed.
pub(crate) const FAILURE: u8 = 5;
/// Ctrl-C (or SIGTERM, SIGHUP) came before anything was read, or cut a
/// checked file short (as a shell reports SIGINT: 128 + 2).
pub(crate) const INTERRUPTED: u8 = 130;

/// A wrong argument, said in words that say what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Usage(pub(crate) String);

/// A usage error as an [`anyhow::Error`].
pub(crate) fn usage(msg: impl Into<String>) -> Error {
    Error::new(Usage(msg.into()))
}

/// Errors stderr has had as they came (inputs that could not be read, the
/// others read on): the last line sums them up, with the first's status.
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub(crate) struct AlreadySaid {
    /// What the last line says.
    pub(crate) summary: String,
    /// The first of them.
    pub(crate) first: Error,
}

impl AlreadySaid {
    /// `unread` of `all` inputs could not be read, each said on stderr as
    /// it came; `first` is the first of their errors.
    pub(crate) fn inputs(unread: usize, all: usize, first: Error) -> AlreadySaid {
        AlreadySaid {
            summary: if unread == all {
                format!("none of the {all} inputs could be read (said above)")
            } else {
                format!("{unread} of {all} inputs could not be read (said above)")
            },
            first,
        }
    }
}

/// The exit status for `e`, and the line stderr gets.
pub(crate) fn status_of(e: &Error) -> (u8, String) {
    if let Some(u) = e.downcast_ref::<Usage>() {
        return (USAGE, format!("kawatch: error: {u}"));
    }
    if let Some(said) = e.downcast_ref::<AlreadySaid>() {
        return (status_of(&said.first).0, format!("kawatch: error: {said}"));
    }
    let mut message = format!("kawatch: error: {e:#}");
    let code = match capture_error(e) {
        Some(interrupted @ CaptureError::Interrupted { .. }) => {
            return (INTERRUPTED, format!("kawatch: {interrupted}"));
        }
        Some(CaptureError::BadFilter { filter, .. }) => {
            if let Some(file) = filter.split_whitespace().find(|w| Path::new(w).is_file()) {
                message.push_str(&format!(
                    "\nkawatch: {file:?} is a file, read here as a word of the filter: after -r \
                     FILE or -i IF the words that follow are the filter (as tcpdump's); give each \
                     capture its own -r, or name the captures with no -r"
                ));
            }
            USAGE
        }
        Some(CaptureError::NoSuchInterface { .. }) => USAGE,
        Some(CaptureError::Permission { .. }) => PERMISSION,
        Some(
            CaptureError::Unreadable { .. }
            | CaptureError::NotACapture { .. }
            | CaptureError::Compressed { .. }
            | CaptureError::UnsupportedLink { .. }
            | CaptureError::DamagedAtStart { .. }
            | CaptureError::Truncated { .. }
            | CaptureError::Damaged { .. }
            | CaptureError::InPiece { .. }
            | CaptureError::PieceUnread { .. },
        ) => INPUT,
        Some(CaptureError::Pcap { .. }) | None => match e
            .chain()
            .find_map(|c| c.downcast_ref::<SocketsError>())
        {
            Some(SocketsError::Netns { reason, .. }) if reason.contains("needs root") => PERMISSION,
            Some(SocketsError::Netns { reason, .. })
                if reason.contains("no such namespace")
                    || reason.contains("not a network namespace") =>
            {
                USAGE
            }
            _ => {
                if e.chain().any(is_permission) {
                    PERMISSION
                } else {
                    FAILURE
                }
            }
        },
    };
    (code, message)
}

/// The capture error in `e`'s chain: its own, or one a run passed on
/// (transparently: its own source is the capture error's source).
pub(crate) fn capture_error(e: &Error) -> Option<&CaptureError> {
    e.chain().find_map(|c| {
        c.downcast_ref::<CaptureError>()
            .or(match c.downcast_ref::<RunError>() {
                Some(RunError::Capture(c)) => Some(c),
                _ => None,
            })
    })
}

/// Whether an error in the chain is the OS saying "not permitted".
fn is_permission(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
}

/// Ends with `e`'s status, having said why.
pub(crate) fn fail(e: &Error) -> ExitCode {
    let (code, message) = status_of(e);
    to_stderr!("{message}");
    ExitCode::from(code)
}
