//! Checking a client's credentials without holding up anyone else.
//!
//! The Bolt state machine asks its [`Backend`](crate::bolt::Backend) for a verdict in the
//! middle of [`bolt::Connection::receive`](crate::bolt::Connection::receive), synchronously,
//! while argon2 takes tens of milliseconds. So a connection learns the verdicts first: before
//! it hands a read to the state machine, it runs the read on a copy of the machine with a
//! [`Rehearsal`] backend that only writes down the credentials asked for (nothing is sent and
//! nothing counted), gets each verdict from [`check`] asynchronously, and then runs the read for
//! real with the [`Verdicts`] in hand. The machine is deterministic, so the real run asks for
//! the same credentials, or for fewer when one is refused.
//!
//! [`check`] refuses at once a peer paused after failed logins, or with a check of its own
//! under way since ([`Backoff`]), and a login that finds the check queue full ([`Busy`]); the rest wait for the pool ([`Verifier`]). Failures
//! are logged at most once a second per peer, with the count left out; user names clipped.
//!
//! [`Backoff`]: super::auth::Backoff
//! [`Busy`]: super::auth::Busy
//! [`Verifier`]: super::auth::Verifier

use std::cell::RefCell;
use std::net::SocketAddr;

use super::Shared;
use super::auth::{Attempt, Busy};
use super::logging::Clipped;
use super::peer::Peer;
use crate::bolt::{self, Auth, Backend, Failure, RouteRequest, RoutingTable, State, Version};

/// Neo4j's words for wrong credentials.
const UNAUTHORIZED: &str = "The client is unauthorized due to authentication failure.";

/// Whether handing `bytes` to `bolt` may make it ask for a verdict: before the login, or, from
/// Bolt 5.1 on, when the read may hold a LOGOFF (signature `0x6B`) or ends a message begun
/// before. Only asked when the server checks credentials.
pub(super) fn may_ask(bolt: &bolt::Connection, bytes: &[u8]) -> bool {
    match bolt.state() {
        None | Some(State::Connected | State::Authentication) => true,
        Some(State::Ready | State::Failed) => {
            bolt.version().is_some_and(|v| v >= Version::V5_1)
                && (bolt.is_mid_message() || bytes.contains(&0x6B))
        }
        Some(State::Defunct) => false,
    }
}

/// A backend that writes down the credentials the state machine asks about and answers
/// nothing else: what a read will ask, found on a copy of the connection.
#[derive(Debug, Default)]
pub(super) struct Rehearsal {
    asked: RefCell<Vec<Auth>>,
}

impl Rehearsal {
    /// The credentials that `bytes` make a copy of `bolt` ask about, in order.
    pub(super) fn run(bolt: &bolt::Connection, bytes: &[u8]) -> Vec<Auth> {
        let rehearsal = Rehearsal::default();
        let mut copy = bolt.clone();
        copy.receive(bytes, &rehearsal, &mut Vec::new());
        rehearsal.asked.into_inner()
    }
}

impl Backend for Rehearsal {
    fn authenticate(&self, auth: &Auth) -> Result<(), Failure> {
        self.asked.borrow_mut().push(auth.clone());
        Ok(())
    }

    fn route(&self, _: &RouteRequest) -> Result<RoutingTable, Failure> {
        Err(Failure::routing_failed("rehearsal"))
    }
}

/// Verdicts found before a read, taken by the state machine's questions in order.
#[derive(Debug, Default)]
pub(super) struct Verdicts {
    found: RefCell<Vec<(Auth, Result<(), Failure>)>>,
}

impl Verdicts {
    /// Keeps the verdict on `auth`.
    pub(super) fn keep(&self, auth: Auth, verdict: Result<(), Failure>) {
        self.found.borrow_mut().push((auth, verdict));
    }

    /// The verdict on `auth`, found before the read. A question not rehearsed cannot happen
    /// (the machine is deterministic); were it to, it is refused.
    pub(super) fn take(&self, auth: &Auth) -> Result<(), Failure> {
        let mut found = self.found.borrow_mut();
        match found.iter().position(|(a, _)| a == auth) {
            Some(at) => found.remove(at).1,
            None => {
                tracing::error!("credentials arrived without a verdict; refused");
                Err(Failure::unauthorized(UNAUTHORIZED))
            }
        }
    }

    /// Forgets verdicts the read did not use.
    pub(super) fn clear(&self) {
        self.found.borrow_mut().clear();
    }
}

/// Checks `auth` for a connection from `peer`: against the auth file, after the peer's pause
/// and through the pool's queue. Without an auth file every client is let in.
pub(super) async fn check(
    shared: &Shared,
    id: &str,
    peer: SocketAddr,
    auth: &Auth,
) -> Result<(), Failure> {
    let Some(credentials) = shared.credentials.load_full() else {
        return Ok(());
    };
    let attempt = match shared.backoff.attempt(Peer::of(peer)) {
        Ok(attempt) => attempt,
        Err(_) => {
            shared.metrics.refuse("auth_backoff");
            return Err(Failure::unauthorized(format!(
                "{UNAUTHORIZED} Too many failed logins from this address: try again later."
            )));
        }
    };
    let (Some("basic"), Some(user), Some(password)) = (
        auth.scheme.as_deref(),
        auth.principal.as_deref(),
        auth.credentials.as_deref(),
    ) else {
        return Err(failed(
            shared,
            id,
            peer,
            auth,
            attempt,
            "no basic credentials",
        ));
    };
    let verdict = match shared.verifier.submit(credentials, user, password) {
        Ok(verdict) => verdict,
        Err(Busy) => {
            shared.metrics.refuse("auth_busy");
            if let Some(left_out) = shared.auth_busy.ready() {
                tracing::warn!(
                    connection = %id, %peer, left_out,
                    "login refused: the password checks' queue is full"
                );
            }
            return Err(Failure::unauthorized(format!(
                "{UNAUTHORIZED} The server is busy checking passwords: try again."
            )));
        }
    };
    if verdict.await == Ok(true) {
        attempt.succeeded();
        Ok(())
    } else {
        Err(failed(shared, id, peer, auth, attempt, "wrong credentials"))
    }
}

/// Counts, pauses the peer and logs (summarised) a failed login.
fn failed(
    shared: &Shared,
    id: &str,
    peer: SocketAddr,
    auth: &Auth,
    attempt: Attempt<'_>,
    why: &str,
) -> Failure {
    shared.metrics.refuse("auth");
    if let Some(left_out) = attempt.failed() {
        let user = auth.principal.as_deref().map(Clipped);
        tracing::warn!(
            connection = %id, %peer, user = user.map(tracing::field::display), why,
            failures_not_logged = left_out, "authentication failed"
        );
    }
    Failure::unauthorized(UNAUTHORIZED)
}
