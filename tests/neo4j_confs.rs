//! Neo4j's own neo4j.conf files through `check`, `route` and loading: the stock Neo4j 5 file as
//! shipped and with its examples uncommented, the stock 4.4 file and a 4.4 core member built
//! from it before and after `--migrate`, a Neo4j 5 primary, and an operator's plugin keys and
//! strict validation off. Each verdict is explained where it is asserted, with its source;
//! tests/data/neo4j-conf/README.md says where each file comes from.

use serde_json::Value;
use tagroute::Strictness;
use tagroute::config::{Config, ConfigDiagnosticKind, Neo4jCondition};

use crate::cli::{Run, tagroute, temp_file};

/// A file of tests/data/neo4j-conf/, as stored.
fn stock(name: &str) -> String {
    let path = format!(
        "{}/tests/data/neo4j-conf/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).expect("a stored neo4j.conf")
}

/// `text` with its examples uncommented: every line that is a setting behind `#` or `# `
/// (`#server.bolt.listen_address=:7687`). The indented keys of prose (`#   dbms.ssl.policy...`
/// in the SSL section's explanation) stay comments. Line ends are kept.
fn uncommented(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let body = line.strip_prefix("# ").or_else(|| line.strip_prefix('#'));
            match body {
                Some(setting) if is_setting_line(setting) => setting,
                _ => line,
            }
        })
        .collect()
}

fn is_setting_line(line: &str) -> bool {
    let key = line.split('=').next().unwrap_or_default();
    line.contains('=')
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// One diagnostic of `check --format json`: severity, code, line, message.
#[derive(Debug)]
struct Diagnostic {
    severity: String,
    code: String,
    line: u64,
    message: String,
}

/// `check --format json` on `text`, with `args`: its exit status, diagnostics and two verdicts.
struct Checked {
    code: i32,
    diagnostics: Vec<Diagnostic>,
    verdicts: (String, String),
}

impl Checked {
    fn run(name: &str, text: &str, args: &[&str]) -> Checked {
        let path = temp_file(&format!("neo4j-confs-{name}"), text);
        let path = path.to_str().expect("utf-8");
        let mut all = vec!["check", "--format", "json"];
        all.extend_from_slice(args);
        all.push(path);
        let run = tagroute(&all, "");
        let json: Value = serde_json::from_str(&run.stdout).expect("json");
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let diagnostics = json["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|d| Diagnostic {
                severity: text(&d["severity"]),
                code: text(&d["code"]),
                line: d["line"].as_u64().unwrap_or(0),
                message: text(&d["message"]),
            })
            .collect();
        let verdicts = (text(&json["verdicts"][0]), text(&json["verdicts"][1]));
        Checked {
            code: run.code,
            diagnostics,
            verdicts,
        }
    }

    /// [`Checked::run`] for Neo4j 5.26 Community Edition.
    fn community(name: &str, text: &str) -> Checked {
        Checked::run(
            name,
            text,
            &["--neo4j-version", "5.26", "--edition", "community"],
        )
    }

    /// (line, code) of every diagnostic of `severity`.
    fn of(&self, severity: &str) -> Vec<(u64, &str)> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .map(|d| (d.line, d.code.as_str()))
            .collect()
    }

    fn message(&self, line: u64) -> &str {
        self.diagnostics
            .iter()
            .find(|d| d.line == line)
            .map_or("", |d| d.message.as_str())
    }
}

const TARGETS: [(&str, &str); 4] = [
    ("5.26", "community"),
    ("5.26", "enterprise"),
    ("2026.08", "community"),
    ("2026.08", "enterprise"),
];

/// The stock 5.6.0 file: Neo4j 5.6.0 starts with the file it ships, and every key it sets
/// (`server.directories.import`, `server.{bolt,http,https}.enabled`, `server.jvm.additional`
/// given 17 times, which Neo4j lets repeat, `server.windows_service_name`) is a setting of
/// 5.26 and 2026.08 in both editions (their settings references list each). Its CRLF line ends
/// are line ends to Java's `Properties`, as to tagroute.
#[test]
fn the_stock_5_file_starts_every_version_and_edition() {
    let text = stock("5.6.0-community-stock.conf");
    assert!(text.contains("\r\n"));
    for (version, edition) in TARGETS {
        let args = ["--neo4j-version", version, "--edition", edition];
        let checked = Checked::run("stock-5.conf", &text, &args);
        assert_eq!(
            checked.code, 0,
            "{version} {edition}: {:?}",
            checked.diagnostics
        );
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        assert_eq!(checked.verdicts.0, "tagroute: would load this file");
        assert!(
            checked.verdicts.1.ends_with("would start with this file"),
            "{version} {edition}: {}",
            checked.verdicts.1
        );
    }
}

/// The stock 5.6.0 file with its 62 examples uncommented, as an operator would enable them.
/// Sources: the 5.26 and 2026.08 settings references (data/neo4j-settings/), Neo4j 5's public
/// migrators (migrations.tsv), the 2025.01 breaking changes (docs-operations, branch dev).
#[test]
fn the_stock_5_file_with_its_examples_uncommented() {
    let text = uncommented(&stock("5.6.0-community-stock.conf"));
    let enabled = text.lines().filter(|l| is_setting_line(l)).count();
    assert_eq!(
        enabled,
        5 + 17 + 62,
        "5 settings, 17 JVM options, 62 examples"
    );
    // Line 103, `server.threads.worker_count=`: the example has no value (the operator is to
    // give one); Neo4j parses the empty string as an integer and refuses to start.
    // Line 60, `db.tx_state.memory_allocation=ON_HEAP`: a 5.x setting, deprecated since 5.8.
    // Line 229, `dbms.databases.default_to_read_only=false`: the 5.6.0 file still shows the
    // 4.4 name; Neo4j 5's migration renames it to `server.databases.default_to_read_only`
    // when it starts (`Neo4j5_0SettingMigrator.migrateReadOnlySettings`).
    let lts = Checked::run("examples-5.conf", &text, &["--neo4j-version", "5.26"]);
    assert_eq!(lts.of("error"), [(103, "invalid-value")]);
    assert!(lts.message(103).starts_with(
        "the empty value is not a valid value of `server.threads.worker_count` (an integer)"
    ));
    assert_eq!(
        lts.of("warning"),
        [(60, "deprecated-key"), (229, "migrated-key")]
    );
    assert_eq!(
        lts.verdicts.1,
        format!(
            "neo4j 5.26 Enterprise Edition: would not start with {}",
            path_of(&lts)
        )
    );
    // 2026.08 also refuses `db.tx_state.memory_allocation`: 2025.01 removed it "without
    // replacement" (breaking-changes.adoc), and its settings reference no longer lists it.
    let newest = Checked::run("examples-5.conf", &text, &[]);
    assert_eq!(
        newest.of("error"),
        [(60, "unknown-key"), (103, "invalid-value")]
    );
    assert!(
        newest
            .message(60)
            .contains("is a setting of Neo4j 5.26 that Neo4j 2026.08 does not have")
    );
    assert_eq!(newest.of("warning"), [(229, "migrated-key")]);
    // Give the example its value and 5.26 starts; tagroute loads it (any version it knows).
    let filled = text.replace(
        "server.threads.worker_count=\r",
        "server.threads.worker_count=8\r",
    );
    let lts = Checked::run(
        "examples-5-filled.conf",
        &filled,
        &["--neo4j-version", "5.26"],
    );
    assert_eq!(lts.code, 0);
    assert_eq!(lts.verdicts.0, "tagroute: would load this file");
    assert!(
        lts.verdicts.1.ends_with("would start with this file"),
        "{}",
        lts.verdicts.1
    );
}

/// The file a `check --format json` run checked, as the verdicts name it.
fn path_of(checked: &Checked) -> String {
    let verdict = &checked.verdicts.1;
    verdict
        .rsplit_once(" with ")
        .map(|(_, path)| path.to_owned())
        .unwrap_or_default()
}

/// The stock 4.4 file under Neo4j 5: every key it sets is a 4.4 name that Neo4j 5's public
/// migration renames when it starts (`Neo4j5_0SettingMigrator`), so Neo4j 5.26 starts with it,
/// logging a warning per key. 2026.08 refuses one of them: `dbms.tx_state.memory_allocation`
/// becomes `db.tx_state.memory_allocation`, which 2025.01 removed.
#[test]
fn the_stock_4_4_file_starts_neo4j_5_26_through_its_migration() {
    let text = stock("4.4-community-stock.conf");
    let lts = Checked::run("stock-44.conf", &text, &["--neo4j-version", "5.26"]);
    assert_eq!(lts.code, 0, "{:?}", lts.diagnostics);
    let warnings = lts.of("warning");
    // 23 keys, each renamed; `db.tx_state.memory_allocation`, the name of line 63's key,
    // is deprecated since 5.8.
    assert_eq!(warnings.len(), 24, "{warnings:?}");
    let migrated = warnings
        .iter()
        .filter(|(_, code)| *code == "migrated-key")
        .count();
    assert_eq!(migrated, 23);
    assert!(warnings.contains(&(63, "deprecated-key")));
    assert!(lts.verdicts.1.ends_with("would start with this file"));
    let newest = Checked::run("stock-44.conf", &text, &[]);
    assert_eq!(newest.of("error"), [(63, "unknown-key")]);
    assert!(newest.message(63).contains(
        "`dbms.tx_state.memory_allocation` is renamed to `db.tx_state.memory_allocation`, which Neo4j 2026.08 does not have"
    ));
    // With its examples uncommented it still starts 5.26: the examples are 4.4 names the
    // public migrators rename (`dbms.threads.worker_count` by `ServerSettingsMigrator`, whose
    // empty example value it drops), or settings they remove (`dbms.logs.debug.level`, ...).
    let examples = uncommented(&text);
    let lts = Checked::run("examples-44.conf", &examples, &["--neo4j-version", "5.26"]);
    assert_eq!(lts.code, 0, "{:?}", lts.diagnostics);
    assert!(
        lts.verdicts.1.ends_with("would start with this file"),
        "{}",
        lts.verdicts.1
    );
    assert!(
        lts.message(106)
            .ends_with("`dbms.threads.worker_count` is a Neo4j 4.4 name of `server.threads.worker_count` without a value: Neo4j 5.26 drops it when it starts")
    );
}

/// The lines `neo4j-admin server migrate-configuration` printed for a 4.4.10 file (Operations
/// Manual, tools/neo4j-admin/migrate-configuration.adoc, branch 5.x), for the keys the stock
/// Community file sets. One is left out: `-XX:-UseBiasedLocking`, which that 5.1 output kept
/// and Neo4j 5's migration now takes out (`migrateJvmAdditional`).
const DOCUMENTED_MIGRATION: &[&str] = &[
    "server.directories.import=import",
    "db.tx_state.memory_allocation=ON_HEAP",
    "server.bolt.enabled=true",
    "server.http.enabled=true",
    "server.https.enabled=false",
    "server.jvm.additional=-XX:+UseG1GC",
    "server.jvm.additional=-XX:-OmitStackTraceInFastThrow",
    "server.jvm.additional=-XX:+AlwaysPreTouch",
    "server.jvm.additional=-XX:+UnlockExperimentalVMOptions",
    "server.jvm.additional=-XX:+TrustFinalNonStaticFields",
    "server.jvm.additional=-XX:+DisableExplicitGC",
    "server.jvm.additional=-XX:MaxInlineLevel=15",
    "server.jvm.additional=-Djdk.nio.maxCachedBufferSize=262144",
    "server.jvm.additional=-Dio.netty.tryReflectionSetAccessible=true",
    "server.jvm.additional=-Djdk.tls.ephemeralDHKeySize=2048",
    "server.jvm.additional=-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "server.jvm.additional=-XX:FlightRecorderOptions=stackdepth=256",
    "server.jvm.additional=-XX:+UnlockDiagnosticVMOptions",
    "server.jvm.additional=-XX:+DebugNonSafepoints",
    "server.jvm.additional=-Dlog4j2.disable.jmx=true",
    "server.windows_service_name=neo4j",
];

/// The lines the Operations Manual (4.4) has core01 of a three-core cluster set
/// (clustering/deploy.adoc), with the multi-data-center routing of
/// clustering-advanced/multi-data-center/{configuration,load-balancing}.adoc.
const CORE01: &str = "\n# core01 (Operations Manual 4.4, Deploy a cluster)\n\
dbms.default_listen_address=0.0.0.0\n\
dbms.default_advertised_address=core01.example.com\n\
dbms.mode=CORE\n\
causal_clustering.initial_discovery_members=core01.example.com:5000,core02.example.com:5000,core03.example.com:5000\n\
causal_clustering.server_groups=north1\n\
causal_clustering.cluster_allow_reads_on_followers=true\n\
causal_clustering.load_balancing.plugin=server_policies\n\
causal_clustering.load_balancing.config.server_policies.north1_only=\\\n\
groups(north1)->min(2); halt();\n";

/// A 4.4 core member: the stock 4.4 file with core01's lines. Before `--migrate`, tagroute
/// does not load it (it never reads its own keys by their 4.x names, so the policy would be
/// lost); Neo4j 5 Enterprise Edition starts with it only if its own 4.4 migration, which is not
/// public, carries over `dbms.mode`, `causal_clustering.*` (the public one does not: Community
/// Edition refuses them). `--migrate` renames what the public migration renames and what
/// tagroute knows the Neo4j 5 names of (its own keys); `dbms.mode` and the discovery members
/// stay, so the verdict stays conditional. The file is never edited.
#[test]
fn a_4_4_core_member_before_and_after_migrate() {
    let member = format!("{}{CORE01}", stock("4.4-community-stock.conf"));
    let lts = ["--neo4j-version", "5.26"];
    let before = Checked::run("core01-44.conf", &member, &lts);
    let errors: Vec<u64> = before.of("error").iter().map(|(line, _)| *line).collect();
    assert_eq!(
        errors,
        [365, 366, 367, 368],
        "the keys tagroute reads, by 4.4 names"
    );
    assert_eq!(
        before.verdicts.0,
        format!("tagroute: would not load {}", path_of_tagroute(&before))
    );
    assert_eq!(
        before.verdicts.1,
        "neo4j 5.26 Enterprise Edition: would start with this file if Enterprise Edition's own 4.4 migration, which is not public, carries over `causal_clustering.cluster_allow_reads_on_followers`, `causal_clustering.initial_discovery_members`, `causal_clustering.load_balancing.config.server_policies.north1_only`, `causal_clustering.load_balancing.plugin`, `causal_clustering.server_groups`, `dbms.mode` (otherwise it would not start)"
    );
    let community = Checked::community("core01-44.conf", &member);
    assert!(
        community
            .verdicts
            .1
            .starts_with("neo4j 5.26 Community Edition: would not start")
    );

    let path = temp_file("neo4j-confs-core01-migrate.conf", &member);
    let path = path.to_str().expect("utf-8");
    let run = tagroute(&["check", "--migrate", "--neo4j-version", "5.26", path], "");
    for line in DOCUMENTED_MIGRATION {
        assert!(
            run.stdout.lines().any(|l| l == *line),
            "{line}\n{}",
            run.stdout
        );
    }
    for line in [
        "# removed by Neo4j 5's migration (a JVM option of Neo4j 4.x's default file): dbms.jvm.additional=-XX:-UseBiasedLocking",
        "server.default_listen_address=0.0.0.0",
        "server.default_advertised_address=core01.example.com",
        "dbms.mode=CORE",
        "causal_clustering.initial_discovery_members=core01.example.com:5000,core02.example.com:5000,core03.example.com:5000",
        "initial.server.tags=north1",
        "dbms.routing.reads_on_primaries_enabled=true",
        "dbms.routing.load_balancing.plugin=server_policies",
        "dbms.routing.load_balancing.config.server_policies.north1_only=\\",
        "groups(north1)->min(2); halt();",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == line),
            "{line}\n{}",
            run.stdout
        );
    }
    assert!(
        !run.stdout
            .lines()
            .any(|l| l.starts_with("dbms.connector.") || l.starts_with("dbms.jvm."))
    );
    // After the migration tagroute loads it (`groups()` is the deprecated spelling of `tags()`,
    // a warning); Neo4j's verdict still depends on the two keys no public migration renames.
    let (tagroute_verdict, neo4j) = two_last_lines(&run);
    assert_eq!(tagroute_verdict, "tagroute: would load this file");
    assert_eq!(
        neo4j,
        "neo4j 5.26 Enterprise Edition: would start with this file if Enterprise Edition's own 4.4 migration, which is not public, carries over `causal_clustering.initial_discovery_members`, `dbms.mode` (otherwise it would not start)"
    );
    assert_eq!(
        std::fs::read_to_string(path).expect("kept"),
        member,
        "never edited"
    );
}

fn path_of_tagroute(checked: &Checked) -> String {
    checked
        .verdicts
        .0
        .rsplit_once(" load ")
        .map(|(_, path)| path.to_owned())
        .unwrap_or_default()
}

fn two_last_lines(run: &Run) -> (String, String) {
    let mut lines = run.stderr.lines().rev();
    let neo4j = lines.next().unwrap_or_default().to_owned();
    (lines.next().unwrap_or_default().to_owned(), neo4j)
}

/// The lines the Operations Manual (5.x) has server01 of a three-server cluster set
/// (clustering/setup/deploy.adoc, discovery service v2), with the multi-data-center routing of
/// clustering/multi-region-deployment/multi-data-center-routing.adoc.
const SERVER01: &str = "\r\n# server01 (Operations Manual 5.x, Deploy a basic cluster)\r\n\
server.default_listen_address=0.0.0.0\r\n\
server.default_advertised_address=server01.example.com\r\n\
dbms.cluster.discovery.v2.endpoints=server01.example.com:6000,server02.example.com:6000,server03.example.com:6000\r\n\
dbms.cluster.discovery.version=V2_ONLY\r\n\
initial.dbms.default_primaries_count=3\r\n\
initial.server.tags=north1\r\n\
dbms.routing.reads_on_primaries_enabled=true\r\n\
dbms.routing.load_balancing.plugin=server_policies\r\n\
dbms.routing.load_balancing.config.server_policies.north1_only=\\\r\n\
tags(north1)->min(2); halt();\r\n";

/// A Neo4j 5 primary: the stock 5.6.0 file with server01's lines. 5.26 Enterprise starts with
/// it (`dbms.cluster.discovery.version` is deprecated since 5.26) and tagroute serves its
/// policy. Community Edition has none of the cluster settings. 2026.08
/// renames `dbms.cluster.discovery.v2.endpoints` (2025.01 renamed it to
/// `dbms.cluster.endpoints` and still accepts the old name) and refuses
/// `dbms.cluster.discovery.version`, which 2025.01 removed (breaking-changes.adoc).
#[test]
fn a_5_primary_with_routing_policies() {
    let member = format!("{}{SERVER01}", stock("5.6.0-community-stock.conf"));
    let lts = Checked::run("server01.conf", &member, &["--neo4j-version", "5.26"]);
    assert_eq!(lts.code, 0, "{:?}", lts.diagnostics);
    assert_eq!(lts.of("warning"), [(346, "deprecated-key")]);
    assert_eq!(lts.verdicts.0, "tagroute: would load this file");
    assert_eq!(
        lts.verdicts.1,
        "neo4j 5.26 Enterprise Edition: would start with this file"
    );
    let community = Checked::community("server01.conf", &member);
    let other_edition: Vec<u64> = community.of("error").iter().map(|(l, _)| *l).collect();
    // The three cluster settings, and the four routing keys tagroute reads (Enterprise
    // settings: the settings reference labels them so; the policies are the server policies
    // plugin's, an Enterprise feature).
    assert_eq!(
        other_edition,
        [345, 346, 347, 348, 349, 350, 351],
        "{:?}",
        community.diagnostics
    );
    assert!(
        community
            .diagnostics
            .iter()
            .all(|d| d.code == "other-edition" || d.severity == "warning")
    );
    let newest = Checked::run("server01.conf", &member, &[]);
    assert_eq!(newest.of("error"), [(346, "unknown-key")]);
    assert_eq!(newest.of("warning"), [(345, "migrated-key")]);
    assert!(newest.message(345).ends_with(
        "is a Neo4j 5.26 name: Neo4j 2026.08 renames it to `dbms.cluster.endpoints` when it starts"
    ));
    assert_eq!(newest.verdicts.0, "tagroute: would load this file");
    assert!(newest.verdicts.1.contains("would not start"));
}

/// What tagroute assumes of plugins: a plugin's namespace (`gds.*`, `dbms.bloom.*`) is declared
/// only when the plugin is installed, which a file cannot tell. `route` and `serve` (both read
/// a file with [`Config::load`]) load it, trusting the operator installed the plugins the file
/// configures; `check` makes Neo4j's verdict conditional on them. `dbms.security.procedures.*`
/// are Neo4j's own settings (whatever plugin they name); `apoc.*` is not a Neo4j 5 setting in
/// neo4j.conf (APOC 5 reads apoc.conf), so with strict validation on Neo4j refuses it, and so
/// do `route` and `serve`. With strict validation off Neo4j logs every unknown key and starts,
/// plugins or not: so do they, and `check`'s verdict has no condition.
#[test]
fn plugin_keys_and_strict_validation_off_load_in_route_and_serve() {
    let policy = "dbms.routing.load_balancing.config.server_policies.north=tags(north)\n";
    let plugins = format!(
        "{policy}gds.enterprise.license_file=/licenses/gds.license\n\
         dbms.bloom.license_file=/licenses/bloom.license\n\
         dbms.security.procedures.unrestricted=gds.*,apoc.*,bloom.*\n\
         dbms.security.procedures.allowlist=apoc.coll.*,apoc.load.*,gds.*\n"
    );
    let apoc = format!("{policy}apoc.export.file.enabled=true\n");
    let lenient = format!(
        "server.config.strict_validation.enabled=false\n{apoc}\
         gds.enterprise.license_file=/licenses/gds.license\nserver.memory.heap.max_sise=1g\n"
    );
    for (name, text, loads, verdict) in [
        (
            "plugins.conf",
            &plugins,
            true,
            "would start with this file if the plugins declaring `dbms.bloom.license_file`, `gds.enterprise.license_file` are installed (otherwise it would not start)",
        ),
        ("apoc.conf", &apoc, false, "would not start with"),
        ("lenient.conf", &lenient, true, "would start with this file"),
    ] {
        let path = temp_file(&format!("neo4j-confs-{name}"), text);
        let loaded = Config::load(&path, Strictness::Default);
        assert_eq!(loaded.is_ok(), loads, "{name}: {loaded:?}");
        let routed = tagroute(
            &[
                "route",
                "--config",
                path.to_str().expect("utf-8"),
                "--topology",
                &topology(),
                "--db",
                "neo4j",
            ],
            "",
        );
        assert_eq!(routed.code == 0, loads, "{name}: {routed:?}");
        let checked = Checked::run(name, text, &[]);
        assert!(
            checked.verdicts.1.contains(verdict),
            "{name}: {}",
            checked.verdicts.1
        );
    }
    let config = Config::load(
        &temp_file("neo4j-confs-plugins.conf", &plugins),
        Strictness::Default,
    )
    .expect("loads");
    let conditions: Vec<Option<Neo4jCondition>> = config
        .warnings()
        .iter()
        .filter(|w| w.kind == ConfigDiagnosticKind::PluginKey)
        .map(|w| w.neo4j_condition)
        .collect();
    assert_eq!(conditions, [Some(Neo4jCondition::Plugin); 2]);
    let lenient = Config::load(
        &temp_file("neo4j-confs-lenient.conf", &lenient),
        Strictness::Default,
    )
    .expect("loads");
    assert!(
        lenient
            .warnings()
            .iter()
            .all(|w| w.neo4j_condition.is_none() && !w.stops_neo4j)
    );
}

fn topology() -> String {
    let json = r#"{"servers":[{"name":"n1","address":"n1:7687","tags":["north"]}],
        "databases":[{"name":"neo4j","primaries":["n1"],"leader":"n1"}]}"#;
    temp_file("neo4j-confs-topology.json", json)
        .to_str()
        .expect("utf-8")
        .to_owned()
}
