//! Maps: their kernel type, their definition in a BPF object, and identity.

use serde::{Deserialize, Serialize};

/// `enum bpf_map_type`, by the kernel's numbering. Unknown numbers are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapType(pub u32);

/// bpftool's names for map types, index = `enum bpf_map_type` value.
const MAP_TYPE_NAMES: &[&str] = &[
    "unspec",
    "hash",
    "array",
    "prog_array",
    "perf_event_array",
    "percpu_hash",
    "percpu_array",
    "stack_trace",
    "cgroup_array",
    "lru_hash",
    "lru_percpu_hash",
    "lpm_trie",
    "array_of_maps",
    "hash_of_maps",
    "devmap",
    "sockmap",
    "cpumap",
    "xskmap",
    "sockhash",
    "cgroup_storage",
    "reuseport_sockarray",
    "percpu_cgroup_storage",
    "queue",
    "stack",
    "sk_storage",
    "devmap_hash",
    "struct_ops",
    "ringbuf",
    "inode_storage",
    "task_storage",
    "bloom_filter",
    "user_ringbuf",
    "cgrp_storage",
    "arena",
];

impl MapType {
    pub const HASH: MapType = MapType(1);
    pub const ARRAY: MapType = MapType(2);
    pub const PERCPU_HASH: MapType = MapType(5);
    pub const PERCPU_ARRAY: MapType = MapType(6);
    pub const LRU_HASH: MapType = MapType(9);
    pub const LRU_PERCPU_HASH: MapType = MapType(10);

    /// bpftool's name (`hash`, `percpu_array`), or `unknown(N)`.
    pub fn name(self) -> String {
        MAP_TYPE_NAMES
            .get(self.0 as usize)
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("unknown({})", self.0))
    }

    /// Parses bpftool's name back to the number.
    pub fn from_name(name: &str) -> Option<MapType> {
        MAP_TYPE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| MapType(i as u32))
    }

    /// Per-CPU maps hold one value per possible CPU, each rounded up to 8 bytes.
    pub fn is_percpu(self) -> bool {
        matches!(self.0, 5 | 6 | 10 | 21)
    }

    /// Maps that carry records to user space (perf event arrays, ring
    /// buffers): their value type describes one record, not a stored value
    /// of `value_size` bytes.
    pub fn carries_records(self) -> bool {
        matches!(self.0, 4 | 27 | 31)
    }

    /// Maps indexed by a `__u32` below max_entries.
    pub fn is_array(self) -> bool {
        matches!(self.0, 2 | 3 | 4 | 6 | 8 | 12 | 14 | 16 | 17)
    }

    /// LRU maps evict instead of failing with E2BIG when full.
    pub fn is_lru(self) -> bool {
        matches!(self.0, 9 | 10)
    }

    /// Maps whose values are other maps (ids) or programs.
    pub fn holds_fds(self) -> bool {
        matches!(self.0, 3 | 12 | 13)
    }
}

impl Serialize for MapType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for MapType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MapType::from_name(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown map type {s:?}")))
    }
}

/// A map as a BPF object's `.maps` section (or legacy `maps`) declares it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapDef {
    pub name: String,
    pub map_type: Option<MapType>,
    /// BTF type id of the key type (`__type(key, ...)`), in the object's BTF.
    pub key_type_id: Option<u32>,
    pub value_type_id: Option<u32>,
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    pub max_entries: Option<u32>,
    pub map_flags: u32,
    /// `LIBBPF_PIN_BY_NAME` = 1.
    pub pinning: u32,
    /// For map-in-map: the inner map's definition (`__array(values, ...)`).
    pub inner: Option<Box<MapDef>>,
    /// `__uint(numa_node, N)`: the NUMA node the map is allocated on.
    pub numa_node: Option<u32>,
    /// `map_extra` (`__uint` or `__ulong`): a bloom filter's hash count, an
    /// arena's user-space address.
    pub map_extra: Option<u64>,
    /// Attributes that could not be read; each costs only itself.
    pub skipped: Vec<SkippedAttr>,
}

/// A `.maps` attribute bpfcase skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedAttr {
    /// The member's name (`future_knob`), empty for the definition itself.
    pub member: String,
    /// Whether libbpf knows the attribute (then its encoding was wrong).
    pub known: bool,
    pub why: String,
}

/// The kernel's copy of a map or program name: at most 15 bytes
/// (`BPF_OBJ_NAME_LEN` with its NUL). libbpf creates a map or program
/// under the first 15 bytes of a longer name, so a live map of an object
/// whose map is `conntrack_flows_by_tuple` is `conntrack_flows`.
pub fn kernel_name(name: &str) -> &str {
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Rounds a per-CPU value size up to the 8-byte stride the kernel copies with.
pub fn percpu_stride(value_size: u64) -> u64 {
    value_size.div_ceil(8) * 8
}
