//! End to end on the live kernel: load corpus objects, plant the corpus
//! contents with bpftool, collect, and check the bundle against what was
//! planted and against bpftool's own dump of the same maps. Also proves the
//! collect changed nothing: entries and pins are the same before and after.

#[path = "collect_support/mod.rs"]
mod support;

use std::process::Command;

use support::*;

#[test]
fn collect_dumps_planted_maps_exactly() {
    if !can_run("collect_dumps_planted_maps_exactly") {
        return;
    }
    let dir = PinDir::new("e2e");
    for obj in ["flows", "stats"] {
        load_corpus_object(&dir, obj);
        replay_updates(&dir, obj);
    }
    let maps = [
        "flows/maps/flows",
        "flows/maps/flows_lru",
        "flows/maps/flows_small",
        "stats/maps/cpu_stats",
        "stats/maps/proc_stats",
        "stats/maps/policies",
    ];
    let before: Vec<Vec<String>> = maps
        .iter()
        .map(|m| entry_set(&bpftool_dump(&dir.path(m))))
        .collect();
    let pins_before = pin_listing(&dir);

    let out = scratch("e2e").join("t.tar");
    run_ok(
        bpfcase()
            .args(["collect", "-o"])
            .arg(&out)
            .arg("--pinned")
            .arg(&dir.0),
    );

    // Read-only: the same entries and the same pins after the collect.
    let after: Vec<Vec<String>> = maps
        .iter()
        .map(|m| entry_set(&bpftool_dump(&dir.path(m))))
        .collect();
    assert_eq!(before, after, "map contents changed during collect");
    assert_eq!(
        pins_before,
        pin_listing(&dir),
        "pins changed during collect"
    );

    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let files = read_bundle(&out);
    let m = checked_manifest(&files);
    assert!(!m.partial, "limits: {:?}", m.limits_hit);
    assert_eq!(m.host.possible_cpus as usize, num_possible_cpus());
    assert!(files.contains_key("btf/vmlinux.btf"));
    assert!(files.contains_key("bpftool/map-show.json"));

    for (i, rel) in maps.iter().enumerate() {
        let pin = dir.path(rel).display().to_string();
        let pinrec = m
            .pins
            .iter()
            .find(|p| p.path == pin)
            .unwrap_or_else(|| panic!("pin {pin} listed"));
        assert_eq!(pinrec.kind, "map");
        let rec = m.maps.iter().find(|r| r.id == pinrec.id).unwrap();
        assert_eq!(rec.dump_method.as_deref(), Some("batch"), "{rel}");
        let dump: serde_json::Value =
            serde_json::from_slice(&files[rec.dump.as_ref().unwrap()]).unwrap();
        // Same entries as bpftool's own dump, byte for byte.
        assert_eq!(
            entry_set(&dump),
            before[i],
            "{rel}: bundle dump differs from bpftool's"
        );
        assert_eq!(rec.entries, Some(before[i].len() as u64));
        // And the map's BTF is in the bundle.
        assert!(
            m.btf
                .iter()
                .any(|b| b.id == rec.btf_id && files.contains_key(&b.path)),
            "{rel} BTF"
        );
        assert!(
            !rec.prog_ids.is_empty() || rel.starts_with("stats"),
            "{rel} used by a program"
        );
    }

    // Equal, too, to the committed capture of the same plant (ids aside).
    let flows_rec = map_by_pin(&m, &dir, "flows/maps/flows");
    let flows: serde_json::Value =
        serde_json::from_slice(&files[flows_rec.dump.as_ref().unwrap()]).unwrap();
    let corpus: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("corpora/dumps/flows/flows.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(entry_set(&flows), entry_set(&corpus));

    // The key with garbage in its 2-byte hole (bytes 6..8 = de ad) is kept as is.
    let garbage = flows.as_array().unwrap().iter().any(|e| {
        let k = e["key"].as_array().unwrap();
        k[6] == "0xde" && k[7] == "0xad"
    });
    assert!(garbage, "key with padding garbage de ad present");

    // analyze reads the bundle: every file verifies, every map's BTF is
    // there, the flows key's padding is reported from it, and the planted
    // garbage in the padding of three keys is found in the bundle's dump.
    let report = run_ok(
        bpfcase()
            .args(["analyze", "--format", "json", "--fail-on", "never"])
            .arg(&out),
    );
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    // The node's other maps are listed too; one that another test frees
    // while collect runs loses its BTF (a true "could not be read" about
    // a map that is not ours): only the planted maps' BTF must be there.
    let dir_prefix = dir.path("").display().to_string();
    let ours: Vec<u32> = m
        .pins
        .iter()
        .filter(|p| p.path.starts_with(&dir_prefix))
        .filter_map(|p| m.maps.iter().find(|r| r.id == p.id))
        .map(|r| r.btf_id)
        .collect();
    let about_ours = |f: &serde_json::Value| {
        let file = f["evidence"]["file"].as_str().unwrap_or("");
        match file.rsplit_once("!btf id ") {
            Some((_, id)) => id.parse::<u32>().is_ok_and(|id| ours.contains(&id)),
            None => true,
        }
    };
    let bundle_unreadable: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["code"] == "input/unreadable" && f["severity"] != "info")
        .filter(|f| about_ours(f))
        .collect();
    assert!(
        bundle_unreadable.is_empty(),
        "analyze could not read parts of the bundle: {bundle_unreadable:?}"
    );
    assert!(
        findings.iter().any(|f| f["code"] == "layout/key-padding"
            && f["map"]["id"] == flows_rec.id
            && f["evidence"]["padding_bytes"] == 5),
        "analyze reports flow_key's 5 padding bytes for map {}",
        flows_rec.id
    );
    let garbage = findings
        .iter()
        .find(|f| f["code"] == "dump/key-padding-garbage" && f["map"]["id"] == flows_rec.id)
        .unwrap_or_else(|| {
            panic!(
                "no dump/key-padding-garbage for map {}: {findings:#?}",
                flows_rec.id
            )
        });
    assert!(
        garbage["title"].as_str().unwrap().starts_with("3 of "),
        "three planted keys have garbage in their padding: {garbage}"
    );

    // The bundle's dump and BTF are what `bpfcase decode` needs to find the
    // planted padding garbage.
    let scratch_dir = out.parent().unwrap();
    let dump_file = scratch_dir.join("flows.json");
    std::fs::write(&dump_file, &files[flows_rec.dump.as_ref().unwrap()]).unwrap();
    let btf_rec = m.btf.iter().find(|b| b.id == flows_rec.btf_id).unwrap();
    let btf_file = scratch_dir.join("flows.btf");
    std::fs::write(&btf_file, &files[&btf_rec.path]).unwrap();
    let decoded = bpfcase()
        .args([
            "decode",
            "--format",
            "summary",
            "--key-type",
            "flow_key",
            "--value-type",
            "flow_value",
            "--dump",
        ])
        .arg(&dump_file)
        .arg("--btf")
        .arg(&btf_file)
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&decoded.stdout).unwrap_or_else(|e| {
        panic!(
            "decode output: {e}: {}",
            String::from_utf8_lossy(&decoded.stderr)
        )
    });
    assert_eq!(summary["entries"], 6);
    assert!(
        summary["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "dump/key-padding-garbage"
                && f["evidence"]["entries_with_garbage"] == 3),
        "decode of the bundle's dump reports the 3 planted garbage keys: {summary}"
    );

    // Per-CPU layout: one value per possible CPU, value_size bytes each.
    let cpu = map_by_pin(&m, &dir, "stats/maps/cpu_stats");
    let dump: serde_json::Value =
        serde_json::from_slice(&files[cpu.dump.as_ref().unwrap()]).unwrap();
    for e in dump.as_array().unwrap() {
        let values = e["values"].as_array().unwrap();
        assert_eq!(values.len(), num_possible_cpus());
        for (n, v) in values.iter().enumerate() {
            assert_eq!(v["cpu"], n);
            assert_eq!(
                v["value"].as_array().unwrap().len(),
                cpu.value_size as usize
            );
        }
    }
}

#[test]
fn redact_values_keeps_only_padding_bytes() {
    if !can_run("redact_values_keeps_only_padding_bytes") {
        return;
    }
    let dir = PinDir::new("redact");
    load_corpus_object(&dir, "flows");
    replay_updates(&dir, "flows");
    let out = scratch("redact").join("r.tar");
    run_ok(
        bpfcase()
            .args(["collect", "--redact", "keys", "--no-bpftool", "-o"])
            .arg(&out)
            .arg("--pinned")
            .arg(&dir.0),
    );
    let files = read_bundle(&out);
    let m = checked_manifest(&files);
    assert_eq!(m.redact, "keys");
    let rec = map_by_pin(&m, &dir, "flows/maps/flows");
    assert!(
        rec.redaction
            .as_deref()
            .unwrap()
            .contains("40 padding bits"),
        "{:?}",
        rec.redaction
    );
    let dump: serde_json::Value =
        serde_json::from_slice(&files[rec.dump.as_ref().unwrap()]).unwrap();
    let keys: Vec<Vec<String>> = dump
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["key"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    // flow_key: payload zeroed, the hole (6..8) and tail padding (13..16) kept.
    let hole_and_tail: Vec<Vec<&str>> = keys
        .iter()
        .map(|k| [6, 7, 13, 14, 15].iter().map(|&i| k[i].as_str()).collect())
        .collect();
    assert!(hole_and_tail.contains(&vec!["0xde", "0xad", "0x00", "0x00", "0x00"]));
    assert!(hole_and_tail.contains(&vec!["0xff", "0xff", "0xff", "0xff", "0xff"]));
    for k in &keys {
        for i in [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12] {
            assert_eq!(k[i], "0x00", "payload byte {i} redacted");
        }
    }
}

fn map_by_pin<'m>(
    m: &'m bpfcase::bundle::Manifest,
    dir: &PinDir,
    rel: &str,
) -> &'m bpfcase::bundle::MapRecord {
    let pin = dir.path(rel).display().to_string();
    let id = m.pins.iter().find(|p| p.path == pin).unwrap().id;
    m.maps.iter().find(|r| r.id == id).unwrap()
}

fn pin_listing(dir: &PinDir) -> String {
    String::from_utf8(
        run_ok(
            Command::new("find")
                .arg(&dir.0)
                .arg("-printf")
                .arg("%p %y %m\n"),
        )
        .stdout,
    )
    .unwrap()
}

fn num_possible_cpus() -> usize {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap();
    s.trim()
        .split(',')
        .map(|r| match r.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

/// `--pid` finds the maps a process holds through /proc/PID/fdinfo; with
/// `--binaries`, `--elf`, `--max-entries` and `--snapshots` every cut and
/// copy is recorded in the manifest.
#[test]
fn pid_filter_limits_binaries_elf_and_snapshots() {
    if !can_run("pid_filter_limits_binaries_elf_and_snapshots") {
        return;
    }
    let dir = PinDir::new("pid");
    let pin = dir.path("held");
    run_ok(
        Command::new("bpftool")
            .args(["map", "create"])
            .arg(&pin)
            .args([
                "type", "hash", "key", "4", "value", "4", "entries", "16", "name", "held",
            ]),
    );
    // This test process holds the map open; collect runs as our child.
    let fd = bpfcase::collect::sys::obj_get(&pin).unwrap();
    let id = bpfcase::collect::sys::map_info(&fd).unwrap().id;
    let wfd = bpfcase::collect::sys::map_fd_by_id_rw(id).unwrap();
    for k in 0u32..5 {
        bpfcase::collect::sys::update_elem(&wfd, &k.to_le_bytes(), &(k * 10).to_le_bytes())
            .unwrap();
    }
    let me = std::process::id().to_string();
    let elf = repo().join("corpora/bpf/flows.bpf.o");
    let out = scratch("pid").join("p.tar");
    run_ok(
        bpfcase()
            .args([
                "collect",
                "--no-bpftool",
                "--pid",
                &me,
                "--binaries",
                "--max-binary-bytes",
                "1K",
            ])
            .args([
                "--max-entries",
                "2",
                "--snapshots",
                "2",
                "--interval",
                "10ms",
                "--elf",
            ])
            .arg(&elf)
            .arg("-o")
            .arg(&out),
    );
    let files = read_bundle(&out);
    let m = checked_manifest(&files);
    assert!(m.partial);

    let p = m
        .processes
        .iter()
        .find(|p| p.pid.to_string() == me)
        .expect("this process listed");
    let f = p
        .fds
        .iter()
        .find(|f| f.map_id == Some(id))
        .expect("the held map fd");
    assert_eq!(f.kind, "map");
    let fdinfo = String::from_utf8(files[f.fdinfo.as_ref().unwrap()].clone()).unwrap();
    assert!(fdinfo.contains(&format!("map_id:\t{id}")), "{fdinfo}");

    // --binaries with a 1 KiB cap: the executable's first KiB, and the cut recorded.
    let exe = &files[p.binary.as_ref().unwrap()];
    assert_eq!(exe.len(), 1024);
    assert_eq!(&exe[..4], b"\x7fELF");
    assert!(m
        .limits_hit
        .iter()
        .any(|l| l.limit == "binary-size" && l.what.contains(&p.exe)));

    // --elf: byte for byte.
    assert_eq!(m.elfs.len(), 1);
    assert_eq!(files[&m.elfs[0].path], std::fs::read(&elf).unwrap());

    // --max-entries 2 cut the 5-entry map, in the main dump and the snapshot.
    let rec = m.maps.iter().find(|r| r.id == id).unwrap();
    assert_eq!(rec.entries, Some(2));
    let label = format!("map {id} (held)");
    assert_eq!(
        m.limits_hit
            .iter()
            .filter(|l| l.limit == "max-entries" && l.what == label)
            .count(),
        2
    );
    let snaps: Vec<_> = m.snapshots.iter().filter(|s| s.map_id == id).collect();
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0].seq, 0);
    assert_eq!(snaps[0].dump, *rec.dump.as_ref().unwrap());
    assert_eq!(snaps[1].seq, 1);
    let snap: serde_json::Value = serde_json::from_slice(&files[&snaps[1].dump]).unwrap();
    assert_eq!(snap.as_array().unwrap().len(), 2);
    // Only maps this process holds were dumped.
    assert!(m
        .maps
        .iter()
        .filter(|r| r.dump.is_some())
        .all(|r| p.fds.iter().any(|f| f.map_id == Some(r.id))));
    drop((fd, wfd));
}

/// Map-in-map values are the inner maps' ids, as bpftool prints them;
/// maps that cannot be dumped (ring buffers) say why.
#[test]
fn map_in_map_values_are_ids_and_ringbuf_is_skipped() {
    if !can_run("map_in_map_values_are_ids_and_ringbuf_is_skipped") {
        return;
    }
    let dir = PinDir::new("mim");
    let bt = |args: &[&str]| {
        let mut c = Command::new("bpftool");
        for a in args {
            match a.strip_prefix('@') {
                Some(rel) => c.arg(dir.path(rel)),
                None => c.arg(a),
            };
        }
        run_ok(&mut c)
    };
    bt(&[
        "map", "create", "@inner", "type", "array", "key", "4", "value", "8", "entries", "4",
        "name", "inner",
    ]);
    bt(&[
        "map",
        "create",
        "@outer",
        "type",
        "array_of_maps",
        "key",
        "4",
        "value",
        "4",
        "entries",
        "2",
        "inner_map",
        "pinned",
        "@inner",
        "name",
        "outer",
    ]);
    bt(&[
        "map", "update", "pinned", "@outer", "key", "1", "0", "0", "0", "value", "pinned", "@inner",
    ]);
    bt(&[
        "map", "create", "@rb", "type", "ringbuf", "key", "0", "value", "0", "entries", "4096",
        "name", "rb",
    ]);
    let expected = entry_set(&bpftool_dump(&dir.path("outer")));

    let out = scratch("mim").join("m.tar");
    run_ok(
        bpfcase()
            .args(["collect", "--no-bpftool", "-o"])
            .arg(&out)
            .arg("--pinned")
            .arg(&dir.0),
    );
    let files = read_bundle(&out);
    let m = checked_manifest(&files);
    let by_pin = |rel: &str| {
        let p = dir.path(rel).display().to_string();
        let id = m.pins.iter().find(|x| x.path == p).unwrap().id;
        m.maps.iter().find(|r| r.id == id).unwrap()
    };
    let (outer, inner) = (by_pin("outer"), by_pin("inner"));
    assert_eq!(outer.dump_method.as_deref(), Some("get_next_key"));
    let dump: serde_json::Value =
        serde_json::from_slice(&files[outer.dump.as_ref().unwrap()]).unwrap();
    assert_eq!(entry_set(&dump), expected, "same as bpftool's dump");
    let id_bytes: Vec<String> = inner
        .id
        .to_le_bytes()
        .iter()
        .map(|b| format!("0x{b:02x}"))
        .collect();
    assert!(dump
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["value"] == serde_json::json!(id_bytes)));
    let rb = by_pin("rb");
    assert!(rb.dump.is_none());
    assert!(
        rb.dump_method
            .as_deref()
            .unwrap()
            .starts_with("skipped: ring buffers"),
        "{:?}",
        rb.dump_method
    );
}

/// Symbolic links planted where collect writes are never followed: at the
/// temporary name the old collect used (`.t.tar.partial-PID`, guessable: it
/// made collect fail) and at the bundle path itself. The temporary name is
/// random now, and the link at the target is replaced by the 0600 bundle.
#[test]
fn planted_links_at_collect_paths_are_never_followed() {
    if !can_run("planted_links_at_collect_paths_are_never_followed") {
        return;
    }
    let dir = PinDir::new("tmplink");
    let scratch = scratch("tmplink");
    let victim = scratch.join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    std::os::unix::fs::symlink(&victim, scratch.join("t.tar")).unwrap();
    // The old temp name carried collect's pid: a shell plants the link for
    // its own pid ($$), then execs bpfcase, which keeps that pid.
    let out = Command::new("sh")
        .arg("-c")
        .arg(
            r#"ln -s "$1" "$2/.t.tar.partial-$$" && exec "$3" collect -o "$2/t.tar" --pinned "$4""#,
        )
        .arg("sh")
        .arg(&victim)
        .arg(&scratch)
        .arg(env!("CARGO_BIN_EXE_bpfcase"))
        .arg(&dir.0)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{stderr}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    let bundle = std::fs::symlink_metadata(scratch.join("t.tar")).unwrap();
    assert!(bundle.is_file(), "the link at the target was not replaced");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(bundle.permissions().mode() & 0o777, 0o600);
    // The planted link at the old name is left as it was, unused.
    assert!(std::fs::symlink_metadata(
        std::fs::read_dir(&scratch)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(".t.tar.partial-"))
            .expect("the planted link is gone")
    )
    .unwrap()
    .file_type()
    .is_symlink());
}

#[test]
fn no_kernel_btf_leaves_vmlinux_out_and_keeps_the_maps_btf() {
    if !can_run("no_kernel_btf_leaves_vmlinux_out_and_keeps_the_maps_btf") {
        return;
    }
    let dir = PinDir::new("nokbtf");
    load_corpus_object(&dir, "flows");
    replay_updates(&dir, "flows");
    let out = scratch("nokbtf").join("k.tar");
    run_ok(
        bpfcase()
            .args(["collect", "--no-kernel-btf", "--no-bpftool", "-o"])
            .arg(&out)
            .arg("--pinned")
            .arg(&dir.0),
    );
    let files = read_bundle(&out);
    let m = checked_manifest(&files);
    assert!(!files.contains_key("btf/vmlinux.btf"));
    assert!(m.btf.iter().all(|b| b.name != "vmlinux"), "{:?}", m.btf);
    let rec = map_by_pin(&m, &dir, "flows/maps/flows");
    assert!(
        m.btf.iter().any(|b| b.id == rec.btf_id),
        "the map's own BTF is kept: {:?}",
        m.btf
    );
    // analyze still lays the map's key and value out from it.
    let a = bpfcase()
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .arg(&out)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let flows = report["maps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == rec.id)
        .unwrap();
    assert_eq!(flows["key_type"], "struct flow_key", "{flows:#}");
    assert_eq!(flows["value_type"], "struct flow_value");
}

/// `corpora/prog/uninit_loader` (a libbpf skeleton of `uninit.bpf.o`), run
/// until dropped; killed by its own pid.
struct Loader(std::process::Child);

impl Loader {
    fn start() -> Loader {
        use std::io::BufRead;
        let mut child = Command::new(repo().join("corpora/prog/uninit_loader"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("corpora/prog/uninit_loader runs (libbpf installed)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "loaded\n", "the loader loaded uninit.bpf.o");
        Loader(child)
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// analyze's JSON report of `inputs` (run from the repository, so paths
/// in it are as given).
fn analyze_json(inputs: &[&std::path::Path]) -> serde_json::Value {
    let out = bpfcase()
        .current_dir(repo())
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .args(inputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `prog/key-uninit` findings as (program, map, unwritten byte runs,
/// paths), sorted: what must agree whatever the program code came from.
/// One `prog/key-uninit` as compared: program, map, unwritten (offset,
/// len) runs, paths.
type KeyUninit = (String, String, Vec<(u64, u64)>, String);

fn key_uninit(report: &serde_json::Value) -> Vec<KeyUninit> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "prog/key-uninit")
        .map(|f| {
            let e = &f["evidence"];
            (
                e["program"].as_str().unwrap().to_string(),
                f["map"]["name"].as_str().unwrap().to_string(),
                e["unwritten"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| (u["offset"].as_u64().unwrap(), u["len"].as_u64().unwrap()))
                    .collect(),
                e["paths"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn inputs_row<'a>(report: &'a serde_json::Value, kind: &str) -> &'a str {
    report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind)
        .and_then(|i| i["status"].as_str())
        .unwrap_or_else(|| panic!("no {kind} inputs row: {report:#}"))
}

/// Issue 21's acceptance: the same `prog/key-uninit` from the object given
/// directly, from the object embedded in the loader `collect --binaries`
/// copied, and from the translated instructions of a bundle without the
/// binary.
#[test]
fn key_uninit_from_the_object_the_collected_binary_and_translated_code() {
    if !can_run("key_uninit_from_the_object_the_collected_binary_and_translated_code") {
        return;
    }
    // The loader carries the corpus object as it is now.
    let embedded = bpfcase::ingest::embedded::bpf_objects(
        &std::fs::read(repo().join("corpora/prog/uninit_loader")).unwrap(),
    );
    assert!(
        embedded.len() == 1
            && embedded[0].1 == std::fs::read(repo().join("corpora/prog/uninit.bpf.o")).unwrap(),
        "corpora/prog/uninit_loader does not embed corpora/prog/uninit.bpf.o: rebuild it (`just corpora-prog`)"
    );
    let loader = Loader::start();
    let pid = loader.0.id().to_string();
    let dir = scratch("xlated");
    let with = dir.join("with-binary.tar");
    let without = dir.join("code-only.tar");
    for (out, binaries) in [(&with, true), (&without, false)] {
        let mut c = bpfcase();
        c.args(["collect", "--no-bpftool", "--no-kernel-btf", "--pid", &pid]);
        if binaries {
            c.arg("--binaries");
        }
        run_ok(c.arg("-o").arg(out));
    }
    drop(loader);

    // Each of the loader's programs has its code saved, with the helper
    // calls the verifier rewrote named.
    let files = read_bundle(&without);
    let m = checked_manifest(&files);
    let mut names = Vec::new();
    for p in m.progs.iter().filter(|p| p.name.starts_with("on_")) {
        names.push(p.name.as_str());
        let code = p
            .code
            .as_ref()
            .unwrap_or_else(|| panic!("{} has code", p.name));
        let xlated = &files[&code.xlated];
        assert!(!xlated.is_empty() && xlated.len() % 8 == 0);
        assert_eq!(files[code.func_info.as_ref().unwrap()].len() % 8, 0);
        assert_eq!(files[code.line_info.as_ref().unwrap()].len() % 16, 0);
        assert!(m.btf.iter().any(|b| b.id == p.btf_id), "the program's BTF");
        assert!(
            code.call_targets_note.is_none(),
            "{:?}",
            code.call_targets_note
        );
        if p.name == "on_fork" {
            assert!(
                code.call_targets
                    .iter()
                    .any(|t| t.symbol == "htab_map_update_elem"),
                "{:?}",
                code.call_targets
            );
        }
    }
    names.sort();
    assert_eq!(names, ["on_exec", "on_exit", "on_fork", "on_switch"]);
    assert!(m.processes.iter().all(|p| p.binary.is_none()));

    let object = analyze_json(&[&repo().join("corpora/prog/uninit.bpf.o")]);
    let binary = analyze_json(&[&with]);
    let code = analyze_json(&[&without]);
    let expected = key_uninit(&object);
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert_eq!(key_uninit(&binary), expected, "from the collected binary");
    assert_eq!(key_uninit(&code), expected, "from the translated code");
    // The object given beside the bundle whose binary holds it: its code is
    // checked once (as the loose object, whose maps were read), and the
    // binary's copy says so.
    let both = analyze_json(&[&with, &repo().join("corpora/prog/uninit.bpf.o")]);
    assert_eq!(key_uninit(&both), expected, "the same object twice: once");
    let copies: Vec<&str> = (both["inputs"].as_array().unwrap().iter())
        .filter(|i| i["kind"] == "bpf-object")
        .map(|i| i["status"].as_str().unwrap())
        .filter(|s| {
            s.contains("the same object as ")
                && s.contains("uninit.bpf.o (identical bytes): its code checked once")
        })
        .collect();
    assert_eq!(copies.len(), 1, "{}", both["inputs"]);

    // Each came from where it should: the binary's embedded object (the
    // live programs left to it), and the saved code.
    let from = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "prog/key-uninit")
            .map(|f| f["evidence"]["object"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        from(&binary)
            .iter()
            .all(|o| o.contains("!procs/") && o.contains("/exe@0x")),
        "{:?}",
        from(&binary)
    );
    assert!(
        inputs_row(&binary, "program-code")
            .contains("4 live program(s) analysed from their object instead"),
        "{}",
        inputs_row(&binary, "program-code")
    );
    assert!(
        from(&code)
            .iter()
            .all(|o| o.contains("!progs/") && o.ends_with(".xlated")),
        "{:?}",
        from(&code)
    );
    assert_eq!(
        inputs_row(&code, "program-code"),
        "live program code: 4 program(s), 6 map call(s) checked"
    );
    // The map ids of the live maps are named in the findings.
    let tasks = m.maps.iter().find(|r| r.name == "tasks").unwrap().id;
    assert!(code["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "prog/key-uninit" && f["map"]["name"] == "tasks")
        .all(|f| f["map"]["id"] == tasks));
}

/// The checked-in capture `corpora/prog/live` (a bundle of the loader's
/// programs, no binary): the `prog/*` findings from translated code alone.
#[test]
fn prog_findings_from_a_captured_bundle_of_translated_code() {
    let report = analyze_json(&[std::path::Path::new("corpora/prog/live")]);
    let prog: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"].as_str().unwrap().starts_with("prog/"))
        .collect();
    assert_eq!(
        inputs_row(&report, "program-code"),
        "live program code: 4 program(s), 6 map call(s) checked"
    );
    insta::assert_json_snapshot!("live_code_prog_findings", prog);
}
