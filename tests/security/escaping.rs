//! A bundle attached to a ticket is the attacker's: every string in it (host
//! name, kernel, version, limits, map names, BTF type and member names, a
//! traced `comm`, member file names, snapshot times) and the names of the
//! files around it carry HTML, a Markdown heading, a code fence, CR/LF,
//! ESC/BEL, an OSC 52 clipboard write and a screen clear. Rendered in every
//! format by analyze, fleet, diff, layout and decode, none of it acts:
//! terminal text has no control character of the input, the Markdown (read
//! back with a CommonMark parser) has no raw HTML and no heading or code
//! block of the input's, the HTML no live tag. No root needed: the attacker
//! here is the bundle, so these tests always run.

use std::path::{Path, PathBuf};
use std::process::Command;

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use sha2::{Digest, Sha256};

use crate::support;

/// What the attacker writes into every string: a line break, then its own
/// Markdown heading, a live image tag, a code fence; an OSC 52 clipboard
/// write, a screen clear, a C1 CSI, a DEL; Markdown punctuation.
const P: &str = "\r\n# forged heading\n<img src=x onerror=alert(1)>\n```\n\x1b]52;c;aGk=\x07\x1b[2J\u{9b}2J\x7f|`x`*_[a](b)&amp;";

/// The OSC 52 write as an escaping renderer shows it.
const OSC52_SHOWN: &str = "\\x1b]52;c;aGk=\\x07";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfcase-esc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The BTF blob with every type, member, enumerator and parameter name in
/// `renames` pointed at its new spelling (appended to the string section,
/// which comes last), so the blob stays valid BTF.
fn rename_btf(blob: &[u8], renames: &[(&str, String)]) -> Vec<u8> {
    assert_eq!(&blob[..2], &[0x9f, 0xeb], "not little-endian raw BTF");
    let hdr_len = u32_at(blob, 4) as usize;
    let (type_off, type_len) = (u32_at(blob, 8) as usize, u32_at(blob, 12) as usize);
    let (str_off, str_len) = (u32_at(blob, 16) as usize, u32_at(blob, 20) as usize);
    let (types, strs) = (hdr_len + type_off, hdr_len + str_off);
    assert_eq!(strs + str_len, blob.len(), "strings must come last");
    let mut out = blob.to_vec();
    let mut new_offsets = Vec::new();
    for (_, new) in renames {
        new_offsets.push((out.len() - strs) as u32);
        out.extend_from_slice(new.as_bytes());
        out.push(0);
    }
    let name = |off: u32| {
        let s = &blob[strs + off as usize..];
        std::str::from_utf8(&s[..s.iter().position(|&c| c == 0).unwrap()]).unwrap()
    };
    let mut renamed = 0;
    let mut patch = |out: &mut Vec<u8>, at: usize| {
        let old = name(u32_at(blob, at));
        if let Some(i) = renames.iter().position(|(o, _)| *o == old) {
            out[at..at + 4].copy_from_slice(&new_offsets[i].to_le_bytes());
            renamed += 1;
        }
    };
    let mut pos = types;
    while pos < types + type_len {
        let info = u32_at(blob, pos + 4);
        let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        patch(&mut out, pos);
        pos += 12;
        let (each, named) = match kind {
            4 | 5 => (12, true),       // struct, union: members
            6 => (8, true),            // enum
            19 => (12, true),          // enum64
            13 => (8, true),           // func proto: parameters
            15 => (12, false),         // datasec
            1 | 14 | 17 => (4, false), // int, var, decl tag: one word
            3 => (12, false),          // array
            _ => (0, false),
        };
        let n = if matches!(kind, 1 | 14 | 17 | 3) {
            1
        } else {
            vlen
        };
        for i in 0..n {
            if named {
                patch(&mut out, pos + i * each);
            }
        }
        pos += n * each;
    }
    assert!(renamed > 0, "no name of {renames:?} in the BTF");
    let new_len = (out.len() - strs) as u32;
    out[20..24].copy_from_slice(&new_len.to_le_bytes());
    out
}

/// A directory bundle made from the lookups case with every string the
/// attacker controls carrying [`P`]. Members that change get their size
/// and SHA-256 rewritten in the manifest, so the bundle verifies.
fn crafted_bundle(dir: &Path) -> PathBuf {
    let bundle = dir.join("crafted");
    std::fs::create_dir_all(&bundle).unwrap();
    let st = Command::new("tar")
        .arg("xf")
        .arg(support::corpus("cases/lookups/case.tar"))
        .arg("-C")
        .arg(&bundle)
        .status()
        .unwrap();
    assert!(st.success());
    let manifest_path = bundle.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    m["bpfcase_version"] = format!("0.1.0{P}").into();
    m["host"]["hostname"] = format!("vm{P}").into();
    m["host"]["kernel_release"] = format!("6.18{P}").into();
    m["host"]["machine"] = format!("x86_64{P}").into();
    m["limits_hit"] = serde_json::json!([{"limit": format!("max-entries{P}"),
        "what": format!("map 1 (x{P})"), "detail": P}]);
    for map in m["maps"].as_array_mut().unwrap() {
        let name = map["name"].as_str().unwrap().to_string();
        map["name"] = format!("{name}{P}").into();
    }
    for s in m["snapshots"].as_array_mut().unwrap() {
        let time = s["time"].as_str().unwrap().to_string();
        s["time"] = format!("{time}{P}").into();
    }
    for p in m["processes"].as_array_mut().unwrap() {
        p["comm"] = format!("workload{P}").into();
    }
    // Changed members: new bytes, and possibly a new name.
    let rewrite = |m: &mut serde_json::Value, path: &str, new_path: &str, bytes: Vec<u8>| {
        std::fs::remove_file(bundle.join(path)).unwrap();
        std::fs::write(bundle.join(new_path), &bytes).unwrap();
        for f in m["files"].as_array_mut().unwrap() {
            if f["path"] == path {
                f["path"] = new_path.into();
                f["size"] = bytes.len().into();
                f["sha256"] = sha256(&bytes).into();
            }
        }
        for map in m["maps"].as_array_mut().unwrap() {
            if map["dump"] == path {
                map["dump"] = new_path.into();
            }
        }
        for s in m["snapshots"].as_array_mut().unwrap() {
            if s["dump"] == path {
                s["dump"] = new_path.into();
            }
        }
    };
    // The traced comm.
    let trace = std::fs::read_to_string(bundle.join("trace/bpf-calls.jsonl")).unwrap();
    let comm = serde_json::to_string(&format!("workload{P}")).unwrap();
    let trace = trace.replace("\"comm\":\"workload\"", &format!("\"comm\":{comm}"));
    rewrite(
        &mut m,
        "trace/bpf-calls.jsonl",
        "trace/bpf-calls.jsonl",
        trace.into_bytes(),
    );
    // BTF struct and member names.
    let renames = [
        ("conn_key", format!("conn_key{P}")),
        ("proto", format!("proto{P}")),
        ("dport", format!("dport{P}")),
    ];
    for btf in ["btf/2623.btf", "btf/2632.btf"] {
        let blob = rename_btf(&std::fs::read(bundle.join(btf)).unwrap(), &renames);
        rewrite(&mut m, btf, btf, blob);
    }
    // A dump member whose file name is the attacker's.
    let dump = std::fs::read(bundle.join("maps/34524-conns.json")).unwrap();
    rewrite(
        &mut m,
        "maps/34524-conns.json",
        &format!("maps/34524-{P}.json"),
        dump,
    );
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    bundle
}

/// The clean lookups case as a directory bundle, for comparison.
fn clean_bundle(dir: &Path) -> PathBuf {
    let bundle = dir.join("clean");
    std::fs::create_dir_all(&bundle).unwrap();
    let st = Command::new("tar")
        .arg("xf")
        .arg(support::corpus("cases/lookups/case.tar"))
        .arg("-C")
        .arg(&bundle)
        .status()
        .unwrap();
    assert!(st.success());
    bundle
}

/// Runs bpfcase; its stdout, whatever the exit code (findings exit 1), but
/// never a usage or input error (exit 2) or a crash.
fn run(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> String {
    let mut cmd = support::bpfcase();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0) | Some(1)),
        "bpfcase {args:?} exited {code:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // stderr is terminal text too.
    check_terminal(
        &format!("stderr of {args:?}"),
        &String::from_utf8_lossy(&out.stderr),
        false,
    );
    String::from_utf8(out.stdout).expect("output is UTF-8")
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

/// Terminal text: no control character but line feed and tab (and, when
/// `colored`, the renderer's own SGR colour sequences), no line started by
/// the input, and the payload shown escaped when `expect_payload`.
fn check_terminal(what: &str, text: &str, expect_payload: bool) {
    let mut rest = text;
    // The renderer's own colours: ESC [ digits/; m, nothing else.
    let mut without_sgr = String::new();
    while let Some(i) = rest.find("\x1b[") {
        without_sgr.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        let n = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(tail.len());
        if tail[n..].starts_with('m') {
            rest = &tail[n + 1..];
        } else {
            // Not a colour: keep it so the check below catches it.
            without_sgr.push_str("\x1b[");
            rest = tail;
        }
    }
    without_sgr.push_str(rest);
    for (i, c) in without_sgr.char_indices() {
        assert!(
            !c.is_control() || c == '\n' || c == '\t',
            "{what}: control character {c:?} at {i} reached the terminal:\n{text}"
        );
    }
    for line in without_sgr.lines() {
        let t = line.trim_start();
        for forged in ["# forged heading", "<img", "```"] {
            assert!(
                !t.starts_with(forged),
                "{what}: the input started a line: {line:?}\n{text}"
            );
        }
    }
    if expect_payload {
        assert!(
            without_sgr.contains(OSC52_SHOWN),
            "{what}: the payload is not shown escaped:\n{text}"
        );
    }
}

/// (level, text) of every heading, the HTML the parser found, the code
/// blocks' line counts; and that no control character but LF is left.
struct MdShape {
    headings: Vec<(HeadingLevel, String)>,
    html: Vec<String>,
    code_blocks: Vec<usize>,
}

fn md_shape(what: &str, md: &str) -> MdShape {
    for (i, c) in md.char_indices() {
        assert!(
            !c.is_control() || c == '\n',
            "{what}: control character {c:?} at {i} in the Markdown:\n{md}"
        );
    }
    let mut shape = MdShape {
        headings: Vec::new(),
        html: Vec::new(),
        code_blocks: Vec::new(),
    };
    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut block: Option<usize> = None;
    for event in Parser::new_ext(md, pulldown_cmark::Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, String::new())),
            Event::End(TagEnd::Heading(_)) => shape.headings.extend(heading.take()),
            Event::Start(Tag::CodeBlock(_)) => block = Some(0),
            Event::End(TagEnd::CodeBlock) => shape.code_blocks.extend(block.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, h)) = heading.as_mut() {
                    h.push_str(&t);
                }
                if let Some(n) = block.as_mut() {
                    *n += t.matches('\n').count();
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => shape.html.push(h.to_string()),
            _ => {}
        }
    }
    shape
}

/// The report's own HTML in Markdown: folded evidence and line breaks in
/// table cells; anything else is the input's.
fn check_md_html(what: &str, md: &str, html: &[String]) {
    for h in html {
        let mut rest = h.clone();
        for own in ["<details>", "</details>", "<summary>", "</summary>", "<br>"] {
            rest = rest.replace(own, "");
        }
        assert!(
            !rest.contains('<'),
            "{what}: raw HTML {h:?} in the Markdown:\n{md}"
        );
    }
}

fn check_md(what: &str, md: &str, clean: &str) {
    let shape = md_shape(what, md);
    let clean_shape = md_shape("clean", clean);
    check_md_html(what, md, &shape.html);
    let levels = |s: &MdShape| s.headings.iter().map(|(l, _)| *l).collect::<Vec<_>>();
    assert_eq!(
        levels(&shape),
        levels(&clean_shape),
        "{what}: headings differ from the clean report's: {:?}",
        shape.headings
    );
    assert!(
        shape.headings.iter().all(|(_, h)| !h.starts_with("forged")),
        "{what}: a forged heading: {:?}",
        shape.headings
    );
    assert_eq!(
        shape.code_blocks, clean_shape.code_blocks,
        "{what}: code blocks (lines each) differ from the clean report's:\n{md}"
    );
    assert!(
        md.contains("52;c;aGk="),
        "{what}: the payload is not in the Markdown at all:\n{md}"
    );
}

fn check_html(what: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("<img"),
        "{what}: a live <img> tag in the HTML"
    );
    assert!(
        lower.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{what}: the payload is not in the HTML, escaped"
    );
}

/// Whether any string in the JSON tree holds `needle`.
fn json_holds(v: &serde_json::Value, needle: &str) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains(needle),
        serde_json::Value::Array(a) => a.iter().any(|x| json_holds(x, needle)),
        serde_json::Value::Object(o) => o.values().any(|x| json_holds(x, needle)),
        _ => false,
    }
}

#[test]
fn analyze_of_a_crafted_bundle_is_inert_in_every_format() {
    let dir = temp_dir("analyze");
    let crafted = crafted_bundle(&dir);
    let clean = clean_bundle(&dir);
    let analyze = |bundle: &Path, format: &str, env: &[(&str, &str)]| {
        run(
            &[
                os("analyze"),
                bundle.as_os_str(),
                os("--format"),
                os(format),
            ],
            env,
        )
    };
    let text = analyze(&crafted, "text", &[]);
    check_terminal("analyze text", &text, true);
    for field in ["vm", "6.18", "x86_64", "0.1.0", "max-entries"] {
        assert!(
            text.contains(&format!("{field}\\x0d\\x0a#")),
            "analyze text: {field}'s line feed is not shown:\n{text}"
        );
    }
    let colored = analyze(&crafted, "text", &[("CLICOLOR_FORCE", "1")]);
    assert!(colored.contains("\x1b[1m"), "CLICOLOR_FORCE gave no colour");
    check_terminal("analyze text in colour", &colored, true);

    let md = analyze(&crafted, "md", &[]);
    check_md("analyze md", &md, &analyze(&clean, "md", &[]));

    let html = analyze(&crafted, "html", &[]);
    check_html("analyze html", &html);

    let json: serde_json::Value = serde_json::from_str(&analyze(&crafted, "json", &[])).unwrap();
    // JSON is data: the strings are kept exactly, serde escapes them.
    assert_eq!(json["bundles"][0]["host"], format!("vm{P}"));
    assert!(json_holds(&json["findings"], &format!("workload{P}")));

    let metrics = analyze(&crafted, "openmetrics", &[]);
    for line in metrics.lines() {
        assert!(
            line.starts_with("# HELP ")
                || line.starts_with("# TYPE ")
                || line.starts_with("# EOF")
                || line.starts_with("bpfcase_"),
            "openmetrics: a line of the input's: {line:?}\n{metrics}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fleet_of_crafted_bundles_and_file_names_is_inert() {
    let dir = temp_dir("fleet");
    let crafted = crafted_bundle(&dir);
    let fleet = dir.join("fleet");
    std::fs::create_dir_all(&fleet).unwrap();
    // The bundle under a directory name of the attacker's, next to clean
    // nodes, an unreadable "bundle" and a stray file, both named by it.
    std::fs::rename(&crafted, fleet.join(format!("node{P}"))).unwrap();
    for node in ["node-01.tar", "node-02.tar"] {
        std::fs::copy(
            support::corpus(&format!("fleet/bundles/{node}")),
            fleet.join(node),
        )
        .unwrap();
    }
    std::fs::write(fleet.join(format!("broken{P}.tar")), b"not a tar").unwrap();
    std::fs::write(fleet.join(format!("notes{P}.txt")), b"hello").unwrap();
    let render = |format: &str, env: &[(&str, &str)]| {
        run(
            &[os("fleet"), fleet.as_os_str(), os("--format"), os(format)],
            env,
        )
    };
    let text = render("text", &[]);
    check_terminal("fleet text", &text, true);
    let colored = render("text", &[("CLICOLOR_FORCE", "1")]);
    check_terminal("fleet text in colour", &colored, true);

    let md = render("md", &[]);
    let shape = md_shape("fleet md", &md);
    check_md_html("fleet md", &md, &shape.html);
    assert_eq!(
        shape
            .headings
            .iter()
            .filter(|(l, _)| *l == HeadingLevel::H1)
            .count(),
        1
    );
    for (level, h) in &shape.headings {
        let own = match level {
            HeadingLevel::H1 => h == "bpfcase fleet report",
            HeadingLevel::H2 => {
                [
                    "Findings",
                    "Map layouts",
                    "Maps on some nodes only",
                    "Bundles",
                    "Not bundles (ignored)",
                ]
                .contains(&h.as_str())
                    // Nodes in N groups
                    || (h.starts_with("Nodes in ")
                        && (h.ends_with(" groups") || h.ends_with(" group")))
            }
            _ => false,
        };
        assert!(
            own,
            "fleet md: a heading the report does not make: {h:?}\n{md}"
        );
    }
    assert!(
        shape.code_blocks.is_empty(),
        "fleet md: a code block:\n{md}"
    );
    assert!(md.contains("52;c;aGk="), "fleet md: no payload:\n{md}");

    let html = render("html", &[]);
    check_html("fleet html", &html);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_layout_and_decode_of_crafted_inputs_print_no_control_characters() {
    let dir = temp_dir("tools");
    let crafted = crafted_bundle(&dir);

    // diff: the bundle's snapshots (map names, times, dump file names, BTF
    // field names in decoded keys).
    let text = run(&[os("diff"), crafted.as_os_str()], &[]);
    check_terminal("diff text", &text, true);
    assert!(text.contains(&format!("conns{}", "\\x0d\\x0a# forged heading")));

    // layout: BTF struct and member names, and the file's own name.
    let btf = crafted.join("btf/2632.btf");
    let text = run(&[os("layout"), btf.as_os_str()], &[]);
    check_terminal("layout text", &text, true);
    let named = dir.join(format!("types{P}.btf"));
    std::fs::copy(&btf, &named).unwrap();
    let text = run(
        &[
            os("layout"),
            named.as_os_str(),
            os("--format"),
            os("summary"),
        ],
        &[],
    );
    check_terminal("layout summary", &text, true);
    let out = dir.join("layout.txt");
    let summary = run(
        &[os("layout"), named.as_os_str(), os("-o"), out.as_os_str()],
        &[],
    );
    assert!(summary.is_empty());

    // decode: entries decoded with the crafted member names, and the
    // dump's findings (key padding garbage in a crafted key type).
    let dump = crafted.join(format!("maps/34524-{P}.json"));
    let text = run(
        &[
            os("decode"),
            os("--dump"),
            dump.as_os_str(),
            os("--btf"),
            btf.as_os_str(),
            os("--key-type"),
            os(&format!("conn_key{P}")),
            os("--value-type"),
            os("conn_val"),
        ],
        &[],
    );
    // The decoded entries are JSON: serde escapes C0 (`\u001b`), and the
    // terminal rule the C1 and DEL it leaves raw.
    check_terminal("decode text", &text, false);
    assert!(
        text.contains("\\u001b]52;c;aGk=\\u0007\\u001b[2J\\x9b2J\\x7f"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
