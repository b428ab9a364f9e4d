//! The cluster model: servers, tags, databases; immutable snapshots and their publication.
//!
//! - [`TopologySpec`]: the plain description (the JSON form, hand-written tests, and all the
//!   reference interpreter sees).
//! - [`Snapshot`]: one immutable, epoch-numbered state, with every tag's membership as a
//!   bitset ([`ServerSet`]) over dense server indices ([`ServerIdx`]), tags numbered by a shared
//!   [`TagInterner`] so compiled policies stay valid across snapshots; an id is reused only when
//!   no snapshot or program holds it.
//! - [`Topology`]: the live cluster; [`Update`]s build the next snapshot aside and publish it
//!   atomically through arc-swap, so readers never block and never see half an update.
//!
//! Files: `spec.rs` (the description), `tags.rs` (ids, the interner, what holds an id and when
//! it is reused), `server_set.rs`, `matrix.rs` (tag rows, the invariant the VM's unchecked reads
//! rely on, the ids a snapshot holds), `snapshot.rs` (the read side), `names.rs` (database names
//! and aliases, compared as Neo4j compares them), `update.rs` (every update kind, incremental),
//! `diff.rs` (the updates from one description to another), `publish.rs`,
//! `json.rs` and `error.rs`.

mod diff;
mod error;
#[cfg(feature = "json")]
pub mod import;
#[cfg(feature = "json")]
mod json;
mod lookup;
mod matrix;
mod names;
mod publish;
mod server_set;
mod snapshot;
mod spec;
mod tags;
#[cfg(test)]
pub(crate) mod testing;
mod update;

pub use diff::diff;
pub use error::{TopologyError, TopologyErrorKind};
#[cfg(feature = "json")]
pub use json::{database_json, from_json, server_json, to_json};
pub(crate) use matrix::TagMatrix;
pub use names::fold_name;
pub use publish::Topology;
pub use server_set::{ServerIdx, ServerSet, UniverseMismatch, words_for};
pub use snapshot::{Database, Server, Snapshot, is_valid_name, is_valid_tag};
pub use spec::{DatabaseSpec, ServerSpec, TopologySpec};
pub use tags::{TagId, TagInterner, TooManyTags};
pub(crate) use tags::{TagLease, TagStage};
pub use update::Update;
