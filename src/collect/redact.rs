//! `--redact`: which bytes of a key or value survive, in every member that
//! carries map bytes: dumps, snapshots (both through `dump.rs`) and the
//! trace's `key`/`value` bytes (`trace/mod.rs`), with one mask per map side.
//! Payload bytes are zeroed; padding bytes (those no member covers, per the
//! map's BTF) are kept, because uninitialised padding is exactly what the
//! analyses look for. Without BTF we cannot tell padding from payload and
//! zero everything. Lengths never change: a masked key is as long as the key.

use super::Redact;
use crate::bundle::{Masked, Redacted};
use crate::ingest::btf::{Btf, TypeId};
use crate::ingest::btf_layout::BtfLayouts;
use crate::model::layout::FieldType;

/// A per-byte AND mask and a sentence saying how it was derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactMask {
    pub mask: Vec<u8>,
    pub how: String,
    /// The map's BTF told padding from payload (else every byte is zeroed).
    pub padding_known: bool,
}

impl RedactMask {
    /// What the mask does to its side, for the manifest.
    pub fn masked(&self) -> Masked {
        if self.padding_known {
            Masked::Payload
        } else {
            Masked::All
        }
    }
}

/// `bytes` through `mask`: each byte ANDed with the mask's byte at its
/// offset; a byte past the mask's end is zeroed (an empty mask zeroes all).
pub fn apply(bytes: &[u8], mask: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| b & mask.get(i).copied().unwrap_or(0))
        .collect()
}

/// A value mask spread over a per-CPU buffer as updates pass it: `cpus`
/// slots of `stride` bytes (`round_up(value_size, 8)`), each the value's
/// mask followed by its alignment bytes, zeroed.
pub fn percpu_mask(mask: &[u8], stride: usize, cpus: usize) -> Vec<u8> {
    let stride = stride.max(mask.len());
    let mut out = Vec::with_capacity(stride.saturating_mul(cpus));
    for _ in 0..cpus {
        out.extend_from_slice(mask);
        out.resize(out.len() + (stride - mask.len()), 0);
    }
    out
}

/// One map's masks as `--redact` asks for them: `None` keeps a side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapMasks {
    pub key: Option<RedactMask>,
    pub value: Option<RedactMask>,
}

/// The sizes and BTF type ids of a map, as its info gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct MapSides {
    pub btf_key_type_id: u32,
    pub key_size: usize,
    pub btf_value_type_id: u32,
    pub value_size: usize,
}

impl MapMasks {
    /// The masks of a map whose BTF is `btf`: values with `--redact values`,
    /// keys and values with `--redact keys`.
    pub fn new(redact: Redact, btf: Option<&Btf>, sides: MapSides) -> MapMasks {
        if redact == Redact::None {
            return MapMasks::default();
        }
        let value = padding_mask(btf, sides.btf_value_type_id, sides.value_size);
        let key = (redact == Redact::Keys)
            .then(|| padding_mask(btf, sides.btf_key_type_id, sides.key_size));
        MapMasks {
            key,
            value: Some(value),
        }
    }

    /// The masks for bytes of a map that is not known (a trace call whose
    /// fd could not be resolved): every byte of a redacted side zeroed.
    pub fn unknown_map(redact: Redact) -> MapMasks {
        let none = |what: &str| RedactMask {
            mask: Vec::new(),
            how: format!("all bytes zeroed (the {what}'s map is not known: padding unknown)"),
            padding_known: false,
        };
        match redact {
            Redact::None => MapMasks::default(),
            Redact::Values => MapMasks {
                key: None,
                value: Some(none("value")),
            },
            Redact::Keys => MapMasks {
                key: Some(none("key")),
                value: Some(none("value")),
            },
        }
    }

    /// What the masks do, for the manifest.
    pub fn redacted(&self) -> Redacted {
        let side = |m: &Option<RedactMask>| m.as_ref().map_or(Masked::Kept, RedactMask::masked);
        Redacted {
            key: side(&self.key),
            value: side(&self.value),
        }
    }

    /// `key: …; value: …`, the sentence `maps[].redaction` holds.
    pub fn how(&self) -> String {
        fn side(m: &Option<RedactMask>) -> &str {
            m.as_ref().map_or("kept", |m| m.how.as_str())
        }
        format!("key: {}; value: {}", side(&self.key), side(&self.value))
    }
}

/// The mask for a key or value of `size` bytes whose BTF type is `type_id` in
/// `btf` (`None`/0 when the map has no BTF for it).
pub fn padding_mask(btf: Option<&Btf>, type_id: u32, size: usize) -> RedactMask {
    let zero_all = |why: &str| RedactMask {
        mask: vec![0; size],
        how: format!("all {size} bytes zeroed ({why})"),
        padding_known: false,
    };
    let Some(btf) = btf.filter(|_| type_id != 0) else {
        return zero_all("no BTF type: padding unknown");
    };
    let mut engine = BtfLayouts::new(btf);
    let ty = match engine.field_type(TypeId(type_id)) {
        Ok(t) => t,
        Err(e) => return zero_all(&format!("BTF type {type_id} unusable: {e}")),
    };
    if ty.size() != size as u64 {
        return zero_all(&format!(
            "BTF type {type_id} is {} bytes, the map says {size}",
            ty.size()
        ));
    }
    let FieldType::Aggregate(layout) = ty else {
        // Known to have no padding: all payload.
        return RedactMask {
            padding_known: true,
            ..zero_all(&format!("{} type has no padding", ty.kind_str()))
        };
    };
    let mut mask = vec![0u8; size];
    let mut kept = 0u64;
    let total_bits = size as u64 * 8;
    for (bit, bits) in layout.uncovered_bits() {
        // Bits past the buffer (a member placed beyond the type) are skipped
        // without looping over them.
        for b in bit.min(total_bits)..bit.saturating_add(bits).min(total_bits) {
            let byte = (b / 8) as usize;
            if let Some(m) = mask.get_mut(byte) {
                *m |= 1 << (b % 8);
                kept += 1;
            }
        }
    }
    RedactMask {
        mask,
        how: format!(
            "payload zeroed, {kept} padding bits of {} kept",
            layout.display_name()
        ),
        padding_known: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows_btf() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpora/dumps/flows/btf.kernel.btf"
        ))
        .unwrap()
    }

    /// `struct flow_key {u32 saddr; u16 sport; [2-byte hole]; u32 daddr; u8 proto; [3 pad]}`
    /// (corpora/bpf/README.md): exactly the hole and the tail padding are kept.
    #[test]
    fn keeps_only_flow_key_padding() {
        let data = flows_btf();
        let btf = Btf::parse(&data).unwrap();
        let id = btf.find_by_name("flow_key")[0];
        let m = padding_mask(Some(&btf), id.0, 16);
        assert_eq!(
            m.mask,
            [0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]
        );
        assert!(m.how.contains("40 padding bits"), "{}", m.how);
    }

    #[test]
    fn zeroes_everything_without_btf_or_with_mismatch() {
        assert_eq!(padding_mask(None, 3, 4).mask, [0; 4]);
        let data = flows_btf();
        let btf = Btf::parse(&data).unwrap();
        let id = btf.find_by_name("flow_key")[0];
        let m = padding_mask(Some(&btf), id.0, 8);
        assert_eq!(m.mask, [0; 8]);
        assert!(m.how.contains("the map says 8"), "{}", m.how);
        let m = padding_mask(Some(&btf), 999_999, 4);
        assert!(m.how.contains("unusable"), "{}", m.how);
    }
}
