//! Publication: the current snapshot behind an `ArcSwap`, so readers never block.
//!
//! Readers load the current `Arc<Snapshot>` (or keep an `arc_swap::Cache` that re-checks one
//! atomic per call); writers build the next snapshot aside, under a mutex that orders them, and
//! swap it in whole. Nobody ever sees half an update. Every publication, and every generation a
//! routing service over the topology publishes, is also counted in one word (bumped before and
//! after the store), so that a router's decider knows with one load that nothing changed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::{ArcSwap, Cache};

use super::error::TopologyError;
use super::snapshot::Snapshot;
use super::spec::TopologySpec;
use super::tags::TagInterner;
use super::update::Update;

/// A live cluster: the current snapshot, replaced atomically on every update.
///
/// Readers take the current [`Snapshot`] (an `Arc`, never blocking); [`Topology::apply`]
/// publishes the next one, built aside from a batch of [`Update`]s that applies whole or not
/// at all.
///
/// ```
/// use tagroute::topology::{ServerSpec, Topology, TopologySpec};
/// use tagroute::Update;
///
/// let topology = Topology::new(&TopologySpec {
///     servers: vec![
///         ServerSpec::new("n1a", "n1a.example.com:7687").with_tags(["north"]),
///         ServerSpec::new("s1a", "s1a.example.com:7687").with_tags(["south"]),
///     ],
///     databases: vec![],
/// })?;
/// let before = topology.snapshot();
/// let after = topology.apply(&[Update::SetAvailable { server: "s1a".into(), available: false }])?;
/// assert_eq!(after.epoch(), before.epoch() + 1);
/// assert_eq!(after.names(after.available()), ["n1a"]);
/// assert_eq!(before.names(before.available()), ["n1a", "s1a"], "a snapshot never changes");
/// # Ok::<(), tagroute::topology::TopologyError>(())
/// ```
#[derive(Debug)]
pub struct Topology {
    current: ArcSwap<Snapshot>,
    interner: TagInterner,
    writer: Mutex<()>,
    /// The one word a decider reads to know that what it took is current: bumped before and
    /// after every snapshot published here and every generation a routing service over this
    /// topology publishes, under `writer`, so it is odd while a publication is under way.
    changes: AtomicU64,
}

impl Topology {
    /// A cluster starting from the JSON form of a topology (docs/topology.md), as
    /// `tagroute --topology FILE` reads it; every error names the field at fault.
    ///
    /// ```
    /// use tagroute::Topology;
    ///
    /// let topology = Topology::from_json(r#"{
    ///     "servers": [
    ///         {"name": "n1a", "address": "n1a.example.com:7687", "tags": ["north"]},
    ///         {"name": "s1a", "address": "s1a.example.com:7687", "tags": ["south"], "available": false}
    ///     ],
    ///     "databases": [{"name": "neo4j", "primaries": ["n1a", "s1a"], "leader": "n1a"}]
    /// }"#)?;
    /// let snapshot = topology.snapshot();
    /// assert_eq!(snapshot.names(snapshot.available()), ["n1a"]);
    ///
    /// let error = Topology::from_json(r#"{"servers": [{"name": "n1a", "address": 7687}]}"#)
    ///     .unwrap_err();
    /// assert!(error.to_string().starts_with("servers[0].address: "), "{error}");
    /// # Ok::<(), tagroute::topology::TopologyError>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn from_json(text: &str) -> Result<Topology, TopologyError> {
        Topology::new(&super::json::from_json(text)?)
    }

    /// A cluster starting from `spec`, with a new tag interner.
    pub fn new(spec: &TopologySpec) -> Result<Topology, TopologyError> {
        Ok(Topology::from_snapshot(Snapshot::build(
            spec,
            &TagInterner::new(),
        )?))
    }

    /// A cluster starting from `snapshot` (and sharing its interner).
    pub fn from_snapshot(snapshot: Snapshot) -> Topology {
        let interner = snapshot.interner().clone();
        Topology {
            current: ArcSwap::from_pointee(snapshot),
            interner,
            writer: Mutex::new(()),
            changes: AtomicU64::new(0),
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// A per-thread handle that returns the current snapshot without touching its reference
    /// count unless it changed: the way hot paths read the topology.
    pub fn cache(&self) -> Cache<&ArcSwap<Snapshot>, Arc<Snapshot>> {
        Cache::new(&self.current)
    }

    /// The tag interner shared by every snapshot of this cluster; compile policies with it.
    pub fn interner(&self) -> &TagInterner {
        &self.interner
    }

    /// The count of publications begun and finished: even when none is under way. A reader
    /// that has seen a value stored by a publication reads a count from that publication on
    /// (the count is bumped before the store, and the store releases it).
    #[inline(always)]
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Publishes with `store` (a generation of a routing service over this topology), counted as
    /// a change, in turn with every other publication.
    pub(crate) fn publish_change<T>(&self, store: impl FnOnce() -> T) -> T {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.counted(store)
    }

    /// `store`, with the count bumped before and after it; the writer lock is held.
    fn counted<T>(&self, store: impl FnOnce() -> T) -> T {
        self.changes.fetch_add(1, Ordering::AcqRel);
        let stored = store();
        self.changes.fetch_add(1, Ordering::AcqRel);
        stored
    }

    /// Applies `updates` to the current snapshot and publishes the result. On error nothing
    /// changes and the current snapshot keeps serving.
    pub fn apply(&self, updates: &[Update]) -> Result<Arc<Snapshot>, TopologyError> {
        self.publish_with(|current| current.apply(updates))
    }

    /// Replaces the whole description (same interner, next epoch).
    pub fn replace(&self, spec: &TopologySpec) -> Result<Arc<Snapshot>, TopologyError> {
        self.publish_with(|current| {
            let rebuilt = Snapshot::build(spec, &self.interner)?;
            Ok(rebuilt.with_epoch(current.epoch() + 1))
        })
    }

    fn publish_with(
        &self,
        next: impl FnOnce(&Snapshot) -> Result<Snapshot, TopologyError>,
    ) -> Result<Arc<Snapshot>, TopologyError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let next = Arc::new(next(&self.current.load())?);
        self.counted(|| self.current.store(Arc::clone(&next)));
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::testing::cluster;

    #[test]
    fn readers_see_each_update_whole_and_failed_updates_change_nothing() {
        let topology = cluster()
            .server("a", &["north"])
            .server("b", &["south"])
            .topology();
        let before = topology.snapshot();
        let mut cache = topology.cache();
        assert_eq!(cache.load().epoch(), 0);
        let updates = [
            Update::SetTags {
                server: "a".into(),
                tags: vec!["south".into()],
            },
            Update::SetAvailable {
                server: "b".into(),
                available: false,
            },
        ];
        topology.apply(&updates).expect("valid update");
        let after = cache.load();
        assert_eq!(after.epoch(), 1);
        assert_eq!(after.names(&after.tagged_by_name("south")), ["a", "b"]);
        assert_eq!(after.names(after.available()), ["a"]);
        assert_eq!(
            before.names(&before.tagged_by_name("south")),
            ["b"],
            "old snapshots never change"
        );
        let bad = [
            Update::SetTags {
                server: "a".into(),
                tags: vec!["x".into()],
            },
            Update::SetAvailable {
                server: "nobody".into(),
                available: true,
            },
        ];
        let err = topology.apply(&bad).expect_err("unknown server");
        assert_eq!(err.field(), "updates[1].server");
        assert_eq!(topology.snapshot().epoch(), 1);
        assert!(topology.snapshot().tagged_by_name("x").is_empty());
    }

    #[test]
    fn the_count_of_changes_is_odd_exactly_while_a_publication_is_under_way() {
        let topology = cluster().server("a", &[]).topology();
        assert_eq!(topology.changes(), 0);
        let during = topology.publish_change(|| topology.changes());
        assert_eq!((during, topology.changes()), (1, 2));
        let down = Update::SetAvailable {
            server: "a".into(),
            available: false,
        };
        topology.apply(&[down]).expect("valid update");
        assert_eq!(topology.changes(), 4);
        let unknown = Update::SetAvailable {
            server: "nobody".into(),
            available: false,
        };
        topology.apply(&[unknown]).expect_err("unknown server");
        assert_eq!(topology.changes(), 4, "a rejected update publishes nothing");
        topology
            .replace(&cluster().server("b", &[]).spec())
            .expect("valid spec");
        assert_eq!((topology.changes(), topology.snapshot().epoch()), (6, 2));
    }
}
