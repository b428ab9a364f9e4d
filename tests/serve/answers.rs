//! ROUTE answers over a real socket: the routing module's tables, its failures with their
//! codes, advertised routers, authentication.

use tagroute::bolt::Version;
use tagroute::bolt::packstream::Value;

use super::client::*;

fn files() -> (std::path::PathBuf, std::path::PathBuf) {
    (data("neo4j.conf"), data("topology.json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_is_the_routing_modules_at_every_version() {
    let (config, topology) = files();
    for version in ["4.4", "5.0", "5.4", "5.8"] {
        let mut settings = settings(&config, &topology);
        settings.max_bolt_version = version.parse::<Version>().expect("a version");
        let server = start(settings).await;
        let mut client = Client::connect(server.bolt).await;
        let (negotiated, logon) = client.login("neo4j", "any").await;
        assert_eq!(format!("{}.{}", negotiated.0, negotiated.1), version);
        assert_eq!(logon.tag(), SUCCESS);
        for (policy, db) in [
            (Some("europe"), None),
            (None, None),
            (Some("default"), Some("movies")),
            (Some("fallback"), Some("neo4j")),
        ] {
            let want = expected(&config, &topology, policy, db.unwrap_or("neo4j"));
            assert_eq!(
                client.route(policy, db).await.map_err(|f| f.message),
                want,
                "{policy:?} {db:?} at {version}"
            );
        }
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_and_empty_roles_fail_with_neo4j_codes_and_reset_recovers() {
    let (config, topology) = files();
    let server = start(settings(&config, &topology)).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let failed = client
        .route(Some("atlantis"), None)
        .await
        .expect_err("unknown policy");
    assert_eq!(
        failed,
        Failed {
            code: "Neo.ClientError.Procedure.ProcedureCallFailed".into(),
            message: "Policy definition for 'atlantis' could not be found.".into(),
            gql_status: "08N15".into(),
        }
    );
    client.send(ROUTE, route_fields(None, None)).await;
    assert_eq!(client.receive().await.map(|m| m.tag()), Some(IGNORED));
    client.send(RESET, Vec::new()).await;
    assert_eq!(client.receive().await.map(|m| m.tag()), Some(SUCCESS));

    let failed = client
        .route(None, Some("nope"))
        .await
        .expect_err("unknown db");
    assert_eq!(
        (failed.code.as_str(), failed.gql_status.as_str()),
        ("Neo.ClientError.Database.DatabaseNotFound", "22N51")
    );
    client.send(RESET, Vec::new()).await;
    client.receive().await;

    let failed = client
        .route(Some("north1_only"), None)
        .await
        .expect_err("no reader");
    assert_eq!(
        failed.code,
        "Neo.TransientError.General.DatabaseUnavailable"
    );
    assert_eq!(
        failed.message,
        "no READ server for database `neo4j`: policy `north1_only` halted among 4 usable \
         readers (`tags(north1)->min(2)`: `min(2)` saw 1)"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertised_addresses_replace_the_routers() {
    let (config, topology) = files();
    let mut settings = settings(&config, &topology);
    settings.advertise = vec!["tagroute-a:7687".into(), "tagroute-b:7687".into()];
    let server = start(settings).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let table = client.route(Some("europe"), None).await.expect("a table");
    let mut want = expected(&config, &topology, Some("europe"), "neo4j").expect("a table");
    want.roles.insert(
        "ROUTE".into(),
        ["tagroute-a:7687", "tagroute-b:7687"]
            .map(String::from)
            .into(),
    );
    assert_eq!(table, want);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_file_lets_in_the_right_password_only() {
    let (config, topology) = files();
    let dir = scratch("auth");
    let hash = tagroute::serve::auth::hash_password("s3cret").expect("hashes");
    let auth = dir.join("users.auth");
    std::fs::write(&auth, format!("app:{}\n", hash.as_str())).expect("writes");
    for version in ["5.0", "5.8"] {
        let mut settings = settings(&config, &topology);
        settings.auth_file = Some(auth.clone());
        settings.max_bolt_version = version.parse::<Version>().expect("a version");
        let server = start(settings).await;

        let mut good = Client::connect(server.bolt).await;
        let (_, reply) = good.login("app", "s3cret").await;
        assert_eq!(reply.tag(), SUCCESS, "{version}");
        assert!(good.route(None, None).await.is_ok());

        let mut bad = Client::connect(server.bolt).await;
        let (_, reply) = bad.login("app", "wrong").await;
        let failed = parse_reply(&reply).expect_err("refused");
        assert_eq!(
            failed.code, "Neo.ClientError.Security.Unauthorized",
            "{version}"
        );
        assert!(bad.receive().await.is_none(), "the connection closes");

        let mut nobody = Client::connect(server.bolt).await;
        let (_, reply) = nobody.login("root", "s3cret").await;
        assert_eq!(reply.tag(), FAILURE);

        let mut retried = Client::connect(server.bolt).await;
        let (_, reply) = retried.login("app", "s3cret").await;
        assert_eq!(
            reply.tag(),
            SUCCESS,
            "{version}: the right password right after two wrong ones is checked, not paused"
        );
        server.stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_refused_as_routing_only() {
    let (config, topology) = files();
    let server = start(settings(&config, &topology)).await;
    let mut client = Client::connect(server.bolt).await;
    client.login("neo4j", "any").await;
    let run = vec![
        Value::from("RETURN 1"),
        Value::Map(Default::default()),
        Value::Map(Default::default()),
    ];
    client.send(0x10, run).await;
    let reply = client.receive().await.expect("answered");
    let failed = parse_reply(&reply).expect_err("refused");
    assert_eq!(failed.code, "Neo.ClientError.Request.Invalid");
    server.stop().await;
}
