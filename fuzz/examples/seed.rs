//! Writes the seeds that need the library: compiled programs for the `verify` target (from the
//! policies already in `corpus/parse`, their tags renamed to the target's `t0`..`t3` and `late`)
//! and fixed pseudo-random inputs for the structured `differential` target.
//!
//! Run by `fuzz/seed.sh`, from the `fuzz` directory: `cargo run --release --example seed`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use tagroute::Strictness;
use tagroute::compile::compile;
use tagroute::syntax::{self, NormalFilter};
use tagroute::topology::TagInterner;

/// The verify target's tags, in the order its interner hands out ids.
const TAGS: [&str; 5] = ["t0", "t1", "t2", "t3", "late"];

/// FNV-1a, to name a seed after its content.
fn name(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn write_all(dir: &Path, seeds: impl IntoIterator<Item = Vec<u8>>) -> std::io::Result<usize> {
    fs::create_dir_all(dir)?;
    let mut count = 0;
    for seed in seeds {
        fs::write(dir.join(name(&seed)), &seed)?;
        count += 1;
    }
    Ok(count)
}

/// The program of `text` (if it parses) with its tags renamed, as the verify target reads it:
/// a flag byte (the binary form as is, on fixture `fixture`), then `Program::to_bytes`.
fn program_seed(text: &str, fixture: u8) -> Option<Vec<u8>> {
    let mut normal = syntax::parse(text, Strictness::Default).ok()?.normalize();
    let mut seen: Vec<String> = Vec::new();
    for filter in normal.rules.iter_mut().flat_map(|r| r.filters.iter_mut()) {
        if let NormalFilter::Tags(tags) = filter {
            let renamed: BTreeSet<String> = tags
                .iter()
                .map(|t| {
                    let at = seen.iter().position(|s| s == t).unwrap_or_else(|| {
                        seen.push(t.clone());
                        seen.len() - 1
                    });
                    TAGS[at % TAGS.len()].to_string()
                })
                .collect();
            *tags = renamed;
        }
    }
    let interner = TagInterner::new();
    for tag in TAGS {
        interner.intern(tag).ok()?;
    }
    let policy = syntax::parse(&normal.to_string(), Strictness::Strict).ok()?;
    let program = compile(&policy, &interner).ok()?;
    let mut seed = vec![4 | (fixture % 4)];
    seed.extend(program.to_bytes());
    Some(seed)
}

fn main() -> std::io::Result<()> {
    let mut texts: Vec<(String, String)> = fs::read_dir("corpus/parse")?
        .filter_map(Result::ok)
        .filter_map(|e| {
            Some((
                e.file_name().into_string().ok()?,
                fs::read_to_string(e.path()).ok()?,
            ))
        })
        .collect();
    texts.sort();
    let programs: BTreeSet<Vec<u8>> = texts
        .iter()
        .enumerate()
        .filter_map(|(i, (_, text))| program_seed(text, i as u8))
        .collect();
    let verify = write_all(Path::new("corpus/verify"), programs)?;

    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = state;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    };
    let structured = (0..64).map(|i| (0..32 + i * 8).map(|_| next() as u8).collect());
    let differential = write_all(Path::new("corpus/differential"), structured)?;
    println!("seed: {verify} verify seeds, {differential} differential seeds");
    Ok(())
}
