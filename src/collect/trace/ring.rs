//! Reading a `BPF_MAP_TYPE_RINGBUF` from user space without libbpf.
//!
//! The kernel's layout (`Documentation/bpf/ringbuf.rst`, `kernel/bpf/ringbuf.c`):
//! mmap offset 0 is the consumer page, whose first u64 is the consumer
//! position (user space writes it); offset `page_size` is the producer page
//! (first u64: the producer position), followed by the data area mapped
//! twice in a row, so a record that wraps past the end is still contiguous.
//! Each record is an 8-byte header, `len: u32` (bit 31 BUSY: not committed
//! yet; bit 30 DISCARD: skip it) and `pg_off: u32` (kernel-internal), then
//! `len` bytes, the whole padded to 8 bytes. Positions only grow; the data
//! offset is `pos & (size - 1)`.
//!
//! The parsing of records ([`drain_records`]) is separate from the mapping
//! so that it can be tested on a plain byte buffer.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Header bit: the producer has reserved but not yet committed the record.
pub const BUSY_BIT: u32 = 1 << 31;
/// Header bit: the producer discarded the record; skip it.
pub const DISCARD_BIT: u32 = 1 << 30;
/// Bytes of a record header.
pub const HDR_SIZE: u64 = 8;

/// A corrupt ring: a header that cannot be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ring buffer record at position {pos}: {why}")]
pub struct RingError {
    pub pos: u64,
    pub why: &'static str,
}

/// The bytes records are read from: the mapped data area (twice `size`
/// long) or, in tests, a buffer laid out the same way.
pub trait RingData {
    /// The record header word at byte `off` of the data area, read with
    /// acquire ordering (so the record's bytes are visible once BUSY is
    /// clear); `None` past the end.
    fn header(&self, off: usize) -> Option<u32>;
    /// Appends `len` bytes from byte `off` to `out`; false past the end.
    fn copy_to(&self, off: usize, len: usize, out: &mut Vec<u8>) -> bool;
}

impl RingData for [u8] {
    fn header(&self, off: usize) -> Option<u32> {
        let b = self.get(off..off.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn copy_to(&self, off: usize, len: usize, out: &mut Vec<u8>) -> bool {
        match off.checked_add(len).and_then(|end| self.get(off..end)) {
            Some(b) => {
                out.extend_from_slice(b);
                true
            }
            None => false,
        }
    }
}

/// What one [`drain_records`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// The new consumer position, to be stored back (release).
    pub cons: u64,
    /// Records handed to the sink (discarded ones not counted).
    pub records: usize,
    /// Whether it stopped at a record still BUSY (or at `max`) before `prod`.
    pub more: bool,
}

/// Hands the committed records between consumer position `cons` and
/// producer position `prod` to `sink`, at most `max` records (discarded ones
/// count too, so the loop is bounded). `size` is the data area's size, a
/// power of two; `data` is twice that long.
pub fn drain_records(
    data: &(impl RingData + ?Sized),
    size: u64,
    mut cons: u64,
    prod: u64,
    max: usize,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<Drained, RingError> {
    if !size.is_power_of_two() {
        return Err(RingError {
            pos: cons,
            why: "ring size is not a power of two",
        });
    }
    let mask = size - 1;
    let mut buf = Vec::new();
    let mut records = 0;
    let mut seen = 0;
    while cons < prod {
        if seen >= max {
            return Ok(Drained {
                cons,
                records,
                more: true,
            });
        }
        let bad = |why| RingError { pos: cons, why };
        let off = (cons & mask) as usize;
        let hdr = data
            .header(off)
            .ok_or_else(|| bad("header outside the ring"))?;
        if hdr & BUSY_BIT != 0 {
            return Ok(Drained {
                cons,
                records,
                more: true,
            });
        }
        let len = hdr & !(BUSY_BIT | DISCARD_BIT);
        let total = (u64::from(len) + HDR_SIZE).div_ceil(8) * 8;
        if total > size || total > prod - cons {
            return Err(bad("record longer than the ring or past the producer"));
        }
        if hdr & DISCARD_BIT == 0 {
            buf.clear();
            if !data.copy_to(off + HDR_SIZE as usize, len as usize, &mut buf) {
                return Err(bad("record outside the ring"));
            }
            sink(&buf);
            records += 1;
        }
        seen += 1;
        cons += total;
    }
    Ok(Drained {
        cons,
        records,
        more: false,
    })
}

/// The data area of a mapped ring: `len` (= 2 × size) bytes at `base`.
struct Mapped {
    base: *const u8,
    len: usize,
}

impl RingData for Mapped {
    fn header(&self, off: usize) -> Option<u32> {
        // Headers are 8-byte aligned (records are padded to 8), so the u32
        // at `off` is aligned for an atomic load.
        if off % 8 != 0 || off.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: in bounds of the live read-only mapping and aligned; the
        // kernel writes this word concurrently, hence the atomic load.
        let word = unsafe { AtomicU32::from_ptr(self.base.add(off) as *mut u32) };
        Some(word.load(Ordering::Acquire))
    }

    fn copy_to(&self, off: usize, len: usize, out: &mut Vec<u8>) -> bool {
        match off.checked_add(len) {
            Some(end) if end <= self.len => {
                // SAFETY: in bounds; the record is committed (BUSY clear,
                // seen with acquire), so the kernel no longer writes it
                // until we move the consumer position past it.
                let bytes = unsafe { std::slice::from_raw_parts(self.base.add(off), len) };
                out.extend_from_slice(bytes);
                true
            }
            _ => false,
        }
    }
}

/// A ring buffer map mapped for reading. Unmapped on drop.
pub struct RingBuffer {
    fd: i32,
    page: usize,
    size: u64,
    consumer: *mut libc::c_void,
    producer: *mut libc::c_void,
}

// SAFETY: the mappings belong to this value alone (nothing else in the
// process holds the pointers) and stay valid until its drop unmaps them, on
// whatever thread that happens; the trace moves it to its reading thread.
unsafe impl Send for RingBuffer {}

fn mmap(fd: i32, len: usize, prot: i32, offset: usize) -> io::Result<*mut libc::c_void> {
    // SAFETY: a fresh shared mapping of the map fd; the kernel checks the
    // offset, length and protection against what the ring allows.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED,
            fd,
            offset as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(p)
    }
}

impl RingBuffer {
    /// Maps the ring of `map` (a `BPF_MAP_TYPE_RINGBUF` of `size` bytes,
    /// its max_entries). The fd must outlive the `RingBuffer`.
    pub fn new(map: &OwnedFd, size: u64) -> io::Result<RingBuffer> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = usize::try_from(page)
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096);
        if !size.is_power_of_two() || size % page as u64 != 0 || size > 1 << 32 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("ring size {size} is not a power-of-two multiple of the page size"),
            ));
        }
        let fd = map.as_raw_fd();
        let consumer = mmap(fd, page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = match mmap(fd, page + 2 * size as usize, libc::PROT_READ, page) {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: the consumer page was mapped just above.
                unsafe { libc::munmap(consumer, page) };
                return Err(e);
            }
        };
        Ok(RingBuffer {
            fd,
            page,
            size,
            consumer,
            producer,
        })
    }

    fn consumer_pos(&self) -> &AtomicU64 {
        // SAFETY: the consumer page is mapped read-write for our lifetime,
        // page-aligned; the kernel reads the word concurrently.
        unsafe { AtomicU64::from_ptr(self.consumer as *mut u64) }
    }

    fn producer_pos(&self) -> &AtomicU64 {
        // SAFETY: as above, read-only; only loads are made through it.
        unsafe { AtomicU64::from_ptr(self.producer as *mut u64) }
    }

    /// Waits up to `timeout_ms` for the kernel to signal new records (the
    /// kernel wakes the reader only when it had caught up, so a timeout
    /// still means the ring must be drained). EINTR counts as a wakeup.
    pub fn wait(&self, timeout_ms: i32) {
        let mut p = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, timeout_ms) };
    }

    /// Hands up to `max` committed records to `sink` and releases their
    /// space to the kernel. Returns the records read and whether more
    /// were waiting.
    pub fn drain(&self, max: usize, sink: &mut dyn FnMut(&[u8])) -> Result<Drained, RingError> {
        let cons = self.consumer_pos().load(Ordering::Acquire);
        let prod = self.producer_pos().load(Ordering::Acquire);
        let data = Mapped {
            // SAFETY: the data area starts one page into the producer mapping.
            base: unsafe { (self.producer as *const u8).add(self.page) },
            len: 2 * self.size as usize,
        };
        let d = drain_records(&data, self.size, cons, prod, max, sink)?;
        // Release: our reads of the records happen before the kernel may
        // overwrite them.
        self.consumer_pos().store(d.cons, Ordering::Release);
        Ok(d)
    }
}

impl Drop for RingBuffer {
    fn drop(&mut self) {
        // SAFETY: both mappings were made in `new` with these lengths and
        // nothing borrowed from them outlives `self`.
        unsafe {
            libc::munmap(self.consumer, self.page);
            libc::munmap(self.producer, self.page + 2 * self.size as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data area of `size` bytes, written at ring positions and then
    /// doubled as the kernel maps it.
    struct FakeRing {
        size: usize,
        bytes: Vec<u8>,
    }

    impl FakeRing {
        fn new(size: usize) -> Self {
            FakeRing {
                size,
                bytes: vec![0; size],
            }
        }

        fn put(&mut self, pos: u64, data: &[u8]) {
            for (i, b) in data.iter().enumerate() {
                let at = (pos as usize + i) % self.size;
                self.bytes[at] = *b;
            }
        }

        /// Writes a record at `pos`; returns the next position.
        fn record(&mut self, pos: u64, hdr_flags: u32, payload: &[u8]) -> u64 {
            let len = payload.len() as u32 | hdr_flags;
            self.put(pos, &len.to_le_bytes());
            self.put(pos + 4, &[0; 4]);
            self.put(pos + 8, payload);
            pos + (payload.len() as u64 + 8).div_ceil(8) * 8
        }

        fn doubled(&self) -> Vec<u8> {
            let mut d = self.bytes.clone();
            d.extend_from_slice(&self.bytes);
            d
        }
    }

    fn collect(
        data: &[u8],
        size: u64,
        cons: u64,
        prod: u64,
        max: usize,
    ) -> (Drained, Vec<Vec<u8>>) {
        let mut got = Vec::new();
        let d = drain_records(data, size, cons, prod, max, &mut |r| got.push(r.to_vec())).unwrap();
        (d, got)
    }

    #[test]
    fn reads_records_skips_discarded_stops_at_busy() {
        let mut r = FakeRing::new(128);
        let p1 = r.record(0, 0, b"abc");
        let p2 = r.record(p1, DISCARD_BIT, b"skipped!");
        let p3 = r.record(p2, 0, &[7; 9]);
        let p4 = r.record(p3, BUSY_BIT, b"not yet");
        let data = r.doubled();
        assert_eq!(p1, 16);
        let (d, got) = collect(&data, 128, 0, p4, 100);
        assert_eq!(got, vec![b"abc".to_vec(), vec![7; 9]]);
        assert_eq!(d.cons, p3, "stops before the busy record");
        assert!(d.more);
        // Nothing new: nothing read, position unchanged.
        let (d, got) = collect(&data, 128, p3, p3, 100);
        assert!(got.is_empty());
        assert_eq!(d.cons, p3);
        assert!(!d.more);
    }

    #[test]
    fn record_wrapping_past_the_end_is_read_whole() {
        let mut r = FakeRing::new(64);
        // Positions keep growing past the size; this record starts at data
        // offset 48 and runs 8 bytes past the end of the ring.
        let start = 64 * 3 + 48;
        let payload: Vec<u8> = (1..=20).collect();
        let end = r.record(start, 0, &payload);
        assert_eq!(end - start, 32);
        let (d, got) = collect(&r.doubled(), 64, start, end, 10);
        assert_eq!(got, vec![payload]);
        assert_eq!(d.cons, end);
    }

    #[test]
    fn bounded_and_rejects_corrupt_headers() {
        let mut r = FakeRing::new(64);
        let mut pos = 0;
        for i in 0..4u8 {
            pos = r.record(pos, 0, &[i]);
        }
        let data = r.doubled();
        let (d, got) = collect(&data, 64, 0, pos, 2);
        assert_eq!(got.len(), 2);
        assert!(d.more);
        assert_eq!(d.cons, 32);

        // A length past the producer position.
        let mut r = FakeRing::new(64);
        r.record(0, 0, &[0; 40]);
        let err = drain_records(&r.doubled()[..], 64, 0, 16, 10, &mut |_| {}).unwrap_err();
        assert_eq!(err.pos, 0);
        // A length longer than the ring.
        let mut bad = [0u8; 128];
        bad[..4].copy_from_slice(&1000u32.to_le_bytes());
        assert!(drain_records(&bad[..], 64, 0, 2048, 10, &mut |_| {}).is_err());
        // A data area shorter than it should be.
        assert!(drain_records(&bad[..2], 64, 0, 16, 10, &mut |_| {}).is_err());
        assert!(drain_records(&bad[..], 48, 0, 16, 10, &mut |_| {}).is_err());
    }
}
