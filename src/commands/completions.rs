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
    /// Write bpfcase.1 and one page per command (bpfcase-analyze.1, …) into
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
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut buf).out()?;
        let mut out = std::io::stdout().lock();
        out.write_all(&buf).out()?;
        out.flush().out()?;
        return Ok(ExitCode::SUCCESS);
    };
    let write = |name: String, page: clap::Command| -> Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page).render(&mut buf).out()?;
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
        write(name, page)?;
    }
    write("bpfcase".to_string(), cmd)?;
    Ok(ExitCode::SUCCESS)
}
