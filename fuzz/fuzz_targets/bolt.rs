//! Arbitrary bytes into the Bolt endpoint: the handshake, the de-chunker, the PackStream decoder,
//! request decoding and the state machine, through `Connection` and each stage on its own.
//!
//! Byte 0 picks the server's highest version (`Version::SUPPORTED[b % 9]`) and the size of the
//! reads the stream arrives in (`1 + b / 9 % 32`, or all at once); the rest is the client's
//! stream. Checked, beyond never panicking:
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
use tagroute::bolt::handshake::{self, Version};
use tagroute::bolt::message::Request;
use tagroute::bolt::packstream::{self, Limits, Value};
use tagroute::bolt::{
    Auth, Backend, Connection, Failure, Options, RouteRequest, RoutingTable, Status,
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

fuzz_target!(|bytes: &[u8]| {
    let Some((&control, stream)) = bytes.split_first() else {
        return;
    };
    let max = Version::SUPPORTED[usize::from(control) % Version::SUPPORTED.len()];
    let split = 1 + usize::from(control) / 9 % 32;
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
