//! A Bolt routing endpoint's protocol, without I/O: what lets unmodified Neo4j drivers fetch
//! their routing tables from tagroute.
//!
//! ```text
//! bytes ─handshake─▶ Version ─chunk─▶ message bodies ─packstream─▶ Value ─message─▶ Request
//!                                                                                      │
//!        bytes ◀─chunk─ Value ◀─packstream─ Response ◀──────state: Session + Backend ───┘
//! ```
//!
//! [`Connection`] runs the whole pipeline over bytes a server reads and writes; each stage is
//! public on its own for tests and tools. The state machine ([`Session`]) calls out through the
//! [`Backend`] trait for authentication and routing tables, so this module knows nothing of
//! sockets, tokio or tagroute's routing module. Every function here is pure and bounded by
//! [`Limits`]: a client's bytes can make it return an error, never panic or grow without
//! bound. BOLT.md (in the project's shared documents) records the protocol facts checked against
//! real drivers: Python `neo4j` 5.28 and 6.4, neo4rs 0.9.
//!
//! The client side ([`client`]) reuses the handshake, chunking and PackStream stages: it is what
//! tagroute speaks to a Neo4j server to read its cluster.
//!
//! Served: Bolt 4.4 and 5.0–5.8 (5.5 excepted, as in Neo4j); HELLO, LOGON, LOGOFF, ROUTE,
//! RESET, GOODBYE and TELEMETRY. RUN, BEGIN, COMMIT, ROLLBACK, DISCARD and PULL get FAILURE
//! `Neo.ClientError.Request.Invalid`: this endpoint serves routing tables only.

#![deny(clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::indexing_slicing, reason = "tests index what they just built")
)]

pub mod chunk;
pub mod client;
pub mod connection;
pub mod failure;
pub mod handshake;
pub mod message;
pub mod packstream;
pub mod state;

pub use connection::{CloseReason, Connection, Options, Status};
pub use failure::Failure;
pub use handshake::Version;
pub use message::{Auth, Hello, Request, RequestKind, Response, RouteRequest, RoutingTable};
pub use packstream::{Limits, Value};
pub use state::{Backend, SERVER_AGENT, Session, State, Step};

#[cfg(test)]
mod testing;
