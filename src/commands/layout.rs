//! `bpfcase layout FILE [TYPE..]`: lays out structs and unions from BTF.

use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use miette::{IntoDiagnostic, Result};

use super::output::{OutputArgs, ReportFormatName};
use crate::engine::inputs::{parse_btf, read_btf_file};
use crate::error::{InputError, WriteOutput};
use crate::ingest::btf::{BtfError, BtfKind, TypeId};
use crate::ingest::btf_layout::BtfLayouts;
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
    // Without TYPE: every named struct and union, found by the workers
    // themselves in ranges of ids (the scan reads every record, so it is
    // worth sharing out too).
    let named: Vec<TypeId>;
    let pieces: Vec<Piece> = if args.types.is_empty() {
        let (first, end) = (btf.first_local_id(), btf.type_count());
        (first..end)
            .step_by(RANGE_PIECE as usize)
            .map(|start| Piece::Named(start..end.min(start + RANGE_PIECE)))
            .collect()
    } else {
        let mut engine = BtfLayouts::new(&btf);
        let mut ids = Vec::new();
        for wanted in &args.types {
            let found: Vec<TypeId> = btf
                .all_types()
                .filter(|t| {
                    t.name == wanted.as_str()
                        && matches!(
                            t.kind,
                            BtfKind::Struct | BtfKind::Union | BtfKind::Typedef | BtfKind::Datasec
                        )
                })
                .filter(|t| t.kind != BtfKind::Typedef || engine.layout(t.id).is_ok())
                .map(|t| t.id)
                .collect();
            if found.is_empty() {
                return Err(InputError::new(
                    &name,
                    None,
                    format!("no struct, union, typedef of one, or data section named `{wanted}`"),
                )
                .into());
            }
            ids.extend(found);
        }
        named = ids;
        named.chunks(ID_PIECE).map(Piece::Ids).collect()
    };

    // Lay out and render on every core. Pieces go to whichever worker is
    // free (how long one takes depends on how many of its nested types are
    // already cached); each worker keeps its own engine and cache. Outputs
    // are joined in piece order, i.e. id order. Every worker is a spawned
    // thread, even the only one: its heap can then take huge pages, which
    // the main thread's cannot (see `worker_heap`).
    let workers = if pieces.len() >= 2 {
        crate::cores().min(8)
    } else {
        1
    };
    let next = AtomicUsize::new(0);
    let work = || {
        crate::worker_heap::back_this_thread_with_huge_pages();
        let mut engine = BtfLayouts::new(&btf);
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(piece) = pieces.get(i) else { break };
            let ids: Cow<[TypeId]> = match piece {
                Piece::Ids(ids) => Cow::Borrowed(ids),
                Piece::Named(range) => Cow::Owned(
                    btf.local_kinds_in(range.clone())
                        .filter(|(_, k)| matches!(k, BtfKind::Struct | BtfKind::Union))
                        .filter(|(id, _)| btf.has_name(*id))
                        .map(|(id, _)| id)
                        .collect(),
                ),
            };
            done.push((i, render_piece(&mut engine, &name, &ids, format)));
        }
        // The process exits right after printing: freeing ~100k layout
        // nodes one by one would cost more than laying them out.
        std::mem::forget(engine);
        done
    };
    let mut rendered: Vec<(usize, Result<Vec<u8>, InputError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
        let mut rendered = Vec::with_capacity(pieces.len());
        for h in handles {
            rendered.extend(h.join().expect("layout worker panicked"));
        }
        rendered
    });
    rendered.sort_unstable_by_key(|(i, _)| *i);
    let rendered = rendered.into_iter().map(|(_, r)| r);

    let mut out = args.out.open()?;
    if format == LayoutFormat::Summary {
        // Each worker returned its partial totals; merge them.
        let mut total = crate::model::layout::LayoutStats::default();
        for part in rendered {
            let part: crate::model::layout::LayoutStats =
                serde_json::from_slice(&part?).into_diagnostic()?;
            total.merge(part);
        }
        render::write_summary(&mut out, &name, &total).out()?;
        out.finish().out()?;
        args.out
            .done(&format!("layout summary of {}", terminal(&name)));
        // See below.
        std::mem::forget(btf);
        std::mem::forget(data);
        return Ok(ExitCode::SUCCESS);
    }
    if format == LayoutFormat::Json {
        out.write_all(b"[").out()?;
    }
    // JSON items each start with a comma; the very first one's is dropped.
    let mut leading_comma = format == LayoutFormat::Json;
    for part in rendered {
        let part = part?;
        let part = match part.split_first() {
            Some((b',', rest)) if leading_comma => {
                leading_comma = false;
                rest
            }
            _ => &part[..],
        };
        out.write_all(part).out()?;
    }
    if format == LayoutFormat::Json {
        out.write_all(b"]\n").out()?;
    }
    out.finish().out()?;
    args.out.done(&format!("layouts of {}", terminal(&name)));
    // The process exits right after this: unmapping 5.5 MB of vmlinux and
    // freeing its index here would only delay that.
    std::mem::forget(btf);
    std::mem::forget(data);
    Ok(ExitCode::SUCCESS)
}

/// Named types per piece of work handed to a layout worker.
const ID_PIECE: usize = 256;
/// Type ids scanned per piece when laying out every named struct and union.
const RANGE_PIECE: u32 = 4096;

/// A piece of work for a layout worker.
enum Piece<'i> {
    /// These ids (types named on the command line).
    Ids(&'i [TypeId]),
    /// Every named struct and union among these ids.
    Named(std::ops::Range<u32>),
}

/// Lays out `ids` and renders them into a buffer (JSON items each with a
/// leading comma, which `run` drops for the first). Each layout is rendered
/// or counted right after it is built, while it is still in cache.
fn render_piece(
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    ids: &[TypeId],
    format: LayoutFormat,
) -> Result<Vec<u8>, InputError> {
    let btf = engine.btf();
    let mut buf = match format {
        LayoutFormat::Summary => Vec::with_capacity(1024),
        _ => Vec::with_capacity(ids.len() * 512),
    };
    let mut stats = crate::model::layout::LayoutStats::default();
    for &id in ids {
        let at = |e: BtfError| {
            InputError::at_offset(
                file,
                e.offset().map(|o| o as u64),
                format!("type {id}: {e}"),
            )
        };
        let (kind, _) = btf.kind_and_ref(id).map_err(at)?;
        let layout = engine.layout(id).map_err(at)?;
        // A typedef of an anonymous struct is printed under the typedef's name.
        let name = if kind == BtfKind::Typedef && layout.name.is_empty() {
            btf.type_by_id(id).map_err(at)?.name
        } else {
            &layout.name
        };
        let written = match format {
            LayoutFormat::Text => render::write_text_one(&mut buf, name, &layout),
            LayoutFormat::Json => {
                buf.push(b',');
                render::write_json_item(&mut buf, name, &layout)
            }
            LayoutFormat::Summary => {
                stats.add(name, &layout);
                Ok(())
            }
        };
        written.map_err(|e| InputError::new(file, None, e))?;
    }
    if format == LayoutFormat::Summary {
        serde_json::to_writer(&mut buf, &stats).map_err(|e| InputError::new(file, None, e))?;
    }
    Ok(buf)
}
