//! Resilience sweeps: scenario-policy evaluations per second on one core, and whole depth-2
//! sweeps of the figures' clusters (DESIGN's resilience issue: at least 10 million
//! evaluations a second at 64 servers; a depth-2 sweep of 1,024 servers, 32 data centers, 20
//! policies and 3 databases in under a second).
//!
//! `cargo bench --bench resilience`; criterion's throughput is in records (scenario ×
//! database × policy) per second.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

mod resilience_cluster;

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tagroute::Strictness;
use tagroute::config::Config;
use tagroute::resilience::{Analysis, Domains, scenario_count};
use tagroute::topology::{Snapshot, TagInterner, from_json};

fn load(dcs: usize, per_dc: usize, policies: usize) -> (Snapshot, Config) {
    let (topology, conf) = resilience_cluster::cluster(dcs, per_dc, policies);
    let spec = from_json(&topology).expect("valid topology");
    let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid topology");
    let config =
        Config::parse(&conf, Path::new("neo4j.conf"), Strictness::Default).expect("valid config");
    (snapshot, config)
}

/// Sweeps `depth` over the data centers, counting records so nothing is optimised away.
fn sweep(analysis: &Analysis<'_>, domains: &Domains, depth: usize) -> u64 {
    let mut records = 0u64;
    let findings = analysis
        .sweep(domains, depth, |record| {
            records += u64::from(black_box(record).is_outage()) + 1;
        })
        .expect("sweeps");
    records + findings.len() as u64
}

fn group(
    c: &mut Criterion,
    name: &str,
    (dcs, per_dc, policies, depth): (usize, usize, usize, usize),
) {
    let (snapshot, config) = load(dcs, per_dc, policies);
    let domains = Domains::data_centers(&snapshot).expect("data centers");
    let records = scenario_count(domains.len(), depth) * 3 * policies as u64;
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.throughput(Throughput::Elements(records));
    let routing = Analysis::new(&snapshot, &config)
        .expect("compiles")
        .with_upstreams(false);
    group.bench_function("routing-only", |b| {
        b.iter(|| sweep(black_box(&routing), &domains, depth))
    });
    let full = Analysis::new(&snapshot, &config).expect("compiles");
    group.bench_function("with-upstreams", |b| {
        b.iter(|| sweep(black_box(&full), &domains, depth))
    });
    group.finish();
}

fn resilience(c: &mut Criterion) {
    // 64 servers: 16 data centers of 4, 20 policies, 3 databases, depth 3 (697 scenarios).
    group(c, "resilience/64-servers-depth-3", (16, 4, 20, 3));
    // The figure's cluster: 1,024 servers in 32 data centers, depth 2 (529 scenarios).
    group(c, "resilience/1024-servers-depth-2", (32, 32, 20, 2));
}

criterion_group!(benches, resilience);
criterion_main!(benches);
