//! One escaping rule per output context. A bundle, a dump, a BTF blob, a
//! trace or a file name may come from an attacker (a bundle attached to a
//! ticket): every string taken from an input goes through the rule of the
//! context it is written into, here and nowhere else.
//!
//! | context | rule |
//! |---|---|
//! | terminal text, one line | [`terminal`]: control characters as `\xNN` |
//! | terminal text, several lines | [`terminal_lines`]: the same, line feeds and tabs kept |
//! | Markdown inline text | [`md_text`]; text with backtick spans [`md_prose`] |
//! | Markdown code span | [`md_code`] |
//! | Markdown code block | [`terminal`] on each value, then [`md_fence`] |
//! | Markdown table cell | [`md_code_cell`], [`md_prose_cell`] |
//! | HTML | [`html`]; text with backtick spans [`html_prose`] |
//! | OpenMetrics label value | [`openmetrics_label`] |
//!
//! JSON needs no rule: serde_json escapes every string it writes. Text the
//! renderers write themselves (their own ANSI colours, tabs, line feeds) is
//! not escaped: only what came from an input is.
//!
//! A control character is Unicode's `Cc`: C0 (U+0000–U+001F: ESC, BEL, CR,
//! LF, tab, …), DEL (U+007F) and C1 (U+0080–U+009F, which some terminals
//! obey as CSI/OSC introducers). All are below U+0100, so `\xNN` names each
//! exactly; every other character, multibyte UTF-8 included, is kept.

use std::borrow::Cow;

use super::{code_spans, Span};

/// Whether `s` holds a control character (one byte scan: C0 and DEL are
/// bytes below 0x20 and 0x7f; C1 characters are encoded 0xc2 0x80–0x9f).
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c < 0x20 || c == 0x7f || (c == 0xc2 && b.get(i + 1).is_some_and(|&n| n < 0xa0))
    })
}

/// Pushes `c` onto `out` as `\xNN`.
fn push_hex(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = write!(out, "\\x{:02x}", c as u32);
}

/// `s` with every control character not in `keep` shown as `\xNN`.
fn visible<'a>(s: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !has_control(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() && !keep.contains(&c) {
            push_hex(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Terminal text that stays on its line (a name, a path, a title, an
/// evidence value): every control character as `\xNN`, CR and LF included
/// (`\x0d`, `\x0a`), so input can neither drive the terminal (ESC, BEL, an
/// OSC 52 clipboard write, a screen clear) nor start a line of its own. A
/// backslash is kept as it is. Borrowed when there is nothing to escape.
pub fn terminal(s: &str) -> Cow<'_, str> {
    visible(s, &[])
}

/// Terminal text of several lines (an error message, a source file shown
/// around a finding): as [`terminal`], but line feeds and tabs are kept. A
/// CR is escaped: it would move the cursor back over what was printed.
pub fn terminal_lines(s: &str) -> Cow<'_, str> {
    visible(s, &['\n', '\t'])
}

/// The length of the longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// How many characters at the start of `s` (after up to three spaces, as
/// CommonMark allows) would open a block if `s` began a line: a heading
/// (`#` to `######` then a space or the end), a block quote (`>`), a list
/// item (`-`, `+`, `*` then a space or the end; `1.` or `1)` likewise), a
/// thematic break (`---`). Returns the byte index of the character to
/// backslash-escape.
fn block_start(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let lead = b.iter().take(3).take_while(|&&c| c == b' ').count();
    let rest = &b[lead..];
    let ends_marker = |i: usize| !matches!(rest.get(i), Some(&c) if c != b' ' && c != b'\t');
    match rest.first()? {
        b'>' => Some(lead),
        b'#' => {
            let n = rest.iter().take_while(|&&c| c == b'#').count();
            (n <= 6 && ends_marker(n)).then_some(lead)
        }
        b'-' | b'+' if ends_marker(1) || rest.get(1) == Some(&rest[0]) => Some(lead),
        b'0'..=b'9' => {
            let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            (n <= 9 && matches!(rest.get(n), Some(b'.' | b')')) && ends_marker(n + 1))
                .then_some(lead + n)
        }
        _ => None,
    }
}

/// Markdown inline text (a name, a path, a host, a table cell's words):
/// rendered as the same characters, never as markup.
///
/// - Control characters are shown as `\xNN`: no line break, so no line of
///   the input's own (a heading, a fence, a list) can start.
/// - No raw HTML: `<` is escaped wherever it could open a tag, a comment or
///   an autolink (before a letter, `/`, `!`, `?`), `&` before a letter or
///   `#` (an entity).
/// - Emphasis, code and table syntax (`\ * ` ~ |`), `_` not inside a word,
///   link brackets (`[` with a `]` after it, `]` before `(` or `[`) are
///   backslash-escaped.
/// - Text that would open a block at the start of a line (`# `, `>`, `- `,
///   `1. `) has that character escaped, wherever the text is placed.
///
/// Only where it would act, so ordinary text stays readable when pasted
/// (`max_entries` keeps its underscore).
pub fn md_text(s: &str) -> String {
    let s = terminal(s);
    let at = block_start(&s);
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &(at_byte, c)) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let word = |x: Option<char>| x.is_some_and(char::is_alphanumeric);
        let escape = Some(at_byte) == at
            || match c {
                '\\' | '*' | '`' | '~' | '|' => true,
                '_' => !(word(prev) && word(next)),
                '<' => {
                    next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'))
                }
                '&' => next.is_some_and(|n| n.is_ascii_alphabetic() || n == '#'),
                ']' => matches!(next, Some('(') | Some('[')),
                '[' => chars[i..].iter().any(|&(_, x)| x == ']'),
                _ => false,
            };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown code span holding `s` exactly: fenced by one backtick more
/// than the longest run inside it, padded with a space where the content
/// would touch the fence with a backtick or lose its own outer spaces.
/// Control characters are shown as `\xNN` (a line feed inside a span would
/// let the next line open a block before the span is read).
pub fn md_code(s: &str) -> String {
    let s = terminal(s);
    let fence = "`".repeat(longest_backtick_run(&s) + 1);
    // CommonMark strips one space each side when both are there and the
    // content is not all spaces.
    let pad = s.starts_with('`')
        || s.ends_with('`')
        || (s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty());
    if pad {
        format!("{fence} {s} {fence}")
    } else if s.is_empty() {
        "` `".to_string()
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// The backtick fence for a fenced code block holding `body`: at least
/// three, and longer than any backtick run in it, so no line of the body
/// can close the block. The body's input strings go through [`terminal`]
/// first (no line of their own).
pub fn md_fence(body: &str) -> String {
    "`".repeat((longest_backtick_run(body) + 1).max(3))
}

/// Text as the analyses write it (titles, fixes, notes): its backtick spans
/// (CommonMark's rule: a run closes at the next run of the same length) are
/// re-fenced with [`md_code`], everything else goes through [`md_text`], an
/// unmatched backtick included.
pub fn md_prose(s: &str) -> String {
    code_spans(s)
        .into_iter()
        .map(|span| match span {
            Span::Text(t) => md_text(t),
            Span::Code(c) => md_code(c),
        })
        .collect()
}

/// `|` escaped where a Markdown table would split a cell on it: GFM splits
/// cells before it reads code spans, so even there.
fn cell(s: String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_backslash = false;
    for c in s.chars() {
        if c == '|' && !prev_backslash {
            out.push('\\');
        }
        prev_backslash = c == '\\' && !prev_backslash;
        out.push(c);
    }
    out
}

/// [`md_code`] in a table cell.
pub fn md_code_cell(s: &str) -> String {
    cell(md_code(s))
}

/// [`md_prose`] in a table cell.
pub fn md_prose_cell(s: &str) -> String {
    cell(md_prose(s))
}

/// HTML text for element content and attribute values: `& < > " '` as
/// entities. Control characters need no rule here (a browser draws them,
/// it does not obey them; a line feed is white space).
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text whose backtick spans (as titles, fixes and notes write them) become
/// `<code>`, everything escaped with [`html`]; an unmatched run stays
/// literal.
pub fn html_prose(s: &str) -> String {
    code_spans(s)
        .into_iter()
        .map(|span| match span {
            Span::Text(t) => html(t),
            Span::Code(c) => format!("<code>{}</code>", html(c)),
        })
        .collect()
}

/// An OpenMetrics label value: `\`, `"` and line feed escaped (`\\`, `\"`,
/// `\n`), as the exposition format defines.
pub fn openmetrics_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const OSC52: &str = "\x1b]52;c;aGk=\x07";

    #[test]
    fn terminal_shows_every_control_character_as_hex() {
        assert_eq!(terminal(""), "");
        assert_eq!(terminal("plain text"), "plain text");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(terminal(OSC52), "\\x1b]52;c;aGk=\\x07");
        assert_eq!(terminal("\x1b[2J"), "\\x1b[2J");
        assert_eq!(terminal("a\r\nb\tc"), "a\\x0d\\x0ab\\x09c");
        assert_eq!(terminal("\0\x7f"), "\\x00\\x7f");
        // C1 as characters (CSI U+009B), multibyte UTF-8 around it untouched.
        assert_eq!(terminal("é\u{9b}31m→\u{85}ü"), "é\\x9b31m→\\x85ü");
        // U+00A0 and U+0100 are encoded 0xc2 0xa0 and 0xc4 0x80: not controls.
        assert_eq!(terminal("a\u{a0}b\u{100}"), "a\u{a0}b\u{100}");
        // The replacement character of a lossy decode is kept.
        assert_eq!(terminal("\u{fffd}"), "\u{fffd}");
        assert_eq!(terminal("back\\slash"), "back\\slash");
    }

    #[test]
    fn terminal_lines_keep_line_feeds_and_tabs_only() {
        assert_eq!(terminal_lines("plain text\tok\n"), "plain text\tok\n");
        assert_eq!(terminal_lines("\x1b[31mred\x07"), "\\x1b[31mred\\x07");
        assert_eq!(terminal_lines("a\r\nb"), "a\\x0d\nb");
        assert_eq!(terminal_lines("a\u{85}b"), "a\\x85b");
    }

    #[test]
    fn md_text_escapes_html_and_line_breaks() {
        assert_eq!(md_text(""), "");
        assert_eq!(
            md_text("<img src=x onerror=alert(1)>"),
            "\\<img src=x onerror=alert(1)>"
        );
        assert_eq!(md_text("</p><!-- x --><?php"), "\\</p>\\<!-- x -->\\<?php");
        assert_eq!(md_text("a < b & c"), "a < b & c");
        assert_eq!(md_text("&amp; &#60;"), "\\&amp; \\&#60;");
        assert_eq!(md_text("vm\n# forged heading"), "vm\\\\x0a# forged heading");
        assert_eq!(
            md_text("a\r\x1b]52;c;x\x07"),
            "a\\\\x0d\\\\x1b]52;c;x\\\\x07"
        );
        assert_eq!(
            md_text("max_entries _x_ *y*"),
            "max_entries \\_x\\_ \\*y\\*"
        );
        assert_eq!(md_text("[a](b) ![i](s)"), "\\[a\\](b) !\\[i\\](s)");
        assert_eq!(md_text("a|b ~c~"), "a\\|b \\~c\\~");
        assert_eq!(md_text("naïve → ünïcode"), "naïve → ünïcode");
    }

    #[test]
    fn md_text_never_opens_a_block() {
        assert_eq!(md_text("# forged heading"), "\\# forged heading");
        assert_eq!(md_text("###### h6"), "\\###### h6");
        assert_eq!(md_text("####### seven"), "####### seven");
        assert_eq!(md_text("#tag"), "#tag");
        assert_eq!(md_text("  > quote"), "  \\> quote");
        assert_eq!(md_text("- item"), "\\- item");
        assert_eq!(md_text("---"), "\\---");
        assert_eq!(md_text("-1"), "-1");
        assert_eq!(md_text("+"), "\\+");
        assert_eq!(md_text("12. item"), "12\\. item");
        assert_eq!(md_text("3) item"), "3\\) item");
        assert_eq!(md_text("0.1.0"), "0.1.0");
        assert_eq!(md_text("a # b - c"), "a # b - c");
    }

    #[test]
    fn md_text_shows_hex_escapes_as_written() {
        // The backslash of `\x0a` is escaped like any other, so the page
        // shows `\x0a`, not a line break.
        assert_eq!(md_text("a\nb"), "a\\\\x0ab");
        assert_eq!(md_text("a\\b"), "a\\\\b");
    }

    #[test]
    fn md_code_fences_longer_than_any_backtick_run() {
        assert_eq!(md_code(""), "` `");
        assert_eq!(md_code("a"), "`a`");
        assert_eq!(md_code("Go `int` is 8"), "``Go `int` is 8``");
        assert_eq!(md_code("`int`"), "`` `int` ``");
        assert_eq!(md_code("a``b"), "```a``b```");
        assert_eq!(md_code("```"), "```` ``` ````");
        assert_eq!(md_code("`"), "`` ` ``");
        assert_eq!(md_code(" a "), "`  a  `");
        assert_eq!(md_code("a\n# b"), "`a\\x0a# b`");
        assert_eq!(md_code("<img>"), "`<img>`");
        assert_eq!(md_code("ü→é"), "`ü→é`");
    }

    #[test]
    fn md_fence_is_longer_than_any_run_in_the_body() {
        assert_eq!(md_fence(""), "```");
        assert_eq!(md_fence("a ` b"), "```");
        assert_eq!(md_fence("x\n```\ny"), "````");
        assert_eq!(md_fence("`````"), "``````");
    }

    #[test]
    fn md_prose_keeps_its_spans_and_escapes_the_rest() {
        assert_eq!(md_prose("`a_b` and a_b, _c"), "`a_b` and a_b, \\_c");
        assert_eq!(md_prose("unmatched ` tick"), "unmatched \\` tick");
        assert_eq!(md_prose("x *y* [z]"), "x \\*y\\* \\[z]");
        assert_eq!(md_prose("`<b>` <b>"), "`<b>` \\<b>");
        assert_eq!(md_prose(""), "");
    }

    #[test]
    fn cells_escape_pipes_inside_code_too() {
        assert_eq!(md_code_cell("a|b"), "`a\\|b`");
        assert_eq!(md_prose_cell("a|b `c|d`"), "a\\|b `c\\|d`");
    }

    #[test]
    fn html_escapes_markup_characters() {
        assert_eq!(html(""), "");
        assert_eq!(
            html("<img src=x onerror=\"alert('1')\">&"),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
        assert_eq!(html("ü→é"), "ü→é");
        assert_eq!(
            html_prose("`a` and `b<c>`"),
            "<code>a</code> and <code>b&lt;c&gt;</code>"
        );
        assert_eq!(
            html_prose("x `` (Go `int`) `` y"),
            "x <code>(Go `int`)</code> y"
        );
        assert_eq!(html_prose("a ` b"), "a ` b");
    }

    #[test]
    fn openmetrics_labels_escape_backslash_quote_and_line_feed() {
        assert_eq!(openmetrics_label(""), "");
        assert_eq!(openmetrics_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(openmetrics_label("ü"), "ü");
    }
}
