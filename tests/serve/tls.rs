//! TLS: a client that trusts the server's (self-signed) certificate gets the same tables; a
//! plain-text client is dropped.

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use super::client::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_table_arrives_over_tls() {
    let dir = scratch("tls");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("a certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("writes");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("writes");
    let (config, topology) = (data("neo4j.conf"), data("topology.json"));
    let mut settings = settings(&config, &topology);
    settings.tls = Some((cert, key));
    let server = start(settings).await;

    let mut roots = RootCertStore::empty();
    roots.add(certified.cert.der().clone()).expect("a root");
    let client_config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(client_config));
    let tcp = TcpStream::connect(server.bolt).await.expect("connects");
    let name = ServerName::try_from("localhost").expect("a name");
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let mut client = Client::over(tls);
    let (_, logon) = client.login("neo4j", "any").await;
    assert_eq!(logon.tag(), SUCCESS);
    assert_eq!(
        client
            .route(Some("europe"), None)
            .await
            .map_err(|f| f.message),
        expected(&config, &topology, Some("europe"), "neo4j")
    );

    let mut plain = Client::connect(server.bolt).await;
    let reply = plain.handshake_with(&PYTHON_HANDSHAKE).await;
    assert_ne!(
        reply,
        [0, 0, 8, 5],
        "no Bolt without TLS (at most a TLS alert)"
    );
    assert!(
        plain.receive_raw_closed().await,
        "and the connection closes"
    );
    // The refusal is counted just after the socket closes: look a bounded number of times.
    let refused = "tagroute_connections_refused_total{reason=\"tls\"} 1";
    let mut metrics = server.handle.metrics();
    for _ in 0..200 {
        if metrics.lines().any(|l| l == refused) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        metrics = server.handle.metrics();
    }
    assert!(metrics.lines().any(|l| l == refused), "{metrics}");
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
