//! Honest clients' ROUTE latency alone and under each attack of issue 21, side by side in one
//! run: for each scenario a fresh server (with an auth file, so that logins are checked), the
//! attack started from 127.0.0.1 on a runtime of its own, then 20 honest connections from
//! 127.0.0.2, logged in, each asking ROUTE after ROUTE for the run's seconds. The server, the
//! attack and the honest clients share this machine's cores, as they would on loopback.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

const HONEST: usize = 20;

/// An attack of issue 21, as an attacker on loopback runs it.
#[derive(Clone, Copy, Debug)]
enum Attack {
    None,
    /// Row 1/2: 2,000 half-sent admin requests, reconnecting when cut.
    AdminHalfSent,
    /// Row 3: 8 logged-in connections asking ROUTE with 30 KB policy names, again and again.
    LongNames,
    /// Row 4: 600 connections logging in with a wrong password, again and again.
    WrongPasswords,
    /// Row 5: 120 connections trickling a handshake and HELLO a byte every 100 ms.
    Slowloris,
    /// Garbage: 4 connections at a time sending 64 random bytes each.
    Garbage,
}

const SCENARIOS: [(&str, Attack); 6] = [
    ("alone", Attack::None),
    ("admin half-sent x2000", Attack::AdminHalfSent),
    ("30 KB names x8", Attack::LongNames),
    ("wrong passwords x600", Attack::WrongPasswords),
    ("slowloris x120", Attack::Slowloris),
    ("garbage x4", Attack::Garbage),
];

async fn from(host: u8, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, host], 0)))?;
    let stream = socket.connect(to).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

const LOGIN: [(&str, &str); 3] = [
    ("scheme", "basic"),
    ("principal", "app"),
    ("credentials", "s3cret"),
];

/// Runs `attack` against `server` until `stop`.
async fn attack(attack: Attack, bolt: SocketAddr, admin: SocketAddr, stop: Arc<AtomicBool>) {
    let running = move || !stop.load(Ordering::Relaxed);
    let tasks: Vec<_> = match attack {
        Attack::None => Vec::new(),
        Attack::AdminHalfSent => (0..2_000)
            .map(|_| {
                let running = running.clone();
                tokio::spawn(async move {
                    while running() {
                        let Ok(mut stream) = from(1, admin).await else {
                            continue;
                        };
                        let _ = stream
                            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                            .await;
                        let mut sink = [0u8; 256];
                        while running() {
                            let wait = Duration::from_millis(200);
                            let read = tokio::time::timeout(wait, stream.read(&mut sink)).await;
                            if let Ok(Ok(0) | Err(_)) = read {
                                break;
                            }
                        }
                    }
                })
            })
            .collect(),
        Attack::LongNames => (0..8)
            .map(|_| {
                let running = running.clone();
                tokio::spawn(async move {
                    let mut conn = Conn::open_as(from(3, bolt).await.unwrap(), &LOGIN).await;
                    let long = "x".repeat(30_000);
                    let ask = message(
                        0x66,
                        vec![
                            strings(&[("policy", &long), ("address", "127.0.0.1:7687")]),
                            Value::List(Vec::new()),
                            Value::Map(Default::default()),
                        ],
                    );
                    let reset = message(0x0F, Vec::new());
                    while running() {
                        conn.stream.write_all(&ask).await.unwrap();
                        conn.stream.write_all(&reset).await.unwrap();
                        conn.reply().await;
                        conn.reply().await;
                    }
                })
            })
            .collect(),
        Attack::WrongPasswords => (0..600)
            .map(|_| {
                let running = running.clone();
                tokio::spawn(async move {
                    let wrong = [
                        ("scheme", "basic"),
                        ("principal", "app"),
                        ("credentials", "wrong"),
                    ];
                    while running() {
                        let Ok(stream) = from(1, bolt).await else {
                            continue;
                        };
                        let _ = tokio::time::timeout(
                            Duration::from_secs(5),
                            Conn::open_as(stream, &wrong),
                        )
                        .await;
                    }
                })
            })
            .collect(),
        Attack::Slowloris => (0..120)
            .map(|_| {
                let running = running.clone();
                tokio::spawn(async move {
                    let mut bytes = HANDSHAKE.to_vec();
                    bytes.extend(message(0x01, vec![strings(&[("user_agent", "slow/1")])]));
                    while running() {
                        let Ok(mut stream) = from(1, bolt).await else {
                            continue;
                        };
                        for byte in &bytes {
                            if !running() || stream.write_all(&[*byte]).await.is_err() {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                })
            })
            .collect(),
        Attack::Garbage => (0..4u64)
            .map(|seed| {
                let running = running.clone();
                tokio::spawn(async move {
                    let mut rng = tagroute::rng::Rng::seeded(seed);
                    while running() {
                        let Ok(mut stream) = from(1, bolt).await else {
                            continue;
                        };
                        let garbage: Vec<u8> = (0..64).map(|_| rng.next_u64() as u8).collect();
                        let _ = stream.write_all(&garbage).await;
                        let mut sink = [0u8; 64];
                        let _ = tokio::time::timeout(
                            Duration::from_millis(100),
                            stream.read(&mut sink),
                        )
                        .await;
                    }
                })
            })
            .collect(),
    };
    for task in tasks {
        let _ = task.await;
    }
}

/// [`HONEST`] logged-in connections from 127.0.0.2 asking ROUTE one at a time for `secs`:
/// answers and latencies (µs).
async fn honest(bolt: SocketAddr, secs: u64) -> (u64, Vec<u32>) {
    let mut conns = Vec::new();
    for _ in 0..HONEST {
        conns.push(Conn::open_as(from(2, bolt).await.unwrap(), &LOGIN).await);
    }
    drive(conns, secs).await
}

pub fn run(secs: u64) {
    let dir = std::env::temp_dir().join(format!("tagroute-bench-attack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let auth = dir.join("users.auth");
    let hash = tagroute::serve::auth::hash_password("s3cret").unwrap();
    std::fs::write(&auth, format!("app:{}\n", hash.as_str())).unwrap();
    println!(
        "under attack: {HONEST} honest connections from 127.0.0.2, logged in, ROUTE one at a time; the attack from 127.0.0.1"
    );
    for (name, kind) in SCENARIOS {
        let server = serve(&[
            "--auth-file",
            auth.to_str().unwrap(),
            "--admin",
            "127.0.0.1:0",
        ]);
        let (bolt, admin) = (server.bolt, server.admin.unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let attacker = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(attack(kind, bolt, admin, stop));
            })
        };
        runtime().block_on(async {
            // Let the attack take hold first.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (count, mut latencies) = honest(bolt, secs).await;
            latencies.sort_unstable();
            let at = |q: f64| quantile(&latencies, q);
            println!(
                "attack {name}: honest ROUTE p50 {} µs, p99 {} µs, {count} answers on {HONEST} of {HONEST} connections",
                at(0.50),
                at(0.99)
            );
        });
        stop.store(true, Ordering::Relaxed);
        attacker.join().unwrap();
        drop(server);
    }
    let _ = std::fs::remove_dir_all(dir);
}
