//! The `tagroute serve` binary: its stdout line, SIGHUP, SIGTERM, JSON logs, and 10,000 idle
//! connections held by one process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::*;

/// A running `tagroute serve` and the addresses it printed.
struct Process {
    child: Child,
    bolt: SocketAddr,
    admin: SocketAddr,
}

fn spawn(config: &Path, topology: &Path, extra: &[&str]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tagroute"))
        .args(["serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .arg("--config")
        .arg(config)
        .arg("--topology")
        .arg(topology)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let (bolt, admin) = printed_addresses(&mut child);
    Process { child, bolt, admin }
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with a pid of our own child and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Waits at most 30 s for the child to exit.
fn wait(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            return status;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_connections_and_exits_zero_with_json_logs() {
    let mut process = spawn(
        &data("neo4j.conf"),
        &data("topology.json"),
        &["--log-format", "json"],
    );
    let mut client = Client::connect(process.bolt).await;
    client.login("neo4j", "any").await;
    assert!(client.route(Some("europe"), None).await.is_ok());
    assert!(client.route(Some("atlantis"), None).await.is_err());
    signal(&process.child, libc::SIGTERM);
    assert!(
        client.receive().await.is_none(),
        "the open connection is closed"
    );
    let status = wait(&mut process.child);
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        &mut process.child.stderr.take().expect("piped"),
        &mut stderr,
    )
    .expect("reads");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    for message in [
        "serving",
        "routing request failed",
        "connection closed",
        "every connection closed; stopped",
    ] {
        assert!(messages.contains(&message), "{message} in {messages:?}");
    }
    let serving = lines
        .iter()
        .find(|l| l["message"] == "serving")
        .expect("logged");
    let admin = process.admin.to_string();
    assert_eq!(serving["admin"].as_str(), Some(admin.as_str()), "{serving}");
    let failed = lines
        .iter()
        .find(|l| l["message"] == "routing request failed")
        .expect("logged");
    assert_eq!(
        (failed["policy"].as_str(), failed["outcome"].as_str()),
        (Some("atlantis"), Some("unknown_policy"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_files() {
    let dir = scratch("sighup");
    let (config, topology) = (dir.join("neo4j.conf"), dir.join("topology.json"));
    std::fs::copy(data("neo4j.conf"), &config).expect("copies");
    std::fs::copy(data("topology.json"), &topology).expect("copies");
    let mut process = spawn(&config, &topology, &["--watch-interval", "0"]);
    let mut client = Client::connect(process.bolt).await;
    client.login("neo4j", "any").await;
    assert!(client.route(Some("late"), None).await.is_err());
    let prefix = "dbms.routing.load_balancing.config.server_policies";
    std::fs::write(&config, format!("{prefix}.late=tags(us)\n")).expect("writes");
    signal(&process.child, libc::SIGHUP);
    let mut reloaded = false;
    for _ in 0..300 {
        let (_, metrics) = http(process.admin, "GET", "/metrics", "").await;
        if metrics.contains("tagroute_reloads_total{source=\"sighup\",outcome=\"ok\"} 1") {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reloaded, "SIGHUP reloaded within 300 polls");
    client.send(RESET, Vec::new()).await;
    client.receive().await;
    assert_eq!(
        client
            .route(Some("late"), None)
            .await
            .map_err(|f| f.message),
        expected(&config, &topology, Some("late"), "neo4j")
    );
    signal(&process.child, libc::SIGTERM);
    assert_eq!(wait(&mut process.child).code(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

/// Raises this process's open-file soft limit to its hard limit; returns the limit.
fn raise_open_files() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_connections_are_held_and_the_server_still_answers() {
    let limit = raise_open_files();
    // This process holds the client ends (plus what the other tests open meanwhile); the server
    // process holds the other ends and raises its own limit the same way.
    let wanted = 10_000u64;
    let count = wanted.min(limit.saturating_sub(1_000)) as usize;
    if (count as u64) < wanted {
        eprintln!("open-file limit {limit}: holding {count} idle connections instead of {wanted}");
    }
    let mut process = spawn(
        &data("neo4j.conf"),
        &data("topology.json"),
        // One address holds them all here, where a fleet has many: lift the per-peer cap.
        &["--log-level", "warn", "--max-connections-per-peer", "20000"],
    );
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        let mut client = Client::connect(process.bolt).await;
        let (_, logon) = client.login("neo4j", "any").await;
        assert_eq!(logon.tag(), SUCCESS);
        idle.push(client);
    }
    let mut active = Client::connect(process.bolt).await;
    active.login("neo4j", "any").await;
    assert_eq!(
        active
            .route(Some("europe"), None)
            .await
            .map_err(|f| f.message),
        expected(
            &data("neo4j.conf"),
            &data("topology.json"),
            Some("europe"),
            "neo4j"
        )
    );
    let (_, metrics) = http(process.admin, "GET", "/metrics", "").await;
    let open = format!("tagroute_connections_open {}", count + 1);
    assert!(metrics.lines().any(|l| l == open), "{open} in\n{metrics}");
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", process.child.id())).unwrap_or_default();
    if let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS")) {
        eprintln!("server with {} idle connections: {rss}", count + 1);
    }
    drop(idle);
    signal(&process.child, libc::SIGTERM);
    assert_eq!(wait(&mut process.child).code(), Some(0));
}
