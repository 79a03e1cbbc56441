//! Findings: what an analysis concluded, as data. Renderers live in `report`.
//!
//! Codes are product interface (scripts and tickets key on them): they come
//! from `shared/FINDINGS.md` and never change once shipped.

use serde::Serialize;

/// Every finding code bpfcase can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Code {
    LayoutSizeMismatch,
    LayoutOffsetMismatch,
    LayoutTypeMismatch,
    LayoutMissingField,
    LayoutArrayLength,
    LayoutBitfield,
    LayoutByteOrder,
    LayoutKeyPadding,
    LayoutPercpuValueSize,
    DumpKeyPaddingGarbage,
    DumpValuePaddingGarbage,
    DumpDuplicateKeys,
    DumpMapFull,
    DumpGrowing,
    DumpTruncated,
    LookupPaddingMiss,
    LookupByteOrderMiss,
    LookupIndexOutOfRange,
    LookupKeyDeleted,
    LookupKeyAbsent,
    LookupWrongMap,
    UpdateMapFull,
    UpdateExists,
    SyscallSizeMismatch,
    MapsStalePin,
    MapsDuplicateName,
    ProgKeyUninit,
    ProgValueUninit,
    InputUnreadable,
    InputUnused,
}

impl Code {
    /// Every code, in documentation order.
    pub const ALL: &'static [Code] = &[
        Code::LayoutSizeMismatch,
        Code::LayoutOffsetMismatch,
        Code::LayoutTypeMismatch,
        Code::LayoutMissingField,
        Code::LayoutArrayLength,
        Code::LayoutBitfield,
        Code::LayoutByteOrder,
        Code::LayoutKeyPadding,
        Code::LayoutPercpuValueSize,
        Code::DumpKeyPaddingGarbage,
        Code::DumpValuePaddingGarbage,
        Code::DumpDuplicateKeys,
        Code::DumpMapFull,
        Code::DumpGrowing,
        Code::DumpTruncated,
        Code::LookupPaddingMiss,
        Code::LookupByteOrderMiss,
        Code::LookupIndexOutOfRange,
        Code::LookupKeyDeleted,
        Code::LookupKeyAbsent,
        Code::LookupWrongMap,
        Code::UpdateMapFull,
        Code::UpdateExists,
        Code::SyscallSizeMismatch,
        Code::MapsStalePin,
        Code::MapsDuplicateName,
        Code::ProgKeyUninit,
        Code::ProgValueUninit,
        Code::InputUnreadable,
        Code::InputUnused,
    ];

    /// The stable string, e.g. `layout/offset-mismatch`.
    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            LayoutSizeMismatch => "layout/size-mismatch",
            LayoutOffsetMismatch => "layout/offset-mismatch",
            LayoutTypeMismatch => "layout/type-mismatch",
            LayoutMissingField => "layout/missing-field",
            LayoutArrayLength => "layout/array-length",
            LayoutBitfield => "layout/bitfield",
            LayoutByteOrder => "layout/byte-order",
            LayoutKeyPadding => "layout/key-padding",
            LayoutPercpuValueSize => "layout/percpu-value-size",
            DumpKeyPaddingGarbage => "dump/key-padding-garbage",
            DumpValuePaddingGarbage => "dump/value-padding-garbage",
            DumpDuplicateKeys => "dump/duplicate-keys",
            DumpMapFull => "dump/map-full",
            DumpTruncated => "dump/truncated",
            DumpGrowing => "dump/growing",
            LookupPaddingMiss => "lookup/padding-miss",
            LookupByteOrderMiss => "lookup/byte-order-miss",
            LookupIndexOutOfRange => "lookup/index-out-of-range",
            LookupKeyDeleted => "lookup/key-deleted",
            LookupKeyAbsent => "lookup/key-absent",
            LookupWrongMap => "lookup/wrong-map",
            UpdateMapFull => "update/map-full",
            UpdateExists => "update/exists",
            SyscallSizeMismatch => "syscall/size-mismatch",
            MapsStalePin => "maps/stale-pin",
            MapsDuplicateName => "maps/duplicate-name",
            ProgKeyUninit => "prog/key-uninit",
            ProgValueUninit => "prog/value-uninit",
            InputUnreadable => "input/unreadable",
            InputUnused => "input/unused",
        }
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The map a finding concerns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MapRef {
    pub id: Option<u32>,
    pub name: String,
}

/// A place in a source the finding points at: a Go file line, a DWARF
/// decl_file:line, a dump line, a byte offset in a binary input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    /// Path as the user gave it (or as recorded in the bundle).
    pub file: String,
    /// 1-based line, for text inputs.
    pub line: Option<u32>,
    /// Byte offset, for binary inputs.
    pub offset: Option<u64>,
    /// What the span points at ("SrcPort declared here").
    pub label: String,
    /// The whole text of `file`, when the analysis had it, so renderers can
    /// show the line in context. Not part of the JSON report.
    #[serde(skip)]
    pub text: Option<std::sync::Arc<str>>,
}

/// One finding: code, severity, title, the map, evidence and a suggested fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub title: String,
    pub map: Option<MapRef>,
    /// Structured evidence; byte offsets are integers from the start of the key
    /// or value. `serde_json::Value` is used as a plain data tree here.
    pub evidence: serde_json::Value,
    pub fix: Option<String>,
    pub sources: Vec<SourceRef>,
    /// The first divergence of a compared pair: later differences it explains
    /// are listed in its evidence (`consequences`). Reports put root causes
    /// first within a severity; JSON carries `root_cause: true` only here.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub root_cause: bool,
}

impl Finding {
    pub fn new(code: Code, severity: Severity, title: impl Into<String>) -> Self {
        Finding {
            code,
            severity,
            title: title.into(),
            map: None,
            evidence: serde_json::Value::Object(Default::default()),
            fix: None,
            sources: Vec::new(),
            root_cause: false,
        }
    }

    pub fn with_map(mut self, map: Option<MapRef>) -> Self {
        self.map = map;
        self
    }

    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = evidence;
        self
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn with_source(mut self, source: SourceRef) -> Self {
        self.sources.push(source);
        self
    }

    /// An `input/unreadable` finding: `file` could not be read at `at` because `why`.
    pub fn unreadable(file: &str, at: Option<Position>, why: &str) -> Self {
        let where_ = match at {
            Some(Position::Offset(o)) => format!(" at byte offset {o}"),
            Some(Position::Line(l)) => format!(" at line {l}"),
            None => String::new(),
        };
        let (line, offset) = match at {
            Some(Position::Line(l)) => (Some(l), None),
            Some(Position::Offset(o)) => (None, Some(o)),
            None => (None, None),
        };
        Finding::new(
            Code::InputUnreadable,
            Severity::Warning,
            format!("{file} could not be read{where_}: {why}"),
        )
        .with_evidence(serde_json::json!({
            "file": file,
            "line": line,
            "offset": offset,
            "reason": why,
        }))
        .with_fix("Findings that need this artifact are missing from the report; re-collect or supply the file again.")
    }
}

/// Where in an input something was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Offset(u64),
    Line(u32),
}
