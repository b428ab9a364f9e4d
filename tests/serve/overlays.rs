//! The served topology's layers over real sockets: overrides kept through reloads and restarts
//! (the state file), listed and cleared, `GET /topology` naming who decided; and Neo4j's
//! database semantics in ROUTE (default and home databases, names in any case, aliases).

use super::client::*;

/// A scratch copy of the test files, and a state file beside them.
fn files(name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let dir = scratch(name);
    let (config, topology) = (dir.join("neo4j.conf"), dir.join("topology.json"));
    std::fs::copy(data("neo4j.conf"), &config).expect("copies");
    std::fs::copy(data("topology.json"), &topology).expect("copies");
    (config, topology, dir.join("state.json"))
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn readers(server: &Running, policy: Option<&str>) -> std::collections::BTreeSet<String> {
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let table = client.route(policy, None).await.expect("a table");
    table.roles["READ"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_survive_reloads_of_both_files_and_a_restart() {
    let (config, topology, state) = files("overlays-reload");
    let mut settings = settings(&config, &topology);
    settings.state_file = Some(state.clone());
    let server = start(settings.clone()).await;
    let down = r#"[{"op": "set_available", "server": "r1", "available": false},
                   {"op": "set_tags", "server": "r2", "tags": ["us"]}]"#;
    let (status, body) = http(server.admin, "POST", "/topology/updates", down).await;
    assert_eq!(status, 200, "{body}");
    let eu = readers(&server, Some("europe")).await;
    assert!(
        !eu.contains("r1.example.com:7687") && !eu.contains("r2.example.com:7687"),
        "{eu:?}"
    );

    // The topology file changes: a new server, r1 said to be up. The overrides stay on top.
    let text = std::fs::read_to_string(&topology).expect("reads");
    let changed = text.replacen(
        r#"{"name": "r3""#,
        r#"{"name": "r4", "address": "r4.example.com:7687", "tags": ["eu"]},
    {"name": "r3""#,
        1,
    );
    std::fs::write(&topology, changed).expect("writes");
    let epoch = server.handle.reload("http").await.expect("reloads");
    assert!(epoch > 1);
    let eu = readers(&server, Some("europe")).await;
    assert!(
        !eu.contains("r1.example.com:7687"),
        "the override keeps r1 down: {eu:?}"
    );
    assert!(
        !eu.contains("r2.example.com:7687"),
        "the override keeps r2's tags: {eu:?}"
    );
    let (_, body) = http(server.admin, "GET", "/topology", "").await;
    let served = json(&body);
    let r4 = served["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "r4"))
        .expect("r4 came with the file");
    assert_eq!(
        r4["decided_by"],
        serde_json::json!({"available": "file", "tags": "file"})
    );

    // neo4j.conf changes: a new policy, the overrides stay.
    let mut conf = std::fs::read_to_string(&config).expect("reads");
    conf.push_str("dbms.routing.load_balancing.config.server_policies.us=tags(us); halt()\n");
    std::fs::write(&config, conf).expect("writes");
    server.handle.reload("sighup").await.expect("reloads");
    let us = readers(&server, Some("us")).await;
    assert!(
        us.contains("r2.example.com:7687"),
        "r2 carries `us` by override: {us:?}"
    );
    assert!(
        !readers(&server, Some("europe"))
            .await
            .contains("r1.example.com:7687")
    );
    // An unchanged reload publishes nothing.
    let before = server.handle.snapshot().epoch();
    assert_eq!(server.handle.reload("http").await, Ok(before));
    server.stop().await;

    // A restart reads the overrides back from the state file.
    let server = start(settings).await;
    let eu = readers(&server, Some("europe")).await;
    assert!(
        !eu.contains("r1.example.com:7687") && !eu.contains("r2.example.com:7687"),
        "{eu:?}"
    );
    let (_, body) = http(server.admin, "GET", "/topology/overrides", "").await;
    let listed = json(&body);
    assert_eq!(
        listed["overrides"],
        serde_json::json!([
            {"op": "set_available", "server": "r1", "available": false, "active": true},
            {"op": "set_tags", "server": "r2", "tags": ["us"], "active": true},
        ])
    );
    assert_eq!(listed["state_file"], state.display().to_string());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_are_listed_cleared_and_explained() {
    let (config, topology, state) = files("overlays-clear");
    let mut settings = settings(&config, &topology);
    settings.state_file = Some(state.clone());
    let server = start(settings).await;
    let posted = r#"[{"op": "set_available", "server": "r1", "available": false},
                     {"op": "set_leader", "database": "NEO4J", "leader": "p2"}]"#;
    assert_eq!(
        http(server.admin, "POST", "/topology/updates", posted)
            .await
            .0,
        200
    );
    let (_, body) = http(server.admin, "GET", "/topology", "").await;
    let served = json(&body);
    assert_eq!(served["base"], "file");
    let neo4j = &served["databases"][0];
    assert_eq!(
        (&neo4j["leader"], &neo4j["decided_by"]["leader"]),
        (&"p2".into(), &"override".into())
    );
    assert_eq!(served["servers"][3]["decided_by"]["available"], "override");
    assert_eq!(served["servers"][0]["decided_by"]["available"], "file");

    let (status, body) = http(
        server.admin,
        "DELETE",
        "/topology/overrides?database=neo4j",
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["cleared"], 1);
    let (_, body) = http(server.admin, "GET", "/topology", "").await;
    assert_eq!(
        json(&body)["databases"][0]["leader"],
        "p1",
        "the file's leader is back"
    );
    let saved = std::fs::read_to_string(&state).expect("the state file");
    assert!(
        !saved.contains("set_leader") && saved.contains("set_available"),
        "{saved}"
    );

    let (status, body) = http(server.admin, "DELETE", "/topology/overrides?color=red", "").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = http(server.admin, "DELETE", "/topology/overrides", "").await;
    assert_eq!((status, json(&body)["cleared"].as_u64()), (200, Some(1)));
    assert!(
        readers(&server, Some("europe"))
            .await
            .contains("r1.example.com:7687")
    );
    let (_, body) = http(server.admin, "GET", "/topology/overrides", "").await;
    assert_eq!(json(&body)["overrides"], serde_json::json!([]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_that_cannot_be_kept_is_refused_and_changes_nothing() {
    let (config, topology, state) = files("overlays-unwritable");
    let mut settings = settings(&config, &topology);
    // The state file's directory does not exist: nothing can be kept there.
    settings.state_file = Some(state.with_file_name("gone").join("state.json"));
    let server = start(settings).await;
    let down = r#"[{"op": "set_available", "server": "r1", "available": false}]"#;
    let (status, body) = http(server.admin, "POST", "/topology/updates", down).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("the overrides cannot be kept, so none was applied"),
        "{body}"
    );
    assert!(
        readers(&server, Some("europe"))
            .await
            .contains("r1.example.com:7687")
    );
    assert_eq!(server.handle.snapshot().epoch(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_stops_the_server_at_start_naming_it() {
    let (config, topology, state) = files("overlays-corrupt");
    std::fs::write(
        &state,
        "{\"tagroute_state\": 1, \"overrides\": [{\"op\": \"set_av",
    )
    .expect("w");
    let mut settings = settings(&config, &topology);
    settings.state_file = Some(state.clone());
    let error = tagroute::serve::Server::bind(settings)
        .await
        .expect_err("refuses to start")
        .to_string();
    assert!(
        error.starts_with(&format!("{}: not a state file (", state.display())),
        "{error}"
    );
    assert!(
        error.ends_with("tagroute never drops overrides silently"),
        "{error}"
    );
}

/// A topology with a default database, an alias, and databases named in mixed case.
fn named_topology(dir: &std::path::Path) -> std::path::PathBuf {
    let text = r#"{
      "servers": [
        {"name": "p1", "address": "p1.example.com:7687"},
        {"name": "p2", "address": "p2.example.com:7687"}
      ],
      "databases": [
        {"name": "Movies", "primaries": ["p1", "p2"], "leader": "p1", "aliases": ["Films"], "default": true},
        {"name": "sales", "primaries": ["p2"], "leader": "p2"},
        {"name": "neo4j", "primaries": ["p1"], "leader": "p1"}
      ]
    }"#;
    let path = dir.join("named.json");
    std::fs::write(&path, text).expect("writes");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_finds_databases_by_name_or_alias_in_any_case_and_defaults_as_neo4j_does() {
    let (config, _, _) = files("overlays-names");
    let dir = config.parent().expect("a directory").to_owned();
    let topology = named_topology(&dir);
    let hash = tagroute::serve::auth::hash_password("pw").expect("hashes");
    let auth = dir.join("users.auth");
    std::fs::write(
        &auth,
        format!("seller:{0}:SALES\nplain:{0}\n", hash.as_str()),
    )
    .expect("writes");
    let mut settings = settings(&config, &topology);
    settings.auth_file = Some(auth);
    let server = start(settings).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("plain", "pw").await;
    // No database named: the topology's default, by its name.
    let table = client.route(None, None).await.expect("a table");
    assert_eq!(table.db, "Movies");
    assert_eq!(
        table.roles["WRITE"],
        ["p1.example.com:7687".to_owned()].into()
    );
    // Named in another case, or by an alias: the table answers to the name asked.
    for asked in ["movies", "MOVIES", "films", "FiLmS"] {
        let table = client.route(None, Some(asked)).await.expect("a table");
        assert_eq!(table.db, asked);
        assert_eq!(
            table.roles["WRITE"],
            ["p1.example.com:7687".to_owned()].into()
        );
    }
    let unknown = client.route(None, Some("nope")).await.expect_err("unknown");
    assert_eq!(unknown.code, "Neo.ClientError.Database.DatabaseNotFound");
    // A user's home database wins over the default.
    let mut seller = Client::connect(server.bolt).await;
    seller.login("seller", "pw").await;
    let table = seller.route(None, None).await.expect("a table");
    assert_eq!(table.db, "sales");
    assert_eq!(
        table.roles["WRITE"],
        ["p2.example.com:7687".to_owned()].into()
    );
    let metrics = server.handle.metrics();
    assert!(
        metrics.contains("database=\"Movies\",outcome=\"ok\"} 5"),
        "counted under the database's name:\n{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_default_in_the_topology_the_configuration_names_it() {
    let (config, topology, _) = files("overlays-initial");
    let mut conf = std::fs::read_to_string(&config).expect("reads");
    conf.push_str("initial.dbms.default_database=MOVIES\n");
    std::fs::write(&config, conf).expect("writes");
    let server = start(settings(&config, &topology)).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let table = client.route(None, None).await.expect("a table");
    assert_eq!(table.db, "movies");
    assert_eq!(
        table.roles["WRITE"],
        ["p2.example.com:7687".to_owned()].into()
    );
    server.stop().await;
}
