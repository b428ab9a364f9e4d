//! tagroute compiles the routing-policy language of Neo4j clusters to verified bytecode and
//! evaluates it against bitset topologies, fast enough to sit on the hot path of a router or a
//! database proxy.
//!
//! Servers carry tags (data centers, regions, zones); a policy such as
//! `tags(north1,north2)->min(2); tags(north); halt()` says which of them a client should read
//! from: the first rule with a non-empty result wins. Every tag's membership is a bitset over
//! servers, so `tags(a,b)` is a word-wide OR, a chain of filters a word-wide AND and `min(n)` a
//! popcount; a policy compiles once, and a small VM runs it against an immutable snapshot of the
//! cluster without allocating.
//!
//! ```
//! use tagroute::topology::{ServerSet, ServerSpec, Snapshot, TagInterner, TopologySpec};
//! use tagroute::{Strictness, compile, syntax, vm};
//!
//! let cluster = TopologySpec {
//!     servers: vec![
//!         ServerSpec::new("n1a", "n1a.example.com:7687").with_tags(["north", "north1"]),
//!         ServerSpec::new("n2a", "n2a.example.com:7687").with_tags(["north", "north2"]),
//!         ServerSpec::new("s1a", "s1a.example.com:7687").with_tags(["south", "south1"]),
//!     ],
//!     databases: vec![],
//! };
//! let snapshot = Snapshot::build(&cluster, &TagInterner::new())?;
//!
//! let policy = syntax::parse("tags(north1,north2)->min(2); tags(south); halt()", Strictness::Default)?;
//! let program = compile::compile(&policy, snapshot.interner())?;
//!
//! let mut selected = ServerSet::default();
//! vm::eval(&program, &snapshot, snapshot.available(), &mut selected)?;
//! assert_eq!(snapshot.names(&selected), ["n1a", "n2a"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Who it is for
//! Embedders that route requests across a multi-data-center cluster (use [`router`]: per-thread
//! deciders that pick a server in a few nanoseconds), tools that validate or explain
//! `neo4j.conf` routing policies ([`config`], [`syntax`], [`vm::explain`]), and anything that
//! answers a Neo4j driver's routing request ([`routing`]) or chooses a catch-up upstream
//! ([`catchup`]). The semantics are Neo4j's, including its parser's quirks; where tagroute
//! deliberately differs, docs/differences.md says so and why.
//!
//! # The pipeline
//! ```text
//! text --lexer--> tokens --parser--> syntax tree --compiler--> bytecode --verifier--> Program
//!                                         |                                              |
//!                               reference interpreter                      VM over Snapshot bitsets
//! ```
//! The modules are declared in dependency order, which follows it. The reference interpreter
//! (feature `reference`) is a literal, slow re-implementation of Neo4j's parser and set semantics that shares nothing with the fast
//! path; tests, property tests and fuzz targets check that the two always agree.

//!
//! # Errors
//! Every fallible function returns its own error type, and every error type follows one
//! convention, so that callers learn it once:
//! - it implements [`std::error::Error`] and `Display`; the message names what was wrong and
//!   where: a [`span::Span`] into the text for policies and `neo4j.conf` (rendered as
//!   `file:line:col` with a caret), the field path for topology JSON, the instruction for
//!   bytecode;
//! - a struct keeps its fields private and answers through accessors
//!   ([`bytecode::VerifyError::at`], [`syntax::ParseError::span`]); the diagnostics of
//!   `neo4j.conf` ([`config::ConfigDiagnostic`]) are records read by their fields;
//! - an enum or record that may grow is `#[non_exhaustive]`, so a match needs a wildcard arm;
//! - a name that does not exist (a policy, a database, a server) is an [`UnknownName`], whose
//!   message lists the names that do and the closest one;
//! - nothing panics on input: bad input is an error value, never a panic.

// The crate's lints live in `Cargo.toml` (`[lints]`). No input may panic the library: outside
// tests, errors are values; modules that index by numbers from their input also deny
// `clippy::indexing_slicing`.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        reason = "a test fails loudly on what it did not expect"
    )
)]
#![warn(missing_docs)]
// No input may panic the library: outside tests, errors are values. Modules that index by
// numbers from their input also deny `clippy::indexing_slicing`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// The modules in dependency order: each imports only modules declared before it
// (`tests/layers.rs` checks it).

// Diagnostics: byte spans, `line:column` and the caret renderer.
pub mod span;

// The small seedable generator that every random choice draws from.
pub mod rng;

// "Did you mean": the closest known name to a near miss, and the error for an unknown name.
pub(crate) mod suggest;
pub use suggest::{NameKind, UnknownName};

// CPU features detected at run time, and the bit-level primitives that depend on them.
pub(crate) mod cpu;

// Bitset words on 64-byte boundaries, for the vector kernels.
pub(crate) mod aligned;

// Vectors that grow by a quarter, for the tables a compile builds without knowing their size.
pub(crate) mod grow;

// Text → tokens → syntax tree; normalization, canonical printer, lints.
pub mod syntax;

// Servers, tags, databases: immutable snapshots, updates, arc-swap publication.
pub mod topology;

// The instruction set, the verifier (the only door to a `Program`), the disassembler.
pub mod bytecode;

// Syntax tree → verified bytecode, with folding.
pub mod compile;

// Program × snapshot × candidates → servers: the allocation-free VM, and `explain`.
pub mod vm;

// The oracle: Neo4j's split-based parser and set evaluation, slow on purpose. Tooling, not API:
// behind the `reference` feature (on for the binary, the tests and the fuzz targets).
#[cfg(feature = "reference")]
#[doc(hidden)]
pub mod reference;

// neo4j.conf: policies and settings, loaded whole or not at all.
pub mod config;

// Routing tables for a database and a policy.
pub mod routing;

// The embeddable hot path: per-thread deciders over cached selections.
pub use routing::router;

// Catch-up: choosing the upstream a secondary pulls its transaction log from.
pub mod catchup;

// Leader priority: which primary should lead, and a leadership balancing plan.
pub mod leader;

// What-if and resilience: every policy under every failure scenario, on one snapshot.
pub mod resilience;

// Bolt without I/O: PackStream, chunks, the handshake and the routing endpoint's state machine.
#[cfg(feature = "bolt")]
pub mod bolt;

// `tagroute serve`: the Bolt routing endpoint on tokio, its admin listener, TLS, metrics, logs.
#[cfg(feature = "serve")]
pub mod serve;

// Following a live Neo4j cluster: its SHOW SERVERS and SHOW DATABASES, read over Bolt on tokio.
#[cfg(feature = "serve")]
pub mod follow;

// The benchmark workload and the hand-written ideal loops of DESIGN section 11: tooling for
// `tagroute bench` and `benches/`, not part of the library's API (feature `bench`).
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench_support;

// The nouns an embedder uses, at the root.
pub use bytecode::Program;
pub use catchup::Selector;
pub use config::Config;
pub use routing::RoutingService;
pub use routing::router::Router;
pub use syntax::Strictness;
pub use topology::{Snapshot, Topology, Update};

// The README's library example runs as a doc test, so it cannot go stale.
#[cfg(all(doctest, feature = "json"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
