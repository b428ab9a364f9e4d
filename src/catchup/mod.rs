//! Catch-up: which server a secondary pulls its transaction log from (docs/routing.md).
//!
//! ```text
//! CatchupSettings --SelectorBuilder::build--> Selector --select(snapshot, db, server)--> Selection
//! ```
//!
//! A [`Selector`] asks an ordered list of [`Strategy`]s, and the first one with an answer wins;
//! a strategy without one says why ([`NoAnswer`]) and the next is asked, and
//! `connect-to-random-primary-server` is always asked last. Every strategy chooses among the
//! same candidates: the available servers hosting the database, never the asking server. The
//! configuration names the predefined strategies by their Neo4j 5 names or by the 4.x aliases,
//! and [`StrategyName`](crate::config::StrategyName) is the one place that resolves either to
//! the strategy the selector builds; an embedder adds strategies of its own by name, through the
//! same trait.
//!
//! Selection runs on every synchronisation, so it is cheap: the selector owns its random
//! generator, its buffers and its counters, the user-defined policy is compiled once and run by
//! the VM into a reused set, and nothing is allocated per selection (only a failed one
//! allocates, to describe the failure).

#![deny(clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::indexing_slicing, reason = "tests index what they just built")
)]

mod selector;
mod strategy;
mod user_defined;

pub use selector::{
    Asked, NoUpstream, RegisterError, SelectError, Selection, Selector, SelectorBuilder,
};
pub use strategy::{NoAnswer, Request, Strategy};
