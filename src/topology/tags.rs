//! Tag ids, and the interner that hands them out and takes them back.
//!
//! A compiled policy names tags by [`TagId`], and a snapshot keeps one row of its tag matrix
//! per id, up to the highest id its servers carry. The interner is shared by a topology and
//! every policy compiled against it, so every program can run on every snapshot.
//!
//! An id is *held* by whatever uses it: a snapshot's tag matrix holds the tags its servers
//! carry, a program the tags it names, a change under way ([`TagStage`]) every tag it has met.
//! While held, an id keeps its name. When its last holder goes, the name is forgotten and the
//! id is free, and the next new name takes the lowest free id. So ids stay as dense as the tags
//! in use allow, a snapshot's rows follow what the cluster and its policies use now, and a
//! change that is rejected leaves no name behind.
//!
//! Why reuse is safe: an id changes its name only while nothing holds it, that is while no live
//! snapshot has a bit in its row and no live program names it. A program compiled later that
//! names the new tag reads that row as empty on an older snapshot, which is what the older
//! snapshot holds (had it carried the name, the name would have kept its id).
//!
//! What reuse cannot undo: a tag keeps the id it was given for as long as it is held (programs
//! name it by number), so the highest id held is below the most ids held at once since that
//! tag was interned.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// A dense tag number: below the interner's [`TagInterner::id_bound`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagId(u32);

impl TagId {
    /// One more than the largest id.
    pub const LIMIT: usize = u32::MAX as usize;

    /// The id `n`, if it is below [`TagId::LIMIT`].
    pub fn new(n: usize) -> Option<TagId> {
        u32::try_from(n)
            .ok()
            .filter(|&n| (n as usize) < Self::LIMIT)
            .map(TagId)
    }

    /// The id as an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id as stored in bytecode.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for TagId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A change needs more tags than it may have: more than [`TagId::LIMIT`] names held at once, or
/// a snapshot's tag matrix larger than the interner's [`TagInterner::matrix_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyTags {
    limit: Limit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    Ids,
    Matrix {
        tags: usize,
        servers: usize,
        bytes: usize,
        limit: usize,
    },
}

impl TooManyTags {
    pub(crate) fn matrix(tags: usize, servers: usize, bytes: usize, limit: usize) -> TooManyTags {
        TooManyTags {
            limit: Limit::Matrix {
                tags,
                servers,
                bytes,
                limit,
            },
        }
    }

    /// The limit that was reached: a number of tags ([`TagId::LIMIT`]), or of bytes
    /// ([`TagInterner::matrix_limit`]).
    pub fn limit(&self) -> usize {
        match self.limit {
            Limit::Ids => TagId::LIMIT,
            Limit::Matrix { limit, .. } => limit,
        }
    }
}

impl fmt::Display for TooManyTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            Limit::Ids => write!(f, "more than {} distinct tags", TagId::LIMIT),
            Limit::Matrix {
                tags,
                servers,
                bytes,
                limit,
            } => write!(
                f,
                "{tags} tag rows over {servers} servers need a tag matrix of {}, more than its \
                 limit of {}",
                Bytes(bytes),
                Bytes(limit)
            ),
        }
    }
}

impl std::error::Error for TooManyTags {}

/// A byte count as people read it: `1.2 GiB`, `640 KiB`, `12 bytes`.
pub(crate) struct Bytes(pub(crate) usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        let mut value = self.0 as f64;
        let mut unit = None;
        for name in UNITS {
            if value < 1024.0 {
                break;
            }
            value /= 1024.0;
            unit = Some(name);
        }
        match unit {
            None => write!(f, "{} bytes", self.0),
            Some(unit) => write!(f, "{value:.1} {unit}"),
        }
    }
}

/// Interns tag names into dense [`TagId`]s and reclaims the ids nothing holds. Cloning shares
/// the same interner.
#[derive(Clone)]
pub struct TagInterner {
    shared: Arc<Shared>,
}

struct Shared {
    /// Tells interners apart, so a program is never run against another interner's ids.
    identity: u64,
    /// The most bytes one snapshot's tag matrix may take.
    matrix_limit: usize,
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    /// The id of each name, found through its slot: 4 bytes a name, not a second copy of its
    /// key (a configuration of a million new tags interns them all).
    ids: HashTable<TagId>,
    /// One per id below the bound; a free id has no name.
    slots: Vec<Slot>,
    /// The free ids below `slots.len()`, taken lowest first.
    free: BTreeSet<u32>,
}

#[derive(Default)]
struct Slot {
    name: Option<Arc<str>>,
    /// Holders; [`PINNED`] for a name interned for good.
    holders: u32,
}

/// The limit [`TagInterner::new`] gives.
static DEFAULT_MATRIX_LIMIT: AtomicUsize = AtomicUsize::new(TagInterner::DEFAULT_MATRIX_LIMIT);

/// The holder count of a name that is never released ([`TagInterner::intern`]).
const PINNED: u32 = u32::MAX;

impl Default for TagInterner {
    fn default() -> Self {
        TagInterner::new()
    }
}

impl fmt::Debug for TagInterner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TagInterner")
            .field("identity", &self.shared.identity)
            .field("len", &self.len())
            .field("id_bound", &self.id_bound())
            .finish()
    }
}

impl TagInterner {
    /// The most bytes one snapshot's tag matrix may take unless set otherwise: 2 GiB, room for
    /// 100,000 servers that each carry a tag of their own (1.2 GiB).
    pub const DEFAULT_MATRIX_LIMIT: usize = 2 << 30;

    /// A new, empty interner whose snapshots' tag matrices may take up to the process's
    /// default limit ([`TagInterner::set_default_matrix_limit`]).
    pub fn new() -> TagInterner {
        TagInterner::with_matrix_limit(DEFAULT_MATRIX_LIMIT.load(Ordering::Relaxed))
    }

    /// Sets the limit of the interners [`TagInterner::new`] makes from now on, for a program
    /// that makes them in many places (the command line's `--max-tag-matrix`). Interners made
    /// before keep theirs.
    pub fn set_default_matrix_limit(bytes: usize) {
        DEFAULT_MATRIX_LIMIT.store(bytes, Ordering::Relaxed);
    }

    /// A new, empty interner whose snapshots' tag matrices may take up to `bytes` bytes. A
    /// snapshot whose matrix would be larger is refused ([`TooManyTags`]); the matrix takes
    /// one bit per server, rounded up to 64-byte lines, for every tag id up to the highest a
    /// server carries.
    ///
    /// ```
    /// use tagroute::topology::{ServerSpec, Snapshot, TagInterner, TopologySpec};
    ///
    /// let spec = TopologySpec {
    ///     servers: (0..100)
    ///         .map(|i| ServerSpec::new(format!("s{i}"), format!("s{i}:7687")).with_tags([format!("t{i}")]))
    ///         .collect(),
    ///     databases: vec![],
    /// };
    /// // 100 rows of 2 words each, rounded up to a 64-byte line: 6,400 bytes.
    /// assert!(Snapshot::build(&spec, &TagInterner::with_matrix_limit(6_400)).is_ok());
    /// let err = Snapshot::build(&spec, &TagInterner::with_matrix_limit(4_096)).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "servers: 100 tag rows over 100 servers need a tag matrix of 6.2 KiB, more than its \
    ///      limit of 4.0 KiB"
    /// );
    /// ```
    pub fn with_matrix_limit(bytes: usize) -> TagInterner {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let identity = NEXT.fetch_add(1, Ordering::Relaxed);
        TagInterner {
            shared: Arc::new(Shared {
                identity,
                matrix_limit: bytes,
                state: RwLock::default(),
            }),
        }
    }

    /// The most bytes one snapshot's tag matrix may take.
    pub fn matrix_limit(&self) -> usize {
        self.shared.matrix_limit
    }

    /// The id of `name`, interned for good: it keeps this id for as long as the interner lives.
    /// For tags a caller names by id itself; compiling a policy or building a snapshot interns
    /// what they use, and lets it go with them.
    pub fn intern(&self, name: &str) -> Result<TagId, TooManyTags> {
        let mut state = self.write();
        let id = state.take(name)?;
        if let Some(slot) = state.slots.get_mut(id.index()) {
            slot.holders = PINNED;
        }
        Ok(id)
    }

    /// Opens a change: every tag it interns is held until the stage is dropped, so that what
    /// the change builds (a snapshot, a program) can hold it in turn.
    pub(crate) fn stage(&self) -> TagStage<'_> {
        TagStage {
            interner: self,
            held: Vec::new(),
        }
    }

    /// The id of `name`, if it is interned.
    pub fn get(&self, name: &str) -> Option<TagId> {
        self.read().id(name)
    }

    /// The name of `id`, if it names a tag now.
    pub fn name(&self, id: TagId) -> Option<Arc<str>> {
        self.read().slots.get(id.index())?.name.clone()
    }

    /// How many names are interned now.
    pub fn len(&self) -> usize {
        self.read().ids.len()
    }

    /// Whether no name is interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One more than the highest id that names a tag now: every id in use is below it.
    pub fn id_bound(&self) -> usize {
        self.read().slots.len()
    }

    /// Whether `self` and `other` are the same interner (clones of one another).
    pub fn same_as(&self, other: &TagInterner) -> bool {
        self.identity() == other.identity()
    }

    /// A number that identifies this interner among all interners of the process.
    pub fn identity(&self) -> u64 {
        self.shared.identity
    }

    /// Holds `ids` (distinct, each naming a tag) until the lease is dropped; the first id that
    /// names no tag is the error, and then nothing is held.
    pub(crate) fn lease(&self, ids: Vec<TagId>) -> Result<TagLease, TagId> {
        if ids.is_empty() {
            return Ok(TagLease { inner: None });
        }
        let mut state = self.write();
        if let Some(&missing) = ids.iter().find(|id| !state.names(**id)) {
            return Err(missing);
        }
        ids.iter().for_each(|&id| state.hold(id));
        drop(state);
        Ok(TagLease {
            inner: Some(Arc::new(Lease {
                interner: self.clone(),
                ids: ids.into(),
            })),
        })
    }

    fn release(&self, ids: &[TagId]) {
        let mut state = self.write();
        ids.iter().for_each(|&id| state.release(id));
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn hash(name: &str) -> u64 {
    FxBuildHasher.hash_one(name)
}

impl State {
    /// The id of `name`, if it is interned.
    fn id(&self, name: &str) -> Option<TagId> {
        self.ids
            .find(hash(name), |&id| self.name_of(id) == Some(name))
            .copied()
    }

    fn name_of(&self, id: TagId) -> Option<&str> {
        self.slots.get(id.index())?.name.as_deref()
    }

    /// Whether `id` names a tag.
    fn names(&self, id: TagId) -> bool {
        self.slots
            .get(id.index())
            .is_some_and(|slot| slot.name.is_some())
    }

    /// The id of `name`, interned in the lowest free id if it is new, with one more holder.
    fn take(&mut self, name: &str) -> Result<TagId, TooManyTags> {
        if let Some(id) = self.id(name) {
            self.hold(id);
            return Ok(id);
        }
        let id = match self.free.pop_first() {
            Some(free) => TagId(free),
            None => {
                let id = TagId::new(self.slots.len()).ok_or(TooManyTags { limit: Limit::Ids })?;
                crate::grow::push(&mut self.slots, Slot::default());
                id
            }
        };
        if let Some(slot) = self.slots.get_mut(id.index()) {
            *slot = Slot {
                name: Some(Arc::from(name)),
                holders: 1,
            };
        }
        let slots = &self.slots;
        let rehash = |&id: &TagId| {
            let name = slots.get(id.index()).and_then(|s| s.name.as_deref());
            hash(name.unwrap_or_default())
        };
        self.ids.insert_unique(hash(name), id, rehash);
        Ok(id)
    }

    fn hold(&mut self, id: TagId) {
        if let Some(slot) = self.slots.get_mut(id.index()) {
            // A count that would overflow pins the name: never wrong, only kept.
            slot.holders = slot.holders.saturating_add(1);
        }
    }

    /// One holder less; the last one frees the id, and free ids at the end leave the bound.
    fn release(&mut self, id: TagId) {
        let Some(slot) = self.slots.get_mut(id.index()) else {
            return;
        };
        if slot.holders == PINNED {
            return;
        }
        slot.holders -= 1;
        if slot.holders > 0 {
            return;
        }
        if let Some(name) = slot.name.take()
            && let Ok(entry) = self.ids.find_entry(hash(&name), |&other| other == id)
        {
            entry.remove();
        }
        self.free.insert(id.as_u32());
        while let Some(last) = self.slots.len().checked_sub(1) {
            if self.slots.get(last).is_some_and(|s| s.name.is_none()) {
                self.slots.pop();
                self.free.remove(&(last as u32));
            } else {
                break;
            }
        }
    }
}

/// Tag ids held by a snapshot's matrix or a program, released when the last clone goes.
#[derive(Clone, Default)]
pub(crate) struct TagLease {
    inner: Option<Arc<Lease>>,
}

struct Lease {
    interner: TagInterner,
    ids: Box<[TagId]>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.interner.release(&self.ids);
    }
}

impl TagLease {
    /// The ids held, in the order they were given.
    pub(crate) fn ids(&self) -> &[TagId] {
        self.inner.as_ref().map_or(&[], |lease| &lease.ids)
    }
}

impl fmt::Debug for TagLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

/// The tags one change (a topology build or update batch, a policy, a configuration reload)
/// has interned or looked up, held until it is dropped: long enough for what the change builds
/// to hold the ones it keeps. A rejected change drops its stage, and the names only it held are
/// forgotten.
pub(crate) struct TagStage<'i> {
    interner: &'i TagInterner,
    /// The ids the stage holds, a bit each: names are looked up in the interner, so that a
    /// change of a million new tags (a policy of a million rules) keeps a bit for each here, not
    /// a second map of names.
    held: Vec<u64>,
}

impl TagStage<'_> {
    /// The id of `name`, interning it in the lowest free id if it is new.
    pub(crate) fn intern(&mut self, name: &str) -> Result<TagId, TooManyTags> {
        // An id the stage holds keeps its name, so a name found held stays right once the lock
        // is let go.
        let found = self.interner.read().id(name);
        if let Some(id) = found.filter(|&id| self.holds(id)) {
            return Ok(id);
        }
        let mut state = self.interner.write();
        let id = state.take(name)?;
        if self.holds(id) {
            // Not reached (a name whose id the stage holds was found above), but a stage holds
            // an id once.
            state.release(id);
        } else {
            self.hold(id);
        }
        Ok(id)
    }

    /// The interner the stage interns in.
    pub(crate) fn interner(&self) -> &TagInterner {
        self.interner
    }

    fn holds(&self, id: TagId) -> bool {
        let (word, bit) = (id.index() / 64, id.index() % 64);
        self.held.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn hold(&mut self, id: TagId) {
        let (word, bit) = (id.index() / 64, id.index() % 64);
        if self.held.len() <= word {
            self.held.resize(word + 1, 0);
        }
        if let Some(w) = self.held.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    /// The ids held, lowest first.
    fn ids(&self) -> impl Iterator<Item = TagId> + '_ {
        self.held.iter().enumerate().flat_map(|(word, &bits)| {
            (0..64)
                .filter(move |bit| bits & (1 << bit) != 0)
                .filter_map(move |bit| TagId::new(word * 64 + bit))
        })
    }
}

impl Drop for TagStage<'_> {
    fn drop(&mut self) {
        if self.held.iter().any(|&w| w != 0) {
            let mut state = self.interner.write();
            self.ids().for_each(|id| state.release(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> TagId {
        TagId(n)
    }

    #[test]
    fn ids_are_dense_stable_and_shared_by_clones() {
        let interner = TagInterner::new();
        let clone = interner.clone();
        assert_eq!(interner.intern("north"), Ok(id(0)));
        assert_eq!(clone.intern("south"), Ok(id(1)));
        assert_eq!(interner.intern("north"), Ok(id(0)));
        assert_eq!(interner.get("south"), Some(id(1)));
        assert_eq!(interner.name(id(1)).as_deref(), Some("south"));
        assert_eq!(interner.get("west"), None);
        assert!(interner.same_as(&clone) && !interner.same_as(&TagInterner::new()));
    }

    #[test]
    fn a_stage_holds_what_it_interned_until_it_is_dropped() {
        let interner = TagInterner::new();
        interner.intern("north").expect("room");
        let mut stage = interner.stage();
        assert_eq!(stage.intern("north"), Ok(id(0)));
        assert_eq!(stage.intern("south"), Ok(id(1)));
        assert_eq!(stage.intern("south"), Ok(id(1)));
        assert_eq!((interner.len(), interner.get("south")), (2, Some(id(1))));
        drop(stage);
        assert_eq!((interner.len(), interner.get("south")), (1, None));
        assert_eq!(interner.get("north"), Some(id(0)), "interned for good");
        assert_eq!(
            interner.id_bound(),
            1,
            "a free id at the end leaves the bound"
        );
    }

    #[test]
    fn a_lease_keeps_names_and_the_lowest_free_id_is_taken_first() {
        let interner = TagInterner::new();
        let mut stage = interner.stage();
        let ids: Vec<TagId> = ["a", "b", "c", "d"]
            .iter()
            .map(|t| stage.intern(t).expect("room"))
            .collect();
        let ends = interner.lease(vec![id(0), id(3)]).expect("both name tags");
        drop(stage);
        assert_eq!(ids, [id(0), id(1), id(2), id(3)]);
        assert_eq!((interner.len(), interner.id_bound()), (2, 4));
        assert_eq!(interner.name(id(1)), None);
        let mut stage = interner.stage();
        assert_eq!(stage.intern("e"), Ok(id(1)), "the lowest free id");
        assert_eq!(stage.intern("a"), Ok(id(0)), "a held name keeps its id");
        assert_eq!(stage.intern("f"), Ok(id(2)));
        assert_eq!(stage.intern("g"), Ok(id(4)), "no id free below the bound");
        drop(stage);
        assert_eq!(interner.lease(vec![id(1)]).map(|_| ()), Err(id(1)));
        let shared = ends.clone();
        drop(ends);
        assert_eq!(interner.get("d"), Some(id(3)), "a clone still holds it");
        drop(shared);
        assert!(interner.is_empty());
        assert_eq!(interner.id_bound(), 0);
    }

    #[test]
    fn ids_in_use_stay_below_the_most_names_held_at_once() {
        let interner = TagInterner::new();
        for round in 0..50 {
            let mut stage = interner.stage();
            for i in 0..100 {
                stage.intern(&format!("r{round}-{i}")).expect("room");
            }
            assert_eq!(interner.id_bound(), 100);
        }
        assert!(interner.is_empty());
    }

    #[test]
    fn stages_intern_side_by_side_across_threads() {
        let interner = TagInterner::new();
        let leases = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (interner, leases) = (&interner, &leases);
                scope.spawn(move || {
                    for i in 0..50 {
                        let mut stage = interner.stage();
                        let name = format!("t{t}-{i}");
                        let id = stage.intern(&name).expect("room");
                        let lease = interner.lease(vec![id]).expect("held by the stage");
                        drop(stage);
                        assert_eq!(interner.name(id).as_deref(), Some(&*name));
                        leases
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(lease);
                    }
                });
            }
        });
        assert_eq!((interner.len(), interner.id_bound()), (200, 200));
    }

    #[test]
    fn byte_counts_read_as_people_write_them() {
        assert_eq!(Bytes(12).to_string(), "12 bytes");
        assert_eq!(Bytes(6_400).to_string(), "6.2 KiB");
        assert_eq!(Bytes(1_254_400_000).to_string(), "1.2 GiB");
    }
}
