//! `diff` of bundles: which dumps to compare (a map's consecutive snapshots,
//! or its main dump in two bundles), reading them and each map's BTF from
//! the bundle, and the report with one diff per pair.
//!
//! A dump that is missing, unreadable or fails its SHA-256 check costs only
//! the pairs it is in: they carry the problem, naming `bundle!path`, and
//! every other pair is still diffed. Only a bundle that cannot be opened or
//! walked at all is an error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use miette::Result;

use super::pair_report;
use crate::analyses::dump_diff::{match_maps, Unpaired};
use crate::bundle::{Manifest, MapRecord, SnapshotRecord};
use crate::commands::decode::{types_by_id, MapTypes};
use crate::ingest::btf::TypeId;
use crate::ingest::bundle::{btf_files, with_btf, Bundle};
use crate::model::dump::MapDump;
use crate::model::map::MapType;
use crate::report::dump_diff::{BundleDiffReport, PairMap, PairOut, UnmatchedOut};

/// Largest BTF member read into memory (as `analyze` allows).
const MAX_MEMBER: u64 = 1 << 30;

/// What was read from one bundle: the wanted dumps, and the key/value types
/// of the wanted maps.
struct BundleRead {
    /// The bundle as given (for `bundle!path` names).
    name: String,
    manifest: Manifest,
    /// Dumps by bundle path; `Err` says why the member cannot be used.
    dumps: HashMap<String, Result<MapDump, String>>,
    /// Types by map id; absent for a map without BTF (hex only), `Err`
    /// when its BTF could not be used.
    types: HashMap<u32, Result<MapTypes, String>>,
}

impl BundleRead {
    /// Reads the dumps at `dump_paths` and lays out the key and value types
    /// of the maps `map_ids` from the bundle's BTF; one pass over the bundle.
    fn read(mut bundle: Bundle, dump_paths: &HashSet<String>, map_ids: &[u32]) -> Result<Self> {
        let name = bundle.name.clone();
        let records: Vec<MapRecord> = map_ids
            .iter()
            .filter_map(|id| bundle.manifest.maps.iter().find(|m| m.id == *id).cloned())
            .collect();
        // Only the BTF these maps need is kept (vmlinux is ~6 MB and rarely a base).
        let btf_paths: HashSet<String> = records
            .iter()
            .filter(|r| r.btf_id != 0)
            .flat_map(|r| btf_files(&bundle.manifest, r.btf_id))
            .collect();
        let mut dumps: HashMap<String, Result<MapDump, String>> = HashMap::new();
        let mut blobs: HashMap<String, Vec<u8>> = HashMap::new();
        let (mismatches, missing) = bundle.for_each_file(&mut |p, r| {
            let dump = dump_paths.contains(p);
            if !dump && !btf_paths.contains(p) {
                return Ok(());
            }
            if dump {
                // collect's dumps are bpftool `-j` JSON, parsed as they
                // stream out of the bundle (never held whole as text);
                // problems inside (a cut, a bad entry, a read error) are
                // kept in the dump and reported with its diff.
                let parsed = crate::ingest::bpftool_json::read_dump_here(r);
                dumps.insert(p.to_string(), Ok(parsed));
                return Ok(());
            }
            let mut buf = Vec::new();
            if r.take(MAX_MEMBER).read_to_end(&mut buf).is_err() {
                // If the archive itself is broken, the walk stops with an
                // error after this; else the BTF is reported as not read.
                return Ok(());
            }
            blobs.insert(p.to_string(), buf);
            Ok(())
        })?;
        let manifest = std::mem::take(&mut bundle.manifest);
        let mut bad_btf: HashMap<String, String> = HashMap::new();
        for m in mismatches {
            let why = format!(
                "{name}!{}: SHA-256 {} does not match the manifest's {}: the file changed after collection",
                m.path, m.actual, m.expected
            );
            if dump_paths.contains(&m.path) {
                dumps.insert(m.path, Err(why));
            } else if blobs.remove(&m.path).is_some() {
                bad_btf.insert(m.path, why);
            }
        }
        for u in missing {
            let why = format!("{name}!{}: {}", u.path, u.why);
            if dump_paths.contains(&u.path) {
                dumps.insert(u.path, Err(why));
            } else {
                bad_btf.insert(u.path, why);
            }
        }
        if let Some(o) = &bundle.over_bound {
            for p in bundle.not_reached() {
                let why = format!(
                    "{name}!{p}: not read: reading of the compressed bundle stopped before it, at {} (larger than the manifest allows)",
                    o.path
                );
                if dump_paths.contains(p) {
                    dumps.insert(p.clone(), Err(why));
                } else {
                    bad_btf.insert(p.clone(), why);
                }
            }
        }
        for p in dump_paths {
            dumps.entry(p.clone()).or_insert_with(|| {
                Err(format!(
                    "{name}!{p}: not in the manifest's list of files, so not read"
                ))
            });
        }

        let mut types = HashMap::new();
        let mut by_btf: BTreeMap<u32, Vec<&MapRecord>> = BTreeMap::new();
        for r in &records {
            if r.btf_id != 0 && r.btf_key_type_id != 0 && r.btf_value_type_id != 0 {
                by_btf.entry(r.btf_id).or_default().push(r);
            }
        }
        for (btf_id, maps) in by_btf {
            // The one BTF object is parsed once for all its maps.
            let files = btf_files(&manifest, btf_id);
            if let Some(why) = files.iter().find_map(|f| bad_btf.get(f)) {
                for r in &maps {
                    types.insert(r.id, Err(why.clone()));
                }
                continue;
            }
            let file = format!("{name}!{}", files.first().map_or("", String::as_str));
            let resolved = with_btf(&manifest, &blobs, btf_id, |btf| {
                maps.iter()
                    .map(|r| (r.id, map_types(btf, &file, r)))
                    .collect::<Vec<_>>()
            });
            match resolved {
                Ok(list) => types.extend(list),
                Err(why) => {
                    for r in &maps {
                        types.insert(r.id, Err(format!("{name}!btf id {btf_id}: {why}")));
                    }
                }
            }
        }
        Ok(BundleRead {
            name,
            manifest,
            dumps,
            types,
        })
    }

    /// The dump at `path`, or why it cannot be used.
    fn dump(&self, path: &str) -> Result<&MapDump, String> {
        match self.dumps.get(path) {
            Some(Ok(d)) => Ok(d),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("{}!{path}: not read", self.name)),
        }
    }

    /// The map's types: `Ok(None)` without BTF, `Err` when its BTF is unusable.
    fn types(&self, map_id: u32) -> Result<Option<&MapTypes>, String> {
        match self.types.get(&map_id) {
            None => Ok(None),
            Some(Ok(t)) => Ok(Some(t)),
            Some(Err(why)) => Err(why.clone()),
        }
    }

    fn map(&self, id: u32) -> Option<&MapRecord> {
        self.manifest.maps.iter().find(|m| m.id == id)
    }
}

/// A map's key and value types from its BTF, checked against the map's
/// key and value sizes (a type of another size would decode nothing).
fn map_types(
    btf: &crate::ingest::btf::Btf<'_>,
    file: &str,
    r: &MapRecord,
) -> Result<MapTypes, String> {
    let mut t = types_by_id(
        btf,
        file,
        TypeId(r.btf_key_type_id),
        TypeId(r.btf_value_type_id),
    )
    .map_err(|e| e.to_string())?;
    for (what, ty, size) in [
        ("key", &t.key, r.key_size),
        ("value", &t.value, r.value_size),
    ] {
        if ty.ty.size() != size as u64 {
            return Err(format!(
                "{file}: the {what} type `{}` (type id {}) is {} bytes, but map {} has {size}-byte {what}s",
                ty.name,
                if what == "key" { r.btf_key_type_id } else { r.btf_value_type_id },
                ty.ty.size(),
                r.id
            ));
        }
    }
    t.map_name = Some(r.name.clone());
    t.map_type = MapType::from_name(&r.map_type);
    t.max_entries = Some(r.max_entries);
    Ok(t)
}

/// One side of a pair: which bundle, which dump, which map.
struct Side<'a> {
    bundle: &'a BundleRead,
    dump: &'a str,
    map_id: u32,
    label: String,
}

/// Diffs the two dumps of a pair; problems (a dump that cannot be used, BTF
/// that cannot) are kept on the pair instead of stopping the command.
fn pair_out(name: &str, old: Side<'_>, new: Side<'_>) -> PairOut {
    let mut problems = Vec::new();
    let old_types = side_types(&old, &mut problems);
    let new_types = side_types(&new, &mut problems);
    let diff = match (old.bundle.dump(old.dump), new.bundle.dump(new.dump)) {
        (Ok(o), Ok(n)) => Some(pair_report(
            format!("{}!{}", old.bundle.name, old.dump),
            format!("{}!{}", new.bundle.name, new.dump),
            o,
            n,
            old_types,
            new_types,
        )),
        (o, n) => {
            problems.extend(o.err());
            problems.extend(n.err());
            None
        }
    };
    PairOut {
        map: PairMap {
            name: name.to_string(),
            old_id: old.map_id,
            new_id: new.map_id,
        },
        old: old.label,
        new: new.label,
        problems,
        diff,
    }
}

/// A side's map types; an unusable BTF is noted once in `problems`.
fn side_types<'a>(s: &Side<'a>, problems: &mut Vec<String>) -> Option<&'a MapTypes> {
    match s.bundle.types(s.map_id) {
        Ok(t) => t,
        Err(why) => {
            let why = format!("{why}; keys and values are shown as hex");
            if !problems.contains(&why) {
                problems.push(why);
            }
            None
        }
    }
}

/// `diff BUNDLE`: each map's consecutive snapshots (seq 0 → 1, 1 → 2, …;
/// a missing seq is skipped over, and the labels say which were compared).
pub fn diff_snapshots(path: &Path) -> Result<BundleDiffReport> {
    let bundle = Bundle::open(path)?;
    if bundle.manifest.snapshots.is_empty() {
        return Err(miette::miette!(
            "{} has no snapshots (collect --snapshots N); give two bundles or two dumps",
            bundle.name
        ));
    }
    let mut by_map: BTreeMap<u32, Vec<&SnapshotRecord>> = BTreeMap::new();
    for s in &bundle.manifest.snapshots {
        by_map.entry(s.map_id).or_default().push(s);
    }
    for list in by_map.values_mut() {
        list.sort_by_key(|s| s.seq);
    }
    // Each map with two snapshots or more, and its snapshots in order.
    let compared: Vec<(u32, Vec<SnapshotRecord>)> = by_map
        .iter()
        .filter(|(_, list)| list.len() >= 2)
        .map(|(&id, list)| (id, list.iter().map(|s| (*s).clone()).collect()))
        .collect();
    let mut unmatched = Vec::new();
    for m in bundle.manifest.maps.iter().filter(|m| m.dump.is_some()) {
        let why = match by_map.get(&m.id).map(Vec::as_slice) {
            None | Some([]) => "no snapshots of this map (it was not dumped again)".to_string(),
            Some([only]) => format!("only snapshot {}: nothing to compare it with", only.seq),
            Some(_) => continue,
        };
        unmatched.push(UnmatchedOut {
            name: m.name.clone(),
            id: m.id,
            side: "old",
            why,
        });
    }
    let dump_paths: HashSet<String> = compared
        .iter()
        .flat_map(|(_, seqs)| seqs.iter().map(|s| s.dump.clone()))
        .collect();
    let ids: Vec<u32> = compared.iter().map(|(id, _)| *id).collect();
    let read = BundleRead::read(bundle, &dump_paths, &ids)?;
    let mut pairs = Vec::new();
    for (id, seqs) in &compared {
        let name = read.map(*id).map_or("?", |m| m.name.as_str());
        for w in seqs.windows(2) {
            let [a, b] = [&w[0], &w[1]].map(|s| Side {
                bundle: &read,
                dump: s.dump.as_str(),
                map_id: *id,
                label: format!("snapshot {} ({})", s.seq, s.time),
            });
            pairs.push(pair_out(name, a, b));
        }
    }
    Ok(BundleDiffReport {
        old: read.name.clone(),
        new: None,
        pairs,
        unmatched,
    })
}

fn as_refs(v: &[(u32, String)]) -> Vec<(u32, &str)> {
    v.iter().map(|(id, n)| (*id, n.as_str())).collect()
}

/// `diff OLD NEW` of two bundles: each map's main dump, the maps paired by
/// [`match_maps`] (same id and name, else a name alone on each side).
pub fn diff_bundles(old_path: &Path, new_path: &Path) -> Result<BundleDiffReport> {
    let old = Bundle::open(old_path)?;
    let new = Bundle::open(new_path)?;
    let dumped = |b: &Bundle| -> Vec<(u32, String, String)> {
        let mut v: Vec<_> = b
            .manifest
            .maps
            .iter()
            .filter_map(|m| Some((m.id, m.name.clone(), m.dump.clone()?)))
            .collect();
        v.sort();
        v
    };
    let (old_maps, new_maps) = (dumped(&old), dumped(&new));
    let keys = |v: &[(u32, String, String)]| -> Vec<(u32, String)> {
        v.iter().map(|(id, n, _)| (*id, n.clone())).collect()
    };
    let (old_keys, new_keys) = (keys(&old_maps), keys(&new_maps));
    let (mut matches, unpaired) = match_maps(&as_refs(&old_keys), &as_refs(&new_keys));
    matches.sort_by(|a, b| {
        (&old_maps[a.old].1, old_maps[a.old].0).cmp(&(&old_maps[b.old].1, old_maps[b.old].0))
    });
    let (old_name, new_name) = (old.name.clone(), new.name.clone());
    let mut unmatched: Vec<UnmatchedOut> = unpaired
        .iter()
        .map(|u| {
            let (side, (id, name, _)) = if u.old_side {
                ("old", &old_maps[u.index])
            } else {
                ("new", &new_maps[u.index])
            };
            let (other, other_maps) = if u.old_side {
                (&new_name, &new_maps)
            } else {
                (&old_name, &old_maps)
            };
            let ids = |list: &[u32]| {
                list.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let why = match &u.why {
                Unpaired::NoSuchName => format!("{other} has no dumped map named {name}"),
                Unpaired::OthersPairedById => {
                    let same: Vec<u32> = other_maps
                        .iter()
                        .filter(|m| &m.1 == name)
                        .map(|m| m.0)
                        .collect();
                    format!(
                        "the maps named {name} in {other} (id {}) are paired with the same ids here; this is another instance",
                        ids(&same)
                    )
                }
                Unpaired::Ambiguous { old_ids, new_ids } => format!(
                    "maps named {name} left after pairing by id: {} in {old_name} (id {}), {} in {new_name} (id {}); which is which cannot be told",
                    old_ids.len(),
                    ids(old_ids),
                    new_ids.len(),
                    ids(new_ids)
                ),
            };
            UnmatchedOut {
                name: name.clone(),
                id: *id,
                side,
                why,
            }
        })
        .collect();
    unmatched.sort_by(|a, b| (&a.name, a.side, a.id).cmp(&(&b.name, b.side, b.id)));

    let wanted = |maps: &[(u32, String, String)], pick: &dyn Fn(usize) -> bool| {
        let chosen: Vec<usize> = (0..maps.len()).filter(|&i| pick(i)).collect();
        let paths: HashSet<String> = chosen.iter().map(|&i| maps[i].2.clone()).collect();
        let ids: Vec<u32> = chosen.iter().map(|&i| maps[i].0).collect();
        (paths, ids)
    };
    let (old_paths, old_ids) = wanted(&old_maps, &|i| matches.iter().any(|m| m.old == i));
    let (new_paths, new_ids) = wanted(&new_maps, &|i| matches.iter().any(|m| m.new == i));
    let old_read = BundleRead::read(old, &old_paths, &old_ids)?;
    let new_read = BundleRead::read(new, &new_paths, &new_ids)?;
    let label = |r: &BundleRead| format!("{} ({})", r.name, r.manifest.created);
    let pairs = matches
        .iter()
        .map(|m| {
            let (oid, name, odump) = &old_maps[m.old];
            let (nid, _, ndump) = &new_maps[m.new];
            pair_out(
                name,
                Side {
                    bundle: &old_read,
                    dump: odump,
                    map_id: *oid,
                    label: label(&old_read),
                },
                Side {
                    bundle: &new_read,
                    dump: ndump,
                    map_id: *nid,
                    label: label(&new_read),
                },
            )
        })
        .collect();
    Ok(BundleDiffReport {
        old: old_read.name.clone(),
        new: Some(new_read.name.clone()),
        pairs,
        unmatched,
    })
}
