//! The bundle manifest: a real directory bundle (the lookups case) with the
//! input as its `manifest.json`, through `analyze` and `diff` (which walk
//! the listed files, BTF records, maps, snapshots, processes and trace).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let b = common::unpacked("cases/lookups/case.tar", "manifest-case");
    std::fs::write(b.join("manifest.json"), data).expect("write manifest");
    common::analyze(&[&b], &[], data.len() as u8);
    common::run(&["diff", b.to_str().unwrap()]);
});
