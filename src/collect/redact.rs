//! `--redact`: which bytes of a key or value survive. Payload bytes are
//! zeroed; padding bytes (those no member covers, per the map's BTF) are kept,
//! because uninitialised padding is exactly what the analyses look for.
//! Without BTF we cannot tell padding from payload and zero everything.

use crate::ingest::btf::{Btf, TypeId};
use crate::model::from_btf::BtfLayouts;
use crate::model::layout::FieldType;

/// A per-byte AND mask and a sentence saying how it was derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactMask {
    pub mask: Vec<u8>,
    pub how: String,
}

/// The mask for a key or value of `size` bytes whose BTF type is `type_id` in
/// `btf` (`None`/0 when the map has no BTF for it).
pub fn padding_mask(btf: Option<&Btf>, type_id: u32, size: usize) -> RedactMask {
    let zero_all = |why: &str| RedactMask {
        mask: vec![0; size],
        how: format!("all {size} bytes zeroed ({why})"),
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
        return zero_all(&format!("{} type has no padding", ty.kind_str()));
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
