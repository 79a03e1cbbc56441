//! A case: everything known about one node's maps, whatever it was read from
//! (a bundle, loose files). Analyses read this; ingest and the bundle reader
//! fill it.

use std::sync::Arc;

use crate::model::layout::Layout;
use crate::model::map::MapType;

/// One map instance (a live map had an id; a map from an ELF object has none).
#[derive(Debug, Clone, Default)]
pub struct MapInstance {
    pub id: Option<u32>,
    pub name: String,
    pub map_type: Option<MapType>,
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    pub max_entries: Option<u32>,
    pub flags: u32,
    /// Key and value layouts from the map's BTF (or the object's `.maps`).
    pub key_layout: Option<Arc<Layout>>,
    pub value_layout: Option<Arc<Layout>>,
    /// Key and value types that are not structs or unions (`__u32`, an
    /// enum, `char[16]`), from the same BTF.
    pub key_scalar: Option<ScalarType>,
    pub value_scalar: Option<ScalarType>,
    /// Where the layouts came from (`BTF of flows.bpf.o`, `map BTF id 52`).
    pub btf_origin: Option<String>,
    /// Programs that use the map.
    pub prog_ids: Vec<u32>,
}

/// A map key or value type that is not a struct or union: its C spelling
/// (`__u32`, `enum policy_kind`) and its type.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarType {
    pub name: String,
    pub ty: crate::model::layout::FieldType,
}

impl MapInstance {
    /// Takes what this (live) map lacks from `object`, the same map as a
    /// BPF object defines it: its layouts, scalar types and their origin.
    pub fn fill_from(&mut self, object: MapInstance) {
        self.key_layout = self.key_layout.take().or(object.key_layout);
        self.value_layout = self.value_layout.take().or(object.value_layout);
        self.key_scalar = self.key_scalar.take().or(object.key_scalar);
        self.value_scalar = self.value_scalar.take().or(object.value_scalar);
        self.btf_origin = self.btf_origin.take().or(object.btf_origin);
    }

    /// How findings name this map.
    pub fn map_ref(&self) -> crate::model::finding::MapRef {
        crate::model::finding::MapRef {
            id: self.id,
            name: self.name.clone(),
        }
    }
}

impl ScalarType {
    /// The type as a one-member struct named after it, so it can be laid
    /// beside a user struct by the layout checks (the member is named after
    /// the role: `key` or `value`).
    pub fn as_layout(&self, member: &str) -> Layout {
        let size = self.ty.size();
        let member = crate::model::layout::Member {
            name: member.into(),
            offset: 0,
            bit_offset: 0,
            size,
            bit_size: None,
            type_name: self.name.as_str().into(),
            ty: self.ty.clone(),
            source: None,
        };
        Layout::new(
            self.name.as_str(),
            crate::model::layout::AggregateKind::Struct,
            size,
            vec![member],
        )
        .finish()
    }
}

/// A pin under bpffs.
#[derive(Debug, Clone, Default)]
pub struct Pin {
    pub path: String,
    pub kind: String,
    pub id: u32,
}

/// A source of user-space layouts (Go source, DWARF, a YAML schema), asked by
/// type name so large binaries are never laid out whole.
pub trait UserTypes {
    /// Where the layouts come from, for reports (`Go source corpora/go`).
    fn origin(&self) -> String;
    /// Names of the struct types this source can lay out.
    fn type_names(&self) -> Vec<String>;
    /// The layout of `name`, `Ok(None)` when the source has no such type.
    fn layout(&self, name: &str) -> Result<Option<Layout>, String>;
    /// Per top-level member of `name`, the C field name it declares it
    /// mirrors (Go `ebpf:"src_port"` tags); empty when the source has none.
    fn field_aliases(&self, _name: &str) -> Vec<Option<String>> {
        Vec::new()
    }
    /// When `name` was written by a generator from a BTF type (bpf2go's
    /// `bpfSkKey` for `struct sk_key`), what wrote it.
    fn generated(&self, _name: &str) -> Option<Generated> {
        None
    }
}

/// A user type a tool generated from a BTF type, so its name and layout
/// follow that tool's rules rather than a person's choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The tool (`bpf2go`).
    pub tool: &'static str,
    /// The generated file.
    pub file: String,
    /// The prefix the tool puts before every name (bpf2go's stem, `bpf`).
    pub stem: String,
}

/// Normalises a type name for matching across languages: package prefix,
/// `struct ` keyword, case and underscores dropped (`main.FlowKey` ↔ `flow_key`).
pub fn type_key(name: &str) -> String {
    let name = name
        .trim_start_matches("struct ")
        .trim_start_matches("union ");
    let last = name.rsplit(['.', ':']).next().unwrap_or(name);
    last.chars()
        .filter(|c| *c != '_')
        .flat_map(|c| c.to_lowercase())
        .collect()
}
