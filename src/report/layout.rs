//! Rendering layouts: pahole-like text and the documented JSON shape.
//!
//! Type, member and file names in the text go through
//! [`escape::terminal`] (BTF names are any bytes but NUL); JSON is left to
//! serde.

use std::io::{self, Write};

use serde::Serialize;

use super::escape::{self, terminal};
use crate::model::layout::{FieldType, Layout, Member};

/// Writes a layout the way pahole does, shown under `name`: one line per
/// member with its offset and size, holes and padding called out, a summary
/// at the end.
pub fn write_text_one<W: Write>(out: &mut W, name: &str, l: &Layout) -> io::Result<()> {
    writeln!(out, "{} {} {{", l.kind.as_str(), terminal(name))?;
    write_members(out, l, 0, 1)?;
    writeln!(out)?;
    let nmembers = l.members.len();
    write!(out, "\t/* size: {}, members: {}", l.size, nmembers)?;
    if !l.packed {
        write!(out, ", align: {}", l.natural_align)?;
    }
    writeln!(out, " */")?;
    if !l.holes.is_empty() {
        let sum: u64 = l.holes.iter().map(|h| h.size).sum();
        writeln!(out, "\t/* holes: {}, sum holes: {} */", l.holes.len(), sum)?;
    }
    if !l.bit_holes.is_empty() {
        let sum: u64 = l.bit_holes.iter().map(|h| h.bits).sum();
        writeln!(
            out,
            "\t/* bit holes: {}, sum bit holes: {} bits */",
            l.bit_holes.len(),
            sum
        )?;
    }
    if l.padding > 0 {
        writeln!(out, "\t/* padding: {} */", l.padding)?;
    }
    if l.bit_padding > 0 {
        writeln!(out, "\t/* bit_padding: {} bits */", l.bit_padding)?;
    }
    if l.packed {
        writeln!(out, "}} __attribute__((__packed__));")?;
    } else {
        writeln!(out, "}};")?;
    }
    Ok(())
}

fn write_members<W: Write>(
    out: &mut W,
    l: &Layout,
    base_bits: u64,
    depth: usize,
) -> io::Result<()> {
    let indent = "\t".repeat(depth);
    let mut holes = l.holes.iter().peekable();
    let mut bit_holes = l.bit_holes.iter().peekable();
    for m in &l.members {
        let abs_bits = base_bits + m.bit_offset;
        // Holes are reported just before the member that follows them.
        while let Some(h) = holes.peek() {
            if h.offset * 8 + base_bits > abs_bits {
                break;
            }
            writeln!(
                out,
                "\n{indent}/* XXX {} byte{} hole at offset {} */\n",
                h.size,
                if h.size == 1 { "" } else { "s" },
                (base_bits / 8) + h.offset
            )?;
            holes.next();
        }
        while let Some(h) = bit_holes.peek() {
            if h.bit_offset + base_bits > abs_bits {
                break;
            }
            writeln!(
                out,
                "\n{indent}/* XXX {} bit{} hole */\n",
                h.bits,
                if h.bits == 1 { "" } else { "s" }
            )?;
            bit_holes.next();
        }
        write_member(out, m, base_bits, depth)?;
    }
    Ok(())
}

/// pahole puts the offset comment at visual column 57 (tabs are 8 columns)
/// whatever the depth, and narrows the type column by a tab per level.
fn pad_widths(depth: usize) -> (usize, usize) {
    let type_width = 26usize.saturating_sub(8 * (depth - 1)).max(1);
    let decl_width = 57usize.saturating_sub(8 * depth).max(1);
    (type_width, decl_width)
}

fn write_member<W: Write>(out: &mut W, m: &Member, base_bits: u64, depth: usize) -> io::Result<()> {
    let indent = "\t".repeat(depth);
    let (tw, dw) = pad_widths(depth);
    let abs_offset = (base_bits / 8).saturating_add(m.offset);
    if let (FieldType::Aggregate(inner), true) = (&m.ty, is_inline(m)) {
        writeln!(out, "{indent}{} {{", inner.kind.as_str())?;
        write_members(out, inner, base_bits + m.bit_offset, depth + 1)?;
        let decl = format!(
            "}}{};",
            if m.name.is_empty() {
                String::new()
            } else {
                format!(" {}", terminal(&m.name))
            }
        );
        return writeln!(
            out,
            "{indent}{decl:<dw$}/* {abs_offset:>5} {:>5} */",
            m.size
        );
    }
    let (ty, name) = split_declarator(&m.type_name, &m.name);
    let (ty, name) = (escape::terminal(&ty), escape::terminal(&name));
    let decl = match m.bit_size {
        Some(w) => format!("{ty:<tw$} {name}:{w};"),
        None => format!("{ty:<tw$} {name};"),
    };
    match m.bit_size {
        Some(_) => writeln!(
            out,
            "{indent}{decl:<dw$}/* {abs_offset:>5}:{:>2} {:>2} */",
            // Signed: a schema may give a bit offset before its field's
            // byte offset; printed as it is, never wrapped.
            i128::from(base_bits) + i128::from(m.bit_offset) - i128::from(abs_offset) * 8,
            m.size
        ),
        None => writeln!(
            out,
            "{indent}{decl:<dw$}/* {abs_offset:>5} {:>5} */",
            m.size
        ),
    }
}

/// Anonymous struct/union types are printed inline, like pahole does.
fn is_inline(m: &Member) -> bool {
    matches!(&m.ty, FieldType::Aggregate(l) if l.name.is_empty())
}

/// Moves array dimensions from the type to the name: (`char[16]`, `comm`) →
/// (`char`, `comm[16]`).
fn split_declarator(type_name: &str, name: &str) -> (String, String) {
    match type_name.find('[') {
        Some(i) if !type_name.contains('(') => (
            type_name[..i].to_string(),
            format!("{name}{}", &type_name[i..]),
        ),
        _ => (type_name.to_string(), name.to_string()),
    }
}

/// Writes the totals of `layout --format summary`.
pub fn write_summary<W: Write>(
    out: &mut W,
    file: &str,
    s: &crate::model::layout::LayoutStats,
) -> io::Result<()> {
    writeln!(
        out,
        "{}: {} structs, {} unions, {} members ({} bitfields), {} bytes in all",
        terminal(file),
        s.structs,
        s.unions,
        s.members,
        s.bitfields,
        s.total_size
    )?;
    writeln!(
        out,
        "holes: {} in {} types, {} bytes; bit holes: {}",
        s.holes, s.with_holes, s.hole_bytes, s.bit_holes
    )?;
    writeln!(
        out,
        "trailing padding: {} types, {} bytes; packed: {}",
        s.with_padding, s.padding_bytes, s.packed
    )?;
    writeln!(out, "most wasted bytes (holes + padding):")?;
    for (waste, size, name) in s.worst() {
        writeln!(out, "  {waste:>6} of {size:>6}  {}", terminal(&name))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonLayout<'a> {
    name: &'a str,
    kind: &'static str,
    size: u64,
    align: u64,
    packed: bool,
    members: Vec<JsonMember<'a>>,
    holes: &'a [crate::model::layout::Hole],
    bit_holes: &'a [crate::model::layout::BitHole],
    padding: u64,
    bit_padding: u64,
}

#[derive(Serialize)]
struct JsonMember<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    type_name: &'a str,
    kind: &'static str,
    offset: u64,
    bit_offset: u64,
    size: u64,
    bit_size: Option<u32>,
}

/// One element of the documented JSON array (no separator), shown under
/// `name`: `name`, `kind`, `size`, `members` (`name`, `offset`,
/// `bit_offset`, `size`, `bit_size`), `holes`, `padding`, and more. Elements
/// are written one at a time: the whole array is never held in memory.
pub fn write_json_item<W: Write>(out: &mut W, name: &str, l: &Layout) -> io::Result<()> {
    let item = JsonLayout {
        name,
        kind: l.kind.as_str(),
        size: l.size,
        align: l.align(),
        packed: l.packed,
        members: l
            .members
            .iter()
            .map(|m| JsonMember {
                name: &m.name,
                type_name: &m.type_name,
                kind: m.ty.kind_str(),
                offset: m.offset,
                bit_offset: m.bit_offset,
                size: m.size,
                bit_size: m.bit_size,
            })
            .collect(),
        holes: &l.holes,
        bit_holes: &l.bit_holes,
        padding: l.padding,
        bit_padding: l.bit_padding,
    };
    serde_json::to_writer(&mut *out, &item)?;
    Ok(())
}

#[cfg(test)]
mod fuzz_regressions {
    /// Found by `just fuzz-smoke` (yaml_schema, 2026-11-30): a bitfield
    /// whose bit offset lies before its byte offset made the pahole-style
    /// text subtract with overflow (a panic with debug assertions, a
    /// wrapped number in release).
    #[test]
    fn bit_offset_before_the_byte_offset_is_printed_not_wrapped() {
        let text = "name: bits\nsize: 8\nalign: 4\nfields:\n- name: lo\n  offset: 5\n  size: 1\n  type: char\n  bit_offset: 32\n  bit_size: 3\n  source_type: char\n";
        let schema = crate::ingest::schema::Schema::parse(text).expect("schema");
        for (name, l) in &schema.types {
            let mut out = Vec::new();
            super::write_text_one(&mut out, name, l).expect("render");
            let out = String::from_utf8(out).unwrap();
            assert!(out.contains("lo:3"), "{out}");
            assert!(!out.contains("18446744073709551"), "wrapped: {out}");
        }
    }
}
