//! `tagroute check` end to end: exit codes, carets placed through line continuations, warnings,
//! topology lints, the asking server's tags, policies that differ between files, `--verbose`.

use serde_json::{Value, json};
use tagroute::Strictness;
use tagroute::config::{Config, ConfigDiagnosticKind};

use crate::cli::{Run, tagroute, temp_file};

const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.";

/// Writes `contents` as `check-<name>` and returns its path, as `check` prints it.
fn conf(name: &str, contents: &str) -> String {
    temp_file(&format!("check-{name}"), contents)
        .to_str()
        .expect("utf-8")
        .to_owned()
}

fn check(args: &[&str]) -> Run {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    tagroute(&all, "")
}

/// `check` never writes to stdout; this returns the exit status and stderr.
fn outcome(run: &Run) -> (i32, &str) {
    assert_eq!(run.stdout, "", "{run:?}");
    (run.code, run.stderr.as_str())
}

fn topology() -> String {
    let server = |name: &str, tags: &[&str]| json!({"name": name, "address": format!("{name}:7687"), "tags": tags});
    let servers = [
        server("n1", &["north", "north1"]),
        server("n2", &["north", "north2"]),
        server("s1", &["south"]),
    ];
    temp_file(
        "check-topology.json",
        &json!({ "servers": servers }).to_string(),
    )
    .to_str()
    .expect("utf-8")
    .to_owned()
}

#[test]
fn a_valid_file_exits_0_and_says_so() {
    let path = conf(
        "valid.conf",
        &format!("{POLICY}north=tags(north1)->min(2); tags(north)\ndbms.routing_ttl=10s\n"),
    );
    assert_eq!(
        outcome(&check(&[&path])),
        (
            0,
            "check: 1 file, 0 errors, 0 warnings\nneo4j 5: would start with this file\n"
        )
    );
}

#[test]
fn a_bad_policy_continued_over_lines_gets_its_caret_under_the_text() {
    let text = format!(
        "# cluster policies\n{POLICY}north=tags(north1) -> min(2); \\\n    tgas(north)\ndbms.routing_ttl=10s\n"
    );
    let path = conf("continued.conf", &text);
    let expected = format!(
        "{path}:3:5: error: policy `north`: unknown filter `tgas`\n      tgas(north)\n      ^^^^\n  help: did you mean `tags`?\ncheck: 1 file, 1 error, 0 warnings\nneo4j 5: would not start with {path}\n"
    );
    assert_eq!(outcome(&check(&[&path])), (1, expected.as_str()));
}

#[test]
fn every_error_and_warning_of_every_file_is_reported() {
    let broken = conf(
        "broken.conf",
        "dbms.routing_ttl=0\nno separator\ndbms.routing.reads_on_writers_enabled=yes\n",
    );
    let warned = conf("warned.conf", &format!("{POLICY}old=groups(a)\n"));
    let run = check(&[&broken, &warned]);
    let (code, stderr) = outcome(&run);
    assert_eq!(code, 1);
    let headlines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": error: ") || l.contains(": warning: "))
        .collect();
    assert_eq!(
        headlines,
        [
            format!("{broken}:1:18: error: the routing TTL `0` is shorter than one second"),
            format!(
                "{broken}:2:1: error: unknown setting `no`: every Neo4j 5 setting starts with `dbms.`, `db.`, `server.`, `initial.` or another of its namespaces, and Neo4j refuses to start"
            ),
            format!("{broken}:3:39: error: expected `true` or `false`, found `yes`"),
            format!("{warned}:1:56: warning: policy `old`: `groups()` is deprecated; use `tags()`"),
        ]
    );
    let tail =
        format!("check: 2 files, 3 errors, 1 warning\nneo4j 5: would not start with {broken}\n");
    assert!(stderr.ends_with(&tail), "{run:?}");
}

#[test]
fn warnings_alone_exit_0() {
    let path = conf("warnings.conf", &format!("{POLICY}p=tags(a)->min(1)\n"));
    let run = check(&[&path]);
    let before = POLICY.len() + "p=tags(a)->".len();
    let expected = format!(
        "{path}:1:{}: warning: policy `p`: `min(1)` never changes the result\n  {POLICY}p=tags(a)->min(1)\n  {}^^^^^^\ncheck: 1 file, 0 errors, 1 warning\nneo4j 5: would start with this file\n",
        before + 1,
        " ".repeat(before)
    );
    assert_eq!(outcome(&run), (0, expected.as_str()));
}

#[test]
fn an_invalid_user_defined_policy_is_an_error_for_check_only() {
    let text = "server.cluster.catchup.upstream_strategy=user-defined\n\
                server.cluster.catchup.user_defined_upstream_strategy=tags(north) -> halt()\n";
    let config =
        Config::parse(text, "neo4j.conf", Strictness::Default).expect("loading only warns");
    let kinds: Vec<ConfigDiagnosticKind> = config.warnings().iter().map(|w| w.kind).collect();
    assert_eq!(kinds, [ConfigDiagnosticKind::InvalidUserDefined]);
    let path = conf("user-defined.conf", text);
    let run = check(&[&path]);
    let (code, stderr) = outcome(&run);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(&format!("{path}:2:70: error: policy `user-defined`: `halt()` must be the only filter in its rule; the strategy never answers\n")),
        "{run:?}"
    );
    assert!(
        stderr.ends_with("check: 1 file, 1 error, 0 warnings\nneo4j 5: would start with this file (the errors above are tagroute's own checks)\n"),
        "{run:?}"
    );
}

#[test]
fn neo4j_mode_turns_the_whitespace_leniency_into_an_error() {
    let path = conf("lenient.conf", &format!("{POLICY}x=tags(a); \n"));
    let lenient = check(&[&path]);
    let (code, stderr) = outcome(&lenient);
    assert_eq!(code, 0);
    assert!(
        stderr.starts_with(&format!(
            "{path}:1:62: warning: policy `x`: Neo4j rejects whitespace here"
        )),
        "{stderr}"
    );
    let strict = check(&["--neo4j", &path]);
    let (code, stderr) = outcome(&strict);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(&format!(
            "{path}:1:62: error: policy `x`: whitespace after a trailing `;`"
        )),
        "{stderr}"
    );
}

#[test]
fn policies_that_differ_between_files_are_errors() {
    let a = conf(
        "a.conf",
        &format!("{POLICY}north=tags(n);halt()\n{POLICY}only_a=all()\n{POLICY}same=tags(a,b)\n"),
    );
    let b = conf(
        "b.conf",
        &format!("{POLICY}north=tags(n)\n{POLICY}same=tags(b, a)\n"),
    );
    let key = |name: &str| format!("{POLICY}{name}=");
    let expected = format!(
        "{a}:1:1: error: policy `north` differs between the configurations (policies must be the same on every server)\n  {}tags(n);halt()\n  {}\n  help: {a}: tags(n); halt(); {b}: tags(n)\n\
         {a}:2:1: error: policy `only_a` differs between the configurations (policies must be the same on every server)\n  {}all()\n  {}\n  help: {a}: all(); {b}: (not configured)\n\
         check: 2 files, 2 errors, 0 warnings\n\
         neo4j 5: would start with each of these files (the errors above are tagroute's own checks)\n",
        key("north"),
        "^".repeat(key("north").len() - 1),
        key("only_a"),
        "^".repeat(key("only_a").len() - 1),
    );
    assert_eq!(outcome(&check(&[&a, &b])), (1, expected.as_str()));
    let twin = conf(
        "twin.conf",
        &format!("{POLICY}north=tags(n); halt()\n{POLICY}only_a=all()\n{POLICY}same=tags(b,a)\n"),
    );
    assert_eq!(
        outcome(&check(&[&a, &twin])),
        (
            0,
            "check: 2 files, 0 errors, 0 warnings\nneo4j 5: would start with each of these files\n"
        )
    );
}

#[test]
fn verbose_lists_the_keys_that_are_not_read() {
    let path = conf(
        "verbose.conf",
        "server.memory.heap.max_size=4g\ndbms.routing_ttl=5m\nserver.bolt.enabled=true\n",
    );
    assert_eq!(
        outcome(&check(&[&path])),
        (
            0,
            "check: 1 file, 0 errors, 0 warnings\nneo4j 5: would start with this file\n"
        )
    );
    let expected = format!(
        "{path}: note: key `server.memory.heap.max_size` is not read\n{path}: note: key `server.bolt.enabled` is not read\ncheck: 1 file, 0 errors, 0 warnings\nneo4j 5: would start with this file\n"
    );
    assert_eq!(
        outcome(&check(&["--verbose", &path])),
        (0, expected.as_str())
    );
}

#[test]
fn a_topology_adds_its_lints_placed_in_the_file() {
    let text = format!("{POLICY}p=tags(north, west) -> \\\n  min(3)\n");
    let path = conf("lints.conf", &text);
    let topology = topology();
    assert_eq!(
        outcome(&check(&[&path])),
        (
            0,
            "check: 1 file, 0 errors, 0 warnings\nneo4j 5: would start with this file\n"
        )
    );
    let run = check(&["--topology", &topology, &path]);
    let (code, stderr) = outcome(&run);
    assert_eq!(code, 0);
    let headlines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": warning: "))
        .collect();
    assert_eq!(headlines.len(), 2, "{run:?}");
    assert!(
        headlines[0].starts_with(&format!(
            "{path}:1:{}: warning: policy `p`: no server carries the tag `west`",
            POLICY.len() + "p=tags(north, ".len() + 1
        )),
        "{run:?}"
    );
    assert!(
        headlines[1].starts_with(&format!(
            "{path}:2:3: warning: policy `p`: `min(3)` can never pass: at most 2 servers can reach it"
        )),
        "{run:?}"
    );
    assert!(stderr.contains("\n    min(3)\n    ^^^^^^\n"), "{run:?}");
}

#[test]
fn the_servers_own_tags_are_compared_with_the_topology() {
    let topology = topology();
    let same = conf("tags-same.conf", "initial.server.tags=north1, north\n");
    let run = check(&["--topology", &topology, "--server", "n1", &same]);
    assert_eq!(
        outcome(&run),
        (
            0,
            "check: 1 file, 0 errors, 0 warnings\nneo4j 5: would start with this file\n"
        )
    );
    let other = conf("tags-other.conf", "initial.server.tags=north2\n");
    let run = check(&["--topology", &topology, "--server", "n1", &other]);
    let expected = format!(
        "{other}:1:1: warning: `initial.server.tags` gives `north2` but the topology gives server `n1` `north, north1`\n  initial.server.tags=north2\n  ^^^^^^^^^^^^^^^^^^^\ncheck: 1 file, 0 errors, 1 warning\nneo4j 5: would start with this file\n"
    );
    assert_eq!(outcome(&run), (0, expected.as_str()));
    let run = check(&["--topology", &topology, "--server", "x1", &same]);
    let expected = format!(
        "{topology}: error: the topology has no server `x1`\n  help: its servers are `n1`, `n2`, `s1`\ncheck: 1 file, 1 error, 0 warnings\nneo4j 5: would start with this file (the errors above are tagroute's own checks)\n"
    );
    assert_eq!(outcome(&run), (1, expected.as_str()));
}

#[test]
fn usage_errors_exit_2_and_unreadable_files_exit_1() {
    assert_eq!(check(&[]).code, 2);
    let path = conf("usage.conf", "");
    assert_eq!(
        check(&["--server", "n1", &path]).code,
        2,
        "--server needs --topology"
    );
    let missing = format!("{path}.missing");
    let run = check(&[&missing]);
    let (code, stderr) = outcome(&run);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(&format!(
            "{missing}:1:1: error: cannot read the configuration: "
        )),
        "{run:?}"
    );
}

/// A cluster with two databases: `neo4j` (primaries n1, n2, leader n1; secondary s1) and
/// `orders`, whose only primary is down.
fn cluster_with_databases() -> String {
    let server = |name: &str, tags: &[&str], available: bool| json!({"name": name, "address": format!("{name}:7687"), "tags": tags, "available": available});
    let topology = json!({
        "servers": [
            server("n1", &["north", "north1"], true),
            server("n2", &["north", "north2"], true),
            server("s1", &["south"], true),
            server("o1", &["north"], false),
        ],
        "databases": [
            {"name": "neo4j", "primaries": ["n1", "n2"], "secondaries": ["s1"], "leader": "n1"},
            {"name": "orders", "primaries": ["o1"], "secondaries": ["s1"]},
        ],
    });
    temp_file("check-cluster.json", &topology.to_string())
        .to_str()
        .expect("utf-8")
        .to_owned()
}

#[test]
fn a_topology_warns_about_tables_without_readers_or_routers_and_leader_settings() {
    let text = format!(
        "{POLICY}east=tags(east); halt()\n\
         db.cluster.raft.leader_transfer.priority_tag=north1\n\
         db.cluster.raft.leader_transfer.priority_tag.audit=south\n"
    );
    let path = conf("tables.conf", &text);
    let cluster = cluster_with_databases();
    let run = check(&["--format", "json", "--topology", &cluster, &path]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    let report = run.json();
    let found: Vec<(String, Value, Value)> = report["diagnostics"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().expect("code").to_owned(),
                d["line"].clone(),
                d["column"].clone(),
            )
        })
        .collect();
    let at = |code: &str, line: usize| (code.to_owned(), json!(line), json!(1));
    assert_eq!(
        found,
        [
            (
                "unknown-tag".to_owned(),
                json!(1),
                json!(POLICY.len() + "east=tags(".len() + 1)
            ),
            at("no-readers", 1),
            at("no-readers", 1),
            at("priority-tag-not-carried", 2),
            at("unknown-database", 3),
            ("no-routers".to_owned(), Value::Null, Value::Null),
        ],
        "{report}"
    );
    let diagnostics = &report["diagnostics"];
    assert_eq!(
        diagnostics[1]["message"],
        "policy `east` selects no reader of database `neo4j`: its routing table has no readers"
    );
    assert_eq!(
        diagnostics[3]["message"],
        "no primary of database `orders` carries its leadership priority tag `north1`"
    );
    assert_eq!(
        diagnostics[4]["help"],
        "its databases are `neo4j`, `orders`"
    );
    assert_eq!(
        diagnostics[5]["message"],
        "database `orders` has no available primary: its routing table has no routers"
    );
    assert_eq!(diagnostics[5]["file"], cluster.as_str());
    assert_eq!(report["errors"], 0);
    assert_eq!(report["warnings"], 6);
    assert_eq!(report["neo4j_would_start"], true);
}

#[test]
fn json_gives_every_diagnostic_with_its_place_and_the_verdict() {
    let text = "dbms.routing_ttl=0\nserver.cluster.catchup.upstream_strategy=leader_only\n";
    let path = conf("json.conf", text);
    let run = check(&["--format", "json", &path]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.json(),
        json!({
            "files": [path],
            "diagnostics": [
                {
                    "severity": "error", "code": "ttl-too-short", "file": path, "line": 1,
                    "column": 18, "message": "the routing TTL `0` is shorter than one second",
                    "help": run.json()["diagnostics"][0]["help"], "neo4j_refuses": true,
                },
                {
                    "severity": "warning", "code": "unknown-strategy", "file": path, "line": 2,
                    "column": 42, "message": run.json()["diagnostics"][1]["message"],
                    "help": "did you mean `leader-only`?", "neo4j_refuses": false,
                },
            ],
            "errors": 1,
            "warnings": 1,
            "neo4j_would_start": false,
            "neo4j_refuses": [path],
        })
    );
}

#[test]
fn deny_warnings_turns_a_warning_into_exit_1() {
    let path = conf("deny.conf", &format!("{POLICY}p=groups(a)\n"));
    assert_eq!(check(&[&path]).code, 0);
    let run = check(&["--deny-warnings", &path]);
    let (code, stderr) = outcome(&run);
    assert_eq!(code, 1);
    assert!(
        stderr
            .ends_with("check: 1 file, 0 errors, 1 warning\nneo4j 5: would start with this file\n"),
        "{run:?}"
    );
    let clean = conf("deny-clean.conf", &format!("{POLICY}p=tags(a)\n"));
    assert_eq!(check(&["--deny-warnings", &clean]).code, 0);
}
