//! `tagroute check` end to end: exit codes, carets placed through line continuations, warnings,
//! topology lints, the asking server's tags, policies that differ between files, `--verbose`;
//! validation against the settings catalogue, `--migrate`, `--neo4j-version`, `--format sarif`,
//! and `check`'s tagroute verdict against loading (`route`).

use serde_json::{Value, json};
use std::path::Path;
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
            "check: 1 file, 0 errors, 0 warnings\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"
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
        "{path}:3:5: error: policy `north`: unknown filter `tgas`\n      tgas(north)\n      ^^^^\n  help: did you mean `tags`?\ncheck: 1 file, 1 error, 0 warnings\ntagroute: would not load {path}\nneo4j 2026.08 Enterprise Edition: would not start with {path}\n"
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
    let tail = format!(
        "check: 2 files, 3 errors, 1 warning\ntagroute: would not load {broken}\nneo4j 2026.08 Enterprise Edition: would not start with {broken}\n"
    );
    assert!(stderr.ends_with(&tail), "{run:?}");
}

#[test]
fn warnings_alone_exit_0() {
    let path = conf("warnings.conf", &format!("{POLICY}p=tags(a)->min(1)\n"));
    let run = check(&[&path]);
    let before = POLICY.len() + "p=tags(a)->".len();
    let expected = format!(
        "{path}:1:{}: warning: policy `p`: `min(1)` never changes the result\n  {POLICY}p=tags(a)->min(1)\n  {}^^^^^^\ncheck: 1 file, 0 errors, 1 warning\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n",
        before + 1,
        " ".repeat(before)
    );
    assert_eq!(outcome(&run), (0, expected.as_str()));
}

#[test]
fn an_invalid_user_defined_policy_is_an_error_for_check_only() {
    let text = "server.cluster.catchup.upstream_strategy=user-defined\n\
                server.cluster.catchup.user_defined_upstream_strategy=tags(north) -> halt()\n";
    let config = Config::parse(text, Path::new("neo4j.conf"), Strictness::Default)
        .expect("loading only warns");
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
        stderr.ends_with("check: 1 file, 1 error, 0 warnings\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"),
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
         tagroute: would load each of these files\nneo4j 2026.08 Enterprise Edition: would start with each of these files\n",
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
            "check: 2 files, 0 errors, 0 warnings\ntagroute: would load each of these files\nneo4j 2026.08 Enterprise Edition: would start with each of these files\n"
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
            "check: 1 file, 0 errors, 0 warnings\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"
        )
    );
    let expected = format!(
        "{path}:1:1: note: key `server.memory.heap.max_size` is not read\n{path}:3:1: note: key `server.bolt.enabled` is not read\ncheck: 1 file, 0 errors, 0 warnings\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"
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
            "check: 1 file, 0 errors, 0 warnings\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"
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
            "check: 1 file, 0 errors, 0 warnings\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"
        )
    );
    let other = conf("tags-other.conf", "initial.server.tags=north2\n");
    let run = check(&["--topology", &topology, "--server", "n1", &other]);
    let expected = format!(
        "{other}:1:1: warning: `initial.server.tags` gives `north2` but the topology gives server `n1` `north, north1`\n  initial.server.tags=north2\n  ^^^^^^^^^^^^^^^^^^^\ncheck: 1 file, 0 errors, 1 warning\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"
    );
    assert_eq!(outcome(&run), (0, expected.as_str()));
    let run = check(&["--topology", &topology, "--server", "x1", &same]);
    let expected = format!(
        "{topology}: error: the topology has no server `x1`\n  help: its servers are `n1`, `n2`, `s1`\ncheck: 1 file, 1 error, 0 warnings\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"
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
    // The OS's reason alone, on one line: no caret, no tally, no verdict; in every format.
    let expected =
        format!("error: cannot read {missing}: No such file or directory (os error 2)\n");
    for format in ["text", "json", "sarif"] {
        let run = check(&["--format", format, &missing]);
        assert_eq!(outcome(&run), (1, expected.as_str()), "{format}");
        let run = check(&["--format", format, &path, &missing]);
        assert_eq!(
            outcome(&run),
            (1, expected.as_str()),
            "{format}, second file"
        );
    }
    let run = check(&["--migrate", &missing]);
    assert_eq!(outcome(&run), (1, expected.as_str()), "--migrate");
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
                    "neo4j_starts_if": null,
                },
                {
                    "severity": "warning", "code": "unknown-strategy", "file": path, "line": 2,
                    "column": 42, "message": run.json()["diagnostics"][1]["message"],
                    "help": "did you mean `leader-only`?", "neo4j_refuses": false,
                    "neo4j_starts_if": null,
                },
            ],
            "errors": 1,
            "warnings": 1,
            "tagroute_loads": false,
            "tagroute_refuses": [path],
            "neo4j_version": "2026.08",
            "neo4j_edition": "Enterprise",
            "neo4j_would_start": false,
            "neo4j_refuses": [path],
            "neo4j_needs_plugins_for": [],
            "neo4j_needs_enterprise_migration_for": [],
            "verdicts": [
                format!("tagroute: would not load {path}"),
                format!("neo4j 2026.08 Enterprise Edition: would not start with {path}"),
            ],
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
            .ends_with("check: 1 file, 0 errors, 1 warning\ntagroute: would load this file\nneo4j 2026.08 Enterprise Edition: would start with this file\n"),
        "{run:?}"
    );
    let clean = conf("deny-clean.conf", &format!("{POLICY}p=tags(a)\n"));
    assert_eq!(check(&["--deny-warnings", &clean]).code, 0);
}

/// The two verdict lines of a text run: tagroute's and Neo4j's.
fn verdicts(run: &Run) -> (String, String) {
    let mut lines = run.stderr.lines().rev();
    let neo4j = lines.next().unwrap_or_default().to_owned();
    let tagroute = lines.next().unwrap_or_default().to_owned();
    (tagroute, neo4j)
}

/// The two cases: typos Neo4j 5 refuses (strict validation is on by default).
#[test]
fn typos_and_invalid_values_in_any_namespace_are_refused_with_did_you_mean() {
    let path = conf(
        "typos.conf",
        "server.memory.heap.max_sise=1g\ndbms.security.auth_enabeld=false\nserver.memory.pagecache.size=lots\ndb.checkpoint.interval.tx=0\n",
    );
    let run = check(&[&path]);
    assert_eq!(run.code, 1, "{run:?}");
    for expected in [
        "help: did you mean `server.memory.heap.max_size`?",
        "help: did you mean `dbms.security.auth_enabled`?",
        "`lots` is not a valid value of `server.memory.pagecache.size` (a byte size)",
        "`0` is not a valid value of `db.checkpoint.interval.tx` (an integer): below the minimum 1",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    let (tagroute, neo4j) = verdicts(&run);
    assert_eq!(tagroute, format!("tagroute: would not load {path}"));
    assert_eq!(
        neo4j,
        format!("neo4j 2026.08 Enterprise Edition: would not start with {path}")
    );
    // With strict validation off Neo4j logs unknown keys and starts; an invalid value still
    // stops it.
    let lenient = conf(
        "typos-lenient.conf",
        "server.config.strict_validation.enabled=false\nserver.memory.heap.max_sise=1g\n",
    );
    let run = check(&[&lenient]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(verdicts(&run).1.ends_with("would start with this file"));
}

/// A plugin's key: Neo4j starts only if the plugin is installed; the verdict says so.
#[test]
fn a_plugin_key_makes_the_verdict_conditional() {
    let path = conf("plugin.conf", "gds.enterprise.license_file=/licenses/gds\n");
    let run = check(&[&path]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        verdicts(&run).1,
        "neo4j 2026.08 Enterprise Edition: would start with this file if the plugins declaring `gds.enterprise.license_file` are installed (otherwise it would not start)"
    );
}

/// An Enterprise setting is unknown to Community Edition; a setting added after 5.26 is unknown
/// to 5.26.
#[test]
fn edition_and_version_choose_the_catalogue() {
    let path = conf("edition.conf", "initial.server.mode_constraint=NONE\n");
    assert_eq!(check(&[&path]).code, 0);
    let run = check(&["--edition", "community", &path]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("is an Enterprise Edition setting"),
        "{run:?}"
    );
    assert!(
        verdicts(&run)
            .1
            .starts_with("neo4j 2026.08 Community Edition: would not start")
    );
    let run = check(&["--neo4j-version", "5.26", &path]);
    assert!(
        verdicts(&run)
            .1
            .starts_with("neo4j 5.26 Enterprise Edition: would start"),
        "{run:?}"
    );
    let newer: Vec<&str> = tagroute::config::Neo4jVersion::newest()
        .catalogue()
        .settings()
        .iter()
        .map(|s| s.name)
        .filter(|name| !name.contains('<'))
        .filter(|name| {
            tagroute::config::Neo4jVersion::named("5.26")
                .is_some_and(|v| v.catalogue().get(name).is_none())
        })
        .collect();
    let key = newer.first().expect("2026.08 has settings 5.26 has not");
    let value = tagroute::config::Neo4jVersion::newest()
        .catalogue()
        .get(key)
        .map(|s| s.default)
        .unwrap_or("");
    let file = conf("newer.conf", &format!("{key}={value}\n"));
    let run = check(&["--neo4j-version", "5.26", &file]);
    assert!(
        verdicts(&run)
            .1
            .starts_with("neo4j 5.26 Enterprise Edition: would not start"),
        "{key}: {run:?}"
    );
    let run = check(&["--neo4j-version", "2025.01", &file]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("tagroute has the settings of Neo4j 5.26 and 2026.08"),
        "{run:?}"
    );
}

/// A 4.4 cluster member's keys, one of each kind. Neo4j 5's public migration renames or drops
/// most when it starts (warnings; Neo4j starts); `dbms.mode` only Enterprise Edition's own
/// migration, which is not public, could carry over (a condition of the verdict); tagroute
/// does not read its own keys by 4.x names (an error). `--migrate` prints the file migrated as
/// Neo4j 5's migration migrates it, and the migrated text is what is checked. Sources: the
/// renames and removals are Neo4j 5's public migrators' (data/neo4j-settings/migrations.tsv);
/// `dbms.mode` is a 4.4 setting (docs-operations, branch 4.4). tests/neo4j_confs.rs checks the
/// same on the stock 4.4 file.
#[test]
fn a_44_cluster_member_before_and_after_migrate() {
    let member = "dbms.mode=CORE\n\
        dbms.default_listen_address=0.0.0.0\n\
        dbms.connector.bolt.enabled=true\n\
        dbms.connector.bolt.listen_address=:7687\n\
        dbms.connector.http.type=HTTP\n\
        dbms.memory.heap.max_size=4g\n\
        dbms.memory.pagecache.size=2g\n\
        unsupported.dbms.ssl.system.ignore_dot_files=true\n\
        dbms.allow_upgrade=true\n\
        causal_clustering.load_balancing.config.server_policies.dc=groups(dc1)\n";
    let path = conf("member-44.conf", member);
    let run = check(&[&path]);
    assert_eq!(run.code, 1);
    for expected in [
        "`dbms.default_listen_address` is a Neo4j 4.4 name: Neo4j 2026.08 renames it to `server.default_listen_address` when it starts",
        "renames it to `server.bolt.listen_address`",
        "`unsupported.dbms.ssl.system.ignore_dot_files` is a Neo4j 4.4 name: Neo4j 2026.08 renames it to `internal.dbms.ssl.system.ignore_dot_files` when it starts",
        "`dbms.allow_upgrade` is a Neo4j 4.4 setting that Neo4j 2026.08 drops when it starts: it no longer has any effect",
        "warning: `dbms.mode` is a Neo4j 4.4 setting that Neo4j 2026.08 does not have and that Neo4j 5's public migration does not carry over",
        "error: `causal_clustering.load_balancing.config.server_policies.dc` is a Neo4j 4.x key, which tagroute does not read",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    assert_eq!(
        verdicts(&run),
        (
            format!("tagroute: would not load {path}"),
            "neo4j 2026.08 Enterprise Edition: would start with this file if Enterprise Edition's own 4.4 migration, which is not public, carries over `causal_clustering.load_balancing.config.server_policies.dc`, `dbms.mode` (otherwise it would not start)".to_owned()
        )
    );
    let run = check(&["--migrate", &path]);
    assert_eq!(
        run.stdout,
        "dbms.mode=CORE\n\
         server.default_listen_address=0.0.0.0\n\
         server.bolt.enabled=true\n\
         server.bolt.listen_address=:7687\n\
         # removed in Neo4j 5 (it no longer has any effect): dbms.connector.http.type=HTTP\n\
         server.memory.heap.max_size=4g\n\
         server.memory.pagecache.size=2g\n\
         internal.dbms.ssl.system.ignore_dot_files=true\n\
         # removed in Neo4j 5 (it no longer has any effect): dbms.allow_upgrade=true\n\
         dbms.routing.load_balancing.config.server_policies.dc=groups(dc1)\n"
    );
    // What remains is what no public migration does: `dbms.mode`.
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        verdicts(&run)
            .1
            .ends_with("carries over `dbms.mode` (otherwise it would not start)")
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("kept"),
        member,
        "never edited"
    );
}

/// A file setting every setting of each catalogue to its documented default (group settings
/// for one scope or provider): Neo4j starts with its own defaults, so `check` must pass it.
#[test]
fn every_default_of_the_catalogue_passes_as_a_file() {
    for version in tagroute::config::Neo4jVersion::all() {
        let mut text = String::new();
        for setting in version.catalogue().settings() {
            let name = setting
                .name
                .replace("<scope>", "bolt")
                .replace("<provider>", "okta");
            if !setting.default.is_empty() {
                text.push_str(&format!("{name}={}\n", setting.default));
            }
        }
        let path = conf(&format!("defaults-{}.conf", version.name()), &text);
        let run = check(&["--neo4j-version", version.name(), &path]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            verdicts(&run).1.ends_with("would start with this file"),
            "{}",
            run.stderr
        );
    }
}

fn loads_for_route(text: &str, topology: &str) -> bool {
    let Ok(config) = Config::parse(text, Path::new("p.conf"), Strictness::Default) else {
        return false;
    };
    let spec = tagroute::topology::from_json(&std::fs::read_to_string(topology).expect("topology"))
        .expect("valid topology");
    let snapshot =
        tagroute::topology::Snapshot::build(&spec, &tagroute::topology::TagInterner::new())
            .expect("builds");
    let topology = std::sync::Arc::new(tagroute::topology::Topology::from_snapshot(snapshot));
    tagroute::routing::RoutingService::new(topology, &config).is_ok()
}

/// Issue 22's two cases: 5,000 one-tag policies, and a filter of 65,536 tags. `check` and
/// `route` agree, and the two verdict lines never contradict each other.
#[test]
fn check_refuses_what_route_refuses() {
    let many: String = (0..5_000)
        .map(|i| format!("{POLICY}p{i}=tags(t{i}); halt()\n"))
        .collect();
    let tags: Vec<String> = (0..65_536).map(|i| format!("t{i}")).collect();
    let wide = format!("{POLICY}big=tags({})\n", tags.join(","));
    let routable = format!("{POLICY}north=tags(north); halt()\n");
    let topology = temp_file(
        "check-routable.json",
        &json!({
            "servers": [
                {"name": "n1", "address": "n1:7687", "tags": ["north"]},
                {"name": "s1", "address": "s1:7687", "tags": ["south"]},
            ],
            "databases": [{"name": "neo4j", "primaries": ["n1", "s1"], "leader": "n1"}],
        })
        .to_string(),
    );
    let topology = topology.to_str().expect("utf-8");
    for (name, text) in [
        ("many.conf", many),
        ("wide.conf", wide),
        ("routable.conf", routable),
    ] {
        let path = conf(name, &text);
        let checked = check(&[&path]);
        let routed = tagroute(
            &[
                "route",
                "--config",
                &path,
                "--topology",
                topology,
                "--db",
                "neo4j",
            ],
            "",
        );
        assert_eq!(
            checked.code == 0,
            routed.code == 0,
            "{name}: {checked:?} {routed:?}"
        );
        // `route` refuses the configuration, not the topology: only the 65,536-tag filter (the
        // 5,000 policies load since new tags per change have no cap).
        assert_eq!(routed.code == 0, name != "wide.conf", "{name}: {routed:?}");
        assert!(
            routed.code == 0
                || routed
                    .stderr
                    .contains("a filter names more than 65535 tags"),
            "{routed:?}"
        );
        let loads = loads_for_route(&text, topology);
        assert_eq!(checked.code == 0, loads, "{name}");
        let (tagroute_line, neo4j) = verdicts(&checked);
        assert_eq!(
            tagroute_line.ends_with("would load this file"),
            loads,
            "{name}"
        );
        // Neo4j starts with both; no line says otherwise.
        assert!(
            neo4j.ends_with("would start with this file"),
            "{name}: {neo4j}"
        );
        assert!(!checked.stderr.contains("would not start"), "{name}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 48,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x2232),
        ..Default::default()
    })]

    /// Configurations mixing policies of many tags (crossing what one generation may add),
    /// valid and invalid keys and values: `check`'s tagroute verdict is whether loading and
    /// building the routing service succeed, and Neo4j's is "no unknown key and no invalid
    /// value".
    #[test]
    fn checks_verdict_is_loadings(
        policies in proptest::collection::vec((0usize..2_500, 1usize..3_000), 0..5),
        lines in proptest::collection::vec(0usize..LINES.len(), 0..8),
    ) {
        let mut text = String::new();
        for (i, (from, count)) in policies.iter().enumerate() {
            let tags: Vec<String> = (*from..from + count).map(|t| format!("t{t}")).collect();
            text.push_str(&format!("{POLICY}p{i}=tags({})\n", tags.join(",")));
        }
        let mut neo4j_refuses = false;
        let mut used = std::collections::BTreeSet::new();
        for line in lines.into_iter().filter(|l| used.insert(*l)) {
            let (property, refuses) = LINES[line];
            text.push_str(property);
            text.push('\n');
            neo4j_refuses |= refuses;
        }
        let report = tagroute::config::check(
            &[Config::parse(&text, Path::new("p.conf"), Strictness::Default)],
            None,
            None,
        );
        let topology = topology();
        proptest::prop_assert_eq!(report.tagroute_loads(0), loads_for_route(&text, &topology));
        proptest::prop_assert_eq!(report.stops_neo4j(0), neo4j_refuses);
    }
}

/// Lines of a file, and whether Neo4j refuses to start with each: valid values, invalid values
/// of several types, typos.
const LINES: &[(&str, bool)] = &[
    ("server.memory.heap.max_size=4g", false),
    ("server.memory.heap.initial_size=4 gigs", true),
    ("dbms.security.auth_enabled=false", false),
    ("dbms.security.auth_enabled_x=false", true),
    ("db.checkpoint.interval.tx=0", true),
    ("db.checkpoint.interval.time=15m", false),
    ("server.bolt.listen_address=:99999", true),
    ("server.http.listen_address=:7474", false),
    ("db.checkpoint=SOMETIMES", true),
    ("db.checkpoint.iops.limit=600", false),
    ("dbms.ssl.policy.bolt.enabled=yes", true),
    ("dbms.ssl.policy.https.enabled=TRUE", false),
    ("dbms.security.oidc.okta.display_name=Okta", false),
    ("server.memory.heap.max_sise=1g", true),
];

/// `--format sarif` places each diagnostic on its line and column.
#[test]
fn sarif_places_each_diagnostic_on_its_line() {
    let run = sarif_run();
    assert_eq!(run.code, 1);
    let log = run.json();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().expect("results");
    let places: Vec<(&str, i64, i64)> = results
        .iter()
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            (
                r["ruleId"].as_str().unwrap_or(""),
                region["startLine"].as_i64().unwrap_or(0),
                region["startColumn"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(places, [("unknown-key", 2, 1), ("ttl-too-short", 3, 18)]);
}

fn sarif_run() -> Run {
    let path = conf(
        "sarif.conf",
        "# x\nserver.memory.heap.max_sise=1g\ndbms.routing_ttl=0\n",
    );
    check(&["--format", "sarif", &path])
}

/// `--format sarif` is a SARIF 2.1.0 log valid against the official schema (vendored in
/// tests/data/sarif/ with its source), checked by Python's `jsonschema`: the Python of
/// `TAGROUTE_SARIF_PYTHON` (`.ci/run` installs jsonschema pinned in a virtual environment and
/// sets it), else `python3`. Without one that imports jsonschema, `build.rs` sets
/// `cfg(tagroute_no_jsonschema)` and the test is reported as ignored, with the reason.
#[test]
#[cfg_attr(
    tagroute_no_jsonschema,
    ignore = "needs Python's jsonschema: TAGROUTE_SARIF_PYTHON was unset and python3 could not \
              import jsonschema when the tests were built (pip install jsonschema)"
)]
fn sarif_is_valid_sarif_2_1_0() {
    let run = sarif_run();
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif/sarif-schema-2.1.0.json");
    let python = std::env::var("TAGROUTE_SARIF_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let log_file = temp_file("check-sarif.json", &run.stdout);
    let script = "import json,sys,jsonschema\nschema=json.load(open(sys.argv[1]))\nlog=json.load(open(sys.argv[2]))\njsonschema.validators.validator_for(schema)(schema).validate(log)\nprint('valid')";
    let validate = |log: &Path| {
        std::process::Command::new(&python)
            .args(["-c", script])
            .arg(&schema)
            .arg(log)
            .output()
            .expect("python runs")
    };
    let out = validate(&log_file);
    assert!(
        out.status.success(),
        "{python}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The validator itself rejects what the schema forbids, so the check above can fail.
    let broken = temp_file(
        "check-sarif-broken.json",
        &run.stdout.replacen("\"2.1.0\"", "\"2.0\"", 1),
    );
    assert!(!validate(&broken).status.success());
}
