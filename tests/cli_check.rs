//! `tagroute check` end to end: exit codes, carets placed through line continuations, warnings,
//! topology lints, the asking server's tags, policies that differ between files, `--verbose`.

use serde_json::json;
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
        (0, "check: 0 errors, 0 warnings\n")
    );
}

#[test]
fn a_bad_policy_continued_over_lines_gets_its_caret_under_the_text() {
    let text = format!(
        "# cluster policies\n{POLICY}north=tags(north1) -> min(2); \\\n    tgas(north)\ndbms.routing_ttl=10s\n"
    );
    let path = conf("continued.conf", &text);
    let expected = format!(
        "{path}:3:5: error: policy `north`: unknown filter `tgas`\n      tgas(north)\n      ^^^^\n  help: did you mean `tags`?\ncheck: 1 error, 0 warnings\n"
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
    assert!(stderr.ends_with("check: 3 errors, 1 warning\n"), "{run:?}");
}

#[test]
fn warnings_alone_exit_0() {
    let path = conf("warnings.conf", &format!("{POLICY}p=tags(a)->min(1)\n"));
    let run = check(&[&path]);
    let before = POLICY.len() + "p=tags(a)->".len();
    let expected = format!(
        "{path}:1:{}: warning: policy `p`: `min(1)` never changes the result\n  {POLICY}p=tags(a)->min(1)\n  {}^^^^^^\ncheck: 0 errors, 1 warning\n",
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
    assert!(stderr.ends_with("check: 1 error, 0 warnings\n"), "{run:?}");
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
    let expected = format!(
        "error: policy `north` differs between the configurations (policies must be the same on every server)\n  {a}: tags(n); halt()\n  {b}: tags(n)\n\
         error: policy `only_a` differs between the configurations (policies must be the same on every server)\n  {a}: all()\n  {b}: (not configured)\n\
         check: 2 errors, 0 warnings\n"
    );
    assert_eq!(outcome(&check(&[&a, &b])), (1, expected.as_str()));
    let twin = conf(
        "twin.conf",
        &format!("{POLICY}north=tags(n); halt()\n{POLICY}only_a=all()\n{POLICY}same=tags(b,a)\n"),
    );
    assert_eq!(
        outcome(&check(&[&a, &twin])),
        (0, "check: 0 errors, 0 warnings\n")
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
        (0, "check: 0 errors, 0 warnings\n")
    );
    let expected = format!(
        "{path}: note: key `server.memory.heap.max_size` is not read\n{path}: note: key `server.bolt.enabled` is not read\ncheck: 0 errors, 0 warnings\n"
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
        (0, "check: 0 errors, 0 warnings\n")
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
    assert_eq!(outcome(&run), (0, "check: 0 errors, 0 warnings\n"));
    let other = conf("tags-other.conf", "initial.server.tags=north2\n");
    let run = check(&["--topology", &topology, "--server", "n1", &other]);
    let expected = format!(
        "{other}: warning: `initial.server.tags` gives `north2` but the topology gives server `n1` `north, north1`\ncheck: 0 errors, 1 warning\n"
    );
    assert_eq!(outcome(&run), (0, expected.as_str()));
    let run = check(&["--topology", &topology, "--server", "x1", &same]);
    assert_eq!(
        outcome(&run),
        (
            1,
            "error: unknown server `x1`; the servers are n1, n2, s1\n"
        )
    );
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
