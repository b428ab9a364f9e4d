//! The integration suite: one binary, one module per concern.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on what it did not expect"
)]

/// Shared helpers: reading vectors, normal forms as the vectors spell them.
mod util;

/// Every conformance vector, through the parser (both modes), the reference and the evaluator.
mod conformance;

/// Property tests: VM == reference, parser == reference parser, printer round trip.
mod differential;

/// One test per fuzz finding, with its root cause.
mod regressions;

/// The cluster model: interning only what is published, server sets of one universe.
mod topology;

/// The binary end to end: eval, disasm, explain, bench, demo.
mod cli;

/// Routing tables: vectors through the API and the binary, Neo4j 4.x behaviours, live updates.
mod routing;

/// The hammer: deciders and tables against every update kind and reloads, each checked on
/// what it came from.
mod hammer;

/// Catch-up: every upstream vector through the API and the binary, the documented examples.
mod upstream;

/// Leader priority and balancing plans on clusters whose optimum is known.
mod leaders;

/// `tagroute check`: exit codes, carets through continuations, differing policies, `--verbose`.
mod cli_check;

/// neo4j.conf as Neo4j 5 reads it: the table of issue 12, one test per row.
mod config;

/// Neo4j's own neo4j.conf files (stock 5.x and 4.4, cluster members, plugin keys) through
/// `check`, `--migrate`, `route` and loading, each verdict explained with its source.
mod neo4j_confs;

/// The properties reader against `java.util.Properties` on the JDK, on random files (ignored,
/// with the reason, without a JDK).
mod config_java;

/// `tagroute serve`: answers, admin, TLS, load, faults, reloads, signals.
#[cfg(feature = "serve")]
mod serve;

/// What-if and resilience: every scenario against the reference, the CLI's JSON, HTML and diff.
mod resilience;

/// The resilience heatmap rendered by headless Chromium (ignored, with the reason, without one).
mod browser;

/// What operators install beside the binary: `--version`, manual pages, shell completions.
mod packaging;

/// The README's and docs/'s examples run as written; their links resolve.
mod docs;

/// The library's dependency order: no module imports one above it.
mod layers;
