//! BPF instructions, decoded (kernel `Documentation/bpf/standardization/
//! instruction-set.rst`): 8 bytes each, `opcode`, `dst_reg`:4, `src_reg`:4,
//! `off`:s16, `imm`:s32; `ld_imm64` takes two slots, the second holding the
//! upper 32 bits of the constant.

/// Instruction classes (`opcode & 7`).
pub const CLASS_LD: u8 = 0;
pub const CLASS_LDX: u8 = 1;
pub const CLASS_ST: u8 = 2;
pub const CLASS_STX: u8 = 3;
pub const CLASS_ALU: u8 = 4;
pub const CLASS_JMP: u8 = 5;
pub const CLASS_JMP32: u8 = 6;
pub const CLASS_ALU64: u8 = 7;

/// Load/store modes (`opcode & 0xe0`).
pub const MODE_IMM: u8 = 0x00;
pub const MODE_ABS: u8 = 0x20;
pub const MODE_IND: u8 = 0x40;
pub const MODE_MEM: u8 = 0x60;
pub const MODE_MEMSX: u8 = 0x80;
pub const MODE_ATOMIC: u8 = 0xc0;

/// Jump operations (`opcode & 0xf0`).
pub const JMP_JA: u8 = 0x00;
pub const JMP_CALL: u8 = 0x80;
pub const JMP_EXIT: u8 = 0x90;

/// ALU operations (`opcode & 0xf0`).
pub const ALU_ADD: u8 = 0x00;
pub const ALU_SUB: u8 = 0x10;
pub const ALU_MUL: u8 = 0x20;
pub const ALU_OR: u8 = 0x40;
pub const ALU_AND: u8 = 0x50;
pub const ALU_LSH: u8 = 0x60;
pub const ALU_RSH: u8 = 0x70;
pub const ALU_XOR: u8 = 0xa0;
pub const ALU_MOV: u8 = 0xb0;

/// `call` src_reg values.
pub const PSEUDO_HELPER: u8 = 0;
pub const PSEUDO_CALL: u8 = 1;
pub const PSEUDO_KFUNC: u8 = 2;

/// `atomic` imm flag: the old value is fetched into `src_reg` (or r0 for
/// cmpxchg).
pub const ATOMIC_FETCH: i32 = 0x01;
pub const ATOMIC_CMPXCHG: i32 = 0xf0 | ATOMIC_FETCH;

/// One decoded instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
    /// For `ld_imm64`: the second slot's imm (upper 32 bits).
    pub imm_hi: i32,
}

/// Why the instructions cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsnError {
    #[error("ld_imm64 at instruction {0} has no second slot")]
    TruncatedLdImm64(usize),
    #[error("instruction {0} uses register {1} (only r0-r10 exist)")]
    BadRegister(usize, u8),
}

impl Insn {
    pub fn class(&self) -> u8 {
        self.code & 7
    }
    pub fn mode(&self) -> u8 {
        self.code & 0xe0
    }
    pub fn op(&self) -> u8 {
        self.code & 0xf0
    }
    /// Source operand is a register (`BPF_X`), not `imm`.
    pub fn src_is_reg(&self) -> bool {
        self.code & 0x08 != 0
    }
    /// Access size in bytes of a load or store (`opcode & 0x18`).
    pub fn size(&self) -> u8 {
        match self.code & 0x18 {
            0x00 => 4,
            0x08 => 2,
            0x10 => 1,
            _ => 8,
        }
    }
    /// `ld_imm64`: `BPF_LD | BPF_DW | BPF_IMM`.
    pub fn is_ld_imm64(&self) -> bool {
        self.code == 0x18
    }
    /// The 64-bit constant of an `ld_imm64`.
    pub fn imm64(&self) -> i64 {
        ((self.imm_hi as u32 as u64) << 32 | self.imm as u32 as u64) as i64
    }
    /// A jump (not call, not exit).
    pub fn is_jump(&self) -> bool {
        matches!(self.class(), CLASS_JMP | CLASS_JMP32) && !matches!(self.op(), JMP_CALL | JMP_EXIT)
    }
    /// An unconditional jump: `ja` (JMP, 16-bit off) or `gotol` (JMP32,
    /// 32-bit imm).
    pub fn is_ja(&self) -> bool {
        self.is_jump() && self.op() == JMP_JA
    }
    /// The target of a jump at `pc`, as a signed slot index.
    pub fn jump_target(&self, pc: usize) -> i64 {
        let delta = if self.class() == CLASS_JMP32 && self.op() == JMP_JA {
            self.imm as i64
        } else {
            self.off as i64
        };
        pc as i64 + delta + 1
    }
}

/// Decodes `code` (whole 8-byte slots) into `(slot index, insn)` pairs; the
/// second slot of an `ld_imm64` gets no entry of its own.
pub fn decode(code: &[u8], little: bool) -> Result<Vec<(usize, Insn)>, InsnError> {
    let slots = code.len() / 8;
    let mut out = Vec::with_capacity(slots);
    let mut i = 0;
    while i < slots {
        let b = &code[i * 8..i * 8 + 8];
        let (dst, src) = if little {
            (b[1] & 0x0f, b[1] >> 4)
        } else {
            (b[1] >> 4, b[1] & 0x0f)
        };
        let off = [b[2], b[3]];
        let imm = [b[4], b[5], b[6], b[7]];
        let (off, imm) = if little {
            (i16::from_le_bytes(off), i32::from_le_bytes(imm))
        } else {
            (i16::from_be_bytes(off), i32::from_be_bytes(imm))
        };
        let mut insn = Insn {
            code: b[0],
            dst,
            src,
            off,
            imm,
            imm_hi: 0,
        };
        if dst > 10 {
            return Err(InsnError::BadRegister(i, dst));
        }
        if insn.is_ld_imm64() {
            let Some(hi) = code.get(i * 8 + 12..i * 8 + 16) else {
                return Err(InsnError::TruncatedLdImm64(i));
            };
            let hi = [hi[0], hi[1], hi[2], hi[3]];
            insn.imm_hi = if little {
                i32::from_le_bytes(hi)
            } else {
                i32::from_be_bytes(hi)
            };
            out.push((i, insn));
            i += 2;
            continue;
        }
        out.push((i, insn));
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const CODE: [u8; 32] = [
        0xbf, 0xa2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // r2 = r10
        0x18, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // r1 = 0x2_0000_0001 ll
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, //   (second slot)
        0x06, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, // gotol -2
    ];

    #[test]
    fn decodes_ld_imm64_and_gotol() {
        let insns = decode(&CODE, true).unwrap();
        assert_eq!(insns.len(), 3);
        assert_eq!((insns[0].1.dst, insns[0].1.src), (2, 10));
        assert_eq!(insns[1].0, 1);
        assert_eq!(insns[1].1.imm64(), 0x2_0000_0001);
        assert_eq!(insns[2].0, 3);
        assert!(insns[2].1.is_ja());
        assert_eq!(insns[2].1.jump_target(3), 2);
    }

    #[test]
    fn truncated_ld_imm64_is_an_error() {
        assert_eq!(
            decode(&CODE[8..16], true),
            Err(InsnError::TruncatedLdImm64(0))
        );
    }

    #[test]
    fn bad_register_is_an_error() {
        let mut c = CODE;
        c[1] = 0x0b;
        assert_eq!(decode(&c[..8], true), Err(InsnError::BadRegister(0, 11)));
    }
}
