//! User-space binaries with DWARF: sections, the struct index, and the
//! layout of the first structs found (then schema YAML, padding, decode).
#![no_main]

mod common;

use bpfcase::ingest::dwarf::{DebugSearch, DwarfFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // No split debug file is looked for outside the scratch directory:
    // the input is the whole binary.
    let search = DebugSearch {
        dirs: vec![common::scratch().to_path_buf()],
        default_dirs: false,
    };
    let path = common::scratch().join("bin");
    let Ok(dwarf) = DwarfFile::load_with(&path, data, &search) else {
        return;
    };
    let Ok(names) = dwarf.struct_names() else {
        return;
    };
    for name in names.iter().take(common::MAX_TYPES) {
        if let Ok(Some(l)) = dwarf.layout(name) {
            common::exercise_layout(name, &l, data);
        }
    }
});
