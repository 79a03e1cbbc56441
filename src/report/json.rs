//! The JSON report: the stable, documented shape of `docs/report.md`.
//!
//! It is the [`Report`]'s own fields, in their order, with each finding
//! carrying its `id` and `caused_by` and a `causes` array after the
//! findings (`causes.rs`): fields added to version 1, none changed.

use std::io::{self, Write};

use serde::Serialize;

use super::causes::{Cause, FindingLink};
use super::Report;
use crate::model::finding::Finding;

/// A finding as the JSON report writes it: its id first, then its fields,
/// then the cause it is folded under.
#[derive(Serialize)]
struct LinkedFinding<'a> {
    id: &'a str,
    #[serde(flatten)]
    finding: &'a Finding,
    caused_by: Option<&'a str>,
}

/// The report with linked findings and causes.
#[derive(Serialize)]
struct JsonReport<'a> {
    tool: &'a str,
    report_version: u32,
    bpfcase_version: &'a str,
    inputs: &'a [super::InputSummary],
    maps: &'a [super::MapSummary],
    programs: &'a [super::ProgramSummary],
    checks: &'a [super::CheckSummary],
    dumps: &'a [super::DumpSummary],
    traces: &'a [super::TraceSummary],
    bundles: &'a [super::header::BundleContext],
    findings: Vec<LinkedFinding<'a>>,
    causes: &'a [Cause],
    summary: super::Summary,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    configuration: &'a [super::config::MapConfig],
}

fn linked<'a>(f: &'a Finding, link: Option<&'a FindingLink>) -> LinkedFinding<'a> {
    LinkedFinding {
        id: link.map_or("", |l| l.id.as_str()),
        finding: f,
        caused_by: link.and_then(|l| l.caused_by.as_deref()),
    }
}

/// Writes the report as pretty JSON followed by a newline.
pub fn write<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    let r = JsonReport {
        tool: report.tool,
        report_version: report.report_version,
        bpfcase_version: report.bpfcase_version,
        inputs: &report.inputs,
        maps: &report.maps,
        programs: &report.programs,
        checks: &report.checks,
        dumps: &report.dumps,
        traces: &report.traces,
        bundles: &report.bundles,
        findings: report
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| linked(f, report.links.get(i)))
            .collect(),
        causes: &report.causes,
        summary: report.summary,
        configuration: &report.configuration,
    };
    serde_json::to_writer_pretty(&mut *out, &r)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::finding::{Code, MapRef, Severity};

    /// The JSON report is the Report's own serialization plus `id` and
    /// `caused_by` in each finding and `causes`: no field of the Report is
    /// left out or renamed (a field added to Report and not here fails).
    #[test]
    fn json_is_the_report_plus_ids_and_causes() {
        let map = Some(MapRef {
            id: Some(7),
            name: "tiny".into(),
        });
        let report = Report::new(
            Vec::new(),
            Vec::new(),
            vec![
                Finding::new(Code::DumpMapFull, Severity::Error, "full").with_map(map.clone()),
                Finding::new(Code::UpdateMapFull, Severity::Error, "E2BIG").with_map(map),
            ],
        );
        let mut out = Vec::new();
        write(&mut out, &report).unwrap();
        let mut got: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let causes = got.as_object_mut().unwrap().remove("causes").unwrap();
        assert_eq!(causes.as_array().unwrap().len(), 1);
        let head = causes[0]["id"].as_str().unwrap().to_string();
        let fs = got["findings"].as_array_mut().unwrap();
        assert_eq!(fs[0]["id"], head);
        assert_eq!(fs[0]["caused_by"], serde_json::Value::Null);
        assert_eq!(fs[1]["caused_by"], head);
        for f in fs.iter_mut() {
            let o = f.as_object_mut().unwrap();
            o.remove("id");
            o.remove("caused_by");
        }
        assert_eq!(got, serde_json::to_value(&report).unwrap());
    }
}
