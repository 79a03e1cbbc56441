//! A reader for pahole's text output, for differential tests: top-level
//! members (with offsets and sizes), byte and bit holes, padding and size of
//! every struct and union pahole prints.

use std::collections::HashMap;

/// One member line at the top level of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaMember {
    pub name: String,
    pub offset: u64,
    /// Bit position inside the storage unit, for bitfields.
    pub bit: Option<u64>,
    pub size: u64,
}

/// One struct or union as pahole printed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaType {
    pub kind: String,
    pub name: String,
    pub members: Vec<PaMember>,
    pub holes: Vec<u64>,
    pub bit_holes: Vec<u64>,
    pub size: Option<u64>,
    pub padding: u64,
    pub bit_padding: u64,
    pub packed: bool,
}

/// Parses `pahole` output. Types printed more than once (same name) are
/// returned once per printing; callers decide what to do with duplicates.
pub fn parse(text: &str) -> Vec<PaType> {
    let mut out = Vec::new();
    let mut cur: Option<PaType> = None;
    let mut depth = 0usize;
    for line in text.lines() {
        if cur.is_none() {
            for kind in ["struct ", "union "] {
                if let Some(rest) = line.strip_prefix(kind) {
                    if let Some(name) = rest.strip_suffix(" {") {
                        cur = Some(PaType {
                            kind: kind.trim().to_string(),
                            name: name.to_string(),
                            ..Default::default()
                        });
                        depth = 1;
                    }
                }
            }
            continue;
        }
        let t = cur.as_mut().expect("inside a type");
        if depth == 1 && line.starts_with('}') {
            t.packed = line.contains("__packed__");
            out.push(cur.take().expect("inside a type"));
            continue;
        }
        let tabs = line.chars().take_while(|c| *c == '\t').count();
        let body = line.trim();
        if body.is_empty() {
            continue;
        }
        // Opening of an inline (anonymous-type) member.
        if body.ends_with('{') && !body.starts_with("/*") {
            depth += 1;
            continue;
        }
        if body.starts_with('}') {
            depth -= 1;
            if depth == 1 {
                if let Some((decl, off, bit, size)) = split_comment(body) {
                    let name = declarator_name(decl.trim_start_matches('}'));
                    t.members.push(PaMember {
                        name,
                        offset: off,
                        bit,
                        size,
                    });
                }
            }
            continue;
        }
        if tabs != 1 || depth != 1 {
            continue;
        }
        if let Some(c) = body.strip_prefix("/* ") {
            let c = c.trim_end_matches("*/").trim();
            if let Some(rest) = c.strip_prefix("XXX ") {
                let mut words = rest.split_whitespace();
                let n: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                match (words.next(), words.next()) {
                    (Some("bytes" | "byte"), Some("hole,")) => t.holes.push(n),
                    (Some("bits" | "bit"), Some("hole,")) => t.bit_holes.push(n),
                    _ => {}
                }
            } else if let Some(rest) = c.strip_prefix("size: ") {
                t.size = rest.split(',').next().and_then(|w| w.trim().parse().ok());
            } else if let Some(rest) = c.strip_prefix("padding: ") {
                t.padding = rest.trim().parse().unwrap_or(0);
            } else if let Some(rest) = c.strip_prefix("bit_padding: ") {
                t.bit_padding = rest
                    .split_whitespace()
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0);
            }
            continue;
        }
        if let Some((decl, off, bit, size)) = split_comment(body) {
            t.members.push(PaMember {
                name: declarator_name(decl),
                offset: off,
                bit,
                size,
            });
        }
    }
    out
}

/// Splits `decl; /* off size */` or `decl; /* off: bit size */`.
fn split_comment(body: &str) -> Option<(&str, u64, Option<u64>, u64)> {
    let start = body.rfind("/*")?;
    let decl = body[..start].trim();
    // `0:16  8` and `0: 3  8` both occur: pahole pads the bit position to width 2.
    let c = body[start + 2..]
        .trim_end_matches("*/")
        .trim()
        .replace(':', ": ");
    let nums: Vec<&str> = c.split_whitespace().collect();
    match nums.as_slice() {
        [off, size] => Some((decl, off.parse().ok()?, None, size.parse().ok()?)),
        [off, bit, size] if off.ends_with(':') => Some((
            decl,
            off.trim_end_matches(':').parse().ok()?,
            Some(bit.parse().ok()?),
            size.parse().ok()?,
        )),
        _ => None,
    }
}

/// Removes every `__attribute__((...))`, wherever pahole put it.
fn strip_attributes(s: &str) -> String {
    let mut out = s.to_string();
    while let Some(i) = out.find("__attribute__") {
        let mut depth = 0;
        let mut end = out.len();
        for (j, c) in out[i..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(i..end, "");
    }
    out.trim().to_string()
}

/// The member name in a C declaration: `int a`, `char comm[16]`, `unsigned c:3`,
/// `void (*func)(struct callback_head *)`, `long x __attribute__((...))`.
fn declarator_name(decl: &str) -> String {
    let decl = strip_attributes(decl.trim().trim_end_matches(';'));
    if let Some(p) = decl.find("(*") {
        let rest = &decl[p + 2..];
        let end = rest.find(')').unwrap_or(rest.len());
        return rest[..end].trim().trim_start_matches('*').to_string();
    }
    let decl = match decl.rfind(':') {
        Some(i) if decl[i + 1..].trim().chars().all(|c| c.is_ascii_digit()) => &decl[..i],
        _ => &decl[..],
    };
    let decl = match decl.find('[') {
        Some(i) => &decl[..i],
        None => decl,
    };
    decl.split(|c: char| c.is_whitespace() || c == '*')
        .rfind(|w| !w.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Groups by name, keeping only names printed exactly once.
pub fn unique_by_name(types: Vec<PaType>) -> HashMap<String, PaType> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in &types {
        *counts.entry(format!("{} {}", t.kind, t.name)).or_default() += 1;
    }
    types
        .into_iter()
        .filter(|t| counts[&format!("{} {}", t.kind, t.name)] == 1)
        .map(|t| (format!("{} {}", t.kind, t.name), t))
        .collect()
}
