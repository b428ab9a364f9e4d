//! What the build knows and the code cannot find out by itself.
//!
//! - `TAGROUTE_REVISION`: the git commit the binary was built from, for `tagroute --version`:
//!   the checkout's `HEAD`, or the commit `cargo package` recorded in `.cargo_vcs_info.json`,
//!   or `unknown`; `TAGROUTE_FEATURES`: the enabled cargo features, comma-separated.
//! - In a checkout with its tests, the external tools three tests need: without `javac` (and
//!   `java`) `cfg(tagroute_no_jdk)` is set, without Chromium `cfg(tagroute_no_chromium)`,
//!   without a Python that imports `jsonschema` `cfg(tagroute_no_jsonschema)`, and those tests
//!   are ignored with the reason instead of failing or passing without running.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let revision = git_revision(&root)
        .or_else(|| packaged_revision(&root))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo::rustc-env=TAGROUTE_REVISION={revision}");
    println!(
        "cargo::rustc-env=TAGROUTE_FEATURES={}",
        features().join(",")
    );

    println!("cargo::rustc-check-cfg=cfg(tagroute_no_jdk)");
    println!("cargo::rustc-check-cfg=cfg(tagroute_no_chromium)");
    println!("cargo::rustc-check-cfg=cfg(tagroute_no_jsonschema)");
    if root.join("tests").is_dir() {
        probe_test_tools();
    }
}

/// The cargo features this build enabled, by name (`default` is only a set of others).
fn features() -> Vec<String> {
    let mut names: Vec<String> = env::vars()
        .filter_map(|(key, _)| {
            let name = key.strip_prefix("CARGO_FEATURE_")?;
            (name != "DEFAULT").then(|| name.to_lowercase().replace('_', "-"))
        })
        .collect();
    names.sort();
    names
}

/// The short hash of `HEAD` when `root` is the top of a git work tree (not a crate vendored
/// inside someone else's repository). Reruns when `HEAD` or the branch it names moves.
fn git_revision(root: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        output.status.success().then(|| text.trim().to_owned())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != root.canonicalize().ok()? {
        return None;
    }
    let revision = git(&["rev-parse", "--short=12", "HEAD"])?;
    // `HEAD` moves on a checkout, its reflog on every commit, the branch's file when it is loose.
    let mut watched = vec![
        git(&["rev-parse", "--git-path", "HEAD"])?,
        git(&["rev-parse", "--git-path", "logs/HEAD"])?,
    ];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch])?);
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"])?);
    }
    for path in watched {
        // Relative paths are relative to `root`, where git ran; cargo wants them absolute.
        let path = root.join(path);
        if path.exists() {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
    Some(revision)
}

/// The commit `cargo package` recorded: `{"git": {"sha1": "<40 hex>", ...}, ...}`.
fn packaged_revision(root: &Path) -> Option<String> {
    let info = std::fs::read_to_string(root.join(".cargo_vcs_info.json")).ok()?;
    let start = info.find("\"sha1\"")? + "\"sha1\"".len();
    let hash: String = info[start..]
        .trim_start_matches([':', ' ', '"'])
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    (hash.len() == 12).then_some(hash)
}

/// Sets `cfg(tagroute_no_jdk)` and `cfg(tagroute_no_chromium)` for the tools that are missing.
fn probe_test_tools() {
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=TAGROUTE_CHROMIUM");
    let javac = on_path("javac");
    let java = on_path("java");
    // The test's own rule: `TAGROUTE_CHROMIUM` when set (and then it must exist), else Debian's.
    let chromium = match env::var_os("TAGROUTE_CHROMIUM") {
        Some(path) => Some(PathBuf::from(path)),
        None => Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.exists()),
    };
    // A tool that goes away reruns this script; one that appears later on the same PATH does not
    // (a missing file would rerun it on every build): the ignore reason says how to look again.
    for found in [&javac, &java, &chromium].into_iter().flatten() {
        if found.exists() {
            println!("cargo::rerun-if-changed={}", found.display());
        }
    }
    if javac.is_none() || java.is_none() {
        println!("cargo::rustc-cfg=tagroute_no_jdk");
    }
    if chromium.is_none() {
        println!("cargo::rustc-cfg=tagroute_no_chromium");
    }
    if !jsonschema() {
        println!("cargo::rustc-cfg=tagroute_no_jsonschema");
    }
}

/// The SARIF test's rule: `TAGROUTE_SARIF_PYTHON` when set (and then it must import
/// `jsonschema`, or the test fails), else `python3` if it imports `jsonschema`.
fn jsonschema() -> bool {
    println!("cargo::rerun-if-env-changed=TAGROUTE_SARIF_PYTHON");
    if env::var_os("TAGROUTE_SARIF_PYTHON").is_some() {
        return true;
    }
    Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn on_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
