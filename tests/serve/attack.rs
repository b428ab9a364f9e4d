//! The adversarial suite: each abuse of issue 21 tried as an attacker on loopback would, each
//! bounded (every loop has a count and a deadline), and beside it an honest client that must be
//! served. Tests check served or not served, never how fast; the latencies are in
//! `benches/serve_attack.rs`. `TAGROUTE_SERVE_FULL=1` runs the issue's sizes (2,000 half-sent
//! admin requests, 600 flooding logins, ...); by default each is a fraction of that.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tagroute::bolt::Version;
use tagroute::serve::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::*;

/// `quick` by default, `full` with `TAGROUTE_SERVE_FULL=1`.
fn size(quick: usize, full: usize) -> usize {
    if std::env::var_os("TAGROUTE_SERVE_FULL").is_some() {
        full
    } else {
        quick
    }
}

/// Polls the metrics until `ready` holds for them (at most `polls` times, 20 ms apart).
async fn metrics_when(
    handle: &tagroute::serve::Handle,
    polls: usize,
    ready: impl Fn(&str) -> bool,
) -> String {
    let mut metrics = handle.metrics();
    for _ in 0..polls {
        if ready(&metrics) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        metrics = handle.metrics();
    }
    metrics
}

fn refused(metrics: &str, reason: &str) -> u64 {
    metric(
        metrics,
        &format!("tagroute_connections_refused_total{{reason=\"{reason}\"}}"),
    )
}

fn admin_refused(metrics: &str, reason: &str) -> u64 {
    metric(
        metrics,
        &format!("tagroute_admin_connections_refused_total{{reason=\"{reason}\"}}"),
    )
}

/// `tagroute serve` as its own process, its stderr read line by line into `lines`.
struct Process {
    child: Child,
    bolt: SocketAddr,
    admin: SocketAddr,
    /// Every stderr line so far.
    lines: Arc<std::sync::Mutex<Vec<String>>>,
    /// Lines containing `counted`, and all the bytes, so far.
    counted: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Starts the binary with `extra` flags and JSON logs; `open_files` caps its file descriptors;
/// stderr lines containing `counted` are counted (and not kept, however many).
fn spawn(extra: &[&str], open_files: Option<u64>, counted: &'static str) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tagroute"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .args(["--log-format", "json", "--watch-interval", "0"])
        .arg("--config")
        .arg(data("neo4j.conf"))
        .arg("--topology")
        .arg(data("topology.json"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(limit) = open_files {
        // SAFETY: between fork and exec the closure only calls setrlimit(2), which is
        // async-signal-safe, on a limit struct it owns.
        unsafe {
            command.pre_exec(move || {
                let cap = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &cap) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = command.spawn().expect("starts");
    let (bolt, admin) = printed_addresses(&mut child);
    let (lines, count, bytes) = (
        Arc::new(std::sync::Mutex::new(Vec::new())),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let stderr = child.stderr.take().expect("piped");
    let reader = {
        let (lines, count, bytes) = (Arc::clone(&lines), Arc::clone(&count), Arc::clone(&bytes));
        std::thread::spawn(move || {
            let mut stderr = BufReader::new(stderr);
            let mut line = Vec::new();
            while stderr.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                bytes.fetch_add(line.len() as u64, Ordering::Relaxed);
                let text = String::from_utf8_lossy(&line);
                if text.contains(counted) {
                    count.fetch_add(1, Ordering::Relaxed);
                } else if line.len() < 100_000 {
                    lines.lock().expect("not poisoned").push(text.into_owned());
                }
                line.clear();
            }
        })
    };
    Process {
        bolt,
        admin,
        child,
        lines,
        counted: count,
        bytes,
        reader: Some(reader),
    }
}

impl Drop for Process {
    /// A test that failed before [`Process::stop`] leaves no server behind.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Process {
    /// SIGTERM, then waits (at most 30 s) for it to exit 0 and for its stderr to end.
    fn stop(mut self) -> Vec<String> {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) with the pid of our own child and a valid signal number.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                break status;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0));
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the reader ends with stderr");
        }
        std::mem::take(&mut *self.lines.lock().expect("not poisoned"))
    }
}

/// Row 1: out of file descriptors, both listeners back off and log at most once a second with
/// a count (before: the admin listener retried at once and logged every failure, millions of
/// lines), while an open Bolt connection keeps getting answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_accepts_back_off_quietly_and_bolt_keeps_answering() {
    let process = spawn(&["--handshake-timeout", "60s"], Some(128), "accept failed");
    let mut honest = Client::connect(process.bolt).await;
    honest.login("neo4j", "any").await;
    let want = expected(
        &data("neo4j.conf"),
        &data("topology.json"),
        Some("europe"),
        "neo4j",
    );
    assert_eq!(
        honest
            .route(Some("europe"), None)
            .await
            .map_err(|f| f.message),
        want
    );
    // Take every descriptor the server has left, then wait on both listeners.
    let mut held = Vec::new();
    for _ in 0..200 {
        held.push(
            TcpStream::connect(process.bolt)
                .await
                .expect("the backlog takes it"),
        );
    }
    for _ in 0..5 {
        held.push(
            TcpStream::connect(process.admin)
                .await
                .expect("the backlog takes it"),
        );
    }
    let mut failing = false;
    for _ in 0..250 {
        if process.counted.load(Ordering::Relaxed) > 0 {
            failing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failing, "the server ran out of file descriptors");
    let before = process.counted.load(Ordering::Relaxed);
    // Two seconds of exhaustion, the honest connection asking all along.
    let window = Instant::now();
    let mut answered = 0;
    while window.elapsed() < Duration::from_secs(2) && answered < 1_000 {
        let got = honest.route(Some("europe"), None).await;
        assert_eq!(got.map_err(|f| f.message), want, "answer {answered}");
        answered += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = window.elapsed().as_secs() + 1;
    let logged = process.counted.load(Ordering::Relaxed) - before;
    assert!(
        logged <= 2 * (seconds + 1),
        "{logged} accept-failure lines in about {seconds} s from two listeners"
    );
    drop(held);
    let mut healthy = false;
    for _ in 0..200 {
        if http_with(process.admin, "GET", "/healthz", &[], "")
            .await
            .map(|a| a.0)
            == Some(200)
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        healthy,
        "the admin listener answers again once descriptors are back"
    );
    let lines = process.stop();
    let summary = lines.iter().filter(|l| l.contains("accept failed")).count();
    assert_eq!(summary, 0, "every accept-failure line was counted above");
}

/// Row 2: half-sent admin requests are cut at the header timeout, connections past the cap are
/// closed at once, a body that never arrives gets 408, each counted; an honest request gets
/// through meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_admin_requests_are_capped_and_timed_out_while_healthz_answers() {
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.admin_max_connections = 8;
    settings.admin_header_timeout = Duration::from_millis(300);
    settings.admin_body_timeout = Duration::from_millis(300);
    let server = start(settings).await;
    let admin = server.admin;
    let count = size(200, 2_000);
    let attackers: Vec<_> = (0..count)
        .map(|_| {
            tokio::spawn(async move {
                let Ok(mut stream) = TcpStream::connect(admin).await else {
                    return true;
                };
                let _ = stream
                    .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .await;
                closed_within(&mut stream, Duration::from_secs(20)).await
            })
        })
        .collect();
    let mut served = false;
    for _ in 0..200 {
        if let Some((200, _, body)) = http_with(admin, "GET", "/healthz", &[], "").await {
            assert_eq!(body, "ok\n");
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(served, "an honest request got through during the attack");
    let mut closed = 0;
    for attacker in attackers {
        closed += usize::from(attacker.await.expect("runs"));
    }
    assert_eq!(
        closed, count,
        "every half-sent request was closed by the server"
    );

    let mut slow_body = TcpStream::connect(admin).await.expect("connects");
    slow_body
        .write_all(b"POST /topology/updates HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[")
        .await
        .expect("writes");
    let mut answer = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        slow_body.read_to_string(&mut answer),
    );
    assert!(read.await.is_ok(), "the slow body's connection was closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    let metrics = server.handle.metrics();
    assert!(admin_refused(&metrics, "limit") > 0, "{metrics}");
    assert!(admin_refused(&metrics, "header_timeout") > 0, "{metrics}");
    assert_eq!(admin_refused(&metrics, "body_timeout"), 1, "{metrics}");
    assert_eq!(metric(&metrics, "tagroute_topology_epoch"), 0);
    server.stop().await;
}

/// Row 3: 60 KB principals and policy names, sent again and again, leave the log a few short
/// lines: client strings clipped, a connection's routing failures logged three times, a peer's
/// failed logins summarised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_strings_are_clipped_and_repeated_failures_summarised_in_the_log() {
    let dir = scratch("attack-log");
    let hash = tagroute::serve::auth::hash_password("s3cret").expect("hashes");
    let auth = dir.join("users.auth");
    std::fs::write(&auth, format!("app:{}\n", hash.as_str())).expect("writes");
    let process = spawn(
        &["--auth-file", auth.to_str().expect("utf-8")],
        None,
        "\u{0}never",
    );
    let long = "p".repeat(60_000);
    let attempts = size(20, 200);
    for _ in 0..attempts {
        let mut client = Client::connect(process.bolt).await;
        let (_, reply) = client.login(&long, "wrong").await;
        assert_eq!(reply.tag(), FAILURE);
    }
    let mut honest = Client::connect_from(process.bolt, 2).await;
    let (_, reply) = honest.login("app", "s3cret").await;
    assert_eq!(reply.tag(), SUCCESS, "{reply:?}");
    // Two 30 KB names: the ROUTE stays under the 64 KiB message limit.
    let half = &long[..30_000];
    for _ in 0..attempts {
        assert!(honest.route(Some(half), Some(half)).await.is_err());
        honest.send(RESET, Vec::new()).await;
        assert_eq!(honest.receive().await.map(|m| m.tag()), Some(SUCCESS));
    }
    drop(honest);
    let bytes_before_stop = process.bytes.load(Ordering::Relaxed);
    let lines = process.stop();
    let sent = 2 * attempts * long.len();
    assert!(
        bytes_before_stop < 64 * 1024,
        "{bytes_before_stop} bytes of log for {sent} bytes of client strings"
    );
    for line in &lines {
        assert!(line.len() < 1_000, "a long line: {}", &line[..200]);
    }
    let routing = lines
        .iter()
        .filter(|l| l.contains("routing request failed"))
        .count();
    assert_eq!(routing, 3, "{lines:#?}");
    let closed = lines
        .iter()
        .filter(|l| l.contains("connection closed") && l.contains("\"route_failures\""))
        .any(|l| l.contains(&format!("\"route_failures\":{attempts}")));
    assert!(closed, "the close line counts every failure: {lines:#?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Row 4: a wrong-password flood from one peer is refused mostly unchecked (the peer paused,
/// one check at a time), on a pool of its own: an authenticated connection gets every answer
/// and an honest login from another address succeeds during the flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_flood_leaves_logged_in_clients_and_honest_logins_served() {
    let dir = scratch("attack-auth");
    let hash = tagroute::serve::auth::hash_password("s3cret").expect("hashes");
    let auth = dir.join("users.auth");
    std::fs::write(&auth, format!("app:{}\n", hash.as_str())).expect("writes");
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.auth_file = Some(auth);
    settings.auth_threads = 1;
    settings.auth_queue = 4;
    settings.auth_backoff = Duration::from_millis(50);
    settings.auth_backoff_max = Duration::from_secs(1);
    let server = start(settings).await;
    let bolt = server.bolt;
    let mut logged_in = Client::connect_from(bolt, 2).await;
    assert_eq!(logged_in.login("app", "s3cret").await.1.tag(), SUCCESS);

    let flooding = Arc::new(AtomicBool::new(true));
    // Each flooding client logs in again until the test has seen what it looks for, at most
    // `rounds` times: under load the first checks can take seconds, and every login before
    // the first failure is refused busy, not paused.
    let (connections, rounds) = (size(100, 600), 300);
    let flood: Vec<_> = (0..connections)
        .map(|_| {
            let flooding = Arc::clone(&flooding);
            tokio::spawn(async move {
                let mut attempts = 0u64;
                for _ in 0..rounds {
                    if !flooding.load(Ordering::Relaxed) {
                        break;
                    }
                    let mut client = Client::connect_from(bolt, 1).await;
                    let (_, reply) = client.login("app", "wrong").await;
                    let failed = parse_reply(&reply).expect_err("refused");
                    assert_eq!(failed.code, "Neo.ClientError.Security.Unauthorized");
                    attempts += 1;
                }
                attempts
            })
        })
        .collect();
    let metrics = metrics_when(&server.handle, 1_500, |m| refused(m, "auth_backoff") >= 10).await;
    assert!(
        refused(&metrics, "auth_backoff") >= 10,
        "the flood is on: {metrics}"
    );
    let want = expected(
        &data("neo4j.conf"),
        &data("topology.json"),
        Some("europe"),
        "neo4j",
    );
    for i in 0..50 {
        let got = logged_in.route(Some("europe"), None).await;
        assert_eq!(
            got.map_err(|f| f.message),
            want,
            "answer {i} during the flood"
        );
    }
    let mut honest = Client::connect_from(bolt, 3).await;
    let (_, reply) = honest.login("app", "s3cret").await;
    assert_eq!(
        reply.tag(),
        SUCCESS,
        "an honest login during the flood: {reply:?}"
    );
    assert_eq!(
        honest
            .route(Some("europe"), None)
            .await
            .map_err(|f| f.message),
        want
    );
    flooding.store(false, Ordering::Relaxed);
    let mut attempts = 0;
    for task in flood {
        attempts += task.await.expect("every flooding login is refused");
    }
    let metrics = server.handle.metrics();
    let unchecked = refused(&metrics, "auth_backoff") + refused(&metrics, "auth_busy");
    let checked = refused(&metrics, "auth");
    assert_eq!(unchecked + checked, attempts, "{metrics}");
    assert!(
        checked * 4 <= attempts,
        "{checked} of {attempts} flooding logins reached argon2: {metrics}"
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Row 5: 120 clients from one address trickle their handshakes and messages a byte at a time;
/// the per-peer cap keeps permits for everyone else and the message deadline cuts them, so 80
/// honest clients from other addresses are all served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_from_one_peer_cannot_take_every_connection() {
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.max_connections = 100;
    settings.max_connections_per_peer = Some(60);
    settings.message_timeout = Duration::from_millis(500);
    settings.handshake_timeout = Duration::from_secs(2);
    settings.idle_timeout = Duration::from_secs(60);
    let server = start(settings).await;
    let bolt = server.bolt;
    let slow_down = Arc::new(AtomicBool::new(true));
    let hello = message(
        HELLO,
        vec![
            [("user_agent", "slow/1")]
                .into_iter()
                .map(|(k, v)| (k, tagroute::bolt::packstream::Value::from(v)))
                .collect(),
        ],
    );
    let slow: Vec<_> = (0..120)
        .map(|_| {
            let (slow_down, hello) = (Arc::clone(&slow_down), hello.clone());
            tokio::spawn(async move {
                for _ in 0..100 {
                    let Ok(mut stream) = connect_from(bolt, 1).await else {
                        continue;
                    };
                    let mut bytes = PYTHON_HANDSHAKE.to_vec();
                    bytes.extend(&hello);
                    for byte in bytes {
                        if !slow_down.load(Ordering::Relaxed) {
                            return;
                        }
                        if stream.write_all(&[byte]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            })
        })
        .collect();
    // Let the slow clients take what they can first.
    let metrics = metrics_when(&server.handle, 250, |m| refused(m, "peer_limit") > 0).await;
    assert!(refused(&metrics, "peer_limit") > 0, "{metrics}");
    let want = expected(
        &data("neo4j.conf"),
        &data("topology.json"),
        Some("europe"),
        "neo4j",
    );
    // Eight waves 200 ms apart: the slow clients are cut at the message deadline and come back
    // meanwhile.
    let mut served = 0;
    for wave in 0..8u8 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let clients: Vec<_> = (0..10)
            .map(|_| {
                let want = want.clone();
                tokio::spawn(async move {
                    let honest = async {
                        let mut client = Client::connect_from(bolt, 2 + wave).await;
                        let (_, reply) = client.login("neo4j", "any").await;
                        reply.tag() == SUCCESS
                            && client
                                .route(Some("europe"), None)
                                .await
                                .map_err(|f| f.message)
                                == want
                    };
                    tokio::time::timeout(Duration::from_secs(10), honest)
                        .await
                        .unwrap_or(false)
                })
            })
            .collect();
        for client in clients {
            served += usize::from(client.await.unwrap_or(false));
        }
    }
    slow_down.store(false, Ordering::Relaxed);
    for task in slow {
        task.await.expect("a slow client stops");
    }
    assert_eq!(served, 80, "honest clients served during the slow attack");
    let metrics = server.handle.metrics();
    assert!(refused(&metrics, "message_timeout") > 0, "{metrics}");
    server.stop().await;
}

/// Row 5: a logged-in client that trickles a message a byte at a time is closed at the message
/// deadline, though every byte restarts the idle timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_trickled_after_login_is_cut_at_the_message_deadline() {
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.message_timeout = Duration::from_millis(300);
    settings.idle_timeout = Duration::from_secs(60);
    let server = start(settings).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let long_policy = "x".repeat(500);
    let route = message(ROUTE, route_fields(Some(&long_policy), None));
    let mut cut = false;
    let started = Instant::now();
    for byte in &route {
        if client.send_raw(&[*byte]).await.is_err() || started.elapsed() > Duration::from_secs(10) {
            cut = client.send_raw(&[*byte]).await.is_err();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let metrics = metrics_when(&server.handle, 250, |m| refused(m, "message_timeout") > 0).await;
    assert_eq!(
        refused(&metrics, "message_timeout"),
        1,
        "cut: {cut}\n{metrics}"
    );
    server.stop().await;
}

/// Row 5: a client that finishes the handshake and never logs in is closed at the handshake
/// deadline, not the (much longer) idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_logs_in_is_closed_at_the_handshake_deadline() {
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.handshake_timeout = Duration::from_millis(300);
    settings.idle_timeout = Duration::from_secs(60);
    let server = start(settings).await;
    let mut stream = TcpStream::connect(server.bolt).await.expect("connects");
    stream.write_all(&PYTHON_HANDSHAKE).await.expect("writes");
    assert!(closed_within(&mut stream, Duration::from_secs(10)).await);
    let metrics = server.handle.metrics();
    assert_eq!(refused(&metrics, "handshake"), 1, "{metrics}");
    server.stop().await;
}

/// Row 5: with no flag, a peer gets half of `--max-connections`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_one_peer_gets_half_of_the_connections() {
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.max_connections = 10;
    assert_eq!(settings.max_connections_per_peer(), 5);
    let server = start(settings).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut client = Client::connect(server.bolt).await;
        client.login("neo4j", "any").await;
        held.push(client);
    }
    let mut sixth = TcpStream::connect(server.bolt).await.expect("connects");
    assert!(closed_within(&mut sixth, Duration::from_secs(10)).await);
    let mut other = Client::connect_from(server.bolt, 2).await;
    let (_, reply) = other.login("neo4j", "any").await;
    assert_eq!(reply.tag(), SUCCESS, "another peer still gets in");
    assert_eq!(refused(&server.handle.metrics(), "peer_limit"), 1);
    drop(held);
    server.stop().await;
}

/// Row 6: a key given twice in an update is refused naming it, as in a topology file, and
/// nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_with_a_key_given_twice_is_refused_naming_it() {
    let server = start(settings(&data("neo4j.conf"), &data("topology.json"))).await;
    for (body, error) in [
        (
            r#"[{"op": "set_available", "server": "r2", "server": "r1", "available": false}]"#,
            "updates[0].server: key given twice",
        ),
        (
            r#"[{"op": "add_server", "server": {"name": "x", "address": "x:1", "name": "y"}}]"#,
            "updates[0].server.name: key given twice",
        ),
        (
            r#"[{"op": "set_tags", "server": "r1", "tags": ["a"], "op": "set_tags"}]"#,
            "updates[0].op: key given twice",
        ),
    ] {
        let (status, answer) = http(server.admin, "POST", "/topology/updates", body).await;
        assert_eq!(status, 400, "{answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).expect("json");
        assert_eq!(answer["error"], error);
    }
    let (_, topology) = http(server.admin, "GET", "/topology", "").await;
    let topology: serde_json::Value = serde_json::from_str(&topology).expect("json");
    assert_eq!(topology["epoch"], 0);
    let r1 = topology["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .find(|s| s["name"] == "r1")
        .expect("r1");
    assert_eq!(r1["available"], true);
    server.stop().await;
}

/// Row 7: a `--max-bolt-version` the server cannot speak is a usage error listing those it can;
/// the library refuses it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bolt_version_the_server_cannot_speak_is_refused_before_serving() {
    for version in ["4.3", "4.2", "3.0", "5.5", "5.9", "6.0"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tagroute"))
            .args(["serve", "--listen", "127.0.0.1:0", "--no-admin"])
            .arg("--config")
            .arg(data("neo4j.conf"))
            .arg("--topology")
            .arg(data("topology.json"))
            .args(["--max-bolt-version", version])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().expect("waits").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{version}: still serving after 20 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().expect("exited");
        assert_eq!(output.status.code(), Some(2), "{version}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("it speaks 4.4, 5.0, 5.1, 5.2, 5.3, 5.4, 5.6, 5.7, 5.8"),
            "{version}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "nothing served");
    }
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.max_bolt_version = Version::new(5, 5);
    let error = Server::bind(settings)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        error,
        Err(
            "Bolt 5.5 is not a version this server speaks; it speaks 4.4, 5.0, 5.1, 5.2, 5.3, \
             5.4, 5.6, 5.7, 5.8"
                .into()
        )
    );
}

/// Writes a certificate valid from `not_before` to `not_after` (years, January 1st) and its
/// key; returns their paths.
fn certificate(
    dir: &Path,
    name: &str,
    not_before: i32,
    not_after: i32,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
    params.not_before = rcgen::date_time_ymd(not_before, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after, 1, 1);
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = params.self_signed(&key).expect("a certificate");
    let (cert_path, key_path) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert_path, cert.pem()).expect("writes");
    std::fs::write(&key_path, key.serialize_pem()).expect("writes");
    (cert_path, key_path)
}

/// Row 8: an expired certificate starts the server with a warning in its log and on
/// `/healthz`, and a negative seconds-to-expiry metric; one not yet valid likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_warned_about_at_start_on_healthz_and_in_metrics() {
    let dir = scratch("attack-cert");
    for (name, from, to, warning) in [
        (
            "expired",
            2020,
            2021,
            "the TLS certificate expired on 2021-01-01 00:00:00 UTC",
        ),
        (
            "future",
            2090,
            2091,
            "the TLS certificate is not valid before 2090-01-01 00:00:00 UTC",
        ),
    ] {
        let (cert, key) = certificate(&dir, name, from, to);
        let process = spawn(
            &[
                "--tls-cert",
                cert.to_str().expect("utf-8"),
                "--tls-key",
                key.to_str().expect("utf-8"),
            ],
            None,
            "\u{0}never",
        );
        let (status, _, health) = http_with(process.admin, "GET", "/healthz", &[], "")
            .await
            .expect("answers");
        assert_eq!(
            (status, health.as_str()),
            (200, format!("ok\nwarning: {warning}\n").as_str())
        );
        let (_, _, metrics) = http_with(process.admin, "GET", "/metrics", &[], "")
            .await
            .expect("answers");
        let seconds: i64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("tagroute_tls_certificate_expiry_seconds "))
            .and_then(|v| v.parse().ok())
            .expect("the expiry metric");
        assert_eq!(seconds < 0, name == "expired", "{seconds}");
        let lines = process.stop();
        let started = lines
            .iter()
            .find(|l| l.contains("TLS certificate"))
            .expect("a warning at start");
        let line: serde_json::Value = serde_json::from_str(started).expect("json");
        assert_eq!(
            (line["level"].as_str(), line["warning"].as_str()),
            (Some("WARN"), Some(warning))
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A DER element: tag, length, contents.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend(contents);
    out
}

/// The DER elements of `contents`, each whole.
fn elements(mut contents: &[u8]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    while !contents.is_empty() {
        let first = contents[1];
        let (header, len) = if first < 0x80 {
            (2, usize::from(first))
        } else {
            let n = usize::from(first & 0x7F);
            (
                2 + n,
                contents[2..2 + n]
                    .iter()
                    .fold(0, |l, &b| l << 8 | usize::from(b)),
            )
        };
        all.push(contents[..header + len].to_vec());
        contents = &contents[header + len..];
    }
    all
}

/// Row 8: an X.509 v1 certificate is refused as what it is, not as a key that does not fit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x509_v1_certificate_is_named_as_such() {
    let dir = scratch("attack-v1");
    let params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
    let key = rcgen::KeyPair::generate().expect("a key");
    let v3 = params
        .self_signed(&key)
        .expect("a certificate")
        .der()
        .to_vec();
    // The same certificate as v1: no version field, no extensions (the signature no longer
    // matches, which the server never checks of its own certificate).
    let outer = elements(&elements(&v3)[0][4..]);
    let tbs_at = if outer[0][1] < 0x80 {
        2
    } else {
        2 + usize::from(outer[0][1] & 0x7F)
    };
    let tbs: Vec<u8> = elements(&outer[0][tbs_at..])
        .into_iter()
        .filter(|e| e[0] != 0xA0 && e[0] != 0xA3)
        .flatten()
        .collect();
    let mut body = der(0x30, &tbs);
    body.extend(outer[1..].iter().flatten());
    let v1 = der(0x30, &body);
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64(&v1)
    );
    let (cert, key_path) = (dir.join("v1.pem"), dir.join("v1.key"));
    std::fs::write(&cert, pem).expect("writes");
    std::fs::write(&key_path, key.serialize_pem()).expect("writes");
    assert_eq!(
        tagroute::serve::certificate::summarize(&v1).map(|s| s.version),
        Ok(1)
    );
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.tls = Some((cert.clone(), key_path));
    let error = Server::bind(settings)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        error,
        Err(format!(
            "{}: the certificate is an X.509 v1 certificate, which TLS clients and rustls do \
             not accept: issue a v3 certificate (with a subjectAltName)",
            cert.display()
        ))
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
        out.push_str(&"=".repeat(3 - chunk.len()));
    }
    out
}

/// Row 9: `/metrics` in the classic text format by default and OpenMetrics when asked, each
/// read by Python `prometheus_client`'s own parser where it is installed
/// (`interop/metrics/parse.py`; CI's interop step installs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_come_in_the_format_asked_for_and_real_parsers_read_both() {
    let server = start(settings(&data("neo4j.conf"), &data("topology.json"))).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    assert!(client.route(Some("europe"), None).await.is_ok());
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                      version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (_, classic_head, classic) = http_with(server.admin, "GET", "/metrics", &[], "")
        .await
        .expect("answers");
    let (_, open_head, openmetrics) = http_with(
        server.admin,
        "GET",
        "/metrics",
        &[("Accept", prometheus)],
        "",
    )
    .await
    .expect("answers");
    let content_type = |head: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix("content-type: "))
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(
        content_type(&classic_head),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(
        content_type(&open_head),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(
        classic
            .lines()
            .any(|l| l == "# TYPE tagroute_route_requests_total counter")
    );
    assert!(
        openmetrics
            .lines()
            .any(|l| l == "# TYPE tagroute_route_requests counter")
    );
    assert!(openmetrics.ends_with("# EOF\n") && !classic.contains("# EOF"));
    server.stop().await;

    let parser = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/metrics/parse.py");
    let python = std::env::var("TAGROUTE_PYTHON").unwrap_or_else(|_| "python3".into());
    let available = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!(
            "metrics parsers: SKIPPED, `{python}` has no prometheus_client (CI's interop step \
             runs interop/metrics with it; TAGROUTE_PYTHON names another Python)"
        );
        return;
    }
    let dir = scratch("attack-metrics");
    let (classic_file, open_file) = (dir.join("classic.txt"), dir.join("openmetrics.txt"));
    std::fs::write(&classic_file, &classic).expect("writes");
    std::fs::write(&open_file, &openmetrics).expect("writes");
    let output = Command::new(&python)
        .arg(&parser)
        .arg(&classic_file)
        .arg(&open_file)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    for format in ["classic", "openmetrics"] {
        let requests = &parsed[format]["tagroute_route_requests"];
        assert_eq!(requests["type"], "counter", "{format}: {parsed}");
        assert_eq!(
            requests["samples"]["tagroute_route_requests_total{database=\"neo4j\",outcome=\"ok\",policy=\"europe\"}"],
            1.0,
            "{format}: {parsed}"
        );
        assert_eq!(
            parsed[format]["tagroute_connections_open"]["samples"]["tagroute_connections_open"],
            1.0
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Row 10: an empty batch changes nothing and publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_batch_publishes_nothing() {
    let server = start(settings(&data("neo4j.conf"), &data("topology.json"))).await;
    for body in ["[]", " [ ] "] {
        let (status, answer) = http(server.admin, "POST", "/topology/updates", body).await;
        assert_eq!((status, answer.trim()), (200, r#"{"epoch":0}"#));
    }
    let (_, topology) = http(server.admin, "GET", "/topology", "").await;
    let topology: serde_json::Value = serde_json::from_str(&topology).expect("json");
    assert_eq!(topology["epoch"], 0);
    let one = r#"[{"op": "set_available", "server": "r1", "available": false}]"#;
    let (status, answer) = http(server.admin, "POST", "/topology/updates", one).await;
    assert_eq!((status, answer.trim()), (200, r#"{"epoch":1}"#));
    assert_eq!(
        metric(&server.handle.metrics(), "tagroute_topology_epoch"),
        1
    );
    server.stop().await;
}
