//! What an operator installs beside the binary: `--version` naming the build, a manual page for
//! every command, and shell completions that the shell accepts and that complete.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::cli::{tagroute, temp_file};

/// The subcommands `--help` lists under "Commands:", without clap's `help`.
fn subcommands(path: &[&str]) -> Vec<String> {
    let mut args = path.to_vec();
    args.push("--help");
    let run = tagroute(&args, "");
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path (`["serve"]`, `["topology", "import"]`, ...), found through `--help`.
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let borrowed: Vec<&str> = path.iter().map(String::as_str).collect();
        for name in subcommands(&borrowed) {
            let mut child = path.clone();
            child.push(name);
            todo.push(child.clone());
            paths.push(child);
        }
    }
    paths.sort();
    paths
}

/// The long flags a command's `--help` lists.
fn long_flags(path: &[String]) -> BTreeSet<String> {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let run = tagroute(&args, "");
    run.stdout
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches([',', '.'])
                .split(['=', '<'])
                .next()
                .unwrap_or(w)
                .to_owned()
        })
        .collect()
}

#[test]
fn version_names_the_release_the_git_revision_and_the_features() {
    let run = tagroute(&["--version"], "");
    assert_eq!(run.code, 0, "{run:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let at_top = git(&["rev-parse", "--show-toplevel"])
        .is_some_and(|top| Path::new(&top).canonicalize().ok() == root.canonicalize().ok());
    let revision = if at_top {
        git(&["rev-parse", "--short=12", "HEAD"]).expect("HEAD")
    } else {
        "unknown".to_owned()
    };
    let features: Vec<&str> = [
        ("bench", cfg!(feature = "bench")),
        ("bolt", cfg!(feature = "bolt")),
        ("cli", cfg!(feature = "cli")),
        ("json", cfg!(feature = "json")),
        ("reference", cfg!(feature = "reference")),
        ("serve", cfg!(feature = "serve")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    assert_eq!(
        run.stdout,
        format!(
            "tagroute {} (git {revision}, features: {})\n",
            env!("CARGO_PKG_VERSION"),
            features.join(",")
        )
    );
}

#[test]
fn every_command_has_a_manual_page_with_its_flags() {
    let paths = command_paths();
    for expected in [
        &["serve"][..],
        &["check"],
        &["topology", "import"],
        &["man"],
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected:?} in {paths:?}"
        );
    }
    let dir = std::env::temp_dir().join(format!("tagroute-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = tagroute(&["man", "--out-dir", &dir.to_string_lossy()], "");
    assert_eq!(run.code, 0, "{run:?}");
    let written: BTreeSet<String> = run.stdout.lines().map(str::to_owned).collect();
    let mut expected = BTreeSet::from([dir.join("tagroute.1").display().to_string()]);
    for path in &paths {
        let name = format!("tagroute-{}", path.join("-"));
        let file = dir.join(format!("{name}.1"));
        expected.insert(file.display().to_string());
        let page =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            page.contains(&format!(".TH {name} 1 ")),
            "{name}: title\n{page}"
        );
        // roff escapes every `-` of a flag.
        for flag in long_flags(path) {
            let roff = flag.replace('-', "\\-");
            assert!(page.contains(&roff), "{name}: {flag}\n{page}");
        }
        let mut args = vec!["man"];
        args.extend(path.iter().map(String::as_str));
        let printed = tagroute(&args, "");
        assert_eq!(
            (printed.code, printed.stdout),
            (0, page),
            "tagroute man {path:?}"
        );
    }
    assert_eq!(written, expected);
    let top = std::fs::read_to_string(dir.join("tagroute.1")).expect("tagroute.1");
    assert!(top.contains("tagroute\\-serve(1)"), "{top}");
}

#[test]
fn man_names_the_commands_when_asked_for_one_that_does_not_exist() {
    let run = tagroute(&["man", "topology", "export"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: no command `topology export`; the commands are import\n"
    );
}

#[test]
fn bash_accepts_the_completion_script_and_it_completes() {
    let run = tagroute(&["completions", "bash"], "");
    assert_eq!(run.code, 0, "{run:?}");
    let script = temp_file("tagroute.bash", &run.stdout);
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // What `tagroute ser<TAB>` and `tagroute serve --tls-<TAB>` offer.
    let complete = |words: &str| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _tagroute tagroute \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let output = Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut words: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        words.sort();
        words
    };
    assert_eq!(complete("tagroute ser"), ["serve"]);
    assert_eq!(
        complete("tagroute serve --tls-"),
        ["--tls-cert", "--tls-key"]
    );
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_one_is_a_usage_error() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = tagroute(&["completions", shell], "");
        assert_eq!(run.code, 0, "{shell}: {run:?}");
        assert!(run.stdout.contains("serve"), "{shell}: {run:?}");
    }
    let run = tagroute(&["completions", "tcsh"], "");
    assert_eq!(run.code, 2, "{run:?}");
}
