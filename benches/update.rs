//! Publishing a topology update: one server's tags changed, at 8192 servers (target: under
//! 100 microseconds), while readers keep their snapshots.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tagroute::topology::{Topology, Update};
use tagroute::workload::topology;

fn publish_a_tag_change(c: &mut Criterion) {
    let live = Topology::new(&topology(8192)).expect("valid workload");
    let tags = [
        vec!["north".to_owned(), "north1".to_owned()],
        vec!["south".to_owned(), "gpu".to_owned()],
    ];
    let mut turn = 0;
    c.bench_function("publish/8192/set-tags", |b| {
        b.iter(|| {
            turn ^= 1;
            let update = [Update::SetTags {
                server: "s4097".into(),
                tags: tags[turn].clone(),
            }];
            black_box(live.apply(black_box(&update)).expect("valid update"))
        })
    });
    c.bench_function("publish/8192/set-available", |b| {
        b.iter(|| {
            turn ^= 1;
            let update = [Update::SetAvailable {
                server: "s4097".into(),
                available: turn == 0,
            }];
            black_box(live.apply(black_box(&update)).expect("valid update"))
        })
    });
}

criterion_group!(benches, publish_a_tag_change);
criterion_main!(benches);
