//! The client side of Bolt, without I/O: what tagroute speaks to a Neo4j server to read its
//! cluster (`SHOW SERVERS`, `SHOW DATABASES` on the `system` database).
//!
//! ```text
//! handshake::proposal ─▶ handshake::accepted(reply) ─▶ Client::new(version)
//!   hello · run · pull · reset · goodbye ─▶ framed requests appended to `out`
//!   push(bytes read) ─▶ next_event ─▶ Success · Record · Failure · Ignored, each for its request
//! ```
//!
//! Requests may be pipelined: the client keeps the queue of requests whose summary (SUCCESS,
//! FAILURE or IGNORED) has not arrived, and names the request each summary answers. After a
//! FAILURE the server ignores what follows until RESET (BOLT.md section 3.4). Everything a
//! server sends is untrusted and bounded: a message over [`Limits::max_message`] is refused
//! before it is buffered, values are decoded under the PackStream [`Limits`], and a result
//! stream longer than [`ClientOptions::max_records`] records or
//! [`ClientOptions::max_result_bytes`] bytes is an error. After an error the connection is of
//! no further use.
//!
//! ```
//! use tagroute::bolt::client::{Client, ClientOptions, Event};
//! use tagroute::bolt::{Auth, Version};
//!
//! let mut client = Client::new(Version::V5_8, ClientOptions::default());
//! let mut out = Vec::new();
//! client.hello("tagroute/0.1.0", &Auth::default(), &mut out);
//! client.run("SHOW SERVERS YIELD *", Some("system"), &mut out);
//! client.pull(&mut out);
//! assert_eq!(client.pending(), 4); // HELLO, LOGON, RUN, PULL
//!
//! // SUCCESS {} twice, SUCCESS {fields: ["name"]}, RECORD ["n1"], SUCCESS {}.
//! client.push(b"\x00\x03\xb1\x70\xa0\x00\x00\x00\x03\xb1\x70\xa0\x00\x00");
//! client.push(b"\x00\x10\xb1\x70\xa1\x86fields\x91\x84name\x00\x00");
//! client.push(b"\x00\x06\xb1\x71\x91\x82n1\x00\x00\x00\x03\xb1\x70\xa0\x00\x00");
//! let mut names = Vec::new();
//! while let Some(event) = client.next_event()? {
//!     if let Event::Record(record) = event {
//!         names.push(record.decode()?[0].as_str().unwrap_or_default().to_owned());
//!     }
//! }
//! assert_eq!(names, ["n1"]);
//! assert_eq!(client.pending(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;

use super::chunk::{self, ChunkError, Dechunker};
use super::failure::Failure;
use super::handshake::Version;
use super::message::{Auth, FAILURE, IGNORED, RECORD, RequestKind, SUCCESS};
use super::packstream::{self, DecodeError, Limits, Map, Structure, Value};

/// What a client accepts from a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// PackStream limits of every message; `max_message` bounds one message, a RECORD too.
    pub limits: Limits,
    /// The most RECORDs in one result stream.
    pub max_records: usize,
    /// The most bytes of RECORD bodies in one result stream.
    pub max_result_bytes: usize,
}

impl Default for ClientOptions {
    /// Room for a cluster's `SHOW DATABASES YIELD *`: a million records, 256 MiB in all, each
    /// record at most 1 MiB. One record of Neo4j 5 is some 500 bytes, so 10,000 databases on
    /// five servers each take 25 MB.
    fn default() -> Self {
        ClientOptions {
            limits: Limits::default(),
            max_records: 1_000_000,
            max_result_bytes: 256 << 20,
        }
    }
}

/// One message from the server, with the request it answers.
#[derive(Debug, PartialEq)]
pub enum Event<'a> {
    /// SUCCESS: the request succeeded; for PULL, its stream is over.
    Success {
        /// The request answered.
        request: RequestKind,
        /// The metadata (`fields` for RUN, `has_more` and `db` for PULL, …).
        metadata: Map,
    },
    /// RECORD: one row of the result PULL streams.
    Record(RecordFields<'a>),
    /// FAILURE: the request failed; the server ignores what follows until RESET.
    Failure {
        /// The request answered.
        request: RequestKind,
        /// Why, in either Bolt version's shape.
        failure: Failure,
    },
    /// IGNORED: the request was not run, because of an earlier FAILURE.
    Ignored {
        /// The request answered.
        request: RequestKind,
    },
}

/// The fields of one RECORD, not yet decoded: a caller decodes only the columns it reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecordFields<'a> {
    body: &'a [u8],
    limits: &'a Limits,
}

impl<'a> RecordFields<'a> {
    /// Every field.
    ///
    /// # Errors
    /// A [`DecodeError`] when the fields are not one PackStream list within the limits.
    pub fn decode(&self) -> Result<Vec<Value>, DecodeError> {
        self.decode_only(|_| true)
    }

    /// The fields whose position `keep` selects; the others are checked but not built, and
    /// left [`Value::Null`].
    ///
    /// # Errors
    /// A [`DecodeError`] when the fields are not one PackStream list within the limits.
    pub fn decode_only(&self, keep: impl Fn(usize) -> bool) -> Result<Vec<Value>, DecodeError> {
        packstream::decode_list_at(self.body, FIELDS_AT, FIELDS_DEPTH, keep, self.limits)
    }

    /// Checks the fields as [`decode`](Self::decode) does and hands `each` the position and
    /// the byte range in [`body`](Self::body) of every field `keep` selects, building nothing:
    /// fields to compare as bytes, or to decode later with [`decode_field`].
    ///
    /// # Errors
    /// The [`DecodeError`] that [`decode`](Self::decode) would return.
    pub fn scan_only(
        &self,
        keep: impl Fn(usize) -> bool,
        each: impl FnMut(usize, Range<usize>),
    ) -> Result<(), DecodeError> {
        packstream::scan_list_at(self.body, FIELDS_AT, FIELDS_DEPTH, keep, self.limits, each)
    }

    /// The RECORD message, which [`scan_only`](Self::scan_only)'s ranges index.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// Where a RECORD's list of fields starts: after the structure marker and the signature.
const FIELDS_AT: usize = 2;

/// How deep a RECORD's list of fields lies: in the message's structure.
const FIELDS_DEPTH: usize = 1;

/// Decodes one field that [`RecordFields::scan_only`] cut out of a record: the value
/// [`RecordFields::decode`] builds for it, within the same limits.
///
/// # Errors
/// A [`DecodeError`] when the bytes are not one field within the limits; offsets count from
/// the field's first byte.
pub fn decode_field(bytes: &[u8], limits: &Limits) -> Result<Value, DecodeError> {
    // Items of the fields' list lie one level deeper than the list.
    packstream::decode_item(bytes, FIELDS_DEPTH + 1, limits)
}

/// Why what a server sent is not a valid answer. The connection should be closed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientError {
    /// A message over the size limit.
    Framing(ChunkError),
    /// A message that is not one PackStream value.
    Decode(DecodeError),
    /// A message that is not a response of known signature and shape.
    NotAResponse {
        /// What it is, such as `signature 0x10` or `SUCCESS with 2 fields`.
        found: String,
    },
    /// A response when no request awaits one.
    Unsolicited {
        /// Its name: `SUCCESS`, `RECORD`, …
        response: &'static str,
    },
    /// A RECORD answering a request other than PULL.
    RecordOutsidePull {
        /// The request awaiting an answer.
        request: RequestKind,
    },
    /// A result stream over [`ClientOptions::max_records`] records.
    TooManyRecords {
        /// The limit.
        max: usize,
    },
    /// A result stream over [`ClientOptions::max_result_bytes`] bytes.
    ResultTooLarge {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Framing(e) => e.fmt(f),
            ClientError::Decode(e) => write!(f, "malformed response: {e}"),
            ClientError::NotAResponse { found } => write!(f, "not a Bolt response: {found}"),
            ClientError::Unsolicited { response } => {
                write!(f, "a {response} that answers no request")
            }
            ClientError::RecordOutsidePull { request } => {
                write!(f, "a RECORD in answer to {request}, not PULL")
            }
            ClientError::TooManyRecords { max } => {
                write!(f, "a result of more than {max} records")
            }
            ClientError::ResultTooLarge { max } => {
                write!(f, "a result of more than {max} bytes")
            }
        }
    }
}

impl std::error::Error for ClientError {}

impl From<ChunkError> for ClientError {
    fn from(e: ChunkError) -> Self {
        ClientError::Framing(e)
    }
}

impl From<DecodeError> for ClientError {
    fn from(e: DecodeError) -> Self {
        ClientError::Decode(e)
    }
}

/// A client connection after the handshake, without I/O.
#[derive(Clone, Debug)]
pub struct Client {
    version: Version,
    options: ClientOptions,
    dechunker: Dechunker,
    /// Requests sent whose summary has not arrived, oldest first.
    pending: VecDeque<RequestKind>,
    /// RECORDs and their bytes in the stream being pulled.
    streamed: (usize, usize),
}

impl Client {
    /// A client on a connection that negotiated `version` (see [`handshake::accepted`]).
    ///
    /// [`handshake::accepted`]: super::handshake::accepted
    pub fn new(version: Version, options: ClientOptions) -> Self {
        Client {
            version,
            options,
            dechunker: Dechunker::new(options.limits.max_message),
            pending: VecDeque::new(),
            streamed: (0, 0),
        }
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// How many requests await their summary.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// HELLO, and from Bolt 5.1 LOGON: the credentials go inside HELLO up to 5.0, in LOGON
    /// after. An [`Auth`] without scheme is sent as scheme `none` (a server without
    /// authentication). From 5.3 HELLO carries the `bolt_agent` Neo4j requires.
    pub fn hello(&mut self, user_agent: &str, auth: &Auth, out: &mut Vec<u8>) {
        let mut extra = Map::from_iter([("user_agent", Value::from(user_agent))]);
        if self.version >= Version::new(5, 3) {
            extra.insert(
                "bolt_agent",
                Value::from_iter([("product", Value::from(user_agent))]),
            );
        }
        if self.version >= Version::V5_1 {
            self.send(RequestKind::Hello, vec![Value::Map(extra)], out);
            self.send(RequestKind::Logon, vec![Value::Map(auth_map(auth))], out);
        } else {
            for (key, value) in auth_map(auth).into_entries() {
                extra.insert(key, value);
            }
            self.send(RequestKind::Hello, vec![Value::Map(extra)], out);
        }
    }

    /// RUN `query` without parameters, in an auto-commit read transaction on `db` (the
    /// user's home database when `None`).
    pub fn run(&mut self, query: &str, db: Option<&str>, out: &mut Vec<u8>) {
        let mut extra = Map::new();
        if let Some(db) = db {
            extra.insert("db", db);
        }
        extra.insert("mode", "r");
        let fields = vec![
            Value::from(query),
            Value::Map(Map::new()),
            Value::Map(extra),
        ];
        self.send(RequestKind::Run, fields, out);
    }

    /// PULL every record of the last RUN (`n: -1`).
    pub fn pull(&mut self, out: &mut Vec<u8>) {
        let extra = Value::from_iter([("n", Value::Int(-1))]);
        self.send(RequestKind::Pull, vec![extra], out);
    }

    /// RESET: back to READY after a FAILURE.
    pub fn reset(&mut self, out: &mut Vec<u8>) {
        self.send(RequestKind::Reset, Vec::new(), out);
    }

    /// GOODBYE: the server closes without an answer.
    pub fn goodbye(&mut self, out: &mut Vec<u8>) {
        let body = [0xB0, RequestKind::Goodbye.signature()];
        chunk::write_message(&body, out);
    }

    fn send(&mut self, kind: RequestKind, fields: Vec<Value>, out: &mut Vec<u8>) {
        // At most three fields of small values: always a structure, always encodable.
        if let Some(message) = Structure::new(kind.signature(), fields) {
            let _ = chunk::write_with(out, |out| packstream::encode(&Value::Struct(message), out));
            self.pending.push_back(kind);
        }
    }

    /// Takes bytes read from the server.
    pub fn push(&mut self, bytes: &[u8]) {
        self.dechunker.push(bytes);
    }

    /// The next message from the server, `None` until more bytes are pushed.
    ///
    /// # Errors
    /// A [`ClientError`] when the server sent something that is not a valid answer.
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ClientError> {
        let Some(body) = self.dechunker.next_message()? else {
            return Ok(None);
        };
        let request = self.pending.front().copied();
        if let [0xB1, RECORD, ..] = body {
            if request != Some(RequestKind::Pull) {
                return Err(match request {
                    Some(request) => ClientError::RecordOutsidePull { request },
                    None => ClientError::Unsolicited { response: "RECORD" },
                });
            }
            let (records, bytes) = &mut self.streamed;
            *records += 1;
            *bytes += body.len();
            if *records > self.options.max_records {
                let max = self.options.max_records;
                return Err(ClientError::TooManyRecords { max });
            }
            if *bytes > self.options.max_result_bytes {
                let max = self.options.max_result_bytes;
                return Err(ClientError::ResultTooLarge { max });
            }
            return Ok(Some(Event::Record(RecordFields {
                body,
                limits: &self.options.limits,
            })));
        }
        let (signature, metadata) = summary(packstream::decode(body, &self.options.limits)?)?;
        let Some(request) = self.pending.pop_front() else {
            return Err(ClientError::Unsolicited {
                response: response_name(signature),
            });
        };
        if request == RequestKind::Pull {
            self.streamed = (0, 0);
        }
        Ok(Some(match (signature, metadata) {
            (SUCCESS, Some(metadata)) => Event::Success { request, metadata },
            (FAILURE, Some(metadata)) => Event::Failure {
                request,
                failure: Failure::from_metadata(&metadata),
            },
            _ => Event::Ignored { request },
        }))
    }
}

/// The auth entries: `scheme` (`none` when unset), then `principal` and `credentials` if set.
fn auth_map(auth: &Auth) -> Map {
    let mut map = Map::from_iter([(
        "scheme",
        Value::from(auth.scheme.as_deref().unwrap_or("none")),
    )]);
    for (key, value) in [
        ("principal", &auth.principal),
        ("credentials", &auth.credentials),
    ] {
        if let Some(value) = value {
            map.insert(key, value.as_str());
        }
    }
    map
}

/// A summary's signature and metadata: SUCCESS and FAILURE with one map, IGNORED with none.
fn summary(value: Value) -> Result<(u8, Option<Map>), ClientError> {
    let Value::Struct(message) = value else {
        return Err(ClientError::NotAResponse {
            found: format!("a {}", value.kind()),
        });
    };
    let signature = message.tag();
    let mut fields = message.into_fields();
    let name = response_name(signature);
    match (signature, fields.len()) {
        (IGNORED, 0) => Ok((signature, None)),
        (SUCCESS | FAILURE, 1) => match fields.pop() {
            Some(Value::Map(metadata)) => Ok((signature, Some(metadata))),
            _ => Err(ClientError::NotAResponse {
                found: format!("{name} without its metadata map"),
            }),
        },
        (SUCCESS | FAILURE | IGNORED, n) => Err(ClientError::NotAResponse {
            found: format!("{name} with {n} fields"),
        }),
        _ => Err(ClientError::NotAResponse {
            found: format!("signature {signature:#04X}"),
        }),
    }
}

fn response_name(signature: u8) -> &'static str {
    match signature {
        SUCCESS => "SUCCESS",
        RECORD => "RECORD",
        IGNORED => "IGNORED",
        FAILURE => "FAILURE",
        _ => "response",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::testing::{framed, hex};

    // Encoded by the Python driver's PackStream (`neo4j==6.4.1`, `neo4j._codec.packstream.v1
    // .Packer`), from the same structures; LOGON is BOLT.md's capture.
    const HELLO_5_8: &str = "b101a28a757365725f6167656e748e746167726f7574652f302e312e308a626f6c\
                             745f6167656e74a18770726f647563748e746167726f7574652f302e312e30";
    const HELLO_5_0: &str = "b101a48a757365725f6167656e748e746167726f7574652f302e312e3086736368\
                             656d65856261736963897072696e636970616c856e656f346a8b63726564656e74\
                             69616c73827077";
    const LOGON: &str = "b1 6a a3 86 736368656d65 85 6261736963 89 7072696e636970616c \
                         85 6e656f346a 8b 63726564656e7469616c73 82 7077";
    const RUN: &str = "b310d01453484f572053455256455253205949454c44202aa0a28264628673797374\
                       656d846d6f64658172";
    const PULL: &str = "b13fa1816eff";
    const SUCCESS_RUN: &str = "b170a2866669656c647393846e616d658761646472657373847461677387745f\
                               666972737402";
    const RECORD_N1: &str = "b17193826e31876e313a3736383792856e6f727468826575";
    const SUCCESS_PULL: &str = "b170a38474797065817286745f6c617374018264628673797374656d";
    const FAILURE_4_4: &str = "b17fa284636f6465d0254e656f2e436c69656e744572726f722e536563757269\
                               74792e556e617574686f72697a6564876d657373616765d03954686520636c69\
                               656e7420697320756e617574686f72697a65642064756520746f206175746865\
                               6e7469636174696f6e206661696c7572652e";
    const FAILURE_5_7: &str = "b17fa58a6e656f346a5f636f6465d0304e656f2e436c69656e744572726f722e\
                               53746174656d656e742e4e6f7453797374656d44617461626173654572726f72\
                               876d657373616765d0655468697320697320616e2061646d696e697374726174\
                               696f6e20636f6d6d616e6420616e642069742073686f756c6420626520657865\
                               637574656420616761696e7374207468652073797374656d2064617461626173\
                               653a2053484f5720534552564552538a67716c5f7374617475738535304e3432\
                               8b6465736372697074696f6ed09d6572726f723a2067656e6572616c2070726f\
                               63657373696e6720657863657074696f6e202d20756e65787065637465642065\
                               72726f722e205468697320697320616e2061646d696e697374726174696f6e20\
                               636f6d6d616e6420616e642069742073686f756c642062652065786563757465\
                               6420616761696e7374207468652073797374656d2064617461626173653a2053\
                               484f572053455256455253d011646961676e6f737469635f7265636f7264a389\
                               4f5045524154494f4e808e4f5045524154494f4e5f434f444581308e43555252\
                               454e545f534348454d41812f";

    const AGENT: &str = "tagroute/0.1.0";

    fn basic() -> Auth {
        Auth {
            scheme: Some("basic".to_owned()),
            principal: Some("neo4j".to_owned()),
            credentials: Some("pw".to_owned()),
        }
    }

    /// The framed concatenation of `bodies`.
    fn stream(bodies: &[&str]) -> Vec<u8> {
        bodies.iter().flat_map(|body| framed(&hex(body))).collect()
    }

    /// Every event of `client` as (kind, detail) pairs, or the first error.
    fn events(client: &mut Client) -> Result<Vec<String>, ClientError> {
        let mut all = Vec::new();
        while let Some(event) = client.next_event()? {
            all.push(match event {
                Event::Success { request, metadata } => {
                    format!("{request} SUCCESS {} keys", metadata.len())
                }
                Event::Record(fields) => format!("RECORD {:?}", fields.decode()?),
                Event::Failure { request, failure } => format!("{request} FAILURE {failure}"),
                Event::Ignored { request } => format!("{request} IGNORED"),
            });
        }
        Ok(all)
    }

    #[test]
    fn requests_encode_as_the_python_driver_encodes_them() {
        let mut client = Client::new(Version::V5_8, ClientOptions::default());
        let mut out = Vec::new();
        client.hello(AGENT, &basic(), &mut out);
        client.run("SHOW SERVERS YIELD *", Some("system"), &mut out);
        client.pull(&mut out);
        client.reset(&mut out);
        client.goodbye(&mut out);
        assert_eq!(
            out,
            stream(&[HELLO_5_8, LOGON, RUN, PULL, "b0 0f", "b0 02"])
        );
        assert_eq!(client.pending(), 5, "GOODBYE awaits no answer");

        let mut client = Client::new(Version::V5_0, ClientOptions::default());
        let mut out = Vec::new();
        client.hello(AGENT, &basic(), &mut out);
        assert_eq!(out, stream(&[HELLO_5_0]));
        assert_eq!(client.pending(), 1);
    }

    #[test]
    fn hello_carries_bolt_agent_from_5_3_and_scheme_none_without_credentials() {
        let decoded = |version: Version| {
            let mut client = Client::new(version, ClientOptions::default());
            let mut out = Vec::new();
            client.hello(AGENT, &Auth::default(), &mut out);
            let mut dechunker = Dechunker::new(1 << 16);
            dechunker.push(&out);
            let mut maps = Vec::new();
            while let Some(body) = dechunker.next_message().unwrap() {
                let value = packstream::decode(body, &Limits::default()).unwrap();
                maps.push(value.as_struct().unwrap().fields()[0].clone());
            }
            maps
        };
        let v5_2 = decoded(Version::new(5, 2));
        assert_eq!(v5_2[0].as_map().unwrap().get("bolt_agent"), None);
        assert_eq!(v5_2[1], Value::from_iter([("scheme", Value::from("none"))]));
        let v5_3 = decoded(Version::new(5, 3));
        assert!(v5_3[0].as_map().unwrap().get("bolt_agent").is_some());
        let v4_4 = decoded(Version::V4_4);
        assert_eq!(v4_4.len(), 1);
        assert_eq!(
            v4_4[0].as_map().unwrap().get("scheme"),
            Some(&Value::from("none"))
        );
    }

    #[test]
    fn a_pipelined_query_streams_its_records_whatever_the_reads() {
        let answers = stream(&[
            "b1 70 a0",
            "b1 70 a0",
            SUCCESS_RUN,
            RECORD_N1,
            RECORD_N1,
            SUCCESS_PULL,
        ]);
        let expected = [
            "HELLO SUCCESS 0 keys",
            "LOGON SUCCESS 0 keys",
            "RUN SUCCESS 2 keys",
            r#"RECORD [String("n1"), String("n1:7687"), List([String("north"), String("eu")])]"#,
            r#"RECORD [String("n1"), String("n1:7687"), List([String("north"), String("eu")])]"#,
            "PULL SUCCESS 3 keys",
        ];
        for split in [1, 2, 5, answers.len()] {
            let mut client = Client::new(Version::V5_8, ClientOptions::default());
            let mut out = Vec::new();
            client.hello(AGENT, &basic(), &mut out);
            client.run("SHOW SERVERS YIELD *", Some("system"), &mut out);
            client.pull(&mut out);
            let mut all = Vec::new();
            for piece in answers.chunks(split) {
                client.push(piece);
                all.extend(events(&mut client).unwrap());
            }
            assert_eq!(all, expected, "split {split}");
            assert_eq!(client.pending(), 0);
        }
    }

    #[test]
    fn a_record_decodes_only_the_columns_asked_for() {
        let mut client = Client::new(Version::V5_8, ClientOptions::default());
        client.pull(&mut Vec::new());
        client.push(&stream(&[RECORD_N1]));
        let Some(Event::Record(fields)) = client.next_event().unwrap() else {
            panic!("not a record")
        };
        assert_eq!(
            fields.decode_only(|i| i == 1).unwrap(),
            [Value::Null, Value::from("n1:7687"), Value::Null]
        );
    }

    #[test]
    fn failures_of_both_shapes_are_read_and_what_follows_is_ignored() {
        let mut client = Client::new(Version::V4_4, ClientOptions::default());
        let mut out = Vec::new();
        client.hello(AGENT, &basic(), &mut out);
        client.run("SHOW SERVERS YIELD *", Some("system"), &mut out);
        client.pull(&mut out);
        client.push(&stream(&[FAILURE_4_4, "b0 7e", "b0 7e"]));
        let Some(Event::Failure { request, failure }) = client.next_event().unwrap() else {
            panic!("not a failure")
        };
        assert_eq!(request, RequestKind::Hello);
        assert_eq!(failure.code(), "Neo.ClientError.Security.Unauthorized");
        assert_eq!(
            failure.message(),
            "The client is unauthorized due to authentication failure."
        );
        assert_eq!(failure.gql_status(), "50N42");
        assert_eq!(
            events(&mut client).unwrap(),
            ["RUN IGNORED", "PULL IGNORED"]
        );

        let mut client = Client::new(Version::V5_8, ClientOptions::default());
        client.run("SHOW SERVERS", None, &mut Vec::new());
        client.push(&stream(&[FAILURE_5_7]));
        let Some(Event::Failure { failure, .. }) = client.next_event().unwrap() else {
            panic!("not a failure")
        };
        assert_eq!(
            failure.code(),
            "Neo.ClientError.Statement.NotSystemDatabaseError"
        );
        assert_eq!(failure.gql_status(), "50N42");
        assert!(
            failure
                .description()
                .starts_with("error: general processing")
        );
        assert!(
            failure
                .message()
                .ends_with("against the system database: SHOW SERVERS")
        );
    }

    #[test]
    fn a_failure_without_codes_is_an_unknown_error() {
        let failure = Failure::from_metadata(&Map::new());
        assert_eq!(failure.code(), "Neo.DatabaseError.General.UnknownError");
        assert_eq!(failure.message(), "An unknown error occurred");
    }

    #[test]
    fn record_count_and_size_are_limited_per_stream() {
        let options = ClientOptions {
            max_records: 2,
            ..ClientOptions::default()
        };
        let mut client = Client::new(Version::V5_8, options);
        client.pull(&mut Vec::new());
        client.pull(&mut Vec::new());
        // Two records, the end of the stream, two more: the count starts again.
        client.push(&stream(&[
            RECORD_N1,
            RECORD_N1,
            SUCCESS_PULL,
            RECORD_N1,
            RECORD_N1,
        ]));
        assert_eq!(events(&mut client).unwrap().len(), 5);
        client.push(&stream(&[RECORD_N1]));
        assert_eq!(
            events(&mut client),
            Err(ClientError::TooManyRecords { max: 2 })
        );

        let record_len = hex(RECORD_N1).len();
        let options = ClientOptions {
            max_result_bytes: 2 * record_len - 1,
            ..ClientOptions::default()
        };
        let mut client = Client::new(Version::V5_8, options);
        client.pull(&mut Vec::new());
        client.push(&stream(&[RECORD_N1, RECORD_N1]));
        let e = events(&mut client).unwrap_err();
        assert_eq!(
            e,
            ClientError::ResultTooLarge {
                max: 2 * record_len - 1
            }
        );

        let options = ClientOptions {
            limits: Limits {
                max_message: 8,
                ..Limits::default()
            },
            ..ClientOptions::default()
        };
        let mut client = Client::new(Version::V5_8, options);
        client.pull(&mut Vec::new());
        client.push(&stream(&[RECORD_N1]));
        assert!(matches!(events(&mut client), Err(ClientError::Framing(_))));
    }

    #[test]
    fn answers_out_of_place_or_malformed_are_errors() {
        let cases: [(&[&str], &str); 7] = [
            (&["b1 70 a0"], "a SUCCESS that answers no request"),
            (&[RECORD_N1], "a RECORD that answers no request"),
            (
                &["b1 70 01"],
                "not a Bolt response: SUCCESS without its metadata map",
            ),
            (
                &["b2 7f a0 a0"],
                "not a Bolt response: FAILURE with 2 fields",
            ),
            (&["b0 10"], "not a Bolt response: signature 0x10"),
            (&["91 01"], "not a Bolt response: a list"),
            (
                &["b1 70 a1 01"],
                "malformed response: map key is not a string at byte 3",
            ),
        ];
        for (bodies, message) in cases {
            let mut client = Client::new(Version::V5_8, ClientOptions::default());
            if *bodies != ["b1 70 a0"] && *bodies != [RECORD_N1] {
                client.reset(&mut Vec::new());
            }
            client.push(&stream(bodies));
            assert_eq!(events(&mut client).unwrap_err().to_string(), message);
        }
        let mut client = Client::new(Version::V5_8, ClientOptions::default());
        client.run("RETURN 1", None, &mut Vec::new());
        client.push(&stream(&[RECORD_N1]));
        assert_eq!(
            events(&mut client),
            Err(ClientError::RecordOutsidePull {
                request: RequestKind::Run
            })
        );
    }

    #[test]
    fn the_client_talks_to_tagroute_s_own_server() {
        use crate::bolt::testing::Recorder;
        use crate::bolt::{Connection, Options};
        let mut server = Connection::new(Options::default(), "bolt-1");
        let mut to_server = super::super::handshake::proposal(Version::V5_8).to_vec();
        let mut from_server = Vec::new();
        server.receive(&to_server, &Recorder::default(), &mut from_server);
        let reply: [u8; 4] = from_server[..4].try_into().unwrap();
        let version = super::super::handshake::accepted(reply, Version::V5_8).unwrap();
        let mut client = Client::new(version, ClientOptions::default());
        to_server.clear();
        client.hello(AGENT, &basic(), &mut to_server);
        client.run("SHOW SERVERS YIELD *", Some("system"), &mut to_server);
        client.pull(&mut to_server);
        client.reset(&mut to_server);
        let mut answers = Vec::new();
        server.receive(&to_server, &Recorder::default(), &mut answers);
        client.push(&answers);
        let all = events(&mut client).unwrap();
        assert_eq!(all[..2], ["HELLO SUCCESS 2 keys", "LOGON SUCCESS 0 keys"]);
        assert!(
            all[2].starts_with("RUN FAILURE Neo.ClientError.Request.Invalid: RUN is not supported")
        );
        assert_eq!(all[3..], ["PULL IGNORED", "RESET SUCCESS 0 keys"]);
    }
}
