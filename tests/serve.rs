//! `tagroute serve` over real sockets: answers, the admin listener, load, faults, reloads, and
//! the binary's signals and logs.

/// A Bolt client, an admin HTTP client and an in-process server.
mod client;

/// ROUTE answers and failures, advertised routers, authentication.
mod answers;

/// The admin listener: metrics, topology updates, reloads, the file watcher.
mod admin;

/// The served topology's layers: overrides through reloads and restarts, listed, cleared and
/// explained; database names, aliases, default and home databases in ROUTE.
mod overlays;

/// A stub Neo4j cluster in-process, for `serve --follow`.
mod stub;

/// `serve --follow`: differences published, health checks, an unreachable cluster.
mod follow;

/// 200 connections checked answer by answer, misbehaving clients, a reload storm.
mod load;

/// The binary: its stdout line, SIGHUP, SIGTERM, JSON logs, 10,000 idle connections.
mod process;

/// `serve --check`, and the flags from `TAGROUTE_<FLAG>` variables.
mod check;

/// TLS with a self-signed certificate, as `neo4j+ssc://` drivers use it.
mod tls;

/// The adversarial suite (issue 21): every abuse bounded, every honest client served.
mod attack;

/// The admin request parsers (updates, what a reload reads) against duplicate keys, deep
/// nesting and huge numbers: property tests.
mod parsers;
