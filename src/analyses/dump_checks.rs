//! Every dump check at once: what `bpfcase decode --check` and `analyze` run
//! on one map dump. [`DumpChecker`] takes the dump batch by batch as it is
//! parsed, so a dump of any size is checked without holding its entries:
//! what stays is counts, the first examples and the keys ([`KeyLog`]).

use crate::analyses::dump_padding::{PaddingCheck, Side};
use crate::analyses::{dump_capacity, dump_walk};
use crate::model::dump::{DumpForm, DumpTally, KeyLog, MapDump};
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
    let mut checker = DumpChecker::new(ctx.clone());
    checker.feed(dump);
    checker.finish().findings
}

/// A dump after its checks: the findings, and what later passes need.
#[derive(Debug)]
pub struct CheckedDump {
    pub findings: Vec<Finding>,
    /// Entries read.
    pub entries: usize,
    /// Its keys, for the trace replay (present keys after the trace);
    /// empty when the case has no trace that could use them.
    pub keys: KeyLog,
}

/// The checks of one dump, fed a batch of entries at a time in dump order.
pub struct DumpChecker<'a> {
    ctx: DumpContext<'a>,
    tally: DumpTally,
    keys: KeyLog,
    key_padding: Option<PaddingCheck<'a>>,
    value_padding: Option<PaddingCheck<'a>>,
}

impl<'a> DumpChecker<'a> {
    pub fn new(ctx: DumpContext<'a>) -> Self {
        DumpChecker {
            key_padding: ctx.key.map(|l| PaddingCheck::new(l, Side::Key)),
            value_padding: ctx.value.map(|l| PaddingCheck::new(l, Side::Value)),
            ctx,
            tally: DumpTally::new(DumpForm::Json),
            keys: KeyLog::new(DumpForm::Json),
        }
    }

    /// Checks the next entries of the dump (indexes in `batch` count from
    /// its first entry).
    pub fn feed(&mut self, batch: &MapDump) {
        let base = self.tally.entries;
        for check in [&mut self.key_padding, &mut self.value_padding]
            .into_iter()
            .flatten()
        {
            check.feed(batch, base);
        }
        self.keys.add(batch);
        self.tally.add(batch);
    }

    /// Entries fed so far.
    pub fn entries(&self) -> usize {
        self.tally.entries
    }

    /// The findings over everything fed.
    pub fn finish(self) -> CheckedDump {
        let map = self.ctx.map;
        let mut out = dump_walk::truncated(&self.tally, self.ctx.file, map.clone());
        for check in [self.key_padding, self.value_padding].into_iter().flatten() {
            out.extend(check.finish(&self.keys, map.clone()));
        }
        out.extend(dump_walk::duplicate_keys(&self.keys, map.clone()));
        if let (Some(t), Some(max)) = (self.ctx.map_type, self.ctx.max_entries) {
            out.extend(dump_capacity::map_full(self.tally.entries, t, max, map));
        }
        CheckedDump {
            findings: out,
            entries: self.tally.entries,
            keys: self.keys,
        }
    }
}
