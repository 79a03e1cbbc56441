//! The bpf(2) syscall layer: `#[repr(C)]` mirrors of the parts of
//! `union bpf_attr` and the `bpf_*_info` structs collect uses
//! (`/usr/include/linux/bpf.h`), and safe wrappers around the read-only
//! commands. Nothing here updates, deletes, pins or unpins a map collect did
//! not create itself.
//!
//! The one exception to "read-only" is `--trace-pid`: [`map_create`],
//! [`prog_load`] and the perf-event helpers at the end load collect's own
//! trace program (`collect::trace`) and attach it to two tracepoints for the
//! trace's duration; closing the returned fds detaches and frees it all.
//!
//! Each command gets its own attr struct, zeroed, and we pass its size: the
//! kernel accepts a prefix of `union bpf_attr` and zero-fills the rest.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

const BPF_MAP_CREATE: i32 = 0;
const BPF_MAP_LOOKUP_ELEM: i32 = 1;
/// Test helpers only (`collect::sys::update_elem`): collect itself never writes.
const BPF_MAP_UPDATE_ELEM: i32 = 2;
const BPF_MAP_DELETE_ELEM: i32 = 3;
const BPF_MAP_GET_NEXT_KEY: i32 = 4;
const BPF_PROG_LOAD: i32 = 5;
const BPF_OBJ_GET: i32 = 7;
const BPF_PROG_GET_NEXT_ID: i32 = 11;
const BPF_MAP_GET_NEXT_ID: i32 = 12;
const BPF_PROG_GET_FD_BY_ID: i32 = 13;
const BPF_MAP_GET_FD_BY_ID: i32 = 14;
const BPF_OBJ_GET_INFO_BY_FD: i32 = 15;
const BPF_BTF_GET_FD_BY_ID: i32 = 19;
const BPF_BTF_GET_NEXT_ID: i32 = 23;
const BPF_RAW_TRACEPOINT_OPEN: i32 = 17;
const BPF_MAP_LOOKUP_BATCH: i32 = 24;
const BPF_LINK_GET_FD_BY_ID: i32 = 30;
const BPF_LINK_GET_NEXT_ID: i32 = 31;

/// `BPF_F_RDONLY`: open a map (by id or pin) for reading only.
pub const BPF_F_RDONLY: u32 = 1 << 3;
/// The kernel-internal `ENOTSUPP`, which leaks to user space from some map ops.
pub const ENOTSUPP: i32 = 524;
/// `BPF_OBJ_NAME_LEN`.
const OBJ_NAME_LEN: usize = 16;

/// `BPF_MAP_*_ELEM` commands.
#[repr(C)]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value_or_next_key: u64,
    flags: u64,
}

/// `BPF_MAP_*_BATCH` commands (`attr.batch`).
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// `BPF_MAP_CREATE`, up to `map_ifindex` (the kernel zero-fills the rest:
/// no BTF, no map_extra).
#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; OBJ_NAME_LEN],
    map_ifindex: u32,
}

/// `BPF_PROG_LOAD`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; OBJ_NAME_LEN],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `BPF_OBJ_PIN`/`BPF_OBJ_GET`.
#[repr(C)]
#[derive(Default)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

/// `BPF_*_GET_NEXT_ID` and `BPF_*_GET_FD_BY_ID`.
#[repr(C)]
#[derive(Default)]
struct IdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD` (`attr.info`).
#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `struct bpf_map_info`.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, Default)]
pub struct MapInfo {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: [u8; OBJ_NAME_LEN],
    pub ifindex: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub btf_id: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    _pad: u32,
    pub map_extra: u64,
}

/// `struct bpf_prog_info`.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgInfo {
    pub prog_type: u32,
    pub id: u32,
    pub tag: [u8; 8],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub jited_prog_insns: u64,
    pub xlated_prog_insns: u64,
    pub load_time: u64,
    pub created_by_uid: u32,
    pub nr_map_ids: u32,
    pub map_ids: u64,
    pub name: [u8; OBJ_NAME_LEN],
    pub ifindex: u32,
    pub gpl_compatible: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub nr_jited_ksyms: u32,
    pub nr_jited_func_lens: u32,
    pub jited_ksyms: u64,
    pub jited_func_lens: u64,
    pub btf_id: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub nr_func_info: u32,
    pub nr_line_info: u32,
    pub line_info: u64,
    pub jited_line_info: u64,
    pub nr_jited_line_info: u32,
    pub line_info_rec_size: u32,
    pub jited_line_info_rec_size: u32,
    pub nr_prog_tags: u32,
    pub prog_tags: u64,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub verified_insns: u32,
    pub attach_btf_obj_id: u32,
    pub attach_btf_id: u32,
    _pad: u32,
}

/// `struct bpf_btf_info`.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, Default)]
pub struct BtfInfo {
    pub btf: u64,
    pub btf_size: u32,
    pub id: u32,
    pub name: u64,
    pub name_len: u32,
    pub kernel_btf: u32,
}

/// The head of `struct bpf_link_info` (type, id, prog_id) and room for the
/// union, left zeroed so the kernel writes no names through pointers.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkInfo {
    pub link_type: u32,
    pub id: u32,
    pub prog_id: u32,
    _pad: u32,
    pub union_words: [u64; 6],
}

/// Which kind of object an id or pin names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjKind {
    Map,
    Prog,
    Btf,
    Link,
}

fn sys_bpf<T>(cmd: i32, attr: &mut T) -> io::Result<i64> {
    // SAFETY: attr is a live, initialised #[repr(C)] prefix of union bpf_attr
    // and we pass its exact size; the kernel reads/writes only that many bytes
    // plus the user buffers whose pointers (and lengths) the attr carries.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as i64)
    }
}

fn fd_result(ret: i64) -> OwnedFd {
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    unsafe { OwnedFd::from_raw_fd(ret as i32) }
}

/// The next object id after `start` (0 for the first), or `None` at the end.
pub fn next_id(kind: ObjKind, start: u32) -> io::Result<Option<u32>> {
    let cmd = match kind {
        ObjKind::Map => BPF_MAP_GET_NEXT_ID,
        ObjKind::Prog => BPF_PROG_GET_NEXT_ID,
        ObjKind::Btf => BPF_BTF_GET_NEXT_ID,
        ObjKind::Link => BPF_LINK_GET_NEXT_ID,
    };
    let mut attr = IdAttr {
        id: start,
        ..Default::default()
    };
    match sys_bpf(cmd, &mut attr) {
        Ok(_) => Ok(Some(attr.next_id)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every id of `kind`, in increasing order. The walk is bounded: ids only grow.
pub fn all_ids(kind: ObjKind) -> io::Result<Vec<u32>> {
    let mut ids = Vec::new();
    let mut cur = 0;
    while let Some(id) = next_id(kind, cur)? {
        if id <= cur {
            break;
        }
        ids.push(id);
        cur = id;
    }
    Ok(ids)
}

/// Opens an object by id. Maps are opened with `BPF_F_RDONLY`.
pub fn fd_by_id(kind: ObjKind, id: u32) -> io::Result<OwnedFd> {
    let (cmd, open_flags) = match kind {
        ObjKind::Map => (BPF_MAP_GET_FD_BY_ID, BPF_F_RDONLY),
        ObjKind::Prog => (BPF_PROG_GET_FD_BY_ID, 0),
        ObjKind::Btf => (BPF_BTF_GET_FD_BY_ID, 0),
        ObjKind::Link => (BPF_LINK_GET_FD_BY_ID, 0),
    };
    let mut attr = IdAttr {
        id,
        next_id: 0,
        open_flags,
    };
    sys_bpf(cmd, &mut attr).map(fd_result)
}

/// Opens a pinned object (`BPF_OBJ_GET`) read-only. Opening a pin does not
/// change it.
pub fn obj_get(path: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let mut attr = ObjAttr {
        pathname: c.as_ptr() as u64,
        bpf_fd: 0,
        file_flags: BPF_F_RDONLY,
    };
    match sys_bpf(BPF_OBJ_GET, &mut attr) {
        Ok(fd) => Ok(fd_result(fd)),
        // Programs and links refuse BPF_F_RDONLY; they have no contents to protect.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            attr.file_flags = 0;
            sys_bpf(BPF_OBJ_GET, &mut attr).map(fd_result)
        }
        Err(e) => Err(e),
    }
}

fn info_by_fd<T>(fd: &OwnedFd, info: &mut T) -> io::Result<()> {
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<T>() as u32,
        info: info as *mut T as u64,
    };
    sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).map(|_| ())
}

/// `BPF_OBJ_GET_INFO_BY_FD` for a map.
pub fn map_info(fd: &OwnedFd) -> io::Result<MapInfo> {
    let mut info = MapInfo::default();
    info_by_fd(fd, &mut info)?;
    Ok(info)
}

/// `BPF_OBJ_GET_INFO_BY_FD` for a link.
pub fn link_info(fd: &OwnedFd) -> io::Result<LinkInfo> {
    let mut info = LinkInfo::default();
    info_by_fd(fd, &mut info)?;
    Ok(info)
}

/// Most map ids a program can reference (the verifier's `MAX_USED_MAPS` is 64;
/// later kernels raised it); a larger count from the kernel is capped here.
const MAX_PROG_MAPS: u32 = 4096;

/// A program's info and its map ids, by the two-call pattern: the first call
/// says how many map ids there are, the second passes a buffer for them.
pub fn prog_info(fd: &OwnedFd) -> io::Result<(ProgInfo, Vec<u32>)> {
    let mut info = ProgInfo::default();
    info_by_fd(fd, &mut info)?;
    let n = info.nr_map_ids.min(MAX_PROG_MAPS);
    if n == 0 {
        return Ok((info, Vec::new()));
    }
    let mut ids = vec![0u32; n as usize];
    let mut second = ProgInfo {
        nr_map_ids: n,
        map_ids: ids.as_mut_ptr() as u64,
        ..Default::default()
    };
    info_by_fd(fd, &mut second)?;
    // The program cannot gain maps, but never trust a count past our buffer.
    ids.truncate(second.nr_map_ids.min(n) as usize);
    second.map_ids = 0;
    Ok((second, ids))
}

/// A program's translated code, as `BPF_OBJ_GET_INFO_BY_FD` returns it:
/// the instructions (`xlated_prog_insns`, map loads rewritten to map ids,
/// helper calls to kernel-relative addresses) and the raw `func_info` and
/// `line_info` records with their record sizes.
#[derive(Debug, Clone, Default)]
pub struct ProgCode {
    pub xlated: Vec<u8>,
    pub func_info: Vec<u8>,
    pub func_info_rec_size: u32,
    pub line_info: Vec<u8>,
    pub line_info_rec_size: u32,
    /// What a cap (`limits::MAX_PROG_*`) left out, one line each.
    pub cut: Vec<String>,
}

/// A program's translated code, by a second `BPF_OBJ_GET_INFO_BY_FD` with
/// buffers sized from the first call's counts (`first`), each capped by
/// `limits::MAX_PROG_*`: code over the cap is not read at all, func/line
/// info over theirs is read up to the cap. Read-only.
pub fn prog_code(fd: &OwnedFd, first: &ProgInfo) -> io::Result<ProgCode> {
    use crate::limits::{
        MAX_PROG_FUNC_INFO, MAX_PROG_INFO_REC_SIZE, MAX_PROG_INSNS, MAX_PROG_LINE_INFO,
    };
    let mut code = ProgCode::default();
    let xlated_len = if u64::from(first.xlated_prog_len) > MAX_PROG_INSNS * 8 {
        code.cut.push(format!(
            "{} bytes of translated code, over {} instructions (limits::MAX_PROG_INSNS): not saved",
            first.xlated_prog_len, MAX_PROG_INSNS
        ));
        0
    } else {
        first.xlated_prog_len
    };
    // The kernel takes a record size only if it is its own (EINVAL else);
    // one past our cap is not asked for.
    let records = |n: u32, size: u32, cap: u64, what: &str, cut: &mut Vec<String>| {
        if n == 0 || size == 0 || size > MAX_PROG_INFO_REC_SIZE {
            return (0, 0);
        }
        if u64::from(n) > cap {
            cut.push(format!(
                "{n} {what} records, cut at {cap} (limits::MAX_PROG_{})",
                what.to_uppercase()
            ));
        }
        (n.min(cap as u32), size)
    };
    let (nf, fsize) = records(
        first.nr_func_info,
        first.func_info_rec_size,
        MAX_PROG_FUNC_INFO,
        "func_info",
        &mut code.cut,
    );
    let (nl, lsize) = records(
        first.nr_line_info,
        first.line_info_rec_size,
        MAX_PROG_LINE_INFO,
        "line_info",
        &mut code.cut,
    );
    let mut xlated = vec![0u8; xlated_len as usize];
    let mut finfo = vec![0u8; nf as usize * fsize as usize];
    let mut linfo = vec![0u8; nl as usize * lsize as usize];
    let mut second = ProgInfo {
        xlated_prog_len: xlated_len,
        xlated_prog_insns: if xlated_len > 0 {
            xlated.as_mut_ptr() as u64
        } else {
            0
        },
        nr_func_info: nf,
        func_info_rec_size: fsize,
        func_info: if nf > 0 { finfo.as_mut_ptr() as u64 } else { 0 },
        nr_line_info: nl,
        line_info_rec_size: lsize,
        line_info: if nl > 0 { linfo.as_mut_ptr() as u64 } else { 0 },
        ..Default::default()
    };
    info_by_fd(fd, &mut second)?;
    // The program cannot change, but never trust a count past our buffers.
    xlated.truncate(second.xlated_prog_len.min(xlated_len) as usize);
    finfo.truncate(second.nr_func_info.min(nf) as usize * fsize as usize);
    linfo.truncate(second.nr_line_info.min(nl) as usize * lsize as usize);
    code.xlated = xlated;
    code.func_info = finfo;
    code.func_info_rec_size = fsize;
    code.line_info = linfo;
    code.line_info_rec_size = lsize;
    Ok(code)
}

/// Largest BTF blob we copy out of the kernel (vmlinux is ~6 MB).
pub use crate::limits::COLLECT_BTF_BYTES as MAX_BTF_BYTES;

/// A BTF object's info, its name (for kernel BTF: `vmlinux` or the module),
/// and its raw blob, by the two-call pattern.
pub fn btf_info(fd: &OwnedFd) -> io::Result<(BtfInfo, String, Vec<u8>)> {
    let mut name = [0u8; 64];
    let mut info = BtfInfo {
        name: name.as_mut_ptr() as u64,
        name_len: name.len() as u32,
        ..Default::default()
    };
    info_by_fd(fd, &mut info)?;
    let size = info.btf_size;
    if size > MAX_BTF_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("BTF object is {size} bytes, over the {MAX_BTF_BYTES}-byte limit"),
        ));
    }
    let mut blob = vec![0u8; size as usize];
    let mut second = BtfInfo {
        btf: blob.as_mut_ptr() as u64,
        btf_size: size,
        name: name.as_mut_ptr() as u64,
        name_len: name.len() as u32,
        ..Default::default()
    };
    info_by_fd(fd, &mut second)?;
    blob.truncate(second.btf_size.min(size) as usize);
    second.btf = 0;
    second.name = 0;
    Ok((second, c_name(&name), blob))
}

/// A NUL-terminated name from a fixed buffer.
pub fn c_name(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// `BPF_MAP_LOOKUP_ELEM`: `Ok(false)` when the key is not (or no longer) there.
pub fn lookup_elem(fd: &OwnedFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value_or_next_key: value.as_mut_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first key for `None`),
/// written to `next`; `Ok(false)` at the end.
pub fn get_next_key(fd: &OwnedFd, key: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.map_or(0, |k| k.as_ptr() as u64),
        value_or_next_key: next.as_mut_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The outcome of one `BPF_MAP_LOOKUP_BATCH` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Entries filled in `keys`/`values`.
    pub count: u32,
    /// The kernel said ENOENT: no entries after these.
    pub done: bool,
}

/// `BPF_MAP_LOOKUP_BATCH`: up to `max` entries after the position in
/// `in_batch` (`None` = from the start); the next position is written to
/// `out_batch`. `keys`/`values` must hold `max` keys/values (per-CPU values:
/// `possible_cpus × round_up(value_size, 8)` each).
pub fn lookup_batch(
    fd: &OwnedFd,
    in_batch: Option<&[u8]>,
    out_batch: &mut [u8],
    keys: &mut [u8],
    values: &mut [u8],
    max: u32,
) -> io::Result<BatchOutcome> {
    let mut attr = BatchAttr {
        in_batch: in_batch.map_or(0, |b| b.as_ptr() as u64),
        out_batch: out_batch.as_mut_ptr() as u64,
        keys: keys.as_mut_ptr() as u64,
        values: values.as_mut_ptr() as u64,
        count: max,
        map_fd: fd.as_raw_fd() as u32,
        elem_flags: 0,
        flags: 0,
    };
    match sys_bpf(BPF_MAP_LOOKUP_BATCH, &mut attr) {
        Ok(_) => Ok(BatchOutcome {
            count: attr.count.min(max),
            done: false,
        }),
        // ENOENT ends the walk; the entries of this last call are still valid.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(BatchOutcome {
            count: attr.count.min(max),
            done: true,
        }),
        Err(e) => Err(e),
    }
}

/// `BPF_MAP_UPDATE_ELEM`, for tests that plant entries or churn a map while a
/// collect runs. collect calls it only on the private maps of its own trace
/// program (`--trace-pid`), never on a map of the node.
pub fn update_elem(fd: &OwnedFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value_or_next_key: value.as_ptr() as u64,
        flags: 0,
        ..Default::default()
    };
    sys_bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(|_| ())
}

/// `BPF_MAP_DELETE_ELEM`, for tests that churn a map. Never called by collect.
pub fn delete_elem(fd: &OwnedFd, key: &[u8]) -> io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        ..Default::default()
    };
    sys_bpf(BPF_MAP_DELETE_ELEM, &mut attr).map(|_| ())
}

/// Opens a map by id for writing, for tests only (collect opens read-only).
pub fn map_fd_by_id_rw(id: u32) -> io::Result<OwnedFd> {
    let mut attr = IdAttr {
        id,
        ..Default::default()
    };
    sys_bpf(BPF_MAP_GET_FD_BY_ID, &mut attr).map(fd_result)
}

/// Copies a name into a kernel object name (`BPF_OBJ_NAME_LEN`, NUL
/// included); the kernel accepts only `[A-Za-z0-9_.]`, so anything else
/// becomes `_`.
fn obj_name(name: &str) -> [u8; OBJ_NAME_LEN] {
    let mut out = [0u8; OBJ_NAME_LEN];
    for (o, b) in out.iter_mut().zip(name.bytes().take(OBJ_NAME_LEN - 1)) {
        *o = if b.is_ascii_alphanumeric() || b == b'.' {
            b
        } else {
            b'_'
        };
    }
    out
}

/// What [`map_create`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapSpec<'a> {
    pub name: &'a str,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
}

/// `BPF_MAP_CREATE`: a new map, owned by the returned fd (freed when the
/// last fd or program using it is gone). Used only for the trace program's
/// own maps.
pub fn map_create(spec: &MapSpec) -> io::Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type: spec.map_type,
        key_size: spec.key_size,
        value_size: spec.value_size,
        max_entries: spec.max_entries,
        map_flags: spec.map_flags,
        map_name: obj_name(spec.name),
        ..Default::default()
    };
    sys_bpf(BPF_MAP_CREATE, &mut attr).map(fd_result)
}

/// `BPF_PROG_TYPE_TRACEPOINT`.
pub const PROG_TYPE_TRACEPOINT: u32 = 5;
/// `BPF_PROG_TYPE_RAW_TRACEPOINT`.
pub const PROG_TYPE_RAW_TRACEPOINT: u32 = 17;

/// The `raw_tracepoint` part of `union bpf_attr` (`BPF_RAW_TRACEPOINT_OPEN`).
#[repr(C)]
#[derive(Default)]
struct RawTracepointAttr {
    name: u64,
    prog_fd: u32,
    _pad: u32,
}

/// `BPF_RAW_TRACEPOINT_OPEN`: attaches raw tracepoint program `prog` to the
/// kernel tracepoint `name` (`sys_enter`). The returned fd is the
/// attachment: closing it (or the process ending) detaches the program.
pub fn raw_tracepoint_open(name: &str, prog: &OwnedFd) -> io::Result<OwnedFd> {
    let name = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in tracepoint name"))?;
    let mut attr = RawTracepointAttr {
        name: name.as_ptr() as u64,
        prog_fd: prog.as_raw_fd() as u32,
        ..Default::default()
    };
    sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr).map(fd_result)
}

/// Largest verifier log asked for when a load fails (the verifier fails the
/// load with ENOSPC if its log does not fit, so the retry gets room).
const VERIFIER_LOG_BYTES: usize = 4 << 20;

/// Why [`prog_load`] failed: the errno and, when the retry with a log could
/// get one, the verifier's log.
#[derive(Debug)]
pub struct ProgLoadError {
    pub error: io::Error,
    pub log: String,
}

/// `BPF_PROG_LOAD` of raw instructions (8 bytes each, already relocated).
/// The first attempt runs without a verifier log (cheaper, and a log that
/// does not fit fails the load); if the kernel refuses the program, it is
/// loaded again with `log_level` 1 so the error can show the verifier's
/// reasoning.
pub fn prog_load(
    prog_type: u32,
    name: &str,
    insns: &[u8],
    license: &str,
) -> Result<OwnedFd, ProgLoadError> {
    let invalid = |why: &str| ProgLoadError {
        error: io::Error::new(io::ErrorKind::InvalidInput, why.to_string()),
        log: String::new(),
    };
    if insns.len() % 8 != 0 {
        return Err(invalid("program length is not a multiple of 8 bytes"));
    }
    let license = CString::new(license).map_err(|_| invalid("NUL in license"))?;
    let mut attr = ProgLoadAttr {
        prog_type,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: obj_name(name),
        ..Default::default()
    };
    let first = match sys_bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(fd_result(fd)),
        Err(e) => e,
    };
    let mut log = vec![0u8; VERIFIER_LOG_BYTES];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    match sys_bpf(BPF_PROG_LOAD, &mut attr) {
        // Loaded on the second try (a passing failure): keep it.
        Ok(fd) => Ok(fd_result(fd)),
        Err(_) => Err(ProgLoadError {
            error: first,
            log: c_name(&log).trim_end().to_string(),
        }),
    }
}

/// `struct perf_event_attr` as of `PERF_ATTR_SIZE_VER0` (64 bytes): all a
/// tracepoint event needs; the kernel zero-fills the later fields.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    event_type: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// The bitfield word (`disabled`, `inherit`, ...): all clear.
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// `_IO('$', 1)`.
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
/// `_IOW('$', 8, __u32)`.
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

/// `perf_event_open` of tracepoint `id` (from tracefs `events/.../id`) for
/// every process (`pid` -1) on `cpu`. A BPF program attached to it runs on
/// every CPU: the kernel keeps tracepoint programs on the tracepoint, not on
/// the event, so one event per tracepoint is enough (another on a second CPU
/// would be refused with EEXIST for the same program).
pub fn perf_event_open_tracepoint(id: u64, cpu: i32) -> io::Result<OwnedFd> {
    let mut attr = PerfEventAttr {
        event_type: PERF_TYPE_TRACEPOINT,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: id,
        sample_period: 1,
        wakeup_events: 1,
        ..Default::default()
    };
    // SAFETY: attr is a live, initialised perf_event_attr prefix whose size
    // field says how long it is; the kernel only reads it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &mut attr as *mut PerfEventAttr,
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(fd_result(ret as i64))
    }
}

fn perf_ioctl(event: &OwnedFd, request: libc::c_ulong, arg: libc::c_int) -> io::Result<()> {
    // SAFETY: the perf ioctls used here take an int argument (or none) by value.
    let ret = unsafe { libc::ioctl(event.as_raw_fd(), request as _, arg) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `PERF_EVENT_IOC_SET_BPF`: runs `prog` whenever the event's tracepoint
/// fires. Detached when the event's fd is closed.
pub fn perf_event_set_bpf(event: &OwnedFd, prog: &OwnedFd) -> io::Result<()> {
    perf_ioctl(event, PERF_EVENT_IOC_SET_BPF, prog.as_raw_fd())
}

/// `PERF_EVENT_IOC_ENABLE`.
pub fn perf_event_enable(event: &OwnedFd) -> io::Result<()> {
    perf_ioctl(event, PERF_EVENT_IOC_ENABLE, 0)
}

/// `PERF_EVENT_IOC_DISABLE`.
pub fn perf_event_disable(event: &OwnedFd) -> io::Result<()> {
    perf_ioctl(event, PERF_EVENT_IOC_DISABLE, 0)
}

/// Whether an errno from a batch call means "this map type cannot batch".
pub fn batch_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) | Some(ENOTSUPP) | Some(libc::ENOSYS)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mirrors must have the kernel's sizes, or the kernel rejects (or
    /// misreads) them.
    #[test]
    fn struct_sizes_match_linux_bpf_h() {
        assert_eq!(std::mem::size_of::<MapInfo>(), 88);
        assert_eq!(std::mem::size_of::<BtfInfo>(), 32);
        assert_eq!(std::mem::size_of::<ElemAttr>(), 32);
        assert_eq!(std::mem::size_of::<BatchAttr>(), 56);
        assert_eq!(std::mem::offset_of!(ProgInfo, nr_map_ids), 52);
        assert_eq!(std::mem::offset_of!(ProgInfo, name), 64);
        assert_eq!(std::mem::offset_of!(ProgInfo, btf_id), 128);
        assert_eq!(std::mem::size_of::<ProgInfo>(), 232);
        assert_eq!(std::mem::offset_of!(MapInfo, btf_id), 64);
        assert_eq!(std::mem::size_of::<MapCreateAttr>(), 48);
        assert_eq!(std::mem::offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 64);
    }

    #[test]
    fn object_names_are_cut_and_cleaned() {
        assert_eq!(&obj_name("inflight")[..9], b"inflight\0");
        let long = obj_name("a-very-long-map-name");
        assert_eq!(&long[..15], b"a_very_long_map");
        assert_eq!(long[15], 0);
    }

    #[test]
    fn c_name_stops_at_nul() {
        assert_eq!(c_name(b"flows\0\0garbage"), "flows");
        assert_eq!(c_name(b"abcdefghijklmnop"), "abcdefghijklmnop");
    }

    #[test]
    fn batch_unsupported_errnos() {
        assert!(batch_unsupported(&io::Error::from_raw_os_error(
            libc::EINVAL
        )));
        assert!(batch_unsupported(&io::Error::from_raw_os_error(ENOTSUPP)));
        assert!(!batch_unsupported(&io::Error::from_raw_os_error(
            libc::ENOENT
        )));
    }
}
