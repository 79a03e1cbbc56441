//! Prints the DWARF layout of one struct: `dwarf_find BIN NAME`. A thin
//! driver over `bpfcase::ingest::dwarf`, used to look at what the reader sees.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, bin, name] = args.as_slice() else {
        return Err("usage: dwarf_find BIN NAME".into());
    };
    let data = std::fs::read(bin)?;
    let file = bpfcase::ingest::dwarf::DwarfFile::load(Path::new(bin), &data)?;
    match file.layout(name)? {
        Some(l) => {
            println!("{} size {} ({:?})", l.display_name(), l.size, l.source);
            for m in &l.members {
                println!(
                    "  {:<10} @{:<3} size {:<3} bits {:?}@{} {:<16} {} {:?}",
                    m.name,
                    m.offset,
                    m.size,
                    m.bit_size,
                    m.bit_offset,
                    m.type_name,
                    m.ty.kind_str(),
                    m.source
                );
            }
        }
        None => println!("{name}: not found"),
    }
    Ok(())
}
