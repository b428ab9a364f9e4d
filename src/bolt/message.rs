//! Bolt messages: the requests a driver sends and the responses this endpoint answers with.
//!
//! A message body is one PackStream structure whose tag is the signature (BOLT.md section 2).
//! [`Request::decode`] checks a body against the negotiated version: a signature that version
//! does not know, a wrong field count or a field of the wrong type is a [`MessageError`] naming
//! the byte offset when the PackStream itself is at fault. Requests this endpoint refuses (RUN,
//! BEGIN, …) still decode, to [`Request::Refused`], so the state machine can answer them.
//! [`Response::write_chunked`] encodes and frames a reply.
//!
//! ```
//! use tagroute::bolt::handshake::Version;
//! use tagroute::bolt::message::Request;
//! use tagroute::bolt::packstream::Limits;
//!
//! // ROUTE from neo4j://127.0.0.1:7687?policy=europe, as the Python driver sends it.
//! let body = b"\xb3\x66\xa2\x86policy\x86europe\x87address\x8e127.0.0.1:7687\x90\xa0";
//! let Request::Route(route) = Request::decode(body, Version::V5_8, &Limits::default())? else {
//!     unreachable!()
//! };
//! assert_eq!(route.policy(), Some("europe"));
//! assert_eq!(route.db, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use smallvec::SmallVec;

use super::chunk;
use super::failure::Failure;
use super::handshake::Version;
use super::packstream::{self, DecodeError, EncodeError, Limits, Map, Structure, Value};

/// The requests a client may send, by signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// `01`: opens the session (with auth up to Bolt 5.0).
    Hello,
    /// `02`: closes the connection; no reply.
    Goodbye,
    /// `0F`: back to READY from FAILED.
    Reset,
    /// `10`: runs a query.
    Run,
    /// `11`: begins a transaction.
    Begin,
    /// `12`: commits a transaction.
    Commit,
    /// `13`: rolls a transaction back.
    Rollback,
    /// `2F`: discards records.
    Discard,
    /// `3F`: pulls records.
    Pull,
    /// `54`: driver API usage (Bolt 5.4+).
    Telemetry,
    /// `66`: asks for a routing table.
    Route,
    /// `6A`: authenticates (Bolt 5.1+).
    Logon,
    /// `6B`: drops the authentication (Bolt 5.1+).
    Logoff,
}

impl RequestKind {
    /// The kind with this signature, if the `version` knows it.
    pub fn from_signature(signature: u8, version: Version) -> Option<Self> {
        let kind = match signature {
            0x01 => RequestKind::Hello,
            0x02 => RequestKind::Goodbye,
            0x0F => RequestKind::Reset,
            0x10 => RequestKind::Run,
            0x11 => RequestKind::Begin,
            0x12 => RequestKind::Commit,
            0x13 => RequestKind::Rollback,
            0x2F => RequestKind::Discard,
            0x3F => RequestKind::Pull,
            0x54 => RequestKind::Telemetry,
            0x66 => RequestKind::Route,
            0x6A => RequestKind::Logon,
            0x6B => RequestKind::Logoff,
            _ => return None,
        };
        (version >= kind.since()).then_some(kind)
    }

    /// The signature byte.
    pub fn signature(self) -> u8 {
        match self {
            RequestKind::Hello => 0x01,
            RequestKind::Goodbye => 0x02,
            RequestKind::Reset => 0x0F,
            RequestKind::Run => 0x10,
            RequestKind::Begin => 0x11,
            RequestKind::Commit => 0x12,
            RequestKind::Rollback => 0x13,
            RequestKind::Discard => 0x2F,
            RequestKind::Pull => 0x3F,
            RequestKind::Telemetry => 0x54,
            RequestKind::Route => 0x66,
            RequestKind::Logon => 0x6A,
            RequestKind::Logoff => 0x6B,
        }
    }

    /// The name in capitals, as the specification writes it.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Hello => "HELLO",
            RequestKind::Goodbye => "GOODBYE",
            RequestKind::Reset => "RESET",
            RequestKind::Run => "RUN",
            RequestKind::Begin => "BEGIN",
            RequestKind::Commit => "COMMIT",
            RequestKind::Rollback => "ROLLBACK",
            RequestKind::Discard => "DISCARD",
            RequestKind::Pull => "PULL",
            RequestKind::Telemetry => "TELEMETRY",
            RequestKind::Route => "ROUTE",
            RequestKind::Logon => "LOGON",
            RequestKind::Logoff => "LOGOFF",
        }
    }

    /// The first version with this message.
    fn since(self) -> Version {
        match self {
            RequestKind::Logon | RequestKind::Logoff => Version::V5_1,
            RequestKind::Telemetry => Version::V5_4,
            RequestKind::Route => Version::new(4, 3),
            _ => Version::new(1, 0),
        }
    }

    /// How many fields the message has: a range for the refused kinds, whose shape varies by
    /// version and does not matter here.
    fn fields(self) -> std::ops::RangeInclusive<usize> {
        match self {
            RequestKind::Goodbye
            | RequestKind::Reset
            | RequestKind::Commit
            | RequestKind::Rollback
            | RequestKind::Logoff => 0..=0,
            RequestKind::Hello
            | RequestKind::Logon
            | RequestKind::Telemetry
            | RequestKind::Begin
            | RequestKind::Discard
            | RequestKind::Pull => 1..=1,
            RequestKind::Route => 3..=3,
            RequestKind::Run => 2..=3,
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// HELLO.
    Hello(Hello),
    /// LOGON (Bolt 5.1+).
    Logon(Auth),
    /// LOGOFF (Bolt 5.1+).
    Logoff,
    /// ROUTE.
    Route(RouteRequest),
    /// RESET.
    Reset,
    /// GOODBYE.
    Goodbye,
    /// TELEMETRY (Bolt 5.4+), with the driver API it reports.
    Telemetry(i64),
    /// A well-formed request this endpoint does not serve: RUN, BEGIN, COMMIT, ROLLBACK,
    /// DISCARD or PULL.
    Refused(RequestKind),
}

/// HELLO's content that matters here.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Hello {
    /// `user_agent`, such as `neo4j-python/6.4.1 …`.
    pub user_agent: String,
    /// `routing`: the routing context, present for `neo4j://` URIs only.
    pub routing: Option<BTreeMap<String, String>>,
    /// The auth entries HELLO carries up to Bolt 5.0 (an empty [`Auth`] from 5.1 on).
    pub auth: Auth,
}

/// Credentials, from HELLO (up to Bolt 5.0) or LOGON (5.1+). `Debug` hides the credentials.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// `scheme`: `basic`, `none`, `bearer`, …; `None` when absent (LOGON `{}` without auth).
    pub scheme: Option<String>,
    /// `principal`: the user name.
    pub principal: Option<String>,
    /// `credentials`: the password or token.
    pub credentials: Option<String>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("scheme", &self.scheme)
            .field("principal", &self.principal)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// ROUTE's fields: what a driver asks a routing table for.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RouteRequest {
    /// The routing context (the URI's query plus `address`), string to string.
    pub context: BTreeMap<String, String>,
    /// Bookmarks, normally none.
    pub bookmarks: Vec<String>,
    /// The database; `None` asks for the home database.
    pub db: Option<String>,
    /// The user to impersonate, if any.
    pub imp_user: Option<String>,
}

impl RouteRequest {
    /// The context's `policy` entry (a driver's `?policy=` query); `None` means the default
    /// policy.
    pub fn policy(&self) -> Option<&str> {
        self.context.get("policy").map(String::as_str)
    }
}

/// A routing table for ROUTE's SUCCESS: `rt: {ttl, db, servers}`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RoutingTable {
    /// How long a driver may use it, in whole seconds.
    pub ttl: u64,
    /// The database it is for: the one asked for, or the home database (`neo4j`).
    pub db: String,
    /// `host:port` addresses of the writers; may be empty (a driver then waits for a leader).
    pub writers: Vec<String>,
    /// `host:port` addresses of the readers; never empty in a table that is sent.
    pub readers: Vec<String>,
    /// `host:port` addresses of the routers; never empty in a table that is sent.
    pub routers: Vec<String>,
}

impl RoutingTable {
    /// The `rt` value `{ttl, servers, db}` (the order Neo4j sends): roles in the order WRITE,
    /// READ, ROUTE, an empty role left out, `ttl` saturated to PackStream's largest integer.
    pub fn to_value(&self) -> Value {
        let servers = self
            .roles()
            .map(|(role, addresses)| {
                let addresses = addresses.iter().map(|a| Value::from(a.as_str())).collect();
                Value::from_iter([
                    ("addresses", Value::List(addresses)),
                    ("role", Value::from(role)),
                ])
            })
            .collect();
        Value::from_iter([
            ("ttl", Value::Int(self.ttl_int())),
            ("servers", Value::List(servers)),
            ("db", Value::from(self.db.as_str())),
        ])
    }

    /// Appends the encoding of [`to_value`](Self::to_value)'s value without building it; the
    /// keys are constant bytes.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        // `{ttl: ` (a map of three entries)
        out.extend_from_slice(b"\xA3\x83ttl");
        packstream::encode_int(self.ttl_int(), out);
        out.extend_from_slice(b"\x87servers");
        packstream::list_header(self.roles().count(), out)?;
        for (role, addresses) in self.roles() {
            // `{addresses: `
            out.extend_from_slice(b"\xA2\x89addresses");
            packstream::list_header(addresses.len(), out)?;
            for address in addresses {
                packstream::encode_str(address, out)?;
            }
            out.extend_from_slice(b"\x84role");
            packstream::encode_str(role, out)?;
        }
        out.extend_from_slice(b"\x82db");
        packstream::encode_str(&self.db, out)
    }

    /// The roles with addresses, in the order WRITE, READ, ROUTE.
    fn roles(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        [
            ("WRITE", &self.writers),
            ("READ", &self.readers),
            ("ROUTE", &self.routers),
        ]
        .into_iter()
        .filter(|(_, addresses)| !addresses.is_empty())
        .map(|(role, addresses)| (role, addresses.as_slice()))
    }

    fn ttl_int(&self) -> i64 {
        i64::try_from(self.ttl).unwrap_or(i64::MAX)
    }

    /// The first role a driver would reject the table for lacking: `READ` or `ROUTE`.
    pub fn missing_role(&self) -> Option<&'static str> {
        if self.readers.is_empty() {
            Some("READ")
        } else if self.routers.is_empty() {
            Some("ROUTE")
        } else {
            None
        }
    }
}

/// Why a message body is not a request of the negotiated version.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MessageError {
    /// The body is not one PackStream value.
    Decode(DecodeError),
    /// The body is a value, but not a structure.
    NotAStructure {
        /// What it is.
        found: &'static str,
    },
    /// A signature this version does not know.
    UnknownSignature {
        /// The signature.
        signature: u8,
        /// The version.
        version: Version,
    },
    /// A known message with the wrong number of fields.
    FieldCount {
        /// The message.
        kind: RequestKind,
        /// How many it had.
        found: usize,
    },
    /// A field or entry of the wrong type.
    FieldType {
        /// The message.
        kind: RequestKind,
        /// The field or entry, such as `routing context` or `extra.db`.
        field: String,
        /// The type expected.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Decode(e) => e.fmt(f),
            MessageError::NotAStructure { found } => {
                write!(f, "a message is a structure, not {}", a(found))
            }
            MessageError::UnknownSignature { signature, version } => {
                write!(
                    f,
                    "no Bolt {version} request has signature {signature:#04X}"
                )
            }
            MessageError::FieldCount { kind, found } => {
                let expected = kind.fields();
                write!(f, "{kind} has ")?;
                if expected.start() == expected.end() {
                    write!(f, "{}", expected.start())?;
                } else {
                    write!(f, "{} to {}", expected.start(), expected.end())?;
                }
                write!(f, " fields, not {found}")
            }
            MessageError::FieldType {
                kind,
                field,
                expected,
                found,
            } => write!(
                f,
                "{kind} {field} must be {}, not {}",
                a(expected),
                a(found)
            ),
        }
    }
}

/// `word` with its indefinite article.
fn a(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

impl std::error::Error for MessageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MessageError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DecodeError> for MessageError {
    fn from(e: DecodeError) -> Self {
        MessageError::Decode(e)
    }
}

impl Request {
    /// Decodes a message body (de-chunked) sent on a connection speaking `version`.
    ///
    /// # Errors
    /// A [`MessageError`]: the connection should answer FAILURE and close.
    pub fn decode(body: &[u8], version: Version, limits: &Limits) -> Result<Self, MessageError> {
        let mut route = RouteRequest::default();
        if Plain::route_into(body, version, limits, &mut route) {
            return Ok(Request::Route(route));
        }
        Self::decode_value(body, version, limits)
    }

    /// [`decode`](Self::decode) through the value tree, whatever the request.
    pub(super) fn decode_value(
        body: &[u8],
        version: Version,
        limits: &Limits,
    ) -> Result<Self, MessageError> {
        let value = packstream::decode(body, limits)?;
        let Value::Struct(message) = value else {
            return Err(MessageError::NotAStructure {
                found: value.kind(),
            });
        };
        let signature = message.tag();
        let kind = RequestKind::from_signature(signature, version)
            .ok_or(MessageError::UnknownSignature { signature, version })?;
        let fields = message.into_fields();
        if !kind.fields().contains(&fields.len()) {
            return Err(MessageError::FieldCount {
                kind,
                found: fields.len(),
            });
        }
        Check { kind }.request(fields, version)
    }

    /// The kind of request.
    pub fn kind(&self) -> RequestKind {
        match self {
            Request::Hello(_) => RequestKind::Hello,
            Request::Logon(_) => RequestKind::Logon,
            Request::Logoff => RequestKind::Logoff,
            Request::Route(_) => RequestKind::Route,
            Request::Reset => RequestKind::Reset,
            Request::Goodbye => RequestKind::Goodbye,
            Request::Telemetry(_) => RequestKind::Telemetry,
            Request::Refused(kind) => *kind,
        }
    }
}

/// Checks a request's fields one by one; errors name the request.
struct Check {
    kind: RequestKind,
}

impl Check {
    fn request(&self, fields: Vec<Value>, version: Version) -> Result<Request, MessageError> {
        let kind = self.kind;
        let mut fields = fields.into_iter();
        let mut field = || fields.next().unwrap_or(Value::Null);
        Ok(match kind {
            RequestKind::Hello => Request::Hello(self.hello(field(), version)?),
            RequestKind::Logon => {
                let map = self.map(field(), "metadata")?;
                Request::Logon(self.auth(&map)?)
            }
            RequestKind::Logoff => Request::Logoff,
            RequestKind::Route => {
                let (context, bookmarks, extra) = (field(), field(), field());
                Request::Route(self.route(context, bookmarks, extra, version)?)
            }
            RequestKind::Reset => Request::Reset,
            RequestKind::Goodbye => Request::Goodbye,
            RequestKind::Telemetry => match field() {
                Value::Int(api) => Request::Telemetry(api),
                other => return Err(self.wrong("api", "integer", &other)),
            },
            RequestKind::Run
            | RequestKind::Begin
            | RequestKind::Commit
            | RequestKind::Rollback
            | RequestKind::Discard
            | RequestKind::Pull => Request::Refused(kind),
        })
    }

    fn wrong(&self, field: &str, expected: &'static str, found: &Value) -> MessageError {
        MessageError::FieldType {
            kind: self.kind,
            field: field.to_owned(),
            expected,
            found: found.kind(),
        }
    }

    fn map(&self, value: Value, field: &str) -> Result<Map, MessageError> {
        match value {
            Value::Map(map) => Ok(map),
            other => Err(self.wrong(field, "map", &other)),
        }
    }

    /// An optional string entry: absent and null are both `None`.
    fn optional_string(&self, map: &Map, key: &str) -> Result<Option<String>, MessageError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(key, "string", other)),
        }
    }

    fn string_map(
        &self,
        value: Value,
        field: &str,
    ) -> Result<BTreeMap<String, String>, MessageError> {
        self.map(value, field)?
            .into_entries()
            .map(|(key, value)| match value {
                Value::String(s) => Ok((key, s)),
                other => Err(self.wrong(&format!("{field}.{key}"), "string", &other)),
            })
            .collect()
    }

    fn auth(&self, map: &Map) -> Result<Auth, MessageError> {
        Ok(Auth {
            scheme: self.optional_string(map, "scheme")?,
            principal: self.optional_string(map, "principal")?,
            credentials: self.optional_string(map, "credentials")?,
        })
    }

    fn hello(&self, value: Value, version: Version) -> Result<Hello, MessageError> {
        let map = self.map(value, "metadata")?;
        let routing = match map.get("routing") {
            None | Some(Value::Null) => None,
            Some(routing) => Some(self.string_map(routing.clone(), "routing")?),
        };
        let auth = if version < Version::V5_1 {
            self.auth(&map)?
        } else {
            Auth::default()
        };
        Ok(Hello {
            user_agent: self
                .optional_string(&map, "user_agent")?
                .unwrap_or_default(),
            routing,
            auth,
        })
    }

    fn route(
        &self,
        context: Value,
        bookmarks: Value,
        extra: Value,
        version: Version,
    ) -> Result<RouteRequest, MessageError> {
        let context = self.string_map(context, "routing context")?;
        let bookmarks = match bookmarks {
            Value::Null => Vec::new(),
            Value::List(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    other => Err(self.wrong("bookmarks", "list of strings", &other)),
                })
                .collect::<Result<_, _>>()?,
            other => return Err(self.wrong("bookmarks", "list", &other)),
        };
        let (db, imp_user) = if version >= Version::V4_4 {
            // 4.4+: `{db?, imp_user?}`, keys omitted (Python) or null (neo4rs).
            let extra = self.map(extra, "extra")?;
            (
                self.optional_string(&extra, "db")?,
                self.optional_string(&extra, "imp_user")?,
            )
        } else {
            // 4.3: a bare database name or null.
            match extra {
                Value::Null => (None, None),
                Value::String(db) => (Some(db), None),
                other => return Err(self.wrong("db", "string", &other)),
            }
        };
        Ok(RouteRequest {
            context,
            bookmarks,
            db,
            imp_user,
        })
    }
}

/// A ROUTE as drivers send it, read straight from its bytes: a map of strings, a list of
/// strings (or null), and `{db?, imp_user?}` with strings or nulls, every length in a marker or
/// one byte after it. Decoding it as a value tree first cost more than routing it.
///
/// Anything else, well-formed or not, is left to the general decoder, which reports what is
/// wrong; what this reads, the general decoder reads the same (a test checks both agree).
pub(super) struct Plain<'a> {
    bytes: &'a [u8],
    limits: &'a Limits,
}

impl<'a> Plain<'a> {
    /// Makes `route` the ROUTE in `body` if it has the plain shape (Bolt 4.4+), reusing its
    /// strings: a connection that asks with the same keys again allocates nothing. `false`
    /// leaves `route` in no particular state.
    pub(super) fn route_into(
        body: &'a [u8],
        version: Version,
        limits: &'a Limits,
        route: &mut RouteRequest,
    ) -> bool {
        // The message is depth 1, its maps and list depth 2.
        if version < Version::V4_4 || limits.max_depth < 2 || body.len() > limits.max_message {
            return false;
        }
        let Some(bytes) = body.strip_prefix(&[0xB3, RequestKind::Route.signature()]) else {
            return false;
        };
        let mut plain = Plain { bytes, limits };
        plain.fields(route).is_some() && plain.bytes.is_empty()
    }

    /// Reads ROUTE's three fields into `route`.
    fn fields(&mut self, route: &mut RouteRequest) -> Option<()> {
        let mut context = SmallVec::<[(&str, &str); 4]>::new();
        for _ in 0..self.length(0xA0, 0xD8)? {
            context.push((self.string()?, self.string()?));
        }
        refill_map(&mut route.context, &context);
        let mut bookmarks = SmallVec::<[&str; 4]>::new();
        if !self.null() {
            for _ in 0..self.length(0x90, 0xD4)? {
                bookmarks.push(self.string()?);
            }
        }
        refill(&mut route.bookmarks, bookmarks.into_iter());
        let (mut db, mut imp_user) = (None, None);
        for _ in 0..self.length(0xA0, 0xD8)? {
            let entry = match self.string()? {
                "db" => &mut db,
                "imp_user" => &mut imp_user,
                _ => return None,
            };
            *entry = self.optional_string()?;
        }
        refill_optional(&mut route.db, db);
        refill_optional(&mut route.imp_user, imp_user);
        Some(())
    }

    fn byte(&mut self) -> Option<u8> {
        let (&byte, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(byte)
    }

    /// Whether a null is next, read if it is.
    fn null(&mut self) -> bool {
        match self.bytes.strip_prefix(&[0xC0]) {
            Some(rest) => {
                self.bytes = rest;
                true
            }
            None => false,
        }
    }

    /// The length in a marker `tiny`..`tiny + 15`, or in the byte after the marker `sized`.
    fn size(&mut self, tiny: u8, sized: u8) -> Option<usize> {
        let marker = self.byte()?;
        match marker.checked_sub(tiny) {
            Some(n @ 0..=15) => Some(usize::from(n)),
            _ if marker == sized => self.byte().map(usize::from),
            _ => None,
        }
    }

    /// The number of entries of a list or map (`tiny` and `sized` as in [`size`](Self::size)).
    fn length(&mut self, tiny: u8, sized: u8) -> Option<usize> {
        self.size(tiny, sized)
            .filter(|&n| n <= self.limits.max_entries)
    }

    fn string(&mut self) -> Option<&'a str> {
        let n = self.size(0x80, 0xD0)?;
        if n > self.limits.max_bytes {
            return None;
        }
        let (bytes, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        std::str::from_utf8(bytes).ok()
    }

    fn optional_string(&mut self) -> Option<Option<&'a str>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(Some)
    }
}

/// Makes `list` hold `items`, overwriting the strings it holds: no allocation when it held as
/// many strings, each as long.
pub(crate) fn refill<'a>(list: &mut Vec<String>, items: impl Iterator<Item = &'a str>) {
    let mut len = 0;
    for item in items {
        match list.get_mut(len) {
            Some(slot) => {
                slot.clear();
                slot.push_str(item);
            }
            None => list.push(item.to_owned()),
        }
        len += 1;
    }
    list.truncate(len);
}

/// Makes `map` hold `entries` (of a key given twice, the last), overwriting the values of the
/// keys it holds when it holds exactly the keys of `entries`.
fn refill_map(map: &mut BTreeMap<String, String>, entries: &[(&str, &str)]) {
    let same_size = map.len() == entries.len();
    let distinct = |i: usize, key: &str| entries.iter().take(i).all(|(k, _)| *k != key);
    let mut overwrite = |(key, value): (&str, &str)| match map.get_mut(key) {
        Some(slot) => {
            slot.clear();
            slot.push_str(value);
            true
        }
        None => false,
    };
    let overwritten = same_size
        && entries
            .iter()
            .enumerate()
            .all(|(i, &entry)| distinct(i, entry.0) && overwrite(entry));
    if !overwritten {
        map.clear();
        for &(key, value) in entries {
            map.insert(key.to_owned(), value.to_owned());
        }
    }
}

/// Makes `slot` hold `value`, overwriting the string it holds.
fn refill_optional(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(held), Some(value)) => {
            held.clear();
            held.push_str(value);
        }
        (_, value) => *slot = value.map(str::to_owned),
    }
}

/// The signature of SUCCESS.
pub const SUCCESS: u8 = 0x70;
/// The signature of RECORD.
pub const RECORD: u8 = 0x71;
/// The signature of IGNORED.
pub const IGNORED: u8 = 0x7E;
/// The signature of FAILURE.
pub const FAILURE: u8 = 0x7F;

/// A reply to one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// SUCCESS with its metadata.
    Success(Map),
    /// SUCCESS `{rt: table}`: the answer to ROUTE, encoded straight from the table.
    Routed(RoutingTable),
    /// FAILURE.
    Failure(Failure),
    /// IGNORED: the connection is FAILED until a RESET.
    Ignored,
}

impl Response {
    /// The response as a PackStream structure.
    pub fn to_value(&self) -> Value {
        let (tag, fields) = match self {
            Response::Success(metadata) => (SUCCESS, vec![Value::Map(metadata.clone())]),
            Response::Routed(table) => {
                (SUCCESS, vec![Value::from_iter([("rt", table.to_value())])])
            }
            Response::Failure(failure) => (FAILURE, vec![Value::Map(failure.to_metadata())]),
            Response::Ignored => (IGNORED, Vec::new()),
        };
        // At most one field: always a valid structure.
        Structure::new(tag, fields).map_or(Value::Null, Value::Struct)
    }

    /// Appends the response to `out`, encoded and chunked, ready for the wire.
    ///
    /// # Errors
    /// An [`EncodeError`] only for a string or list longer than `u32::MAX`.
    pub fn write_chunked(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        chunk::write_with(out, |out| match self {
            Response::Success(metadata) => {
                out.extend_from_slice(&[0xB1, SUCCESS]);
                packstream::encode_map(metadata, out)
            }
            Response::Routed(table) => {
                // SUCCESS `{rt: `
                out.extend_from_slice(&[0xB1, SUCCESS, 0xA1, 0x82, b'r', b't']);
                table.encode(out)
            }
            Response::Failure(failure) => {
                out.extend_from_slice(&[0xB1, FAILURE]);
                packstream::encode_map(&failure.to_metadata(), out)
            }
            Response::Ignored => {
                out.extend_from_slice(&[0xB0, IGNORED]);
                Ok(())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::testing::{body, encoded, europe, hello_4x, hello_5x, hex, logon, strings};

    /// BOLT.md's vectors, captured from the Python driver 6.4.1.
    const ROUTE_EUROPE: &str = "b3 66 a2 86 706f6c696379 86 6575726f7065 87 61646472657373 \
                                8e 3132372e302e302e313a37363837 90 a0";
    const LOGON_BASIC: &str = "b1 6a a3 86 736368656d65 85 6261736963 89 7072696e636970616c \
                               85 6e656f346a 8b 63726564656e7469616c73 82 7077";
    const GOODBYE: &str = "b0 02";
    const SUCCESS_HELLO: &str = "b1 70 a2 86 736572766572 8c 4e656f346a2f352e32362e30 \
                                 8d 636f6e6e656374696f6e5f6964 86 626f6c742d31";
    const SUCCESS_EMPTY: &str = "b1 70 a0";
    const SUCCESS_RT_OPENING: &str = "b1 70 a1 82 7274 a3 83 74746c c9012c 87 73657276657273 \
                                      93 a2 89 616464726573736573 91 8d 31302e302e302e313a37363837 \
                                      84 726f6c65 85 5752495445";

    fn request(bytes: &[u8], version: Version) -> Result<Request, MessageError> {
        Request::decode(bytes, version, &Limits::default())
    }

    fn response_bytes(response: &Response) -> Vec<u8> {
        encoded(&response.to_value())
    }

    #[test]
    fn route_vector_decodes_and_re_encodes_byte_for_byte() {
        let bytes = hex(ROUTE_EUROPE);
        let Ok(Request::Route(route)) = request(&bytes, Version::V5_8) else {
            panic!("not a ROUTE")
        };
        assert_eq!(route.policy(), Some("europe"));
        assert_eq!(route.context["address"], "127.0.0.1:7687");
        assert_eq!(
            (route.bookmarks.len(), &route.db, &route.imp_user),
            (0, &None, &None)
        );
        let rebuilt = body(
            0x66,
            vec![europe(), Value::List(vec![]), Value::Map(Map::new())],
        );
        assert_eq!(rebuilt, bytes);
    }

    #[test]
    fn logon_vector_decodes_and_re_encodes_byte_for_byte() {
        let bytes = hex(LOGON_BASIC);
        let Ok(Request::Logon(auth)) = request(&bytes, Version::V5_1) else {
            panic!("not a LOGON")
        };
        assert_eq!(auth.scheme.as_deref(), Some("basic"));
        assert_eq!(auth.principal.as_deref(), Some("neo4j"));
        assert_eq!(auth.credentials.as_deref(), Some("pw"));
        assert_eq!(logon("neo4j", "pw"), bytes);
        assert!(
            !format!("{auth:?}").contains("pw\""),
            "credentials leak into Debug"
        );
    }

    #[test]
    fn goodbye_reset_and_logoff_have_no_fields() {
        assert_eq!(request(&hex(GOODBYE), Version::V4_4), Ok(Request::Goodbye));
        assert_eq!(request(&hex("b0 0f"), Version::V4_4), Ok(Request::Reset));
        assert_eq!(request(&hex("b0 6b"), Version::V5_1), Ok(Request::Logoff));
        assert_eq!(
            request(&hex("b1 54 01"), Version::V5_4),
            Ok(Request::Telemetry(1))
        );
    }

    #[test]
    fn responses_encode_to_the_captured_bytes() {
        let hello = Map::from_iter([
            ("server", Value::from("Neo4j/5.26.0")),
            ("connection_id", Value::from("bolt-1")),
        ]);
        assert_eq!(
            response_bytes(&Response::Success(hello)),
            hex(SUCCESS_HELLO)
        );
        assert_eq!(
            response_bytes(&Response::Success(Map::new())),
            hex(SUCCESS_EMPTY)
        );
        assert_eq!(response_bytes(&Response::Ignored), hex("b0 7e"));

        let table = RoutingTable {
            ttl: 300,
            db: "neo4j".to_owned(),
            writers: vec!["10.0.0.1:7687".to_owned()],
            readers: vec!["10.0.0.2:7687".to_owned()],
            routers: vec!["10.0.0.3:7687".to_owned()],
        };
        let rt = Response::Success(Map::from_iter([("rt", table.to_value())]));
        let bytes = response_bytes(&rt);
        assert!(bytes.starts_with(&hex(SUCCESS_RT_OPENING)));
        // And the rest, as a driver reads it.
        let decoded = packstream::decode(&bytes, &Limits::default()).unwrap();
        let rt = decoded.as_struct().unwrap().fields()[0]
            .as_map()
            .unwrap()
            .get("rt")
            .unwrap();
        let rt = rt.as_map().unwrap();
        assert_eq!(rt.get("db"), Some(&Value::from("neo4j")));
        let roles: Vec<_> = rt
            .get("servers")
            .unwrap()
            .as_list()
            .unwrap()
            .iter()
            .map(|s| {
                s.as_map()
                    .unwrap()
                    .get("role")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(roles, ["WRITE", "READ", "ROUTE"]);
    }

    #[test]
    fn an_empty_role_is_left_out_and_a_table_without_readers_or_routers_is_named() {
        let mut table = RoutingTable {
            ttl: u64::MAX,
            db: "movies".to_owned(),
            readers: vec!["r:7687".to_owned()],
            routers: vec!["[::1]:7687".to_owned()],
            ..RoutingTable::default()
        };
        let value = table.to_value();
        let rt = value.as_map().unwrap();
        assert_eq!(rt.get("ttl"), Some(&Value::Int(i64::MAX)));
        assert_eq!(rt.get("servers").unwrap().as_list().unwrap().len(), 2);
        assert_eq!(table.missing_role(), None);
        table.routers.clear();
        assert_eq!(table.missing_role(), Some("ROUTE"));
        table.readers.clear();
        assert_eq!(table.missing_role(), Some("READ"));
    }

    #[test]
    fn failure_carries_all_five_keys() {
        let failure = Failure::policy_not_found("atlantis");
        let bytes = response_bytes(&Response::Failure(failure));
        assert_eq!(&bytes[..3], hex("b1 7f a5"));
        let value = packstream::decode(&bytes, &Limits::default()).unwrap();
        let metadata = value.as_struct().unwrap().fields()[0]
            .as_map()
            .unwrap()
            .clone();
        let keys: Vec<&str> = metadata.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["code", "message", "neo4j_code", "gql_status", "description"]
        );
        assert_eq!(metadata.get("code"), metadata.get("neo4j_code"));
        assert_eq!(
            metadata.get("description").and_then(Value::as_str),
            Some(
                "error: connection exception - unknown routing policy. Policy definition for 'atlantis' could not be found."
            )
        );
    }

    #[test]
    fn hello_carries_auth_up_to_5_0_only() {
        let Ok(Request::Hello(hello)) = request(&hello_4x("neo4j", "pw"), Version::V4_4) else {
            panic!("not a HELLO")
        };
        assert_eq!(hello.user_agent, "neo4rs");
        assert_eq!(hello.auth.principal.as_deref(), Some("neo4j"));
        assert_eq!(hello.routing.unwrap()["address"], "127.0.0.1:7687");
        let Ok(Request::Hello(hello)) = request(&hello_4x("neo4j", "pw"), Version::V5_1) else {
            panic!("not a HELLO")
        };
        assert_eq!(hello.auth, Auth::default());
        let Ok(Request::Hello(hello)) = request(&hello_5x(), Version::V5_4) else {
            panic!("not a HELLO")
        };
        assert_eq!(hello.routing.unwrap()["policy"], "europe");
        assert!(hello.user_agent.starts_with("neo4j-python/6.4.1"));
        // bolt:// sends no routing; neo4rs's second connection neither.
        let bare = body(0x01, vec![strings(&[("user_agent", "x")])]);
        let Ok(Request::Hello(hello)) = request(&bare, Version::V5_0) else {
            panic!("not a HELLO")
        };
        assert_eq!(hello.routing, None);
    }

    #[test]
    fn route_extra_takes_omitted_keys_explicit_nulls_or_values() {
        let with_extra = |extra: Value| {
            let bytes = body(
                0x66,
                vec![europe(), Value::List(vec![Value::from("bm:1")]), extra],
            );
            match request(&bytes, Version::V4_4) {
                Ok(Request::Route(route)) => route,
                other => panic!("{other:?}"),
            }
        };
        let nulls = with_extra(
            [("db", Value::Null), ("imp_user", Value::Null)]
                .into_iter()
                .collect(),
        );
        assert_eq!((nulls.db, nulls.imp_user), (None, None));
        assert_eq!(nulls.bookmarks, ["bm:1"]);
        let movies = with_extra(strings(&[("db", "movies"), ("imp_user", "alice")]));
        assert_eq!(
            (movies.db.as_deref(), movies.imp_user.as_deref()),
            (Some("movies"), Some("alice"))
        );
        // 4.3's bare database name.
        let bytes = body(
            0x66,
            vec![europe(), Value::List(vec![]), Value::from("movies")],
        );
        let Ok(Request::Route(route)) = request(&bytes, Version::new(4, 3)) else {
            panic!("not a ROUTE")
        };
        assert_eq!(route.db.as_deref(), Some("movies"));
        assert_eq!(
            request(&bytes, Version::V4_4).unwrap_err().to_string(),
            "ROUTE extra must be a map, not a string"
        );
    }

    #[test]
    fn query_requests_decode_as_refused() {
        let cases = [
            (
                body(
                    0x10,
                    vec![
                        Value::from("RETURN 1"),
                        Value::Map(Map::new()),
                        Value::Map(Map::new()),
                    ],
                ),
                RequestKind::Run,
            ),
            (body(0x11, vec![Value::Map(Map::new())]), RequestKind::Begin),
            (hex("b0 12"), RequestKind::Commit),
            (hex("b0 13"), RequestKind::Rollback),
            (body(0x2F, vec![strings(&[])]), RequestKind::Discard),
            (
                body(0x3F, vec![[("n", Value::Int(200))].into_iter().collect()]),
                RequestKind::Pull,
            ),
        ];
        for (bytes, kind) in cases {
            assert_eq!(
                request(&bytes, Version::V5_8),
                Ok(Request::Refused(kind)),
                "{kind}"
            );
            assert_eq!(
                RequestKind::from_signature(kind.signature(), Version::V5_8),
                Some(kind)
            );
        }
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        let cases = [
            (
                hex("b1 6a a0"),
                Version::V5_0,
                "no Bolt 5.0 request has signature 0x6A",
            ),
            (
                hex("b1 54 00"),
                Version::new(5, 3),
                "no Bolt 5.3 request has signature 0x54",
            ),
            (
                hex("b0 70"),
                Version::V5_8,
                "no Bolt 5.8 request has signature 0x70",
            ),
            (hex("b1 0f 01"), Version::V5_8, "RESET has 0 fields, not 1"),
            (
                hex("b2 66 a0 90"),
                Version::V5_8,
                "ROUTE has 3 fields, not 2",
            ),
            (hex("b0 10"), Version::V5_8, "RUN has 2 to 3 fields, not 0"),
            (
                hex("91 01"),
                Version::V5_8,
                "a message is a structure, not a list",
            ),
            (
                hex("b3 66 a1 81 61 01 90 a0"),
                Version::V5_8,
                "ROUTE routing context.a must be a string, not an integer",
            ),
            (
                hex("b3 66 a0 91 01 a0"),
                Version::V5_8,
                "ROUTE bookmarks must be a list of strings, not an integer",
            ),
            (
                hex("b3 66 a0 90 a1 82 6462 01"),
                Version::V5_8,
                "ROUTE db must be a string, not an integer",
            ),
            (
                hex("b1 01 90"),
                Version::V5_8,
                "HELLO metadata must be a map, not a list",
            ),
            (
                hex("b1 54 c0"),
                Version::V5_8,
                "TELEMETRY api must be an integer, not a null",
            ),
            (
                hex("b1 6a a1 86 736368656d65 c3"),
                Version::V5_8,
                "LOGON scheme must be a string, not a boolean",
            ),
            (
                hex("b1 6a"),
                Version::V5_8,
                "input ends inside a value at byte 2",
            ),
        ];
        for (bytes, version, message) in cases {
            assert_eq!(request(&bytes, version).unwrap_err().to_string(), message);
        }
    }

    /// `write_chunked` writes, framed, exactly the encoding of `to_value`'s value.
    fn assert_written_as_valued(response: &Response) {
        let mut written = Vec::new();
        response.write_chunked(&mut written).unwrap();
        let mut framed = Vec::new();
        chunk::write_message(&response_bytes(response), &mut framed);
        assert_eq!(written, framed, "{response:?}");
    }

    #[test]
    fn every_response_is_written_as_its_value_encodes() {
        let hello = Map::from_iter([
            ("server", Value::from("Neo4j/5.26.0")),
            ("connection_id", Value::from("bolt-1")),
        ]);
        for response in [
            Response::Success(hello),
            Response::Success(Map::new()),
            Response::Ignored,
            Response::Failure(Failure::policy_not_found("atlantis")),
            Response::Routed(RoutingTable::default()),
        ] {
            assert_written_as_valued(&response);
        }
    }

    /// The ROUTEs drivers send: Python's, neo4rs's nulls, a database, a user, bookmarks.
    fn plain_routes() -> Vec<Vec<u8>> {
        let extras = [
            Value::Map(Map::new()),
            [("db", Value::Null), ("imp_user", Value::Null)]
                .into_iter()
                .collect(),
            strings(&[("db", "movies"), ("imp_user", "alice")]),
        ];
        let bookmarks = [Value::Null, Value::List(vec![Value::from("bm:1")])];
        let mut routes = vec![hex(ROUTE_EUROPE)];
        for extra in &extras {
            for marks in &bookmarks {
                routes.push(body(0x66, vec![europe(), marks.clone(), extra.clone()]));
            }
        }
        routes
    }

    /// The ROUTE in `bytes` read by [`Plain`], into `scratch`.
    fn plain_into(
        bytes: &[u8],
        limits: &Limits,
        scratch: &mut RouteRequest,
    ) -> Option<RouteRequest> {
        Plain::route_into(bytes, Version::V5_8, limits, scratch).then(|| scratch.clone())
    }

    fn plain(bytes: &[u8], version: Version, limits: &Limits) -> Option<RouteRequest> {
        let mut route = RouteRequest::default();
        Plain::route_into(bytes, version, limits, &mut route).then_some(route)
    }

    #[test]
    fn plain_routes_are_read_without_the_value_tree_and_read_the_same() {
        let limits = Limits::default();
        let mut scratch = RouteRequest::default();
        // Each read into the scratch the one before it filled, and the first again last.
        let routes = plain_routes();
        for bytes in routes.iter().chain(routes.first()) {
            let Some(plain) = plain_into(bytes, &limits, &mut scratch) else {
                panic!("not read as plain: {bytes:02x?}")
            };
            let tree = Request::decode_value(bytes, Version::V5_8, &limits);
            assert_eq!(tree, Ok(Request::Route(plain)));
        }
    }

    #[test]
    fn a_route_asked_again_refills_the_strings_it_was_read_into() {
        let limits = Limits::default();
        let bytes = body(
            0x66,
            vec![
                europe(),
                Value::List(vec![Value::from("bm:1")]),
                strings(&[("db", "movies")]),
            ],
        );
        let mut scratch = RouteRequest::default();
        plain_into(&bytes, &limits, &mut scratch).unwrap();
        let held = |route: &RouteRequest| -> Vec<*const u8> {
            let strings = route.context.iter().flat_map(|(k, v)| [k, v]);
            strings
                .chain(&route.bookmarks)
                .chain(&route.db)
                .map(|s| s.as_ptr())
                .collect()
        };
        let before = held(&scratch);
        plain_into(&bytes, &limits, &mut scratch).unwrap();
        assert_eq!(held(&scratch), before, "the same allocations, overwritten");
    }

    #[test]
    fn a_key_given_twice_leaves_no_key_of_the_last_route_behind() {
        let limits = Limits::default();
        let mut scratch = RouteRequest::default();
        plain_into(&hex(ROUTE_EUROPE), &limits, &mut scratch).unwrap();
        // {policy: a, policy: b}: as many entries as the scratch holds keys.
        let twice = hex("b3 66 a2 86 706f6c696379 81 61 86 706f6c696379 81 62 90 a0");
        let plain = plain_into(&twice, &limits, &mut scratch).unwrap();
        assert_eq!(
            plain.context,
            BTreeMap::from([("policy".to_owned(), "b".to_owned())])
        );
        let tree = Request::decode_value(&twice, Version::V5_8, &limits);
        assert_eq!(tree, Ok(Request::Route(plain)));
    }

    #[test]
    fn refill_overwrites_the_strings_it_holds() {
        let mut list: Vec<String> = ["10.0.0.1:7687", "10.0.0.2:7687", "10.0.0.3:7687"]
            .map(str::to_owned)
            .into();
        let held: Vec<*const u8> = list.iter().map(|s| s.as_ptr()).collect();
        refill(&mut list, ["10.0.0.9:7687", "10.0.0.8:7687"].into_iter());
        assert_eq!(list, ["10.0.0.9:7687", "10.0.0.8:7687"]);
        let now: Vec<*const u8> = list.iter().map(|s| s.as_ptr()).collect();
        assert_eq!(now, held[..2], "the same allocations, overwritten");
        refill(&mut list, ["a:1", "b:2", "c:3"].into_iter());
        assert_eq!(list, ["a:1", "b:2", "c:3"]);
        refill(&mut list, std::iter::empty());
        assert!(list.is_empty());
    }

    #[test]
    fn what_is_not_plain_is_left_to_the_value_tree() {
        let limits = Limits::default();
        let route = hex(ROUTE_EUROPE);
        assert!(plain(&route, Version::new(4, 3), &limits).is_none());
        let shallow = Limits {
            max_depth: 1,
            ..limits
        };
        assert!(plain(&route, Version::V5_8, &shallow).is_none());
        let short = Limits {
            max_bytes: 5,
            ..limits
        };
        assert!(plain(&route, Version::V5_8, &short).is_none());
        let mut trailing = route.clone();
        trailing.push(0xC0);
        assert!(plain(&trailing, Version::V5_8, &limits).is_none());
        let other_key = body(0x66, vec![europe(), Value::Null, strings(&[("x", "y")])]);
        assert!(plain(&other_key, Version::V5_8, &limits).is_none());
    }

    proptest::proptest! {
        /// Whatever bytes the plain reader takes, the value tree reads as the same request,
        /// whichever route the scratch held before.
        #[test]
        fn the_plain_reader_agrees_with_the_value_tree(
            which in 0usize..7,
            before in 0usize..7,
            edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..4),
            cut in proptest::prelude::any::<usize>(),
        ) {
            let limits = Limits::default();
            let mut scratch = RouteRequest::default();
            plain_into(&plain_routes()[before], &limits, &mut scratch).unwrap();
            let mut bytes = plain_routes().swap_remove(which);
            for (at, byte) in edits {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            bytes.truncate(bytes.len() - cut % 3);
            if let Some(plain) = plain_into(&bytes, &limits, &mut scratch) {
                let tree = Request::decode_value(&bytes, Version::V5_8, &limits);
                proptest::prop_assert_eq!(tree, Ok(Request::Route(plain)));
            }
        }

        #[test]
        fn every_routing_table_is_written_as_its_value_encodes(
            ttl in proptest::prelude::any::<u64>(),
            db in ".{0,20}",
            roles in proptest::collection::vec(proptest::collection::vec(".{0,40}", 0..20), 3),
        ) {
            let [writers, readers, routers] = <[Vec<String>; 3]>::try_from(roles).unwrap();
            let table = RoutingTable { ttl, db, writers, readers, routers };
            assert_written_as_valued(&Response::Routed(table));
        }
    }
}
