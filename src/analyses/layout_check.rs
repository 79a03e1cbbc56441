//! Cross-check of a user-space layout (Go source, DWARF, YAML schema) against
//! the BPF side's layout (BTF), and of both against the map's key/value size.
//!
//! Codes: `layout/size-mismatch`, `layout/offset-mismatch`,
//! `layout/type-mismatch`, `layout/missing-field`, `layout/array-length`,
//! `layout/bitfield`, `layout/byte-order`.
//!
//! Fields are matched by name (case and underscores ignored: Go `SrcPort` ↔
//! C `src_port`), then, among the unmatched, by order. Go `_` padding fields
//! are explicit padding, never matched. Nested structs are compared member by
//! member (paths like `addr.v4`). Equivalences users rely on are accepted and
//! recorded in [`PairCheck::notes`]: a struct of one member against that
//! member's type, a byte array against an integer of the same size (raw
//! bytes), a named type or enum against its underlying integer.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use crate::model::finding::{Code, Finding, MapRef, Severity, SourceRef};
use crate::model::layout::{AggregateKind, ByteOrder, FieldType, IntEncoding, Layout, Member};

/// Key or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Key,
    Value,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Key => "key",
            Role::Value => "value",
        }
    }
}

/// One user type to compare with one BTF type.
#[derive(Debug, Clone)]
pub struct LayoutPair<'a> {
    pub map: Option<MapRef>,
    pub role: Role,
    /// The user-space layout and where it came from (`Go source types.go`).
    pub user: &'a Layout,
    pub user_origin: String,
    /// Per top-level user member, the BTF field name it declares it mirrors
    /// (Go `ebpf:"name"` tags); may be empty.
    pub user_aliases: &'a [Option<String>],
    /// The BPF side's layout and where it came from (`BTF of flows.bpf.o`).
    pub kernel: &'a Layout,
    pub kernel_origin: String,
    /// The map's key_size or value_size, when known.
    pub map_size: Option<u64>,
    /// Source texts by file name, for pointing at lines.
    pub texts: &'a HashMap<String, Arc<str>>,
}

/// The result of one pair: its findings and what was accepted as equivalent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PairCheck {
    pub map: Option<String>,
    pub role: Role,
    pub user_type: String,
    pub user_origin: String,
    pub kernel_type: String,
    pub kernel_origin: String,
    /// `match` or `differs`.
    pub verdict: &'static str,
    /// Equivalences accepted ("`Flags` [4]uint8 against __u32: compared as raw bytes").
    pub notes: Vec<String>,
    /// Where the user type is declared (`file:line`), when its source says.
    pub user_location: Option<String>,
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

/// A field reduced to what the comparison needs, with its absolute offset.
#[derive(Debug, Clone)]
struct Field<'a> {
    path: String,
    member: &'a Member,
    offset: u64,
    bit_offset: u64,
}

/// Whether a type name declares network byte order: C `__be16`/`__be32`/
/// `__be64`, or a user type named like them (Go `Be16`, `be32`).
fn declares_big_endian(member: &Member) -> bool {
    if matches!(
        member.ty,
        FieldType::Int {
            byte_order: ByteOrder::Big,
            ..
        }
    ) {
        return true;
    }
    let last = member.type_name.rsplit(['.', ':']).next().unwrap_or("");
    let n = last.trim_start_matches('_').to_ascii_lowercase();
    matches!(n.as_str(), "be16" | "be32" | "be64")
}

fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// Is this an explicit padding field (Go `_`, C unnamed non-aggregate)?
fn is_padding(m: &Member) -> bool {
    m.name == "_" || (m.name.is_empty() && !matches!(m.ty, FieldType::Aggregate(_)))
}

/// Unwraps a struct with exactly one member at offset 0 and the same size.
fn unwrap_single(ty: &FieldType) -> Option<&Member> {
    match ty {
        FieldType::Aggregate(l)
            if l.kind == AggregateKind::Struct
                && l.members.len() == 1
                && l.members[0].offset == 0
                && l.members[0].size == l.size =>
        {
            Some(&l.members[0])
        }
        _ => None,
    }
}

struct Checker<'p, 'a> {
    pair: &'p LayoutPair<'a>,
    findings: Vec<Finding>,
    notes: Vec<String>,
    /// Matched (user, kernel) fields with differing offsets, in kernel order.
    shifted: Vec<(Field<'a>, Field<'a>)>,
}

impl<'p, 'a> Checker<'p, 'a> {
    fn finding(&self, code: Code, severity: Severity, title: String) -> Finding {
        Finding::new(code, severity, title).with_map(self.pair.map.clone())
    }

    fn user_source(&self, m: &Member, label: String) -> Option<SourceRef> {
        let loc = m.source.as_ref()?;
        Some(SourceRef {
            file: loc.file.clone(),
            line: Some(loc.line),
            offset: None,
            label,
            text: self.pair.texts.get(&loc.file).cloned(),
        })
    }

    fn base_evidence(&self, user: &Field<'_>, kernel: &Field<'_>) -> serde_json::Value {
        json!({
            "role": self.pair.role.as_str(),
            "user_type": self.pair.user.name,
            "btf_type": self.pair.kernel.name,
            "field": kernel.path,
            "user_field": user.path,
            "user_offset": user.offset,
            "btf_offset": kernel.offset,
            "user_size": user.member.size,
            "btf_size": kernel.member.size,
            "user_field_type": &*user.member.type_name,
            "btf_field_type": &*kernel.member.type_name,
            "layouts": layouts_evidence(self.pair),
        })
    }

    /// Compares members of two aggregates placed at `ubase`/`kbase` bytes.
    fn compare(
        &mut self,
        user: &'a Layout,
        kernel: &'a Layout,
        prefix: &str,
        ubase: u64,
        kbase: u64,
    ) {
        // The name each user field is matched by: its ebpf tag at the top
        // level, else its own name.
        let ufields: Vec<(&'a Member, String)> = user
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| !is_padding(m))
            .map(|(i, m)| {
                let alias = if prefix.is_empty() {
                    self.pair.user_aliases.get(i).cloned().flatten()
                } else {
                    None
                };
                (m, norm(alias.as_deref().unwrap_or(&m.name)))
            })
            .collect();
        let kfields: Vec<&'a Member> = kernel.members.iter().collect();
        let mut used = vec![false; ufields.len()];
        let mut pairs: Vec<(Option<usize>, usize)> = Vec::new();
        for (ki, k) in kfields.iter().enumerate() {
            let found = ufields.iter().enumerate().position(|(ui, (_, key))| {
                !used[ui] && !k.name.is_empty() && *key == norm(&k.name)
            });
            if let Some(ui) = found {
                used[ui] = true;
            }
            pairs.push((found, ki));
        }
        // A run of BTF bitfields whose bytes one plain user field covers
        // exactly (Go has no bitfields: `Word uint32` for `a:3, b:5, c:24`).
        let mut grouped = vec![false; kfields.len()];
        let mut ki = 0;
        while ki < kfields.len() {
            if kfields[ki].bit_size.is_none() || pairs[ki].0.is_some() {
                ki += 1;
                continue;
            }
            let mut end = ki;
            // One run per storage unit: `a:3, b:5, c:24` in a u32, then `lo:4, hi:4` in a u8.
            let unit = (kfields[ki].offset, kfields[ki].size);
            while end + 1 < kfields.len()
                && kfields[end + 1].bit_size.is_some()
                && pairs[end + 1].0.is_none()
                && (kfields[end + 1].offset, kfields[end + 1].size) == unit
            {
                end += 1;
            }
            let run = &kfields[ki..=end];
            let first_byte = run.iter().map(|m| m.bit_offset).min().unwrap_or(0) / 8;
            let last_byte = run
                .iter()
                .map(|m| m.bit_end())
                .max()
                .unwrap_or(0)
                .div_ceil(8);
            let cover = ufields.iter().enumerate().position(|(ui, (u, _))| {
                !used[ui]
                    && u.bit_size.is_none()
                    && ubase + u.offset == kbase + first_byte
                    && u.size == last_byte - first_byte
            });
            if let Some(ui) = cover {
                used[ui] = true;
                for g in grouped.iter_mut().take(end + 1).skip(ki) {
                    *g = true;
                }
                let names: Vec<&str> = run.iter().map(|m| m.name.as_str()).collect();
                self.notes.push(format!(
                    "user `{}` ({}, bytes {}..{}) holds the bitfields {} (read them with masks and shifts)",
                    ufields[ui].0.name,
                    ufields[ui].0.type_name,
                    kbase + first_byte,
                    kbase + last_byte,
                    names.join(", ")
                ));
            }
            ki = end + 1;
        }
        // Zero-size BTF members (flexible arrays) need no user counterpart.
        for (ki, k) in kfields.iter().enumerate() {
            if pairs[ki].0.is_none() && !grouped[ki] && k.size == 0 && k.bit_size.is_none() {
                grouped[ki] = true;
                self.notes.push(format!(
                    "flexible array `{}` ({}) at offset {} has no user counterpart: it occupies no bytes",
                    k.name,
                    k.type_name,
                    kbase + k.offset
                ));
            }
        }
        let pairs: Vec<(Option<usize>, usize)> =
            pairs.into_iter().filter(|(_, ki)| !grouped[*ki]).collect();
        let mut pairs = pairs;
        // Unmatched on both sides pair up by order.
        let mut spare = (0..ufields.len())
            .filter(|ui| !used[*ui])
            .collect::<Vec<_>>()
            .into_iter();
        for p in pairs.iter_mut() {
            if p.0.is_none() {
                if let Some(ui) = spare.next() {
                    used[ui] = true;
                    p.0 = Some(ui);
                }
            }
        }
        let path = |m: &Member| {
            let n = if m.name.is_empty() {
                "(anonymous)"
            } else {
                m.name.as_str()
            };
            if prefix.is_empty() {
                n.to_string()
            } else {
                format!("{prefix}.{n}")
            }
        };
        for (ui, ki) in pairs {
            let k = kfields[ki];
            let kf = Field {
                path: path(k),
                member: k,
                offset: kbase + k.offset,
                bit_offset: kbase * 8 + k.bit_offset,
            };
            let Some(ui) = ui else {
                let f = self
                    .finding(
                        Code::LayoutMissingField,
                        Severity::Error,
                        format!(
                            "{} `{}` has no field for BTF `{}.{}` ({} at offset {}, {} bytes)",
                            self.pair.role.as_str(),
                            self.pair.user.name,
                            self.pair.kernel.name,
                            kf.path,
                            k.type_name,
                            kf.offset,
                            k.size
                        ),
                    )
                    .with_evidence(json!({
                        "role": self.pair.role.as_str(),
                        "user_type": self.pair.user.name,
                        "btf_type": self.pair.kernel.name,
                        "side_missing": "user",
                        "field": kf.path,
                        "btf_offset": kf.offset,
                        "btf_size": k.size,
                        "btf_field_type": &*k.type_name,
                        "layouts": layouts_evidence(self.pair),
                    }))
                    .with_fix(format!(
                        "Add the field `{}` ({}, {} bytes at offset {}) to the user-space struct.",
                        kf.path, k.type_name, k.size, kf.offset
                    ));
                self.findings.push(f);
                continue;
            };
            let u = ufields[ui].0;
            let uf = Field {
                path: path(u),
                member: u,
                offset: ubase + u.offset,
                bit_offset: ubase * 8 + u.bit_offset,
            };
            self.compare_fields(uf, kf);
        }
        // Unmatched user fields lying wholly in BTF padding are explicit padding
        // (Rust `_pad: [u8; 3]`, C `__u8 reserved[2]`), whatever their name.
        let kernel_padding = kernel.uncovered_bits();
        for (ui, (u, _)) in ufields.iter().enumerate() {
            if used[ui] {
                continue;
            }
            let (start, end) = (u.offset * 8, (u.offset + u.size) * 8);
            if u.size > 0
                && kernel_padding
                    .iter()
                    .any(|(s, len)| *s <= start && end <= s + len)
            {
                self.notes.push(format!(
                    "user `{}` ({} bytes at offset {}) fills BTF padding: explicit padding",
                    u.name,
                    u.size,
                    ubase + u.offset
                ));
                continue;
            }
            let upath = path(u);
            let mut f = self
                .finding(
                    Code::LayoutMissingField,
                    Severity::Error,
                    format!(
                        "{} `{}` field `{}` (offset {}, {} bytes) has no counterpart in BTF `{}`",
                        self.pair.role.as_str(),
                        self.pair.user.name,
                        upath,
                        ubase + u.offset,
                        u.size,
                        self.pair.kernel.name
                    ),
                )
                .with_evidence(json!({
                    "role": self.pair.role.as_str(),
                    "user_type": self.pair.user.name,
                    "btf_type": self.pair.kernel.name,
                    "side_missing": "btf",
                    "field": upath,
                    "user_offset": ubase + u.offset,
                    "user_size": u.size,
                    "user_field_type": &*u.type_name,
                    "layouts": layouts_evidence(self.pair),
                }))
                .with_fix("Remove the field from the user-space struct, or add it to the BPF program's struct and rebuild.");
            if let Some(s) = self.user_source(u, format!("`{upath}` declared here")) {
                f = f.with_source(s);
            }
            self.findings.push(f);
        }
    }

    fn compare_fields(&mut self, u: Field<'a>, k: Field<'a>) {
        // Bit positions inside one storage unit are `layout/bitfield`'s business.
        if u.offset != k.offset {
            self.shifted.push((u.clone(), k.clone()));
        }
        // Bitfields: position and width must agree; so must bitfield-ness.
        if u.member.bit_size.is_some() || k.member.bit_size.is_some() {
            if u.member.bit_size != k.member.bit_size || u.bit_offset != k.bit_offset {
                let title = match (u.member.bit_size, k.member.bit_size) {
                    (None, Some(w)) => format!(
                        "BTF `{}` is a {w}-bit bitfield at bit {}, the user side has a plain {}-byte field",
                        k.path, k.bit_offset, u.member.size
                    ),
                    (Some(w), None) => format!(
                        "user `{}` is a {w}-bit bitfield, BTF `{}` is a plain {}-byte field",
                        u.path, k.path, k.member.size
                    ),
                    _ => format!(
                        "bitfield `{}` is bits {}..{} on the user side but {}..{} in BTF",
                        k.path,
                        u.bit_offset,
                        u.bit_offset + u.member.bit_size.unwrap_or(0) as u64,
                        k.bit_offset,
                        k.bit_offset + k.member.bit_size.unwrap_or(0) as u64
                    ),
                };
                let mut ev = self.base_evidence(&u, &k);
                ev["user_bit_offset"] = json!(u.bit_offset);
                ev["btf_bit_offset"] = json!(k.bit_offset);
                ev["user_bit_size"] = json!(u.member.bit_size);
                ev["btf_bit_size"] = json!(k.member.bit_size);
                let f = self
                    .finding(Code::LayoutBitfield, Severity::Error, title)
                    .with_evidence(ev)
                    .with_fix("Bitfield placement is compiler-defined; read the storage unit as an integer and mask/shift exactly as the BTF bit offsets say.");
                self.push_with_source(f, &u);
            }
            return;
        }
        self.compare_types(&u, &k, &u.member.ty, &k.member.ty);
    }

    fn push_with_source(&mut self, mut f: Finding, u: &Field<'_>) {
        if let Some(s) = self.user_source(u.member, format!("`{}` declared here", u.path)) {
            f = f.with_source(s);
        }
        self.findings.push(f);
    }

    fn type_mismatch(
        &mut self,
        u: &Field<'a>,
        k: &Field<'a>,
        severity: Severity,
        why: String,
        fix: String,
    ) {
        let mut ev = self.base_evidence(u, k);
        ev["difference"] = json!(why);
        let f = self
            .finding(
                Code::LayoutTypeMismatch,
                severity,
                format!(
                    "`{}`: user {} ({} B) vs BTF {} ({} B) at offset {}: {why}",
                    k.path,
                    u.member.type_name,
                    u.member.size,
                    k.member.type_name,
                    k.member.size,
                    k.offset
                ),
            )
            .with_evidence(ev)
            .with_fix(fix);
        self.push_with_source(f, u);
    }

    fn compare_types(
        &mut self,
        u: &Field<'a>,
        k: &Field<'a>,
        ut: &'a FieldType,
        kt: &'a FieldType,
    ) {
        // Byte order first: it is independent of width.
        let (ube, kbe) = (declares_big_endian(u.member), declares_big_endian(k.member));
        if ube != kbe && matches!(kt, FieldType::Int { .. }) && ut.size() == kt.size() {
            let (big, host) = if kbe {
                ("BTF", "user")
            } else {
                ("user", "BTF")
            };
            let mut ev = self.base_evidence(u, k);
            ev["network_order_side"] = json!(if kbe { "btf" } else { "user" });
            let f = self
                .finding(
                    Code::LayoutByteOrder,
                    Severity::Warning,
                    format!(
                        "`{}` is network byte order on the {big} side ({}) but a host integer on the {host} side ({})",
                        k.path,
                        if kbe { &*k.member.type_name } else { &*u.member.type_name },
                        if kbe { &*u.member.type_name } else { &*k.member.type_name },
                    ),
                )
                .with_evidence(ev)
                .with_fix(format!(
                    "Convert with htons/htonl (Go: binary.BigEndian.PutUint{}) when writing and ntohs/ntohl when reading, or declare the user field as a big-endian type.",
                    kt.size() * 8
                ));
            self.push_with_source(f, u);
        }
        match (ut, kt) {
            (FieldType::Aggregate(ul), FieldType::Aggregate(kl)) => {
                if ul.size != kl.size {
                    self.type_mismatch(
                        u,
                        k,
                        Severity::Error,
                        format!(
                            "nested {} is {} bytes here, {} in BTF",
                            kl.kind.as_str(),
                            ul.size,
                            kl.size
                        ),
                        "Make the nested type match the BPF side field by field.".into(),
                    );
                }
                if kl.kind == AggregateKind::Union || ul.kind == AggregateKind::Union {
                    if ul.size == kl.size {
                        self.notes.push(format!(
                            "`{}`: union compared by size ({} bytes)",
                            k.path, kl.size
                        ));
                    }
                    return;
                }
                self.compare(ul, kl, &k.path, u.offset, k.offset);
            }
            (_, FieldType::Aggregate(l)) | (FieldType::Aggregate(l), _)
                if l.kind == AggregateKind::Union && ut.size() == kt.size() =>
            {
                self.notes.push(format!(
                    "`{}`: union {} compared by size with {} ({} bytes)",
                    k.path,
                    if matches!(kt, FieldType::Aggregate(_)) {
                        &*k.member.type_name
                    } else {
                        &*u.member.type_name
                    },
                    if matches!(kt, FieldType::Aggregate(_)) {
                        &*u.member.type_name
                    } else {
                        &*k.member.type_name
                    },
                    kt.size()
                ));
            }
            (_, FieldType::Aggregate(_)) | (FieldType::Aggregate(_), _) => {
                // A struct of one member against that member's type.
                if let Some(inner) = unwrap_single(kt) {
                    self.notes.push(format!(
                        "`{}`: BTF struct of one {} accepted against user {}",
                        k.path, inner.type_name, u.member.type_name
                    ));
                    return self.compare_types(u, k, ut, &inner.ty);
                }
                if let Some(inner) = unwrap_single(ut) {
                    self.notes.push(format!(
                        "`{}`: user struct of one {} accepted against BTF {}",
                        k.path, inner.type_name, k.member.type_name
                    ));
                    return self.compare_types(u, k, &inner.ty, kt);
                }
                if ut.size() == kt.size() && is_byte_array(ut) {
                    self.notes.push(format!(
                        "`{}`: byte array compared as raw bytes against {}",
                        k.path, k.member.type_name
                    ));
                    return;
                }
                self.type_mismatch(
                    u,
                    k,
                    Severity::Error,
                    format!("{} against {}", ut.kind_str(), kt.kind_str()),
                    "Declare the field with the same kind and size as the BPF side.".into(),
                );
            }
            (FieldType::Array { elem: ue, len: ul }, FieldType::Array { elem: ke, len: kl }) => {
                if ue.size() == ke.size() && ul != kl {
                    let mut ev = self.base_evidence(u, k);
                    ev["user_length"] = json!(ul);
                    ev["btf_length"] = json!(kl);
                    ev["element_size"] = json!(ke.size());
                    let f = self
                        .finding(
                            Code::LayoutArrayLength,
                            Severity::Error,
                            format!(
                                "`{}` has {ul} elements on the user side ({}) but {kl} in BTF ({})",
                                k.path, u.member.type_name, k.member.type_name
                            ),
                        )
                        .with_evidence(ev)
                        .with_fix(format!("Declare the array with {kl} elements."));
                    self.push_with_source(f, u);
                } else if ue.size() != ke.size() && ut.size() == kt.size() {
                    self.notes.push(format!(
                        "`{}`: arrays of different element types but the same {} bytes, compared as raw bytes",
                        k.path,
                        kt.size()
                    ));
                } else if ue.size() != ke.size() {
                    self.type_mismatch(
                        u,
                        k,
                        Severity::Error,
                        format!(
                            "array elements are {} bytes here, {} in BTF",
                            ue.size(),
                            ke.size()
                        ),
                        "Use the BPF side's element type.".into(),
                    );
                }
            }
            (FieldType::Array { .. }, _) | (_, FieldType::Array { .. }) => {
                let (arr, other) = if matches!(ut, FieldType::Array { .. }) {
                    (ut, kt)
                } else {
                    (kt, ut)
                };
                if arr.size() == other.size() && is_byte_array(arr) {
                    self.notes.push(format!(
                        "`{}`: {} against {} compared as raw bytes",
                        k.path, u.member.type_name, k.member.type_name
                    ));
                } else {
                    self.type_mismatch(
                        u,
                        k,
                        Severity::Error,
                        format!(
                            "{} bytes ({}) against {} bytes ({})",
                            ut.size(),
                            ut.kind_str(),
                            kt.size(),
                            kt.kind_str()
                        ),
                        "Declare the field with the BPF side's type and size.".into(),
                    );
                }
            }
            _ => self.compare_scalars(u, k, ut, kt),
        }
    }

    fn compare_scalars(&mut self, u: &Field<'a>, k: &Field<'a>, ut: &FieldType, kt: &FieldType) {
        let (us, ks) = (ut.size(), kt.size());
        if us != ks {
            let hint = match (ut, kt) {
                (FieldType::Int { size: 8, .. }, FieldType::Int { size: 4, .. })
                    if u.member.type_name.trim_start_matches('*') == "int"
                        || &*u.member.type_name == "uint" =>
                {
                    " (Go `int` is 8 bytes on 64-bit targets; C `int` is 4)".to_string()
                }
                _ => String::new(),
            };
            self.type_mismatch(
                u,
                k,
                Severity::Error,
                format!("{us} bytes against {ks} bytes{hint}"),
                format!("Use a {}-byte type: {}.", ks, suggest(kt)),
            );
            return;
        }
        let signed = |t: &FieldType| match t {
            FieldType::Int { signed, .. } => Some(*signed),
            FieldType::Enum(e) => Some(e.signed),
            _ => None,
        };
        match (ut, kt) {
            (FieldType::Int { encoding: ue, .. }, FieldType::Int { encoding: ke, .. })
                if (*ue == IntEncoding::Bool) != (*ke == IntEncoding::Bool) =>
            {
                self.type_mismatch(
                    u,
                    k,
                    Severity::Info,
                    "bool against a 1-byte integer: same layout, but only 0 and 1 round-trip".into(),
                    "Fine as long as both sides only store 0 or 1; use uint8 on the user side to see other values.".into(),
                );
            }
            (FieldType::Float { .. }, FieldType::Int { .. })
            | (FieldType::Int { .. }, FieldType::Float { .. }) => {
                self.type_mismatch(
                    u,
                    k,
                    Severity::Error,
                    "floating point against integer".into(),
                    format!("Use {}.", suggest(kt)),
                );
            }
            (FieldType::Pointer { .. }, FieldType::Int { .. })
            | (FieldType::Int { .. }, FieldType::Pointer { .. }) => {
                self.type_mismatch(
                    u,
                    k,
                    Severity::Warning,
                    "pointer against integer: same size, but a user-space pointer means nothing to the kernel".into(),
                    "Store an integer (e.g. __u64) instead of a pointer.".into(),
                );
            }
            _ => {
                if let (Some(a), Some(b)) = (signed(ut), signed(kt)) {
                    let is_char = |t: &FieldType| {
                        matches!(
                            t,
                            FieldType::Int {
                                encoding: IntEncoding::Char,
                                ..
                            }
                        )
                    };
                    if a != b && !is_char(ut) && !is_char(kt) && !matches!(kt, FieldType::Enum(_)) {
                        self.type_mismatch(
                            u,
                            k,
                            Severity::Warning,
                            format!(
                                "{} on the user side, {} in BTF",
                                if a { "signed" } else { "unsigned" },
                                if b { "signed" } else { "unsigned" }
                            ),
                            format!(
                                "Use {}: values above the signed range read back negative.",
                                suggest(kt)
                            ),
                        );
                    }
                }
                if matches!(kt, FieldType::Enum(_)) && !matches!(ut, FieldType::Enum(_)) {
                    self.notes.push(format!(
                        "`{}`: BTF enum {} accepted against user {}",
                        k.path, k.member.type_name, u.member.type_name
                    ));
                }
            }
        }
    }
}

fn is_byte_array(t: &FieldType) -> bool {
    matches!(t, FieldType::Array { elem, .. } if elem.size() == 1)
}

/// A user-side spelling for a BTF type (C and Go).
fn suggest(t: &FieldType) -> String {
    match t {
        FieldType::Int { size, signed, .. } => {
            let bits = size * 8;
            if *signed {
                format!("Go int{bits} / C __s{bits}")
            } else {
                format!("Go uint{bits} / C __u{bits}")
            }
        }
        FieldType::Enum(e) => format!(
            "Go {}int{} / C enum {}",
            if e.signed { "" } else { "u" },
            e.size * 8,
            e.name
        ),
        FieldType::Float { size } => format!(
            "Go float{} / C {}",
            size * 8,
            if *size == 4 { "float" } else { "double" }
        ),
        other => format!("a {}-byte {}", other.size(), other.kind_str()),
    }
}

/// The compact picture of both layouts carried in layout findings' evidence.
pub fn layouts_evidence(pair: &LayoutPair<'_>) -> serde_json::Value {
    let side = |l: &Layout| {
        json!({
            "name": l.name,
            "size": l.size,
            "fields": l.members.iter().map(|m| json!({
                "name": if m.name.is_empty() { "(anonymous)" } else { m.name.as_str() },
                "offset": m.offset,
                "size": m.size,
                "type": &*m.type_name,
            })).collect::<Vec<_>>(),
        })
    };
    json!({ "btf": side(pair.kernel), "user": side(pair.user) })
}

/// The one `layout/size-mismatch` of a pair: the user type against the BTF
/// type, with the map's key_size/value_size beside them; or, where those two
/// agree, both against the map's size.
fn size_mismatch(c: &Checker<'_, '_>) -> Option<Finding> {
    let pair = c.pair;
    let (u, k) = (pair.user, pair.kernel);
    let role = pair.role.as_str();
    let map_differs = pair.map_size.is_some_and(|ms| ms != k.size);
    if u.size == k.size && !map_differs {
        return None;
    }
    let map_note = match pair.map_size {
        Some(ms) if ms != k.size || ms != u.size => format!(" (the map's {role}_size is {ms})"),
        _ => String::new(),
    };
    let title = if u.size != k.size {
        format!(
            "{role} type `{}` is {} bytes but BTF `{}` is {} bytes{map_note}",
            u.name, u.size, k.name, k.size
        )
    } else {
        format!(
            "{role} types `{}` and BTF `{}` are {} bytes{map_note}",
            u.name, k.name, k.size
        )
    };
    let target = pair.map_size.unwrap_or(k.size);
    Some(
        c.finding(Code::LayoutSizeMismatch, Severity::Error, title)
            .with_evidence(json!({
                "role": role,
                "user_type": u.name,
                "btf_type": k.name,
                "user_size": u.size,
                "btf_size": k.size,
                "map_size": pair.map_size,
                "user_origin": pair.user_origin,
                "btf_origin": pair.kernel_origin,
                "layouts": layouts_evidence(pair),
            }))
            .with_fix(format!(
                "Make the user-space {role} exactly {target} bytes, field for field as in BTF; every lookup/update must pass exactly {target} bytes."
            )),
    )
}

/// Where a field finding diverges: its BTF offset, else its user offset.
fn divergence_offset(f: &Finding) -> u64 {
    f.evidence
        .get("btf_offset")
        .or_else(|| f.evidence.get("user_offset"))
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
}

/// "`a`, `b`, `c` and 2 more".
fn name_list(names: &[&str]) -> String {
    const SHOWN: usize = 4;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

/// One divergence of a pair and the later differences it explains.
struct Cause {
    offset: u64,
    finding: Finding,
    /// Fields it moved: `(user offset, BTF offset, BTF path)`.
    shifted: Vec<(u64, u64, String)>,
}

/// Turns a pair's field findings, shifted fields and size difference into
/// causes with consequences: a field whose offset moved is explained by the
/// nearest divergence before it (another field's type, a missing field); a
/// move nothing explains starts a `layout/offset-mismatch` of its own. The
/// earliest divergence of the pair's highest severity is the root cause: its
/// title and fix name it as the first divergence, and the size difference is
/// listed among its consequences rather than reported again.
fn attribute(c: &mut Checker<'_, '_>) -> Vec<Finding> {
    let pair = c.pair;
    let mut causes: Vec<Cause> = std::mem::take(&mut c.findings)
        .into_iter()
        .map(|f| Cause {
            offset: divergence_offset(&f),
            finding: f,
            shifted: Vec::new(),
        })
        .collect();
    causes.sort_by_key(|c| c.offset);
    for (uf, kf) in std::mem::take(&mut c.shifted) {
        // Only an error (a width, a missing field) moves what follows; a
        // field's own type or width does not move the field itself.
        let explains = causes.iter().rposition(|cause| {
            cause.offset <= kf.offset
                && cause.finding.severity == Severity::Error
                && cause.finding.evidence.get("field").and_then(|v| v.as_str())
                    != Some(kf.path.as_str())
        });
        match explains {
            Some(i) => causes[i]
                .shifted
                .push((uf.offset, kf.offset, kf.path.clone())),
            None => {
                let mut ev = c.base_evidence(&uf, &kf);
                ev["shifted_fields"] = json!([]);
                let f = c
                    .finding(
                        Code::LayoutOffsetMismatch,
                        Severity::Error,
                        format!(
                            "`{}` is at offset {} in user type `{}` but at {} in BTF `{}`",
                            kf.path, uf.offset, pair.user.name, kf.offset, pair.kernel.name
                        ),
                    )
                    .with_evidence(ev)
                    .with_fix(format!(
                        "`{}` is the first field that moves and nothing before it differs in type: look for different alignment or padding before it (packed against natural alignment, an explicit pad of another size). Compare field by field with the BTF layout (bpfcase layout).",
                        kf.path
                    ));
                let f = match c.user_source(uf.member, format!("`{}` declared here", uf.path)) {
                    Some(s) => f.with_source(s),
                    None => f,
                };
                let at = causes.partition_point(|cause| cause.offset <= kf.offset);
                causes.insert(
                    at,
                    Cause {
                        offset: kf.offset,
                        finding: f,
                        shifted: Vec::new(),
                    },
                );
            }
        }
    }
    let size = size_mismatch(c);
    let top = causes
        .iter()
        .map(|cause| cause.finding.severity)
        .max()
        .filter(|s| *s >= Severity::Warning);
    // The size difference follows from an error-level divergence; beside
    // warnings only, it is the pair's root cause itself.
    let root = match (top, &size) {
        (Some(Severity::Error), _) | (Some(_), None) => causes
            .iter()
            .position(|cause| Some(cause.finding.severity) == top),
        _ => None,
    };
    let n_causes = causes
        .iter()
        .filter(|cause| cause.finding.severity >= Severity::Warning)
        .count();
    let mut out = Vec::with_capacity(causes.len() + 1);
    let mut size = size;
    for (i, cause) in causes.into_iter().enumerate() {
        let Cause {
            offset,
            mut finding,
            shifted,
        } = cause;
        let is_root = Some(i) == root;
        let mut consequences: Vec<serde_json::Value> = shifted
            .iter()
            .map(|(uo, ko, path)| {
                json!({"kind": "shifted", "field": path, "user_offset": uo, "btf_offset": ko})
            })
            .collect();
        let size_taken = if is_root { size.take() } else { None };
        if let Some(sf) = &size_taken {
            consequences.push(json!({
                "kind": "size",
                "user_size": sf.evidence["user_size"],
                "btf_size": sf.evidence["btf_size"],
                "map_size": sf.evidence["map_size"],
            }));
        }
        if finding.code == Code::LayoutOffsetMismatch {
            finding.evidence["shifted_fields"] = json!(shifted
                .iter()
                .map(|(uo, ko, path)| json!({"field": path, "user_offset": uo, "btf_offset": ko}))
                .collect::<Vec<_>>());
            if !shifted.is_empty() {
                finding
                    .title
                    .push_str(&format!("; {} later field(s) shifted too", shifted.len()));
            }
        }
        if !consequences.is_empty() {
            finding.evidence["consequences"] = json!(consequences);
        }
        // A lone divergence needs no "first": it is named as the cause only
        // where there is more than one, or where it explains others.
        if is_root && (n_causes > 1 || !shifted.is_empty() || size_taken.is_some()) {
            let names: Vec<&str> = shifted.iter().map(|(_, _, p)| p.as_str()).collect();
            let mut effects = Vec::new();
            if !names.is_empty() {
                effects.push(format!("shifts {}", name_list(&names)));
            }
            if size_taken.is_some() {
                effects.push(format!(
                    "makes the {} {} bytes instead of {}",
                    pair.role.as_str(),
                    pair.user.size,
                    pair.map_size.unwrap_or(pair.kernel.size)
                ));
            }
            let field = finding
                .evidence
                .get("field")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            finding.title.push_str(&format!(
                " — first divergence{}",
                if effects.is_empty() {
                    String::new()
                } else {
                    format!(": it {}", effects.join(" and "))
                }
            ));
            let fix = finding.fix.take().unwrap_or_default();
            finding.fix = Some(format!(
                "Root cause: `{field}` at offset {offset} is the first divergence; fix it first. {fix}{}",
                if effects.is_empty() {
                    String::new()
                } else {
                    format!(
                        " The later differences listed as consequences ({}) follow from it.",
                        effects.join("; ")
                    )
                }
            ));
        }
        finding.root_cause = is_root;
        out.push(finding);
    }
    if let Some(mut sf) = size {
        // Nothing at error level explains it: the size is the root cause.
        sf.root_cause = true;
        out.push(sf);
    }
    out
}

/// Compares the sizes of one pair only (a user struct against a map's
/// scalar key or value type, where member by member would restate it).
pub fn check_pair_size(pair: &LayoutPair<'_>) -> PairCheck {
    let mut c = Checker {
        pair,
        findings: Vec::new(),
        notes: Vec::new(),
        shifted: Vec::new(),
    };
    c.findings = attribute(&mut c);
    c.into_check()
}

/// A pair's verdict from its findings: `differs` when any is a warning or
/// worse, else `match` (notes and info findings do not make a difference).
pub fn verdict(findings: &[Finding]) -> &'static str {
    if findings.iter().any(|f| f.severity >= Severity::Warning) {
        "differs"
    } else {
        "match"
    }
}

/// Compares one pair; returns its findings and notes.
pub fn check_pair(pair: &LayoutPair<'_>) -> PairCheck {
    let mut c = Checker {
        pair,
        findings: Vec::new(),
        notes: Vec::new(),
        shifted: Vec::new(),
    };
    let (u, k) = (pair.user, pair.kernel);
    c.compare(u, k, "", 0, 0);
    c.findings = attribute(&mut c);
    c.into_check()
}

impl Checker<'_, '_> {
    /// The pair's verdict, notes and findings.
    fn into_check(self) -> PairCheck {
        let pair = self.pair;
        let verdict = verdict(&self.findings);
        PairCheck {
            map: pair.map.as_ref().map(|m| m.name.clone()),
            role: pair.role,
            user_type: pair.user.name.to_string(),
            user_origin: pair.user_origin.clone(),
            kernel_type: pair.kernel.name.to_string(),
            kernel_origin: pair.kernel_origin.clone(),
            verdict,
            notes: self.notes,
            user_location: (pair.user.source.as_ref()).map(|s| format!("{}:{}", s.file, s.line)),
            findings: self.findings,
        }
    }
}
