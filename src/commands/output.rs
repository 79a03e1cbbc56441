//! Where a command's report goes and how it looks there: `-o FILE` (`-` is
//! stdout), the format inferred from FILE's extension, `-q`, `--color`, and
//! the terminal width. Shared by every command that writes a report, so
//! they all take the same flags and behave alike (ripgrep's `HiArgs`: the
//! flags are validated by clap; here they meet the environment).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use miette::Result;

use crate::error::{InputError, WriteOutput};
use crate::output_file::{Destination, OutputFile};
pub use crate::report::{findings_summary, plural, TextStyle};

/// `-o`, `-q` and `--color`, flattened into every command that writes a report.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// Write the report to FILE (`-` is standard output). Without --format,
    /// the format follows FILE's extension.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing on stderr when the report goes to a file (no summary line).
    #[arg(short, long)]
    pub quiet: bool,
    /// Colour in terminal text: auto (only on a terminal; NO_COLOR turns it
    /// off, CLICOLOR_FORCE or FORCE_COLOR on), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR force it.
    #[default]
    Auto,
    Always,
    Never,
}

/// Width when neither `COLUMNS` nor a terminal says (a pipe, a file).
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, wrapped text would be mostly indentation.
const MIN_WIDTH: usize = 40;

impl ColorChoice {
    /// Whether to colour output that goes to a terminal (`tty`) or not,
    /// reading the conventional variables through `env`.
    pub fn resolve(self, tty: bool, env: impl Fn(&str) -> Option<String>) -> bool {
        let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
        let forced = |name: &str| env(name).is_some_and(|v| !v.is_empty() && v != "0");
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // no-color.org: any non-empty NO_COLOR wins over the forcing
            // variables, which themselves win over "not a terminal".
            ColorChoice::Auto if set("NO_COLOR") => false,
            ColorChoice::Auto if forced("CLICOLOR_FORCE") || forced("FORCE_COLOR") => true,
            ColorChoice::Auto => tty,
        }
    }
}

/// The width to lay text out for: `COLUMNS` when set to a number, else the
/// terminal's when stdout is one, else [`DEFAULT_WIDTH`].
pub fn text_width(to_stdout: bool, env: impl Fn(&str) -> Option<String>) -> usize {
    if let Some(n) = env("COLUMNS").and_then(|v| v.trim().parse::<usize>().ok()) {
        if n > 0 {
            return n.max(MIN_WIDTH);
        }
    }
    if to_stdout {
        if let Some(n) = terminal_columns(libc::STDOUT_FILENO) {
            return n.max(MIN_WIDTH);
        }
    }
    DEFAULT_WIDTH
}

/// The width to wrap an error message to: `COLUMNS` when set to a number,
/// else the terminal's when stderr is one, else no wrapping at all. An error
/// that goes to a log or a pipe keeps each sentence on one line, so it can be
/// searched for whatever the length of the paths in it.
pub fn error_width(env: impl Fn(&str) -> Option<String>) -> usize {
    if let Some(n) = env("COLUMNS").and_then(|v| v.trim().parse::<usize>().ok()) {
        if n > 0 {
            return n.max(MIN_WIDTH);
        }
    }
    terminal_columns(libc::STDERR_FILENO).map_or(UNWRAPPED, |n| n.max(MIN_WIDTH))
}

/// A width no message reaches: text laid out to it is not wrapped.
const UNWRAPPED: usize = 1 << 20;

/// Columns of the terminal on `fd` (`TIOCGWINSZ`), if it is one.
fn terminal_columns(fd: libc::c_int) -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; a
    // failure (not a terminal) leaves it zeroed and returns -1.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A report format a command can write, named as on the command line.
pub trait ReportFormatName: clap::ValueEnum + Copy {
    /// The format without `--format` and without a telling `-o` extension.
    const DEFAULT: Self;
}

impl OutputArgs {
    /// The file to write, `None` for a stream (no `-o`, `-o -`,
    /// `/dev/stdout`, `/dev/stderr`, `/dev/null`).
    pub fn file(&self) -> Option<&Path> {
        let p = self.output.as_deref()?;
        matches!(Destination::of(p), Destination::File(_)).then_some(p)
    }

    /// `--format` when given, else the format `-o FILE`'s extension names,
    /// else the command's default. An extension naming a format this
    /// command cannot write is an error rather than a file whose name lies.
    pub fn format<F: ReportFormatName>(&self, given: Option<F>) -> Result<F> {
        if let Some(f) = given {
            return Ok(f);
        }
        let Some(file) = self.file() else {
            return Ok(F::DEFAULT);
        };
        let lower = file.to_string_lossy().to_ascii_lowercase();
        let named = crate::cli::conventions::FORMATS.iter().find(|f| {
            f.extensions
                .iter()
                .any(|e| lower.ends_with(&format!(".{e}")))
        });
        let Some(format) = named else {
            // No extension (`crate::cli` refused any other before the
            // command ran): the default.
            return Ok(F::DEFAULT);
        };
        F::from_str(format.name, true).map_err(|_| {
            let names: Vec<String> = F::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value())
                .map(|v| v.get_name().to_string())
                .collect();
            crate::error::usage(
                format!(
                    "{}: this command cannot write {}",
                    file.display(),
                    format.name
                ),
                format!("it writes {}; give --format", names.join(", ")),
            )
        })
    }

    /// Width and colour for terminal text going where `-o` says.
    pub fn style(&self) -> TextStyle {
        let to_stdout = self.file().is_none();
        let tty = to_stdout && std::io::stdout().is_terminal();
        TextStyle {
            width: text_width(to_stdout, env_var),
            color: self.color.resolve(tty, env_var),
            verbose: false,
        }
    }

    /// Opens where the report goes: the `-o` file (through the one output
    /// opener: a temporary renamed into place by [`Output::finish`]) or a
    /// stream.
    pub fn open(&self) -> Result<Output> {
        let dest = self
            .output
            .as_deref()
            .map_or(Destination::Stdout, Destination::of);
        Ok(match dest {
            Destination::File(p) => {
                let f = OutputFile::create(&p)
                    .map_err(|e| InputError::new(p.display().to_string(), None, e))?;
                Output::File(std::io::BufWriter::with_capacity(1 << 16, f))
            }
            Destination::Stdout => Output::Stream(Box::new(ReaderGone::new(
                std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
            ))),
            Destination::Stderr => Output::Stream(Box::new(std::io::stderr().lock())),
            Destination::Null => Output::Stream(Box::new(std::io::sink())),
        })
    }

    /// Writes `bytes` where the report goes; a file appears whole or not at
    /// all (a scraper or a reader never sees half a report).
    pub fn write_all(&self, bytes: &[u8]) -> Result<()> {
        let mut out = self.open()?;
        out.write_all(bytes).out()?;
        Ok(out.finish().out()?)
    }

    /// After the report was written to a file: the one-line summary on
    /// stderr (`3 findings (1 error, 2 warnings) → r.html`), unless `-q`.
    /// Nothing when the report went to stdout: it is the report itself.
    pub fn done(&self, summary: &str) {
        if self.quiet {
            return;
        }
        if let Some(p) = self.file() {
            eprintln!("{summary} → {}", p.display());
        }
    }
}

/// Where a report is being written: a file still under its temporary name
/// until [`finish`](Output::finish), or a stream.
pub enum Output {
    File(std::io::BufWriter<OutputFile>),
    Stream(Box<dyn Write>),
}

impl Output {
    /// Flushes, and puts a file in place: without this a file report is
    /// dropped (its temporary removed), never left half written.
    pub fn finish(self) -> std::io::Result<()> {
        match self {
            Output::File(w) => {
                let f = w.into_inner().map_err(|e| e.into_error())?;
                f.commit().map(drop)
            }
            Output::Stream(mut w) => w.flush(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::File(w) => w.write(buf),
            Output::Stream(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Output::File(w) => w.write_all(buf),
            Output::Stream(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::File(w) => w.flush(),
            Output::Stream(w) => w.flush(),
        }
    }
}

/// Standard output that a reader may close early (`… | head -1`): from the
/// first broken pipe on, writes are dropped instead of failing, so the
/// command still finishes its analysis and its exit status says what it
/// found, whoever closed first (a failure under `pipefail` stays a failure).
pub struct ReaderGone<W: Write> {
    inner: W,
    gone: bool,
}

impl<W: Write> ReaderGone<W> {
    pub fn new(inner: W) -> Self {
        ReaderGone { inner, gone: false }
    }

    fn absorb(&mut self, r: std::io::Result<()>) -> std::io::Result<()> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.gone = true;
                Ok(())
            }
            r => r,
        }
    }
}

impl<W: Write> Write for ReaderGone<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.gone {
            let r = self.inner.write_all(buf);
            self.absorb(r)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.gone {
            return Ok(());
        }
        let r = self.inner.flush();
        self.absorb(r)
    }
}

impl<W: Write> Drop for ReaderGone<W> {
    fn drop(&mut self) {
        // The BufWriter inside would flush on drop and ignore the error;
        // after a closed pipe there is nothing to flush to.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn color_auto_follows_the_terminal_and_the_variables() {
        let auto = ColorChoice::Auto;
        assert!(auto.resolve(true, env(&[])));
        assert!(!auto.resolve(false, env(&[])));
        assert!(!auto.resolve(true, env(&[("NO_COLOR", "1")])));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(auto.resolve(true, env(&[("NO_COLOR", "")])));
        assert!(auto.resolve(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(auto.resolve(false, env(&[("FORCE_COLOR", "3")])));
        assert!(!auto.resolve(false, env(&[("FORCE_COLOR", "0")])));
        assert!(!auto.resolve(false, env(&[("NO_COLOR", "1"), ("FORCE_COLOR", "1")])));
        assert!(ColorChoice::Always.resolve(false, env(&[("NO_COLOR", "1")])));
        assert!(!ColorChoice::Never.resolve(true, env(&[("FORCE_COLOR", "1")])));
    }

    #[test]
    fn width_from_columns_else_default_when_piped() {
        assert_eq!(text_width(false, env(&[("COLUMNS", "80")])), 80);
        assert_eq!(
            text_width(false, env(&[("COLUMNS", "junk")])),
            DEFAULT_WIDTH
        );
        assert_eq!(text_width(false, env(&[])), DEFAULT_WIDTH);
        assert_eq!(text_width(false, env(&[("COLUMNS", "10")])), MIN_WIDTH);
    }

    #[test]
    fn errors_wrap_at_columns_else_not_at_all_when_not_a_terminal() {
        assert_eq!(error_width(env(&[("COLUMNS", "80")])), 80);
        // The tests' stderr is a pipe or a file, not a terminal.
        if terminal_columns(libc::STDERR_FILENO).is_none() {
            assert_eq!(error_width(env(&[])), UNWRAPPED);
        }
    }

    #[test]
    fn a_closed_reader_drops_writes_instead_of_failing() {
        struct Closed(usize);
        impl Write for Closed {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::ErrorKind::BrokenPipe.into());
                }
                self.0 -= 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut w = ReaderGone::new(Closed(1));
        w.write_all(b"first").unwrap();
        w.write_all(b"second").unwrap();
        w.write_all(b"third").unwrap();
        assert!(w.gone);
        w.flush().unwrap();
    }

    #[test]
    fn plurals_and_summaries() {
        assert_eq!(plural(1, "entry", "entries"), "1 entry");
        assert_eq!(plural(2, "entry", "entries"), "2 entries");
        assert_eq!(plural(0, "map", "maps"), "0 maps");
        assert_eq!(findings_summary(0, 0, 0), "no findings");
        assert_eq!(
            findings_summary(1, 2, 0),
            "3 findings (1 error, 2 warnings)"
        );
        assert_eq!(findings_summary(0, 0, 1), "1 finding (1 info)");
    }
}
