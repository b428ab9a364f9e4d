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
use super::message::{MessageError, Plain, Request, Response, RouteRequest};
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
        /// The last ROUTE read, whose strings the next one is read into.
        route: RouteRequest,
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
                            route: RouteRequest::default(),
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
        let Phase::Open {
            session,
            dechunker,
            route,
        } = &mut self.phase
        else {
            return Status::Open;
        };
        let limits = &self.options.limits;
        dechunker.push(bytes);
        loop {
            let body = match dechunker.next_message() {
                Ok(Some(body)) => body,
                Ok(None) => return Status::Open,
                Err(e) => return self.closed(CloseReason::Framing(e)),
            };
            let step = if Plain::route_into(body, session.version(), limits, route) {
                session.handle_route(route, backend)
            } else {
                match Request::decode_value(body, session.version(), limits) {
                    Ok(request) => session.handle(request, backend),
                    Err(e) => {
                        let failure = Failure::request_invalid(format!("malformed request: {e}"));
                        write(&Response::Failure(failure), out);
                        return self.closed(CloseReason::Message(e));
                    }
                }
            };
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
            if let Some(Response::Routed(table)) = step.response {
                backend.recycle(table);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::packstream::{self, Value};
    use crate::bolt::testing::{
        Recorder, framed, hello_4x, hello_5x, hex, logon, route_europe, table,
    };

    const PYTHON: &str = "6060B017 000001FF 00080805 00020404 00000003";
    const NEO4RS: &str = "6060B017 00000404 00000304 00000104 00000004";

    /// The responses in `out`, decoded: (signature, metadata).
    fn responses(out: &[u8]) -> Vec<(u8, Value)> {
        let mut dechunker = Dechunker::new(1 << 20);
        dechunker.push(out);
        let mut all = Vec::new();
        while let Some(body) = dechunker.next_message().unwrap() {
            let value = packstream::decode(body, &Limits::default()).unwrap();
            let s = value.as_struct().unwrap();
            all.push((s.tag(), s.fields().first().cloned().unwrap_or(Value::Null)));
        }
        assert!(!dechunker.is_mid_message(), "a response is cut short");
        all
    }

    /// `stream` fed `split` bytes at a time: everything written, and the last status.
    fn run(stream: &[u8], split: usize, options: Options, backend: &Recorder) -> (Vec<u8>, Status) {
        let mut connection = Connection::new(options, "bolt-1");
        let mut out = Vec::new();
        let mut status = Status::Open;
        for piece in stream.chunks(split) {
            status = connection.receive(piece, backend, &mut out);
        }
        (out, status)
    }

    fn python_dialogue() -> Vec<u8> {
        let mut stream = hex(PYTHON);
        for body in [
            hello_5x(),
            logon("neo4j", "pw"),
            route_europe(),
            hex("b0 02"),
        ] {
            stream.extend(framed(&body));
        }
        stream
    }

    #[test]
    fn a_pipelined_python_dialogue_is_answered_in_order_whatever_the_reads() {
        let stream = python_dialogue();
        let (whole, status) = run(
            &stream,
            stream.len(),
            Options::default(),
            &Recorder::default(),
        );
        assert_eq!(status, Status::Close(CloseReason::Goodbye));
        assert_eq!(&whole[..4], [0, 0, 8, 5]);
        let replies = responses(&whole[4..]);
        let tags: Vec<u8> = replies.iter().map(|(tag, _)| *tag).collect();
        assert_eq!(tags, [0x70, 0x70, 0x70]);
        let rt = replies[2].1.as_map().unwrap().get("rt").unwrap();
        assert_eq!(rt.as_map().unwrap().get("ttl"), Some(&Value::Int(300)));
        for split in [1, 2, 3, 7, 19, 20, 21, 64] {
            assert_eq!(
                run(&stream, split, Options::default(), &Recorder::default()).0,
                whole,
                "split {split}"
            );
        }
    }

    #[test]
    fn each_table_comes_back_to_the_backend_once_its_answer_is_written() {
        let mut stream = hex(PYTHON);
        for body in [
            hello_5x(),
            logon("neo4j", "pw"),
            route_europe(),
            route_europe(),
        ] {
            stream.extend(framed(&body));
        }
        let backend = Recorder::default();
        let (out, status) = run(&stream, stream.len(), Options::default(), &backend);
        assert_eq!(status, Status::Open);
        let routed = responses(&out[4..]).len() - 2;
        assert_eq!(routed, 2);
        assert_eq!(*backend.recycled.borrow(), [table("neo4j"), table("neo4j")]);
    }

    #[test]
    fn neo4rs_speaks_4_4_with_auth_in_hello() {
        let backend = Recorder::default();
        let mut stream = hex(NEO4RS);
        stream.extend(framed(&hello_4x("neo4j", "pw")));
        let (out, status) = run(&stream, stream.len(), Options::default(), &backend);
        assert_eq!(status, Status::Open);
        assert_eq!(&out[..4], [0, 0, 4, 4]);
        assert_eq!(responses(&out[4..])[0].0, 0x70);
        assert_eq!(
            backend.logins.borrow()[0].principal.as_deref(),
            Some("neo4j")
        );
    }

    #[test]
    fn the_cap_lowers_the_negotiated_version() {
        let options = Options {
            max_version: Version::V5_0,
            ..Options::default()
        };
        let mut connection = Connection::new(options, "bolt-1");
        let mut out = Vec::new();
        connection.receive(&hex(PYTHON), &Recorder::default(), &mut out);
        assert_eq!(out, [0, 0, 0, 5]);
        assert_eq!(connection.version(), Some(Version::V5_0));
        assert_eq!(connection.state(), Some(State::Connected));
    }

    #[test]
    fn wrong_credentials_close_after_the_failure() {
        let mut stream = hex(PYTHON);
        for body in [hello_5x(), logon("neo4j", "nope"), route_europe()] {
            stream.extend(framed(&body));
        }
        let backend = Recorder::default();
        let (out, status) = run(&stream, stream.len(), Options::default(), &backend);
        let Status::Close(CloseReason::Failure(failure)) = status else {
            panic!("{status:?}")
        };
        assert_eq!(failure.code(), "Neo.ClientError.Security.Unauthorized");
        let tags: Vec<u8> = responses(&out[4..]).iter().map(|(tag, _)| *tag).collect();
        assert_eq!(tags, [0x70, 0x7F]);
        assert!(
            backend.routes.borrow().is_empty(),
            "ROUTE after a failed LOGON was served"
        );
    }

    #[test]
    fn no_common_version_writes_zeros_and_closes() {
        let (out, status) = run(
            &hex("6060B017 00000003 00000002 0000000 000000000"),
            20,
            Options::default(),
            &Recorder::default(),
        );
        assert_eq!(out, [0, 0, 0, 0]);
        assert!(matches!(
            status,
            Status::Close(CloseReason::Handshake(
                HandshakeError::NoCommonVersion { .. }
            ))
        ));
    }

    #[test]
    fn a_client_that_is_not_bolt_gets_nothing() {
        let (out, status) = run(
            b"GET /metrics HTTP/1.1\r\n\r\n",
            64,
            Options::default(),
            &Recorder::default(),
        );
        assert!(out.is_empty());
        assert!(matches!(
            status,
            Status::Close(CloseReason::Handshake(HandshakeError::BadMagic { .. }))
        ));
    }

    #[test]
    fn a_malformed_message_gets_a_failure_and_closes() {
        let mut stream = hex(PYTHON);
        stream.extend(framed(&hex("b1 01 a1 01 01")));
        let (out, status) = run(
            &stream,
            stream.len(),
            Options::default(),
            &Recorder::default(),
        );
        assert!(matches!(status, Status::Close(CloseReason::Message(_))));
        let replies = responses(&out[4..]);
        assert_eq!(replies[0].0, 0x7F);
        let message = replies[0]
            .1
            .as_map()
            .unwrap()
            .get("message")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            message,
            "malformed request: map key is not a string at byte 3"
        );
    }

    #[test]
    fn a_message_over_the_limit_closes_without_buffering_it() {
        let options = Options {
            limits: Limits {
                max_message: 64,
                ..Limits::default()
            },
            ..Options::default()
        };
        let mut stream = hex(PYTHON);
        stream.extend(hex("FFFF"));
        let (out, status) = run(&stream, stream.len(), options, &Recorder::default());
        assert_eq!(out, [0, 0, 8, 5]);
        let Status::Close(CloseReason::Framing(e)) = status else {
            panic!("{status:?}")
        };
        assert_eq!(e.stream_offset(), 0);
    }

    #[test]
    fn after_closing_nothing_more_is_read() {
        let mut connection = Connection::new(Options::default(), "bolt-1");
        let backend = Recorder::default();
        let mut out = Vec::new();
        let mut stream = hex(PYTHON);
        stream.extend(framed(&hex("b0 02")));
        assert_eq!(
            connection.receive(&stream, &backend, &mut out),
            Status::Close(CloseReason::Goodbye)
        );
        out.clear();
        let again = connection.receive(&framed(&hello_5x()), &backend, &mut out);
        assert_eq!(again, Status::Close(CloseReason::Goodbye));
        assert!(out.is_empty());
        assert_eq!(connection.state(), Some(State::Defunct));
    }

    #[test]
    fn mid_message_covers_the_handshake_and_partial_chunks() {
        let mut connection = Connection::new(Options::default(), "bolt-1");
        let backend = Recorder::default();
        let mut out = Vec::new();
        assert!(!connection.is_mid_message());
        connection.receive(&hex("6060"), &backend, &mut out);
        assert!(connection.is_mid_message());
        connection.receive(&hex(PYTHON)[2..], &backend, &mut out);
        assert!(!connection.is_mid_message());
        connection.receive(&hex("0002 B0"), &backend, &mut out);
        assert!(connection.is_mid_message());
    }
}
