//! Traced bpf() map calls: what a process asked of a map and what the kernel
//! answered, in the order the calls returned.
//!
//! A trace holds millions of calls on a few thousand keys: key and value
//! bytes and command names are interned ([`Interner`]), so a call is a
//! fixed-size record of 88 bytes sharing its bytes with every other call
//! on the same key, and memory grows with distinct keys, not with calls.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// A shared, immutable `T` behind a thin pointer: 8 bytes where an
/// `Arc<[u8]>` or `Arc<str>` takes 16, and `Option<Shared<T>>` is 8 too. A
/// call holds three of them, and a trace millions of calls.
pub struct Shared<T: ?Sized>(Arc<Box<T>>);

/// Interned key or value bytes.
pub type SharedBytes = Shared<[u8]>;
/// An interned command name.
pub type SharedStr = Shared<str>;

impl<T: ?Sized> Shared<T> {
    /// Whether `a` and `b` are the same interned copy.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl<T: ?Sized> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T: ?Sized> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> Borrow<T> for Shared<T> {
    fn borrow(&self) -> &T {
        &self.0
    }
}

// Hash and equality are the contents' (as `Borrow` requires), so a set of
// shared copies is probed with a plain slice.
impl<T: ?Sized + Hash> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Shared<T> {}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized> From<&T> for Shared<T>
where
    Box<T>: for<'a> From<&'a T>,
{
    fn from(v: &T) -> Self {
        Shared(Arc::new(Box::from(v)))
    }
}

/// The map element commands a trace records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapCmd {
    Lookup,
    Update,
    Delete,
    GetNextKey,
    LookupAndDelete,
}

impl MapCmd {
    /// Every command, in bpf(2)'s order.
    pub const ALL: [MapCmd; 5] = [
        MapCmd::Lookup,
        MapCmd::Update,
        MapCmd::Delete,
        MapCmd::GetNextKey,
        MapCmd::LookupAndDelete,
    ];

    /// The trace file's spelling (`map_lookup_elem`, …), as in bpf(2)'s
    /// `BPF_MAP_LOOKUP_ELEM` lowercased.
    pub fn from_name(name: &str) -> Option<MapCmd> {
        Some(match name {
            "map_lookup_elem" => MapCmd::Lookup,
            "map_update_elem" => MapCmd::Update,
            "map_delete_elem" => MapCmd::Delete,
            "map_get_next_key" => MapCmd::GetNextKey,
            "map_lookup_and_delete_elem" => MapCmd::LookupAndDelete,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MapCmd::Lookup => "map_lookup_elem",
            MapCmd::Update => "map_update_elem",
            MapCmd::Delete => "map_delete_elem",
            MapCmd::GetNextKey => "map_get_next_key",
            MapCmd::LookupAndDelete => "map_lookup_and_delete_elem",
        }
    }
}

/// `BPF_NOEXIST`: create only.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: update only.
pub const BPF_EXIST: u64 = 2;

/// errno values the analyses read from return values.
pub const ENOENT: i64 = 2;
pub const E2BIG: i64 = 7;
pub const EEXIST: i64 = 17;
pub const EINVAL: i64 = 22;

/// One traced call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapCall {
    /// Position in the trace, from 0.
    pub seq: u64,
    /// 1-based line of the call in its trace file.
    pub line: u32,
    /// Boot-time nanoseconds at entry.
    pub time_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// The caller's command name (interned).
    pub comm: SharedStr,
    pub cmd: MapCmd,
    pub map_fd: i32,
    /// The map behind the fd, when the tracer could tell.
    pub map_id: Option<u32>,
    pub flags: u64,
    /// Key bytes as passed (interned); `None` when they could not be read.
    pub key: Option<SharedBytes>,
    /// Value bytes of an update (interned).
    pub value: Option<SharedBytes>,
    /// 0, or minus the errno.
    pub ret: i64,
}

impl MapCall {
    /// The errno the call failed with, if it failed.
    pub fn errno(&self) -> Option<i64> {
        (self.ret < 0).then(|| -self.ret)
    }
}

/// Shares equal byte strings and names among the calls of a trace: one
/// allocation per distinct key, value or command name. Dropped once the
/// trace is read; the calls keep what they share.
#[derive(Debug, Default)]
pub struct Interner {
    bytes: HashSet<SharedBytes>,
    names: HashSet<SharedStr>,
}

impl Interner {
    /// The shared copy of `b`.
    pub fn bytes(&mut self, b: &[u8]) -> SharedBytes {
        if let Some(k) = self.bytes.get(b) {
            return k.clone();
        }
        let k = SharedBytes::from(b);
        self.bytes.insert(k.clone());
        k
    }

    /// The shared copy of `s`.
    pub fn name(&mut self, s: &str) -> SharedStr {
        if let Some(n) = self.names.get(s) {
            return n.clone();
        }
        let n = SharedStr::from(s);
        self.names.insert(n.clone());
        n
    }
}

/// The symbolic name of an errno bpf() map calls return.
pub fn errno_name(errno: i64) -> String {
    match errno {
        1 => "EPERM".into(),
        ENOENT => "ENOENT".into(),
        E2BIG => "E2BIG".into(),
        9 => "EBADF".into(),
        12 => "ENOMEM".into(),
        13 => "EACCES".into(),
        14 => "EFAULT".into(),
        16 => "EBUSY".into(),
        EEXIST => "EEXIST".into(),
        EINVAL => "EINVAL".into(),
        95 => "EOPNOTSUPP".into(),
        524 => "ENOTSUPP".into(),
        n => format!("errno {n}"),
    }
}
