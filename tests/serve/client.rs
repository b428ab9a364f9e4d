//! A small Bolt client over tokio, built from the library's own PackStream and chunk code, a
//! raw HTTP/1.1 client for the admin listener, and a server started in-process.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tagroute::Strictness;
use tagroute::bolt::chunk::{self, Dechunker};
use tagroute::bolt::packstream::{self, Limits, Structure, Value};
use tagroute::config::Config;
use tagroute::rng::Rng;
use tagroute::routing::{Role, RouteRequest, RoutingService};
use tagroute::serve::{Handle, Server, Settings};
use tagroute::topology::{Snapshot, TagInterner, Topology, from_json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the Python drivers 5.28 and 6.x open with: magic, manifest v1, 5.8..5.0, 4.4..4.2, 3.0.
pub const PYTHON_HANDSHAKE: [u8; 20] = [
    0x60, 0x60, 0xB0, 0x17, 0, 0, 1, 0xFF, 0, 8, 8, 5, 0, 2, 4, 4, 0, 0, 0, 3,
];

pub const HELLO: u8 = 0x01;
pub const LOGON: u8 = 0x6A;
pub const ROUTE: u8 = 0x66;
pub const RESET: u8 = 0x0F;
pub const SUCCESS: u8 = 0x70;
pub const FAILURE: u8 = 0x7F;
pub const IGNORED: u8 = 0x7E;

/// The test data directory of the serve tests.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/serve")
        .join(name)
}

/// A fresh directory for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tagroute-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A routing table as sets per role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub ttl: i64,
    pub db: String,
    pub roles: BTreeMap<String, BTreeSet<String>>,
}

/// A FAILURE's code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    pub code: String,
    pub message: String,
    pub gql_status: String,
}

/// A Bolt client.
pub struct Client<S> {
    stream: S,
    dechunker: Dechunker,
}

impl Client<TcpStream> {
    pub async fn connect(address: SocketAddr) -> Client<TcpStream> {
        let stream = TcpStream::connect(address).await.expect("connects");
        stream.set_nodelay(true).expect("nodelay");
        Client::over(stream)
    }

    /// Connects from the loopback address `127.0.0.{host}`, a peer of its own to the server.
    pub async fn connect_from(address: SocketAddr, host: u8) -> Client<TcpStream> {
        let stream = connect_from(address, host).await.expect("connects");
        stream.set_nodelay(true).expect("nodelay");
        Client::over(stream)
    }
}

/// A TCP connection from `127.0.0.{host}` (any port) to `address`.
pub async fn connect_from(address: SocketAddr, host: u8) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, host], 0)))?;
    socket.connect(address).await
}

/// The value of the metric sample `line_prefix` (everything before the value), 0 if absent.
pub fn metric(metrics: &str, line_prefix: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line_prefix)?.strip_prefix(' '))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub fn over(stream: S) -> Client<S> {
        Client {
            stream,
            dechunker: Dechunker::new(1 << 20),
        }
    }

    /// Sends `handshake`, returns the server's four bytes (or fewer if it closed).
    pub async fn handshake_with(&mut self, handshake: &[u8]) -> Vec<u8> {
        self.stream.write_all(handshake).await.expect("writes");
        let mut reply = vec![0u8; 4];
        match self.stream.read_exact(&mut reply).await {
            Ok(_) => reply,
            Err(_) => Vec::new(),
        }
    }

    /// The Python drivers' handshake, then HELLO (+ LOGON from 5.1) with these credentials;
    /// returns the negotiated version and the last reply.
    pub async fn login(&mut self, user: &str, password: &str) -> ((u8, u8), Structure) {
        let reply = self.handshake_with(&PYTHON_HANDSHAKE).await;
        let version = (reply[3], reply[2]);
        let auth = [
            ("scheme", Value::from("basic")),
            ("principal", Value::from(user)),
            ("credentials", Value::from(password)),
        ];
        let mut hello: Vec<(&str, Value)> = vec![("user_agent", Value::from("tagroute-test/1"))];
        if version < (5, 1) {
            hello.extend(auth.iter().cloned());
            self.send(HELLO, vec![hello.into_iter().collect()]).await;
            return (version, self.receive().await.expect("HELLO answered"));
        }
        self.send(HELLO, vec![hello.into_iter().collect()]).await;
        self.send(LOGON, vec![auth.into_iter().collect()]).await;
        let hello = self.receive().await.expect("HELLO answered");
        assert_eq!(hello.tag(), SUCCESS, "{hello:?}");
        (version, self.receive().await.expect("LOGON answered"))
    }

    /// Sends one message.
    pub async fn send(&mut self, tag: u8, fields: Vec<Value>) {
        let bytes = message(tag, fields);
        self.send_raw(&bytes).await.expect("writes");
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Reads until the server closes; `false` if it sent more than 1 KiB first.
    pub async fn receive_raw_closed(&mut self) -> bool {
        let mut buffer = [0u8; 1024];
        let mut total = 0;
        while let Ok(n) = self.stream.read(&mut buffer).await {
            if n == 0 {
                return true;
            }
            total += n;
            if total > 1024 {
                return false;
            }
        }
        true
    }

    /// The next message, or `None` when the server closed.
    pub async fn receive(&mut self) -> Option<Structure> {
        let mut buffer = [0u8; 4096];
        loop {
            if let Some(body) = self.dechunker.next_message().expect("well framed") {
                let value = packstream::decode(body, &Limits::default()).expect("decodes");
                return value.as_struct().cloned();
            }
            let n = self.stream.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.dechunker.push(&buffer[..n]);
        }
    }

    /// Asks for a table with a ROUTE as the Python driver sends it.
    pub async fn route(&mut self, policy: Option<&str>, db: Option<&str>) -> Result<Table, Failed> {
        self.send(ROUTE, route_fields(policy, db)).await;
        let reply = self.receive().await.expect("ROUTE answered");
        parse_reply(&reply)
    }
}

/// ROUTE's fields: context (with `address`), no bookmarks, `{db}` when one is named.
pub fn route_fields(policy: Option<&str>, db: Option<&str>) -> Vec<Value> {
    let mut context = vec![("address", Value::from("127.0.0.1:7687"))];
    context.extend(policy.map(|p| ("policy", Value::from(p))));
    let extra: Value = db.map(|d| ("db", Value::from(d))).into_iter().collect();
    vec![
        context.into_iter().collect(),
        Value::List(Vec::new()),
        extra,
    ]
}

/// One framed message.
pub fn message(tag: u8, fields: Vec<Value>) -> Vec<u8> {
    let mut body = Vec::new();
    let value = Value::Struct(Structure::new(tag, fields).expect("few fields"));
    packstream::encode(&value, &mut body).expect("encodes");
    let mut out = Vec::new();
    chunk::write_message(&body, &mut out);
    out
}

/// A ROUTE reply as a table or a failure.
pub fn parse_reply(reply: &Structure) -> Result<Table, Failed> {
    let meta = reply
        .fields()
        .first()
        .and_then(Value::as_map)
        .expect("metadata");
    let text = |key: &str| {
        meta.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if reply.tag() == FAILURE {
        return Err(Failed {
            code: text("code"),
            message: text("message"),
            gql_status: text("gql_status"),
        });
    }
    assert_eq!(reply.tag(), SUCCESS, "{reply:?}");
    let rt = meta.get("rt").and_then(Value::as_map).expect("rt");
    let mut roles = BTreeMap::new();
    for server in rt.get("servers").and_then(Value::as_list).expect("servers") {
        let server = server.as_map().expect("server entry");
        let role = server.get("role").and_then(Value::as_str).expect("role");
        let addresses = server
            .get("addresses")
            .and_then(Value::as_list)
            .expect("addresses");
        let set = addresses
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        roles.insert(role.to_owned(), set);
    }
    Ok(Table {
        ttl: rt.get("ttl").and_then(Value::as_int).expect("ttl"),
        db: rt.get("db").and_then(Value::as_str).expect("db").to_owned(),
        roles,
    })
}

/// What the routing module answers for the same files, as sets per role.
pub fn expected(
    config: &Path,
    topology: &Path,
    policy: Option<&str>,
    db: &str,
) -> Result<Table, String> {
    let config = Config::load(config, Strictness::Default).map_err(|e| e.render_all())?;
    let spec = from_json(&std::fs::read_to_string(topology).expect("reads")).expect("json");
    let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("builds");
    let service = RoutingService::new(Arc::new(Topology::from_snapshot(snapshot)), &config)
        .expect("compiles");
    let request = RouteRequest {
        database: db,
        policy,
        excluded: &[],
    };
    let table = service
        .table(&request, &mut Rng::seeded(1))
        .map_err(|e| e.to_string())?;
    let roles = Role::ALL
        .into_iter()
        .map(|role| {
            let set: BTreeSet<String> = table
                .addresses(role)
                .into_iter()
                .map(str::to_owned)
                .collect();
            (role.as_str().to_owned(), set)
        })
        .filter(|(_, set)| !set.is_empty())
        .collect();
    Ok(Table {
        ttl: table.ttl_secs() as i64,
        db: table.database().to_owned(),
        roles,
    })
}

/// A server running in-process on loopback ports.
pub struct Running {
    pub bolt: SocketAddr,
    pub admin: SocketAddr,
    pub handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

/// Settings for the test files, on ephemeral loopback ports.
pub fn settings(config: &Path, topology: &Path) -> Settings {
    let mut settings = Settings::new(config.to_owned(), topology.to_owned());
    settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.admin = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    settings.watch_interval = None;
    settings
}

/// Binds and runs a server.
pub async fn start(settings: Settings) -> Running {
    let server = Server::bind(settings).await.expect("binds");
    let (bolt, admin) = (
        server.bolt_address(),
        server.admin_address().expect("admin"),
    );
    let handle = server.handle();
    let task = tokio::spawn(server.run());
    Running {
        bolt,
        admin,
        handle,
        task,
    }
}

impl Running {
    /// Shuts down and waits for the server to finish.
    pub async fn stop(self) {
        self.handle.shutdown();
        self.task.await.expect("the server task ends cleanly");
    }
}

/// An HTTP/1.1 exchange with the admin listener: status and body.
pub async fn http(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let (status, _, body) = http_with(address, method, path, &[], body)
        .await
        .expect("an answer");
    (status, body)
}

/// An HTTP/1.1 exchange with extra headers: status, headers and body; `None` if the server
/// closed without answering.
pub async fn http_with(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String, String)> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((status, head.to_owned(), body.to_owned()))
}

/// Whether the server closes `stream` within `within` (reading and dropping what it sends).
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let wait = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, wait).await.is_ok()
}

/// The Bolt and admin addresses a `tagroute serve` child prints as its first stdout line (one
/// JSON object), read from its piped stdout.
pub fn printed_addresses(child: &mut std::process::Child) -> (SocketAddr, SocketAddr) {
    use std::io::{BufRead, BufReader};

    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("prints its addresses");
    let printed: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    let address = |key: &str| {
        printed[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {line}"))
            .parse()
            .expect("an address")
    };
    (address("bolt"), address("admin"))
}
