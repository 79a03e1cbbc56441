//! `collect` then `analyze` on a live scenario: a BPF program reloaded while
//! its old maps stay pinned. Needs root and bpffs (runs for real in CI).

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{bpfcase, corpus};

/// Removes the test's pins however the test ends.
struct PinDir(PathBuf);

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bpftool(args: &[&str]) {
    let out = Command::new("bpftool")
        .args(args)
        .output()
        .expect("run bpftool");
    assert!(
        out.status.success(),
        "bpftool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Replaces run-dependent ids with their role: `<old-map>` (pinned, unused),
/// `<live-map>` (used by the reloaded program) and `<prog>`. Map and program
/// ids come from separate id spaces and may be equal numbers, so numbers are
/// replaced by the key they sit under, never by value alone.
fn normalise_ids(findings: &[serde_json::Value], dir: &str) -> String {
    use serde_json::Value;
    let mut roles: std::collections::BTreeMap<u64, &str> = Default::default();
    for f in findings {
        let e = &f["evidence"];
        let ids = |v: &Value| -> Vec<u64> {
            match v {
                Value::Number(n) => n.as_u64().into_iter().collect(),
                Value::Array(a) => a.iter().filter_map(Value::as_u64).collect(),
                _ => Vec::new(),
            }
        };
        for id in ids(&e["pinned_map_id"])
            .into_iter()
            .chain(ids(&e["unused"]))
        {
            roles.insert(id, "<old-map>");
        }
        for id in ids(&e["live_map_ids"])
            .into_iter()
            .chain(ids(&e["used_by_programs"]))
        {
            roles.insert(id, "<live-map>");
        }
    }
    fn walk(v: &mut Value, key: &str, roles: &std::collections::BTreeMap<u64, &str>) {
        match v {
            Value::Number(n) => {
                let Some(id) = n.as_u64() else { return };
                let role = match key {
                    "prog_ids" | "live_map_prog_ids" => Some("<prog>"),
                    "id" | "pinned_map_id" | "live_map_ids" | "used_by_programs" | "unused" => {
                        roles.get(&id).copied()
                    }
                    _ => None,
                };
                if let Some(r) = role {
                    *v = Value::String(r.to_string());
                }
            }
            Value::String(s) => {
                // Titles and fixes name map ids only.
                let mut out = s.clone();
                for (id, role) in roles.iter().rev() {
                    out = replace_number(&out, *id, role);
                }
                *s = out;
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, key, roles)),
            Value::Object(o) => o.iter_mut().for_each(|(k, x)| walk(x, k, roles)),
            _ => {}
        }
    }
    let mut v = Value::Array(findings.to_vec());
    // A finding's id hashes what it says, live map ids included: shown as a
    // shape, `F-` and 8 hex digits.
    for f in v.as_array_mut().into_iter().flatten() {
        if let Some(c) = f.get_mut("caused_by").filter(|c| !c.is_null()) {
            *c = Value::String("F-<hash of its cause>".to_string());
        }
        if let Some(id) = f.get_mut("id") {
            let ok = id.as_str().is_some_and(|s| {
                s.len() == 10
                    && s.starts_with("F-")
                    && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
            });
            *id = Value::String(if ok { "F-<hash>" } else { "<bad id>" }.to_string());
        }
    }
    walk(&mut v, "", &roles);
    serde_json::to_string_pretty(&v)
        .unwrap()
        .replace(dir, "PINDIR")
}

/// Replaces whole-number occurrences of `id` in `text` (130 never matches 13).
fn replace_number(text: &str, id: u64, with: &str) -> String {
    let s = id.to_string();
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(found) = text[pos..].find(&s) {
        let at = pos + found;
        let end = at + s.len();
        let digit = |c: Option<&u8>| c.is_some_and(u8::is_ascii_digit);
        out.push_str(&text[pos..at]);
        if digit(at.checked_sub(1).and_then(|p| b.get(p))) || digit(b.get(end)) {
            out.push_str(&s);
        } else {
            out.push_str(with);
        }
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}

#[test]
fn reloaded_program_with_stale_pins() {
    if !support::require_bpf("reloaded_program_with_stale_pins") {
        return;
    }
    let dir = PinDir(PathBuf::from("/sys/fs/bpf/bpfcase-test-reload"));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let d = dir.0.display().to_string();
    let obj = corpus("bpf/flows.bpf.o");
    let obj = obj.to_str().unwrap();
    // v1 loads and pins its maps; its program is then unloaded (unpinned),
    // leaving the maps alive through their pins; v2 loads fresh maps.
    bpftool(&[
        "prog",
        "loadall",
        obj,
        &format!("{d}/v1"),
        "pinmaps",
        &format!("{d}/v1_maps"),
    ]);
    std::fs::remove_dir_all(format!("{d}/v1")).unwrap();
    bpftool(&[
        "prog",
        "loadall",
        obj,
        &format!("{d}/v2"),
        "pinmaps",
        &format!("{d}/v2_maps"),
    ]);

    let tmp = std::env::temp_dir().join(format!("bpfcase-reload-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let bundle = tmp.join("case.tar");
    let out = bpfcase()
        .args(["collect", "--pinned", &d, "-o"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "collect: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = bpfcase()
        .arg("analyze")
        .arg(&bundle)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stale pins are errors");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pick = |code: &str| -> Vec<serde_json::Value> {
        let mut v: Vec<serde_json::Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code && f.to_string().contains("flows"))
            .filter(|f| !f.to_string().contains("bench"))
            .cloned()
            .collect();
        v.sort_by_key(|f| f["title"].as_str().unwrap().to_string());
        v
    };
    let stale = pick("maps/stale-pin");
    let dup = pick("maps/duplicate-name");
    assert_eq!(stale.len(), 3, "one stale pin per v1 map: {stale:#?}");
    assert_eq!(
        dup.len(),
        3,
        "flows, flows_lru, flows_small each twice: {dup:#?}"
    );
    for f in &stale {
        assert!(f["evidence"]["pin"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{d}/v1_maps/")));
    }
    insta::assert_snapshot!("maps_stale_pin_reload", normalise_ids(&stale[..1], &d));
    insta::assert_snapshot!("maps_duplicate_name_reload", normalise_ids(&dup[..1], &d));
    let _ = std::fs::remove_dir_all(&tmp);
}
