//! Streaming: a dump read in tiny pieces, or large enough to be parsed on two
//! threads, yields exactly the entries a whole-document JSON parser sees.

use std::io::Read;
use std::path::Path;

use bpfcase::ingest::{bpftool_json, bpftool_text};
use bpfcase::model::dump::{EntryValue, MapDump};
use serde_json::Value;

fn corpus(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// A reader that returns at most `n` bytes per read.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn hex(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| u8::from_str_radix(&s.as_str().unwrap()[2..], 16).unwrap())
        .collect()
}

fn assert_matches_serde(d: &MapDump, text: &[u8]) {
    let doc: Vec<Value> = serde_json::from_slice(text).unwrap();
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert_eq!(d.len(), doc.len());
    for (e, j) in d.entries().zip(&doc) {
        assert_eq!(e.key, hex(&j["key"]).as_slice());
        match e.value {
            EntryValue::Single(v) => assert_eq!(v, hex(&j["value"]).as_slice()),
            EntryValue::PerCpu { .. } => {
                let want: Vec<Vec<u8>> = j["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| hex(&c["value"]))
                    .collect();
                let got: Vec<Vec<u8>> = e
                    .value
                    .cpu_values()
                    .into_iter()
                    .map(|v| v.to_vec())
                    .collect();
                assert_eq!(got, want);
            }
            EntryValue::Missing => panic!("missing value"),
        }
    }
}

#[test]
fn tiny_reads_give_the_same_dump() {
    for rel in [
        "corpora/dumps/flows/flows.json",
        "corpora/dumps/stats/proc_stats.pretty.json",
    ] {
        let text = corpus(rel);
        for n in [1, 7, 64] {
            let d = bpftool_json::read_dump(Trickle(&text, n));
            assert_matches_serde(&d, &text);
        }
    }
    let text = corpus("corpora/dumps/stats/cpu_stats.txt");
    let whole = bpftool_text::parse_dump(&text);
    let trickled = bpftool_text::read_dump(std::io::BufReader::with_capacity(3, Trickle(&text, 3)));
    assert_eq!(whole, trickled);
}

#[test]
fn large_compact_dump_parsed_on_two_threads_matches_serde() {
    // 3,000 copies of the real flows capture's entries: ~1.3 MB per 1,000,
    // so several read chunks are split across threads.
    let one = corpus("corpora/dumps/flows/flows.json");
    let trimmed = one.trim_ascii_end();
    let inner = &trimmed[1..trimmed.len() - 1];
    let mut big = b"[".to_vec();
    for i in 0..3000 {
        if i > 0 {
            big.push(b',');
        }
        big.extend_from_slice(inner);
    }
    big.push(b']');
    assert!(big.len() > 5 << 20);
    let d = bpftool_json::parse_dump(&big);
    assert_matches_serde(&d, &big);
    assert_eq!(d.len(), 18000);
}
