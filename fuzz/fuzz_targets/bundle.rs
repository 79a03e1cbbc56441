//! Bundle archives: the input as a `.tar` or `.tar.gz` (told apart by its
//! magic, as `analyze` does), through `analyze`, `diff` (a bundle alone
//! compares its snapshots) and `fleet`.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::write("case.tar", data);
    common::analyze(&[&path], &[], data.len() as u8);
    common::run(&["diff", path.to_str().unwrap()]);
    common::run(&["fleet", path.to_str().unwrap(), "--format", "json"]);
});
