//! Rendering a dump diff (`bpfcase diff`): a text summary with the first
//! entries of each kind, or one stable JSON object. Bundles give one such
//! diff per pair of dumps of a map ([`BundleDiffReport`]), each under a
//! header naming the map and the two dumps.
//!
//! In the text form every string from an input (paths, map and field
//! names, keys of formatted-text dumps, decoded values, problems) goes
//! through [`escape::terminal`]; the JSON form is data and left to serde.

use std::io::{self, Write};

use serde::Serialize;

use super::escape::{self, terminal};
use crate::model::decode::Decoded;

/// Most entries of each kind the text form lists.
pub const TEXT_CAP: usize = 50;

/// The diff as shown: keys as hex (and decoded when a layout is known).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    pub old: String,
    pub new: String,
    pub added: Vec<KeyedEntry>,
    pub removed: Vec<KeyedEntry>,
    pub changed: Vec<ChangedOut>,
    pub unchanged: usize,
    /// Entries repeating a key already seen in the same dump (left out of the comparison).
    pub duplicate_keys: SideCounts<Vec<KeyedEntry>>,
    /// What went wrong reading each dump (truncation, error lines).
    pub problems: SideCounts<Vec<String>>,
    /// Entries of one side whose key the other side does not show, where
    /// that other side stops early or lost entries (a truncated dump, an
    /// error part way): neither added nor removed, since whether the other
    /// side held them is unknown. `old`: keys only OLD shows (NEW
    /// incomplete); `new`: keys only NEW shows (OLD incomplete).
    pub not_compared: SideCounts<Vec<KeyedEntry>>,
    /// Entries counted but not listed above: text output keeps only the
    /// first [`TEXT_CAP`] of each kind (JSON lists them all). A kind's
    /// total is its list's length plus this.
    #[serde(skip)]
    pub unlisted: Unlisted,
}

/// Entries of each kind a [`DiffReport`] counted but does not list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unlisted {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub duplicates_old: usize,
    pub duplicates_new: usize,
    pub not_compared_old: usize,
    pub not_compared_new: usize,
}

/// One value per side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideCounts<T> {
    pub old: T,
    pub new: T,
}

/// An entry named by its key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyedEntry {
    /// Entry index in its dump.
    pub index: usize,
    /// Key bytes as hex (bpftool's spelling); formatted-text dumps: the key text.
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_decoded: Option<Decoded>,
}

/// A key whose value changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedOut {
    pub old_index: usize,
    pub new_index: usize,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_decoded: Option<Decoded>,
    /// Differing value byte offsets, per CPU for per-CPU maps (`cpu` null otherwise).
    pub value_diffs: Vec<ValueDiffOut>,
    /// One side's value could not be looked up.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub value_missing: bool,
    /// Changed top-level value fields, when a layout is known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueDiffOut {
    pub cpu: Option<usize>,
    pub offsets: Vec<u64>,
}

/// One value field with different decoded values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<usize>,
    pub name: String,
    pub old: Decoded,
    pub new: Decoded,
}

/// Writes the JSON object (pretty, stable key order).
pub fn write_json(out: &mut impl Write, r: &DiffReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    out.write_all(b"\n")
}

/// `0..8, 12, 16..20`: offsets as half-open runs.
pub fn offset_ranges(offsets: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < offsets.len() {
        let start = offsets[i];
        let mut end = start + 1;
        while i + 1 < offsets.len() && offsets[i + 1] == end {
            end += 1;
            i += 1;
        }
        parts.push(if end == start + 1 {
            start.to_string()
        } else {
            format!("{start}..{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

fn json(d: &Decoded) -> String {
    serde_json::to_string(d).unwrap_or_default()
}

/// The key as shown in the text form, escaped.
fn key_text(key: &str, decoded: &Option<Decoded>) -> String {
    let text = match decoded {
        Some(d) => format!("{key}  {}", json(d)),
        None => key.to_string(),
    };
    escape::terminal(&text).into_owned()
}

fn more(out: &mut impl Write, total: usize) -> io::Result<()> {
    if total > TEXT_CAP {
        writeln!(out, "  ... and {} more", total - TEXT_CAP)?;
    }
    Ok(())
}

/// An `added:` or `removed:` list: at most [`TEXT_CAP`] entries, marked.
fn write_keyed(
    out: &mut impl Write,
    title: &str,
    mark: char,
    entries: &[KeyedEntry],
    unlisted: usize,
) -> io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    writeln!(out, "{title}:")?;
    for e in entries.iter().take(TEXT_CAP) {
        writeln!(
            out,
            "  {mark} [{}] {}",
            e.index,
            key_text(&e.key, &e.key_decoded)
        )?;
    }
    more(out, entries.len() + unlisted)
}

/// Writes the summary line, then up to [`TEXT_CAP`] entries of each kind.
pub fn write_text(out: &mut impl Write, r: &DiffReport) -> io::Result<()> {
    let not_compared = r.not_compared.old.len()
        + r.unlisted.not_compared_old
        + r.not_compared.new.len()
        + r.unlisted.not_compared_new;
    writeln!(
        out,
        "{} added, {} removed, {} changed, {} unchanged{}",
        r.added.len() + r.unlisted.added,
        r.removed.len() + r.unlisted.removed,
        r.changed.len() + r.unlisted.changed,
        r.unchanged,
        if not_compared > 0 {
            format!(", {not_compared} not compared")
        } else {
            String::new()
        }
    )?;
    for (side, path, dups, unlisted) in [
        (
            "old",
            &r.old,
            &r.duplicate_keys.old,
            r.unlisted.duplicates_old,
        ),
        (
            "new",
            &r.new,
            &r.duplicate_keys.new,
            r.unlisted.duplicates_new,
        ),
    ] {
        let path = terminal(path);
        if !dups.is_empty() {
            writeln!(
                out,
                "{side} ({path}): {} entries repeat a key seen earlier in the same dump; the diff compares the first occurrence",
                dups.len() + unlisted
            )?;
            for e in dups.iter().take(TEXT_CAP) {
                writeln!(
                    out,
                    "  = [{}] {}",
                    e.index,
                    key_text(&e.key, &e.key_decoded)
                )?;
            }
            more(out, dups.len() + unlisted)?;
        }
    }
    for (side, path, problems) in [
        ("old", &r.old, &r.problems.old),
        ("new", &r.new, &r.problems.new),
    ] {
        for p in problems {
            writeln!(out, "{side} ({}): {}", terminal(path), terminal(p))?;
        }
    }
    write_keyed(out, "added", '+', &r.added, r.unlisted.added)?;
    write_keyed(out, "removed", '-', &r.removed, r.unlisted.removed)?;
    write_keyed(
        out,
        "not compared (only old shows these keys, and new stops early or lost entries: removed or not, unknown)",
        '?',
        &r.not_compared.old,
        r.unlisted.not_compared_old,
    )?;
    write_keyed(
        out,
        "not compared (only new shows these keys, and old stops early or lost entries: added or not, unknown)",
        '?',
        &r.not_compared.new,
        r.unlisted.not_compared_new,
    )?;
    if !r.changed.is_empty() {
        writeln!(out, "changed:")?;
        for c in r.changed.iter().take(TEXT_CAP) {
            writeln!(
                out,
                "  ~ [{} -> {}] {}",
                c.old_index,
                c.new_index,
                key_text(&c.key, &c.key_decoded)
            )?;
            if c.value_missing {
                writeln!(out, "      value missing on one side (lookup failed)")?;
            }
            for d in &c.value_diffs {
                match d.cpu {
                    Some(cpu) => writeln!(
                        out,
                        "      cpu {cpu}: value bytes {}",
                        offset_ranges(&d.offsets)
                    )?,
                    None => writeln!(out, "      value bytes {}", offset_ranges(&d.offsets))?,
                }
            }
            for f in &c.fields {
                let cpu = f.cpu.map(|c| format!("cpu {c}: ")).unwrap_or_default();
                writeln!(
                    out,
                    "      {cpu}{}: {} -> {}",
                    terminal(&f.name),
                    terminal(&json(&f.old)),
                    terminal(&json(&f.new))
                )?;
            }
        }
        more(out, r.changed.len() + r.unlisted.changed)?;
    }
    Ok(())
}

/// `diff` of one bundle's snapshots or of two bundles: a [`DiffReport`] per
/// pair of dumps of one map, and the maps that could not be paired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleDiffReport {
    /// The (older) bundle as given.
    pub old: String,
    /// The newer bundle; `None` when one bundle's snapshots are compared.
    pub new: Option<String>,
    pub pairs: Vec<PairOut>,
    pub unmatched: Vec<UnmatchedOut>,
}

/// Two dumps of one map and their diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairOut {
    pub map: PairMap,
    /// Which dump is compared: `snapshot 0 (TIME)`, or `BUNDLE (TIME)`.
    pub old: String,
    pub new: String,
    /// What kept the pair from being diffed or decoded, each naming the
    /// bundle file (`bundle!path`).
    pub problems: Vec<String>,
    /// `None` when a dump could not be read or verified.
    pub diff: Option<DiffReport>,
}

/// The map a pair belongs to: one id for snapshots, two after a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairMap {
    pub name: String,
    pub old_id: u32,
    pub new_id: u32,
}

/// A dumped map with nothing to compare against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedOut {
    pub name: String,
    pub id: u32,
    /// `old` or `new`: the bundle it is in.
    pub side: &'static str,
    pub why: String,
}

/// Writes the bundle diff as one JSON object (pretty, stable key order).
pub fn write_bundle_json(out: &mut impl Write, r: &BundleDiffReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    out.write_all(b"\n")
}

/// Writes each pair under a header line, then the unmatched maps.
pub fn write_bundle_text(out: &mut impl Write, r: &BundleDiffReport) -> io::Result<()> {
    for (i, p) in r.pairs.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let m = &p.map;
        let (name, old, new) = (terminal(&m.name), terminal(&p.old), terminal(&p.new));
        if r.new.is_none() {
            writeln!(out, "map {name} (id {}): {old} -> {new}", m.old_id)?;
        } else {
            writeln!(
                out,
                "map {name}: id {} in {old} -> id {} in {new}",
                m.old_id, m.new_id
            )?;
        }
        for problem in &p.problems {
            writeln!(out, "problem: {}", terminal(problem))?;
        }
        match &p.diff {
            Some(d) => write_text(out, d)?,
            None => writeln!(out, "not diffed")?,
        }
    }
    if !r.unmatched.is_empty() {
        if !r.pairs.is_empty() {
            writeln!(out)?;
        }
        writeln!(out, "unmatched:")?;
        for u in &r.unmatched {
            let bundle = match (u.side, &r.new) {
                ("new", Some(new)) => new,
                _ => &r.old,
            };
            writeln!(
                out,
                "  {} (id {}) in {}: {}",
                terminal(&u.name),
                u.id,
                terminal(bundle),
                terminal(&u.why)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(offset_ranges(&[0, 1, 2, 5, 7, 8]), "0..3, 5, 7..9");
        assert_eq!(offset_ranges(&[]), "");
    }

    #[test]
    fn text_lists_at_most_the_cap_and_says_how_many_more() {
        let entry = |index| KeyedEntry {
            index,
            key: format!("{index:02x}"),
            key_decoded: None,
        };
        let r = DiffReport {
            old: "a".into(),
            new: "b".into(),
            added: (0..TEXT_CAP + 3).map(entry).collect(),
            removed: vec![entry(7)],
            changed: Vec::new(),
            unchanged: 2,
            duplicate_keys: SideCounts {
                old: Vec::new(),
                new: Vec::new(),
            },
            problems: SideCounts {
                old: Vec::new(),
                new: Vec::new(),
            },
            not_compared: SideCounts {
                old: Vec::new(),
                new: Vec::new(),
            },
            unlisted: Unlisted::default(),
        };
        let mut out = Vec::new();
        write_text(&mut out, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("53 added, 1 removed, 0 changed, 2 unchanged\n"));
        assert_eq!(
            text.lines().filter(|l| l.starts_with("  + ")).count(),
            TEXT_CAP
        );
        assert!(text.contains("  ... and 3 more\n"));
        assert_eq!(text.matches("more").count(), 1);
    }
}
