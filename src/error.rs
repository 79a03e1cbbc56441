//! The edge where typed parser errors meet the user: every error that stops a
//! command names the input and where in it the problem is.

use crate::model::finding::{Finding, Position};

/// An input that could not be read, with the place in it, and what to do.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{path}{}: {reason}", position_suffix(.position))]
#[diagnostic(code(bpfcase::input))]
pub struct InputError {
    pub path: String,
    pub position: Option<Position>,
    pub reason: String,
    /// The `help:` line; [`InputError::new`] gives the common ones (a
    /// missing file, no permission) and `crate::cli` a general one to the rest.
    #[help]
    pub help: Option<String>,
}

/// A usage error (exit 2) found after the arguments were parsed: the message, and the `help:`
/// line saying what to give instead. Rendered as every error is, with the
/// code `bpfcase::usage`.
pub fn usage(message: impl Into<String>, help: impl Into<String>) -> miette::Report {
    miette::Report::new(
        miette::MietteDiagnostic::new(message.into())
            .with_code("bpfcase::usage")
            .with_help(help.into()),
    )
}

/// The operating system's wording of an I/O failure, said plainly and
/// without `(os error N)`, with the help line that goes with it.
fn plain_io(reason: &str) -> (String, Option<&'static str>) {
    let bare = match reason.rfind(" (os error ") {
        Some(i) if reason.ends_with(')') => &reason[..i],
        _ => reason,
    };
    match bare {
        "No such file or directory" | "no such file or directory" | "entity not found" => (
            "no such file".to_string(),
            Some("check the path (relative to the current directory); `-` reads standard input"),
        ),
        "Permission denied" => (
            "permission denied".to_string(),
            Some("run as a user who can read it (collected files are 0600; sudo may be needed)"),
        ),
        "Is a directory" => ("a directory, not a file".to_string(), None),
        "Not a directory" => (
            "a path through something that is not a directory".to_string(),
            Some("check the path"),
        ),
        _ if bare.len() != reason.len() => {
            let mut c = bare.chars();
            let first = c.next().map(|f| f.to_lowercase().collect::<String>());
            (first.unwrap_or_default() + c.as_str(), None)
        }
        _ => (reason.to_string(), None),
    }
}

fn position_suffix(p: &Option<Position>) -> String {
    match p {
        Some(Position::Offset(o)) => format!(" at byte offset {o} (0x{o:x})"),
        Some(Position::Line(l)) => format!(":{l}"),
        None => String::new(),
    }
}

impl InputError {
    pub fn new(path: impl Into<String>, position: Option<Position>, reason: impl ToString) -> Self {
        let (reason, help) = plain_io(&reason.to_string());
        InputError {
            path: path.into(),
            position,
            // Reasons quote input text; a junk file's control bytes must
            // not reach the terminal raw.
            reason: printable(&reason).into_owned(),
            help: help.map(str::to_string),
        }
    }

    /// With this `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// At a byte offset.
    pub fn at_offset(path: impl Into<String>, offset: Option<u64>, reason: impl ToString) -> Self {
        Self::new(path, offset.map(Position::Offset), reason)
    }

    /// At a 1-based line.
    pub fn at_line(path: impl Into<String>, line: u32, reason: impl ToString) -> Self {
        Self::new(path, Some(Position::Line(line)), reason)
    }

    /// The same problem as an `input/unreadable` finding, for analyses that go on.
    pub fn to_finding(&self) -> Finding {
        Finding::unreadable(&self.path, self.position, &self.reason)
    }
}

/// `s` with control characters escaped (`\x1b`, `\x07`; newline and tab
/// kept) so that text quoted from a binary input cannot drive the
/// terminal: escape sequences, bells, backspaces. The rule lives with the
/// other output rules, in [`crate::report::escape::terminal_lines`].
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    crate::report::escape::terminal_lines(s)
}

/// Writing a command's output failed. Keeps the `io::Error` as its source
/// (miette's `into_diagnostic` would hide it) so the CLI can tell a closed
/// pipe, which counts as success, from a real failure.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write the output")]
#[diagnostic(code(bpfcase::output))]
pub struct OutputError(#[source] pub std::io::Error);

/// `.out()` on the result of a write to a command's output.
pub trait WriteOutput<T> {
    fn out(self) -> Result<T, OutputError>;
}

impl<T> WriteOutput<T> for std::io::Result<T> {
    fn out(self) -> Result<T, OutputError> {
        self.map_err(OutputError)
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain text\tok\n"), "plain text\tok\n");
        assert_eq!(printable("\x1b[31mred\x07"), "\\x1b[31mred\\x07");
        assert_eq!(printable("a\u{85}b"), "a\\x85b");
    }
}
