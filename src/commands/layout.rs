//! `bpfcase layout FILE [TYPE..]`: lays out structs and unions from BTF.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use miette::{IntoDiagnostic, Result};

use super::inputs::{parse_btf, read_btf_file};
use crate::error::InputError;
use crate::ingest::btf::{Btf, BtfError, BtfKind, TypeId};
use crate::model::from_btf::BtfLayouts;
use crate::model::layout::Layout;
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
    /// Raw BTF (e.g. /sys/kernel/btf/vmlinux) or an ELF object with a .BTF section.
    pub file: PathBuf,
    /// Struct or union names; none means every named struct and union.
    pub types: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LayoutFormat::Text)]
    pub format: LayoutFormat,
    /// Base BTF for split BTF (a module's BTF over vmlinux).
    #[arg(long, value_name = "FILE")]
    pub base: Option<PathBuf>,
}

pub fn run(args: &LayoutArgs) -> Result<ExitCode> {
    let base_data = match &args.base {
        Some(p) => Some((p, read_btf_file(p)?)),
        None => None,
    };
    let base = match &base_data {
        Some((p, d)) => Some(parse_btf(p, d, None)?),
        None => None,
    };
    let data = read_btf_file(&args.file)?;
    let btf = parse_btf(&args.file, &data, base.as_ref())?;
    let name = args.file.display().to_string();
    let mut engine = BtfLayouts::new(&btf);

    let ids: Vec<TypeId> = if args.types.is_empty() {
        btf.local_kinds()
            .filter(|(_, k)| matches!(k, BtfKind::Struct | BtfKind::Union))
            .filter(|(id, _)| btf.type_by_id(*id).is_ok_and(|t| !t.name.is_empty()))
            .map(|(id, _)| id)
            .collect()
    } else {
        let mut ids = Vec::new();
        for wanted in &args.types {
            let found: Vec<TypeId> = btf
                .all_types()
                .filter(|t| {
                    t.name == wanted.as_str()
                        && matches!(t.kind, BtfKind::Struct | BtfKind::Union | BtfKind::Typedef)
                })
                .filter(|t| t.kind != BtfKind::Typedef || engine.layout(t.id).is_ok())
                .map(|t| t.id)
                .collect();
            if found.is_empty() {
                return Err(InputError::new(
                    &name,
                    None,
                    format!("no struct, union or typedef of one named `{wanted}`"),
                )
                .into());
            }
            ids.extend(found);
        }
        ids
    };

    // Lay out and render on every core: each worker has its own engine (and
    // cache) over a contiguous run of ids; outputs are joined in id order.
    let workers = if ids.len() >= 512 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    } else {
        1
    };
    let chunk = ids.len().div_ceil(workers).max(1);
    let format = args.format;
    let rendered: Vec<Result<Vec<u8>, InputError>> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let (btf, name) = (&btf, &name);
                s.spawn(move || render_chunk(btf, name, part, format, i == 0))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("layout worker panicked"))
            .collect()
    });

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if format == LayoutFormat::Summary {
        // Each worker returned its partial totals; merge them.
        let mut total = crate::model::layout::LayoutStats::default();
        for part in rendered {
            let part: crate::model::layout::LayoutStats =
                serde_json::from_slice(&part?).into_diagnostic()?;
            total.merge(part);
        }
        render::write_summary(&mut out, &name, &total).into_diagnostic()?;
        out.flush().into_diagnostic()?;
        return Ok(ExitCode::SUCCESS);
    }
    if format == LayoutFormat::Json {
        out.write_all(b"[").into_diagnostic()?;
    }
    for part in rendered {
        out.write_all(&part?).into_diagnostic()?;
    }
    if format == LayoutFormat::Json {
        out.write_all(b"]\n").into_diagnostic()?;
    }
    out.flush().into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
}

/// Lays out `ids` and renders them into a buffer.
fn render_chunk(
    btf: &Btf<'_>,
    file: &str,
    ids: &[TypeId],
    format: LayoutFormat,
    first: bool,
) -> Result<Vec<u8>, InputError> {
    let mut engine = BtfLayouts::new(btf);
    let mut layouts: Vec<(String, Arc<Layout>)> = Vec::with_capacity(ids.len());
    for &id in ids {
        let at = |e: BtfError| {
            InputError::at_offset(
                file,
                e.offset().map(|o| o as u64),
                format!("type {id}: {e}"),
            )
        };
        let t = btf.type_by_id(id).map_err(at)?;
        let layout = engine.layout(id).map_err(at)?;
        // A typedef of an anonymous struct is printed under the typedef's name.
        let shown = if t.kind == BtfKind::Typedef && layout.name.is_empty() {
            t.name.to_string()
        } else {
            layout.name.clone()
        };
        layouts.push((shown, layout));
    }
    let mut buf = Vec::with_capacity(ids.len() * 512);
    let written = match format {
        LayoutFormat::Text => render::write_text(&mut buf, &layouts),
        LayoutFormat::Json => render::write_json_items(&mut buf, &layouts, first),
        LayoutFormat::Summary => {
            let stats = crate::model::layout::LayoutStats::of(
                layouts.iter().map(|(n, l)| (n.as_str(), &**l)),
            );
            serde_json::to_writer(&mut buf, &stats).map_err(std::io::Error::from)
        }
    };
    written.map_err(|e| InputError::new(file, None, e))?;
    // The process exits right after printing: freeing ~100k layout nodes one by
    // one would cost more than laying them out.
    std::mem::forget(layouts);
    std::mem::forget(engine);
    Ok(buf)
}
