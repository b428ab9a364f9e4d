//! The `tagroute` binary end to end: JSON parsed back, exit codes, carets on stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

/// What a run of the binary left behind.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// Runs `tagroute args...` with `stdin`.
pub fn tagroute(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tagroute"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("the binary finishes");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A file with `contents` in a directory of this test process.
pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tagroute-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

fn cluster() -> String {
    let servers: Vec<Value> = [("n1a", "north1"), ("n1b", "north1"), ("n2a", "north2"), ("s1a", "south1")]
        .iter()
        .map(|(name, dc)| json!({"name": name, "address": format!("{name}:7687"), "tags": [dc, &dc[..5]]}))
        .collect();
    json!({ "servers": servers }).to_string()
}

fn topology() -> String {
    temp_file("cluster.json", &cluster())
        .to_string_lossy()
        .into_owned()
}

#[test]
fn eval_prints_the_selected_servers_sorted() {
    let run = tagroute(
        &[
            "eval",
            "--topology",
            &topology(),
            "--policy",
            "tags(north2,north1)->min(3); halt()",
        ],
        "",
    );
    assert_eq!(
        (run.code, run.json()),
        (0, json!({"servers": ["n1a", "n1b", "n2a"]})),
        "{run:?}"
    );
    let run = tagroute(
        &[
            "eval",
            "--topology",
            &topology(),
            "--policy",
            "tags(west); halt()",
        ],
        "",
    );
    assert_eq!(
        (run.code, run.json()),
        (0, json!({"servers": []})),
        "{run:?}"
    );
}

#[test]
fn a_bad_policy_exits_1_with_a_caret_under_the_fault() {
    let policy = "tags(north2)->min(3), tags(north)->min(3)";
    let run = tagroute(&["eval", "--topology", &topology(), "--policy", policy], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines[0], "1:21: error: unexpected `,` after a filter");
    assert_eq!(lines[1], format!("  {policy}"));
    assert_eq!(
        lines[2].find('^'),
        Some(2 + policy.find(',').expect("comma"))
    );
    assert_eq!(lines[3], "  help: rules are separated by `;`, not `,`");
}

#[test]
fn strict_mode_rejects_what_neo4j_rejects_and_default_mode_warns() {
    let strict = tagroute(
        &[
            "eval",
            "--topology",
            &topology(),
            "--neo4j",
            "--policy",
            "tags(south1); ",
        ],
        "",
    );
    assert_eq!(strict.code, 1, "{strict:?}");
    assert!(
        strict
            .stderr
            .starts_with("1:14: error: whitespace after a trailing `;`"),
        "{strict:?}"
    );
    let default = tagroute(
        &[
            "eval",
            "--topology",
            &topology(),
            "--policy",
            "tags(south1); ",
        ],
        "",
    );
    assert_eq!(
        (default.code, default.json()),
        (0, json!({"servers": ["s1a"]})),
        "{default:?}"
    );
    assert!(default.stderr.contains("[neo4j-compat]"), "{default:?}");
}

#[test]
fn batch_answers_every_line_in_order() {
    let input = "\"tags(south1)\"\n\"tags((a)\"\n42\nnot json\n\"halt(); \"\n";
    let run = tagroute(&["eval", "--topology", &topology(), "--batch"], input);
    assert_eq!(run.code, 0, "{run:?}");
    let answers: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(answers.len(), 5);
    assert_eq!(answers[0], json!({"ok": true, "servers": ["s1a"]}));
    assert_eq!(
        answers[1],
        json!({"ok": false, "error": "unexpected token inside the arguments", "span": [5, 6]})
    );
    assert_eq!(
        answers[2],
        json!({"ok": false, "error": "expected a JSON string, found a number"})
    );
    assert_eq!(answers[3]["ok"], json!(false));
    assert!(answers[3].get("span").is_none());
    assert_eq!(
        answers[4],
        json!({"ok": true, "servers": ["n1a", "n1b", "n2a", "s1a"]})
    );
    let strict = tagroute(
        &["eval", "--topology", &topology(), "--batch", "--neo4j"],
        "\"halt(); \"\n",
    );
    assert_eq!(
        strict.stdout.trim(),
        r#"{"ok":false,"error":"whitespace after a trailing `;`","span":[7,8]}"#
    );
}

#[test]
fn topology_errors_name_the_file_and_field() {
    let path = temp_file(
        "bad.json",
        r#"{"servers": [{"name": "a", "address": "a:1", "tag": []}]}"#,
    );
    let run = tagroute(
        &[
            "eval",
            "--topology",
            &path.to_string_lossy(),
            "--policy",
            "all()",
        ],
        "",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "error: {}: servers[0].tag: unknown field (expected one of name, address, tags, available)",
            path.display()
        )
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(tagroute(&["eval", "--topology", &topology()], "").code, 2);
    assert_eq!(
        tagroute(
            &[
                "eval",
                "--topology",
                &topology(),
                "--batch",
                "--policy",
                "all()"
            ],
            ""
        )
        .code,
        2
    );
    assert_eq!(tagroute(&["frobnicate"], "").code, 2);
    let arrow = tagroute(&["eval", "--topology", &topology(), "--policy", "->"], "");
    assert_eq!(
        (arrow.code, arrow.json()),
        (0, json!({"servers": ["n1a", "n1b", "n2a", "s1a"]})),
        "a policy may start with `-`"
    );
}

#[test]
fn disasm_prints_one_instruction_a_line_with_tag_names() {
    let run = tagroute(
        &[
            "disasm",
            "--policy",
            "tags(north1,north2)->min(2); tags(north); halt()",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let expected = [
        "0000  rule and.any  north1, north2  min 2  ret  else 0001",
        "0001  rule and      north  ret  else 0002",
        "0002  ret.empty",
    ];
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn explain_shows_each_filter_and_the_answering_rule() {
    let policy = "tags(north1)->min(3); tags(north)->tags(north2); halt()";
    let run = tagroute(
        &["explain", "--topology", &topology(), "--policy", policy],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[2], "rule 1: tags(north1)->min(3)");
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["tags(north1)", "kept", "2", "[n1a,", "n1b]"]
    );
    assert_eq!(lines[7], "answer: rule 2");
    assert_eq!(lines[8], "result: 1 [n2a]");
}

#[test]
fn bench_json_has_the_documented_shape() {
    let path = temp_file(
        "bench.json",
        &json!({"servers": [{"name": "a", "address": "a:1", "tags": ["north1"]}, {"name": "b", "address": "b:1", "tags": ["north"]}],
                "databases": [{"name": "neo4j", "primaries": ["a", "b"]}]})
        .to_string(),
    );
    let run = tagroute(
        &[
            "bench",
            "--topology",
            &path.to_string_lossy(),
            "--threads",
            "1",
            "--json",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["servers"], json!(2));
    for key in ["vm_ns", "router_ns", "reference_ns", "vm_vs_reference"] {
        assert!(
            scenario[key].as_f64().is_some_and(|x| x > 0.0),
            "{key} in {report}"
        );
    }
    for key in [
        "ideal_eval_ns",
        "ideal_decision_ns",
        "vm_vs_ideal",
        "router_vs_ideal",
        "ideal_kernel",
        "best_ideal_eval_ns",
        "vm_vs_best",
        "memo_floor_ns",
        "router_vs_floor",
    ] {
        assert_eq!(
            scenario[key],
            Value::Null,
            "{key}: the ideal exists only for the built-in workload"
        );
    }
    assert_eq!(report["threads"]["n"], json!(1));
}

#[test]
fn demo_runs_on_a_fresh_checkout() {
    let run = tagroute(&["demo"], "");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("north_app1      tags(north1,north2)->min(2); tags(north); halt()"),
        "{run:?}"
    );
    assert!(run.stdout.contains("After n1b goes down"), "{run:?}");
}

/// Text that is mostly not a policy: the language's pieces, glued at random.
fn junk() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "tags", "min", "halt", "all", "(", ")", ",", ";", "->", "-", " ", "\t", "a", "7", "é",
        "\"", "\\", "((", "\u{0}",
    ]);
    prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

#[test]
fn no_input_makes_eval_panic() {
    let config = Config {
        cases: 1,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]));
    let lines: Vec<String> = (0..2000)
        .map(|_| junk().new_tree(&mut runner).expect("a value").current())
        .map(|text| serde_json::to_string(&text).expect("a JSON string"))
        .collect();
    let run = tagroute(
        &["eval", "--topology", &topology(), "--batch"],
        &(lines.join("\n") + "\n"),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), lines.len());
    let topology = topology();
    for strict in [false, true] {
        let mut args = vec!["eval", "--topology", &topology];
        if strict {
            args.push("--neo4j");
        }
        args.push("--policy");
        for line in lines.iter().take(60) {
            let text: String = serde_json::from_str(line).expect("round trip");
            if text.contains('\0') {
                continue; // an argument cannot carry NUL; the batch above covered it
            }
            let mut args = args.clone();
            args.push(&text);
            let run = tagroute(&args, "");
            assert!(run.code == 0 || run.code == 1, "{text:?}: {run:?}");
        }
    }
}
