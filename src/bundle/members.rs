//! A bundle's members by kind, and the size cap each kind is read under.
//!
//! A member's kind comes from the manifest's records (a BTF record's
//! `path`, a map's `dump`, a snapshot's `dump`, the trace's `path`); its cap
//! from [`crate::limits`]. The reader checks the size a member declares
//! (its tar header, its directory entry, the manifest's recorded size)
//! against its cap before reading any of it.

use std::collections::HashMap;

use super::Manifest;
use crate::limits;

/// What a bundle member holds, as far as how much of it may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// `manifest.json`.
    Manifest,
    /// A raw BTF blob (`btf/…`), read whole.
    Btf,
    /// The bpf() call trace, parsed in one piece.
    Trace,
    /// A map dump or snapshot, streamed (never held whole).
    Dump,
    /// Anything else the manifest lists: only hashed.
    Other,
}

impl MemberKind {
    /// The most bytes a member of this kind may declare, and the name of
    /// that limit (for messages).
    pub fn cap(self) -> (u64, &'static str) {
        match self {
            MemberKind::Manifest => (limits::MAX_MANIFEST_BYTES, "limits::MAX_MANIFEST_BYTES"),
            MemberKind::Btf => (limits::MAX_BTF_BYTES, "limits::MAX_BTF_BYTES"),
            MemberKind::Trace => (limits::MAX_FILE_BYTES, "limits::MAX_FILE_BYTES"),
            MemberKind::Dump | MemberKind::Other => {
                (limits::MAX_BUNDLE_BYTES, "limits::MAX_BUNDLE_BYTES")
            }
        }
    }

    /// What a member of this kind is called in messages.
    pub fn what(self) -> &'static str {
        match self {
            MemberKind::Manifest => "a manifest",
            MemberKind::Btf => "a BTF blob",
            MemberKind::Trace => "a trace",
            MemberKind::Dump => "a map dump",
            MemberKind::Other => "a bundle member",
        }
    }

    /// Why a member of `size` bytes is not read, when that is over its
    /// cap (`from` says where the size was read: "its tar header
    /// declares"); `None` within it.
    pub fn over_cap(self, size: u64, from: &str) -> Option<String> {
        let (cap, limit) = self.cap();
        (size > cap).then(|| {
            format!(
                "{from} {size} bytes, over the {cap}-byte cap for {} ({limit}): not read",
                self.what()
            )
        })
    }
}

/// Every member the manifest gives a kind to, by bundle path (the rest are
/// [`MemberKind::Other`]).
pub fn member_kinds(m: &Manifest) -> HashMap<String, MemberKind> {
    let mut kinds = HashMap::new();
    kinds.insert("manifest.json".to_string(), MemberKind::Manifest);
    for r in &m.maps {
        if let Some(d) = &r.dump {
            kinds.insert(d.clone(), MemberKind::Dump);
        }
    }
    for s in &m.snapshots {
        kinds.insert(s.dump.clone(), MemberKind::Dump);
    }
    if let Some(t) = &m.trace {
        kinds.insert(t.path.clone(), MemberKind::Trace);
    }
    // BTF last: a blob also listed as something else is still read whole.
    for b in &m.btf {
        kinds.insert(b.path.clone(), MemberKind::Btf);
    }
    kinds
}
