//! One bundle → the small summary the fleet report needs: its host, its
//! findings counted per code, and each live map's definition (type, sizes,
//! max_entries, key and value layouts fingerprinted, program tags).
//! Bundles are analysed by the analyze pipeline itself
//! ([`crate::engine::analyze_bundle`]) on a bounded pool of
//! threads; each worker holds one bundle's analysis at a time and keeps only
//! this summary, so memory grows with the workers, not with the fleet.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::engine::analyze_bundle;
use crate::engine::pool::Pool;
use crate::model::case::{MapInstance, ScalarType};
use crate::model::finding::{Code, Severity};
use crate::model::layout::{FieldType, Layout};
use crate::report::fleet::TypeShape;
use crate::report::Summary;

/// What the fleet keeps of one bundle.
#[derive(Debug, Clone)]
pub struct BundleSummary {
    /// The bundle as named.
    pub path: String,
    /// The node's summary, or why the bundle could not be read.
    pub outcome: Result<NodeSummary, String>,
}

/// One readable bundle, summarised.
#[derive(Debug, Clone, Default)]
pub struct NodeSummary {
    pub host: String,
    pub kernel: String,
    pub created: String,
    /// Live maps (those with an id), in manifest order.
    pub maps: Vec<NodeMap>,
    /// Per code, in code order.
    pub findings: Vec<CodeCount>,
    pub counts: Summary,
}

/// One live map's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeMap {
    pub id: Option<u32>,
    pub name: String,
    pub map_type: Option<String>,
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    pub max_entries: Option<u32>,
    pub key: Option<TypeShape>,
    pub value: Option<TypeShape>,
    /// Tags of the programs using it, sorted, each once.
    pub prog_tags: Vec<String>,
    /// Whether a loaded program uses it.
    pub used: bool,
}

/// One finding code in one bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeCount {
    pub code: Code,
    pub count: usize,
    pub severity: Severity,
    pub maps: Vec<String>,
    pub title: String,
}

/// Summarises every bundle on at most `jobs` threads (the engine's
/// [`Pool`]); results in the order of `paths`.
pub fn summarise_all(paths: &[PathBuf], jobs: usize) -> Vec<BundleSummary> {
    Pool::new(jobs)
        .name("fleet-worker")
        // The main thread's stack size: an analysis walks nested types.
        .stack_size(8 << 20)
        .map(paths, |path| summarise(path))
        .into_iter()
        .zip(paths)
        .map(|(r, path)| {
            // `summarise` contains its own panics; this is for any other.
            r.unwrap_or_else(|_| BundleSummary {
                path: path.display().to_string(),
                outcome: Err(INTERNAL.into()),
            })
        })
        .collect()
}

/// What a bundle the analysis panicked on says.
const INTERNAL: &str = "bpfcase failed on this bundle (internal error); please report it";

/// Analyses one bundle and keeps its summary. A bundle the pipeline cannot
/// read, or (a bug) panics on, becomes an unreadable bundle; the fleet goes on.
pub fn summarise(path: &Path) -> BundleSummary {
    let name = path.display().to_string();
    let run = std::panic::catch_unwind(|| analyze_bundle(path));
    let outcome = match run {
        Ok(Ok(analysis)) => Ok(node_summary(&analysis)),
        Ok(Err(e)) => Err(error_text(&e)),
        Err(_) => Err(INTERNAL.into()),
    };
    BundleSummary {
        path: name,
        outcome,
    }
}

/// The error and its causes on one line.
fn error_text(e: &crate::engine::EngineError) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(c) = source {
        parts.push(c.to_string());
        source = c.source();
    }
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        // Wrappers often repeat their source's text.
        if !out.iter().any(|o| o.contains(&p)) {
            out.push(p);
        }
    }
    out.join(": ")
}

fn node_summary(a: &crate::engine::BundleAnalysis) -> NodeSummary {
    let m = a.manifest.as_ref();
    let tags: HashMap<u32, &str> = m
        .map(|m| {
            m.progs
                .iter()
                .filter(|p| !p.tag.is_empty())
                .map(|p| (p.id, p.tag.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let maps = a
        .maps
        .iter()
        .filter(|m| m.id.is_some())
        .map(|inst| node_map(inst, &tags))
        .collect();
    let mut by_code: BTreeMap<Code, CodeCount> = BTreeMap::new();
    let mut maps_of: BTreeMap<Code, BTreeSet<String>> = BTreeMap::new();
    for f in &a.report.findings {
        let c = by_code.entry(f.code).or_insert_with(|| CodeCount {
            code: f.code,
            count: 0,
            severity: f.severity,
            maps: Vec::new(),
            title: f.title.clone(),
        });
        c.count += 1;
        c.severity = c.severity.max(f.severity);
        if let Some(map) = &f.map {
            maps_of.entry(f.code).or_default().insert(map.name.clone());
        }
    }
    for (code, names) in maps_of {
        if let Some(c) = by_code.get_mut(&code) {
            c.maps = names.into_iter().collect();
        }
    }
    NodeSummary {
        host: m.map(|m| m.host.hostname.clone()).unwrap_or_default(),
        kernel: m.map(|m| m.host.kernel_release.clone()).unwrap_or_default(),
        created: m.map(|m| m.created.clone()).unwrap_or_default(),
        maps,
        findings: by_code.into_values().collect(),
        counts: a.report.summary,
    }
}

fn node_map(m: &MapInstance, tags: &HashMap<u32, &str>) -> NodeMap {
    let mut prog_tags: Vec<String> = m
        .prog_ids
        .iter()
        .filter_map(|id| tags.get(id).map(|t| t.to_string()))
        .collect();
    prog_tags.sort();
    prog_tags.dedup();
    NodeMap {
        id: m.id,
        name: m.name.clone(),
        map_type: m.map_type.map(|t| t.name()),
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        key: shape(m.key_layout.as_deref(), m.key_scalar.as_ref()),
        value: shape(m.value_layout.as_deref(), m.value_scalar.as_ref()),
        prog_tags,
        used: !m.prog_ids.is_empty(),
    }
}

/// The shape of a key or value type: a struct or union's layout, else the scalar.
fn shape(layout: Option<&Layout>, scalar: Option<&ScalarType>) -> Option<TypeShape> {
    if let Some(l) = layout {
        let mut canon = String::new();
        let mut budget = CANON_MEMBERS;
        canonical(&mut canon, l, 0, &mut budget);
        return Some(TypeShape {
            fingerprint: fingerprint(&canon),
            name: format!("{} ({} B)", l.display_name(), l.size),
            summary: layout_summary(l),
        });
    }
    let s = scalar?;
    let mut canon = String::new();
    let mut budget = CANON_MEMBERS;
    field_canonical(&mut canon, &s.ty, 0, &mut budget);
    let canon = format!("scalar {} {}", s.name, canon);
    Some(TypeShape {
        fingerprint: fingerprint(&canon),
        name: format!("{} ({} B)", s.name, s.ty.size()),
        summary: format!("{} ({} B)", s.name, s.ty.size()),
    })
}

/// Most members written into one canonical text (nested ones included):
/// bounds the work for types that repeat large structs many times.
const CANON_MEMBERS: usize = 1 << 14;
/// Deepest nesting followed.
const CANON_DEPTH: usize = 32;

fn fingerprint(canon: &str) -> String {
    let digest = Sha256::digest(canon.as_bytes());
    crate::bundle::hex(&digest[..8])
}

/// `struct flow_key 16 4 {saddr:__u32@0/32,…}`: everything that decides
/// where bytes go, nested types included.
fn canonical(out: &mut String, l: &Layout, depth: usize, budget: &mut usize) {
    let _ = write!(
        out,
        "{} {} {} {}{} {{",
        l.kind.as_str(),
        l.name,
        l.size,
        l.align(),
        if l.packed { " packed" } else { "" }
    );
    for m in &l.members {
        if *budget == 0 {
            out.push('…');
            break;
        }
        *budget -= 1;
        let bits = m.bit_size.map_or(m.size * 8, u64::from);
        let _ = write!(out, "{}:{}@{}/{}", m.name, m.type_name, m.bit_offset, bits);
        field_canonical(out, &m.ty, depth, budget);
        out.push(',');
    }
    out.push('}');
}

fn field_canonical(out: &mut String, ty: &FieldType, depth: usize, budget: &mut usize) {
    match ty {
        FieldType::Int {
            size,
            signed,
            byte_order,
            ..
        } => {
            let _ = write!(
                out,
                "[int {size}{}{}]",
                if *signed { " s" } else { "" },
                if *byte_order == crate::model::layout::ByteOrder::Host {
                    ""
                } else {
                    " be"
                }
            );
        }
        FieldType::Array { elem, len } => {
            let _ = write!(out, "[{len}x");
            field_canonical(out, elem, depth, budget);
            out.push(']');
        }
        FieldType::Aggregate(inner) if depth < CANON_DEPTH => {
            canonical(out, inner, depth + 1, budget);
        }
        other => {
            let _ = write!(out, "[{} {}]", other.kind_str(), other.size());
        }
    }
}

/// Members listed in a readable summary before `… N more`.
const SUMMARY_MEMBERS: usize = 12;

/// `struct flow_value (24 B): packets __u64 @0, …, ifindex __u16 @20; 2 B padding`.
fn layout_summary(l: &Layout) -> String {
    let mut s = format!("{} ({} B)", l.display_name(), l.size);
    let shown: Vec<String> = l
        .members
        .iter()
        .take(SUMMARY_MEMBERS)
        .map(|m| match m.bit_size {
            Some(bits) => format!(
                "{} {} @{}:{}/{bits}",
                m.name,
                m.type_name,
                m.offset,
                m.bit_offset % 8
            ),
            None => format!("{} {} @{}", m.name, m.type_name, m.offset),
        })
        .collect();
    if !shown.is_empty() {
        let _ = write!(s, ": {}", shown.join(", "));
    }
    if l.members.len() > SUMMARY_MEMBERS {
        let _ = write!(s, ", … {} more", l.members.len() - SUMMARY_MEMBERS);
    }
    let holes: u64 = l.holes.iter().map(|h| h.size).sum();
    if holes > 0 {
        let _ = write!(s, "; {holes} B in holes");
    }
    if l.padding > 0 {
        let _ = write!(s, "; {} B padding", l.padding);
    }
    s
}
