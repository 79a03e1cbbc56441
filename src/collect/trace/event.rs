//! The records the trace program writes (`struct call` in
//! `bpf_calls.bpf.c`): little-endian, parsed with checked slices. A record
//! is the struct up to its value slot (320 bytes), plus the captured value
//! bytes for an update: at most the whole 576-byte struct.

/// Most key or value bytes the program captures per call.
pub const CAPTURE_BYTES: u32 = 256;
/// Bytes of the whole struct (`sizeof(struct call)`): the longest record.
pub const RECORD_SIZE: usize = 576;

const KEY_AT: usize = 64;
const VALUE_AT: usize = KEY_AT + CAPTURE_BYTES as usize;
/// The shortest record: everything before the value slot.
const MIN_RECORD: usize = VALUE_AT;

/// One record as the kernel side wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCall<'a> {
    pub time_ns: u64,
    pub ret: i64,
    pub flags: u64,
    pub pid: u32,
    pub tid: u32,
    pub cmd: u32,
    pub map_fd: i32,
    /// The caller's `comm`, up to its NUL (borrowed unless it is not UTF-8).
    pub comm: std::borrow::Cow<'a, str>,
    /// The captured key bytes, `None` when there was no key pointer or it
    /// could not be read.
    pub key: Option<&'a [u8]>,
    /// The captured value bytes (updates only).
    pub value: Option<&'a [u8]>,
}

/// The trace's name of a bpf(2) command, for the commands the program traces.
pub fn cmd_name(cmd: u32) -> Option<&'static str> {
    Some(match cmd {
        1 => "map_lookup_elem",
        2 => "map_update_elem",
        3 => "map_delete_elem",
        4 => "map_get_next_key",
        21 => "map_lookup_and_delete_elem",
        _ => return None,
    })
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// Parses one record; `None` when it is shorter than its header and key
/// slot, or than the value bytes it says it carries. Captured lengths are
/// capped at [`CAPTURE_BYTES`].
pub fn parse(rec: &[u8]) -> Option<RawCall<'_>> {
    if rec.len() < MIN_RECORD {
        return None;
    }
    let bytes = |ok_at: usize, len_at: usize, data_at: usize| -> Option<Option<&[u8]>> {
        let ok = *rec.get(ok_at)? != 0;
        let len = usize::from(u16_at(rec, len_at)?).min(CAPTURE_BYTES as usize);
        Some(if ok && len > 0 {
            Some(rec.get(data_at..data_at + len)?)
        } else {
            None
        })
    };
    Some(RawCall {
        time_ns: u64_at(rec, 0)?,
        ret: u64_at(rec, 8)? as i64,
        flags: u64_at(rec, 16)?,
        pid: u32_at(rec, 24)?,
        tid: u32_at(rec, 28)?,
        cmd: u32_at(rec, 32)?,
        map_fd: u32_at(rec, 36)? as i32,
        key: bytes(44, 40, KEY_AT)?,
        value: bytes(45, 42, VALUE_AT)?,
        comm: {
            let c = rec.get(48..64)?;
            String::from_utf8_lossy(&c[..c.iter().position(|&b| b == 0).unwrap_or(c.len())])
        },
    })
}

#[cfg(test)]
pub(crate) fn sample_record(
    cmd: u32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    ret: i64,
) -> Vec<u8> {
    let mut r = vec![0u8; RECORD_SIZE];
    r[0..8].copy_from_slice(&123u64.to_le_bytes());
    r[8..16].copy_from_slice(&ret.to_le_bytes());
    r[16..24].copy_from_slice(&1u64.to_le_bytes());
    r[24..28].copy_from_slice(&4711u32.to_le_bytes());
    r[28..32].copy_from_slice(&4712u32.to_le_bytes());
    r[32..36].copy_from_slice(&cmd.to_le_bytes());
    r[36..40].copy_from_slice(&7i32.to_le_bytes());
    if let Some(k) = key {
        r[40..42].copy_from_slice(&(k.len() as u16).to_le_bytes());
        r[44] = 1;
        r[KEY_AT..KEY_AT + k.len()].copy_from_slice(k);
    }
    if let Some(v) = value {
        r[42..44].copy_from_slice(&(v.len() as u16).to_le_bytes());
        r[45] = 1;
        r[VALUE_AT..VALUE_AT + v.len()].copy_from_slice(v);
    }
    r[48..53].copy_from_slice(b"agent");
    // As the program writes it: the value slot only as far as the value.
    r.truncate(VALUE_AT + value.map_or(0, |v| v.len()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_record() {
        let r = sample_record(2, Some(&[1, 2, 3, 4]), Some(&[9; 8]), -17);
        let c = parse(&r).unwrap();
        assert_eq!(c.time_ns, 123);
        assert_eq!(c.ret, -17);
        assert_eq!(
            (c.pid, c.tid, c.cmd, c.map_fd, c.flags),
            (4711, 4712, 2, 7, 1)
        );
        assert_eq!(c.comm, "agent");
        assert_eq!(c.key, Some(&[1u8, 2, 3, 4][..]));
        assert_eq!(c.value, Some(&[9u8; 8][..]));
    }

    #[test]
    fn missing_key_short_record_and_capped_lengths() {
        let r = sample_record(4, None, None, 0);
        assert_eq!(r.len(), MIN_RECORD);
        let c = parse(&r).unwrap();
        assert_eq!((c.key, c.value), (None, None));
        assert!(parse(&r[..MIN_RECORD - 1]).is_none());
        assert!(parse(&[]).is_none());
        // A record that says it carries 8 value bytes but is cut before them.
        let r = sample_record(2, Some(&[1; 4]), Some(&[9; 8]), 0);
        assert_eq!(r.len(), MIN_RECORD + 8);
        assert!(parse(&r[..MIN_RECORD + 7]).is_none());
        assert!(parse(&r).is_some());
        // A length field past the capture area is capped, not trusted.
        let mut r = sample_record(1, Some(&[5; 4]), None, 0);
        r[40..42].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(parse(&r).unwrap().key.map(|k| k.len()), Some(256));
    }

    #[test]
    fn command_names() {
        assert_eq!(cmd_name(1), Some("map_lookup_elem"));
        assert_eq!(cmd_name(21), Some("map_lookup_and_delete_elem"));
        assert_eq!(cmd_name(5), None);
    }
}
