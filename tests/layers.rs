//! No module of the library imports one above it: the dependency order below, checked on the
//! source. A `crate::m` path outside comments and outside a module's unit tests is an import
//! of `m`.

use std::path::{Path, PathBuf};

/// Every top-level module, lowest first: each may import only those before it.
const ORDER: &[&str] = &[
    "span",
    "rng",
    "suggest",
    "cpu",
    "aligned",
    "grow",
    "syntax",
    "topology",
    "bytecode",
    "compile",
    "vm",
    "reference",
    "config",
    "routing",
    "catchup",
    "leader",
    "resilience",
    "bolt",
    "follow",
    "serve",
    "bench_support",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The files of module `name`: `src/name.rs` and everything under `src/name/`.
fn files_of(name: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src().join(format!("{name}.rs"));
    if file.is_file() {
        files.push(file);
    }
    let mut dirs = vec![src().join(name)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.map(|e| e.expect("a directory entry").path()) {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The modules a file's code names as `crate::m`, before its unit tests.
fn imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).map_or("", |l| l.trim_start());
        if line.trim() == "#[cfg(test)]" && next.starts_with("mod tests") {
            break;
        }
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            match rest.strip_prefix('{') {
                Some(group) => {
                    let group = group.split('}').next().unwrap_or("");
                    found.extend(group.split(',').map(|m| m.trim().to_owned()));
                }
                None => found.push(name),
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_above_it() {
    let mut bent = Vec::new();
    for (rank, module) in ORDER.iter().enumerate() {
        for file in files_of(module) {
            let text = std::fs::read_to_string(&file).expect("readable source");
            for import in imports(&text) {
                let Some(other) = ORDER.iter().position(|m| *m == import) else {
                    continue;
                };
                if other > rank {
                    bent.push(format!("{} imports `{import}`", file.display()));
                }
            }
        }
    }
    bent.sort();
    bent.dedup();
    assert!(bent.is_empty(), "imports against the order: {bent:#?}");
}

#[test]
fn every_module_has_a_place_in_the_order() {
    let mut unplaced = Vec::new();
    for entry in std::fs::read_dir(src()).expect("src/") {
        let path = entry.expect("an entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if !["lib", "bin"].contains(&name) && !ORDER.contains(&name) {
            unplaced.push(name.to_owned());
        }
    }
    assert!(unplaced.is_empty(), "modules without a place: {unplaced:?}");
}

#[test]
fn an_import_against_the_order_is_seen() {
    let text = "use crate::routing::Router;\n// crate::serve in a comment\nfn f() { crate::{config, span}::x(); }\n#[cfg(test)]\nmod tests { use crate::serve; }\n";
    assert_eq!(imports(text), ["routing", "config", "span"]);
}
