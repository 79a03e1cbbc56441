//! `bpfcase completions SHELL` and `bpfcase man`: shell completions and man
//! pages generated from the clap definition itself (clap_complete,
//! clap_mangen), so they never drift from the flags the binary takes.
//! `just install` puts both under a PREFIX.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::Result;

use crate::error::{InputError, WriteOutput};

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write bpfcase.1 and one page per command (bpfcase-analyze.1, ...) into
    /// DIR instead of printing bpfcase.1 on standard output.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Writes the completion script for `args.shell` to standard output.
pub fn completions(args: &CompletionsArgs, mut cmd: clap::Command) -> Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "bpfcase", &mut buf);
    let mut out = std::io::stdout().lock();
    out.write_all(&buf).out()?;
    out.flush().out()?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the man page(s).
pub fn man(args: &ManArgs, cmd: clap::Command) -> Result<ExitCode> {
    let Some(dir) = &args.dir else {
        let buf = man_page(cmd, "bpfcase").out()?;
        let mut out = std::io::stdout().lock();
        out.write_all(&buf).out()?;
        out.flush().out()?;
        return Ok(ExitCode::SUCCESS);
    };
    let write = |name: String, page: clap::Command, command: &str| -> Result<()> {
        let path = dir.join(format!("{name}.1"));
        let buf = man_page(page, command).out()?;
        crate::output_file::write(&path, &buf)
            .map_err(|e| InputError::new(path.display().to_string(), None, e))?;
        Ok(())
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| InputError::new(dir.display().to_string(), None, e))?;
    let mut cmd = cmd;
    cmd.build();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // The page's name is how it is invoked: `bpfcase-analyze`.
        let name = format!("bpfcase-{}", sub.get_name());
        // clap names are `&'static str` (without its `string` feature); a
        // handful of short names leaked by a command that exits right after.
        let page = sub.clone().name(&*Box::leak(name.clone().into_boxed_str()));
        write(name, page, sub.get_name())?;
    }
    write("bpfcase".to_string(), cmd, "bpfcase")?;
    Ok(ExitCode::SUCCESS)
}

/// One man page: clap_mangen's sections (NAME, SYNOPSIS, DESCRIPTION,
/// OPTIONS, COMMANDS, VERSION), then EXAMPLES, verbatim (`.nf`: no fill, no
/// hyphenation), and EXIT STATUS, both from the convention table's row for
/// `command`. clap's after-help text, which holds the same examples for
/// `--help`, is not rendered (clap_mangen would reflow it under "EXTRA").
pub fn man_page(cmd: clap::Command, command: &str) -> std::io::Result<Vec<u8>> {
    let conv = crate::cli::conventions::of(command);
    let has_args = cmd
        .get_arguments()
        .any(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"));
    let has_subs = cmd.get_subcommands().any(|s| !s.is_hide_set());
    let has_version = cmd.get_version().is_some();
    let man = clap_mangen::Man::new(cmd);
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    if has_args {
        man.render_options_section(&mut buf)?;
    }
    if has_subs {
        man.render_subcommands_section(&mut buf)?;
    }
    if let Some(conv) = conv {
        buf.extend_from_slice(b".SH EXAMPLES\n.nf\n");
        for e in conv.examples {
            buf.extend_from_slice(roff_verbatim(e).as_bytes());
            buf.push(b'\n');
        }
        buf.extend_from_slice(b".fi\n.SH \"EXIT STATUS\"\n");
        for (code, what) in conv.exit_codes {
            let line = format!(".TP\n{code}\n{}\n", roff_verbatim(what));
            buf.extend_from_slice(line.as_bytes());
        }
    }
    if has_version {
        man.render_version_section(&mut buf)?;
    }
    Ok(buf)
}

/// A line of text as roff prints it back unchanged: a backslash as `\e`,
/// `-` as `\-` (a hyphen-minus to paste, not a typographic hyphen), quotes
/// as `\(aq`/`\(ga`, and `\&` before a leading `.` or `'` (a request).
pub fn roff_verbatim(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    if line.starts_with('.') || line.starts_with('\'') {
        out.push_str("\\&");
    }
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '\'' => out.push_str("\\(aq"),
            '`' => out.push_str("\\(ga"),
            '~' => out.push_str("\\(ti"),
            '^' => out.push_str("\\(ha"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::roff_verbatim;

    #[test]
    fn roff_keeps_a_command_line_as_typed() {
        assert_eq!(
            roff_verbatim("cat a.tar | bpfcase analyze - # `x` 'y'"),
            "cat a.tar | bpfcase analyze \\- # \\(gax\\(ga \\(aqy\\(aq"
        );
        assert_eq!(roff_verbatim(".x\\y"), "\\&.x\\ey");
    }
}
