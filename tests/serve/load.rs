//! Load and faults, bounded in count and time: many connections each checked answer by answer,
//! misbehaving clients beside well-behaved ones, and a reload storm under load.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::client::*;

/// A policy and a database to ask for (`None`: the default, the home database).
type Question = (Option<&'static str>, Option<&'static str>);

/// The questions the load clients ask in turn, each with the routing module's answer.
fn questions() -> Vec<(Question, Table)> {
    let (config, topology) = (data("neo4j.conf"), data("topology.json"));
    [
        (Some("europe"), None),
        (None, None),
        (Some("fallback"), Some("neo4j")),
        (Some("default"), Some("movies")),
    ]
    .into_iter()
    .map(|(p, d)| {
        let want = expected(&config, &topology, p, d.unwrap_or("neo4j")).expect("a table");
        ((p, d), want)
    })
    .collect()
}

/// `TAGROUTE_SERVE_FULL=1` runs the full size (200 x 1,000); by default 200 x 100.
fn requests_per_connection() -> usize {
    if std::env::var_os("TAGROUTE_SERVE_FULL").is_some() {
        1_000
    } else {
        100
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_connections_get_every_answer_right() {
    let server = start(settings(&data("neo4j.conf"), &data("topology.json"))).await;
    let questions = std::sync::Arc::new(questions());
    let (per, bolt) = (requests_per_connection(), server.bolt);
    let clients: Vec<_> = (0..200)
        .map(|c| {
            let questions = std::sync::Arc::clone(&questions);
            tokio::spawn(async move {
                let mut client = Client::connect(bolt).await;
                client.login("neo4j", "any").await;
                for i in 0..per {
                    let ((policy, db), want) = &questions[(c + i) % questions.len()];
                    let got = client.route(*policy, *db).await;
                    assert_eq!(got.as_ref(), Ok(want), "connection {c} request {i}");
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("every answer right");
    }
    let metrics = server.handle.metrics();
    let total: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("tagroute_route_requests_total{") && l.contains("outcome=\"ok\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(total, 200 * per as u64);
    server.stop().await;
}

/// A connection the server should close by itself; `Err` if it did not within 30 s.
async fn closed_by_server(mut stream: TcpStream) -> Result<(), String> {
    if closed_within(&mut stream, Duration::from_secs(30)).await {
        Ok(())
    } else {
        Err("still open after 30 s".to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_stalled_and_silent_clients_are_dropped_while_good_ones_get_answers() {
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.handshake_timeout = Duration::from_millis(300);
    settings.idle_timeout = Duration::from_millis(500);
    settings.max_message_size = 1024;
    let server = start(settings).await;
    let bolt = server.bolt;
    let mut rng = tagroute::rng::Rng::seeded(9);
    let mut bad = Vec::new();
    for i in 0..20u64 {
        // Random bytes, from the first byte or after a good handshake.
        let garbage: Vec<u8> = (0..64).map(|_| rng.next_u64() as u8).collect();
        bad.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(bolt).await.expect("connects");
            if i % 2 == 1 {
                stream.write_all(&PYTHON_HANDSHAKE).await.expect("writes");
            }
            let _ = stream.write_all(&garbage).await;
            closed_by_server(stream).await
        }));
        // Stops in the middle of the handshake, or of a message.
        bad.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(bolt).await.expect("connects");
            if i % 2 == 0 {
                stream
                    .write_all(&PYTHON_HANDSHAKE[..7])
                    .await
                    .expect("writes");
            } else {
                stream.write_all(&PYTHON_HANDSHAKE).await.expect("writes");
                let hello = message(
                    HELLO,
                    vec![tagroute::bolt::packstream::Value::Map(Default::default())],
                );
                stream
                    .write_all(&hello[..hello.len() / 2])
                    .await
                    .expect("writes");
            }
            closed_by_server(stream).await
        }));
        // Never speaks.
        bad.push(tokio::spawn(async move {
            let stream = TcpStream::connect(bolt).await.expect("connects");
            closed_by_server(stream).await
        }));
        // A message over the size limit.
        bad.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(bolt).await.expect("connects");
            stream.write_all(&PYTHON_HANDSHAKE).await.expect("writes");
            let mut huge = vec![0xFF, 0xFF];
            huge.extend(std::iter::repeat_n(0x80u8, 0xFFFF));
            let _ = stream.write_all(&huge).await;
            closed_by_server(stream).await
        }));
    }
    let questions = std::sync::Arc::new(questions());
    let good: Vec<_> = (0..20)
        .map(|c| {
            let questions = std::sync::Arc::clone(&questions);
            tokio::spawn(async move {
                let mut client = Client::connect(bolt).await;
                client.login("neo4j", "any").await;
                for i in 0..100 {
                    let ((policy, db), want) = &questions[(c + i) % questions.len()];
                    assert_eq!(client.route(*policy, *db).await.as_ref(), Ok(want));
                }
            })
        })
        .collect();
    for client in good {
        client.await.expect("good clients get every answer");
    }
    for client in bad {
        assert_eq!(client.await.expect("runs"), Ok(()));
    }
    let mut client = Client::connect(bolt).await;
    client.login("neo4j", "any").await;
    assert!(client.route(None, None).await.is_ok(), "still serving");
    let metrics = server.handle.metrics();
    let refused = |reason: &str| {
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "tagroute_connections_refused_total{{reason=\"{reason}\"}} "
                ))
            })
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(refused("handshake") >= 30, "{metrics}");
    server.stop().await;
}

/// The idle timeout counts from a client's last message, not from when the connection's timer
/// was first armed: one that asks for longer than the timeout is served throughout, then closed
/// once it falls silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_counts_from_the_last_message() {
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.idle_timeout = Duration::from_millis(600);
    let server = start(settings).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    for asked in 0..15 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = client.route(Some("europe"), None).await;
        assert!(
            answer.is_ok(),
            "ROUTE {asked}, 100 ms after the one before: {answer:?}"
        );
    }
    let closed = tokio::time::timeout(Duration::from_secs(20), client.receive_raw_closed()).await;
    assert_eq!(closed, Ok(true), "still open 20 s after the last message");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_answers_is_closed_after_the_idle_timeout() {
    let mut settings = settings(&data("neo4j.conf"), &data("topology.json"));
    settings.idle_timeout = Duration::from_millis(500);
    let server = start(settings).await;
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("a small receive buffer");
    let mut client = Client::over(socket.connect(server.bolt).await.expect("connects"));
    client.login("neo4j", "any").await;
    // Ask until the server takes no more: its answers have filled both sides' buffers.
    let batch = message(ROUTE, route_fields(Some("europe"), None)).repeat(100);
    let mut asked = 0;
    while asked < 1_000_000 {
        match tokio::time::timeout(Duration::from_millis(300), client.send_raw(&batch)).await {
            Ok(sent) => sent.expect("the server reads until its answers stall"),
            Err(_) => break,
        }
        asked += 100;
    }
    assert!(
        asked < 1_000_000,
        "the server took {asked} requests without a stall"
    );
    let open = |metrics: &str| metrics.lines().any(|l| l == "tagroute_connections_open 1");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while open(&server.handle.metrics()) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = server.handle.metrics();
    assert!(
        !open(&metrics),
        "still open 20 s after its answers stalled:\n{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_storm_under_load_never_answers_from_a_half_loaded_configuration() {
    let dir = scratch("storm");
    let (config, topology) = (dir.join("neo4j.conf"), dir.join("topology.json"));
    std::fs::copy(data("topology.json"), &topology).expect("copies");
    let prefix = "dbms.routing.load_balancing.config.server_policies";
    let a = format!(
        "{prefix}.p=tags(eu)\ndbms.routing_ttl=100s\ndbms.routing.reads_on_writers_enabled=true\n"
    );
    let b = format!("{prefix}.p=tags(us)\ndbms.routing_ttl=200s\n");
    let broken = format!("{prefix}.p=tags(us\ndbms.routing_ttl=300s\n");
    let mut answers = Vec::new();
    for text in [&a, &b] {
        std::fs::write(&config, text).expect("writes");
        answers.push(expected(&config, &topology, Some("p"), "neo4j").expect("a table"));
    }
    assert_ne!(answers[0].roles["READ"], answers[1].roles["READ"]);
    std::fs::write(&config, &a).expect("writes");
    let server = start(settings(&config, &topology)).await;
    let bolt = server.bolt;
    let answers = std::sync::Arc::new(answers);
    let clients: Vec<_> = (0..20)
        .map(|c| {
            let answers = std::sync::Arc::clone(&answers);
            tokio::spawn(async move {
                let mut client = Client::connect(bolt).await;
                client.login("neo4j", "any").await;
                for i in 0..300 {
                    let got = client.route(Some("p"), None).await.expect("a table");
                    assert!(
                        answers.contains(&got),
                        "connection {c} request {i}: {got:?}"
                    );
                }
            })
        })
        .collect();
    let mut outcomes = (0, 0);
    for round in 0..30 {
        for text in [&broken, &b, &broken, &a] {
            std::fs::write(&config, text).expect("writes");
            match server.handle.reload("http").await {
                Ok(_) => outcomes.0 += 1,
                Err(_) => outcomes.1 += 1,
            }
        }
        if round % 10 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(outcomes, (60, 60));
    for client in clients {
        client
            .await
            .expect("every answer is one whole configuration's");
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
