//! Decoding key and value bytes with a [`Layout`] / [`FieldType`] into a
//! value shaped like bpftool's `formatted` JSON.
//!
//! The shape follows bpftool's BTF dumper (`tools/bpf/bpftool/btf_dumper.c`):
//! structs and unions are objects with every member in order (anonymous
//! members under the name `""`), arrays are arrays, a `char[N]` holding a
//! printable NUL-terminated string is that string, `_Bool` is a boolean, an
//! enum value is its enumerator's name or else the number. Where bpftool
//! prints what the bytes do not mean, we print what they mean:
//!
//! - `__be16`/`__be32`/`__be64` ([`ByteOrder::Big`]) are the numbers they
//!   stand for (port 80, not 20480);
//! - bitfields are numbers (bpftool prints the hex string `"0x5"`),
//!   sign-extended when their type is signed;
//! - enumerators match when the value equals them modulo the enum's width,
//!   so clang-14's 8-byte enums with 32-bit enumerator values still match
//!   and numbers keep the enum's signedness.
//!
//! Integers are read in little-endian host order (the dumps come from
//! x86-64 and arm64 machines). `char` (a 1-byte int) alone is a number, as
//! in bpftool; an array counts as a string only when its element is spelled
//! `char` (the member's `type_name` starts with `char[`), because bpftool
//! does not treat `__s8[3]` or `__u8[16]` as text.

use crate::limits::{decode_node_budget, MAX_TYPE_DEPTH};
use crate::model::layout::{ByteOrder, EnumType, FieldType, IntEncoding, Layout, Member};

/// A decoded value. Objects keep member order (unlike `serde_json::Map`
/// without `preserve_order`).
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Array(Vec<Decoded>),
    Object(Vec<(String, Decoded)>),
}

impl serde::Serialize for Decoded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Decoded::Bool(b) => s.serialize_bool(*b),
            Decoded::Int(v) => s.serialize_i64(*v),
            Decoded::Uint(v) => s.serialize_u64(*v),
            Decoded::Float(v) => s.serialize_f64(*v),
            Decoded::Str(v) => s.serialize_str(v),
            Decoded::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Decoded::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl Decoded {
    /// As a `serde_json::Value` (member order is lost; for comparisons).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Why bytes could not be decoded with a type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("{got} bytes, but the type `{type_name}` is {expected} bytes")]
    SizeMismatch {
        type_name: String,
        expected: u64,
        got: usize,
    },
    #[error("member `{member}` at byte offset {offset} runs past the {len}-byte buffer")]
    OutOfBounds {
        member: String,
        offset: u64,
        len: usize,
    },
    /// The type yields more values than its bytes can carry (zero-sized
    /// members nested many times over): decoding stopped at the budget.
    #[error("the type `{type_name}` yields more than {limit} values for {len} bytes (limit DECODE_NODES_PER_BYTE); not decoded")]
    TooManyValues {
        type_name: String,
        limit: u64,
        len: usize,
    },
    #[error("the type `{type_name}` nests more than {limit} levels deep (limit MAX_TYPE_DEPTH); not decoded")]
    TooDeep { type_name: String, limit: usize },
}

/// What one decode may still spend: values left ([`decode_node_budget`]) and
/// the nesting depth reached, so work follows the entry's bytes, not the
/// type's declared shape.
struct Walk {
    nodes_left: u64,
    depth: usize,
}

impl Walk {
    fn new(len: usize) -> Self {
        Walk {
            nodes_left: decode_node_budget(len),
            depth: 0,
        }
    }

    /// Counts one value; `false` once the budget is spent.
    fn take(&mut self) -> bool {
        match self.nodes_left.checked_sub(1) {
            Some(n) => {
                self.nodes_left = n;
                true
            }
            None => false,
        }
    }
}

/// Why a walk stopped early (turned into a [`DecodeError`] at the top,
/// where the type's name and the byte count are known).
#[derive(Debug)]
enum Stop {
    Budget,
    Depth,
}

/// Turns a [`Stop`] into the error for the whole value.
fn stop_error(stop: Stop, type_name: &str, len: usize) -> DecodeError {
    match stop {
        Stop::Budget => DecodeError::TooManyValues {
            type_name: type_name.to_string(),
            limit: decode_node_budget(len),
            len,
        },
        Stop::Depth => DecodeError::TooDeep {
            type_name: type_name.to_string(),
            limit: MAX_TYPE_DEPTH,
        },
    }
}

/// Most array elements decoded before the rest is elided (a hostile or huge
/// type must not make one entry's output unbounded).
pub const MAX_ARRAY_ELEMS: u64 = 1 << 16;

/// Decodes `bytes` as a value of type `ty` (spelled `type_name`); the byte
/// count must equal the type's size.
pub fn decode(ty: &FieldType, type_name: &str, bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if ty.size() != bytes.len() as u64 {
        return Err(DecodeError::SizeMismatch {
            type_name: type_name.to_string(),
            expected: ty.size(),
            got: bytes.len(),
        });
    }
    decode_type(ty, type_name, bytes, &mut Walk::new(bytes.len()))
        .map_err(|stop| stop_error(stop, type_name, bytes.len()))
}

/// Decodes `bytes` as the struct or union `layout`.
pub fn decode_layout(layout: &Layout, bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if layout.size != bytes.len() as u64 {
        return Err(DecodeError::SizeMismatch {
            type_name: layout.display_name(),
            expected: layout.size,
            got: bytes.len(),
        });
    }
    match aggregate(layout, bytes, &mut Walk::new(bytes.len())) {
        Ok(v) => v,
        Err(stop) => Err(stop_error(stop, &layout.display_name(), bytes.len())),
    }
}

/// Decodes `bytes` (already checked to be `ty.size()` long).
fn decode_type(
    ty: &FieldType,
    type_name: &str,
    bytes: &[u8],
    walk: &mut Walk,
) -> Result<Decoded, Stop> {
    if !walk.take() {
        return Err(Stop::Budget);
    }
    Ok(match ty {
        FieldType::Int {
            size,
            signed,
            encoding,
            byte_order,
        } => int(bytes, *size, *signed, *encoding, *byte_order),
        FieldType::Float { size } => match *size {
            4 => Decoded::Float(f32::from_le_bytes(arr(bytes)) as f64),
            8 => Decoded::Float(f64::from_le_bytes(arr(bytes))),
            _ => Decoded::Str(hex_le(bytes)),
        },
        FieldType::Enum(e) => enumerator(e, bytes),
        FieldType::Pointer { .. } => Decoded::Uint(le_u64(bytes)),
        FieldType::Array { elem, len } => array(elem, *len, type_name, bytes, walk)?,
        FieldType::Aggregate(l) => {
            aggregate(l, bytes, walk)?.unwrap_or_else(|_| Decoded::Str(hex_le(bytes)))
        }
        FieldType::Opaque { .. } => Decoded::Str(hex_le(bytes)),
    })
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = b.len().min(N);
    a[..n].copy_from_slice(&b[..n]);
    a
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(arr(b))
}

/// `0x` + the bytes as one little-endian number, most significant first.
fn hex_le(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("0x");
    for x in b.iter().rev() {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn int(b: &[u8], size: u64, signed: bool, encoding: IntEncoding, order: ByteOrder) -> Decoded {
    if size > 8 {
        // bpftool prints 128-bit integers as hex strings without leading
        // zeros (`btf_int128_print`: `0x101010a`, `0x0`), whatever the sign.
        let full = hex_le(b);
        let digits = full[2..].trim_start_matches('0');
        return Decoded::Str(format!(
            "0x{}",
            if digits.is_empty() { "0" } else { digits }
        ));
    }
    let mut v = le_u64(b);
    if order == ByteOrder::Big {
        v = v.swap_bytes() >> (64 - 8 * size.max(1));
    }
    if encoding == IntEncoding::Bool {
        return Decoded::Bool(v != 0);
    }
    if signed {
        Decoded::Int(sign_extend(v, size * 8))
    } else {
        Decoded::Uint(v)
    }
}

fn sign_extend(v: u64, bits: u64) -> i64 {
    if bits == 0 || bits >= 64 {
        return v as i64;
    }
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn enumerator(e: &EnumType, b: &[u8]) -> Decoded {
    let bits = (e.size * 8).min(64);
    let raw = le_u64(b);
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    for (name, val) in &e.values {
        if (*val as u64) & mask == raw & mask {
            return Decoded::Str(name.clone());
        }
    }
    if e.signed {
        Decoded::Int(sign_extend(raw, bits))
    } else {
        Decoded::Uint(raw & mask)
    }
}

/// True when `type_name` spells a (possibly qualified) plain `char` array.
fn is_char_array_name(type_name: &str) -> bool {
    let mut t = type_name.trim_start();
    loop {
        if let Some(r) = t.strip_prefix("const ") {
            t = r;
        } else if let Some(r) = t.strip_prefix("volatile ") {
            t = r;
        } else {
            break;
        }
    }
    t.starts_with("char[") || t.starts_with("char [")
}

fn array(
    elem: &FieldType,
    len: u64,
    type_name: &str,
    b: &[u8],
    walk: &mut Walk,
) -> Result<Decoded, Stop> {
    let esize = elem.size();
    if esize == 1 && matches!(elem, FieldType::Int { .. }) && is_char_array_name(type_name) {
        // bpftool's is_str_array: printable bytes up to a NUL.
        if let Some(nul) = b.iter().position(|&c| c == 0) {
            if b[..nul].iter().all(|&c| (0x20..0x7f).contains(&c)) && !b.is_empty() {
                return Ok(Decoded::Str(
                    String::from_utf8_lossy(&b[..nul]).into_owned(),
                ));
            }
        }
    }
    // An inner dimension keeps the outer spelling (`char[2][8]` -> `char[8]`).
    let inner_name = match (type_name.find('['), type_name.find(']')) {
        (Some(a), Some(z)) if a < z => format!("{}{}", &type_name[..a], &type_name[z + 1..]),
        _ => type_name.to_string(),
    };
    if esize == 0 {
        return Ok(Decoded::Array(Vec::new()));
    }
    // The elements the bytes hold, never the declared count.
    let n = len.min(MAX_ARRAY_ELEMS).min(b.len() as u64 / esize);
    let mut out = Vec::with_capacity(n as usize);
    if walk.depth >= MAX_TYPE_DEPTH {
        return Err(Stop::Depth);
    }
    walk.depth += 1;
    for i in 0..n {
        let start = (i * esize) as usize;
        let Some(chunk) = b.get(start..start + esize as usize) else {
            break;
        };
        match decode_type(elem, &inner_name, chunk, walk) {
            Ok(v) => out.push(v),
            Err(stop) => {
                walk.depth -= 1;
                return Err(stop);
            }
        }
    }
    walk.depth -= 1;
    Ok(Decoded::Array(out))
}

/// The struct or union `l` over `b`: `Ok(Err(..))` when a member lies
/// outside the bytes (the caller prints them as hex), `Err` when the walk
/// must stop altogether.
fn aggregate(l: &Layout, b: &[u8], walk: &mut Walk) -> Result<Result<Decoded, DecodeError>, Stop> {
    if walk.depth >= MAX_TYPE_DEPTH {
        return Err(Stop::Depth);
    }
    walk.depth += 1;
    let r = members(l, b, walk);
    walk.depth -= 1;
    r
}

fn members(l: &Layout, b: &[u8], walk: &mut Walk) -> Result<Result<Decoded, DecodeError>, Stop> {
    if l.is_datasec() {
        return datasec(l, b, walk);
    }
    let mut out = Vec::with_capacity(l.members.len().min(b.len() + 1));
    for m in &l.members {
        match member(m, b, walk)? {
            Ok(v) => out.push((m.name.to_string(), v)),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(Decoded::Object(out)))
}

/// A global data section as bpftool's `btf_dumper_datasec` prints it: an
/// object holding the section's name, whose value is an array of one
/// single-key object per variable, in offset order:
/// `{".rodata": [{"targ_tgid": 0}, {"targ_ms": false}]}`.
fn datasec(l: &Layout, b: &[u8], walk: &mut Walk) -> Result<Result<Decoded, DecodeError>, Stop> {
    let mut vars = Vec::with_capacity(l.members.len().min(b.len() + 1));
    for m in &l.members {
        match member(m, b, walk)? {
            Ok(v) => vars.push(Decoded::Object(vec![(m.name.to_string(), v)])),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(Decoded::Object(vec![(
        l.name.to_string(),
        Decoded::Array(vars),
    )])))
}

fn member(m: &Member, b: &[u8], walk: &mut Walk) -> Result<Result<Decoded, DecodeError>, Stop> {
    let oob = || DecodeError::OutOfBounds {
        member: m.name.to_string(),
        offset: m.offset,
        len: b.len(),
    };
    if !walk.take() {
        return Err(Stop::Budget);
    }
    if let Some(width) = m.bit_size {
        let Some(v) = read_bits(b, m.bit_offset, width) else {
            return Ok(Err(oob()));
        };
        let signed = match &m.ty {
            FieldType::Int { signed, .. } => *signed,
            FieldType::Enum(e) => e.signed,
            _ => false,
        };
        if let FieldType::Int {
            encoding: IntEncoding::Bool,
            ..
        } = m.ty
        {
            return Ok(Ok(Decoded::Bool(v != 0)));
        }
        return Ok(Ok(if signed {
            Decoded::Int(sign_extend(v, width as u64))
        } else {
            Decoded::Uint(v)
        }));
    }
    let chunk = usize::try_from(m.offset)
        .ok()
        .zip(usize::try_from(m.ty.size()).ok())
        .and_then(|(start, size)| b.get(start..start.checked_add(size)?));
    let Some(chunk) = chunk else {
        return Ok(Err(oob()));
    };
    decode_type(&m.ty, &m.type_name, chunk, walk).map(Ok)
}

/// `width` bits at absolute bit `bit_offset` (little-endian bit numbering,
/// as x86-64 and BPF lay out bitfields). `None` when out of range.
pub fn read_bits(b: &[u8], bit_offset: u64, width: u32) -> Option<u64> {
    if width == 0 || width > 64 {
        return Some(0);
    }
    let first = (bit_offset / 8) as usize;
    let last = (bit_offset + width as u64).div_ceil(8) as usize;
    let bytes = b.get(first..last)?;
    let mut v: u128 = 0;
    for (i, &x) in bytes.iter().enumerate().take(16) {
        v |= (x as u128) << (8 * i);
    }
    v >>= bit_offset % 8;
    let mask: u128 = (1u128 << width) - 1;
    Some((v & mask) as u64)
}

/// A dump entry decoded into bpftool's `formatted` shape:
/// `{"key": K, "value": V}` or `{"key": K, "values": [{"cpu": 0, "value": V}, ..]}`.
/// A map whose key has no BTF type (`btf_key_type_id` 0: libbpf's global
/// data maps) has no `key` (`key` is `None`), as bpftool's `do_dump_btf`
/// prints it: `{"value": {".rodata": [..]}}`.
pub fn formatted_entry(key: Option<Decoded>, values: FormattedValues) -> Decoded {
    let mut out: Vec<(String, Decoded)> = key.map(|k| ("key".to_string(), k)).into_iter().collect();
    match values {
        FormattedValues::Single(v) => out.push(("value".into(), v)),
        FormattedValues::PerCpu(vs) => out.push((
            "values".into(),
            Decoded::Array(
                vs.into_iter()
                    .enumerate()
                    .map(|(cpu, v)| {
                        Decoded::Object(vec![
                            ("cpu".into(), Decoded::Uint(cpu as u64)),
                            ("value".into(), v),
                        ])
                    })
                    .collect(),
            ),
        )),
        FormattedValues::Missing(why) => out.push((
            "value".into(),
            Decoded::Object(vec![("error".into(), Decoded::Str(why))]),
        )),
    }
    Decoded::Object(out)
}

/// `d`, a value decoded with `ty`, with a global data section's variables
/// as its members (`{"counter": 7, ..}` rather than bpftool's
/// `{".bss": [{"counter": 7}, ..]}`), so that a change is named by the
/// variable; any other value as it is.
pub fn variables_as_members(ty: &FieldType, d: Decoded) -> Decoded {
    let FieldType::Aggregate(l) = ty else {
        return d;
    };
    if !l.is_datasec() {
        return d;
    }
    match d {
        Decoded::Object(mut sec) if sec.len() == 1 => match sec.pop() {
            Some((_, Decoded::Array(vars))) => Decoded::Object(
                vars.into_iter()
                    .flat_map(|v| match v {
                        Decoded::Object(kv) => kv,
                        other => vec![(String::new(), other)],
                    })
                    .collect(),
            ),
            Some(other) => Decoded::Object(vec![other]),
            None => Decoded::Object(sec),
        },
        other => other,
    }
}

/// The value part of [`formatted_entry`].
#[derive(Debug, Clone, PartialEq)]
pub enum FormattedValues {
    Single(Decoded),
    PerCpu(Vec<Decoded>),
    /// The lookup failed; bpftool's `{"error": ..}`.
    Missing(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::layout::AggregateKind;
    use std::sync::Arc;

    fn u(size: u64, order: ByteOrder) -> FieldType {
        FieldType::Int {
            size,
            signed: false,
            encoding: IntEncoding::Plain,
            byte_order: order,
        }
    }

    #[test]
    fn big_endian_port_is_the_number_it_means() {
        let v = decode(&u(2, ByteOrder::Big), "__be16", &[0x00, 0x50]).unwrap();
        assert_eq!(v, Decoded::Uint(80));
        let v = decode(&u(2, ByteOrder::Host), "__u16", &[0x00, 0x50]).unwrap();
        assert_eq!(v, Decoded::Uint(20480));
    }

    /// bpftool's own output for these bytes is in `corpora/dumps/wide/wide_map.json`.
    #[test]
    fn int128_prints_like_bpftool_without_leading_zeros() {
        let t = |signed| FieldType::Int {
            size: 16,
            signed,
            encoding: IntEncoding::Plain,
            byte_order: ByteOrder::Host,
        };
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&[0x0a, 0x01, 0x01, 0x01]);
        assert_eq!(
            decode_type(&t(false), "u", &b, &mut Walk::new(16)).unwrap(),
            Decoded::Str("0x101010a".into())
        );
        b = [0; 16];
        b[0] = 1;
        b[8] = 2;
        assert_eq!(
            decode_type(&t(false), "u", &b, &mut Walk::new(16)).unwrap(),
            Decoded::Str("0x20000000000000001".into())
        );
        assert_eq!(
            decode_type(&t(true), "s", &[0; 16], &mut Walk::new(16)).unwrap(),
            Decoded::Str("0x0".into())
        );
        assert_eq!(
            decode_type(&t(true), "s", &[0xff; 16], &mut Walk::new(16)).unwrap(),
            Decoded::Str(format!("0x{}", "f".repeat(32)))
        );
    }

    #[test]
    fn bitfields_and_signed_ints() {
        assert_eq!(read_bits(&[0x8d, 0xef], 3, 5), Some(0x11));
        assert_eq!(read_bits(&[0x8d], 3, 9), None);
        assert_eq!(sign_extend(0x7, 3), -1);
        let s8 = FieldType::Int {
            size: 1,
            signed: true,
            encoding: IntEncoding::Char,
            byte_order: ByteOrder::Host,
        };
        assert_eq!(
            decode(&s8, "signed char", &[0xff]).unwrap(),
            Decoded::Int(-1)
        );
    }

    #[test]
    fn every_error_variant() {
        let e = decode(&u(4, ByteOrder::Host), "__u32", &[1, 2]).unwrap_err();
        assert_eq!(e.to_string(), "2 bytes, but the type `__u32` is 4 bytes");
        // A member placed past the type's size (inconsistent input layout).
        let m = Member {
            name: "x".into(),
            offset: 4,
            bit_offset: 32,
            size: 4,
            bit_size: None,
            type_name: "__u32".into(),
            ty: u(4, ByteOrder::Host),
            source: None,
        };
        let l = Layout::new("t", AggregateKind::Struct, 4, vec![m]).finish();
        let e = decode_layout(&l, &[0; 4]).unwrap_err();
        assert_eq!(
            e,
            DecodeError::OutOfBounds {
                member: "x".into(),
                offset: 4,
                len: 4
            }
        );
        let v = decode(
            &FieldType::Aggregate(Arc::new(l)),
            "struct t",
            &[1, 2, 3, 4],
        )
        .unwrap();
        assert_eq!(v, Decoded::Str("0x04030201".into()));
    }

    #[test]
    fn char_arrays_follow_bpftool() {
        let c = FieldType::Array {
            elem: std::sync::Arc::new(FieldType::Int {
                size: 1,
                signed: true,
                encoding: IntEncoding::Char,
                byte_order: ByteOrder::Host,
            }),
            len: 4,
        };
        assert_eq!(
            decode(&c, "char[4]", b"ab\0X").unwrap(),
            Decoded::Str("ab".into())
        );
        assert!(matches!(
            decode(&c, "char[4]", b"abcd").unwrap(),
            Decoded::Array(_)
        ));
        assert!(matches!(
            decode(&c, "__s8[4]", b"ab\0\0").unwrap(),
            Decoded::Array(_)
        ));
    }

    /// A zero-sized struct doubled 40 times: 2^40 members for 0 bytes. The
    /// walk stops at the budget instead of running for hours.
    #[test]
    fn zero_sized_members_stop_at_the_value_budget() {
        let mut ty = Arc::new(Layout::new("s", AggregateKind::Struct, 0, vec![]).finish());
        for _ in 0..40 {
            let m = |name: &str| Member {
                name: name.into(),
                offset: 0,
                bit_offset: 0,
                size: 0,
                bit_size: None,
                type_name: "struct s".into(),
                ty: FieldType::Aggregate(ty.clone()),
                source: None,
            };
            ty =
                Arc::new(Layout::new("s", AggregateKind::Struct, 0, vec![m("a"), m("b")]).finish());
        }
        let e = decode_layout(&ty, &[]).unwrap_err();
        assert!(
            matches!(e, DecodeError::TooManyValues { len: 0, .. }),
            "{e}"
        );
    }

    /// An array declared with 2^32 elements over 24 bytes decodes the six
    /// elements the bytes hold.
    #[test]
    fn array_elements_follow_the_bytes_not_the_declared_count() {
        let v = array(
            &u(4, ByteOrder::Host),
            1 << 32,
            "__u32[4294967296]",
            &[0; 24],
            &mut Walk::new(24),
        );
        assert!(matches!(v, Ok(Decoded::Array(items)) if items.len() == 6));
    }
}
