//! Tag ids and the append-only interner that hands them out.
//!
//! A compiled policy names tags by [`TagId`]. The interner is shared by a topology and every
//! policy compiled against it and only ever grows, so an id stays valid across snapshots; a
//! snapshot built before a tag was interned simply has no row for it (the empty set).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

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

/// The interner is full: [`TagId::LIMIT`] tags exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyTags;

impl fmt::Display for TooManyTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "more than {} distinct tags", TagId::LIMIT)
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
            }),
        }
    }

    /// The id of `name`, interning it if it is new.
    pub fn intern(&self, name: &str) -> Result<TagId, TooManyTags> {
        if let Some(id) = self.get(name) {
            return Ok(id);
        }
        let mut state = self
            .shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(&id) = state.ids.get(name) {
            return Ok(id);
        }
        let id = TagId::new(state.names.len()).ok_or(TooManyTags)?;
        let name: Arc<str> = Arc::from(name);
        state.names.push(Arc::clone(&name));
        state.ids.insert(name, id);
        Ok(id)
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
}
