//! `bpfcase layout FILE [TYPE..]`: lays out structs and unions from BTF.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::Result;

use super::output::{OutputArgs, ReportFormatName};
use crate::engine::layouts;
use crate::engine::type_source::BtfFile;
use crate::error::WriteOutput;
use crate::model::layout::LayoutStats;
use crate::report::escape::terminal;
use crate::report::layout as render;

/// Output format of `layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutFormat {
    /// pahole-like text with holes and padding called out.
    Text,
    /// A JSON array, one object per type.
    Json,
    /// Totals over all types: holes, padding, packing, and the types that
    /// waste the most bytes.
    Summary,
}

#[derive(Debug, clap::Args)]
pub struct LayoutArgs {
    /// Raw BTF (e.g. /sys/kernel/btf/vmlinux) or an ELF object with a .BTF section (`-`: standard input).
    pub file: PathBuf,
    /// Struct, union or data section (`.rodata`, `.bss`) names; none means
    /// every named struct and union.
    pub types: Vec<String>,
    /// Output format [default: text, or as -o's extension says].
    #[arg(long, value_enum)]
    pub format: Option<LayoutFormat>,
    /// Base BTF for split BTF (a module's BTF over vmlinux).
    #[arg(long, value_name = "FILE")]
    pub base: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl ReportFormatName for LayoutFormat {
    const DEFAULT: Self = LayoutFormat::Text;
}

pub fn run(args: &LayoutArgs) -> Result<ExitCode> {
    let format = args.out.format(args.format)?;
    // Before any thread starts (parsing may use one): the workers' arenas
    // should come up ready for huge pages.
    crate::worker_heap::reserve_thread_arenas();
    let source = BtfFile::open(&args.file, args.base.as_deref())?;
    let name = source.name().to_string();
    let done = source.with_btf(|btf| -> Result<String> {
        let pieces = layouts::pieces(btf, &name, &args.types)?;
        if format == LayoutFormat::Summary {
            // Each piece's totals, merged.
            let parts = layouts::lay_out(
                btf,
                &name,
                &pieces,
                |_| LayoutStats::default(),
                |s, n, l| {
                    s.add(n, l);
                    Ok(())
                },
            );
            let mut total = LayoutStats::default();
            for part in parts {
                total.merge(part?);
            }
            let mut out = args.out.open()?;
            render::write_summary(&mut out, &name, &total).out()?;
            out.finish().out()?;
            return Ok(format!("layout summary of {}", terminal(&name)));
        }
        let json = format == LayoutFormat::Json;
        // Each piece rendered into a buffer; JSON items each with a leading
        // comma, the very first one's dropped below.
        let capacity = |n: usize| Vec::with_capacity(n * 512);
        let parts = layouts::lay_out(btf, &name, &pieces, capacity, |buf, n, l| {
            if json {
                buf.push(b',');
                render::write_json_item(buf, n, l)
            } else {
                render::write_text_one(buf, n, l)
            }
        });
        let parts: Vec<Vec<u8>> = parts.into_iter().collect::<Result<_, _>>()?;
        let mut out = args.out.open()?;
        if json {
            out.write_all(b"[").out()?;
        }
        let mut leading_comma = json;
        for part in &parts {
            let part = match part.split_first() {
                Some((b',', rest)) if leading_comma => {
                    leading_comma = false;
                    rest
                }
                _ => &part[..],
            };
            out.write_all(part).out()?;
        }
        if json {
            out.write_all(b"]\n").out()?;
        }
        out.finish().out()?;
        Ok(format!("layouts of {}", terminal(&name)))
    })??;
    args.out.done(&done);
    // The process exits right after this: unmapping 5.5 MB of vmlinux here
    // would only delay that.
    std::mem::forget(source);
    Ok(ExitCode::SUCCESS)
}
