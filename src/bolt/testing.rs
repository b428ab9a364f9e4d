//! Helpers for the Bolt tests: hex, message bodies as drivers build them, and a backend that
//! records what it was asked.

use std::cell::RefCell;

use super::failure::Failure;
use super::message::{Auth, RouteRequest, RoutingTable};
use super::packstream::{self, Structure, Value};
use super::state::Backend;

/// Bytes from hex, ignoring spaces.
pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// The PackStream encoding of `value`.
pub fn encoded(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    packstream::encode(value, &mut out).unwrap();
    out
}

/// A message body: structure `tag` with `fields`.
pub fn body(tag: u8, fields: Vec<Value>) -> Vec<u8> {
    encoded(&Value::Struct(Structure::new(tag, fields).unwrap()))
}

/// A map value from string pairs.
pub fn strings(pairs: &[(&str, &str)]) -> Value {
    pairs.iter().map(|&(k, v)| (k, Value::from(v))).collect()
}

/// `body` framed as one chunk and the end marker.
pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    super::chunk::write_message(body, &mut out);
    out
}

/// The routing context of `neo4j://127.0.0.1:7687?policy=europe`.
pub fn europe() -> Value {
    strings(&[("policy", "europe"), ("address", "127.0.0.1:7687")])
}

/// HELLO as the Python driver sends it at 5.4 (bolt_agent nested two deep, no auth).
pub fn hello_5x() -> Vec<u8> {
    let bolt_agent = strings(&[
        ("product", "neo4j-python/6.4.1"),
        ("platform", "Linux 6.1.0; x86_64"),
        ("language", "Python/3.11.2-final-0 (CPython)"),
    ]);
    body(
        0x01,
        vec![Value::from_iter([
            (
                "user_agent",
                Value::from("neo4j-python/6.4.1 Python/3.11.2-final-0 (linux)"),
            ),
            ("routing", europe()),
            ("bolt_agent", bolt_agent),
        ])],
    )
}

/// HELLO as a 4.4 driver sends it: auth inside, and `patch_bolt`.
pub fn hello_4x(principal: &str, credentials: &str) -> Vec<u8> {
    body(
        0x01,
        vec![Value::from_iter([
            ("user_agent", Value::from("neo4rs")),
            ("scheme", Value::from("basic")),
            ("principal", Value::from(principal)),
            ("credentials", Value::from(credentials)),
            ("routing", strings(&[("address", "127.0.0.1:7687")])),
            ("patch_bolt", Value::List(vec![Value::from("utc")])),
        ])],
    )
}

/// LOGON with basic auth.
pub fn logon(principal: &str, credentials: &str) -> Vec<u8> {
    body(
        0x6A,
        vec![strings(&[
            ("scheme", "basic"),
            ("principal", principal),
            ("credentials", credentials),
        ])],
    )
}

/// ROUTE for `neo4j://127.0.0.1:7687?policy=europe`, home database.
pub fn route_europe() -> Vec<u8> {
    body(
        0x66,
        vec![
            europe(),
            Value::List(vec![]),
            Value::from_iter::<[(&str, Value); 0]>([]),
        ],
    )
}

/// The table [`Recorder`] answers with.
pub fn table(db: &str) -> RoutingTable {
    RoutingTable {
        ttl: 300,
        db: db.to_owned(),
        writers: vec!["10.0.0.1:7687".to_owned()],
        readers: vec!["10.0.0.2:7687".to_owned(), "10.0.0.3:7687".to_owned()],
        routers: vec!["127.0.0.1:7687".to_owned()],
    }
}

/// A backend that accepts `neo4j`/`pw` (or no auth at all), knows the policies `europe` and
/// `default` and the databases `neo4j` and `movies`, and records every call.
#[derive(Default)]
pub struct Recorder {
    pub logins: RefCell<Vec<Auth>>,
    pub routes: RefCell<Vec<RouteRequest>>,
    /// Replaces the answer to ROUTE when set.
    pub answer: Option<Result<RoutingTable, Failure>>,
    /// The tables handed back after their answers were written.
    pub recycled: RefCell<Vec<RoutingTable>>,
}

impl Backend for Recorder {
    fn authenticate(&self, auth: &Auth) -> Result<(), Failure> {
        self.logins.borrow_mut().push(auth.clone());
        let basic = (auth.principal.as_deref(), auth.credentials.as_deref());
        match auth.scheme.as_deref() {
            None | Some("none") => Ok(()),
            Some("basic") if basic == (Some("neo4j"), Some("pw")) => Ok(()),
            Some(_) => Err(Failure::unauthorized("wrong user name or password")),
        }
    }

    fn route(&self, request: &RouteRequest) -> Result<RoutingTable, Failure> {
        self.routes.borrow_mut().push(request.clone());
        if let Some(answer) = &self.answer {
            return answer.clone();
        }
        let policy = request.policy().unwrap_or("default");
        if policy != "europe" && policy != "default" {
            return Err(Failure::policy_not_found(policy));
        }
        match request.db.as_deref().unwrap_or("neo4j") {
            db @ ("neo4j" | "movies") => Ok(table(db)),
            db => Err(Failure::database_not_found(db)),
        }
    }

    fn recycle(&self, table: RoutingTable) {
        self.recycled.borrow_mut().push(table);
    }
}
