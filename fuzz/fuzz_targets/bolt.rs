//! Arbitrary bytes into both sides of Bolt: the endpoint (the handshake, the de-chunker, the
//! PackStream decoder, request decoding and the state machine, through `Connection` and each
//! stage on its own) and the client (`handshake::accepted`, `Client`'s events and records).
//!
//! Byte 0 picks the highest version (`Version::SUPPORTED[b % 9]`) and the size of the reads the
//! stream arrives in (`1 + b / 9 % 32`, or all at once). A stream that starts with `00` is a
//! server's answer (a handshake reply starts `00 00`) and goes to the client; any other is a
//! client's stream and goes to the endpoint, so each input runs one side and the target keeps its
//! speed. Checked on the client side, beyond never panicking:
//! - the same stream in one read and in small reads gives the same events and the same error;
//! - every event answers a request that was sent, in order, and no stream yields more records
//!   than the limit;
//! - a record decoded whole and decoded with some columns skipped agree on the columns kept.
//!
//! Checked on the endpoint side, beyond never panicking:
//! - the same stream in one read and in small reads gives the same bytes out and the same status;
//! - the output is a handshake reply (a supported version no higher than the cap, or zeros) and
//!   then whole chunked SUCCESS, IGNORED or FAILURE messages, each FAILURE with all five keys;
//! - `negotiate` on the first 20 bytes picks a version some slot offers;
//! - a value the decoder accepts encodes and decodes again to the same bytes;
//! - decode errors point inside the input.
//!
//! Small limits keep memory bounded whatever the input declares.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tagroute::bolt::chunk::Dechunker;
use tagroute::bolt::client::{
    Client, ClientError, ClientOptions, Event, RecordFields, decode_field,
};
use tagroute::bolt::handshake::{self, HandshakeError, Version};
use tagroute::bolt::message::Request;
use tagroute::bolt::packstream::{self, DecodeError, Limits, Map, Value};
use tagroute::bolt::{
    Auth, Backend, Connection, Failure, Options, RequestKind, RouteRequest, RoutingTable, Status,
};

const LIMITS: Limits = Limits {
    max_depth: 16,
    max_entries: 256,
    max_bytes: 1024,
    max_message: 8 * 1024,
};

/// Accepts `neo4j`/`pw` or no auth; serves `europe` and the default policy; database `empty`
/// has no readers (the state machine must refuse that table).
struct Fixed;

impl Backend for Fixed {
    fn authenticate(&self, auth: &Auth) -> Result<(), Failure> {
        match (
            auth.scheme.as_deref(),
            auth.principal.as_deref(),
            auth.credentials.as_deref(),
        ) {
            (None | Some("none"), _, _) | (Some("basic"), Some("neo4j"), Some("pw")) => Ok(()),
            _ => Err(Failure::unauthorized("wrong user name or password")),
        }
    }

    fn route(&self, request: &RouteRequest) -> Result<RoutingTable, Failure> {
        match request.policy() {
            None | Some("europe") => {}
            Some(other) => return Err(Failure::policy_not_found(other)),
        }
        let db = request.db.clone().unwrap_or_else(|| "neo4j".to_owned());
        let readers = if db == "empty" {
            vec![]
        } else {
            vec!["r:7687".to_owned()]
        };
        Ok(RoutingTable {
            ttl: 10,
            db,
            writers: vec![],
            readers,
            routers: vec!["[::1]:7687".to_owned()],
        })
    }
}

fn run(stream: &[u8], split: usize, options: Options) -> (Vec<u8>, Status) {
    let mut connection = Connection::new(options, "bolt-1");
    let mut out = Vec::new();
    let mut status = Status::Open;
    for piece in stream.chunks(split.max(1)) {
        status = connection.receive(piece, &Fixed, &mut out);
    }
    (out, status)
}

fn check_output(out: &[u8], max: Version) {
    let Some((reply, messages)) = out.split_first_chunk::<4>() else {
        assert!(out.is_empty(), "a partial handshake reply: {out:02X?}");
        return;
    };
    if *reply != handshake::NO_VERSION {
        let [_, _, minor, major] = *reply;
        let version = Version::new(major, minor);
        assert!(
            version.is_supported() && version <= max,
            "replied {version} under {max}"
        );
    }
    let mut dechunker = Dechunker::new(1 << 20);
    dechunker.push(messages);
    while let Some(body) = dechunker.next_message().expect("our own output dechunks") {
        let value = packstream::decode(body, &Limits::default()).expect("our own output decodes");
        let message = value.as_struct().expect("a response is a structure");
        match (message.tag(), message.fields()) {
            (0x70, [Value::Map(_)]) | (0x7E, []) => {}
            (0x7F, [Value::Map(metadata)]) => {
                for key in ["code", "message", "neo4j_code", "gql_status", "description"] {
                    assert!(
                        metadata.get(key).and_then(Value::as_str).is_some(),
                        "FAILURE without {key}"
                    );
                }
            }
            other => panic!("not a response: {other:?}"),
        }
    }
    assert!(!dechunker.is_mid_message(), "a response is cut short");
}

fn check_handshake(stream: &[u8], max: Version) {
    let Some(first) = stream.get(..handshake::LEN) else {
        return;
    };
    if let Ok(version) = handshake::negotiate(first, max) {
        let offered = first[4..].chunks_exact(4).any(|slot| {
            let (range, minor, major) = (slot[1], slot[2], slot[3]);
            major == version.major()
                && version.minor() <= minor
                && version.minor() >= minor.saturating_sub(range)
        });
        assert!(
            offered && version <= max && version.is_supported(),
            "{version} under {max}"
        );
    }
}

fn check_packstream(bytes: &[u8]) {
    match packstream::decode(bytes, &LIMITS) {
        Ok(value) => {
            let mut once = Vec::new();
            packstream::encode(&value, &mut once).expect("a decoded value encodes");
            let again = packstream::decode(&once, &LIMITS).expect("our encoding decodes");
            let mut twice = Vec::new();
            packstream::encode(&again, &mut twice).expect("a decoded value encodes");
            assert_eq!(once, twice);
            assert!(
                once.len() <= bytes.len(),
                "the smallest encoding is larger than the input"
            );
            for version in [Version::V4_4, Version::V5_0, Version::V5_8] {
                let _ = Request::decode(bytes, version, &LIMITS);
            }
        }
        Err(e) => assert!(
            e.offset() <= bytes.len(),
            "{e} outside {} bytes",
            bytes.len()
        ),
    }
}

const CLIENT: ClientOptions = ClientOptions {
    limits: LIMITS,
    max_records: 8,
    max_result_bytes: 4 * 1024,
};

/// What the client saw: each event, owned, and the error that stopped it, if one did.
#[derive(Debug, PartialEq)]
enum Seen {
    Record(Result<Vec<Value>, DecodeError>),
    Success(RequestKind, Map),
    Failure(RequestKind, Failure),
    Ignored(RequestKind),
    Handshake(HandshakeError),
    Stopped(ClientError),
}

/// The client's dialogue: HELLO (and LOGON), RUN and PULL twice, RESET; then `answers` (after
/// the 4-byte handshake reply) in reads of `split` bytes. Every event in order, or where it
/// stopped. With `check`, each record is also decoded with every other column skipped.
fn client_run(answers: &[u8], split: usize, max: Version, check: bool) -> Vec<Seen> {
    let Some((reply, rest)) = answers.split_first_chunk::<4>() else {
        return Vec::new();
    };
    let version = match handshake::accepted(*reply, max) {
        Ok(version) => {
            assert!(
                version.is_supported() && version <= max,
                "{version} over {max}"
            );
            version
        }
        Err(e) => return vec![Seen::Handshake(e)],
    };
    let mut client = Client::new(version, CLIENT);
    let mut out = Vec::new();
    client.hello("tagroute-fuzz", &Auth::default(), &mut out);
    for _ in 0..2 {
        client.run("SHOW SERVERS YIELD *", Some("system"), &mut out);
        client.pull(&mut out);
    }
    client.reset(&mut out);
    let logon = (version >= Version::V5_1).then_some(RequestKind::Logon);
    let mut expected = [Some(RequestKind::Hello), logon]
        .into_iter()
        .flatten()
        .chain([
            RequestKind::Run,
            RequestKind::Pull,
            RequestKind::Run,
            RequestKind::Pull,
        ])
        .chain([RequestKind::Reset]);
    assert_eq!(client.pending(), 6 + usize::from(logon.is_some()));
    let mut awaited = expected.next();
    let mut seen = Vec::new();
    let mut records = 0;
    for piece in rest.chunks(split.max(1)) {
        client.push(piece);
        loop {
            let event = match client.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) => {
                    seen.push(Seen::Stopped(e));
                    return seen;
                }
            };
            let request = match &event {
                Event::Record(_) => None,
                Event::Success { request, .. }
                | Event::Failure { request, .. }
                | Event::Ignored { request } => Some(*request),
            };
            match request {
                None => assert_eq!(awaited, Some(RequestKind::Pull), "a RECORD outside PULL"),
                Some(request) => {
                    assert_eq!(Some(request), awaited, "answers out of order");
                    awaited = expected.next();
                }
            }
            seen.push(match event {
                Event::Record(fields) => {
                    records += 1;
                    assert!(records <= CLIENT.max_records, "{records} records");
                    let all = fields.decode();
                    if check {
                        check_skipping(&all, fields.decode_only(|i| i % 2 == 0));
                        check_scanning(&all, &fields);
                    }
                    Seen::Record(all)
                }
                Event::Success { request, metadata } => {
                    records = 0;
                    Seen::Success(request, metadata)
                }
                Event::Failure { request, failure } => Seen::Failure(request, failure),
                Event::Ignored { request } => Seen::Ignored(request),
            });
        }
    }
    seen
}

/// A record decoded whole and with the odd columns skipped agree: the even values, or the same
/// error.
fn check_skipping(all: &Result<Vec<Value>, DecodeError>, even: Result<Vec<Value>, DecodeError>) {
    match (all, even) {
        (Ok(all), Ok(even)) => {
            assert_eq!(all.len(), even.len());
            for (i, (a, e)) in all.iter().zip(&even).enumerate() {
                assert_eq!(if i % 2 == 0 { a } else { &Value::Null }, e);
            }
        }
        (Err(a), Err(b)) => assert_eq!(*a, b, "skipping changes the error"),
        (a, b) => panic!("decoded whole {a:?}, in part {b:?}"),
    }
}

/// A record scanned (its even columns cut out as bytes, each decoded alone) and decoded whole
/// agree: the even values, or the same error.
fn check_scanning(all: &Result<Vec<Value>, DecodeError>, fields: &RecordFields<'_>) {
    let mut cut = Vec::new();
    let scanned = fields.scan_only(|i| i % 2 == 0, |i, range| cut.push((i, range)));
    match (all, scanned) {
        (Ok(all), Ok(())) => {
            assert_eq!(cut.len(), all.len().div_ceil(2));
            for (i, range) in cut {
                let bytes = &fields.body()[range];
                let value = decode_field(bytes, &CLIENT.limits).expect("a field scanned decodes");
                assert_eq!(value, all[i], "field {i}");
            }
        }
        (Err(a), Err(b)) => assert_eq!(*a, b, "scanning changes the error"),
        (a, b) => panic!("decoded whole {a:?}, scanned {b:?}"),
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&control, stream)) = bytes.split_first() else {
        return;
    };
    let max = Version::SUPPORTED[usize::from(control) % Version::SUPPORTED.len()];
    let split = 1 + usize::from(control) / 9 % 32;
    if stream.first() == Some(&0) {
        let whole = client_run(stream, stream.len(), max, true);
        let pieces = client_run(stream, split, max, false);
        assert_eq!(whole, pieces, "reads of {split} bytes change the dialogue");
        check_packstream(stream);
        return;
    }
    let options = Options {
        max_version: max,
        limits: LIMITS,
    };
    let whole = run(stream, stream.len(), options);
    let pieces = run(stream, split, options);
    assert_eq!(whole, pieces, "reads of {split} bytes change the dialogue");
    check_output(&whole.0, max);
    check_handshake(stream, max);
    check_packstream(stream);
});
