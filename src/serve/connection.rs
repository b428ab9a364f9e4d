//! One Bolt connection: TLS, the handshake, then requests in and answers out until either side
//! closes.
//!
//! Everything a client can do to hold resources is bounded: the TLS and Bolt handshakes and the
//! login (HELLO, LOGON) share one deadline (`--handshake-timeout`); a message must arrive whole
//! within `--message-timeout` of its first byte, however slowly its bytes trickle in; each
//! read and each write waits at most `--idle-timeout` (a client that never speaks or stops
//! reading its answers is closed); a message may not exceed `--max-message-size` (the
//! de-chunker refuses it before buffering it), and the decoder's limits bound nesting and
//! collection sizes. A client that sends garbage gets the closing FAILURE or handshake refusal
//! the protocol has for it, and only its own task ends.
//!
//! Requests are answered in order and the answers of one read are written together, so
//! pipelined HELLO + LOGON (or a pipelining benchmark) costs one write. Credentials are checked
//! before the state machine sees HELLO or LOGON, on the password-check pool and without
//! blocking this task's thread ([`login`](super::login)), and the machine reads the verdict from
//! the [`Backend`].
//!
//! What a connection logs is bounded by a constant: one line when it closes, with the client's
//! strings clipped, and at most [`ROUTE_FAILURES_LOGGED`] failed routing requests (the rest are
//! counted in that line and in the metrics).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant as Deadline, Sleep, timeout_at};

use super::Shared;
use super::logging::Clipped;
use super::login::{self, Rehearsal, Verdicts};
use super::metrics::{RouteLabels, RuleLabels, UNKNOWN};
use super::routes::{RouteFailure, RuleCache};
use crate::bolt::message::refill;
use crate::bolt::{
    self, Auth, Backend, CloseReason, Failure, Limits, Options, RouteRequest, RoutingTable, State,
    Status, Version,
};
use crate::rng::Rng;
use crate::routing::{Role, TableScratch};

/// How a connection ended, for its log line.
#[derive(Debug)]
enum Ended {
    /// The client closed (or said GOODBYE).
    Client,
    /// The client closed in the middle of a message.
    ClientMidMessage,
    /// The state machine closed it (failed authentication, a request out of place).
    Server,
    /// The handshakes and the login did not finish in time.
    HandshakeTimeout,
    /// A message did not arrive whole in time.
    MessageTimeout,
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
            Ended::HandshakeTimeout => {
                f.write_str("the handshakes and the login did not finish in time")
            }
            Ended::MessageTimeout => f.write_str("a message did not arrive whole in time"),
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
            Ended::MessageTimeout => Some("message_timeout"),
            _ => None,
        }
    }
}

/// What a connection did, for its log line.
struct Dialogue {
    version: Option<Version>,
    requests: u64,
    route_failures: u64,
    user: Option<String>,
}

/// How many failed routing requests a connection logs; the rest are counted.
const ROUTE_FAILURES_LOGGED: u64 = 3;

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
        route_failures: 0,
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
    let (requests, route_failures) = (dialogue.requests, dialogue.route_failures);
    let user = dialogue.user.as_deref().map(Clipped);
    let user = user.map(tracing::field::display);
    // `ended` names what went wrong, never what the client sent: bounded as it is.
    if matches!(ended, Ended::Client | Ended::Server | Ended::Shutdown) {
        tracing::info!(
            connection = %id, %peer, version, user, requests, route_failures, millis,
            ended = %ended, "connection closed"
        );
    } else {
        tracing::warn!(
            connection = %id, %peer, version, user, requests, route_failures, millis,
            ended = %ended, "connection dropped"
        );
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
        tables: RefCell::new(TableScratch::new()),
        spare: Cell::default(),
        rules: RefCell::new(RuleCache::default()),
        user: RefCell::new(None),
        verdicts: Verdicts::default(),
        routes: Cell::new(0),
        route_failures: Cell::new(0),
        counted: RefCell::new(None),
    };
    // One timer and one wait for shutdown per connection, registered once and polled only while
    // a read or a write must wait.
    let mut shutdown = shared.shutdown.subscribe();
    let stopping = shutdown.wait_for(|stop| *stop);
    let timer = tokio::time::sleep_until(deadline);
    tokio::pin!(stopping, timer);
    let mut waits = Waits { stopping, timer };
    let (mut input, mut output) = (vec![0u8; 4096], Vec::with_capacity(512));
    let mut clock = Clock {
        login: deadline,
        logged_in: false,
        message: None,
    };
    let ended = 'dialogue: loop {
        let now = Deadline::now();
        let due = clock.next(now, settings.idle_timeout);
        if due <= now {
            break clock.expired();
        }
        let n = match waits.within(stream.read(&mut input), due).await {
            Waited::Done(Ok(0)) if bolt.version().is_none() => {
                break Ended::Handshake("closed during the handshake".into());
            }
            Waited::Done(Ok(0)) if bolt.is_mid_message() => break Ended::ClientMidMessage,
            Waited::Done(Ok(0)) => break Ended::Client,
            Waited::Done(Ok(n)) => n,
            Waited::Done(Err(e)) => break Ended::Io(e),
            Waited::Expired => break clock.expired(),
            Waited::Shutdown => break Ended::Shutdown,
        };
        let bytes = input.get(..n).unwrap_or_default();
        if shared.checks_credentials() && login::may_ask(&bolt, bytes) {
            for auth in Rehearsal::run(&bolt, bytes) {
                let verdict = match waits
                    .within(login::check(shared, id, peer, &auth), due)
                    .await
                {
                    Waited::Done(verdict) => verdict,
                    Waited::Expired => break 'dialogue clock.expired(),
                    Waited::Shutdown => break 'dialogue Ended::Shutdown,
                };
                let refused = verdict.is_err();
                backend.verdicts.keep(auth, verdict);
                if refused {
                    break;
                }
            }
        }
        let status = bolt.receive(bytes, &backend, &mut output);
        backend.verdicts.clear();
        dialogue.version = dialogue.version.or(bolt.version());
        clock.received(&bolt, !output.is_empty(), settings.message_timeout);
        if !output.is_empty() {
            // A client that stops reading holds the write: it gets the idle timeout too.
            let idle = settings.idle_timeout;
            match waits.idle_within(write(&mut stream, &output), idle).await {
                Waited::Done(Ok(())) => output.clear(),
                Waited::Done(Err(e)) => break Ended::Io(e),
                Waited::Expired => break Ended::Idle,
                Waited::Shutdown => break Ended::Shutdown,
            }
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
    dialogue.route_failures = backend.route_failures.get();
    dialogue.user = backend.user.take();
    ended
}

/// How waiting for a read, a write or a password check ended.
enum Waited<T> {
    /// It finished.
    Done(T),
    /// Its deadline passed first.
    Expired,
    /// The server began shutting down first.
    Shutdown,
}

/// What a connection waits on besides its socket: the server's shutdown and one timer.
///
/// Most reads and writes finish on their first poll, and those touch neither. The timer is
/// re-armed only for a deadline earlier than the one it holds: one that goes off early (the
/// deadline moved later since, as the idle timeout does with every message) is re-armed then,
/// so a busy connection moves no timer per message.
struct Waits<'a, S> {
    stopping: Pin<&'a mut S>,
    timer: Pin<&'a mut Sleep>,
}

impl<S: Future> Waits<'_, S> {
    /// Runs `work` until it finishes, until `due` passes, or until the server shuts down,
    /// whichever comes first. `work` is polled first: when it is ready, nothing else is.
    async fn within<W: Future>(&mut self, work: W, due: Deadline) -> Waited<W::Output> {
        let mut work = std::pin::pin!(work);
        if self.timer.deadline() > due {
            self.timer.as_mut().reset(due);
        }
        loop {
            tokio::select! {
                biased;
                done = &mut work => return Waited::Done(done),
                _ = self.stopping.as_mut() => return Waited::Shutdown,
                () = self.timer.as_mut() => {
                    if self.timer.deadline() >= due {
                        return Waited::Expired;
                    }
                    self.timer.as_mut().reset(due);
                }
            }
        }
    }

    /// [`within`](Self::within) `idle` from when `work` must wait, if it must: most writes
    /// finish on their first poll, before any deadline is needed.
    async fn idle_within<W: Future>(&mut self, work: W, idle: Duration) -> Waited<W::Output> {
        let mut work = std::pin::pin!(work);
        let first = std::future::poll_fn(|cx| {
            Poll::Ready(match work.as_mut().poll(cx) {
                Poll::Ready(done) => Some(done),
                Poll::Pending => None,
            })
        });
        match first.await {
            Some(done) => Waited::Done(done),
            None => self.within(work, Deadline::now() + idle).await,
        }
    }
}

/// A connection's deadlines: the login's until it is logged in, the idle timeout after, and
/// the deadline of a message begun and not yet whole.
struct Clock {
    login: Deadline,
    logged_in: bool,
    message: Option<Deadline>,
}

impl Clock {
    /// When to stop waiting for the next read, if it must wait from `now`.
    fn next(&self, now: Deadline, idle: Duration) -> Deadline {
        let limit = if self.logged_in {
            now + idle
        } else {
            self.login
        };
        self.message.map_or(limit, |due| due.min(limit))
    }

    /// Takes note of a read: whether `bolt` is logged in, and is in the middle of a message
    /// (whose deadline starts now if the read began it, or finished one before it: `answered`).
    fn received(&mut self, bolt: &bolt::Connection, answered: bool, within: Duration) {
        self.logged_in |= matches!(bolt.state(), Some(State::Ready | State::Failed));
        if !bolt.is_mid_message() {
            self.message = None;
        } else if self.message.is_none() || answered {
            self.message = Some(Deadline::now() + within);
        }
    }

    /// Why the timer went off.
    fn expired(&self) -> Ended {
        let now = Deadline::now();
        if !self.logged_in && now >= self.login {
            Ended::HandshakeTimeout
        } else if self.message.is_some_and(|due| now >= due) {
            Ended::MessageTimeout
        } else {
            Ended::Idle
        }
    }
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
    /// The buffers this connection's routing tables are computed in.
    tables: RefCell<TableScratch>,
    /// The last answer's table, back from the state machine, refilled for the next.
    spare: Cell<RoutingTable>,
    rules: RefCell<RuleCache>,
    /// The user of the last credentials checked.
    user: RefCell<Option<String>>,
    /// The verdicts on the credentials the read being handled holds.
    verdicts: Verdicts,
    /// ROUTE requests answered.
    routes: Cell<u64>,
    /// ROUTE requests that got no table.
    route_failures: Cell<u64>,
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
        // By its name, never as the client spelled it (one series per database).
        let database = routes.database_name(database);
        let labels = RouteLabels {
            policy: if known_policy { name } else { UNKNOWN }.to_owned(),
            database: database.unwrap_or_else(|| UNKNOWN.to_owned()),
            outcome: failure.outcome(),
        };
        self.shared.metrics.routes.get_or_create(&labels).inc();
    }
}

impl Connection<'_> {
    /// Logs one of the first [`ROUTE_FAILURES_LOGGED`] failed routing requests; the client's
    /// names clipped, and the error only where the server wrote it (an unknown name's is the
    /// name again).
    fn log_failure(&self, policy: Option<&str>, database: &str, failure: &RouteFailure) {
        let failures = self.route_failures.get() + 1;
        self.route_failures.set(failures);
        if failures > ROUTE_FAILURES_LOGGED {
            return;
        }
        let error = match failure {
            RouteFailure::UnknownPolicy(_) | RouteFailure::UnknownDatabase { .. } => None,
            other => Some(other.to_string()),
        };
        tracing::warn!(
            connection = %self.id, peer = %self.peer,
            policy = policy.map(Clipped).map(tracing::field::display),
            database = %Clipped(database), outcome = failure.outcome(), error,
            more_counted_not_logged = failures == ROUTE_FAILURES_LOGGED,
            "routing request failed"
        );
    }
}

impl Backend for Connection<'_> {
    fn authenticate(&self, auth: &Auth) -> Result<(), Failure> {
        self.user.replace(auth.principal.clone());
        if !self.shared.checks_credentials() {
            return Ok(());
        }
        self.verdicts.take(auth)
    }

    fn route(&self, request: &RouteRequest) -> Result<RoutingTable, Failure> {
        self.routes.set(self.routes.get() + 1);
        let started = Instant::now();
        let policy = request.policy();
        let database = request.db.as_deref();
        // Naming no database asks for the home database: the impersonated user's, else the
        // logged-in user's.
        let home = match database {
            Some(_) => None,
            None => {
                let user = self.user.borrow();
                let user = request.imp_user.as_deref().or(user.as_deref());
                self.shared.home_database(user)
            }
        };
        let routes = &self.shared.routes;
        let mut tables = self.tables.borrow_mut();
        let answered = routes.route(
            policy,
            database,
            home.as_deref(),
            &mut self.rng.borrow_mut(),
            &mut tables,
        );
        match answered {
            Ok(answered) => {
                let mut rules = self.rules.borrow_mut();
                let rule = routes.answering_rule(policy, &answered, &mut rules);
                self.count_table(policy, answered.canonical_database(), rule);
                self.shared
                    .metrics
                    .latency
                    .observe(started.elapsed().as_secs_f64());
                let mut table = self.spare.take();
                table.ttl = answered.ttl_secs();
                table.db.clear();
                table.db.push_str(answered.database());
                refill(&mut table.writers, answered.addresses(Role::Write));
                refill(&mut table.readers, answered.addresses(Role::Read));
                refill(&mut table.routers, answered.addresses(Role::Route));
                Ok(table)
            }
            Err(failure) => {
                let asked = database.or(home.as_deref()).unwrap_or("");
                self.count_failure(policy, asked, &failure);
                self.log_failure(policy, asked, &failure);
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

    fn recycle(&self, table: RoutingTable) {
        self.spare.set(table);
    }
}
