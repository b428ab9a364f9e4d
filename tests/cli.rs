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

/// Runs `tagroute args...` with `stdin` (any bytes).
pub fn tagroute(args: &[&str], stdin: impl AsRef<[u8]>) -> Run {
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
        .write_all(stdin.as_ref())
        .expect("write stdin");
    let output = child.wait_with_output().expect("the binary finishes");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `tagroute eval --topology PATH --policy 'all()'`: what loading the topology at `path` says.
fn eval_all(path: &std::path::Path) -> Run {
    let path = path.to_string_lossy();
    tagroute(&["eval", "--topology", &path, "--policy", "all()"], "")
}

/// A file with `contents` in a directory of this test process.
pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tagroute-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    // Tests run in parallel and rewrite the same files: write aside, then rename atomically,
    // so that no run of the binary reads a half-written file.
    let aside = dir.join(format!("{name}.{:?}.tmp", std::thread::current().id()));
    std::fs::write(&aside, contents).expect("write temp file");
    std::fs::rename(&aside, &path).expect("rename temp file");
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
    let run = eval_all(&path);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "error: {}: servers[0].tag: unknown field (expected one of name, address, tags, available)",
            path.display()
        )
    );
}

/// Issue 22: "more than 4096 new tags in one change" refused a topology of 5,000 servers
/// tagged per host (the shape `topology import` makes of a large cluster). What bounds a
/// topology now is the tag matrix's memory, which `--max-tag-matrix` sets.
#[test]
fn a_tag_per_server_loads_within_the_tag_matrix_limit() {
    let servers: Vec<Value> = (0..5000)
        .map(|i| json!({"name": format!("h{i}"), "address": format!("h{i}:7687"), "tags": [format!("host-{i}")]}))
        .collect();
    let path = temp_file("per-host.json", &json!({ "servers": servers }).to_string());
    let topology = path.to_string_lossy();
    let eval = |limit: &[&str]| {
        let mut args = vec![
            "eval",
            "--topology",
            &topology,
            "--policy",
            "tags(host-4999)",
        ];
        args.extend_from_slice(limit);
        tagroute(&args, "")
    };
    let run = eval(&[]);
    assert_eq!(
        (run.code, run.stdout.trim()),
        (0, r#"{"servers":["h4999"]}"#),
        "{run:?}"
    );
    // 5,000 rows of 79 words, 80 with the line: 3,200,000 bytes.
    assert_eq!(eval(&["--max-tag-matrix", "3200000"]).code, 0);
    let run = eval(&["--max-tag-matrix", "3MiB"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "error: {}: servers: 5000 tag rows over 5000 servers need a tag matrix of 3.1 MiB, \
             more than its limit of 3.0 MiB",
            path.display()
        )
    );
}

/// Issue 22: a server named " " or "a\u0000b" loaded.
#[test]
fn names_of_blanks_or_with_control_characters_are_refused() {
    for (json_name, error) in [
        (" ", "` ` is not a valid name: it is only blanks"),
        ("\\u3000 ", "is not a valid name: it is only blanks"),
        (
            "a\\u0000b",
            "`a\\0b` is not a valid name: it holds a control character",
        ),
        (
            "a\\nb",
            "`a\\nb` is not a valid name: it holds a control character",
        ),
    ] {
        let text = format!(
            r#"{{"servers": [{{"name": "ok", "address": "a:1"}}, {{"name": "{json_name}", "address": "b:1"}}]}}"#
        );
        let path = temp_file("bad-name.json", &text);
        let run = eval_all(&path);
        assert_eq!(run.code, 1, "{json_name}");
        let prefix = format!("error: {}: servers[1].name: ", path.display());
        assert!(
            run.stderr.starts_with(&prefix) && run.stderr.trim_end().ends_with(error),
            "{json_name}: {}",
            run.stderr
        );
    }
}

/// Issue 22: `topology import` took a server whose name holds a NUL from the records.
#[test]
fn topology_import_refuses_a_name_with_a_control_character() {
    let servers = temp_file(
        "nul-servers.json",
        r#"[{"name": "ok", "address": "a:1"}, {"name": "a\u0000b", "address": "b:1"}]"#,
    );
    let databases = temp_file("no-databases.json", "[]");
    let run = tagroute(
        &[
            "topology",
            "import",
            "--servers",
            &servers.to_string_lossy(),
            "--databases",
            &databases.to_string_lossy(),
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr.trim(),
        "error: the imported topology is invalid: servers[1].name: `a\\0b` is not a valid \
         name: it holds a control character"
    );
}

/// Issue 22: `route --exclude` ignored a name it did not know, and could not name a server
/// whose name holds a comma.
#[test]
fn route_exclude_names_servers_of_the_topology_commas_escaped() {
    let servers: Vec<Value> = ["reader-1", "reader-2", "rack 2, slot 3"]
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"name": name, "address": format!("h{i}:7687")}))
        .collect();
    let databases = json!([{"name": "neo4j", "primaries": ["reader-1"], "leader": "reader-1", "secondaries": ["reader-2", "rack 2, slot 3"]}]);
    let topology = temp_file(
        "exclude.json",
        &json!({"servers": servers, "databases": databases}).to_string(),
    );
    let config = temp_file(
        "exclude.conf",
        "dbms.routing.reads_on_writers_enabled=false\n",
    );
    let route = |exclude: &[&str]| {
        let (config, topology) = (config.to_string_lossy(), topology.to_string_lossy());
        let mut args = vec!["route", "--config", &config, "--topology", &topology];
        args.extend_from_slice(&["--db", "neo4j", "--seed", "1"]);
        for value in exclude {
            args.extend_from_slice(&["--exclude", value]);
        }
        tagroute(&args, "")
    };
    let readers = |run: &Run| -> Vec<Value> {
        assert_eq!(run.code, 0, "{run:?}");
        let mut readers = run.json()["servers"]
            .as_array()
            .expect("roles")
            .iter()
            .find(|r| r["role"] == "READ")
            .map(|r| r["addresses"].as_array().expect("list").clone())
            .unwrap_or_default();
        readers.sort_by_key(|a| a.to_string());
        readers
    };
    assert_eq!(readers(&route(&[])), [json!("h1:7687"), json!("h2:7687")]);
    assert_eq!(readers(&route(&[r"rack 2\, slot 3"])), [json!("h1:7687")]);
    // With both secondaries out, the writer reads.
    assert_eq!(
        readers(&route(&[r"reader-2,rack 2\, slot 3"])),
        [json!("h0:7687")]
    );
    assert_eq!(
        readers(&route(&["reader-2", r"rack 2\, slot 3,"])),
        [json!("h0:7687")]
    );
    let run = route(&["reader-3"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: unknown server `reader-3`; the servers are rack 2, slot 3, reader-1, \
             reader-2 (did you mean `reader-1`?)\n"
        )
    );
    let run = route(&["rack 2, slot 3"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: unknown server `rack 2`;"),
        "{}",
        run.stderr
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
            "tags(north1,north2)->min(2); tags(north)->min(3)->tags(ssd,gpu); halt()",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let expected = [
        "0000  match         north1, north2  min 2  else 0001",
        "0001  match         north  min 3 -> ssd, gpu  else 0002",
        "0002  ret.empty",
    ];
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn explain_shows_each_filter_with_the_count_a_min_saw_and_the_answering_rule() {
    let policy = "tags(north1)->min(3); tags(north)->tags(north2); halt()";
    let run = tagroute(
        &["explain", "--topology", &topology(), "--policy", policy],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<String> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "policy: tags(north1)->min(3); tags(north)->tags(north2); halt()",
            "candidates: 4 [n1a, n1b, n2a, s1a]",
            "rule 1: tags(north1)->min(3)",
            "tags(north1) kept 2 [n1a, n1b]",
            "min(3) saw 2 < 3, kept 0 []",
            "=> nothing left: the next rule is tried",
            "rule 2: tags(north)->tags(north2)",
            "tags(north) kept 3 [n1a, n1b, n2a]",
            "tags(north2) kept 1 [n2a]",
            "=> answers",
            "rule 3: halt()",
            "=> not reached",
            "answer: rule 2",
            "result: 1 [n2a]",
        ],
        "{run:?}"
    );
}

#[test]
fn explain_down_and_json_show_why_the_first_rule_stopped_answering() {
    let policy = "tags(north1)->min(2); tags(north); halt()";
    let args = [
        "explain",
        "--topology",
        &topology(),
        "--policy",
        policy,
        "--format",
        "json",
    ];
    let up = tagroute(&args, "");
    assert_eq!(up.code, 0, "{up:?}");
    assert_eq!(up.json()["answer"], json!({"kind": "rule", "rule": 1}));
    let mut down_args = args.to_vec();
    down_args.extend(["--down", "n1b,s1a"]);
    let down = tagroute(&down_args, "");
    assert_eq!(down.code, 0, "{down:?}");
    assert_eq!(down.stderr, "");
    let report = down.json();
    assert_eq!(report["down"], json!(["n1b", "s1a"]));
    assert_eq!(report["candidates"], json!(["n1a", "n2a"]));
    assert_eq!(
        report["rules"][0],
        json!({
            "text": "tags(north1)->min(2)",
            "outcome": "empty",
            "filters": [
                {"text": "tags(north1)", "filter": "tags", "kept": ["n1a"], "count": 1},
                {"text": "min(2)", "filter": "min", "min": 2, "saw": 1, "passed": false, "kept": [], "count": 0},
            ],
        })
    );
    assert_eq!(report["answer"], json!({"kind": "rule", "rule": 2}));
    assert_eq!(report["result"], json!(["n1a", "n2a"]));
    assert_eq!(report["diagnostics"], json!([]));
    let unknown = tagroute(
        &[
            "explain",
            "--topology",
            &topology(),
            "--policy",
            policy,
            "--down",
            "zz",
        ],
        "",
    );
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .starts_with("error: --down: unknown server `zz`"),
        "{unknown:?}"
    );
}

#[test]
fn explain_json_reports_warnings_and_errors_with_their_place() {
    let warned = tagroute(
        &[
            "explain",
            "--topology",
            &topology(),
            "--policy",
            "groups(west)",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(warned.code, 0, "{warned:?}");
    let codes: Vec<Value> = warned.json()["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| json!([d["code"], d["line"], d["column"]]))
        .collect();
    assert_eq!(
        codes,
        [
            json!(["deprecated-groups", 1, 1]),
            json!(["unknown-tag", 1, 8])
        ]
    );
    let broken = tagroute(
        &[
            "explain",
            "--topology",
            &topology(),
            "--policy",
            "tags(a);;tags(b)",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(broken.code, 1, "{broken:?}");
    let diagnostic = &broken.json()["diagnostics"][0];
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["code"], "invalid-policy");
    assert_eq!(
        (diagnostic["line"].clone(), diagnostic["column"].clone()),
        (json!(1), json!(9))
    );
}

#[test]
fn a_warning_about_a_huge_policy_shows_a_window_not_the_line() {
    let policy = "tags(north1); ".repeat(7_000) + "halt()";
    let run = tagroute(
        &["eval", "--topology", &topology(), "--policy", &policy],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let warnings = run.stderr.matches("warning:").count();
    assert!(warnings >= 6_999, "{warnings} warnings");
    assert!(
        run.stderr.len() < warnings * 400,
        "{} bytes of stderr for {warnings} warnings",
        run.stderr.len()
    );
    assert!(run.stderr.lines().all(|l| l.chars().count() < 200));
}

#[test]
fn batch_answers_a_line_that_is_not_utf8_and_goes_on() {
    let input: &[u8] = b"\"tags(south1)\"\n\"tags(\xff)\"\n\"tags(north2)\"\n";
    let run = tagroute(&["eval", "--topology", &topology(), "--batch"], input);
    assert_eq!(run.code, 0, "{run:?}");
    let answers: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(
        answers,
        [
            json!({"ok": true, "servers": ["s1a"]}),
            json!({"ok": false, "error": "the line is not valid UTF-8 (byte 6)"}),
            json!({"ok": true, "servers": ["n2a"]}),
        ]
    );
}

#[test]
fn topology_import_from_a_cluster_names_each_server_that_failed_and_why() {
    // Nothing listens on port 1 of loopback: refused at once, without a network.
    let run = tagroute(
        &[
            "topology",
            "import",
            "--from",
            "neo4j://127.0.0.1:1,[::1]:1",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.starts_with(
            "error: --from: no server of the cluster answered: 127.0.0.1:1: Connection refused"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("; [::1]:1: "), "{}", run.stderr);

    let bad = tagroute(&["topology", "import", "--from", "neo4j://a:99999"], "");
    assert_eq!(
        (bad.code, bad.stderr.as_str()),
        (
            1,
            "error: --from: `neo4j://a:99999` at byte 10: the port `99999` is not a number \
             from 1 to 65535\n"
        )
    );
    let both = tagroute(
        &[
            "topology",
            "import",
            "--from",
            "neo4j://a",
            "--servers",
            "s.csv",
        ],
        "",
    );
    assert_eq!(both.code, 2, "{both:?}");
}

#[test]
fn topology_import_builds_the_example_cluster_from_its_records() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let run = tagroute(
        &[
            "topology",
            "import",
            "--servers",
            &format!("{examples}/show-servers.txt"),
            "--databases",
            &format!("{examples}/show-databases.csv"),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "note: servers record 8: `x9` is Free, not in the cluster; left out\n\
         note: databases record 4: `system` on `n2b` has role `unknown`; left out\n\
         note: databases record 12: `neo4j` on `n2b` has role `unknown`; left out\n\
         note: the default database is `neo4j`\n"
    );
    let imported = run.json();
    let cluster: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{examples}/cluster.json")).expect("cluster.json"),
    )
    .expect("JSON");
    for (i, server) in cluster["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .enumerate()
    {
        let got = &imported["servers"][i];
        assert_eq!(got["name"], server["name"]);
        assert_eq!(got["address"], server["address"]);
        assert_eq!(got["tags"], server["tags"]);
        assert_eq!(
            got["available"],
            server.get("available").cloned().unwrap_or(json!(true))
        );
    }
    assert_eq!(imported["servers"].as_array().map(Vec::len), Some(7));
    let names: Vec<&Value> = imported["databases"]
        .as_array()
        .expect("dbs")
        .iter()
        .map(|d| &d["name"])
        .collect();
    assert_eq!(names, [&json!("system"), &json!("neo4j"), &json!("orders")]);
    assert_eq!(imported["databases"][1]["leader"], "n1a");
    assert_eq!(
        imported["databases"][1]["secondaries"],
        json!(["n1b", "s1b", "s2a"])
    );
    let bad = temp_file(
        "bad-servers.csv",
        "name,address,tags\na,a:1,[\"not a tag\"]\n",
    );
    let run = tagroute(
        &[
            "topology",
            "import",
            "--servers",
            bad.to_str().expect("utf-8"),
            "--databases",
            &format!("{examples}/show-databases.json"),
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("error: the imported topology is invalid: "),
        "{run:?}"
    );
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
    // The tables before the failure read from n1b; the ones after it, from the same live
    // service, never do.
    let (before, after) = run
        .stdout
        .split_once("After n1b goes down")
        .expect("a failure section");
    let readers = |text: &str| -> Vec<String> {
        let tables = text
            .split_once("== Routing tables for neo4j")
            .expect("tables")
            .1;
        let tables = tables.split("\n== ").next().unwrap_or(tables);
        tables
            .lines()
            .filter_map(|l| l.trim().strip_prefix("READ"))
            .map(|l| l.trim().to_owned())
            .collect()
    };
    let (before, after) = (readers(before), readers(after));
    assert_eq!((before.len(), after.len()), (5, 5), "{run:?}");
    assert!(before.iter().all(|r| r.contains("n1b")), "{before:?}");
    assert!(after.iter().all(|r| !r.contains("n1b")), "{after:?}");
    assert!(
        after.contains(&"none (a driver gets no table)".to_owned()),
        "north1_only has no reader left: {after:?}"
    );
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
