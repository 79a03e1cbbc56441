//! Every dump check at once: what `bpfcase decode --check` and `analyze` run
//! on one map dump.

use crate::analyses::{dump_capacity, dump_padding, dump_walk};
use crate::model::dump::MapDump;
use crate::model::finding::{Finding, MapRef};
use crate::model::layout::Layout;
use crate::model::map::MapType;

/// What is known about the dumped map besides its entries.
#[derive(Debug, Clone, Default)]
pub struct DumpContext<'a> {
    /// The dump file as the user named it (for `input/unreadable`, sources).
    pub file: &'a str,
    pub map: Option<MapRef>,
    /// Key and value layouts when they are structs or unions.
    pub key: Option<&'a Layout>,
    pub value: Option<&'a Layout>,
    pub map_type: Option<MapType>,
    pub max_entries: Option<u32>,
}

/// Runs padding, duplicate-key, map-full and truncation checks.
pub fn check_dump(dump: &MapDump, ctx: &DumpContext<'_>) -> Vec<Finding> {
    let mut out = dump_walk::check_truncated(dump, ctx.file, ctx.map.clone());
    out.extend(dump_padding::check_padding(
        dump,
        ctx.key,
        ctx.value,
        ctx.map.clone(),
    ));
    out.extend(dump_walk::check_duplicate_keys(dump, ctx.map.clone()));
    if let (Some(t), Some(max)) = (ctx.map_type, ctx.max_entries) {
        out.extend(dump_capacity::check_map_full(dump, t, max, ctx.map.clone()));
    }
    out
}
