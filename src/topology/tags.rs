//! Tag ids and the append-only interner that hands them out.
//!
//! A compiled policy names tags by [`TagId`]. The interner is shared by a topology and every
//! policy compiled against it and only ever grows, so an id stays valid across snapshots; a
//! snapshot built before a tag was interned simply has no row for it (the empty set).
//!
//! Because nothing is ever released, only what is published may be interned: a change (a
//! topology build or update batch, a policy or a configuration reload) interns through a
//! [`TagStage`], which numbers new names provisionally and adds them to the interner only when
//! the change succeeds; a rejected change leaves the interner as it was. One stage at a time
//! holds the interner's turn, so provisional ids are the ids the names get, and one change may
//! add at most [`TagInterner::NEW_TAGS_LIMIT`] names.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use rustc_hash::FxHashMap;

/// A dense tag number, `0..interner.len()`.
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

/// A change would add more tags than it may: more than [`TagInterner::NEW_TAGS_LIMIT`] new
/// names in one change, or more than [`TagId::LIMIT`] in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyTags {
    limit: usize,
}

impl TooManyTags {
    /// The limit that was reached.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl fmt::Display for TooManyTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.limit == TagInterner::NEW_TAGS_LIMIT {
            write!(f, "more than {} new tags in one change", self.limit)
        } else {
            write!(f, "more than {} distinct tags", self.limit)
        }
    }
}

impl std::error::Error for TooManyTags {}

/// Interns tag names into dense [`TagId`]s. Cloning shares the same interner.
#[derive(Clone)]
pub struct TagInterner {
    shared: Arc<Shared>,
}

struct Shared {
    /// Tells interners apart, so a program is never run against another interner's ids.
    identity: u64,
    state: RwLock<State>,
    /// Held by the one [`TagStage`] that may add names; readers never take it.
    turn: Mutex<()>,
}

#[derive(Default)]
struct State {
    ids: FxHashMap<Arc<str>, TagId>,
    names: Vec<Arc<str>>,
}

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
            .finish()
    }
}

impl TagInterner {
    /// A new, empty interner.
    pub fn new() -> TagInterner {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let identity = NEXT.fetch_add(1, Ordering::Relaxed);
        TagInterner {
            shared: Arc::new(Shared {
                identity,
                state: RwLock::default(),
                turn: Mutex::new(()),
            }),
        }
    }

    /// The most names one change (one `TagStage`) may add: a topology build or update
    /// batch, one policy, or one configuration reload.
    pub const NEW_TAGS_LIMIT: usize = 4096;

    /// The id of `name`, interning it if it is new (a change of one name).
    ///
    /// Must not be called on a thread that holds a `TagStage` of this interner.
    pub fn intern(&self, name: &str) -> Result<TagId, TooManyTags> {
        if let Some(id) = self.get(name) {
            return Ok(id);
        }
        let mut stage = self.stage();
        let id = stage.intern(name)?;
        stage.commit();
        Ok(id)
    }

    /// Opens a change: new names are numbered in the stage and reach the interner only if
    /// [`TagStage::commit`] is called. Waits while another stage of this interner is open, so
    /// never open two on one thread.
    pub(crate) fn stage(&self) -> TagStage<'_> {
        let turn = self
            .shared
            .turn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        TagStage {
            base: self.len(),
            interner: self,
            _turn: turn,
            names: Vec::new(),
            ids: FxHashMap::default(),
        }
    }

    /// The id of `name`, if it was interned.
    pub fn get(&self, name: &str) -> Option<TagId> {
        self.read().ids.get(name).copied()
    }

    /// The name of `id`, if it was handed out by this interner.
    pub fn name(&self, id: TagId) -> Option<Arc<str>> {
        self.read().names.get(id.index()).cloned()
    }

    /// How many tags have been interned.
    pub fn len(&self) -> usize {
        self.read().names.len()
    }

    /// Whether no tag has been interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `self` and `other` are the same interner (clones of one another).
    pub fn same_as(&self, other: &TagInterner) -> bool {
        self.identity() == other.identity()
    }

    /// A number that identifies this interner among all interners of the process.
    pub fn identity(&self) -> u64 {
        self.shared.identity
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// New tag names of one change, numbered after the interner's but not in it until committed.
/// Dropping the stage discards them.
pub(crate) struct TagStage<'i> {
    interner: &'i TagInterner,
    /// The interner's turn: no other stage adds names while this one is open, so `base` stays
    /// the interner's length and provisional ids are final.
    _turn: MutexGuard<'i, ()>,
    base: usize,
    names: Vec<Arc<str>>,
    ids: FxHashMap<Arc<str>, TagId>,
}

impl TagStage<'_> {
    /// The id of `name`: the interner's, or a new one numbered after everything interned and
    /// staged so far.
    pub(crate) fn intern(&mut self, name: &str) -> Result<TagId, TooManyTags> {
        if let Some(id) = self.get(name) {
            return Ok(id);
        }
        if self.names.len() >= TagInterner::NEW_TAGS_LIMIT {
            return Err(TooManyTags {
                limit: TagInterner::NEW_TAGS_LIMIT,
            });
        }
        let id = TagId::new(self.len()).ok_or(TooManyTags {
            limit: TagId::LIMIT,
        })?;
        let name: Arc<str> = Arc::from(name);
        self.names.push(Arc::clone(&name));
        self.ids.insert(name, id);
        Ok(id)
    }

    /// The id of `name`, interned or staged.
    pub(crate) fn get(&self, name: &str) -> Option<TagId> {
        self.interner
            .get(name)
            .or_else(|| self.ids.get(name).copied())
    }

    /// How many ids exist counting the staged ones: every id handed out is below it.
    pub(crate) fn len(&self) -> usize {
        self.base + self.names.len()
    }

    /// The interner the stage adds to.
    pub(crate) fn interner(&self) -> &TagInterner {
        self.interner
    }

    /// Adds the staged names to the interner, with the ids the stage gave them.
    pub(crate) fn commit(self) {
        if self.names.is_empty() {
            return;
        }
        let mut state = self
            .interner
            .shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (name, id) in self.ids {
            state.ids.insert(name, id);
        }
        state.names.extend(self.names);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_stable_and_shared_by_clones() {
        let interner = TagInterner::new();
        let clone = interner.clone();
        assert_eq!(interner.intern("north"), Ok(TagId(0)));
        assert_eq!(clone.intern("south"), Ok(TagId(1)));
        assert_eq!(interner.intern("north"), Ok(TagId(0)));
        assert_eq!(interner.get("south"), Some(TagId(1)));
        assert_eq!(interner.name(TagId(1)).as_deref(), Some("south"));
        assert_eq!(interner.get("west"), None);
        assert!(interner.same_as(&clone) && !interner.same_as(&TagInterner::new()));
    }

    #[test]
    fn a_stage_reaches_the_interner_only_when_committed() {
        let interner = TagInterner::new();
        interner.intern("north").expect("room");
        let mut stage = interner.stage();
        assert_eq!(stage.intern("north"), Ok(TagId(0)));
        assert_eq!(stage.intern("south"), Ok(TagId(1)));
        assert_eq!(stage.intern("south"), Ok(TagId(1)));
        assert_eq!((stage.len(), interner.len()), (2, 1));
        drop(stage);
        assert_eq!((interner.len(), interner.get("south")), (1, None));
        let mut stage = interner.stage();
        assert_eq!(stage.intern("east"), Ok(TagId(1)));
        stage.commit();
        assert_eq!(interner.get("east"), Some(TagId(1)));
        assert_eq!(interner.name(TagId(1)).as_deref(), Some("east"));
    }

    #[test]
    fn one_change_adds_a_bounded_number_of_tags() {
        let interner = TagInterner::new();
        let mut stage = interner.stage();
        for i in 0..TagInterner::NEW_TAGS_LIMIT {
            stage.intern(&format!("t{i}")).expect("within the limit");
        }
        let err = stage.intern("one-more").expect_err("over the limit");
        assert_eq!(err.to_string(), "more than 4096 new tags in one change");
        assert_eq!(
            stage.intern("t7"),
            Ok(TagId(7)),
            "known names are still found"
        );
        drop(stage);
        assert!(interner.is_empty());
    }

    #[test]
    fn stages_take_turns_across_threads() {
        let interner = TagInterner::new();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let interner = &interner;
                scope.spawn(move || {
                    for i in 0..50 {
                        let mut stage = interner.stage();
                        let id = stage.intern(&format!("t{t}-{i}")).expect("room");
                        stage.commit();
                        assert_eq!(interner.name(id).as_deref(), Some(&*format!("t{t}-{i}")));
                    }
                });
            }
        });
        assert_eq!(interner.len(), 200);
    }
}
