//! The connection state machine, as a pure type: a decoded request in, the reply and whether to
//! close out.
//!
//! ```text
//!                 HELLO (≤ 5.0, auth inside)                  RUN, BEGIN, … or a failed ROUTE
//!   CONNECTED ─────────────────────────────────────▶ READY ─────────────────────────▶ FAILED
//!       │ HELLO (5.1+)                    LOGON ▲     │ LOGOFF                RESET    │
//!       └──────────────▶ AUTHENTICATION ────────┘     ▼                  ◀───────────┘
//!                              ▲─────────────────── AUTHENTICATION
//! ```
//!
//! READY answers ROUTE, RESET and TELEMETRY with SUCCESS and stays READY. A FAILURE moves it to
//! FAILED, where everything but RESET and GOODBYE is IGNORED. A failed HELLO or LOGON, a request
//! out of place (ROUTE before HELLO, a second HELLO) and GOODBYE end in DEFUNCT: the connection
//! closes, after the FAILURE if there is one (Bolt's `server-state.adoc`; BOLT.md section 3.4).
//!
//! The machine knows nothing of tagroute's routing: it asks a [`Backend`] to check credentials
//! and to compute tables.

use std::fmt;

use super::failure::Failure;
use super::handshake::Version;
use super::message::{Auth, Request, RequestKind, Response, RouteRequest, RoutingTable};
use super::packstream::{Map, Value};

/// What HELLO's SUCCESS names as the server. Python 5.x drivers refuse a server whose agent does
/// not start `Neo4j/`.
pub const SERVER_AGENT: &str = "Neo4j/5.26.0";

/// What the state machine asks of the server around it.
///
/// ```
/// use tagroute::bolt::{Auth, Backend, Failure, RouteRequest, RoutingTable};
///
/// struct OneTable;
///
/// impl Backend for OneTable {
///     fn authenticate(&self, auth: &Auth) -> Result<(), Failure> {
///         match auth.scheme.as_deref() {
///             None | Some("none") => Ok(()),
///             Some(_) => Err(Failure::unauthorized("this server takes no credentials")),
///         }
///     }
///
///     fn route(&self, request: &RouteRequest) -> Result<RoutingTable, Failure> {
///         if let Some(policy) = request.policy().filter(|&p| p != "default") {
///             return Err(Failure::policy_not_found(policy));
///         }
///         Ok(RoutingTable {
///             ttl: 300,
///             db: request.db.clone().unwrap_or_else(|| "neo4j".to_owned()),
///             writers: vec!["10.0.0.1:7687".to_owned()],
///             readers: vec!["10.0.0.2:7687".to_owned()],
///             routers: vec!["127.0.0.1:7687".to_owned()],
///         })
///     }
/// }
/// ```
pub trait Backend {
    /// Checks credentials, from HELLO (Bolt ≤ 5.0) or LOGON (5.1+). On `Err` the client gets
    /// that FAILURE (normally [`Failure::unauthorized`]) and the connection closes.
    ///
    /// # Errors
    /// The FAILURE to send.
    fn authenticate(&self, auth: &Auth) -> Result<(), Failure>;

    /// Computes the routing table a ROUTE asks for. The table must list at least one reader and
    /// one router (drivers reject it otherwise); the state machine refuses one that does not
    /// with [`Failure::unavailable`], so a backend should rather say why itself.
    ///
    /// # Errors
    /// The FAILURE to send; the connection is then FAILED until the driver sends RESET.
    fn route(&self, request: &RouteRequest) -> Result<RoutingTable, Failure>;
}

/// Where a connection is in its dialogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for HELLO.
    Connected,
    /// Waiting for LOGON (Bolt 5.1+).
    Authentication,
    /// Serving routing requests.
    Ready,
    /// After a FAILURE: everything is IGNORED until RESET.
    Failed,
    /// Closed or closing; nothing more is read.
    Defunct,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Connected => "CONNECTED",
            State::Authentication => "AUTHENTICATION",
            State::Ready => "READY",
            State::Failed => "FAILED",
            State::Defunct => "DEFUNCT",
        })
    }
}

/// What to do after one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The reply to send, if any (GOODBYE has none).
    pub response: Option<Response>,
    /// Whether to close the connection once the reply is sent.
    pub close: bool,
}

/// The state machine of one connection, after the handshake.
///
/// ```
/// use tagroute::bolt::{Auth, Backend, Failure, Request, Response, RouteRequest, RoutingTable, Session, State};
/// use tagroute::bolt::handshake::Version;
/// # struct Open;
/// # impl Backend for Open {
/// #     fn authenticate(&self, _: &Auth) -> Result<(), Failure> { Ok(()) }
/// #     fn route(&self, _: &RouteRequest) -> Result<RoutingTable, Failure> {
/// #         Err(Failure::routing_failed("no table"))
/// #     }
/// # }
///
/// let mut session = Session::new(Version::V5_8, "bolt-1");
/// let step = session.handle(Request::Hello(Default::default()), &Open);
/// assert!(matches!(step.response, Some(Response::Success(_))));
/// assert_eq!(session.state(), State::Authentication);
/// session.handle(Request::Logon(Auth::default()), &Open);
/// assert_eq!(session.state(), State::Ready);
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    version: Version,
    state: State,
    connection_id: String,
}

impl Session {
    /// A session on a connection that negotiated `version`, named `connection_id` in HELLO's
    /// SUCCESS (Neo4j names them `bolt-<n>`).
    pub fn new(version: Version, connection_id: impl Into<String>) -> Self {
        Session {
            version,
            state: State::Connected,
            connection_id: connection_id.into(),
        }
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Handles one request: the reply, and whether to close.
    pub fn handle(&mut self, request: Request, backend: &impl Backend) -> Step {
        match (self.state, request) {
            (State::Defunct, _) => self.close(None),
            (_, Request::Goodbye) => self.close(None),
            (State::Failed, Request::Reset) => self.success(State::Ready, Map::new()),
            (State::Failed, _) => Step {
                response: Some(Response::Ignored),
                close: false,
            },
            (State::Connected, Request::Hello(hello)) => {
                let metadata = self.hello_metadata();
                if self.version >= Version::V5_1 {
                    return self.success(State::Authentication, metadata);
                }
                match backend.authenticate(&hello.auth) {
                    Ok(()) => self.success(State::Ready, metadata),
                    Err(failure) => self.close(Some(failure)),
                }
            }
            (State::Authentication, Request::Logon(auth)) => match backend.authenticate(&auth) {
                Ok(()) => self.success(State::Ready, Map::new()),
                Err(failure) => self.close(Some(failure)),
            },
            (State::Ready | State::Authentication, Request::Reset) => {
                self.success(self.state, Map::new())
            }
            (State::Ready, Request::Logoff) => self.success(State::Authentication, Map::new()),
            (State::Ready, Request::Telemetry(_)) => self.success(State::Ready, Map::new()),
            (State::Ready, Request::Route(route)) => self.route(&route, backend),
            (State::Ready, Request::Refused(kind)) => self.fail(Failure::routing_only(kind.name())),
            (state, request) => self.close(Some(out_of_place(request.kind(), state))),
        }
    }

    fn route(&mut self, request: &RouteRequest, backend: &impl Backend) -> Step {
        let table = match backend.route(request) {
            Ok(table) => table,
            Err(failure) => return self.fail(failure),
        };
        if let Some(role) = table.missing_role() {
            return self.fail(Failure::unavailable(format!(
                "routing table for database `{}` has no {role} server",
                table.db
            )));
        }
        self.success(State::Ready, Map::from_iter([("rt", table.to_value())]))
    }

    fn hello_metadata(&self) -> Map {
        Map::from_iter([
            ("server", Value::from(SERVER_AGENT)),
            ("connection_id", Value::from(self.connection_id.as_str())),
        ])
    }

    fn success(&mut self, next: State, metadata: Map) -> Step {
        self.state = next;
        Step {
            response: Some(Response::Success(metadata)),
            close: false,
        }
    }

    fn fail(&mut self, failure: Failure) -> Step {
        self.state = State::Failed;
        Step {
            response: Some(Response::Failure(failure)),
            close: false,
        }
    }

    fn close(&mut self, failure: Option<Failure>) -> Step {
        self.state = State::Defunct;
        Step {
            response: failure.map(Response::Failure),
            close: true,
        }
    }
}

fn out_of_place(kind: RequestKind, state: State) -> Failure {
    Failure::request_invalid(format!(
        "{kind} is not allowed in state {state}; the connection closes"
    ))
}
