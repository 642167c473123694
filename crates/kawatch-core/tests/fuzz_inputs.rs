//! Replays the inputs kept in fixtures/fuzz/{decode,ingest}/ through the fuzz
//! targets' code: a crash the fuzzer once found stays fixed.

mod harness;

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/fuzz")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

#[test]
fn decode_inputs_do_not_panic() {
    for (path, data) in inputs("decode") {
        eprintln!("{}", path.display());
        harness::decode_any(&data);
    }
}

#[test]
fn ingest_inputs_do_not_panic() {
    for (path, data) in inputs("ingest") {
        eprintln!("{}", path.display());
        harness::ingest_any(&data);
    }
}
