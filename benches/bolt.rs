//! The Bolt protocol's share of a ROUTE answer: one framed ROUTE in (the Python driver's, from
//! BOLT.md), the framed SUCCESS with a three-role table out, through `Connection::receive` on a
//! connection already READY; and the decoding of a driver's HELLO on its own. No I/O and no
//! routing: the backend returns a fixed table, so this is the floor under `tagroute serve`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tagroute::bolt::message::Request;
use tagroute::bolt::{
    Auth, Backend, Connection, Failure, Limits, Options, RouteRequest, RoutingTable, Status,
    Version,
};

struct Fixed(RoutingTable);

impl Backend for Fixed {
    fn authenticate(&self, _: &Auth) -> Result<(), Failure> {
        Ok(())
    }

    fn route(&self, _: &RouteRequest) -> Result<RoutingTable, Failure> {
        Ok(self.0.clone())
    }
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex"))
        .collect()
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tagroute::bolt::chunk::write_message(body, &mut out);
    out
}

const ROUTE: &str = "b3 66 a2 86 706f6c696379 86 6575726f7065 87 61646472657373 \
                     8e 3132372e302e302e313a37363837 90 a0";
const HANDSHAKE: &str = "6060B017 000001FF 00080805 00020404 00000003";
/// HELLO at 5.4 with `user_agent`, `routing` and `bolt_agent`, as the Python driver sends it.
const HELLO: &str = "b1 01 a3 8a 757365725f6167656e74 d0 1e 6e656f346a2d707974686f6e2f362e342e3120507974686f6e2f332e3131 \
                     87 726f7574696e67 a2 86 706f6c696379 86 6575726f7065 87 61646472657373 8e 3132372e302e302e313a37363837 \
                     8a 626f6c745f6167656e74 a2 87 70726f64756374 d0 12 6e656f346a2d707974686f6e2f362e342e31 \
                     88 6c616e6775616765 8b 507974686f6e2f332e3131";
const LOGON: &str = "b1 6a a0";

fn route_round_trip(c: &mut Criterion) {
    let backend = Fixed(RoutingTable {
        ttl: 300,
        db: "neo4j".to_owned(),
        writers: vec!["eu-w1.example.com:7687".to_owned()],
        readers: vec![
            "eu-r1.example.com:7687".to_owned(),
            "eu-r2.example.com:7687".to_owned(),
        ],
        routers: vec!["tagroute.example.com:7687".to_owned()],
    });
    let mut connection = Connection::new(Options::default(), "bolt-1");
    let mut out = Vec::new();
    let mut opening = hex(HANDSHAKE);
    opening.extend(framed(&hex(HELLO)));
    opening.extend(framed(&hex(LOGON)));
    assert_eq!(
        connection.receive(&opening, &backend, &mut out),
        Status::Open
    );
    let route = framed(&hex(ROUTE));
    c.bench_function("bolt/route-round-trip", |b| {
        b.iter(|| {
            out.clear();
            let status = connection.receive(black_box(&route), &backend, &mut out);
            black_box((status, out.len()))
        })
    });
}

fn decode_hello(c: &mut Criterion) {
    let hello = hex(HELLO);
    let limits = Limits::default();
    c.bench_function("bolt/decode-hello", |b| {
        b.iter(|| black_box(Request::decode(black_box(&hello), Version::V5_8, &limits)))
    });
}

criterion_group!(benches, route_round_trip, decode_hello);
criterion_main!(benches);
