//! YAML layout schemas: the depth pre-check, serde_yaml, the type builder,
//! and every type's YAML, padding and decode; `decode --schema` with the
//! first two types.
#![no_main]

mod common;

use bpfcase::ingest::schema::Schema;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schema) = Schema::parse(text) else {
        return;
    };
    for (name, l) in schema.types.iter().take(common::MAX_TYPES) {
        common::exercise_layout(name, l, data);
    }
    let names: Vec<&str> = schema
        .types
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !n.is_empty() && !n.starts_with('-'))
        .take(2)
        .collect();
    let Some(first) = names.first() else {
        return;
    };
    let second = names.get(1).unwrap_or(first);
    let path = common::write("s.yaml", data);
    let dump = common::write("d.json", br#"[{"key":["0x01","0x02","0x03","0x04"],"value":["0x05","0x06","0x07","0x08","0x09","0x0a","0x0b","0x0c"]}]"#);
    common::run(&[
        "decode",
        "--dump",
        dump.to_str().unwrap(),
        "--schema",
        path.to_str().unwrap(),
        "--key-type",
        first,
        "--value-type",
        second,
    ]);
});
