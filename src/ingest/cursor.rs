//! An endian-aware cursor over a borrowed byte slice.
//!
//! Every read checks the remaining length first and reports the absolute
//! offset it failed at, so parsers built on it never index past what they
//! checked and always know where a problem is.

/// Byte order of a binary input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endian {
    Little,
    Big,
}

/// A read ran past the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated {
    /// Absolute offset at which the read started.
    pub offset: usize,
    /// Bytes the read needed.
    pub needed: usize,
    /// Bytes that were left.
    pub available: usize,
}

/// A cursor over `data`, whose first byte sits at absolute offset `base`.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    endian: Endian,
}

impl<'a> Cursor<'a> {
    /// A cursor over `data`; `base` is the absolute offset of `data[0]` in the input.
    pub fn new(data: &'a [u8], base: usize, endian: Endian) -> Self {
        Cursor {
            data,
            pos: 0,
            base,
            endian,
        }
    }

    /// Absolute offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Splits off the next `len` bytes without copying them.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], Truncated> {
        if self.remaining() < len {
            return Err(Truncated {
                offset: self.offset(),
                needed: len,
                available: self.remaining(),
            });
        }
        let out = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Truncated> {
        let b = self.array::<2>()?;
        Ok(match self.endian {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        })
    }

    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b = self.array::<4>()?;
        Ok(match self.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        })
    }

    pub fn i32(&mut self) -> Result<i32, Truncated> {
        self.u32().map(|v| v as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_byte_orders() {
        let data = [0x01, 0x02, 0x03, 0x04];
        assert_eq!(Cursor::new(&data, 0, Endian::Little).u32(), Ok(0x04030201));
        assert_eq!(Cursor::new(&data, 0, Endian::Big).u32(), Ok(0x01020304));
    }

    #[test]
    fn truncated_read_reports_absolute_offset() {
        let data = [0u8; 3];
        let mut c = Cursor::new(&data, 100, Endian::Little);
        c.u16().unwrap();
        assert_eq!(
            c.u16(),
            Err(Truncated {
                offset: 102,
                needed: 2,
                available: 1
            })
        );
    }
}
