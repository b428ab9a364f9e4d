//! The cluster model: servers, tags, databases; immutable snapshots and their publication.
//!
//! - [`TopologySpec`]: the plain description (the JSON form, hand-written tests, and all the
//!   reference interpreter sees).
//! - [`Snapshot`]: one immutable, epoch-numbered state, with every tag's membership as a
//!   bitset ([`ServerSet`]) over dense server indices ([`ServerIdx`]), tags numbered by an
//!   append-only [`TagInterner`] so compiled policies stay valid across snapshots.
//! - [`Topology`]: the live cluster; [`Update`]s build the next snapshot aside and publish it
//!   atomically through arc-swap, so readers never block and never see half an update.

mod error;
#[cfg(feature = "json")]
mod json;
mod matrix;
mod publish;
mod server_set;
mod snapshot;
mod spec;
mod tags;

pub use error::{TopologyError, TopologyErrorKind};
#[cfg(feature = "json")]
pub use json::from_json;
pub(crate) use matrix::TagMatrix;
pub use publish::Topology;
pub use server_set::{ServerIdx, ServerSet, select_in_word, words_for};
pub use snapshot::{Database, Server, Snapshot, Update, is_valid_tag};
pub use spec::{DatabaseSpec, ServerSpec, TopologySpec};
pub use tags::{TagId, TagInterner, TooManyTags};
