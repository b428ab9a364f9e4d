//! One Bolt connection: TLS, the handshake, then requests in and answers out until either side
//! closes.
//!
//! Everything a client can do to hold resources is bounded: the TLS and Bolt handshakes share
//! one deadline (`--handshake-timeout`), each read and each write waits at most
//! `--idle-timeout` (a client that stops mid-message, never speaks or stops reading its answers
//! is closed), a message may not exceed
//! `--max-message-size` (the de-chunker refuses it before buffering it), and the decoder's
//! limits bound nesting and collection sizes. A client that sends garbage gets the closing
//! FAILURE or handshake refusal the protocol has for it, and only its own task ends.
//!
//! Requests are answered in order and the answers of one read are written together, so
//! pipelined HELLO + LOGON (or a pipelining benchmark) costs one write. Credentials are checked
//! before the state machine sees HELLO or LOGON, off the I/O threads (argon2 is slow on
//! purpose), and the machine reads the verdict from the [`Backend`].

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant as Deadline, timeout_at};

use super::Shared;
use super::metrics::{RouteLabels, RuleLabels, UNKNOWN};
use super::routes::{HOME_DATABASE, RouteFailure, RuleCache};
use crate::bolt::{
    self, Auth, Backend, CloseReason, Failure, Limits, Options, RouteRequest, RoutingTable, Status,
    Version,
};
use crate::rng::Rng;
use crate::routing::Role;

/// How a connection ended, for its log line.
#[derive(Debug)]
enum Ended {
    /// The client closed (or said GOODBYE).
    Client,
    /// The client closed in the middle of a message.
    ClientMidMessage,
    /// The state machine closed it (failed authentication, a request out of place).
    Server,
    /// The handshakes did not finish in time.
    HandshakeTimeout,
    /// The TLS handshake failed.
    Tls(String),
    /// The Bolt handshake failed (no magic, no common version).
    Handshake(String),
    /// Nothing arrived for the idle timeout.
    Idle,
    /// A message too large, or not a request.
    Protocol(String),
    /// The socket failed.
    Io(std::io::Error),
    /// The server is shutting down.
    Shutdown,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Client => f.write_str("closed by the client"),
            Ended::ClientMidMessage => {
                f.write_str("closed by the client in the middle of a message")
            }
            Ended::Server => f.write_str("closed after a failure that ends the connection"),
            Ended::HandshakeTimeout => f.write_str("the handshake did not finish in time"),
            Ended::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            Ended::Handshake(e) => write!(f, "Bolt handshake failed: {e}"),
            Ended::Idle => f.write_str("idle timeout"),
            Ended::Protocol(e) => write!(f, "protocol error: {e}"),
            Ended::Io(e) => write!(f, "socket error: {e}"),
            Ended::Shutdown => f.write_str("server shutting down"),
        }
    }
}

impl Ended {
    /// The refusal reason for the metrics, when the connection was dropped before being served.
    fn refusal(&self) -> Option<&'static str> {
        match self {
            Ended::HandshakeTimeout | Ended::Handshake(_) => Some("handshake"),
            Ended::Tls(_) => Some("tls"),
            _ => None,
        }
    }
}

/// What a connection did, for its log line.
struct Dialogue {
    version: Option<Version>,
    requests: u64,
    user: Option<String>,
}

/// Serves one accepted connection to its end, and logs one line about it.
pub(super) async fn serve(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    shared.metrics.open.inc();
    let started = Instant::now();
    let id = shared.connection_id();
    let deadline = Deadline::now() + shared.settings.handshake_timeout;
    let mut dialogue = Dialogue {
        version: None,
        requests: 0,
        user: None,
    };
    let ended = match &shared.tls {
        Some(acceptor) => match timeout_at(deadline, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => converse(tls, deadline, &id, peer, shared, &mut dialogue).await,
            Ok(Err(e)) => Ended::Tls(e.to_string()),
            Err(_) => Ended::HandshakeTimeout,
        },
        None => converse(stream, deadline, &id, peer, shared, &mut dialogue).await,
    };
    shared.metrics.open.dec();
    if let Some(reason) = ended.refusal() {
        shared.metrics.refuse(reason);
    }
    let version = dialogue.version.map(|v| v.to_string());
    let millis = started.elapsed().as_millis() as u64;
    let (requests, user) = (dialogue.requests, dialogue.user.as_deref());
    match &ended {
        Ended::Client | Ended::Server | Ended::Shutdown => tracing::info!(
            connection = %id, %peer, version, user, requests, millis, ended = %ended,
            "connection closed"
        ),
        _ => tracing::warn!(
            connection = %id, %peer, version, user, requests, millis, ended = %ended,
            "connection dropped"
        ),
    }
}

/// The Bolt dialogue over an established (possibly TLS) stream.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    deadline: Deadline,
    id: &str,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    dialogue: &mut Dialogue,
) -> Ended {
    let settings = &shared.settings;
    let options = Options {
        max_version: settings.max_bolt_version,
        limits: Limits {
            max_message: settings.max_message_size,
            ..Limits::default()
        },
    };
    let mut bolt = bolt::Connection::new(options, id);
    let backend = Connection {
        shared,
        id,
        peer,
        rng: RefCell::new(Rng::from_os()),
        rules: RefCell::new(RuleCache::default()),
        user: RefCell::new(None),
        routes: Cell::new(0),
        counted: RefCell::new(None),
    };
    // One timer and one wait for shutdown per connection, registered once: a read that waits
    // only moves the timer's deadline.
    let mut shutdown = shared.shutdown.subscribe();
    let stopping = shutdown.wait_for(|stop| *stop);
    let idle = tokio::time::sleep_until(deadline);
    tokio::pin!(stopping, idle);
    let (mut input, mut output) = (vec![0u8; 4096], Vec::with_capacity(512));
    let ended = loop {
        let handshaking = bolt.version().is_none();
        if !handshaking {
            idle.as_mut().reset(Deadline::now() + settings.idle_timeout);
        }
        let read = tokio::select! {
            biased;
            _ = &mut stopping => break Ended::Shutdown,
            _ = &mut idle => Err(()),
            read = stream.read(&mut input) => Ok(read),
        };
        let n = match read {
            Err(()) if handshaking => break Ended::HandshakeTimeout,
            Err(()) => break Ended::Idle,
            Ok(Ok(0)) if handshaking => {
                break Ended::Handshake("closed during the handshake".into());
            }
            Ok(Ok(0)) if bolt.is_mid_message() => break Ended::ClientMidMessage,
            Ok(Ok(0)) => break Ended::Client,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => break Ended::Io(e),
        };
        let status = bolt.receive(input.get(..n).unwrap_or_default(), &backend, &mut output);
        dialogue.version = dialogue.version.or(bolt.version());
        if !output.is_empty() {
            // A client that stops reading holds the write: it gets the idle timeout too.
            idle.as_mut().reset(Deadline::now() + settings.idle_timeout);
            let written = tokio::select! {
                biased;
                _ = &mut stopping => break Ended::Shutdown,
                _ = &mut idle => break Ended::Idle,
                written = write(&mut stream, &output) => written,
            };
            if let Err(e) = written {
                break Ended::Io(e);
            }
            output.clear();
        }
        if let Status::Close(reason) = status {
            break match reason {
                CloseReason::Goodbye => Ended::Client,
                CloseReason::Handshake(e) => Ended::Handshake(e.to_string()),
                CloseReason::Failure(_) => Ended::Server,
                other => Ended::Protocol(other.to_string()),
            };
        }
    };
    dialogue.requests = backend.routes.get();
    dialogue.user = backend.user.take();
    ended
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

/// The server side of one connection, as the state machine sees it.
struct Connection<'a> {
    shared: &'a Arc<Shared>,
    id: &'a str,
    peer: SocketAddr,
    rng: RefCell<Rng>,
    rules: RefCell<RuleCache>,
    /// The user of the last credentials checked.
    user: RefCell<Option<String>>,
    /// ROUTE requests answered.
    routes: Cell<u64>,
    /// The counters of the last table sent, for the same question again.
    counted: RefCell<Option<Counted>>,
}

/// The counters of one (policy, database, answering rule), held so that a driver asking the
/// same question again is counted without building labels.
struct Counted {
    policy: String,
    database: String,
    rule: String,
    route: Counter,
    answer: Counter,
}

impl Counted {
    fn is(&self, policy: &str, database: &str, rule: &str) -> bool {
        self.policy == policy && self.database == database && self.rule == rule
    }
}

/// Neo4j's words for wrong credentials.
const UNAUTHORIZED: &str = "The client is unauthorized due to authentication failure.";

/// Checks `auth` against the auth file, if there is one. Argon2 takes tens of milliseconds on
/// purpose, so on a multi-threaded runtime the check runs in place of the worker
/// (`block_in_place`: the worker's other connections move to another thread meanwhile), at most
/// two at a time.
fn check(shared: &Shared, id: &str, peer: SocketAddr, auth: &Auth) -> Result<(), Failure> {
    let refuse = |why: &str| {
        shared.metrics.refuse("auth");
        tracing::warn!(connection = %id, %peer, why, "authentication failed");
        Failure::unauthorized(UNAUTHORIZED)
    };
    let Some(credentials) = shared.credentials.load_full() else {
        return Ok(());
    };
    let (Some("basic"), Some(user), Some(password)) = (
        auth.scheme.as_deref(),
        auth.principal.as_deref(),
        auth.credentials.as_deref(),
    ) else {
        return Err(refuse("no basic credentials"));
    };
    let verify = || shared.verifying.run(|| credentials.verify(user, password));
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let verified = if multi_threaded {
        tokio::task::block_in_place(verify)
    } else {
        verify()
    };
    if verified {
        Ok(())
    } else {
        Err(refuse(&format!("wrong credentials for user `{user}`")))
    }
}

impl Connection<'_> {
    /// Counts a table sent, and the rule that chose its readers.
    fn count_table(&self, policy: Option<&str>, database: &str, rule: &str) {
        let name = policy.unwrap_or(crate::config::DEFAULT_POLICY);
        let mut counted = self.counted.borrow_mut();
        if let Some(last) = counted.as_ref().filter(|c| c.is(name, database, rule)) {
            last.route.inc();
            last.answer.inc();
            return;
        }
        let metrics = &self.shared.metrics;
        let route = RouteLabels {
            policy: name.to_owned(),
            database: database.to_owned(),
            outcome: "ok",
        };
        let answer = RuleLabels {
            policy: name.to_owned(),
            rule: rule.to_owned(),
        };
        let last = Counted {
            route: metrics.routes.get_or_create(&route).clone(),
            answer: metrics.rules.get_or_create(&answer).clone(),
            policy: route.policy,
            database: route.database,
            rule: answer.rule,
        };
        last.route.inc();
        last.answer.inc();
        *counted = Some(last);
    }

    /// Counts a ROUTE that got no table.
    fn count_failure(&self, policy: Option<&str>, database: &str, failure: &RouteFailure) {
        let routes = &self.shared.routes;
        let name = policy.unwrap_or(crate::config::DEFAULT_POLICY);
        let known_policy = match failure {
            RouteFailure::UnknownPolicy(_) => false,
            RouteFailure::UnknownDatabase { .. } => routes.has_policy(name),
            _ => true,
        };
        let known_database = !matches!(failure, RouteFailure::UnknownDatabase { .. });
        let labels = RouteLabels {
            policy: if known_policy { name } else { UNKNOWN }.to_owned(),
            database: if known_database { database } else { UNKNOWN }.to_owned(),
            outcome: failure.outcome(),
        };
        self.shared.metrics.routes.get_or_create(&labels).inc();
    }
}

impl Backend for Connection<'_> {
    fn authenticate(&self, auth: &Auth) -> Result<(), Failure> {
        self.user.replace(auth.principal.clone());
        check(self.shared, self.id, self.peer, auth)
    }

    fn route(&self, request: &RouteRequest) -> Result<RoutingTable, Failure> {
        self.routes.set(self.routes.get() + 1);
        let started = Instant::now();
        let policy = request.policy();
        let database = request.db.as_deref().unwrap_or(HOME_DATABASE);
        let routes = &self.shared.routes;
        let answered = routes.route(policy, Some(database), &mut self.rng.borrow_mut());
        match answered {
            Ok(answered) => {
                let mut rules = self.rules.borrow_mut();
                let rule = routes.answering_rule(policy, &answered, &mut rules);
                self.count_table(policy, database, rule);
                self.shared
                    .metrics
                    .latency
                    .observe(started.elapsed().as_secs_f64());
                Ok(RoutingTable {
                    ttl: answered.ttl_secs(),
                    db: answered.database().to_owned(),
                    writers: answered.addresses(Role::Write),
                    readers: answered.addresses(Role::Read),
                    routers: answered.addresses(Role::Route),
                })
            }
            Err(failure) => {
                self.count_failure(policy, database, &failure);
                tracing::warn!(
                    connection = %self.id, peer = %self.peer, policy, database,
                    outcome = failure.outcome(), error = %failure, "routing request failed"
                );
                Err(match failure {
                    RouteFailure::UnknownPolicy(name) => Failure::policy_not_found(&name),
                    RouteFailure::UnknownDatabase { name, .. } => {
                        Failure::database_not_found(&name)
                    }
                    RouteFailure::NoReader(why) | RouteFailure::NoRouter(why) => {
                        Failure::unavailable(why)
                    }
                    other => Failure::routing_failed(other.to_string()),
                })
            }
        }
    }
}
