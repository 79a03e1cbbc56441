//! Many BTF layouts at once, for `bpfcase layout`: the types named (or
//! every named struct and union) cut into pieces, laid out on the worker
//! pool, each layout handed to the caller's renderer while it is still in
//! cache. No output format is known here.

use std::ops::Range;

use super::pool::Pool;
use super::type_source::btf::{aggregate_ids, type_error};
use crate::error::InputError;
use crate::ingest::btf::{Btf, BtfKind, TypeId};
use crate::ingest::btf_layout::BtfLayouts;
use crate::model::layout::Layout;

/// Named types per piece of work handed to a worker.
const ID_PIECE: usize = 256;
/// Type ids scanned per piece when laying out every named struct and union.
const RANGE_PIECE: u32 = 4096;
/// Most workers: past this, the pieces of vmlinux are too few to share.
const MAX_WORKERS: usize = 8;

/// A piece of work for a layout worker.
pub enum Piece {
    /// These ids (types named by the caller).
    Ids(Vec<TypeId>),
    /// Every named struct and union among these ids.
    Named(Range<u32>),
}

/// The pieces for `types` (struct, union, typedef of one, or data section
/// names), or for every named struct and union when `types` is empty.
/// `file` names the BTF in the error for a name it does not have.
pub fn pieces(btf: &Btf<'_>, file: &str, types: &[String]) -> Result<Vec<Piece>, InputError> {
    if types.is_empty() {
        // The workers find the named structs and unions themselves, in
        // ranges of ids: the scan reads every record, so it is worth
        // sharing out too.
        let (first, end) = (btf.first_local_id(), btf.type_count());
        return Ok((first..end)
            .step_by(RANGE_PIECE as usize)
            .map(|start| Piece::Named(start..end.min(start + RANGE_PIECE)))
            .collect());
    }
    let mut engine = BtfLayouts::new(btf);
    let mut ids = Vec::new();
    for wanted in types {
        let found = aggregate_ids(&mut engine, wanted, true);
        if found.is_empty() {
            return Err(InputError::new(
                file,
                None,
                format!("no struct, union, typedef of one, or data section named `{wanted}`"),
            ));
        }
        ids.extend(found);
    }
    Ok(ids
        .chunks(ID_PIECE)
        .map(|c| Piece::Ids(c.to_vec()))
        .collect())
}

/// Lays out every piece on the pool and hands each layout, with the name
/// it is shown under, to `each` with the piece's accumulator (made by
/// `init` from the number of types in the piece); the accumulators in piece order, i.e. id order. A piece whose
/// type cannot be laid out (or whose renderer fails) is that error.
///
/// Pieces go to whichever worker is free (how long one takes depends on
/// how many of its nested types are already cached); each worker keeps its
/// own layout engine and cache, on a spawned thread whose heap can take
/// huge pages (`crate::worker_heap`; call `reserve_thread_arenas` first).
pub fn lay_out<T: Send>(
    btf: &Btf<'_>,
    file: &str,
    pieces: &[Piece],
    init: impl Fn(usize) -> T + Sync,
    each: impl Fn(&mut T, &str, &Layout) -> std::io::Result<()> + Sync,
) -> Vec<Result<T, InputError>> {
    let workers = if pieces.len() >= 2 {
        crate::cores().min(MAX_WORKERS)
    } else {
        1
    };
    Pool::new(workers)
        .name("layout-worker")
        .map_with(
            pieces,
            || {
                crate::worker_heap::back_this_thread_with_huge_pages();
                // The process exits right after printing: freeing ~100k
                // layout nodes one by one would cost more than laying them out.
                std::mem::ManuallyDrop::new(BtfLayouts::new(btf))
            },
            |engine, piece| -> Result<T, InputError> {
                let named: Vec<TypeId>;
                let ids = match piece {
                    Piece::Ids(ids) => &ids[..],
                    Piece::Named(range) => {
                        named = btf
                            .local_kinds_in(range.clone())
                            .filter(|(_, k)| matches!(k, BtfKind::Struct | BtfKind::Union))
                            .filter(|(id, _)| btf.has_name(*id))
                            .map(|(id, _)| id)
                            .collect();
                        &named[..]
                    }
                };
                let mut acc = init(ids.len());
                lay_out_ids(engine, file, ids, &mut acc, &each)?;
                Ok(acc)
            },
        )
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|panic| {
                Err(InputError::new(
                    file,
                    None,
                    format!("{panic}; please report it"),
                ))
            })
        })
        .collect()
}

fn lay_out_ids<T>(
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    ids: &[TypeId],
    acc: &mut T,
    each: &impl Fn(&mut T, &str, &Layout) -> std::io::Result<()>,
) -> Result<(), InputError> {
    let btf = engine.btf();
    for &id in ids {
        let at = |e| type_error(file, &format!("type {id}"), &e);
        let (kind, _) = btf.kind_and_ref(id).map_err(at)?;
        let layout = engine.layout(id).map_err(at)?;
        // A typedef of an anonymous struct is shown under the typedef's name.
        let name = if kind == BtfKind::Typedef && layout.name.is_empty() {
            btf.type_by_id(id).map_err(at)?.name
        } else {
            &layout.name
        };
        each(acc, name, &layout).map_err(|e| InputError::new(file, None, e))?;
    }
    Ok(())
}
