//! `bpfcase decode --dump DUMP ...`: decodes every entry of a bpftool map dump
//! with key and value types from BTF, and runs the dump checks.
//!
//! Type sources are one match arm each in [`resolve_types`]: `--btf` (an
//! object or raw BTF; `--map NAME` takes the key/value types of that map's
//! `.maps` definition, or `--key-type`/`--value-type` name them) and
//! `--dwarf` (structs/unions by name from a user-space binary's DWARF) and
//! `--schema` (a YAML layout schema, docs/schema.md).

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use miette::{IntoDiagnostic, Result};

use super::analyze::FailOn;
use super::inputs::{parse_btf, read_btf_file};
use super::output::{findings_summary, plural, OutputArgs, ReportFormatName, TextStyle};
use crate::analyses::dump_checks::{DumpChecker, DumpContext};
use crate::error::{InputError, WriteOutput};
use crate::ingest::btf::{Btf, BtfKind, TypeId};
use crate::ingest::elf::btf_map_defs;
use crate::ingest::{bpftool_json, bpftool_text};
use crate::model::decode::{decode, formatted_entry, Decoded, FormattedValues};
use crate::model::dump::{DumpEntry, EntryValue, MapDump, ProblemKind};
use crate::model::finding::{Finding, MapRef, Position};
use crate::model::from_btf::BtfLayouts;
use crate::model::layout::{FieldType, Layout};
use crate::model::map::MapType;
use crate::report::dump as render;

/// Output of `decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecodeFormat {
    /// One line per entry, then the findings.
    Text,
    /// A JSON array, one object per entry shaped like bpftool's `formatted`.
    Json,
    /// No entries: counts and findings as JSON (for large dumps).
    Summary,
}

#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// A `bpftool map dump` capture: `-j`/`-p` JSON or plain text (`-`: standard input).
    #[arg(long, value_name = "DUMP")]
    pub dump: PathBuf,
    /// BTF of the map's types: a BPF object (.bpf.o) or raw BTF.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["dwarf", "schema"],
        conflicts_with_all = ["dwarf", "schema"]
    )]
    pub btf: Option<PathBuf>,
    /// A binary with DWARF (C, Go, Rust user space) holding the key and value
    /// structs; needs --key-type/--value-type (scalars such as `__u32` work too).
    #[arg(
        long,
        value_name = "BIN",
        requires = "key_type",
        conflicts_with = "schema"
    )]
    pub dwarf: Option<PathBuf>,
    /// A YAML layout schema (docs/schema.md) holding the key and value types;
    /// needs --key-type/--value-type (scalars such as `__u32` work too).
    #[arg(long, value_name = "FILE", requires = "key_type")]
    pub schema: Option<PathBuf>,
    /// Take key and value types from this map's `.maps` definition (needs --btf).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["key_type", "value_type", "dwarf", "schema"])]
    pub map: Option<String>,
    /// Key type name (`flow_key`, `struct flow_key`, `__u32`).
    #[arg(long, value_name = "T", requires = "value_type")]
    pub key_type: Option<String>,
    /// Value type name.
    #[arg(long, value_name = "T", requires = "key_type")]
    pub value_type: Option<String>,
    /// `bpftool -j map show` of the map (type and max_entries for `dump/map-full`).
    #[arg(long, value_name = "FILE")]
    pub show: Option<PathBuf>,
    /// Output format [default: text, or as -o's extension says].
    #[arg(long, value_enum)]
    pub format: Option<DecodeFormat>,
    /// Exit with 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl ReportFormatName for DecodeFormat {
    const DEFAULT: Self = DecodeFormat::Text;
}

/// A key or value type, ready to decode with.
#[derive(Debug, Clone)]
pub struct ResolvedType {
    pub ty: FieldType,
    /// Spelling (`struct flow_key`, `__u32`).
    pub name: String,
}

/// How the key of a map without a BTF key type is spelled: libbpf's
/// global data maps (`btf_key_type_id` 0) are arrays, keyed by a `__u32`
/// index, which bpftool leaves out of `formatted`.
pub const ARRAY_INDEX_KEY: &str = "__u32 (array index; the map's key has no BTF type)";

impl ResolvedType {
    /// The key of a map whose key has no BTF type ([`ARRAY_INDEX_KEY`]).
    pub fn array_index() -> Self {
        ResolvedType {
            ty: FieldType::Int {
                size: 4,
                signed: false,
                encoding: crate::model::layout::IntEncoding::Plain,
                byte_order: crate::model::layout::ByteOrder::Host,
            },
            name: ARRAY_INDEX_KEY.to_string(),
        }
    }

    /// Whether this is [`ResolvedType::array_index`]: a key with no BTF
    /// type, not printed in `formatted`.
    pub fn is_array_index(&self) -> bool {
        self.name == ARRAY_INDEX_KEY
    }

    fn layout(&self) -> Option<&Layout> {
        match &self.ty {
            FieldType::Aggregate(l) => Some(l),
            _ => None,
        }
    }
}

/// Key and value types plus what the source knows about the map.
#[derive(Debug, Clone)]
pub struct MapTypes {
    pub key: ResolvedType,
    pub value: ResolvedType,
    pub map_name: Option<String>,
    pub map_type: Option<MapType>,
    pub max_entries: Option<u32>,
}

fn find_type(
    btf: &Btf<'_>,
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    wanted: &str,
) -> Result<ResolvedType, InputError> {
    let bare = ["struct ", "union ", "enum "]
        .iter()
        .find_map(|p| wanted.strip_prefix(p))
        .unwrap_or(wanted)
        .trim();
    let id = btf
        .find_by_name(bare)
        .into_iter()
        .find(|&id| {
            btf.type_by_id(id).is_ok_and(|t| {
                matches!(
                    t.kind,
                    BtfKind::Struct
                        | BtfKind::Union
                        | BtfKind::Typedef
                        | BtfKind::Int
                        | BtfKind::Enum
                        | BtfKind::Enum64
                        | BtfKind::Float
                        | BtfKind::Datasec
                )
            })
        })
        .ok_or_else(|| {
            InputError::new(file, None, format!("no type named `{wanted}` in the BTF"))
        })?;
    resolve_id(engine, file, id)
}

fn resolve_id(
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    id: TypeId,
) -> Result<ResolvedType, InputError> {
    let ty = engine.field_type(id).map_err(|e| {
        InputError::at_offset(
            file,
            e.offset().map(|o| o as u64),
            format!("type {id}: {e}"),
        )
    })?;
    Ok(ResolvedType {
        ty,
        name: engine.c_type_name(id),
    })
}

/// Key and value types of a map by BTF type id (a bundle's
/// `btf_key_type_id`/`btf_value_type_id`): structs and unions, and scalars
/// such as `__u32` too, which have no layout of their own. `file` names the
/// BTF in errors. The map fields of the result are left empty for the caller.
pub fn types_by_id(
    btf: &Btf<'_>,
    file: &str,
    key: TypeId,
    value: TypeId,
) -> Result<MapTypes, InputError> {
    let mut engine = BtfLayouts::new(btf);
    Ok(MapTypes {
        key: if key.0 == 0 {
            ResolvedType::array_index()
        } else {
            resolve_id(&mut engine, file, key)?
        },
        value: resolve_id(&mut engine, file, value)?,
        map_name: None,
        map_type: None,
        max_entries: None,
    })
}

/// The types of libbpf's global data map `map` (`runqlat_.rodata`,
/// `.rodata`, `.data.custom`): its key an array index, its value the
/// DATASEC the map's name ends with; `None` when `map` is no such name or
/// the BTF has no such section.
fn global_data_types(
    btf: &Btf<'_>,
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    map: &str,
) -> Result<Option<MapTypes>, InputError> {
    let Some(section) = crate::model::from_btf::global_data_section(map) else {
        return Ok(None);
    };
    let found = btf.all_types().find(|t| {
        t.kind == BtfKind::Datasec && crate::model::from_btf::section_matches(map, section, t.name)
    });
    let Some(t) = found else {
        return Ok(None);
    };
    Ok(Some(MapTypes {
        key: ResolvedType::array_index(),
        value: resolve_id(engine, file, t.id)?,
        map_name: Some(map.to_string()),
        map_type: Some(MapType::ARRAY),
        max_entries: Some(1),
    }))
}

/// Where the key/value types come from (one arm per source).
pub enum TypeSource<'a> {
    Btf {
        file: &'a Path,
        map: Option<&'a str>,
        key_type: Option<&'a str>,
        value_type: Option<&'a str>,
    },
    /// Structs/unions by name from a binary's DWARF; C scalar names by name.
    Dwarf {
        file: &'a Path,
        key_type: &'a str,
        value_type: &'a str,
    },
    /// Types by name from a YAML layout schema; scalar names by name.
    Schema {
        file: &'a Path,
        key_type: &'a str,
        value_type: &'a str,
    },
}

/// A scalar type named by its spelling (`__u32`) resolves at once; anything
/// else is returned as the aggregate name to look up, without `struct `/`union `.
fn scalar_or_bare(wanted: &str) -> Result<ResolvedType, &str> {
    if let Some(ty) = scalar_type(wanted) {
        return Ok(ResolvedType {
            ty,
            name: wanted.to_string(),
        });
    }
    Err(["struct ", "union "]
        .iter()
        .find_map(|p| wanted.strip_prefix(p))
        .unwrap_or(wanted)
        .trim())
}

fn schema_type(
    schema: &crate::ingest::schema::Schema,
    file: &str,
    wanted: &str,
) -> Result<ResolvedType, InputError> {
    let bare = match scalar_or_bare(wanted) {
        Ok(scalar) => return Ok(scalar),
        Err(bare) => bare,
    };
    let layout = schema.get(bare).ok_or_else(|| {
        let names: Vec<_> = schema.types.iter().map(|(n, _)| n.as_str()).collect();
        InputError::new(
            file,
            None,
            format!(
                "no type `{wanted}` in the schema (types: {})",
                names.join(", ")
            ),
        )
    })?;
    Ok(ResolvedType {
        ty: FieldType::Aggregate(layout.clone()),
        name: layout.display_name(),
    })
}

/// C and Go scalar spellings a key or value may be declared as, for
/// sources that only describe aggregates (DWARF lookups by name).
pub fn scalar_type(name: &str) -> Option<FieldType> {
    use crate::model::layout::{ByteOrder, IntEncoding};
    let (size, signed, order) = match name.trim() {
        "__u8" | "u8" | "uint8_t" | "uint8" | "byte" | "unsigned char" => {
            (1, false, ByteOrder::Host)
        }
        "__s8" | "s8" | "int8_t" | "int8" | "signed char" | "char" => (1, true, ByteOrder::Host),
        "__u16" | "u16" | "uint16_t" | "uint16" | "unsigned short" => (2, false, ByteOrder::Host),
        "__s16" | "s16" | "int16_t" | "int16" | "short" => (2, true, ByteOrder::Host),
        "__u32" | "u32" | "uint32_t" | "uint32" | "unsigned int" => (4, false, ByteOrder::Host),
        "__s32" | "s32" | "int32_t" | "int32" | "int" => (4, true, ByteOrder::Host),
        "__u64" | "u64" | "uint64_t" | "uint64" | "unsigned long long" => {
            (8, false, ByteOrder::Host)
        }
        "__s64" | "s64" | "int64_t" | "int64" | "long long" => (8, true, ByteOrder::Host),
        "__be16" => (2, false, ByteOrder::Big),
        "__be32" => (4, false, ByteOrder::Big),
        "__be64" => (8, false, ByteOrder::Big),
        _ => return None,
    };
    Some(FieldType::Int {
        size,
        signed,
        encoding: IntEncoding::Plain,
        byte_order: order,
    })
}

fn dwarf_type(
    dwarf: &crate::ingest::dwarf::DwarfFile<'_>,
    file: &str,
    wanted: &str,
) -> Result<ResolvedType, InputError> {
    let bare = match scalar_or_bare(wanted) {
        Ok(scalar) => return Ok(scalar),
        Err(bare) => bare,
    };
    let layout = dwarf
        .layout(bare)
        .map_err(|e| InputError::at_offset(file, e.file_offset(), e))?
        .ok_or_else(|| {
            InputError::new(
                file,
                None,
                format!("no struct or union named `{wanted}` in the DWARF"),
            )
        })?;
    let name = layout.display_name();
    Ok(ResolvedType {
        ty: FieldType::Aggregate(std::sync::Arc::new(layout)),
        name,
    })
}

pub fn resolve_types(source: TypeSource<'_>) -> Result<MapTypes> {
    match source {
        TypeSource::Schema {
            file,
            key_type,
            value_type,
        } => {
            let name = file.display().to_string();
            let bytes = crate::error::read_file(file, 64 << 20)?;
            let text = String::from_utf8_lossy(&bytes);
            let schema = crate::ingest::schema::Schema::parse(&text).map_err(|e| {
                InputError::new(
                    &name,
                    e.line().map(crate::model::finding::Position::Line),
                    e,
                )
            })?;
            Ok(MapTypes {
                key: schema_type(&schema, &name, key_type)?,
                value: schema_type(&schema, &name, value_type)?,
                map_name: None,
                map_type: None,
                max_entries: None,
            })
        }
        TypeSource::Dwarf {
            file,
            key_type,
            value_type,
        } => {
            let name = file.display().to_string();
            let data = crate::error::read_file(file, super::inputs::MAX_INPUT)?;
            let dwarf = crate::ingest::dwarf::DwarfFile::load(file, &data)
                .map_err(|e| InputError::at_offset(&name, e.file_offset(), e))?;
            Ok(MapTypes {
                key: dwarf_type(&dwarf, &name, key_type)?,
                value: dwarf_type(&dwarf, &name, value_type)?,
                map_name: None,
                map_type: None,
                max_entries: None,
            })
        }
        TypeSource::Btf {
            file,
            map,
            key_type,
            value_type,
        } => {
            let data = read_btf_file(file)?;
            let btf = parse_btf(file, &data, None)?;
            let name = file.display().to_string();
            let mut engine = BtfLayouts::new(&btf);
            if let Some(map) = map {
                let defs = btf_map_defs(&btf)
                    .map_err(|e| InputError::at_offset(&name, e.file_offset(), e))?;
                if !defs.iter().any(|d| d.name == map) {
                    if let Some(types) = global_data_types(&btf, &mut engine, &name, map)? {
                        return Ok(types);
                    }
                }
                let def = defs.iter().find(|d| d.name == map).ok_or_else(|| {
                    let names: Vec<_> = defs.iter().map(|d| d.name.as_str()).collect();
                    InputError::new(
                        &name,
                        None,
                        format!("no map `{map}` in .maps (maps: {})", names.join(", ")),
                    )
                })?;
                let (Some(k), Some(v)) = (def.key_type_id, def.value_type_id) else {
                    return Err(InputError::new(
                        &name,
                        None,
                        format!("map `{map}` declares no __type(key)/__type(value) (sizes only); use --key-type/--value-type"),
                    )
                    .into());
                };
                return Ok(MapTypes {
                    key: resolve_id(&mut engine, &name, TypeId(k))?,
                    value: resolve_id(&mut engine, &name, TypeId(v))?,
                    map_name: Some(def.name.clone()),
                    map_type: def.map_type,
                    max_entries: def.max_entries,
                });
            }
            let (Some(k), Some(v)) = (key_type, value_type) else {
                return Err(InputError::new(
                    &name,
                    None,
                    "give --map NAME or --key-type T --value-type T",
                )
                .into());
            };
            Ok(MapTypes {
                key: find_type(&btf, &mut engine, &name, k)?,
                value: find_type(&btf, &mut engine, &name, v)?,
                map_name: None,
                map_type: None,
                max_entries: None,
            })
        }
    }
}

/// Reads a dump file (`-`: standard input, streamed) in whichever bpftool
/// form it is. A stream (standard input, a pipe, a FIFO) that goes on past
/// [`crate::limits::MAX_STREAM_BYTES`] is an error naming it and the offset.
pub fn read_dump_file(path: &Path) -> Result<MapDump, InputError> {
    let name = path.display().to_string();
    let (r, guard) = crate::error::open_once(path)?;
    let dump = read_dump_from(&name, BufReader::with_capacity(1 << 16, r))?;
    guard.check()?;
    Ok(dump)
}

fn read_dump_from<R: BufRead + Send>(name: &str, mut r: R) -> Result<MapDump, InputError> {
    let head = r.fill_buf().map_err(|e| InputError::new(name, None, e))?;
    if is_json_dump(head) {
        Ok(bpftool_json::read_dump(r))
    } else {
        Ok(bpftool_text::read_dump(r))
    }
}

/// A reader that ends (reads as end of file) once `stop` is set: the
/// consumer of a streamed dump gave up (its output was closed), so the
/// rest is not read.
struct Stoppable<R> {
    inner: R,
    stop: Arc<AtomicBool>,
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

/// Streams the dump at `path` to `each` a batch of entries at a time, as
/// it is parsed (a `-j` dump in batches of [`bpftool_json::BATCH_ENTRIES`];
/// a text dump whole, its parser having no batches): the dump is never
/// held whole. The first batch is checked as [`read_primary_dump`] checks
/// a whole dump. A stream cut at its limit is an error once read; so is an
/// error `each` returns, which stops the reading.
fn stream_dump(path: &Path, each: &mut dyn FnMut(MapDump) -> Result<()>) -> Result<()> {
    let name = path.display().to_string();
    let (r, guard) = crate::error::open_once(path)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut r = BufReader::with_capacity(
        1 << 16,
        Stoppable {
            inner: r,
            stop: stop.clone(),
        },
    );
    let json = is_json_dump(r.fill_buf().map_err(|e| InputError::new(&name, None, e))?);
    let (tx, rx) = std::sync::mpsc::sync_channel::<MapDump>(1);
    let outcome = std::thread::scope(|s| {
        s.spawn(move || {
            if json {
                bpftool_json::read_dump_batches(r, bpftool_json::BATCH_ENTRIES, &mut |b| {
                    let _ = tx.send(b);
                });
            } else {
                let _ = tx.send(bpftool_text::read_dump(r));
            }
        });
        let mut first = true;
        // `rx` is moved in: leaving early drops it, so the parsing thread's
        // next send fails instead of waiting for ever.
        for batch in rx {
            if std::mem::take(&mut first) {
                if let Err(e) = not_a_dump(path, &batch) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e.into());
                }
            }
            if let Err(e) = each(batch) {
                stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    });
    // A cut stream is the error, whatever came of its cut last batch.
    guard.check()?;
    outcome
}

/// The error for a dump of which not one entry could be read before it
/// stopped making sense: not a bpftool dump at all.
fn not_a_dump(path: &Path, dump: &MapDump) -> Result<(), InputError> {
    if dump.is_empty() {
        if let Some(p) = dump.problems.iter().find(|p| {
            p.entries_before == 0
                && matches!(p.kind, ProblemKind::Unreadable | ProblemKind::Truncated)
        }) {
            return Err(InputError::new(
                path.display().to_string(),
                Some(p.position),
                format!("not a bpftool map dump: {}", p.message),
            ));
        }
    }
    Ok(())
}

/// Reads the dump a command works on (`decode --dump`, `diff OLD NEW`): a
/// file in which not one entry could be read before it stopped making sense
/// is not a bpftool dump, and the command cannot run on it (exit 2). A dump
/// cut or broken later still counts: its first entries are used.
pub fn read_primary_dump(path: &Path) -> Result<MapDump, InputError> {
    let dump = read_dump_file(path)?;
    not_a_dump(path, &dump)?;
    Ok(dump)
}

/// True when `head` (the first bytes) is `bpftool -j`/`-p` JSON rather than
/// the BTF-formatted text form, which looks alike but has no hex arrays.
pub fn is_json_dump(head: &[u8]) -> bool {
    let s = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let t = s.trim_start();
    if !t.starts_with('[') {
        return false;
    }
    let rest = t[1..].trim_start();
    if rest.starts_with(']') || rest.is_empty() {
        return true;
    }
    if let Some(i) = rest.find("\"key\"") {
        let after = rest[i + 5..].trim_start();
        if let Some(a) = after.strip_prefix(':') {
            if let Some(b) = a.trim_start().strip_prefix('[') {
                return b.trim_start().starts_with("\"0x") || b.trim_start().starts_with(']');
            }
        }
        return false;
    }
    rest.contains("\"error\"")
}

/// Decodes one byte-form entry into bpftool's `formatted` shape.
pub fn decode_entry(
    types: &MapTypes,
    key: &[u8],
    value: EntryValue<'_>,
) -> Result<Decoded, crate::model::decode::DecodeError> {
    let k = decode(&types.key.ty, &types.key.name, key)?;
    let k = (!types.key.is_array_index()).then_some(k);
    let values = match value {
        EntryValue::Single(v) => {
            FormattedValues::Single(decode(&types.value.ty, &types.value.name, v)?)
        }
        EntryValue::PerCpu { .. } => FormattedValues::PerCpu(
            value
                .cpu_values()
                .into_iter()
                .map(|v| decode(&types.value.ty, &types.value.name, v))
                .collect::<Result<_, _>>()?,
        ),
        EntryValue::Missing => FormattedValues::Missing("lookup failed".into()),
    };
    Ok(formatted_entry(k, values))
}

/// What [`decode_entry`] would reject, without decoding: a key or value
/// whose size is not its type's.
pub fn check_sizes(types: &MapTypes, key: &[u8], value: EntryValue<'_>) -> Result<(), String> {
    let mismatch = |what: &str, t: &ResolvedType, got: usize| {
        format!(
            "{what} is {got} bytes, but the type `{}` is {} bytes",
            t.name,
            t.ty.size()
        )
    };
    if key.len() as u64 != types.key.ty.size() {
        return Err(mismatch("key", &types.key, key.len()));
    }
    let len = match value {
        EntryValue::Single(v) => v.len(),
        EntryValue::PerCpu { len, .. } => len,
        EntryValue::Missing => return Ok(()),
    };
    if len as u64 != types.value.ty.size() {
        return Err(mismatch("value", &types.value, len));
    }
    Ok(())
}

pub fn run(args: &DecodeArgs) -> Result<ExitCode> {
    let source = match (&args.btf, &args.dwarf) {
        _ if args.schema.is_some() => TypeSource::Schema {
            file: args.schema.as_deref().unwrap_or(Path::new("")),
            key_type: args.key_type.as_deref().unwrap_or_default(),
            value_type: args.value_type.as_deref().unwrap_or_default(),
        },
        (_, Some(file)) => TypeSource::Dwarf {
            file,
            key_type: args.key_type.as_deref().unwrap_or_default(),
            value_type: args.value_type.as_deref().unwrap_or_default(),
        },
        (Some(file), None) => TypeSource::Btf {
            file,
            map: args.map.as_deref(),
            key_type: args.key_type.as_deref(),
            value_type: args.value_type.as_deref(),
        },
        (None, None) => {
            return Err(crate::error::usage(
                "no types to decode with",
                "give --btf FILE, --dwarf BIN or --schema FILE",
            ));
        }
    };
    let types = resolve_types(source)?;
    let mut types = types;
    if let Some(show) = &args.show {
        let name = show.display().to_string();
        let bytes = crate::error::read_file(show, 64 << 20)?;
        let infos =
            bpftool_json::parse_map_show(&bytes).map_err(|e| InputError::new(&name, None, e))?;
        let info = match (&types.map_name, infos.len()) {
            (_, 1) => infos.first(),
            (Some(n), _) => infos.iter().find(|i| &i.name == n),
            _ => None,
        };
        if let Some(i) = info {
            types.map_type = i.map_type().or(types.map_type);
            types.max_entries = Some(i.max_entries);
            types.map_name.get_or_insert(i.name.clone());
        }
    }
    let dump_name = args.dump.display().to_string();
    let format = args.out.format(args.format)?;
    let style = args.out.style();
    let map = types.map_name.clone().map(|name| MapRef { id: None, name });
    let mut checker = DumpChecker::new(DumpContext {
        file: &dump_name,
        map,
        key: types.key.layout(),
        value: types.value.layout(),
        map_type: types.map_type,
        max_entries: types.max_entries,
    });
    let mut out = args.out.open()?;
    let mut decoded = 0usize;
    let mut undecodable: Vec<Finding> = Vec::new();
    let mut bad = 0usize;
    let mut note_bad = |index: usize, at: Position, e: &dyn std::fmt::Display| {
        bad += 1;
        if undecodable.len() < 3 {
            undecodable.push(Finding::unreadable(
                &dump_name,
                Some(at),
                &format!("entry {index} does not match the types: {e}"),
            ));
        }
    };
    // Entries are written as each batch is parsed, and the batch goes on to
    // the checks, which keep counts, first examples and the keys.
    enum Sink<W: Write> {
        Json(render::JsonEntries<W>),
        Text(W),
        Summary,
    }
    let mut sink = match format {
        DecodeFormat::Json => Sink::Json(render::JsonEntries::begin(&mut out).out()?),
        DecodeFormat::Text => Sink::Text(&mut out),
        DecodeFormat::Summary => Sink::Summary,
    };
    stream_dump(&args.dump, &mut |batch| {
        let base = checker.entries();
        for e in batch.entries() {
            let index = base + e.index;
            if e.formatted {
                match &mut sink {
                    Sink::Json(w) => w.raw(&formatted_text(&e)).out()?,
                    Sink::Text(out) => {
                        render::write_text_entry(out, index, &formatted_text(&e)).out()?
                    }
                    Sink::Summary => {}
                }
                decoded += 1;
                continue;
            }
            match &mut sink {
                Sink::Json(w) => match decode_entry(&types, e.key, e.value) {
                    Ok(d) => {
                        w.entry(&d).out()?;
                        decoded += 1;
                    }
                    Err(err) => note_bad(index, e.position, &err),
                },
                Sink::Text(out) => match decode_entry(&types, e.key, e.value) {
                    Ok(d) => {
                        let text = serde_json::to_string(&d).into_diagnostic()?;
                        render::write_text_entry(out, index, &text).out()?;
                        decoded += 1;
                    }
                    Err(err) => note_bad(index, e.position, &err),
                },
                // Decoding cannot fail once the sizes match (see
                // `model::decode`), so the summary checks sizes instead of
                // building every entry's tree.
                Sink::Summary => match check_sizes(&types, e.key, e.value) {
                    Ok(()) => decoded += 1,
                    Err(err) => note_bad(index, e.position, &err),
                },
            }
        }
        checker.feed(&batch);
        Ok(())
    })?;
    if let Sink::Json(w) = sink {
        w.end().out()?;
    }
    let checked = checker.finish();
    let mut findings = undecodable;
    findings.extend(checked.findings);
    match format {
        DecodeFormat::Summary => {
            render::write_summary_json(&mut out, checked.entries, decoded, bad, &findings).out()?;
        }
        DecodeFormat::Json => {
            out.flush().out()?;
            let mut err = std::io::stderr().lock();
            let err_style = TextStyle {
                width: style.width,
                color: args
                    .out
                    .color
                    .resolve(std::io::stderr().is_terminal(), |v| std::env::var(v).ok()),
                verbose: style.verbose,
            };
            render::write_findings_text(&mut err, &findings, err_style).out()?;
        }
        DecodeFormat::Text => {
            if bad > 0 {
                let n = plural(bad as u64, "entry", "entries");
                let verb = if bad == 1 { "does" } else { "do" };
                writeln!(out, "{n} {verb} not match the types").out()?;
            }
            render::write_findings_text(&mut out, &findings, style).out()?;
        }
    }
    out.finish().out()?;
    let (e, w, i) = severity_counts(&findings);
    args.out.done(&format!(
        "{} decoded, {}",
        plural(decoded as u64, "entry", "entries"),
        findings_summary(e, w, i)
    ));
    Ok(args.fail_on.exit_code(findings.iter().map(|f| f.severity)))
}

/// A formatted-text entry (bpftool already decoded it) as one JSON object.
fn formatted_text(e: &DumpEntry<'_>) -> String {
    let (field, v) = match e.value {
        EntryValue::PerCpu { bytes, .. } => ("values", bytes),
        EntryValue::Single(v) => ("value", v),
        EntryValue::Missing => ("value", &b"null"[..]),
    };
    format!(
        "{{\"key\":{},\"{field}\":{}}}",
        String::from_utf8_lossy(e.key),
        String::from_utf8_lossy(v)
    )
}

/// Findings by severity: (errors, warnings, info).
fn severity_counts(findings: &[Finding]) -> (usize, usize, usize) {
    use crate::model::finding::Severity;
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    (n(Severity::Error), n(Severity::Warning), n(Severity::Info))
}
