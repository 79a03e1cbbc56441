//! Go tokens, lexed with nom: identifiers, literals, operators, comments,
//! and Go's automatic semicolon insertion (the grammar needs it to tell one
//! field or const spec from the next).

use nom::branch::alt;
use nom::bytes::complete::{tag, take_until, take_while, take_while1};
use nom::character::complete::{anychar, char, satisfy};
use nom::combinator::recognize;
use nom::sequence::{pair, preceded, terminated};
use nom::IResult;

/// The kind of a token; operators and punctuation keep their text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// Identifier or keyword.
    Ident,
    /// Integer literal (any base).
    Int,
    /// Floating-point or imaginary literal.
    Float,
    /// Rune literal `'x'`.
    Char,
    /// String literal, raw or interpreted (text includes the quotes).
    Str,
    /// Operator or punctuation.
    Op,
    /// A `;`, written or inserted at a line end.
    Semi,
}

/// One token and the byte offset where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: TokKind,
    pub text: &'a str,
    pub offset: usize,
}

impl Token<'_> {
    /// Whether this is the operator or keyword `s`.
    pub fn is(&self, s: &str) -> bool {
        matches!(self.kind, TokKind::Op | TokKind::Ident) && self.text == s
    }
}

/// A lexical error: what went wrong and where (byte offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub reason: &'static str,
}

const KEYWORDS: &[&str] = &[
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

/// Whether `s` is a Go keyword.
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn ident(i: &str) -> IResult<&str, &str> {
    recognize(pair(satisfy(is_ident_start), take_while(is_ident_char)))(i)
}

/// A number: digits, letters (base prefixes, hex digits, exponents, `i`),
/// `_`, `.`, and a sign right after an exponent letter.
fn number(i: &str) -> IResult<&str, &str> {
    let start = i;
    let (_, first) = alt((
        recognize(satisfy(|c| c.is_ascii_digit())),
        recognize(pair(char('.'), satisfy(|c| c.is_ascii_digit()))),
    ))(i)?;
    let _ = first;
    let hex = start.starts_with("0x") || start.starts_with("0X");
    let mut len = 0;
    let mut prev = '\0';
    for c in start.chars() {
        let exp = if hex {
            matches!(prev, 'p' | 'P')
        } else {
            matches!(prev, 'e' | 'E' | 'p' | 'P')
        };
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' || (exp && (c == '+' || c == '-')) {
            len += c.len_utf8();
            prev = c;
        } else {
            break;
        }
    }
    Ok((&start[len..], &start[..len]))
}

fn interpreted_string(i: &str) -> IResult<&str, &str> {
    recognize(terminated(
        preceded(
            char('"'),
            nom::multi::many0_count(alt((
                recognize(pair(char('\\'), anychar)),
                recognize(satisfy(|c| c != '"' && c != '\\' && c != '\n')),
            ))),
        ),
        char('"'),
    ))(i)
}

fn raw_string(i: &str) -> IResult<&str, &str> {
    recognize(terminated(preceded(char('`'), take_until("`")), char('`')))(i)
}

fn rune_lit(i: &str) -> IResult<&str, &str> {
    recognize(terminated(
        preceded(
            char('\''),
            nom::multi::many1_count(alt((
                recognize(pair(char('\\'), anychar)),
                recognize(satisfy(|c| c != '\'' && c != '\\' && c != '\n')),
            ))),
        ),
        char('\''),
    ))(i)
}

fn operator(i: &str) -> IResult<&str, &str> {
    alt((
        alt((
            tag("<<="),
            tag(">>="),
            tag("&^="),
            tag("..."),
            tag("&&"),
            tag("||"),
            tag("<-"),
            tag("++"),
            tag("--"),
            tag("=="),
            tag("!="),
            tag("<="),
            tag(">="),
            tag(":="),
            tag("<<"),
            tag(">>"),
            tag("&^"),
        )),
        alt((
            tag("+="),
            tag("-="),
            tag("*="),
            tag("/="),
            tag("%="),
            tag("&="),
            tag("|="),
            tag("^="),
        )),
        recognize(satisfy(|c| "+-*/%&|^<>=!()[]{},;.:~".contains(c))),
    ))(i)
}

fn line_comment(i: &str) -> IResult<&str, &str> {
    recognize(pair(tag("//"), take_while(|c| c != '\n')))(i)
}

fn block_comment(i: &str) -> IResult<&str, &str> {
    recognize(terminated(preceded(tag("/*"), take_until("*/")), tag("*/")))(i)
}

fn blanks(i: &str) -> IResult<&str, &str> {
    take_while1(|c| c == ' ' || c == '\t' || c == '\r')(i)
}

/// Whether a line end after this token inserts a semicolon (Go spec, "Semicolons").
fn ends_statement(t: &Token) -> bool {
    match t.kind {
        TokKind::Ident => {
            !is_keyword(t.text) || matches!(t.text, "break" | "continue" | "fallthrough" | "return")
        }
        TokKind::Int | TokKind::Float | TokKind::Char | TokKind::Str => true,
        TokKind::Op => matches!(t.text, "++" | "--" | ")" | "]" | "}"),
        TokKind::Semi => false,
    }
}

/// Splits Go source into tokens, inserting semicolons the way the Go lexer does.
pub fn tokenize(src: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut out: Vec<Token> = Vec::new();
    let mut rest = src;
    let offset_of = |r: &str| src.len() - r.len();
    let push_semi = |out: &mut Vec<Token<'_>>, offset: usize| {
        if out.last().is_some_and(ends_statement) {
            out.push(Token {
                kind: TokKind::Semi,
                text: "\n",
                offset,
            });
        }
    };
    while !rest.is_empty() {
        let here = offset_of(rest);
        if let Ok((r, _)) = blanks(rest) {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('\n') {
            push_semi(&mut out, here);
            rest = r;
            continue;
        }
        if rest.starts_with("//") {
            let (r, _) = line_comment(rest).map_err(|_| LexError {
                offset: here,
                reason: "bad comment",
            })?;
            rest = r;
            continue;
        }
        if rest.starts_with("/*") {
            let Ok((r, c)) = block_comment(rest) else {
                return Err(LexError {
                    offset: here,
                    reason: "unterminated block comment",
                });
            };
            if c.contains('\n') {
                push_semi(&mut out, here);
            }
            rest = r;
            continue;
        }
        let (kind, res) = match rest.chars().next() {
            Some('"') => (TokKind::Str, interpreted_string(rest)),
            Some('`') => (TokKind::Str, raw_string(rest)),
            Some('\'') => (TokKind::Char, rune_lit(rest)),
            Some(c) if c.is_ascii_digit() => (TokKind::Int, number(rest)),
            Some('.') if rest[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                (TokKind::Float, number(rest))
            }
            Some(c) if is_ident_start(c) => (TokKind::Ident, ident(rest)),
            _ => (TokKind::Op, operator(rest)),
        };
        let Ok((r, text)) = res else {
            return Err(LexError {
                offset: here,
                reason: match kind {
                    TokKind::Str => "unterminated string literal",
                    TokKind::Char => "bad rune literal",
                    _ => "unexpected character",
                },
            });
        };
        let kind = match kind {
            TokKind::Int if is_float_literal(text) => TokKind::Float,
            TokKind::Op if text == ";" => TokKind::Semi,
            k => k,
        };
        out.push(Token {
            kind,
            text,
            offset: here,
        });
        rest = r;
    }
    push_semi(&mut out, src.len());
    Ok(out)
}

fn is_float_literal(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if lower.ends_with('i') {
        return true;
    }
    if lower.starts_with("0x") {
        lower.contains('.') || lower.contains('p')
    } else {
        lower.contains('.') || lower.contains('e')
    }
}

/// The value of an integer literal: decimal, `0x`, `0o`, `0b`, legacy octal,
/// with `_` separators. `None` when it does not fit or is malformed.
pub fn int_value(text: &str) -> Option<u128> {
    let t: String = text.chars().filter(|&c| c != '_').collect();
    let lower = t.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty() {
        return None;
    }
    u128::from_str_radix(digits, radix).ok()
}

/// The content of a string literal: raw strings verbatim, interpreted ones
/// with the common escapes resolved.
pub fn unquote(text: &str) -> String {
    if let Some(raw) = text.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        return raw.replace('\r', "");
    }
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        tokenize(src).unwrap().iter().map(|t| t.text).collect()
    }

    #[test]
    fn inserts_semicolons_at_line_ends() {
        assert_eq!(
            texts("type A struct {\n\tX uint32 // c\n}\n"),
            ["type", "A", "struct", "{", "X", "uint32", "\n", "}", "\n"]
        );
    }

    #[test]
    fn lexes_literals_and_operators() {
        assert_eq!(
            texts("a<<=0x1F+1e+3 `t:\"x\"` 'c' &^"),
            ["a", "<<=", "0x1F", "+", "1e+3", "`t:\"x\"`", "'c'", "&^"]
        );
        let t = tokenize("1.5 0x1p-2 3i 07").unwrap();
        assert_eq!(t[0].kind, TokKind::Float);
        assert_eq!(t[1].kind, TokKind::Float);
        assert_eq!(t[2].kind, TokKind::Float);
        assert_eq!(t[3].kind, TokKind::Int);
    }

    #[test]
    fn block_comment_spanning_lines_ends_a_statement() {
        assert_eq!(texts("x /* a\nb */ y"), ["x", "\n", "y", "\n"]);
    }

    #[test]
    fn int_values_in_every_base() {
        assert_eq!(int_value("1_000"), Some(1000));
        assert_eq!(int_value("0x10"), Some(16));
        assert_eq!(int_value("0o17"), Some(15));
        assert_eq!(int_value("017"), Some(15));
        assert_eq!(int_value("0b101"), Some(5));
        assert_eq!(int_value("0x"), None);
        assert_eq!(int_value("09"), None);
    }

    #[test]
    fn unquotes_tags() {
        assert_eq!(unquote("`ebpf:\"src\"`"), "ebpf:\"src\"");
        assert_eq!(unquote("\"a\\\"b\""), "a\"b");
    }

    #[test]
    fn lex_errors_carry_offsets() {
        assert_eq!(
            tokenize("a \"open").unwrap_err(),
            LexError {
                offset: 2,
                reason: "unterminated string literal"
            }
        );
        assert_eq!(tokenize("/* x").unwrap_err().offset, 0);
        assert_eq!(tokenize("x $").unwrap_err().reason, "unexpected character");
        assert_eq!(tokenize("''").unwrap_err().reason, "bad rune literal");
    }
}
