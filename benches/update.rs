//! Publishing a topology update: one server's tags changed, at 8192 servers (target: under
//! 100 microseconds), while readers keep their snapshots.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tagroute::bench_support::topology;
use tagroute::topology::{Topology, Update};

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
