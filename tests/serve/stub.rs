//! An in-process stub Neo4j 5 cluster for `serve --follow`: N servers on 127.0.0.2, 127.0.0.3,
//! …, each answering the Bolt 5.0 handshake, HELLO, RESET, GOODBYE and RUN + PULL of
//! `SHOW SERVERS YIELD *` and `SHOW DATABASES YIELD *` with rows of the columns the import
//! reads (and `lastCommittedTxn`, which changes at every poll), from a state the test changes. A killed server closes every connection it accepts
//! (so its health probes fail) while SHOW SERVERS still calls it `Available`.
//!
//! interop/stub_cluster.py is the stub packed by another implementation (the `neo4j` package),
//! for the real drivers; this one runs inside `cargo test`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tagroute::bolt::chunk::{self, Dechunker};
use tagroute::bolt::packstream::{self, Limits, Map, Structure, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HELLO: u8 = 0x01;
const GOODBYE: u8 = 0x02;
const RESET: u8 = 0x0F;
const RUN: u8 = 0x10;
const PULL: u8 = 0x3F;
const SUCCESS: u8 = 0x70;
const RECORD: u8 = 0x71;

/// One database: its primaries (server indexes), the writer among them, aliases.
#[derive(Clone, Debug)]
pub struct Database {
    pub name: String,
    pub primaries: Vec<usize>,
    pub leader: usize,
    pub aliases: Vec<String>,
    pub default: bool,
}

#[derive(Debug, Default)]
struct State {
    addresses: Vec<String>,
    /// The last transaction committed: it grows with every `SHOW DATABASES`, as a cluster's
    /// does with every write, in a column the import does not read.
    committed: i64,
    killed: BTreeSet<usize>,
    databases: Vec<Database>,
}

/// The cluster; its servers stop when it is dropped.
pub struct Cluster {
    state: Arc<Mutex<State>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Cluster {
    /// `servers` servers named `s1`, `s2`, …; one database `neo4j` on all of them, led by `s1`,
    /// the default.
    pub async fn start(servers: usize) -> Cluster {
        let state = Arc::new(Mutex::new(State::default()));
        let mut tasks = Vec::new();
        for i in 0..servers {
            let host = u8::try_from(i + 2).expect("few servers");
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, host], 0)))
                .await
                .expect("binds a loopback address");
            let address = listener.local_addr().expect("bound").to_string();
            state.lock().unwrap().addresses.push(address);
            tasks.push(tokio::spawn(accept(listener, i, Arc::clone(&state))));
        }
        state.lock().unwrap().databases.push(Database {
            name: "neo4j".into(),
            primaries: (0..servers).collect(),
            leader: 0,
            aliases: Vec::new(),
            default: true,
        });
        Cluster { state, tasks }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The seed URI: the first server.
    pub fn uri(&self) -> String {
        format!("neo4j://{}", self.address(0))
    }

    /// The Bolt address of server `i` (0-based: `s1` is 0).
    pub fn address(&self, i: usize) -> String {
        self.state().addresses[i].clone()
    }

    pub fn move_leader(&self, database: &str, to: usize) {
        let mut state = self.state();
        let db = state.databases.iter_mut().find(|d| d.name == database);
        db.expect("a database of the stub").leader = to;
    }

    /// Server `i` closes every connection from now on; SHOW SERVERS still says `Available`.
    pub fn kill(&self, i: usize) {
        self.state().killed.insert(i);
    }

    pub fn revive(&self, i: usize) {
        self.state().killed.remove(&i);
    }

    /// Every server closes every connection.
    pub fn unreachable(&self) {
        let mut state = self.state();
        state.killed = (0..state.addresses.len()).collect();
    }

    pub fn reachable(&self) {
        self.state().killed.clear();
    }

    pub fn add_database(&self, database: Database) {
        self.state().databases.push(database);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn accept(listener: TcpListener, index: usize, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let killed = state.lock().unwrap().killed.contains(&index);
        if !killed {
            tokio::spawn(serve(stream, index, Arc::clone(&state)));
        }
    }
}

/// One connection: handshake, then messages until GOODBYE, EOF, or the server is killed.
async fn serve(mut stream: TcpStream, index: usize, state: Arc<Mutex<State>>) {
    let mut handshake = [0u8; 20];
    if stream.read_exact(&mut handshake).await.is_err() {
        return;
    }
    if stream.write_all(&[0, 0, 0, 5]).await.is_err() {
        return;
    }
    let mut dechunker = Dechunker::new(1 << 20);
    let mut buffer = vec![0u8; 16 * 1024];
    let mut pending: Vec<Vec<Value>> = Vec::new();
    loop {
        let read = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        dechunker.push(&buffer[..read]);
        let mut out = Vec::new();
        while let Ok(Some(body)) = dechunker.next_message() {
            let Ok(Value::Struct(request)) = packstream::decode(body, &Limits::default()) else {
                return;
            };
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.killed.contains(&index) {
                return;
            }
            match request.tag() {
                HELLO => {
                    let mut meta = Map::new();
                    meta.insert("server", Value::String("Neo4j/5.26.0".into()));
                    meta.insert("connection_id", Value::String("bolt-1".into()));
                    reply(&mut out, SUCCESS, meta);
                }
                RESET => reply(&mut out, SUCCESS, Map::new()),
                RUN => {
                    let query = request.fields().first().and_then(Value::as_str);
                    let (fields, rows) = match query {
                        Some(q) if q.contains("SERVERS") => server_rows(&state),
                        _ => {
                            state.committed += 1;
                            database_rows(&state)
                        }
                    };
                    let mut meta = Map::new();
                    let fields = fields.iter().map(|f| Value::String((*f).into()));
                    meta.insert("fields", Value::List(fields.collect()));
                    reply(&mut out, SUCCESS, meta);
                    pending = rows;
                }
                PULL => {
                    for row in std::mem::take(&mut pending) {
                        let record = Structure::new(RECORD, vec![Value::List(row)]);
                        encode(&mut out, record.expect("one field"));
                    }
                    reply(&mut out, SUCCESS, Map::new());
                }
                GOODBYE => return,
                _ => return,
            }
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn reply(out: &mut Vec<u8>, tag: u8, meta: Map) {
    encode(
        out,
        Structure::new(tag, vec![Value::Map(meta)]).expect("one field"),
    );
}

fn encode(out: &mut Vec<u8>, message: Structure) {
    let mut body = Vec::new();
    packstream::encode(&Value::Struct(message), &mut body).expect("encodes");
    chunk::write_message(&body, out);
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn server_rows(state: &State) -> (Vec<&'static str>, Vec<Vec<Value>>) {
    let fields = vec!["serverId", "name", "address", "state", "health", "hosting"];
    let rows = state.addresses.iter().enumerate().map(|(i, address)| {
        let hosting = state.databases.iter().filter(|d| d.primaries.contains(&i));
        vec![
            text(&format!("id-{}", i + 1)),
            text(&format!("s{}", i + 1)),
            text(address),
            text("Enabled"),
            text("Available"),
            Value::List(hosting.map(|d| text(&d.name)).collect()),
        ]
    });
    (fields, rows.collect())
}

fn database_rows(state: &State) -> (Vec<&'static str>, Vec<Vec<Value>>) {
    let fields = vec![
        "name",
        "type",
        "aliases",
        "serverID",
        "address",
        "role",
        "writer",
        "currentStatus",
        "default",
        "lastCommittedTxn",
    ];
    let mut rows = Vec::new();
    for db in &state.databases {
        for &i in &db.primaries {
            rows.push(vec![
                text(&db.name),
                text("standard"),
                Value::List(db.aliases.iter().map(|a| text(a)).collect()),
                text(&format!("id-{}", i + 1)),
                text(&state.addresses[i]),
                text("primary"),
                Value::Bool(i == db.leader),
                text("online"),
                Value::Bool(db.default),
                Value::Int(state.committed),
            ]);
        }
    }
    (fields, rows)
}
