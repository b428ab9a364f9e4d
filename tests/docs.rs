//! The documentation's examples run as written: every `tagroute` command of a ```console block
//! in README.md and docs/*.md, from the repository's root on the files in examples/, prints
//! exactly the output shown under it (stderr, then stdout) and exits as shown (`[exit N]` after
//! the output; 0 when absent). Every relative link in those files points at a file that exists.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One `$ tagroute ...` line of a console block, and what follows it.
#[derive(Debug)]
struct Example {
    place: String,
    command: String,
    output: String,
    exit: i32,
}

/// The README sections their own authors keep (abbreviated outputs, measured figures).
const KEPT_ELSEWHERE: [&str; 4] = ["Performance", "What-if", "Serve", "The Bolt"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The examples of one document, in order.
fn examples(path: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(path).expect("read");
    let name = path
        .strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string();
    let mut examples: Vec<Example> = Vec::new();
    let (mut in_console, mut kept_elsewhere) = (false, false);
    for (i, line) in text.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            kept_elsewhere = KEPT_ELSEWHERE.iter().any(|k| heading.starts_with(k));
        }
        if kept_elsewhere {
            continue;
        }
        if line.trim_start().starts_with("```") {
            in_console = !in_console && line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            examples.push(Example {
                place: format!("{name}:{}", i + 1),
                command: command.to_owned(),
                output: String::new(),
                exit: 0,
            });
        } else if let Some(example) = examples.last_mut() {
            match line
                .strip_prefix("[exit ")
                .and_then(|l| l.strip_suffix(']'))
            {
                Some(code) => example.exit = code.parse().expect("an exit status"),
                None => {
                    example.output.push_str(line);
                    example.output.push('\n');
                }
            }
        }
    }
    examples
}

/// The words of a command line: blanks separate, single quotes group; `> FILE` redirects
/// stdout.
fn words(command: &str) -> (Vec<String>, Option<String>) {
    let mut words = Vec::new();
    let (mut word, mut quoted, mut started) = (String::new(), false, false);
    for c in command.chars() {
        match c {
            '\'' => (quoted, started) = (!quoted, true),
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => (word, started) = (word + &c.to_string(), true),
        }
    }
    if started {
        words.push(word);
    }
    assert!(!quoted, "unclosed quote in {command}");
    match words.iter().position(|w| w == ">") {
        Some(at) => {
            let target = words.get(at + 1).cloned();
            words.truncate(at);
            (words, target)
        }
        None => (words, None),
    }
}

#[test]
fn every_console_example_runs_as_written() {
    let mut ran = 0;
    for document in documents() {
        for example in examples(&document) {
            let (words, redirect) = words(&example.command);
            let Some((program, args)) = words.split_first() else {
                continue;
            };
            if program != "tagroute" {
                continue; // cargo commands: how to build, not what tagroute prints
            }
            let output = Command::new(env!("CARGO_BIN_EXE_tagroute"))
                .args(args)
                .current_dir(root())
                .output()
                .expect("the binary runs");
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            let shown = match &redirect {
                Some(target) => {
                    std::fs::write(target, &stdout).expect("redirect");
                    stderr
                }
                None => format!("{stderr}{stdout}"),
            };
            assert_eq!(
                shown, example.output,
                "{}: $ {}",
                example.place, example.command
            );
            assert_eq!(
                output.status.code(),
                Some(example.exit),
                "{}: $ {}",
                example.place,
                example.command
            );
            ran += 1;
        }
    }
    assert!(ran >= 15, "only {ran} examples ran");
}

#[test]
fn every_relative_link_points_at_a_file() {
    for document in documents() {
        let text = std::fs::read_to_string(&document).expect("read");
        let dir = document.parent().expect("a directory");
        for (_, rest) in text.match_indices("](").map(|(i, _)| ((), &text[i + 2..])) {
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = dir.join(target.split('#').next().unwrap_or(target));
            assert!(
                path.exists(),
                "{}: broken link {target}",
                document.display()
            );
        }
    }
}

/// Everything a user reads: README, docs/, CHANGELOG, Cargo.toml, every doc comment (the crate
/// documentation and the `--help` text both come from them) and every manual page. DESIGN is the
/// maintainers' specification; users do not have it.
#[test]
fn nothing_a_user_reads_cites_the_design_document() {
    let user_files = [
        "README.md",
        "CHANGELOG.md",
        "Cargo.toml",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ];
    let mut places: Vec<(String, String)> = user_files
        .iter()
        .map(|name| (name.to_string(), read(&root().join(name))))
        .collect();
    for document in documents() {
        places.push((document.display().to_string(), read(&document)));
    }
    for file in rust_files(&root().join("src")) {
        let docs: String = read(&file)
            .lines()
            .map(str::trim_start)
            .filter(|line| line.starts_with("///") || line.starts_with("//!"))
            .flat_map(|line| [line, "\n"])
            .collect();
        places.push((file.display().to_string(), docs));
    }
    let pages = std::env::temp_dir().join(format!("tagroute-docs-man-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_tagroute"))
        .args(["man", "--out-dir"])
        .arg(&pages)
        .status()
        .expect("runs");
    assert!(status.success());
    for page in std::fs::read_dir(&pages).expect("the pages") {
        let page = page.expect("entry").path();
        places.push((page.display().to_string(), read(&page)));
    }
    assert!(places.len() > 60, "{} places", places.len());
    let citing: Vec<&str> = places
        .iter()
        .filter(|(_, text)| text.contains("DESIGN"))
        .map(|(place, _)| place.as_str())
        .collect();
    assert!(citing.is_empty(), "DESIGN is cited in {citing:?}");
    std::fs::remove_dir_all(&pages).expect("removed");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
