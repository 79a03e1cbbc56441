//! Collect while another thread churns the maps: entries deleted and
//! re-inserted under the walk, maps created and removed. The bundle must stay
//! valid, hold no duplicate keys, and the manifest must say what happened
//! (vanished keys, walk restarts, maps gone).

#[path = "collect_support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bpfcase::collect::sys;
use support::*;

const KEYS: u32 = 20_000;

#[test]
fn collect_survives_concurrent_churn() {
    if !can_run("collect_survives_concurrent_churn") {
        return;
    }
    let dir = PinDir::new("churn");
    let pin = dir.path("churn");
    run_ok(
        Command::new("bpftool")
            .args(["map", "create"])
            .arg(&pin)
            .args([
                "type", "hash", "key", "4", "value", "8", "entries", "32768", "name", "churn",
            ]),
    );
    let id = sys::map_info(&sys::obj_get(&pin).unwrap()).unwrap().id;
    let fd = sys::map_fd_by_id_rw(id).unwrap();
    for k in 0..KEYS {
        sys::update_elem(&fd, &k.to_le_bytes(), &u64::from(k).to_le_bytes()).unwrap();
    }

    let stop = Arc::new(AtomicBool::new(false));
    // Entry churn: delete the even keys, put them back, then the odd ones,
    // over and over; a walk's current key is often missing for a while.
    let churn = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut rounds = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for parity in 0..2 {
                    for k in (parity..KEYS).step_by(2) {
                        let _ = sys::delete_elem(&fd, &k.to_le_bytes());
                    }
                    for k in (parity..KEYS).step_by(2) {
                        let _ = sys::update_elem(&fd, &k.to_le_bytes(), &rounds.to_le_bytes());
                    }
                }
                rounds += 1;
            }
            rounds
        })
    };
    // Map churn: maps appear and disappear under the same directory.
    let maps = {
        let stop = stop.clone();
        let dir = dir.0.clone();
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let p = dir.join(format!("gone{}", n % 4));
                let _ = std::fs::remove_file(&p);
                let _ = Command::new("bpftool")
                    .args(["map", "create"])
                    .arg(&p)
                    .args([
                        "type", "hash", "key", "4", "value", "4", "entries", "8", "name", "gone",
                    ])
                    .status();
                n += 1;
            }
        })
    };

    let scratch = scratch("churn");
    let (mut vanished, mut restarts, mut gone) = (0u64, 0u64, 0usize);
    for i in 0..40 {
        let out = scratch.join(format!("c{i}.tar"));
        let mut cmd = bpfcase();
        cmd.args(["collect", "--no-bpftool", "-o"])
            .arg(&out)
            .arg("--pinned")
            .arg(&dir.0);
        if i % 2 == 0 {
            cmd.arg("--no-batch");
        }
        run_ok(&mut cmd);
        let files = read_bundle(&out);
        let m = checked_manifest(&files);
        let rec = m
            .maps
            .iter()
            .find(|r| r.id == id)
            .expect("churn map listed");
        let dump: serde_json::Value =
            serde_json::from_slice(&files[rec.dump.as_ref().unwrap()]).unwrap();
        let keys: Vec<String> = dump
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].to_string())
            .collect();
        let unique: HashSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "no key dumped twice");
        assert!(keys.len() <= KEYS as usize);
        assert_eq!(rec.entries, Some(keys.len() as u64));
        vanished += rec.vanished_keys;
        restarts += rec.walk_restarts;
        // Every chosen map is either dumped or says why not.
        for r in m.maps.iter().filter(|r| r.name == "gone") {
            if m.pins.iter().any(|p| p.id == r.id) && r.dump.is_none() {
                let why = r.dump_method.as_deref().unwrap_or("");
                assert!(
                    why.starts_with("skipped: map gone"),
                    "map {} not dumped: {why:?}",
                    r.id
                );
                assert!(m
                    .errors
                    .iter()
                    .any(|e| e.what.starts_with(&format!("map {} ", r.id))));
                gone += 1;
            }
        }
        if i >= 4 && vanished > 0 && restarts > 0 && gone > 0 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = churn.join().unwrap();
    maps.join().unwrap();
    eprintln!("churn rounds {rounds}: vanished keys {vanished}, walk restarts {restarts}, maps gone {gone}");
    assert!(
        vanished + restarts > 0,
        "a GET_NEXT_KEY walk under constant delete/re-insert saw neither vanished keys nor restarts"
    );
}
