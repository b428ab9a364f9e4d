//! `serve --follow` against the in-process stub cluster ([`super::stub`]): the cluster's changes
//! published as differences, killed servers taken out by the health checks, and an unreachable
//! cluster served from the last good poll with `/healthz` degraded.
//!
//! Every wait polls until the outcome is seen and gives up after [`BOUND`]: a bound on a test
//! that must stop by itself, not a timing claim (the figures are measured apart).

use std::collections::BTreeSet;
use std::time::Duration;

use tagroute::follow::{Credentials, FollowSettings, Follower};
use tagroute::serve::health::HealthChecks;
use tagroute::serve::{Settings, TopologySource};

use super::client::*;
use super::stub::{Cluster, Database};

const INTERVAL: Duration = Duration::from_millis(100);
const BOUND: Duration = Duration::from_secs(20);

/// Follows `cluster` every [`INTERVAL`], health checks every [`INTERVAL`] when `health`.
async fn follow(name: &str, cluster: &Cluster, health: bool) -> Running {
    let config = scratch(name).join("neo4j.conf");
    std::fs::write(
        &config,
        "dbms.routing.load_balancing.config.server_policies.default=all()\n",
    )
    .expect("writes");
    let seeds = cluster.uri().parse().expect("a seed URI");
    let cluster = FollowSettings::new(seeds, None)
        .expect("plain Bolt")
        .with_credentials(Credentials::new("neo4j", "pw"))
        .with_timeout(Duration::from_secs(2));
    let mut settings = Settings::following(config, cluster.clone());
    settings.topology = TopologySource::Follow {
        cluster,
        interval: INTERVAL,
    };
    settings.health = health.then(|| HealthChecks::every(INTERVAL));
    settings.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    settings.admin = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    settings.watch_interval = None;
    start(settings).await
}

/// `check` until it gives `Some`, within [`BOUND`].
async fn until<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not seen within {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn table(server: &Running, db: Option<&str>) -> Table {
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    client.route(None, db).await.expect("a table")
}

async fn metrics(server: &Running) -> String {
    http(server.admin, "GET", "/metrics", "").await.1
}

async fn epoch(server: &Running) -> u64 {
    let (_, body) = http(server.admin, "GET", "/topology", "").await;
    let view: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    view["epoch"].as_u64().expect("an epoch")
}

fn set(addresses: &[String]) -> BTreeSet<String> {
    addresses.iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_imports_only_when_a_column_the_import_reads_changed() {
    let cluster = Cluster::start(3).await;
    let seeds = cluster.uri().parse().expect("a seed URI");
    let settings = FollowSettings::new(seeds, None)
        .expect("plain Bolt")
        .with_credentials(Credentials::new("neo4j", "pw"))
        .with_timeout(Duration::from_secs(2));
    let mut follower = Follower::new(settings);
    let first = follower.poll().await.expect("a poll").imported;
    // Every poll of the stub commits a transaction: `lastCommittedTxn` is new each time.
    for _ in 0..3 {
        let polled = follower.poll_change().await.expect("a poll");
        assert!(polled.is_none(), "only lastCommittedTxn changed");
    }
    let again = follower.poll().await.expect("a poll").imported;
    assert_eq!(again, first, "poll imports every time");

    cluster.move_leader("neo4j", 2);
    let moved = follower
        .poll_change()
        .await
        .expect("a poll")
        .expect("a change");
    let leader = moved.imported.spec.databases[0].leader.as_deref();
    assert_eq!(leader, Some("s3"));
    assert_eq!(
        moved.imported.spec.servers, first.spec.servers,
        "imported whole"
    );
    assert!(follower.poll_change().await.expect("a poll").is_none());

    follower.forget();
    let forgotten = follower
        .poll_change()
        .await
        .expect("a poll")
        .expect("imported");
    assert_eq!(forgotten.imported, moved.imported);
    follower.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_move_is_one_change_and_an_unchanged_cluster_publishes_nothing() {
    let cluster = Cluster::start(3).await;
    let server = follow("follow-leader", &cluster, false).await;
    let first = table(&server, None).await;
    assert_eq!(first.db, "neo4j", "the cluster's default database");
    assert_eq!(first.roles["WRITE"], set(&[cluster.address(0)]));
    let before = epoch(&server).await;

    // Five good polls of an unchanged cluster: nothing published.
    until("five good polls", || async {
        let text = metrics(&server).await;
        (metric(&text, r#"tagroute_follow_polls_total{outcome="ok"}"#) >= 5).then_some(())
    })
    .await;
    assert_eq!(epoch(&server).await, before, "an unchanged cluster");
    let text = metrics(&server).await;
    assert!(metric(&text, "tagroute_follow_last_success_timestamp_seconds") > 1_700_000_000);

    cluster.move_leader("neo4j", 2);
    until("the new writer", || async {
        let writers = table(&server, Some("neo4j")).await.roles["WRITE"].clone();
        (writers == set(&[cluster.address(2)])).then_some(())
    })
    .await;
    assert_eq!(epoch(&server).await, before + 1, "one update");
    let text = metrics(&server).await;
    assert_eq!(
        metric(&text, r#"tagroute_follow_changes_total{kind="set_leader"}"#),
        1
    );

    // A new database with an alias: found by the alias in any case, its writer the leader.
    cluster.add_database(Database {
        name: "orders".into(),
        primaries: vec![1, 2],
        leader: 1,
        aliases: vec!["sales".into()],
        default: false,
    });
    let orders = until("the new database by its alias", || async {
        let mut client = Client::connect(server.bolt).await;
        client.login("neo4j", "any").await;
        client.route(None, Some("SALES")).await.ok()
    })
    .await;
    assert_eq!(orders.roles["WRITE"], set(&[cluster.address(1)]));
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let unknown = client
        .route(None, Some("nope"))
        .await
        .expect_err("no such database");
    assert_eq!(unknown.code, "Neo.ClientError.Database.DatabaseNotFound");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_the_tables_while_the_cluster_calls_it_available() {
    let cluster = Cluster::start(3).await;
    let server = follow("follow-kill", &cluster, true).await;
    // The leader (s1) is no reader.
    let all = set(&[cluster.address(1), cluster.address(2)]);
    assert_eq!(table(&server, None).await.roles["READ"], all);

    cluster.kill(2);
    until("the killed server out of the readers", || async {
        let readers = table(&server, None).await.roles["READ"].clone();
        (!readers.contains(&cluster.address(2))).then_some(())
    })
    .await;
    let (_, body) = http(server.admin, "GET", "/topology", "").await;
    let view: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let s3 = &view["servers"][2];
    assert_eq!(s3["name"], "s3");
    assert_eq!(s3["available"], false);
    assert_eq!(s3["decided_by"]["available"], "health", "{body}");
    let text = metrics(&server).await;
    assert_eq!(
        metric(&text, r#"tagroute_health_servers{state="failing"}"#),
        1
    );
    assert_eq!(
        metric(&text, r#"tagroute_health_transitions_total{to="failing"}"#),
        1
    );
    let gauge = format!(
        r#"tagroute_health_server_passing{{address="{}"}}"#,
        cluster.address(2)
    );
    assert!(text.contains(&format!("{gauge} 0")), "{text}");

    cluster.revive(2);
    until("the revived server back", || async {
        (table(&server, None).await.roles["READ"] == all).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_keeps_the_last_tables_and_healthz_says_degraded() {
    let cluster = Cluster::start(3).await;
    let server = follow("follow-unreachable", &cluster, true).await;
    let before = table(&server, None).await;
    assert_eq!(
        http(server.admin, "GET", "/healthz", "").await,
        (200, "ok\n".into())
    );

    cluster.unreachable();
    let healthz = until("/healthz degraded", || async {
        let (status, body) = http(server.admin, "GET", "/healthz", "").await;
        body.starts_with("degraded: ").then_some((status, body))
    })
    .await;
    assert_eq!(healthz.0, 200);
    assert!(
        healthz.1.contains("the last good poll of the cluster was "),
        "{}",
        healthz.1
    );
    // Every probe fails too: the verdicts are set aside, the tables kept.
    until("the verdicts set aside", || async {
        let text = metrics(&server).await;
        (metric(&text, "tagroute_health_ignored") == 1).then_some(())
    })
    .await;
    let text = metrics(&server).await;
    assert!(
        metric(
            &text,
            r#"tagroute_follow_polls_total{outcome="unreachable"}"#
        ) > 0
    );
    assert_eq!(table(&server, None).await, before);

    cluster.reachable();
    until("/healthz ok again", || async {
        (http(server.admin, "GET", "/healthz", "").await == (200, "ok\n".into())).then_some(())
    })
    .await;
    assert_eq!(table(&server, None).await, before);
    server.stop().await;
}

/// The binary's flags: `--topology` and `--follow` exclude each other, the health flags need
/// `--follow`, counts are bounded, and a cluster that does not answer at start stops the server
/// naming why.
#[test]
fn the_follow_flags_are_checked_and_an_unreachable_cluster_at_start_is_an_error() {
    let dir = scratch("follow-flags");
    let config = dir.join("neo4j.conf");
    std::fs::write(&config, "").expect("writes");
    let run_with = |extra: &[&str], env: &[(&str, &str)]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tagroute"))
            .envs(env.iter().copied())
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", "127.0.0.1:0", "--no-admin"])
            .args(extra)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    let run = |extra: &[&str]| run_with(extra, &[]);
    let (code, stderr) = run(&["--topology", "t.json", "--follow", "neo4j://127.0.0.1:1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    for flag in ["--health-interval", "--follow-interval"] {
        let (code, stderr) = run(&["--topology", "t.json", flag, "1s"]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("{flag} applies to a cluster followed")),
            "{stderr}"
        );
    }
    let (code, stderr) = run(&["--follow", "neo4j://127.0.0.1:1", "--health-fails", "0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--health-fails"), "{stderr}");
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let (code, stderr) = run(&["--follow", "neo4j://127.0.0.1:1", "--follow-interval", "1s"]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("cannot follow the cluster"), "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");

    // The same flags from TAGROUTE_ variables.
    let (code, stderr) = run_with(&[], &[("TAGROUTE_FOLLOW", "neo4j://127.0.0.1:1")]);
    assert!(
        stderr.contains("cannot follow the cluster"),
        "{code:?} {stderr}"
    );
    let (code, stderr) = run_with(
        &["--follow", "neo4j://127.0.0.1:1"],
        &[("TAGROUTE_HEALTH_FAILS", "0")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--health-fails"), "{stderr}");
    let (code, stderr) = run_with(
        &["--topology", "t.json"],
        &[("TAGROUTE_HEALTH_INTERVAL", "1s")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--health-interval applies"), "{stderr}");
}
