//! Go source files: struct type declarations laid out by gc's rules.
//!
//! [`GoPackage`] holds the parsed declarations of one file or one package
//! directory (test files and files excluded by build constraints for
//! linux/GOARCH skipped, as the go tool does). [`GoLayouts`] lays out its
//! structs for one [`GoArch`] the way the gc compiler does
//! (`cmd/compile/internal/types/size.go`): fields at offsets rounded up to
//! their alignment, 64-bit values aligned to 4 on 386 and arm, and one byte
//! of padding after a trailing zero-size field.
//!
//! Every struct and member carries its file:line, which is what reports point at.

pub mod bpf2go;
mod lex;
mod parse;

use crate::limits::MAX_TYPE_DEPTH;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::model::layout::{
    AggregateKind, ByteOrder, FieldType, IntEncoding, Layout, Member, SourceLoc,
};
use parse::{build_constraint_holds, file_name_matches, parse_file, ConstSpec};
pub use parse::{Expr, FieldDecl, GoFile, StructType, TypeExpr, TypeSpec};

/// Largest Go file we read.
const MAX_FILE: u64 = crate::limits::MAX_GO_FILE;
/// Most `.go` files we read from one directory.
const MAX_FILES: usize = 10_000;
/// Longest chain of named types naming named types we follow.
const MAX_CHAIN: usize = 64;

/// A position in a Go file: 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

impl Pos {
    fn source(&self) -> SourceLoc {
        SourceLoc {
            file: self.file.to_string(),
            line: self.line,
        }
    }
}

/// Why Go source could not be read or laid out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GoSrcError {
    #[error("{pos}: syntax error: expected {expected}, found {found}")]
    Syntax {
        pos: Pos,
        expected: String,
        found: String,
    },
    #[error("{pos}: {what} is not supported")]
    Unsupported { pos: Pos, what: String },
    #[error("{pos}: {pkg}.{name} is a type of another package; only types declared in this package can be laid out")]
    ForeignType { pos: Pos, pkg: String, name: String },
    #[error("{pos}: unknown identifier `{name}`")]
    UnknownIdent { pos: Pos, name: String },
    #[error("{pos}: array length `{text}`: {reason}")]
    BadArrayLen {
        pos: Pos,
        text: String,
        reason: String,
    },
    #[error("{pos}: invalid recursive type {name}")]
    RecursiveType { pos: Pos, name: String },
    #[error("{pos}: {name} redeclared (first declared at {first})")]
    Redeclared { pos: Pos, name: String, first: Pos },
    #[error("{pos}: package {found}, but other files are package {expected}")]
    MixedPackages {
        pos: Pos,
        found: String,
        expected: String,
    },
    #[error("no type named `{name}` in the Go package")]
    NoSuchType { name: String },
    #[error("{pos}: type {name} is not a struct (it is {what})")]
    NotAStruct {
        pos: Pos,
        name: String,
        what: String,
    },
    #[error("{pos}: size of {what} overflows")]
    SizeOverflow { pos: Pos, what: String },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// A file that is not UTF-8: where its first bad byte is.
    #[error("{pos}: not UTF-8 (byte offset {offset})")]
    NotUtf8 { pos: Pos, offset: usize },
    #[error("{path}: no .go files to read for linux/{goarch} (test files are skipped)")]
    NoGoFiles { path: String, goarch: &'static str },
}

impl GoSrcError {
    /// Where in the source the problem is, when it is in a file.
    pub fn pos(&self) -> Option<&Pos> {
        match self {
            GoSrcError::Syntax { pos, .. }
            | GoSrcError::Unsupported { pos, .. }
            | GoSrcError::ForeignType { pos, .. }
            | GoSrcError::UnknownIdent { pos, .. }
            | GoSrcError::BadArrayLen { pos, .. }
            | GoSrcError::RecursiveType { pos, .. }
            | GoSrcError::Redeclared { pos, .. }
            | GoSrcError::MixedPackages { pos, .. }
            | GoSrcError::NotAStruct { pos, .. }
            | GoSrcError::SizeOverflow { pos, .. }
            | GoSrcError::NotUtf8 { pos, .. } => Some(pos),
            GoSrcError::NoSuchType { .. }
            | GoSrcError::Io { .. }
            | GoSrcError::NoGoFiles { .. } => None,
        }
    }
}

/// A Go target architecture; decides the word size and the alignment of
/// 64-bit values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoArch {
    Amd64,
    Arm64,
    I386,
    Arm,
}

impl GoArch {
    /// Parses a GOARCH value (`amd64`, `arm64`, `386`, `arm`).
    pub fn from_goarch(s: &str) -> Option<GoArch> {
        match s {
            "amd64" => Some(GoArch::Amd64),
            "arm64" => Some(GoArch::Arm64),
            "386" => Some(GoArch::I386),
            "arm" => Some(GoArch::Arm),
            _ => None,
        }
    }

    /// The GOARCH spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            GoArch::Amd64 => "amd64",
            GoArch::Arm64 => "arm64",
            GoArch::I386 => "386",
            GoArch::Arm => "arm",
        }
    }

    /// Pointer size in bytes.
    pub fn word(self) -> u64 {
        match self {
            GoArch::Amd64 | GoArch::Arm64 => 8,
            GoArch::I386 | GoArch::Arm => 4,
        }
    }

    /// Alignment of `int64`, `uint64`, `float64`, `complex128`: the word size
    /// (gc's `RegSize`), so 4 on 32-bit targets.
    pub fn align64(self) -> u64 {
        self.word()
    }
}

/// The declarations of one Go package (or one file).
#[derive(Debug, Clone)]
pub struct GoPackage {
    pub name: String,
    files: Vec<GoFile>,
    /// Type name → (file index, spec index).
    types: HashMap<String, (usize, usize)>,
    /// Const name → (file index, spec index).
    consts: HashMap<String, (usize, usize)>,
}

impl GoPackage {
    /// Parses one file's text; `path` is what positions name.
    pub fn parse_source(path: &str, src: &str) -> Result<GoPackage, GoSrcError> {
        GoPackage::from_files(vec![parse_file(path, src)?])
    }

    /// Reads a `.go` file, or every `.go` file of a directory that the go tool
    /// would build for linux/`arch` (no `_test.go`, build constraints applied).
    pub fn load(path: &Path, arch: GoArch) -> Result<GoPackage, GoSrcError> {
        let io = |reason: String| GoSrcError::Io {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
        if !meta.is_dir() {
            let src = read_go_file(path)?;
            return GoPackage::parse_source(&path.display().to_string(), &src);
        }
        let mut names: Vec<std::path::PathBuf> = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| io(e.to_string()))? {
            let entry = entry.map_err(|e| io(e.to_string()))?;
            let p = entry.path();
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".go")
                || name.ends_with("_test.go")
                || name.starts_with('.')
                || name.starts_with('_')
                || !file_name_matches(name, arch.as_str())
                || !p.is_file()
            {
                continue;
            }
            names.push(p);
            if names.len() > MAX_FILES {
                return Err(io(format!("more than {MAX_FILES} .go files")));
            }
        }
        names.sort();
        let mut files = Vec::new();
        for p in names {
            let src = read_go_file(&p)?;
            if build_constraint_holds(&src, arch.as_str()) {
                files.push(parse_file(&p.display().to_string(), &src)?);
            }
        }
        if files.is_empty() {
            return Err(GoSrcError::NoGoFiles {
                path: path.display().to_string(),
                goarch: arch.as_str(),
            });
        }
        GoPackage::from_files(files)
    }

    /// Joins parsed files of one package; names must be unique across them.
    pub fn from_files(files: Vec<GoFile>) -> Result<GoPackage, GoSrcError> {
        let name = files.first().map(|f| f.package.clone()).unwrap_or_default();
        let mut types: HashMap<String, (usize, usize)> = HashMap::new();
        let mut consts: HashMap<String, (usize, usize)> = HashMap::new();
        for (fi, f) in files.iter().enumerate() {
            if f.package != name {
                return Err(GoSrcError::MixedPackages {
                    pos: Pos {
                        file: f.path.clone(),
                        line: 1,
                        col: 1,
                    },
                    found: f.package.clone(),
                    expected: name,
                });
            }
            for (si, t) in f.types.iter().enumerate() {
                if t.name == "_" {
                    continue;
                }
                if let Some(&(ff, ss)) = types.get(&t.name) {
                    return Err(GoSrcError::Redeclared {
                        pos: t.pos.clone(),
                        name: t.name.clone(),
                        first: files[ff].types[ss].pos.clone(),
                    });
                }
                types.insert(t.name.clone(), (fi, si));
            }
            for (si, c) in f.consts.iter().enumerate() {
                if c.name != "_" {
                    consts.entry(c.name.clone()).or_insert((fi, si));
                }
            }
        }
        Ok(GoPackage {
            name,
            files,
            types,
            consts,
        })
    }

    /// The parsed files.
    pub fn files(&self) -> &[GoFile] {
        &self.files
    }

    /// Names of the non-generic struct types, in declaration order.
    pub fn struct_names(&self) -> Vec<&str> {
        self.files
            .iter()
            .flat_map(|f| f.types.iter())
            .filter(|t| matches!(t.ty, TypeExpr::Struct(_)) && t.type_params.is_none())
            .map(|t| t.name.as_str())
            .collect()
    }

    fn type_spec(&self, name: &str) -> Option<(&GoFile, &TypeSpec)> {
        let &(fi, si) = self.types.get(name)?;
        Some((&self.files[fi], &self.files[fi].types[si]))
    }

    fn const_spec(&self, name: &str) -> Option<&ConstSpec> {
        let &(fi, si) = self.consts.get(name)?;
        Some(&self.files[fi].consts[si])
    }
}

fn read_go_file(path: &Path) -> Result<String, GoSrcError> {
    let io = |reason: String| GoSrcError::Io {
        path: path.display().to_string(),
        reason,
    };
    let bytes = crate::ingest::read::read_file(path, MAX_FILE).map_err(|e| io(e.reason))?;
    String::from_utf8(bytes).map_err(|e| {
        // The line and byte column of the first bad byte, as positions are.
        let offset = e.utf8_error().valid_up_to();
        let head = &e.as_bytes()[..offset];
        let line = head.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        GoSrcError::NotUtf8 {
            pos: Pos {
                file: path.display().to_string().into(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                col: u32::try_from(offset - start + 1).unwrap_or(u32::MAX),
            },
            offset,
        }
    })
}

/// A resolved Go type: what the model needs plus gc's size and alignment.
#[derive(Debug, Clone)]
struct GoType {
    ty: FieldType,
    size: u64,
    align: u64,
}

/// Lays out the structs of a [`GoPackage`] for one architecture, caching each
/// named type.
pub struct GoLayouts<'p> {
    pkg: &'p GoPackage,
    arch: GoArch,
    named: HashMap<String, GoType>,
    in_progress: HashSet<String>,
}

impl<'p> GoLayouts<'p> {
    /// A layout engine for `pkg` on `arch`.
    pub fn new(pkg: &'p GoPackage, arch: GoArch) -> Self {
        GoLayouts {
            pkg,
            arch,
            named: HashMap::new(),
            in_progress: HashSet::new(),
        }
    }

    /// The layout of struct type `name`.
    pub fn layout(&mut self, name: &str) -> Result<Arc<Layout>, GoSrcError> {
        let Some((_, spec)) = self.pkg.type_spec(name) else {
            return Err(GoSrcError::NoSuchType { name: name.into() });
        };
        let pos = spec.pos.clone();
        let t = self.named_type(name, &pos)?;
        match t.ty {
            FieldType::Aggregate(l) => Ok(l),
            other => Err(GoSrcError::NotAStruct {
                pos,
                name: name.into(),
                what: other.kind_str().into(),
            }),
        }
    }

    /// The struct tags of `name`'s fields, one per layout member (`None` when
    /// untagged). `ebpf:"..."` tags name the C field a Go field mirrors.
    pub fn member_tags(&self, name: &str) -> Result<Vec<Option<String>>, GoSrcError> {
        let Some((_, spec)) = self.pkg.type_spec(name) else {
            return Err(GoSrcError::NoSuchType { name: name.into() });
        };
        let TypeExpr::Struct(s) = &spec.ty else {
            return Err(GoSrcError::NotAStruct {
                pos: spec.pos.clone(),
                name: name.into(),
                what: spec.ty.spelling(),
            });
        };
        Ok(s.fields
            .iter()
            .flat_map(|f| f.names.iter().map(|_| f.tag.clone()))
            .collect())
    }

    fn named_type(&mut self, name: &str, used_at: &Pos) -> Result<GoType, GoSrcError> {
        if let Some(t) = self.named.get(name) {
            return Ok(t.clone());
        }
        let pkg = self.pkg;
        let Some((file, spec)) = pkg.type_spec(name) else {
            return Err(GoSrcError::UnknownIdent {
                pos: used_at.clone(),
                name: name.into(),
            });
        };
        if let Some(p) = &spec.type_params {
            return Err(GoSrcError::Unsupported {
                pos: p.clone(),
                what: format!("generic type {name} (type parameters)"),
            });
        }
        if self.in_progress.len() > MAX_CHAIN {
            return Err(GoSrcError::Unsupported {
                pos: spec.pos.clone(),
                what: format!("nesting more than {MAX_CHAIN} named types"),
            });
        }
        if !self.in_progress.insert(name.to_string()) {
            return Err(GoSrcError::RecursiveType {
                pos: spec.pos.clone(),
                name: name.into(),
            });
        }
        let result = match &spec.ty {
            TypeExpr::Struct(s) => self.struct_layout(name, s, &spec.pos, file),
            other => self.resolve(other, file).map(|mut t| {
                if let FieldType::Int {
                    size, byte_order, ..
                } = &mut t.ty
                {
                    if is_big_endian_name(name, *size) {
                        *byte_order = ByteOrder::Big;
                    }
                }
                t
            }),
        };
        self.in_progress.remove(name);
        let t = result?;
        self.named.insert(name.to_string(), t.clone());
        Ok(t)
    }

    fn struct_layout(
        &mut self,
        name: &str,
        s: &StructType,
        pos: &Pos,
        file: &GoFile,
    ) -> Result<GoType, GoSrcError> {
        let overflow = || GoSrcError::SizeOverflow {
            pos: pos.clone(),
            what: if name.is_empty() {
                "struct{...}".to_string()
            } else {
                format!("struct {name}")
            },
        };
        let mut members = Vec::new();
        let mut offset: u64 = 0;
        let mut align: u64 = 1;
        let mut last_zero: Option<u64> = None;
        for decl in &s.fields {
            let t = self.resolve(&decl.ty, file)?;
            let type_name: Arc<str> = decl.ty.spelling().into();
            for (fname, fpos) in &decl.names {
                offset = round_up(offset, t.align).ok_or_else(overflow)?;
                align = align.max(t.align);
                if t.size == 0 {
                    last_zero = Some(offset);
                }
                members.push(Member {
                    name: fname.as_str().into(),
                    offset,
                    bit_offset: offset.checked_mul(8).ok_or_else(overflow)?,
                    size: t.size,
                    bit_size: None,
                    type_name: type_name.clone(),
                    ty: t.ty.clone(),
                    source: Some(Box::new(fpos.source())),
                });
                offset = offset.checked_add(t.size).ok_or_else(overflow)?;
            }
        }
        // gc: a non-empty struct ending in a zero-size field gets one byte of
        // padding, so the field's address cannot point past the object.
        if offset > 0 && last_zero == Some(offset) {
            offset += 1;
        }
        let size = round_up(offset, align).ok_or_else(overflow)?;
        if size.checked_mul(8).is_none() {
            return Err(overflow());
        }
        let mut layout =
            Layout::new(name.to_string(), AggregateKind::Struct, size, members).finish();
        // Go never packs; gc's alignment (4 for uint64 on 386/arm) wins over
        // the size-derived one.
        layout.natural_align = align;
        layout.packed = false;
        layout.source = Some(pos.source());
        Ok(GoType {
            ty: FieldType::Aggregate(Arc::new(layout)),
            size,
            align,
        })
    }

    fn resolve(&mut self, ty: &TypeExpr, file: &GoFile) -> Result<GoType, GoSrcError> {
        let word = self.arch.word();
        let pointer = GoType {
            ty: FieldType::Pointer { size: word },
            size: word,
            align: word,
        };
        let opaque = |what: &str, words: u64| GoType {
            ty: FieldType::Opaque {
                size: words * word,
                what: what.into(),
            },
            size: words * word,
            align: word,
        };
        match ty {
            TypeExpr::Name { name, pos } => {
                if self.pkg.types.contains_key(name) {
                    return self.named_type(name, pos);
                }
                if let Some(t) = self.predeclared(name) {
                    return Ok(t);
                }
                match name.as_str() {
                    "string" => Ok(opaque("string", 2)),
                    "error" | "any" => Ok(opaque(name, 2)),
                    _ => Err(GoSrcError::UnknownIdent {
                        pos: pos.clone(),
                        name: name.clone(),
                    }),
                }
            }
            TypeExpr::Qualified { pkg, name, pos } => {
                let path = file
                    .imports
                    .iter()
                    .find(|(local, _)| local == pkg)
                    .map(|(_, p)| p.as_str());
                match (path, name.as_str()) {
                    (Some("unsafe"), "Pointer") => Ok(pointer),
                    (Some("structs"), "HostLayout") => Ok(GoType {
                        ty: FieldType::Aggregate(Arc::new(
                            Layout::new("structs.HostLayout", AggregateKind::Struct, 0, vec![])
                                .finish(),
                        )),
                        size: 0,
                        align: 1,
                    }),
                    _ => Err(GoSrcError::ForeignType {
                        pos: pos.clone(),
                        pkg: pkg.clone(),
                        name: name.clone(),
                    }),
                }
            }
            TypeExpr::Pointer(_) | TypeExpr::Map(..) | TypeExpr::Chan(_) | TypeExpr::Func => {
                Ok(pointer)
            }
            TypeExpr::Slice(_) => Ok(opaque(&ty.spelling(), 3)),
            TypeExpr::Interface => Ok(opaque("interface", 2)),
            TypeExpr::Array {
                len,
                len_text,
                elem,
            } => {
                let n = self.array_len(len, len_text)?;
                let e = self.resolve(elem, file)?;
                let size = e
                    .size
                    .checked_mul(n)
                    .ok_or_else(|| GoSrcError::SizeOverflow {
                        pos: len.pos().clone(),
                        what: ty.spelling(),
                    })?;
                Ok(GoType {
                    ty: FieldType::Array {
                        elem: Arc::new(e.ty),
                        len: n,
                    },
                    size,
                    align: e.align,
                })
            }
            TypeExpr::Struct(s) => {
                let pos = s.pos.clone();
                self.struct_layout("", s, &pos, file)
            }
            TypeExpr::Unsupported { what, pos } => Err(GoSrcError::Unsupported {
                pos: pos.clone(),
                what: what.clone(),
            }),
        }
    }

    fn predeclared(&self, name: &str) -> Option<GoType> {
        let int = |size: u64, signed: bool| FieldType::Int {
            size,
            signed,
            encoding: IntEncoding::Plain,
            byte_order: ByteOrder::Host,
        };
        let word = self.arch.word();
        let a64 = self.arch.align64();
        let (ty, size, align) = match name {
            "bool" => (
                FieldType::Int {
                    size: 1,
                    signed: false,
                    encoding: IntEncoding::Bool,
                    byte_order: ByteOrder::Host,
                },
                1,
                1,
            ),
            "uint8" | "byte" => (int(1, false), 1, 1),
            "int8" => (int(1, true), 1, 1),
            "uint16" => (int(2, false), 2, 2),
            "int16" => (int(2, true), 2, 2),
            "uint32" => (int(4, false), 4, 4),
            "int32" | "rune" => (int(4, true), 4, 4),
            "uint64" => (int(8, false), 8, a64),
            "int64" => (int(8, true), 8, a64),
            "int" => (int(word, true), word, word),
            "uint" | "uintptr" => (int(word, false), word, word),
            "float32" => (FieldType::Float { size: 4 }, 4, 4),
            "float64" => (FieldType::Float { size: 8 }, 8, a64),
            "complex64" => (
                FieldType::Array {
                    elem: Arc::new(FieldType::Float { size: 4 }),
                    len: 2,
                },
                8,
                4,
            ),
            "complex128" => (
                FieldType::Array {
                    elem: Arc::new(FieldType::Float { size: 8 }),
                    len: 2,
                },
                16,
                a64,
            ),
            _ => return None,
        };
        Some(GoType { ty, size, align })
    }

    fn array_len(&self, len: &Expr, text: &str) -> Result<u64, GoSrcError> {
        let v = self
            .eval(len, None, 0, &mut Vec::new())
            .map_err(|e| match e {
                EvalError::Go(e) => e,
                EvalError::Bad { pos, reason } => GoSrcError::BadArrayLen {
                    pos,
                    text: text.into(),
                    reason,
                },
            })?;
        u64::try_from(v).map_err(|_| GoSrcError::BadArrayLen {
            pos: len.pos().clone(),
            text: text.into(),
            reason: format!("{v} is not a valid array length"),
        })
    }

    /// The value of constant expression `e`; `consts` names the constants
    /// being evaluated right now, to tell a constant that refers to itself
    /// from a long (but finite) chain of constants; `depth` counts them
    /// (the nesting within one expression is bounded by the parser).
    fn eval(
        &self,
        e: &Expr,
        iota: Option<u128>,
        depth: usize,
        consts: &mut Vec<String>,
    ) -> Result<i128, EvalError> {
        let bad = |pos: &Pos, reason: String| EvalError::Bad {
            pos: pos.clone(),
            reason,
        };
        if depth > MAX_TYPE_DEPTH {
            return Err(bad(
                e.pos(),
                format!(
                    "constants refer to constants more than {MAX_TYPE_DEPTH} levels deep (limit MAX_TYPE_DEPTH)"
                ),
            ));
        }
        match e {
            Expr::Int { value, pos } => {
                i128::try_from(*value).map_err(|_| bad(pos, "constant overflows".into()))
            }
            Expr::Ident { name, pos } => {
                if name == "iota" {
                    if let Some(i) = iota {
                        return Ok(i as i128);
                    }
                }
                let Some(c) = self.pkg.const_spec(name) else {
                    return Err(EvalError::Go(GoSrcError::UnknownIdent {
                        pos: pos.clone(),
                        name: name.clone(),
                    }));
                };
                if consts.iter().any(|n| n == name) {
                    return Err(bad(pos, format!("constant {name} refers to itself")));
                }
                match &c.expr {
                    Some(inner) => {
                        consts.push(name.clone());
                        let v = self.eval(inner, Some(c.iota), depth + 1, consts);
                        consts.pop();
                        v
                    }
                    None => Err(bad(&c.pos, format!("constant {name} has no value"))),
                }
            }
            Expr::Qualified { pkg, name, pos } => Err(bad(
                pos,
                format!("{pkg}.{name} cannot be evaluated from source"),
            )),
            Expr::Unary { op, operand, pos } => {
                let v = self.eval(operand, iota, depth, consts)?;
                match *op {
                    "-" => v.checked_neg().ok_or_else(|| bad(pos, "overflow".into())),
                    "^" => Ok(!v),
                    _ => Ok(v),
                }
            }
            Expr::Binary { op, lhs, rhs, pos } => {
                let a = self.eval(lhs, iota, depth, consts)?;
                let b = self.eval(rhs, iota, depth, consts)?;
                let overflow = || bad(pos, format!("`{op}` overflows or divides by zero"));
                match *op {
                    "+" => a.checked_add(b).ok_or_else(overflow),
                    "-" => a.checked_sub(b).ok_or_else(overflow),
                    "*" => a.checked_mul(b).ok_or_else(overflow),
                    "/" => a.checked_div(b).ok_or_else(overflow),
                    "%" => a.checked_rem(b).ok_or_else(overflow),
                    "<<" => {
                        let s = u32::try_from(b)
                            .ok()
                            .filter(|&s| s < 127)
                            .ok_or_else(overflow)?;
                        a.checked_mul(1i128 << s).ok_or_else(overflow)
                    }
                    ">>" => {
                        let s = u32::try_from(b)
                            .ok()
                            .filter(|&s| s < 127)
                            .ok_or_else(overflow)?;
                        Ok(a >> s)
                    }
                    "&" => Ok(a & b),
                    "|" => Ok(a | b),
                    "^" => Ok(a ^ b),
                    "&^" => Ok(a & !b),
                    _ => Err(overflow()),
                }
            }
            Expr::Call { func, args, pos } => {
                let conversion = match func.as_ref() {
                    Expr::Ident { name, .. } => {
                        self.predeclared(name).is_some()
                            || self
                                .pkg
                                .type_spec(name)
                                .is_some_and(|(_, s)| matches!(s.ty, TypeExpr::Name { .. }))
                    }
                    _ => false,
                };
                match (conversion, args.as_slice()) {
                    (true, [arg]) => self.eval(arg, iota, depth, consts),
                    _ => Err(bad(
                        pos,
                        "only type conversions of constants can be evaluated".into(),
                    )),
                }
            }
            Expr::Other { text, pos } => {
                Err(bad(pos, format!("`{text}` is not an integer constant")))
            }
        }
    }
}

enum EvalError {
    Go(GoSrcError),
    Bad { pos: Pos, reason: String },
}

/// Named integer types whose name says network byte order (`Be16`, `BE32`,
/// `be64`), the Go spelling of `__be16`/`__be32`/`__be64`.
fn is_big_endian_name(name: &str, size: u64) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        (lower.as_str(), size),
        ("be16", 2) | ("be32", 4) | ("be64", 8)
    )
}

fn round_up(v: u64, align: u64) -> Option<u64> {
    let a = align.max(1);
    v.checked_add(a - 1).map(|x| x / a * a)
}

#[cfg(test)]
mod tests;
