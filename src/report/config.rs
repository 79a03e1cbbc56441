//! A program's configuration: the variables of a frozen `.rodata` (or
//! `.rodata.*`) global data map, decoded. libbpf freezes these maps after
//! the loader has set them (`const volatile` globals: `targ_pid`,
//! `min_us`, `filter_cg`), so their bytes are what the program was loaded
//! with: the answer to "what was this tool filtering on?".
//!
//! The data ([`MapConfig`]) goes into the JSON report as `configuration`;
//! each format renders it with its function here (one line per map in
//! text, a list in Markdown, a table in HTML), so the renderers only call
//! in.

use std::io::{self, Write};

use serde::Serialize;

use crate::model::decode::{decode_layout, Decoded};
use crate::model::finding::MapRef;
use crate::model::layout::Layout;

/// One frozen read-only data section of a loaded program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapConfig {
    pub map: MapRef,
    /// The section, from the DATASEC's name (`.rodata`, `.rodata.str`),
    /// not from the map's name (libbpf cuts that: `runqlat_.rodata`).
    pub section: String,
    /// The section's variables in offset order. Together they are
    /// bpftool's `formatted` value: `{section: [{name: value}, ..]}`.
    pub variables: Vec<ConfigVar>,
}

/// One variable of a [`MapConfig`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigVar {
    pub name: String,
    /// Its C type (`const volatile int`, `const volatile char[16]`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Byte offset in the section, and size.
    pub offset: u64,
    pub size: u64,
    /// Decoded as bpftool decodes it.
    pub value: Decoded,
}

/// Whether a map is a program's configuration: a frozen map whose value
/// type is a read-only data section (`.rodata`, `.rodata.*`).
pub fn is_configuration(value: Option<&Layout>, frozen: bool) -> bool {
    frozen
        && value.is_some_and(|l| {
            l.is_datasec() && (l.name == ".rodata" || l.name.starts_with(".rodata."))
        })
}

impl MapConfig {
    /// The variables of section `layout` decoded from the map's one value;
    /// `None` when the bytes do not fit the section (the dump checks say
    /// why).
    pub fn decode(map: MapRef, layout: &Layout, value: &[u8]) -> Option<MapConfig> {
        let Decoded::Object(mut sec) = decode_layout(layout, value).ok()? else {
            return None;
        };
        let Some((_, Decoded::Array(values))) = sec.pop() else {
            return None;
        };
        let variables = layout
            .members
            .iter()
            .zip(values)
            .map(|(m, v)| ConfigVar {
                name: m.name.to_string(),
                type_name: m.type_name.to_string(),
                offset: m.offset,
                size: m.size,
                value: match v {
                    Decoded::Object(mut kv) if kv.len() == 1 => kv.pop().map(|(_, x)| x),
                    other => Some(other),
                }
                .unwrap_or(Decoded::Object(Vec::new())),
            })
            .collect();
        Some(MapConfig {
            map,
            section: layout.name.to_string(),
            variables,
        })
    }

    /// Whether a variable holds its zero value (0, false, "", all zero
    /// members): a setting the loader left alone.
    fn is_unset(v: &Decoded) -> bool {
        match v {
            Decoded::Bool(b) => !b,
            Decoded::Int(n) => *n == 0,
            Decoded::Uint(n) => *n == 0,
            Decoded::Float(f) => *f == 0.0,
            Decoded::Str(s) => {
                s.is_empty() || s.trim_start_matches("0x").bytes().all(|b| b == b'0')
            }
            Decoded::Array(xs) => xs.iter().all(Self::is_unset),
            Decoded::Object(kv) => kv.iter().all(|(_, x)| Self::is_unset(x)),
        }
    }

    /// `name=value` for each variable that is set, then how many are not:
    /// what the loader chose, in one line.
    pub fn settings(&self) -> String {
        let mut parts: Vec<String> = self
            .variables
            .iter()
            .filter(|v| !Self::is_unset(&v.value))
            .map(|v| {
                format!(
                    "{}={}",
                    v.name,
                    serde_json::to_string(&v.value).unwrap_or_default()
                )
            })
            .collect();
        let unset = self.variables.len() - parts.len();
        if unset > 0 {
            parts.push(format!("({unset} more zero)"));
        }
        if parts.is_empty() {
            "(no variables)".to_string()
        } else {
            parts.join(" ")
        }
    }

    fn label(&self) -> String {
        match self.map.id {
            Some(id) => format!("{} (id {id}, {})", self.map.name, self.section),
            None => format!("{} ({})", self.map.name, self.section),
        }
    }
}

/// The text form: a heading, then one line per map cut to `width`
/// columns (the JSON report has every variable).
pub fn write_text<W: Write>(out: &mut W, configs: &[MapConfig], width: usize) -> io::Result<()> {
    if configs.is_empty() {
        return Ok(());
    }
    writeln!(out, "configuration (frozen .rodata, as loaded):")?;
    for c in configs {
        let line = format!("  {}: {}", c.label(), c.settings());
        writeln!(out, "{}", cut(&line, width.max(20)))?;
    }
    Ok(())
}

/// `s` cut to `width` characters, ending in `…` when cut.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut t: String = s.chars().take(width - 1).collect();
    t.push('…');
    t
}

/// The Markdown form: a section with one list item per map, its set
/// variables as code spans.
pub fn write_markdown<W: Write>(out: &mut W, configs: &[MapConfig]) -> io::Result<()> {
    use super::escape::md_code as code;
    if configs.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n## Configuration\n")?;
    writeln!(
        out,
        "Frozen read-only data sections: the values each program was loaded with.\n"
    )?;
    for c in configs {
        writeln!(
            out,
            "- {} ({}): {}",
            code(&c.map.name),
            match c.map.id {
                Some(id) => format!("id {id}, {}", code(&c.section)),
                None => code(&c.section),
            },
            code(&c.settings())
        )?;
    }
    Ok(())
}

/// The HTML form: a card with a table of every variable of each map.
pub fn write_html<W: Write>(out: &mut W, configs: &[MapConfig]) -> io::Result<()> {
    use super::html::esc;
    if configs.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section class=\"card\"><h2>Configuration</h2>")?;
    writeln!(
        out,
        "<p>Frozen read-only data sections: the values each program was loaded with.</p>"
    )?;
    for c in configs {
        writeln!(
            out,
            "<details><summary><code>{}</code> {}</summary>",
            esc(&c.label()),
            esc(&c.settings())
        )?;
        writeln!(
            out,
            "<table><tr><th>variable</th><th>type</th><th>offset</th><th>value</th></tr>"
        )?;
        for v in &c.variables {
            writeln!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&v.name),
                esc(&v.type_name),
                v.offset,
                esc(&serde_json::to_string(&v.value).unwrap_or_default())
            )?;
        }
        writeln!(out, "</table></details>")?;
    }
    writeln!(out, "</section>")
}
