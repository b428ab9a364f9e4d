//! The differential test against the real thing: random files with every feature of the
//! properties format, read by `java.util.Properties.load` (`tests/java/PropsDump.java`, run on
//! the JDK) and by tagroute; both must read the same keys and values, in the same order, and
//! refuse the same files.
//!
//! The files are generated from a fixed seed and written in ISO-8859-1, as Neo4j reads them.
//! The Java program is compiled once per run into a temporary directory. Without `javac` and
//! `java` on PATH, `build.rs` sets `cfg(tagroute_no_jdk)` and the test is reported as ignored,
//! with the reason; `.ci/run` installs a headless JDK, so in CI it always runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::collection::vec;
use proptest::sample::select;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tagroute::config::{ConfigDiagnosticKind, java_properties};

/// How many random files one run compares.
const FILES: usize = 3_000;

/// The pieces the files are made of: every separator, blank, escape, comment marker, line end
/// and continuation of the format, Latin-1 and control characters, and malformed escapes.
const TOKENS: &[&str] = &[
    "a",
    "b",
    "k.",
    "dbms.x",
    "=",
    ":",
    " ",
    "  ",
    "\t",
    "\x0c",
    "\\",
    "\\\\",
    "\\=",
    "\\:",
    "\\ ",
    "\\#",
    "\\!",
    "\\u0041",
    "\\u00e9",
    "\\u003D",
    "\\uD83D\\uDE00",
    "\\u12",
    "\\uzz00",
    "\\t",
    "\\n",
    "\\r",
    "\\f",
    "\\q",
    "#",
    "!",
    "\n",
    "\n",
    "\r\n",
    "\r",
    "\\\n",
    "\\\r\n",
    "\\\n   ",
    "\\\\\n",
    "\u{e9}",
    "\u{ff}",
    "\u{85}",
    "\u{a0}",
    "\x01",
    "\x0b",
    "1m30s",
];

fn random_files() -> Vec<String> {
    let config = Config::default();
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[0x5a; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = vec(select(TOKENS), 0..60).prop_map(|tokens| tokens.concat());
    (0..FILES)
        .map(|_| match strategy.new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(reason) => panic!("cannot generate a file: {reason}"),
        })
        .collect()
}

/// What Java read from one file: its pairs, escaped as `PropsDump` prints them, or an error.
#[derive(Debug, PartialEq)]
enum Reading {
    Pairs(Vec<String>),
    Refused,
}

/// Each UTF-16 unit outside printable ASCII as `\uXXXX`, and a backslash as two: the form
/// `PropsDump` prints.
fn escaped(text: &str) -> String {
    let mut out = String::new();
    for unit in text.encode_utf16() {
        match unit {
            0x5c => out.push_str("\\\\"),
            0x21..=0x7e => out.push(char::from(unit as u8)),
            _ => out.push_str(&format!("\\u{unit:04X}")),
        }
    }
    out
}

fn tagroute_reading(text: &str) -> Option<Reading> {
    match java_properties(text) {
        Ok(pairs) => Some(Reading::Pairs(
            pairs
                .iter()
                .map(|(k, v)| format!("PAIR {} {}", escaped(k), escaped(v)))
                .collect(),
        )),
        Err(errors)
            if errors
                .iter()
                .any(|e| e.kind == ConfigDiagnosticKind::MalformedEscape) =>
        {
            Some(Reading::Refused)
        }
        // A lone surrogate (and no malformed escape before it on its line): Java keeps it,
        // tagroute refuses it (documented); not compared.
        Err(_) => None,
    }
}

/// Compiles `PropsDump.java` into `dir`, and runs it on `files`.
fn java_readings(dir: &Path, files: &[PathBuf]) -> Vec<Reading> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/PropsDump.java");
    let classes = dir.join("classes");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .arg(&source)
        .status()
        .expect("javac runs (install a JDK: `.ci/run` does)");
    assert!(javac.success(), "javac failed");
    let output = Command::new("java")
        .arg("-cp")
        .arg(&classes)
        .arg("PropsDump")
        .args(files)
        .output()
        .expect("java runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("PropsDump prints ASCII");
    let mut readings = Vec::new();
    let mut current: Option<Reading> = None;
    for line in text.lines() {
        if line.starts_with("FILE ") {
            current = Some(Reading::Pairs(Vec::new()));
        } else if line == "END" {
            readings.push(current.take().expect("END after FILE"));
        } else if line.starts_with("ERROR ") {
            current = Some(Reading::Refused);
        } else if let Some(Reading::Pairs(pairs)) = current.as_mut() {
            pairs.push(line.to_owned());
        }
    }
    readings
}

#[test]
#[cfg_attr(
    tagroute_no_jdk,
    ignore = "needs a JDK: javac or java was not on PATH when tagroute was built \
              (`apt-get install openjdk-17-jdk-headless`, then `touch build.rs`)"
)]
fn tagroute_reads_every_file_as_java_properties_does() {
    let dir = std::env::temp_dir().join(format!("tagroute-java-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let texts = random_files();
    let paths: Vec<PathBuf> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.join(format!("{i}.conf"));
            let latin1: Vec<u8> = text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).expect("tokens are Latin-1"))
                .collect();
            std::fs::write(&path, latin1).expect("write");
            path
        })
        .collect();
    let java = java_readings(&dir, &paths);
    assert_eq!(java.len(), texts.len());
    let (mut compared, mut refused, mut pairs) = (0, 0, 0);
    for (text, java) in texts.iter().zip(&java) {
        let Some(ours) = tagroute_reading(text) else {
            continue;
        };
        assert_eq!(&ours, java, "file {text:?}");
        compared += 1;
        match java {
            Reading::Refused => refused += 1,
            Reading::Pairs(p) => pairs += p.len(),
        }
    }
    // The files exercise both outcomes (two malformed escapes among the tokens refuse about 60%
    // of them), and many pairs.
    assert!(compared > FILES * 9 / 10, "{compared}");
    assert!(refused > FILES / 20, "{refused} refused");
    assert!(
        compared - refused > FILES / 4,
        "{refused} refused of {compared}"
    );
    assert!(pairs > FILES / 2, "{pairs} pairs");
    std::fs::remove_dir_all(&dir).expect("clean up");
}
