//! Publishing a topology update at 8192 servers, one benchmark per update kind (DESIGN
//! target: under 100 microseconds for any kind), while readers keep their snapshots.
//!
//! Each kind alternates between two updates that undo each other, so every iteration
//! publishes one real change on a cluster of the same size:
//! `cargo bench --bench update`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tagroute::bench_support::{DATABASE, topology};
use tagroute::topology::{DatabaseSpec, ServerSpec, Topology, Update};

const SERVERS: usize = 8192;

/// Benchmarks publishing `updates[0]`, `updates[1]`, `updates[0]`, … on a live cluster.
fn publish(c: &mut Criterion, kind: &str, updates: [Vec<Update>; 2]) {
    let live = Topology::new(&topology(SERVERS)).expect("valid workload");
    let mut turn = 0;
    c.bench_function(&format!("publish/{SERVERS}/{kind}"), |b| {
        b.iter(|| {
            let batch = &updates[turn];
            turn ^= 1;
            black_box(live.apply(black_box(batch)).expect("valid update"))
        })
    });
}

fn tags(names: &[&str]) -> Vec<String> {
    names.iter().map(|t| t.to_string()).collect()
}

fn every_kind(c: &mut Criterion) {
    let set_tags = |t: &[&str]| {
        vec![Update::SetTags {
            server: "s4097".into(),
            tags: tags(t),
        }]
    };
    publish(
        c,
        "set-tags",
        [set_tags(&["north", "north1"]), set_tags(&["south", "gpu"])],
    );
    let available = |up: bool| {
        vec![Update::SetAvailable {
            server: "s4097".into(),
            available: up,
        }]
    };
    publish(c, "set-available", [available(false), available(true)]);
    // The server added is the one removed: both kinds cost the same pair of publications, so
    // each figure is half of this pair's (the bench reports the mean of both).
    let extra = ServerSpec::new("extra", "extra.bench:7687").with_tags(["north", "north1"]);
    let remove = |server: &str| {
        vec![Update::RemoveServer {
            server: server.into(),
        }]
    };
    publish(
        c,
        "add-server+remove-server",
        [vec![Update::AddServer(extra)], remove("extra")],
    );
    // Removing a server from the middle renumbers the 4,095 after it; adding it back appends.
    let middle = ServerSpec::new("s4097", "s4097.bench:7687").with_tags(["south", "south1"]);
    publish(
        c,
        "remove-server-middle+add-server",
        [remove("s4097"), vec![Update::AddServer(middle)]],
    );
    let leader = |name: Option<&str>| {
        vec![Update::SetLeader {
            database: DATABASE.into(),
            leader: name.map(str::to_owned),
        }]
    };
    publish(c, "set-leader", [leader(Some("s1")), leader(Some("s2"))]);
    let database = |name: &str| DatabaseSpec {
        name: name.into(),
        primaries: tags(&["s10", "s11", "s12"]),
        secondaries: (13..200).map(|i| format!("s{i}")).collect(),
        leader: Some("s10".into()),
        ..DatabaseSpec::default()
    };
    publish(
        c,
        "set-database (replace)",
        [
            vec![Update::SetDatabase(database(DATABASE))],
            vec![Update::SetDatabase(DatabaseSpec {
                leader: None,
                ..database(DATABASE)
            })],
        ],
    );
    publish(
        c,
        "set-database (add)+remove-database",
        [
            vec![Update::SetDatabase(database("other"))],
            vec![Update::RemoveDatabase {
                database: "other".into(),
            }],
        ],
    );
}

criterion_group!(benches, every_kind);
criterion_main!(benches);
