//! Seed inputs for the fuzz targets (crates/kawatch-core/fuzz) made from real
//! capture files: for `decode`, each distinct frame under its link type; for
//! `ingest`, each file's first frames in the targets' record format.
//!
//!     cargo run --example fuzz_seeds -- OUT_DIR CAPTURE...
//!
//! writes OUT_DIR/decode/* and OUT_DIR/ingest/*.

use kawatch::capture::{Next, Source};
use kawatch::LinkType;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The fuzz targets' link-type byte (crates/kawatch-core/tests/harness).
fn link_byte(link: LinkType) -> u8 {
    match link {
        LinkType::Ethernet => 0,
        LinkType::LinuxSll => 1,
        LinkType::LinuxSll2 => 2,
        LinkType::Null => 3,
        LinkType::Loop => 4,
        LinkType::RawIp => 5,
    }
}

/// Frames kept per file for `decode`, and frames per `ingest` seed.
const DECODE_PER_FILE: usize = 32;
const INGEST_FRAMES: usize = 300;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds OUT_DIR CAPTURE...");
        std::process::exit(2);
    };
    let (decode_dir, ingest_dir) = (out.join("decode"), out.join("ingest"));
    for d in [&decode_dir, &ingest_dir] {
        if let Err(e) = std::fs::create_dir_all(d) {
            eprintln!("fuzz_seeds: {}: {e}", d.display());
            std::process::exit(1);
        }
    }
    let mut seen = HashSet::new();
    let (mut decode_n, mut ingest_n) = (0usize, 0usize);
    for (i, path) in args.enumerate() {
        match seeds_of(Path::new(&path), &mut seen) {
            Ok((frames, ingest)) => {
                for f in frames {
                    write(&decode_dir.join(format!("f{i}-{decode_n}")), &f);
                    decode_n += 1;
                }
                write(&ingest_dir.join(format!("c{i}")), &ingest);
                ingest_n += 1;
            }
            Err(e) => eprintln!("fuzz_seeds: skipping {path}: {e}"),
        }
    }
    eprintln!(
        "fuzz_seeds: {decode_n} decode seeds, {ingest_n} ingest seeds in {}",
        out.display()
    );
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = std::fs::write(path, bytes) {
        eprintln!("fuzz_seeds: {}: {e}", path.display());
        std::process::exit(1);
    }
}

type Seeds = (Vec<Vec<u8>>, Vec<u8>);

fn seeds_of(path: &Path, seen: &mut HashSet<Vec<u8>>) -> Result<Seeds, String> {
    let mut src = Source::open_file(path, None).map_err(|e| e.to_string())?;
    let link = link_byte(src.link_type());
    let mut frames = Vec::new();
    let mut ingest = vec![link];
    let mut last_ts = None;
    for read in 0..INGEST_FRAMES {
        let f = match src.next_frame() {
            Ok(Next::Frame(f)) => f,
            Ok(_) => break,
            // A file cut short still seeds what it holds.
            Err(e) if read == 0 => return Err(e.to_string()),
            Err(_) => break,
        };
        let data = &f.data[..f.data.len().min(usize::from(u16::MAX))];
        let mut one = vec![link];
        one.extend_from_slice(data);
        if frames.len() < DECODE_PER_FILE && seen.insert(one.clone()) {
            frames.push(one);
        }
        let step_ms = last_ts.map_or(0, |t: kawatch::Timestamp| {
            ((f.ts.0 - t.0) / 1_000_000).clamp(0, 60_000) as u16
        });
        last_ts = Some(f.ts);
        ingest.extend_from_slice(&step_ms.to_le_bytes());
        ingest.extend_from_slice(&(data.len() as u16).to_le_bytes());
        ingest.extend_from_slice(data);
    }
    Ok((frames, ingest))
}
