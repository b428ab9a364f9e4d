//! Figures for `tagroute serve` (a benchmark, not a test): ROUTE answers per second over
//! loopback with 200 connections, p50/p99 answer latency, the same over TLS, the server's
//! resident memory with 10,000 idle connections, and honest clients' ROUTE latency alone and
//! under each attack of issue 21, side by side (`attack.rs`).
//!
//! `cargo bench --bench serve` runs the release binary as its own process and the load
//! generator in this one (two tokio workers), both on this machine. Each connection logs in
//! as a Python driver does, then asks ROUTE after ROUTE, one at a time, for
//! `TAGROUTE_BENCH_SECS` seconds (default 5).
//!
//! The yardstick is this machine's limit for the same dialogue: a server of the same shape (a
//! process of its own, two tokio workers) that answers every message with the bytes tagroute
//! sent for the first ROUTE, recorded, so it spends nothing on decoding, routing or encoding.
//! It runs in a process of its own because switching between the generator and the server
//! costs more across processes than between threads of one. The same
//! generator drives both, one after the other; the ratio of the two rates is what to compare
//! across machines. Beside each rate, the CPU time (user + system, from `/proc`) each server
//! spent per answer while driven: on a machine shared with other work the rates move with the
//! other work, the CPU time per answer much less.
//!
//! To compare builds side by side: `TAGROUTE_BENCH_VS=path/to/other/tagroute` drives that
//! binary too, right after this build's, and `TAGROUTE_BENCH_ROUNDS=n` (default 1) repeats
//! the plain runs and the limit's, alternating, before TLS and the rest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tagroute::bolt::chunk::{self, Dechunker};
use tagroute::bolt::packstream::{self, Structure, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

const CONNECTIONS: usize = 200;
const IDLE: usize = 10_000;
const HANDSHAKE: [u8; 20] = [
    0x60, 0x60, 0xB0, 0x17, 0, 0, 1, 0xFF, 0, 8, 8, 5, 0, 2, 4, 4, 0, 0, 0, 3,
];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/serve")
        .join(name)
}

fn message(tag: u8, fields: Vec<Value>) -> Vec<u8> {
    let mut body = Vec::new();
    packstream::encode(
        &Value::Struct(Structure::new(tag, fields).unwrap()),
        &mut body,
    )
    .unwrap();
    let mut out = Vec::new();
    chunk::write_message(&body, &mut out);
    out
}

fn strings(pairs: &[(&str, &str)]) -> Value {
    pairs.iter().map(|&(k, v)| (k, Value::from(v))).collect()
}

struct Server {
    child: Child,
    bolt: SocketAddr,
    admin: Option<SocketAddr>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Server {
    serve_with(Path::new(env!("CARGO_BIN_EXE_tagroute")), extra)
}

/// `binary serve` with the test configuration and topology, and `extra` arguments.
fn serve_with(binary: &Path, extra: &[&str]) -> Server {
    let admin = if extra.contains(&"--admin") {
        &[][..]
    } else {
        &["--no-admin"][..]
    };
    let (child, line) = spawn_reading_line(
        Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-level", "error"])
            .args(admin)
            .arg("--config")
            .arg(data("neo4j.conf"))
            .arg("--topology")
            .arg(data("topology.json"))
            .args(extra),
    );
    let printed: serde_json::Value = serde_json::from_str(&line).unwrap();
    let bolt = printed["bolt"].as_str().unwrap().parse().unwrap();
    let admin = printed["admin"].as_str().map(|a| a.parse().unwrap());
    Server { child, bolt, admin }
}

/// Starts `command` and reads the first line it prints (a server's addresses).
fn spawn_reading_line(command: &mut Command) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One connection: handshake, HELLO + LOGON, then replies read as whole messages (framing only:
/// the generator spends its CPU on sending, not decoding).
struct Conn<S> {
    stream: S,
    dechunker: Dechunker,
    buffer: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    async fn open(stream: S) -> Conn<S> {
        Conn::open_as(stream, &[("scheme", "none")]).await
    }

    /// Opens with LOGON's fields `auth`; the LOGON's reply is read, whatever it is.
    async fn open_as(mut stream: S, auth: &[(&str, &str)]) -> Conn<S> {
        stream.write_all(&HANDSHAKE).await.unwrap();
        let mut version = [0u8; 4];
        stream.read_exact(&mut version).await.unwrap();
        let mut login = message(0x01, vec![strings(&[("user_agent", "bench/1")])]);
        login.extend(message(0x6A, vec![strings(auth)]));
        stream.write_all(&login).await.unwrap();
        let mut conn = Conn {
            stream,
            dechunker: Dechunker::new(1 << 20),
            buffer: vec![0; 4096],
        };
        conn.reply().await;
        conn.reply().await;
        conn
    }

    /// Reads one whole reply.
    async fn reply(&mut self) {
        self.reply_with(|_| ()).await;
    }

    /// Reads one whole reply and hands its body to `seen`.
    async fn reply_with(&mut self, mut seen: impl FnMut(&[u8])) {
        loop {
            if let Some(body) = self.dechunker.next_message().unwrap() {
                seen(body);
                return;
            }
            let n = self.stream.read(&mut self.buffer).await.unwrap();
            assert!(n > 0, "the server closed");
            self.dechunker.push(&self.buffer[..n]);
        }
    }
}

/// The ROUTE a Python driver sends for `?policy=europe`.
fn route_request() -> Vec<u8> {
    message(
        0x66,
        vec![
            strings(&[("policy", "europe"), ("address", "127.0.0.1:7687")]),
            Value::List(Vec::new()),
            Value::Map(Default::default()),
        ],
    )
}

/// tagroute's reply to [`route_request`], framed, to replay.
async fn recorded_reply(bolt: SocketAddr) -> Vec<u8> {
    let mut conn = Conn::open(TcpStream::connect(bolt).await.unwrap()).await;
    conn.stream.write_all(&route_request()).await.unwrap();
    let mut framed = Vec::new();
    conn.reply_with(|body| chunk::write_message(body, &mut framed))
        .await;
    framed
}

/// The yardstick: a process of its own with tagroute's runtime shape (two tokio workers) that
/// agrees to Bolt 5.8 and answers every message with `reply`, doing nothing else. It is this
/// benchmark's binary again, told by [`CANNED`] where the reply is; it prints its address and
/// runs until it is killed.
fn canned(reply: &[u8]) -> Server {
    let file = std::env::temp_dir().join(format!("tagroute-bench-reply-{}", std::process::id()));
    std::fs::write(&file, reply).unwrap();
    let (child, line) =
        spawn_reading_line(Command::new(std::env::current_exe().unwrap()).env(CANNED, &file));
    // Read before the address was printed.
    let _ = std::fs::remove_file(&file);
    let bolt = line.trim().parse().unwrap();
    Server {
        child,
        bolt,
        admin: None,
    }
}

/// Names the file of the reply a [`canned`] process answers with.
const CANNED: &str = "TAGROUTE_BENCH_CANNED_REPLY";

/// The body of a [`canned`] process: serves `reply` until killed.
fn run_canned(reply: Vec<u8>) {
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        let reply = Arc::new(reply);
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer_canned(stream, Arc::clone(&reply)));
        }
    });
}

/// The CPU time, user + system, in seconds, that `/proc/{task}/stat` reports (a process, or
/// `self/task/{tid}` for one of this process's threads).
fn cpu_secs(task: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{task}/stat")).unwrap_or_default();
    // The fields after the command name's closing parenthesis; utime and stime are the 12th
    // and 13th of them (fields 14 and 15 of proc(5)).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    ticks as f64 / per_second as f64
}

async fn answer_canned(mut stream: TcpStream, reply: Arc<Vec<u8>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stream.read_exact(&mut [0u8; HANDSHAKE.len()]).await?;
    stream.write_all(&[0, 0, 8, 5]).await?;
    let (mut dechunker, mut input, mut output) = (Dechunker::new(1 << 20), vec![0; 4096], vec![]);
    loop {
        let n = stream.read(&mut input).await?;
        if n == 0 {
            return Ok(());
        }
        dechunker.push(&input[..n]);
        while dechunker.next_message().unwrap().is_some() {
            output.extend_from_slice(&reply);
        }
        stream.write_all(&output).await?;
        output.clear();
    }
}

/// Two tokio workers, as `tagroute serve` has.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Connects over plain TCP to `address`.
async fn plain_to(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Opens [`CONNECTIONS`] connections, then drives them all for `secs` seconds.
async fn load<S, F, Fut>(connect: F, secs: u64) -> (u64, Vec<u32>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    load_timed(connect, secs, || 0.0).await.0
}

/// [`load`], and the CPU seconds `cpu` (a server's running total) grew by while driven.
async fn load_timed<S, F, Fut>(
    connect: F,
    secs: u64,
    cpu: impl Fn() -> f64,
) -> ((u64, Vec<u32>), f64)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        conns.push(Conn::open(connect().await).await);
    }
    let before = cpu();
    let driven = drive(conns, secs).await;
    (driven, cpu() - before)
}

/// Each of `conns` asks ROUTE after ROUTE, one at a time, for `secs` seconds: the answers and
/// their latencies (µs).
async fn drive<S>(conns: Vec<Conn<S>>, secs: u64) -> (u64, Vec<u32>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let route = Arc::new(route_request());
    let until = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let route = Arc::clone(&route);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < until {
                    let start = Instant::now();
                    conn.stream.write_all(&route).await.unwrap();
                    conn.reply().await;
                    latencies.push(start.elapsed().as_micros() as u32);
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    (all.len() as u64, all)
}

/// The `q` quantile of sorted latencies.
fn quantile(sorted: &[u32], q: f64) -> u32 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q) as usize)
        .copied()
        .unwrap_or(0)
}

/// Prints one run's figures; returns its rate in answers per second.
fn report(name: &str, (count, mut latencies): (u64, Vec<u32>), seconds: f64) -> f64 {
    latencies.sort_unstable();
    let at = |q: f64| quantile(&latencies, q);
    let rate = count as f64 / seconds;
    println!(
        "{name}: {rate:.0} ROUTE answers/s over {CONNECTIONS} connections; latency p50 {} µs, p99 {} µs",
        at(0.50),
        at(0.99)
    );
    rate
}

/// [`report`], with the server's CPU time per answer; returns the rate and that time (µs).
fn report_timed(name: &str, (driven, cpu): ((u64, Vec<u32>), f64), seconds: f64) -> (f64, f64) {
    let count = driven.0.max(1) as f64;
    let rate = report(name, driven, seconds);
    let per_answer = cpu * 1e6 / count;
    println!("{name}: the server spent {per_answer:.2} µs of CPU per answer");
    (rate, per_answer)
}

/// Drives `server` for `secs` seconds and reports it as `name`: its rate and CPU µs per answer.
async fn drive_server(name: &str, server: &Server, secs: u64) -> (f64, f64) {
    let process = server.child.id().to_string();
    let driven = load_timed(|| plain_to(server.bolt), secs, || cpu_secs(&process)).await;
    report_timed(name, driven, secs as f64)
}

fn self_signed() -> (PathBuf, PathBuf, RootCertStore) {
    let dir = std::env::temp_dir().join(format!("tagroute-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    (cert, key, roots)
}

/// Honest clients' latency under each attack.
#[path = "serve/attack.rs"]
mod attack;

fn main() {
    if let Some(reply) = std::env::var_os(CANNED) {
        return run_canned(std::fs::read(reply).unwrap());
    }
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let idle_count = IDLE.min(files.saturating_sub(1_000) as usize);
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (secs, rounds) = (
        number("TAGROUTE_BENCH_SECS", 5),
        number("TAGROUTE_BENCH_ROUNDS", 1),
    );
    runtime().block_on(async {
        let plain = serve(&[]);
        let reply = recorded_reply(plain.bolt).await;
        let vs = std::env::var_os("TAGROUTE_BENCH_VS").map(|b| serve_with(Path::new(&b), &[]));
        let canned = canned(&reply);
        for _ in 0..rounds {
            let tagroute = drive_server("plain", &plain, secs).await;
            if let Some(vs) = &vs {
                let other = drive_server("vs", vs, secs).await;
                println!(
                    "vs / plain: {:.2} answers/s, {:.2} CPU per answer",
                    other.0 / tagroute.0,
                    other.1 / tagroute.1
                );
            }
            let limit = drive_server("limit", &canned, secs).await;
            println!(
                "plain / limit: {:.2} (the limit answers with tagroute's recorded bytes and does nothing else)",
                tagroute.0 / limit.0
            );
            println!(
                "CPU per answer, limit / plain: {:.2} ({:.2} µs more per answer in tagroute)",
                limit.1 / tagroute.1,
                tagroute.1 - limit.1
            );
        }
        drop((plain, vs, canned));

        let (cert, key, roots) = self_signed();
        let tls = serve(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
        let bolt = tls.bolt;
        let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = TlsConnector::from(Arc::new(config));
        let connect = move || {
            let connector = connector.clone();
            async move {
                let localhost = ServerName::try_from("localhost").unwrap();
                connector.connect(localhost, plain_to(bolt).await).await.unwrap()
            }
        };
        report("TLS", load(connect, secs).await, secs as f64);
        drop(tls);

        // One address holds them all here, where a fleet has many: lift the per-peer cap.
        let idle = serve(&["--max-connections-per-peer", "20000"]);
        let before = rss_kib(idle.child.id());
        let mut held = Vec::with_capacity(idle_count);
        for _ in 0..idle_count {
            held.push(Conn::open(plain_to(idle.bolt).await).await);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib(idle.child.id());
        println!(
            "idle: server resident memory {:.1} MB with {idle_count} idle connections ({:.1} MB before them)",
            after as f64 / 1024.0,
            before as f64 / 1024.0
        );
        drop(held);
    });
    if std::env::var_os("TAGROUTE_BENCH_NO_ATTACKS").is_none() {
        attack::run(secs);
    }
}
