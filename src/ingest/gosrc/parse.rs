//! Go declarations from tokens: package clause, imports, type and const
//! declarations (the parts that decide struct layouts). Function bodies and
//! `var` declarations are skipped by bracket matching.

use std::sync::Arc;

use super::lex::{int_value, is_keyword, tokenize, unquote, TokKind, Token};
use super::{GoSrcError, Pos};

/// Deepest nesting of types or expressions we follow; real code stays far
/// below, and hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 100;

/// A type expression as written.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeExpr {
    /// `uint32`, `Port`, `any`.
    Name {
        name: String,
        pos: Pos,
    },
    /// `pkg.Type`.
    Qualified {
        pkg: String,
        name: String,
        pos: Pos,
    },
    Pointer(Box<TypeExpr>),
    Array {
        len: Expr,
        len_text: String,
        elem: Box<TypeExpr>,
    },
    Slice(Box<TypeExpr>),
    Map(Box<TypeExpr>, Box<TypeExpr>),
    Chan(Box<TypeExpr>),
    Func,
    /// `interface{...}` (empty or not: same size).
    Interface,
    Struct(StructType),
    /// Something gc accepts that we do not lay out (generic instantiation, `[...]T`).
    Unsupported {
        what: String,
        pos: Pos,
    },
}

impl TypeExpr {
    /// The type spelled the way Go prints it (`[16]byte`, `*Foo`, `map[K]V`).
    pub fn spelling(&self) -> String {
        match self {
            TypeExpr::Name { name, .. } => name.clone(),
            TypeExpr::Qualified { pkg, name, .. } => format!("{pkg}.{name}"),
            TypeExpr::Pointer(t) => format!("*{}", t.spelling()),
            TypeExpr::Array { len_text, elem, .. } => format!("[{len_text}]{}", elem.spelling()),
            TypeExpr::Slice(t) => format!("[]{}", t.spelling()),
            TypeExpr::Map(k, v) => format!("map[{}]{}", k.spelling(), v.spelling()),
            TypeExpr::Chan(t) => format!("chan {}", t.spelling()),
            TypeExpr::Func => "func(...)".into(),
            TypeExpr::Interface => "interface{...}".into(),
            TypeExpr::Struct(s) if s.fields.is_empty() => "struct{}".into(),
            TypeExpr::Struct(_) => "struct{...}".into(),
            TypeExpr::Unsupported { what, .. } => what.clone(),
        }
    }
}

/// `struct { ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct StructType {
    pub fields: Vec<FieldDecl>,
    pub pos: Pos,
}

/// One line of a struct body: `A, B uint32 "tag"` or an embedded `Inner`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    /// Names and their positions; for an embedded field, the type's name.
    pub names: Vec<(String, Pos)>,
    pub embedded: bool,
    pub ty: TypeExpr,
    /// The struct tag's content, unquoted (`ebpf:"src_port"`).
    pub tag: Option<String>,
}

/// `type Name Type` (or `type Name = Type`).
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSpec {
    pub name: String,
    pub pos: Pos,
    pub ty: TypeExpr,
    /// Position of type parameters, for generic types.
    pub type_params: Option<Pos>,
}

/// A constant expression (only what array lengths need).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Int {
        value: u128,
        pos: Pos,
    },
    Ident {
        name: String,
        pos: Pos,
    },
    Qualified {
        pkg: String,
        name: String,
        pos: Pos,
    },
    Unary {
        op: &'static str,
        operand: Box<Expr>,
        pos: Pos,
    },
    Binary {
        op: &'static str,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        pos: Pos,
    },
    /// `T(x)` conversions; anything else is rejected when evaluated.
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        pos: Pos,
    },
    /// An expression we do not evaluate (strings, floats, composite literals).
    Other {
        text: String,
        pos: Pos,
    },
}

impl Expr {
    /// Where the expression starts.
    pub fn pos(&self) -> &Pos {
        match self {
            Expr::Int { pos, .. }
            | Expr::Ident { pos, .. }
            | Expr::Qualified { pos, .. }
            | Expr::Unary { pos, .. }
            | Expr::Binary { pos, .. }
            | Expr::Call { pos, .. }
            | Expr::Other { pos, .. } => pos,
        }
    }
}

/// `const Name [Type] = Expr`, with its `iota` (index in its block).
#[derive(Debug, Clone, PartialEq)]
pub struct ConstSpec {
    pub name: String,
    pub pos: Pos,
    pub expr: Option<Expr>,
    pub iota: u128,
}

/// One parsed Go file.
#[derive(Debug, Clone, PartialEq)]
pub struct GoFile {
    pub path: Arc<str>,
    pub package: String,
    /// (local name, import path).
    pub imports: Vec<(String, String)>,
    pub types: Vec<TypeSpec>,
    pub consts: Vec<ConstSpec>,
}

/// Parses one Go file's declarations.
pub fn parse_file(path: &str, src: &str) -> Result<GoFile, GoSrcError> {
    let path: Arc<str> = Arc::from(path);
    let lines = LineIndex::new(src);
    let tokens = tokenize(src).map_err(|e| GoSrcError::Syntax {
        pos: lines.pos(&path, e.offset),
        expected: "a Go token".into(),
        found: e.reason.into(),
    })?;
    let mut p = Parser {
        tokens: &tokens,
        i: 0,
        path: path.clone(),
        lines: &lines,
        src_len: src.len(),
        depth: 0,
    };
    p.file()
}

/// Byte offset → 1-based line and column.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn pos(&self, file: &Arc<str>, offset: usize) -> Pos {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let col = offset - self.starts[line - 1] + 1;
        Pos {
            file: file.clone(),
            line: line as u32,
            col: col as u32,
        }
    }
}

struct Parser<'t, 'a> {
    tokens: &'t [Token<'a>],
    i: usize,
    path: Arc<str>,
    lines: &'t LineIndex,
    src_len: usize,
    depth: usize,
}

type PResult<T> = Result<T, GoSrcError>;

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.i)
    }

    fn peek_at(&self, n: usize) -> Option<&Token<'a>> {
        self.tokens.get(self.i + n)
    }

    fn peek_is(&self, s: &str) -> bool {
        self.peek().is_some_and(|t| t.is(s))
    }

    fn bump(&mut self) -> Option<Token<'a>> {
        let t = self.tokens.get(self.i).copied();
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    fn pos_here(&self) -> Pos {
        let off = self.peek().map_or(self.src_len, |t| t.offset);
        self.lines.pos(&self.path, off)
    }

    fn pos_of(&self, t: &Token) -> Pos {
        self.lines.pos(&self.path, t.offset)
    }

    fn error(&self, expected: &str) -> GoSrcError {
        let found = match self.peek() {
            None => "end of file".to_string(),
            Some(t) if t.kind == TokKind::Semi && t.text == "\n" => "end of line".to_string(),
            Some(t) => format!("`{}`", t.text),
        };
        GoSrcError::Syntax {
            pos: self.pos_here(),
            expected: expected.into(),
            found,
        }
    }

    fn expect(&mut self, s: &str) -> PResult<Token<'a>> {
        if self.peek_is(s) {
            Ok(self.bump().expect("peeked"))
        } else {
            Err(self.error(&format!("`{s}`")))
        }
    }

    fn expect_ident(&mut self) -> PResult<Token<'a>> {
        match self.peek() {
            Some(t) if t.kind == TokKind::Ident && !is_keyword(t.text) => {
                Ok(self.bump().expect("peeked"))
            }
            _ => Err(self.error("an identifier")),
        }
    }

    fn skip_semis(&mut self) {
        while self.peek().is_some_and(|t| t.kind == TokKind::Semi) {
            self.i += 1;
        }
    }

    fn end_of_spec(&mut self) -> PResult<()> {
        match self.peek() {
            Some(t) if t.kind == TokKind::Semi => {
                self.i += 1;
                Ok(())
            }
            Some(t) if t.is(")") => Ok(()),
            None => Ok(()),
            _ => Err(self.error("end of declaration")),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GoSrcError::Unsupported {
                pos: self.pos_here(),
                what: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    /// Skips a balanced bracket group starting at the current `(`, `[` or `{`.
    fn skip_balanced(&mut self) -> PResult<()> {
        let start = self.pos_here();
        let mut depth = 0usize;
        while let Some(t) = self.bump() {
            if t.kind != TokKind::Op {
                continue;
            }
            match t.text {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        Err(GoSrcError::Syntax {
            pos: start,
            expected: "a closing bracket".into(),
            found: "end of file".into(),
        })
    }

    /// Skips to the `;` ending a declaration at bracket depth 0 (not past it).
    fn skip_to_semi(&mut self) -> PResult<()> {
        while let Some(t) = self.peek() {
            match (t.kind, t.text) {
                (TokKind::Semi, _) => return Ok(()),
                (TokKind::Op, ")") => return Ok(()),
                (TokKind::Op, "(" | "[" | "{") => self.skip_balanced()?,
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    fn file(&mut self) -> PResult<GoFile> {
        self.skip_semis();
        self.expect("package")?;
        let package = self.expect_ident()?.text.to_string();
        let mut file = GoFile {
            path: self.path.clone(),
            package,
            imports: Vec::new(),
            types: Vec::new(),
            consts: Vec::new(),
        };
        loop {
            self.skip_semis();
            let Some(t) = self.peek().copied() else {
                return Ok(file);
            };
            match t.text {
                "import" if t.kind == TokKind::Ident => {
                    self.i += 1;
                    self.group(|p| p.import_spec(&mut file.imports))?;
                }
                "type" if t.kind == TokKind::Ident => {
                    self.i += 1;
                    self.group(|p| {
                        let spec = p.type_spec()?;
                        file.types.push(spec);
                        Ok(())
                    })?;
                }
                "const" if t.kind == TokKind::Ident => {
                    self.i += 1;
                    self.const_decl(&mut file.consts)?;
                }
                "var" if t.kind == TokKind::Ident => {
                    self.i += 1;
                    if self.peek_is("(") {
                        self.skip_balanced()?;
                    } else {
                        self.skip_to_semi()?;
                    }
                }
                "func" if t.kind == TokKind::Ident => {
                    self.i += 1;
                    self.skip_func()?;
                }
                _ => return Err(self.error("a declaration (import, type, const, var, func)")),
            }
        }
    }

    /// `kw spec` or `kw ( spec; spec; )`.
    fn group(&mut self, mut spec: impl FnMut(&mut Self) -> PResult<()>) -> PResult<()> {
        if !self.peek_is("(") {
            spec(self)?;
            return self.end_of_spec();
        }
        self.i += 1;
        loop {
            self.skip_semis();
            if self.peek_is(")") {
                self.i += 1;
                return self.end_of_spec();
            }
            if self.peek().is_none() {
                return Err(self.error("`)`"));
            }
            spec(self)?;
            self.end_of_spec()?;
        }
    }

    fn import_spec(&mut self, imports: &mut Vec<(String, String)>) -> PResult<()> {
        let alias = match self.peek() {
            Some(t) if t.kind == TokKind::Ident || t.is(".") => {
                Some(self.bump().expect("peeked").text.to_string())
            }
            _ => None,
        };
        let path = match self.peek() {
            Some(t) if t.kind == TokKind::Str => unquote(self.bump().expect("peeked").text),
            _ => return Err(self.error("an import path")),
        };
        let local = alias.unwrap_or_else(|| path.rsplit('/').next().unwrap_or(&path).to_string());
        imports.push((local, path));
        Ok(())
    }

    fn skip_func(&mut self) -> PResult<()> {
        // Receiver, name, type parameters, parameters, results: skip to the body.
        while let Some(t) = self.peek() {
            match (t.kind, t.text) {
                (TokKind::Semi, _) => return Ok(()),
                (TokKind::Op, "{") => {
                    self.skip_balanced()?;
                    // A struct/interface result type is followed by the real body.
                    if self.peek_is("{") {
                        self.skip_balanced()?;
                    }
                    return Ok(());
                }
                (TokKind::Op, "(" | "[") => self.skip_balanced()?,
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    fn type_spec(&mut self) -> PResult<TypeSpec> {
        let name_tok = self.expect_ident()?;
        let pos = self.pos_of(&name_tok);
        let mut type_params = None;
        if self.peek_is("[") && self.looks_like_type_params() {
            type_params = Some(self.pos_here());
            self.skip_balanced()?;
        }
        if self.peek_is("=") {
            self.i += 1;
        }
        let ty = self.type_expr()?;
        Ok(TypeSpec {
            name: name_tok.text.to_string(),
            pos,
            ty,
            type_params,
        })
    }

    /// `type X[T any] ...` vs `type X [N]T`: type parameters are `[Ident Constraint`
    /// or `[Ident, ...`.
    fn looks_like_type_params(&self) -> bool {
        let (Some(a), Some(b)) = (self.peek_at(1), self.peek_at(2)) else {
            return false;
        };
        a.kind == TokKind::Ident
            && !is_keyword(a.text)
            && ((b.kind == TokKind::Ident && b.text != "]")
                || b.is(",")
                || b.is("~")
                || b.is("interface"))
    }

    fn type_expr(&mut self) -> PResult<TypeExpr> {
        self.enter()?;
        let r = self.type_expr_inner();
        self.depth -= 1;
        r
    }

    fn type_expr_inner(&mut self) -> PResult<TypeExpr> {
        let Some(t) = self.peek().copied() else {
            return Err(self.error("a type"));
        };
        let pos = self.pos_of(&t);
        match (t.kind, t.text) {
            (TokKind::Ident, "struct") => {
                self.i += 1;
                Ok(TypeExpr::Struct(self.struct_body(pos)?))
            }
            (TokKind::Ident, "interface") => {
                self.i += 1;
                if !self.peek_is("{") {
                    return Err(self.error("`{`"));
                }
                self.skip_balanced()?;
                Ok(TypeExpr::Interface)
            }
            (TokKind::Ident, "map") => {
                self.i += 1;
                self.expect("[")?;
                let k = self.type_expr()?;
                self.expect("]")?;
                let v = self.type_expr()?;
                Ok(TypeExpr::Map(Box::new(k), Box::new(v)))
            }
            (TokKind::Ident, "chan") => {
                self.i += 1;
                if self.peek_is("<-") {
                    self.i += 1;
                }
                Ok(TypeExpr::Chan(Box::new(self.type_expr()?)))
            }
            (TokKind::Op, "<-") => {
                self.i += 1;
                self.expect("chan")?;
                Ok(TypeExpr::Chan(Box::new(self.type_expr()?)))
            }
            (TokKind::Ident, "func") => {
                self.i += 1;
                self.signature()?;
                Ok(TypeExpr::Func)
            }
            (TokKind::Op, "*") => {
                self.i += 1;
                Ok(TypeExpr::Pointer(Box::new(self.type_expr()?)))
            }
            (TokKind::Op, "(") => {
                self.i += 1;
                let inner = self.type_expr()?;
                self.expect(")")?;
                Ok(inner)
            }
            (TokKind::Op, "[") => {
                self.i += 1;
                if self.peek_is("]") {
                    self.i += 1;
                    return Ok(TypeExpr::Slice(Box::new(self.type_expr()?)));
                }
                if self.peek_is("...") {
                    self.i += 1;
                    self.expect("]")?;
                    let elem = self.type_expr()?;
                    return Ok(TypeExpr::Unsupported {
                        what: format!("[...]{}", elem.spelling()),
                        pos,
                    });
                }
                let start = self.i;
                let len = self.expr()?;
                let len_text: String = self.tokens[start..self.i].iter().map(|t| t.text).collect();
                self.expect("]")?;
                let elem = self.type_expr()?;
                Ok(TypeExpr::Array {
                    len,
                    len_text,
                    elem: Box::new(elem),
                })
            }
            (TokKind::Ident, name) if !is_keyword(name) => {
                self.i += 1;
                let ty = if self.peek_is(".") {
                    self.i += 1;
                    let n = self.expect_ident()?;
                    TypeExpr::Qualified {
                        pkg: name.to_string(),
                        name: n.text.to_string(),
                        pos: pos.clone(),
                    }
                } else {
                    TypeExpr::Name {
                        name: name.to_string(),
                        pos: pos.clone(),
                    }
                };
                if self.peek_is("[") {
                    let start = self.i;
                    self.skip_balanced()?;
                    let args: String = self.tokens[start..self.i].iter().map(|t| t.text).collect();
                    return Ok(TypeExpr::Unsupported {
                        what: format!("generic type instantiation {}{args}", ty.spelling()),
                        pos,
                    });
                }
                Ok(ty)
            }
            _ => Err(self.error("a type")),
        }
    }

    fn signature(&mut self) -> PResult<()> {
        if !self.peek_is("(") {
            return Err(self.error("`(`"));
        }
        self.skip_balanced()?;
        match self.peek() {
            Some(t) if t.is("(") => self.skip_balanced(),
            Some(t)
                if (t.kind == TokKind::Ident
                    && (!is_keyword(t.text)
                        || matches!(t.text, "map" | "chan" | "func" | "struct" | "interface")))
                    || t.is("*")
                    || t.is("[")
                    || t.is("<-") =>
            {
                self.type_expr().map(|_| ())
            }
            _ => Ok(()),
        }
    }

    fn struct_body(&mut self, pos: Pos) -> PResult<StructType> {
        self.expect("{")?;
        let mut fields = Vec::new();
        loop {
            self.skip_semis();
            if self.peek_is("}") {
                self.i += 1;
                return Ok(StructType { fields, pos });
            }
            fields.push(self.field_decl()?);
            match self.peek() {
                Some(t) if t.kind == TokKind::Semi => self.i += 1,
                Some(t) if t.is("}") => {}
                _ => return Err(self.error("`;`, a new line or `}` after a field")),
            }
        }
    }

    fn field_decl(&mut self) -> PResult<FieldDecl> {
        let Some(first) = self.peek().copied() else {
            return Err(self.error("a field"));
        };
        let next = self.peek_at(1).copied();
        // `Name [N]T` is a field; `Name[T]` followed by the end of the line
        // (or a tag) is an embedded generic instantiation.
        if first.kind == TokKind::Ident && next.is_some_and(|n| n.is("[")) {
            let save = self.i;
            self.i += 1;
            self.skip_balanced()?;
            let after = self.peek().copied();
            self.i = save;
            if after.map_or(true, |t| {
                t.kind == TokKind::Semi || t.is("}") || t.kind == TokKind::Str
            }) {
                let pos = self.pos_of(&first);
                let ty = self.type_expr()?;
                let tag = match self.peek() {
                    Some(t) if t.kind == TokKind::Str => {
                        Some(unquote(self.bump().expect("peeked").text))
                    }
                    _ => None,
                };
                return Ok(FieldDecl {
                    names: vec![(first.text.to_string(), pos)],
                    embedded: true,
                    ty,
                    tag,
                });
            }
        }
        let embedded = first.is("*")
            || (first.kind == TokKind::Ident
                && !is_keyword(first.text)
                && next.map_or(true, |n| {
                    n.is(".") || n.is("}") || n.kind == TokKind::Semi || n.kind == TokKind::Str
                }));
        let (names, ty) = if embedded {
            let pos = self.pos_of(&first);
            let ty = self.type_expr()?;
            let base = match &ty {
                TypeExpr::Pointer(inner) => inner.as_ref(),
                other => other,
            };
            let name = match base {
                TypeExpr::Name { name, .. } | TypeExpr::Qualified { name, .. } => name.clone(),
                _ => return Err(self.error("an embedded type name")),
            };
            (vec![(name, pos)], ty)
        } else {
            let mut names = Vec::new();
            loop {
                let t = self.expect_ident()?;
                names.push((t.text.to_string(), self.pos_of(&t)));
                if self.peek_is(",") {
                    self.i += 1;
                } else {
                    break;
                }
            }
            (names, self.type_expr()?)
        };
        let tag = match self.peek() {
            Some(t) if t.kind == TokKind::Str => Some(unquote(self.bump().expect("peeked").text)),
            _ => None,
        };
        Ok(FieldDecl {
            names,
            embedded,
            ty,
            tag,
        })
    }

    fn const_decl(&mut self, out: &mut Vec<ConstSpec>) -> PResult<()> {
        let grouped = self.peek_is("(");
        if grouped {
            self.i += 1;
        }
        let mut iota: u128 = 0;
        let mut previous: Option<Expr> = None;
        loop {
            if grouped {
                self.skip_semis();
                if self.peek_is(")") {
                    self.i += 1;
                    return self.end_of_spec();
                }
                if self.peek().is_none() {
                    return Err(self.error("`)`"));
                }
            }
            // Name list, optional type, optional `= expr list`.
            let mut names = Vec::new();
            loop {
                let t = self.expect_ident()?;
                names.push((t.text.to_string(), self.pos_of(&t)));
                if self.peek_is(",") {
                    self.i += 1;
                } else {
                    break;
                }
            }
            if !self.peek_is("=")
                && !self
                    .peek()
                    .map_or(true, |t| t.kind == TokKind::Semi || t.is(")"))
            {
                self.type_expr()?;
            }
            let mut exprs = Vec::new();
            if self.peek_is("=") {
                self.i += 1;
                loop {
                    exprs.push(self.const_expr()?);
                    if self.peek_is(",") {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                previous = exprs.first().cloned();
            }
            for (k, (name, pos)) in names.into_iter().enumerate() {
                // A spec without `=` repeats the previous expression (with its own iota).
                let expr = if exprs.is_empty() {
                    if k == 0 {
                        previous.clone()
                    } else {
                        None
                    }
                } else {
                    exprs.get(k).cloned()
                };
                out.push(ConstSpec {
                    name,
                    pos,
                    expr,
                    iota,
                });
            }
            iota += 1;
            if !grouped {
                return self.end_of_spec();
            }
            self.end_of_spec()?;
        }
    }

    /// A constant expression; what we cannot parse becomes [`Expr::Other`]
    /// (and is an error only if an array length needs it).
    fn const_expr(&mut self) -> PResult<Expr> {
        let start = self.i;
        let save_depth = self.depth;
        match self.expr() {
            Ok(e)
                if self
                    .peek()
                    .map_or(true, |t| t.kind == TokKind::Semi || t.is(",") || t.is(")")) =>
            {
                Ok(e)
            }
            _ => {
                self.depth = save_depth;
                self.i = start;
                let pos = self.pos_here();
                while let Some(t) = self.peek() {
                    match (t.kind, t.text) {
                        (TokKind::Semi, _) | (TokKind::Op, "," | ")") => break,
                        (TokKind::Op, "(" | "[" | "{") => self.skip_balanced()?,
                        _ => self.i += 1,
                    }
                }
                let text = self.tokens[start..self.i].iter().map(|t| t.text).collect();
                Ok(Expr::Other { text, pos })
            }
        }
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.binary(1);
        self.depth -= 1;
        r
    }

    fn binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        loop {
            let Some(t) = self.peek().copied() else {
                return Ok(lhs);
            };
            let (op, prec): (&'static str, u8) = match (t.kind, t.text) {
                (TokKind::Op, "*") => ("*", 5),
                (TokKind::Op, "/") => ("/", 5),
                (TokKind::Op, "%") => ("%", 5),
                (TokKind::Op, "<<") => ("<<", 5),
                (TokKind::Op, ">>") => (">>", 5),
                (TokKind::Op, "&") => ("&", 5),
                (TokKind::Op, "&^") => ("&^", 5),
                (TokKind::Op, "+") => ("+", 4),
                (TokKind::Op, "-") => ("-", 4),
                (TokKind::Op, "|") => ("|", 4),
                (TokKind::Op, "^") => ("^", 4),
                _ => return Ok(lhs),
            };
            if prec < min_prec {
                return Ok(lhs);
            }
            let pos = self.pos_of(&t);
            self.i += 1;
            self.enter()?;
            let rhs = self.binary(prec + 1);
            self.depth -= 1;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs?),
                pos,
            };
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        let Some(t) = self.peek().copied() else {
            return Err(self.error("an expression"));
        };
        let pos = self.pos_of(&t);
        let op: Option<&'static str> = match (t.kind, t.text) {
            (TokKind::Op, "-") => Some("-"),
            (TokKind::Op, "+") => Some("+"),
            (TokKind::Op, "^") => Some("^"),
            _ => None,
        };
        if let Some(op) = op {
            self.i += 1;
            self.enter()?;
            let operand = self.unary();
            self.depth -= 1;
            return Ok(Expr::Unary {
                op,
                operand: Box::new(operand?),
                pos,
            });
        }
        let mut e = self.primary()?;
        while self.peek_is("(") {
            let call_pos = self.pos_here();
            self.i += 1;
            let mut args = Vec::new();
            while !self.peek_is(")") {
                args.push(self.expr()?);
                if self.peek_is(",") {
                    self.i += 1;
                } else {
                    break;
                }
            }
            self.expect(")")?;
            e = Expr::Call {
                func: Box::new(e),
                args,
                pos: call_pos,
            };
        }
        Ok(e)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let Some(t) = self.peek().copied() else {
            return Err(self.error("an expression"));
        };
        let pos = self.pos_of(&t);
        match t.kind {
            TokKind::Int => {
                self.i += 1;
                match int_value(t.text) {
                    Some(value) => Ok(Expr::Int { value, pos }),
                    None => Ok(Expr::Other {
                        text: t.text.into(),
                        pos,
                    }),
                }
            }
            TokKind::Float | TokKind::Char | TokKind::Str => {
                self.i += 1;
                Ok(Expr::Other {
                    text: t.text.into(),
                    pos,
                })
            }
            TokKind::Ident if !is_keyword(t.text) => {
                self.i += 1;
                if self.peek_is(".") {
                    self.i += 1;
                    let n = self.expect_ident()?;
                    return Ok(Expr::Qualified {
                        pkg: t.text.into(),
                        name: n.text.into(),
                        pos,
                    });
                }
                Ok(Expr::Ident {
                    name: t.text.into(),
                    pos,
                })
            }
            TokKind::Op if t.text == "(" => {
                self.i += 1;
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            _ => Err(self.error("an expression")),
        }
    }
}

/// Whether a file's `//go:build` line (if any) holds for linux/`goarch` with gc.
/// Only the header (before `package`) is looked at, as the go tool does.
pub fn build_constraint_holds(src: &str, goarch: &str) -> bool {
    for line in src.lines() {
        let l = line.trim();
        if l.starts_with("package ") {
            break;
        }
        if let Some(expr) = l.strip_prefix("//go:build") {
            let toks = constraint_tokens(expr);
            let mut i = 0;
            return eval_or(&toks, &mut i, goarch, 0).unwrap_or(false);
        }
    }
    true
}

/// Whether a file name's `_GOOS`/`_GOARCH` suffixes (if any) hold for linux/`goarch`.
pub fn file_name_matches(name: &str, goarch: &str) -> bool {
    const OSES: &[&str] = &[
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "hurd",
        "illumos",
        "ios",
        "js",
        "linux",
        "nacl",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "wasip1",
        "windows",
        "zos",
    ];
    const ARCHES: &[&str] = &[
        "386",
        "amd64",
        "amd64p32",
        "arm",
        "armbe",
        "arm64",
        "arm64be",
        "loong64",
        "mips",
        "mipsle",
        "mips64",
        "mips64le",
        "mips64p32",
        "mips64p32le",
        "ppc",
        "ppc64",
        "ppc64le",
        "riscv",
        "riscv64",
        "s390",
        "s390x",
        "sparc",
        "sparc64",
        "wasm",
    ];
    let stem = name.strip_suffix(".go").unwrap_or(name);
    let parts: Vec<&str> = stem.split('_').collect();
    if parts.len() < 2 {
        return true;
    }
    let last = parts[parts.len() - 1];
    let prev = parts[parts.len() - 2];
    if parts.len() >= 3 && OSES.contains(&prev) && ARCHES.contains(&last) {
        return prev == "linux" && last == goarch;
    }
    if OSES.contains(&last) {
        return last == "linux";
    }
    if ARCHES.contains(&last) {
        return last == goarch;
    }
    true
}

fn constraint_tokens(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' | ')' | '!' => {
                flush(&mut cur, &mut out);
                out.push(c.to_string());
            }
            '&' | '|' => {
                flush(&mut cur, &mut out);
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                out.push(format!("{c}{c}"));
            }
            c if c.is_whitespace() => flush(&mut cur, &mut out),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if !cur.is_empty() {
        out.push(std::mem::take(cur));
    }
}

fn eval_or(t: &[String], i: &mut usize, arch: &str, depth: usize) -> Option<bool> {
    let mut v = eval_and(t, i, arch, depth)?;
    while t.get(*i).is_some_and(|s| s == "||") {
        *i += 1;
        v |= eval_and(t, i, arch, depth)?;
    }
    Some(v)
}

fn eval_and(t: &[String], i: &mut usize, arch: &str, depth: usize) -> Option<bool> {
    let mut v = eval_not(t, i, arch, depth)?;
    while t.get(*i).is_some_and(|s| s == "&&") {
        *i += 1;
        v &= eval_not(t, i, arch, depth)?;
    }
    Some(v)
}

fn eval_not(t: &[String], i: &mut usize, arch: &str, depth: usize) -> Option<bool> {
    if depth > MAX_DEPTH {
        return None;
    }
    let tok = t.get(*i)?;
    *i += 1;
    match tok.as_str() {
        "!" => eval_not(t, i, arch, depth + 1).map(|v| !v),
        "(" => {
            let v = eval_or(t, i, arch, depth + 1)?;
            (t.get(*i)? == ")").then(|| {
                *i += 1;
                v
            })
        }
        tag => {
            Some(matches!(tag, "linux" | "unix" | "gc") || tag == arch || tag.starts_with("go1."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grouped_types_consts_and_skips_funcs() {
        let src = r#"package p
import (
	"structs"
	u "unsafe"
)
const N = 16
const (
	A uint32 = iota + 2
	B
	C, D = 1 << 3, N * 2
)
var x = struct{ a int }{1}
func f(a int) (int, error) { if a > 0 { return 1, nil }; return 0, nil }
type (
	Port uint16
	S struct {
		A, B uint32 `ebpf:"a"`
		Inner
		*Node
		_ structs.HostLayout
		P u.Pointer
		M [N][2]byte
	}
)
type G[T any] struct{ v T }
"#;
        let f = parse_file("p.go", src).unwrap();
        assert_eq!(f.package, "p");
        assert_eq!(f.imports[1], ("u".into(), "unsafe".into()));
        let names: Vec<_> = f.consts.iter().map(|c| (c.name.as_str(), c.iota)).collect();
        assert_eq!(names, [("N", 0), ("A", 0), ("B", 1), ("C", 2), ("D", 2)]);
        assert_eq!(f.consts[2].expr, f.consts[1].expr);
        assert_eq!(f.types.len(), 3);
        let TypeExpr::Struct(s) = &f.types[1].ty else {
            panic!("not a struct")
        };
        assert_eq!(s.fields.len(), 6);
        assert_eq!(s.fields[0].names.len(), 2);
        assert_eq!(s.fields[0].tag.as_deref(), Some("ebpf:\"a\""));
        assert!(s.fields[1].embedded && s.fields[2].embedded);
        assert_eq!(s.fields[5].ty.spelling(), "[N][2]byte");
        assert_eq!(s.fields[5].names[0].1.line, 22);
        assert!(f.types[2].type_params.is_some());
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e =
            parse_file("x.go", "package p\ntype S struct {\n\tA uint32 uint8\n}\n").unwrap_err();
        match e {
            GoSrcError::Syntax { pos, found, .. } => {
                assert_eq!((pos.line, pos.col), (3, 11));
                assert_eq!(found, "`uint8`");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn build_constraints() {
        let el = "// Code generated\n//go:build 386 || amd64 || arm || arm64\n\npackage p\n";
        assert!(build_constraint_holds(el, "amd64"));
        assert!(!build_constraint_holds(el, "mips"));
        assert!(!build_constraint_holds(
            "//go:build ignore\npackage main\n",
            "amd64"
        ));
        assert!(build_constraint_holds(
            "//go:build linux && !(s390x)\npackage p\n",
            "arm"
        ));
        assert!(file_name_matches("x_linux_amd64.go", "amd64"));
        assert!(!file_name_matches("x_windows.go", "amd64"));
        assert!(!file_name_matches("x_arm64.go", "amd64"));
        assert!(file_name_matches("flow_key.go", "amd64"));
    }
}
