//! The admin listener: metrics, health, the topology and its updates, reloads.

use super::client::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_marked_down_leaves_the_next_table_and_bad_updates_change_nothing() {
    let (config, topology) = (data("neo4j.conf"), data("topology.json"));
    let server = start(settings(&config, &topology)).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let before = client.route(Some("europe"), None).await.expect("a table");
    assert!(before.roles["READ"].contains("r1.example.com:7687"));

    let (status, body) = http(server.admin, "GET", "/topology", "").await;
    assert_eq!(status, 200);
    let snapshot: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(snapshot["epoch"], 0);
    assert_eq!(snapshot["servers"][3]["name"], "r1");

    let bad = r#"[{"op": "set_available", "server": "r1", "available": false},
                  {"op": "set_available", "server": "r9", "available": false}]"#;
    let (status, body) = http(server.admin, "POST", "/topology/updates", bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown server `r9`"), "{body}");
    let (status, body) = http(server.admin, "POST", "/topology/updates", "{").await;
    assert_eq!(
        (status, body.contains("invalid JSON")),
        (400, true),
        "{body}"
    );
    assert_eq!(client.route(Some("europe"), None).await, Ok(before.clone()));

    let down = r#"[{"op": "set_available", "server": "r1", "available": false}]"#;
    let (status, body) = http(server.admin, "POST", "/topology/updates", down).await;
    assert_eq!((status, body.trim()), (200, r#"{"epoch":1}"#));
    let after = client.route(Some("europe"), None).await.expect("a table");
    assert!(
        !after.roles["READ"].contains("r1.example.com:7687"),
        "{after:?}"
    );
    assert!(after.roles["READ"].contains("r2.example.com:7687"));

    let (_, body) = http(server.admin, "GET", "/topology", "").await;
    let snapshot: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (
            snapshot["epoch"].as_u64(),
            snapshot["servers"][3]["available"].as_bool()
        ),
        (Some(1), Some(false))
    );

    let (status, metrics) = http(server.admin, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    for line in [
        "tagroute_route_requests_total{policy=\"europe\",database=\"neo4j\",outcome=\"ok\"} 3",
        "tagroute_policy_answers_total{policy=\"europe\",rule=\"1\"} 3",
        "tagroute_topology_updates_total{outcome=\"error\"} 2",
        "tagroute_topology_updates_total{outcome=\"ok\"} 1",
        "tagroute_topology_epoch 1",
        "tagroute_connections_open 1",
        "tagroute_connections_accepted_total 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    assert_eq!(
        http(server.admin, "GET", "/healthz", "").await,
        (200, "ok\n".into())
    );
    assert_eq!(http(server.admin, "GET", "/nope", "").await.0, 404);
    assert_eq!(http(server.admin, "DELETE", "/topology", "").await.0, 405);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_reload_is_rejected_with_positions_and_the_old_configuration_keeps_serving() {
    let dir = scratch("reload");
    let (config, topology) = (dir.join("neo4j.conf"), dir.join("topology.json"));
    std::fs::copy(data("neo4j.conf"), &config).expect("copies");
    std::fs::copy(data("topology.json"), &topology).expect("copies");
    let server = start(settings(&config, &topology)).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let before = client.route(Some("europe"), None).await.expect("a table");

    let prefix = "dbms.routing.load_balancing.config.server_policies";
    std::fs::write(
        &config,
        format!("{prefix}.europe=tgas(eu)\n{prefix}.x=all()\n"),
    )
    .expect("writes");
    let (status, body) = http(server.admin, "POST", "/reload", "").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("neo4j.conf:1:"),
        "the error names its position: {body}"
    );
    assert_eq!(client.route(Some("europe"), None).await, Ok(before));

    std::fs::write(
        &config,
        format!("{prefix}.europe=tags(us)\ndbms.routing_ttl=42s\n"),
    )
    .expect("writes");
    let (status, _) = http(server.admin, "POST", "/reload", "").await;
    assert_eq!(status, 200);
    let after = client.route(Some("europe"), None).await.expect("a table");
    assert_eq!(
        after,
        expected(&config, &topology, Some("europe"), "neo4j").expect("a table")
    );
    assert_eq!(after.ttl, 42);

    std::fs::write(&topology, "{\"servers\": [{\"name\": \"a\"}]}").expect("writes");
    let (status, body) = http(server.admin, "POST", "/reload", "").await;
    assert_eq!(status, 422);
    assert!(body.contains("servers[0].address: missing field"), "{body}");
    assert_eq!(client.route(Some("europe"), None).await, Ok(after));

    let metrics = server.handle.metrics();
    for line in [
        "tagroute_reloads_total{source=\"http\",outcome=\"error\"} 2",
        "tagroute_reloads_total{source=\"http\",outcome=\"ok\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_is_reloaded_by_the_watcher() {
    let dir = scratch("watch");
    let (config, topology) = (dir.join("neo4j.conf"), dir.join("topology.json"));
    std::fs::copy(data("neo4j.conf"), &config).expect("copies");
    std::fs::copy(data("topology.json"), &topology).expect("copies");
    let mut settings = settings(&config, &topology);
    settings.watch_interval = Some(std::time::Duration::from_millis(50));
    let server = start(settings).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let prefix = "dbms.routing.load_balancing.config.server_policies";
    std::fs::write(&config, format!("{prefix}.watched=tags(us)\n")).expect("writes");
    // Bounded wait for the watcher (at most 200 polls); no timing is asserted.
    let mut answer = client.route(Some("watched"), None).await;
    for _ in 0..200 {
        if answer.is_ok() {
            break;
        }
        client.send(RESET, Vec::new()).await;
        client.receive().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        answer = client.route(Some("watched"), None).await;
    }
    assert_eq!(
        answer.map_err(|f| f.message),
        expected(&config, &topology, Some("watched"), "neo4j")
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
