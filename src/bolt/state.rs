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

    /// Takes back a table [`route`](Backend::route) returned, once its answer is written: a
    /// backend that answers many ROUTEs can keep it and refill its strings and lists for the
    /// next one instead of allocating new ones. The default drops it.
    fn recycle(&self, table: RoutingTable) {
        drop(table);
    }
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

    /// [`handle`](Self::handle) for a ROUTE the caller keeps (to read the next one into).
    pub fn handle_route(&mut self, request: &RouteRequest, backend: &impl Backend) -> Step {
        match self.state {
            State::Ready => self.route(request, backend),
            _ => self.handle(Request::Route(request.clone()), backend),
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
        self.respond(State::Ready, Response::Routed(table))
    }

    fn hello_metadata(&self) -> Map {
        Map::from_iter([
            ("server", Value::from(SERVER_AGENT)),
            ("connection_id", Value::from(self.connection_id.as_str())),
        ])
    }

    fn success(&mut self, next: State, metadata: Map) -> Step {
        self.respond(next, Response::Success(metadata))
    }

    fn respond(&mut self, next: State, response: Response) -> Step {
        self.state = next;
        Step {
            response: Some(response),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::message::Hello;
    use crate::bolt::testing::{Recorder, table};

    fn basic(principal: &str, credentials: &str) -> Auth {
        Auth {
            scheme: Some("basic".to_owned()),
            principal: Some(principal.to_owned()),
            credentials: Some(credentials.to_owned()),
        }
    }

    fn hello(auth: Auth) -> Request {
        Request::Hello(Hello {
            auth,
            ..Hello::default()
        })
    }

    fn route(policy: &str) -> Request {
        Request::Route(RouteRequest {
            context: [("policy".to_owned(), policy.to_owned())]
                .into_iter()
                .collect(),
            ..RouteRequest::default()
        })
    }

    /// A session at `version` taken to READY.
    fn ready(version: Version, backend: &Recorder) -> Session {
        let mut session = Session::new(version, "bolt-7");
        session.handle(hello(basic("neo4j", "pw")), backend);
        if version >= Version::V5_1 {
            session.handle(Request::Logon(basic("neo4j", "pw")), backend);
        }
        assert_eq!(session.state(), State::Ready);
        session
    }

    fn success(metadata: Map) -> Step {
        Step {
            response: Some(Response::Success(metadata)),
            close: false,
        }
    }

    fn code(step: &Step) -> &str {
        match &step.response {
            Some(Response::Failure(failure)) => failure.code(),
            other => panic!("not a FAILURE: {other:?}"),
        }
    }

    #[test]
    fn up_to_5_0_hello_authenticates() {
        for version in [Version::V4_4, Version::V5_0] {
            let backend = Recorder::default();
            let mut session = Session::new(version, "bolt-7");
            let step = session.handle(hello(basic("neo4j", "pw")), &backend);
            let metadata = Map::from_iter([
                ("server", Value::from("Neo4j/5.26.0")),
                ("connection_id", Value::from("bolt-7")),
            ]);
            assert_eq!(step, success(metadata));
            assert_eq!(session.state(), State::Ready);
            assert_eq!(*backend.logins.borrow(), [basic("neo4j", "pw")]);

            let mut session = Session::new(version, "bolt-8");
            let step = session.handle(hello(basic("neo4j", "wrong")), &backend);
            assert_eq!(code(&step), "Neo.ClientError.Security.Unauthorized");
            assert!(step.close);
            assert_eq!(session.state(), State::Defunct);
        }
    }

    #[test]
    fn from_5_1_hello_then_logon_authenticates() {
        let backend = Recorder::default();
        let mut session = Session::new(Version::V5_1, "bolt-7");
        let step = session.handle(hello(basic("ignored", "ignored")), &backend);
        assert!(matches!(step.response, Some(Response::Success(_))));
        assert_eq!(session.state(), State::Authentication);
        assert!(backend.logins.borrow().is_empty());
        let step = session.handle(Request::Logon(basic("neo4j", "pw")), &backend);
        assert_eq!(step, success(Map::new()));
        assert_eq!(session.state(), State::Ready);

        let mut session = Session::new(Version::V5_8, "bolt-8");
        session.handle(hello(Auth::default()), &backend);
        let step = session.handle(Request::Logon(basic("neo4j", "nope")), &backend);
        assert_eq!(code(&step), "Neo.ClientError.Security.Unauthorized");
        assert!(step.close);
    }

    #[test]
    fn logoff_returns_to_authentication() {
        let backend = Recorder::default();
        let mut session = ready(Version::V5_4, &backend);
        assert_eq!(
            session.handle(Request::Logoff, &backend),
            success(Map::new())
        );
        assert_eq!(session.state(), State::Authentication);
        let step = session.handle(route("europe"), &backend);
        assert_eq!(code(&step), "Neo.ClientError.Request.Invalid");
        assert!(step.close);
    }

    #[test]
    fn route_answers_the_backend_table() {
        let backend = Recorder::default();
        let mut session = ready(Version::V5_8, &backend);
        let step = session.handle(route("europe"), &backend);
        assert_eq!(
            step,
            Step {
                response: Some(Response::Routed(table("neo4j"))),
                close: false
            }
        );
        assert_eq!(session.state(), State::Ready);
        assert_eq!(backend.routes.borrow()[0].policy(), Some("europe"));
        assert_eq!(
            session.handle(Request::Telemetry(0), &backend),
            success(Map::new())
        );
        assert_eq!(
            session.handle(Request::Reset, &backend),
            success(Map::new())
        );
        assert_eq!(session.state(), State::Ready);
    }

    #[test]
    fn after_a_failure_everything_is_ignored_until_reset() {
        let backend = Recorder::default();
        let mut session = ready(Version::V5_8, &backend);
        let step = session.handle(route("atlantis"), &backend);
        assert_eq!(code(&step), "Neo.ClientError.Procedure.ProcedureCallFailed");
        assert!(!step.close);
        assert_eq!(session.state(), State::Failed);
        for request in [
            route("europe"),
            Request::Logoff,
            Request::Telemetry(1),
            Request::Refused(RequestKind::Run),
            hello(Auth::default()),
        ] {
            let step = session.handle(request, &backend);
            assert_eq!(
                step,
                Step {
                    response: Some(Response::Ignored),
                    close: false
                }
            );
        }
        assert_eq!(
            backend.routes.borrow().len(),
            1,
            "an IGNORED request reached the backend"
        );
        assert_eq!(
            session.handle(Request::Reset, &backend),
            success(Map::new())
        );
        assert_eq!(session.state(), State::Ready);
        assert!(matches!(
            session.handle(route("europe"), &backend).response,
            Some(Response::Routed(_))
        ));
    }

    #[test]
    fn queries_are_refused_as_routing_only() {
        let backend = Recorder::default();
        for kind in [
            RequestKind::Run,
            RequestKind::Begin,
            RequestKind::Commit,
            RequestKind::Rollback,
            RequestKind::Discard,
            RequestKind::Pull,
        ] {
            let mut session = ready(Version::V4_4, &backend);
            let step = session.handle(Request::Refused(kind), &backend);
            assert_eq!(code(&step), "Neo.ClientError.Request.Invalid");
            let Some(Response::Failure(failure)) = &step.response else {
                unreachable!()
            };
            assert!(failure.message().starts_with(&format!(
                "{kind} is not supported: this endpoint serves routing tables only"
            )));
            assert!(!step.close);
            assert_eq!(session.state(), State::Failed);
        }
    }

    #[test]
    fn a_table_without_readers_or_routers_is_never_sent() {
        for (strip, role) in [(0, "READ"), (1, "ROUTE")] {
            let mut empty = table("movies");
            if strip == 0 {
                empty.readers.clear()
            } else {
                empty.routers.clear()
            }
            let backend = Recorder {
                answer: Some(Ok(empty)),
                ..Recorder::default()
            };
            let mut session = ready(Version::V5_8, &backend);
            let step = session.handle(route("europe"), &backend);
            assert_eq!(
                code(&step),
                "Neo.TransientError.General.DatabaseUnavailable"
            );
            let Some(Response::Failure(failure)) = &step.response else {
                unreachable!()
            };
            assert_eq!(
                failure.message(),
                format!("routing table for database `movies` has no {role} server")
            );
            assert_eq!(session.state(), State::Failed);
        }
    }

    #[test]
    fn requests_out_of_place_close_the_connection() {
        let backend = Recorder::default();
        let cases: [(Version, Vec<Request>, Request); 5] = [
            (Version::V5_8, vec![], route("europe")),
            (Version::V5_8, vec![], Request::Logon(Auth::default())),
            (
                Version::V4_4,
                vec![hello(Auth::default())],
                hello(Auth::default()),
            ),
            (
                Version::V5_8,
                vec![hello(Auth::default()), Request::Logon(Auth::default())],
                Request::Logon(Auth::default()),
            ),
            (
                Version::V5_8,
                vec![hello(Auth::default())],
                Request::Refused(RequestKind::Run),
            ),
        ];
        for (version, before, request) in cases {
            let mut session = Session::new(version, "bolt-1");
            for earlier in before {
                session.handle(earlier, &backend);
            }
            let state = session.state();
            let kind = request.kind();
            let step = session.handle(request, &backend);
            assert!(step.close, "{kind} in {state}");
            let Some(Response::Failure(failure)) = &step.response else {
                panic!("{kind} in {state}")
            };
            assert_eq!(
                failure.message(),
                format!("{kind} is not allowed in state {state}; the connection closes")
            );
            assert_eq!(session.state(), State::Defunct);
            let after = session.handle(Request::Reset, &backend);
            assert_eq!(
                after,
                Step {
                    response: None,
                    close: true
                }
            );
        }
    }

    #[test]
    fn goodbye_closes_without_a_reply_from_any_state() {
        let backend = Recorder::default();
        let mut failed = ready(Version::V5_8, &backend);
        failed.handle(route("atlantis"), &backend);
        let sessions = [
            Session::new(Version::V5_8, "a"),
            ready(Version::V5_8, &backend),
            failed,
        ];
        for mut session in sessions {
            assert_eq!(
                session.handle(Request::Goodbye, &backend),
                Step {
                    response: None,
                    close: true
                }
            );
            assert_eq!(session.state(), State::Defunct);
        }
    }
}
