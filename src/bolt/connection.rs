//! One connection from bytes in to bytes out: handshake, de-chunking, decoding, the state
//! machine and the framed replies, with no I/O of its own.
//!
//! A server reads whatever the socket has, hands it to [`Connection::receive`], writes what it
//! appended to the output buffer, and closes when told. Pipelined requests in one read are
//! answered in order; a request split over many reads waits for its last byte.
//!
//! ```
//! use tagroute::bolt::{Auth, Backend, Connection, Failure, Options, RouteRequest, RoutingTable, Status};
//! # struct Open;
//! # impl Backend for Open {
//! #     fn authenticate(&self, _: &Auth) -> Result<(), Failure> { Ok(()) }
//! #     fn route(&self, _: &RouteRequest) -> Result<RoutingTable, Failure> {
//! #         Err(Failure::routing_failed("no table"))
//! #     }
//! # }
//!
//! let mut connection = Connection::new(Options::default(), "bolt-1");
//! let mut out = Vec::new();
//! // The Python driver's handshake: the server picks 5.8 and says so.
//! let handshake = [0x60, 0x60, 0xB0, 0x17, 0, 0, 1, 0xFF, 0, 8, 8, 5, 0, 2, 4, 4, 0, 0, 0, 3];
//! assert_eq!(connection.receive(&handshake, &Open, &mut out), Status::Open);
//! assert_eq!(out, [0, 0, 8, 5]);
//!
//! out.clear();
//! let goodbye = [0x00, 0x02, 0xB0, 0x02, 0x00, 0x00];
//! assert!(matches!(connection.receive(&goodbye, &Open, &mut out), Status::Close(_)));
//! assert!(out.is_empty());
//! ```

use std::fmt;

use super::chunk::{ChunkError, Dechunker};
use super::failure::Failure;
use super::handshake::{self, HandshakeError, Version};
use super::message::{MessageError, Request, Response};
use super::packstream::Limits;
use super::state::{Backend, Session, State};

/// What a server may choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The highest Bolt version to negotiate (the CLI's `--max-bolt-version`).
    pub max_version: Version,
    /// Limits on what a client may send; `max_message` also bounds the de-chunker.
    pub limits: Limits,
}

impl Default for Options {
    /// Every implemented version (up to 5.8) and the default [`Limits`].
    fn default() -> Self {
        Options {
            max_version: Version::V5_8,
            limits: Limits::default(),
        }
    }
}

/// Whether to keep the connection open.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Keep reading.
    Open,
    /// Write what was appended to the output, then close.
    Close(CloseReason),
}

/// Why a connection closes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client said GOODBYE.
    Goodbye,
    /// The handshake failed ([`HandshakeError::reply`] was written when there is one).
    Handshake(HandshakeError),
    /// A message went over the size limit.
    Framing(ChunkError),
    /// A message was not a request of the negotiated version (a FAILURE was written).
    Message(MessageError),
    /// A FAILURE that ends the connection was written: failed authentication, or a request
    /// out of place.
    Failure(Failure),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Goodbye => f.write_str("the client said goodbye"),
            CloseReason::Handshake(e) => e.fmt(f),
            CloseReason::Framing(e) => e.fmt(f),
            CloseReason::Message(e) => e.fmt(f),
            CloseReason::Failure(e) => e.fmt(f),
        }
    }
}

/// A Bolt connection from its first byte, without I/O.
#[derive(Clone, Debug)]
pub struct Connection {
    options: Options,
    phase: Phase,
    connection_id: String,
}

#[derive(Clone, Debug)]
enum Phase {
    Handshake {
        bytes: [u8; handshake::LEN],
        filled: usize,
    },
    Open {
        session: Session,
        dechunker: Dechunker,
    },
    Closed(CloseReason),
}

impl Connection {
    /// A new connection, named `connection_id` in HELLO's SUCCESS.
    pub fn new(options: Options, connection_id: impl Into<String>) -> Self {
        Connection {
            options,
            phase: Phase::Handshake {
                bytes: [0; handshake::LEN],
                filled: 0,
            },
            connection_id: connection_id.into(),
        }
    }

    /// The negotiated version, once the handshake is done.
    pub fn version(&self) -> Option<Version> {
        match &self.phase {
            Phase::Open { session, .. } => Some(session.version()),
            Phase::Handshake { .. } | Phase::Closed(_) => None,
        }
    }

    /// The session's state; `None` during the handshake, [`State::Defunct`] once closed.
    pub fn state(&self) -> Option<State> {
        match &self.phase {
            Phase::Handshake { .. } => None,
            Phase::Open { session, .. } => Some(session.state()),
            Phase::Closed(_) => Some(State::Defunct),
        }
    }

    /// Whether the client is in the middle of its handshake or of a message (so an idle
    /// timeout now is a stalled client, not an idle one).
    pub fn is_mid_message(&self) -> bool {
        match &self.phase {
            Phase::Handshake { filled, .. } => *filled > 0,
            Phase::Open { dechunker, .. } => dechunker.is_mid_message(),
            Phase::Closed(_) => false,
        }
    }

    /// Takes bytes read from the client, appends the bytes to send to `out`, and says whether
    /// to close. After [`Status::Close`] every call returns it again and appends nothing.
    pub fn receive(&mut self, bytes: &[u8], backend: &impl Backend, out: &mut Vec<u8>) -> Status {
        let rest = match &mut self.phase {
            Phase::Closed(reason) => return Status::Close(reason.clone()),
            Phase::Handshake {
                bytes: buffer,
                filled,
            } => {
                let n = bytes.len().min(handshake::LEN - *filled);
                let (head, rest) = bytes.split_at(n);
                if let Some(slot) = buffer.get_mut(*filled..*filled + n) {
                    slot.copy_from_slice(head);
                }
                *filled += n;
                if *filled < handshake::LEN {
                    return Status::Open;
                }
                match handshake::negotiate(buffer, self.options.max_version) {
                    Ok(version) => {
                        out.extend_from_slice(&version.reply());
                        self.phase = Phase::Open {
                            session: Session::new(version, self.connection_id.as_str()),
                            dechunker: Dechunker::new(self.options.limits.max_message),
                        };
                        rest
                    }
                    Err(e) => {
                        if let Some(reply) = e.reply() {
                            out.extend_from_slice(&reply);
                        }
                        return self.closed(CloseReason::Handshake(e));
                    }
                }
            }
            Phase::Open { .. } => bytes,
        };
        self.messages(rest, backend, out)
    }

    fn messages(&mut self, bytes: &[u8], backend: &impl Backend, out: &mut Vec<u8>) -> Status {
        let Phase::Open { session, dechunker } = &mut self.phase else {
            return Status::Open;
        };
        dechunker.push(bytes);
        loop {
            let body = match dechunker.next_message() {
                Ok(Some(body)) => body,
                Ok(None) => return Status::Open,
                Err(e) => return self.closed(CloseReason::Framing(e)),
            };
            let request = match Request::decode(body, session.version(), &self.options.limits) {
                Ok(request) => request,
                Err(e) => {
                    let failure = Failure::request_invalid(format!("malformed request: {e}"));
                    write(&Response::Failure(failure), out);
                    return self.closed(CloseReason::Message(e));
                }
            };
            let step = session.handle(request, backend);
            if let Some(response) = &step.response {
                write(response, out);
            }
            if step.close {
                let reason = match step.response {
                    Some(Response::Failure(failure)) => CloseReason::Failure(failure),
                    _ => CloseReason::Goodbye,
                };
                return self.closed(reason);
            }
        }
    }

    fn closed(&mut self, reason: CloseReason) -> Status {
        self.phase = Phase::Closed(reason.clone());
        Status::Close(reason)
    }
}

/// Frames a response. Responses hold no value PackStream cannot encode, so there is no error
/// to report; a partial write is never left behind.
fn write(response: &Response, out: &mut Vec<u8>) {
    let _ = response.write_chunked(out);
}
