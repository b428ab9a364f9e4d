//! Catch-up: which server a secondary pulls its transaction log from (DESIGN section 6).
//!
//! A secondary asks an ordered list of strategies, and the first one with an answer wins;
//! `connect-to-random-primary-server` is always asked last. The configuration names the
//! strategies by their Neo4j 5 names or by the 4.x aliases, and [`canonical_strategy`] is the one
//! place that resolves either to the name the selector works with.

mod names;

pub use names::{STRATEGY_NAMES, canonical_strategy};
