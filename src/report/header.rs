//! The report header, the same in every format: which bpfcase wrote the
//! report, from which inputs, and for each bundle where and when its
//! evidence was taken (host, kernel, collection time, whether the
//! collection was partial and which limits cut it). A ticket reader can
//! then tell what the findings below are about without the bundle.
//!
//! Every value but the version of this bpfcase comes from an input (the
//! manifest, the command line) and goes through [`super::escape`]: Markdown
//! code spans or text here, HTML entities here, the terminal rule where
//! `human` prints [`text_lines`].

use std::io::{self, Write};

use serde::Serialize;

use super::escape::{html as esc, md_code as code, md_text};
use super::Report;
use crate::bundle::Manifest;

/// Where and when one bundle's evidence was taken, from its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleContext {
    /// The bundle as named on the command line.
    pub bundle: String,
    pub host: String,
    /// `uname -r` of the node.
    pub kernel: String,
    /// `uname -m` of the node.
    pub machine: String,
    /// When the collection started (UTC, RFC 3339).
    pub collected_at: String,
    /// The bpfcase version that collected it.
    pub collected_by: String,
    /// The collection was interrupted or cut by a limit: the bundle is
    /// valid but incomplete.
    pub partial: bool,
    /// What each limit cut: `max-entries: map 12 (flows): 1000 of 5000`.
    pub limits_hit: Vec<String>,
}

impl BundleContext {
    /// The context of bundle `name` from its manifest.
    pub fn from_manifest(name: &str, m: &Manifest) -> Self {
        BundleContext {
            bundle: name.to_string(),
            host: m.host.hostname.clone(),
            kernel: m.host.kernel_release.clone(),
            machine: m.host.machine.clone(),
            collected_at: m.created.clone(),
            collected_by: m.bpfcase_version.clone(),
            partial: m.partial,
            limits_hit: m
                .limits_hit
                .iter()
                .map(|l| {
                    if l.detail.is_empty() {
                        format!("{}: {}", l.limit, l.what)
                    } else {
                        format!("{}: {}: {}", l.limit, l.what, l.detail)
                    }
                })
                .collect(),
        }
    }

    /// `complete`, or `PARTIAL` with what cut it.
    fn completeness(&self) -> &'static str {
        if self.partial {
            "PARTIAL (interrupted or cut by a limit)"
        } else {
            "complete"
        }
    }
}

/// The header's lines as (label, value) pairs, for the text renderings.
fn rows(report: &Report) -> Vec<(String, String)> {
    let mut rows = vec![("bpfcase".to_string(), report.bpfcase_version.to_string())];
    for i in &report.inputs {
        rows.push((
            "input".to_string(),
            format!("{} ({}, {})", i.path, i.kind, i.status),
        ));
    }
    for b in &report.bundles {
        rows.push(("bundle".to_string(), b.bundle.clone()));
        rows.push((
            "  host".to_string(),
            format!("{} ({}), kernel {}", b.host, b.machine, b.kernel),
        ));
        rows.push((
            "  collected".to_string(),
            format!("{} by bpfcase {}", b.collected_at, b.collected_by),
        ));
        rows.push(("  bundle is".to_string(), b.completeness().to_string()));
        if b.limits_hit.is_empty() {
            rows.push(("  limits hit".to_string(), "none".to_string()));
        }
        for l in &b.limits_hit {
            rows.push(("  limit hit".to_string(), l.clone()));
        }
    }
    rows
}

/// The header as aligned `label  value` lines (the terminal report, which
/// escapes the values).
pub fn text_lines(report: &Report) -> Vec<(String, String)> {
    rows(report)
}

/// The header in Markdown: a list, bundles with their context nested.
pub fn write_markdown<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    writeln!(out, "- **bpfcase** {}", report.bpfcase_version)?;
    let inputs: Vec<String> = report.inputs.iter().map(|i| code(&i.path)).collect();
    writeln!(out, "- **inputs**: {}", inputs.join(", "))?;
    for b in &report.bundles {
        writeln!(out, "- **bundle** {}", code(&b.bundle))?;
        writeln!(
            out,
            "  - host {} ({}), kernel {}",
            code(&b.host),
            md_text(&b.machine),
            code(&b.kernel)
        )?;
        writeln!(
            out,
            "  - collected {} by bpfcase {}",
            md_text(&b.collected_at),
            md_text(&b.collected_by)
        )?;
        if b.partial {
            writeln!(out, "  - **{}**", b.completeness())?;
        } else {
            writeln!(out, "  - {}", b.completeness())?;
        }
        match b.limits_hit.as_slice() {
            [] => writeln!(out, "  - limits hit: none")?,
            hits => {
                for l in hits {
                    writeln!(out, "  - limit hit: {}", code(l))?;
                }
            }
        }
    }
    writeln!(out)
}

/// The header in HTML: a definition list, escaped.
pub fn write_html<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    // Styled inline so the header needs nothing from the page's stylesheet.
    write!(
        out,
        "<dl class=\"header\" style=\"display:grid;grid-template-columns:max-content auto;gap:0 1em\">"
    )?;
    for (label, value) in rows(report) {
        let label = label.trim();
        write!(
            out,
            "<dt><b>{}</b></dt><dd style=\"margin:0\">{}</dd>",
            esc(label),
            esc(&value)
        )?;
    }
    writeln!(out, "</dl>")
}
