//! Lists `providers/*.toml` for the binary's built-in descriptors, so a new descriptor file
//! needs no code line.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=providers");
    let dir =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("providers");
    let mut kinds: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("the providers/ directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| {
            let kind = p.file_stem()?.to_str()?.to_string();
            println!("cargo::rerun-if-changed={}", p.display());
            Some((kind, p.display().to_string()))
        })
        .collect();
    kinds.sort();
    let mut out = String::from("&[\n");
    for (kind, path) in kinds {
        let _ = writeln!(out, "    ({kind:?}, include_str!({path:?})),");
    }
    out.push(']');
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("set by cargo")).join("builtin_descriptors.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
