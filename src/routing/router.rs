//! The embeddable hot-path API: pick a reader for (policy, database) millions of times a
//! second.
//!
//! A [`Router`] (cheap to clone, `Send + Sync`) is made by a
//! [`RoutingService`](crate::routing::RoutingService) and hands each thread a [`Decider`]. A
//! decider owns everything a decision touches: the current topology snapshot and the service's
//! current [`Generation`] (policies and routing settings, published together), the count of
//! changes published when it took them (one word, which every topology update and every reload
//! bumps), its random generator, and per (policy, database) the policy's readers as a flat array
//! of server indices, valid for that count. A decision is therefore one load and compare plus a
//! pick (uniform random or round-robin) and writes no shared memory; after a reload, the next
//! decision uses the new policies and settings together. A decision that excludes servers the
//! client found broken, or that decides among a candidate set of the embedder's own, evaluates
//! afresh into the decider's own buffers.
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use tagroute::config::Config;
//! use tagroute::router::Pick;
//! use tagroute::routing::RoutingService;
//! use tagroute::topology::{DatabaseSpec, ServerSpec, Topology, TopologySpec};
//! use tagroute::Strictness;
//!
//! let spec = TopologySpec {
//!     servers: vec![
//!         ServerSpec::new("a", "a.example.com:7687").with_tags(["north"]),
//!         ServerSpec::new("b", "b.example.com:7687").with_tags(["south"]),
//!     ],
//!     databases: vec![DatabaseSpec {
//!         name: "neo4j".into(),
//!         primaries: vec!["a".into(), "b".into()],
//!         ..DatabaseSpec::default()
//!     }],
//! };
//! let conf = "dbms.routing.load_balancing.config.server_policies.north=tags(north); halt()";
//! let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default)?;
//! let service = RoutingService::new(Arc::new(Topology::new(&spec)?), &config)?;
//! let router = service.router();
//!
//! let policy = router.policy("north")?;
//! let db = router.database("neo4j")?;
//! let mut decider = router.decider();
//! let decision = decider.decide(policy, &db, Pick::Random)?;
//! assert_eq!(decision.server().address(), "a.example.com:7687");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::service::{Generation, Published};
use crate::config::readers_into;
use crate::rng::Rng;
use crate::routing::policies::PolicyId;
use crate::suggest::{NameKind, UnknownName};
use crate::topology::{Server, ServerIdx, ServerSet, Snapshot, Topology};
use crate::vm::{self, EvalError};

/// How a decision picks among the servers a policy selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Uniformly at random.
    Random,
    /// In turn, in the order of the topology: per (policy, database) for
    /// [`Decider::decide`], separately for [`Decider::decide_excluding`], and per policy for
    /// [`Decider::decide_among`]. A turn continues across topology updates and reloads: for
    /// [`Decider::decide`] the next server in turn is the same server after a publication
    /// (or, if the policy no longer selects it, the one after it in the topology's order).
    RoundRobin,
}

/// A database named once, so that decisions do not hash its name.
#[derive(Clone, Debug)]
pub struct DatabaseKey(Arc<str>);

impl DatabaseKey {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.0
    }

    fn is(&self, other: &DatabaseKey) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

/// Why no server was picked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoDecision {
    /// The current generation has no policy of this id: a reload removed it.
    UnknownPolicy,
    /// The current snapshot has no database of the key's name: an update removed it.
    UnknownDatabase,
    /// The policy selected no server.
    NoServer,
    /// The policy could not be evaluated on the snapshot: a snapshot of another topology, or
    /// candidates that range over another number of servers than the snapshot has.
    Evaluation(EvalError),
}

impl fmt::Display for NoDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoDecision::UnknownPolicy => write!(f, "the policy no longer exists"),
            NoDecision::UnknownDatabase => write!(f, "the topology no longer has the database"),
            NoDecision::NoServer => write!(f, "the policy selected no server"),
            NoDecision::Evaluation(e) => write!(f, "the policy could not be evaluated: {e}"),
        }
    }
}

impl std::error::Error for NoDecision {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NoDecision::Evaluation(e) => Some(e),
            _ => None,
        }
    }
}

/// The hot-path router of a [`RoutingService`](crate::routing::RoutingService): its topology and
/// its current generation of policies and settings. Made by
/// [`RoutingService::router`](crate::routing::RoutingService::router); clone it freely.
#[derive(Clone, Debug)]
pub struct Router {
    published: Arc<Published>,
}

impl Router {
    pub(super) fn new(published: Arc<Published>) -> Router {
        Router { published }
    }

    /// The id of the policy called `name` in the current generation, for [`Decider::decide`].
    /// Ids are stable across reloads; a reload that removes the policy makes decisions with it
    /// fail with [`NoDecision::UnknownPolicy`].
    pub fn policy(&self, name: &str) -> Result<PolicyId, UnknownName> {
        self.published.generation.load().policies().id(name)
    }

    /// A key for the database called `name`, checked against the current snapshot. An update
    /// that removes the database later makes decisions with the key fail with
    /// [`NoDecision::UnknownDatabase`]; one that adds it back makes them succeed again.
    pub fn database(&self, name: &str) -> Result<DatabaseKey, UnknownName> {
        let snapshot = self.published.topology.snapshot();
        match snapshot.database(name) {
            Some(_) => Ok(DatabaseKey(Arc::from(name))),
            None => {
                let known = snapshot.databases().iter().map(|d| d.name());
                Err(UnknownName::new(NameKind::Database, name, known))
            }
        }
    }

    /// The live topology.
    pub fn topology(&self) -> &Arc<Topology> {
        &self.published.topology
    }

    /// The current generation of policies and settings.
    pub fn generation(&self) -> Arc<Generation> {
        self.published.generation.load_full()
    }

    /// A decider for one thread, seeded from the operating system.
    pub fn decider(&self) -> Decider<'_> {
        self.decider_seeded(Rng::from_os().next_u64())
    }

    /// A decider whose random picks are fixed by `seed`.
    pub fn decider_seeded(&self, seed: u64) -> Decider<'_> {
        let published = &*self.published;
        // The first call takes the current state again (`seen` is `IN_PROGRESS`).
        Decider {
            topology: &published.topology,
            generations: &published.generation,
            seen: IN_PROGRESS,
            taken: 0,
            snapshot: published.topology.snapshot(),
            generation: published.generation.load_full(),
            rng: Rng::seeded(seed),
            entries: Vec::new(),
            last: NONE,
            among_turns: Vec::new(),
            scratch: Scratch::default(),
        }
    }
}

/// A count of changes never read: a decider that holds it takes the current state on its next
/// call (counts are even when quiescent, and never reach it).
const IN_PROGRESS: u64 = u64::MAX;

/// No entry: the value of `Decider::last` until a decision since the last take.
const NONE: usize = usize::MAX;

/// One thread's handle: cached snapshot and generation, its generator, its cached selections.
pub struct Decider<'r> {
    topology: &'r Topology,
    generations: &'r ArcSwap<Generation>,
    /// The topology's count of changes when `snapshot` and `generation` were taken, or
    /// [`IN_PROGRESS`] when a publication was under way then.
    seen: u64,
    /// How many times `snapshot` and `generation` were taken: what entries are stamped with.
    taken: u64,
    snapshot: Arc<Snapshot>,
    generation: Arc<Generation>,
    rng: Rng,
    entries: Vec<Entry>,
    /// The entry of the last decision since the current state was taken: the one the next is
    /// most likely to use, current by construction ([`NONE`] after a take, until a decision).
    last: usize,
    /// The round-robin turn of [`Decider::decide_among`], per policy id.
    among_turns: Vec<usize>,
    scratch: Scratch,
}

impl fmt::Debug for Decider<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decider")
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// A policy's readers of a database, valid for the snapshot and generation the decider took
/// when it computed them.
struct Entry {
    policy: PolicyId,
    database: DatabaseKey,
    /// The decider's `taken` when `servers` was computed; `None` until it is computed.
    stamp: Option<u64>,
    servers: Vec<ServerIdx>,
    /// The next round-robin position in `servers`: always below its length, or 0.
    turn: usize,
    /// The server at `turn` when the state `servers` was computed from was replaced: where the
    /// turn goes on from once `servers` is computed again.
    next: Option<Server>,
    /// The round-robin turn of decisions that exclude servers.
    excluding_turn: usize,
}

/// Buffers for evaluating afresh, sized once.
#[derive(Default)]
struct Scratch {
    excluded: ServerSet,
    usable: ServerSet,
    readers: ServerSet,
    selected: ServerSet,
}

/// A picked server, with the snapshot and the generation it was picked from; valid while the
/// decider is not used again.
#[derive(Clone, Copy, Debug)]
pub struct Decision<'d> {
    snapshot: &'d Snapshot,
    generation: &'d Generation,
    server: ServerIdx,
}

impl<'d> Decision<'d> {
    /// The server's index in the snapshot it was picked from.
    pub fn index(&self) -> ServerIdx {
        self.server
    }

    /// The server.
    pub fn server(&self) -> &'d Server {
        // INVARIANT: decisions only hold indices of their own snapshot's servers: every
        // selection is evaluated over candidates of the snapshot's universe, and a cached one
        // is used only with the snapshot it was computed on (entries are stamped with the
        // decider's count of takes).
        &self.snapshot.servers()[self.server.index()]
    }

    /// The snapshot it was picked from.
    pub fn snapshot(&self) -> &'d Snapshot {
        self.snapshot
    }

    /// The generation (policies and settings) it was picked with.
    pub fn generation(&self) -> &'d Generation {
        self.generation
    }
}

impl Decider<'_> {
    /// Takes the current snapshot and generation unless nothing was published since it last
    /// took them: one load and compare when nothing was.
    #[inline(always)]
    fn catch_up(&mut self) {
        let changes = self.topology.changes();
        if changes != self.seen {
            self.take_current(changes);
        }
    }

    /// The count is read before what it covers, so what is taken is at least as new as the
    /// count; a count taken during a publication is not kept, and the next call takes again.
    /// Each current entry first notes the server whose turn is next, by identity, so the turn
    /// continues on the new snapshot.
    #[cold]
    #[inline(never)]
    fn take_current(&mut self, changes: u64) {
        self.seen = if changes.is_multiple_of(2) {
            changes
        } else {
            IN_PROGRESS
        };
        for entry in &mut self.entries {
            if entry.stamp == Some(self.taken) {
                let next = entry.servers.get(entry.turn);
                entry.next = next.and_then(|&i| self.snapshot.server(i)).cloned();
            }
        }
        self.snapshot = self.topology.snapshot();
        self.generation = self.generations.load_full();
        self.taken += 1;
        self.last = NONE;
    }

    /// Picks a reader of `database` among those `policy` selects. After the first decision
    /// since a change was published, this evaluates nothing and allocates nothing: it checks
    /// that nothing was published since and that the (policy, database) selection it used last
    /// is the one asked for, and picks.
    ///
    /// ```
    /// use std::path::Path;
    /// use std::sync::Arc;
    /// use tagroute::config::Config;
    /// use tagroute::router::{NoDecision, Pick};
    /// use tagroute::{RoutingService, Strictness, Topology, Update};
    ///
    /// let topology = Arc::new(Topology::from_json(r#"{
    ///     "servers": [
    ///         {"name": "n1a", "address": "n1a.example.com:7687", "tags": ["north"]},
    ///         {"name": "n1b", "address": "n1b.example.com:7687", "tags": ["north"]},
    ///         {"name": "s1a", "address": "s1a.example.com:7687", "tags": ["south"]}
    ///     ],
    ///     "databases": [{"name": "neo4j", "primaries": ["s1a"], "secondaries": ["n1a", "n1b"]}]
    /// }"#)?);
    /// let conf = "dbms.routing.load_balancing.config.server_policies.north=tags(north); halt()";
    /// let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default)?;
    /// let service = RoutingService::new(Arc::clone(&topology), &config)?;
    /// let router = service.router();
    /// let (north, neo4j) = (router.policy("north")?, router.database("neo4j")?);
    ///
    /// let mut decider = router.decider(); // one per thread
    /// let first = decider.decide(north, &neo4j, Pick::RoundRobin)?.server().name().to_owned();
    /// let second = decider.decide(north, &neo4j, Pick::RoundRobin)?.server().name().to_owned();
    /// assert_eq!([first.as_str(), second.as_str()], ["n1a", "n1b"]);
    ///
    /// // The next decision after an update follows it.
    /// topology.apply(&[Update::SetAvailable { server: "n1a".into(), available: false }])?;
    /// for _ in 0..4 {
    ///     assert_eq!(decider.decide(north, &neo4j, Pick::Random)?.server().name(), "n1b");
    /// }
    /// topology.apply(&[Update::SetAvailable { server: "n1b".into(), available: false }])?;
    /// assert!(matches!(decider.decide(north, &neo4j, Pick::Random), Err(NoDecision::NoServer)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    // PERF: always inlined (the slow path is out of line): as a call, the register saves and
    // the `Result` returned through memory made a cached decision 7.4 ns instead of 4.3 ns at
    // 64 servers (benches/router.rs, memo floor 1.35 ns). The entry used last needs no stamp
    // check (a take forgets it): 2.80 -> 2.50 ns in `tagroute bench` (floor 1.12 ns).
    #[inline(always)]
    pub fn decide(
        &mut self,
        policy: PolicyId,
        database: &DatabaseKey,
        pick: Pick,
    ) -> Result<Decision<'_>, NoDecision> {
        self.catch_up();
        let (taken, snapshot, generation) = (self.taken, &*self.snapshot, &*self.generation);
        let server = match self.entries.get_mut(self.last) {
            Some(entry) if entry.is_for(policy, database) => entry.pick(&mut self.rng, pick),
            _ => {
                let (index, entry) = find_or_refresh(
                    &mut self.entries,
                    policy,
                    database,
                    Current {
                        taken,
                        snapshot,
                        generation,
                    },
                    &mut self.scratch,
                )?;
                self.last = index;
                entry.pick(&mut self.rng, pick)
            }
        };
        Ok(Decision {
            snapshot,
            generation,
            server: server.ok_or(NoDecision::NoServer)?,
        })
    }

    /// Picks a reader of `database` among those `policy` selects once the servers named in
    /// `excluded` are left out (before the policy, so `min` counts only usable servers); names
    /// the topology does not know are ignored. Evaluates afresh; allocates nothing once its
    /// buffers have grown to the cluster's size.
    pub fn decide_excluding(
        &mut self,
        policy: PolicyId,
        database: &DatabaseKey,
        excluded: &[&str],
        pick: Pick,
    ) -> Result<Decision<'_>, NoDecision> {
        self.catch_up();
        let (snapshot, generation) = (&*self.snapshot, &*self.generation);
        let scratch = &mut self.scratch;
        scratch.excluded.reset(snapshot.len());
        for idx in excluded.iter().filter_map(|name| snapshot.index_of(name)) {
            scratch.excluded.insert(idx);
        }
        select(snapshot, generation, policy, database, scratch)?;
        let turn = match pick {
            Pick::Random => None,
            Pick::RoundRobin => {
                Some(&mut entry(&mut self.entries, policy, database).1.excluding_turn)
            }
        };
        let server = pick_in(&scratch.selected, &mut self.rng, turn)?;
        Ok(Decision {
            snapshot,
            generation,
            server,
        })
    }

    /// Picks one of `candidates` (servers of `snapshot`, which must be a snapshot of the
    /// router's topology) among those `policy` selects: the form for embedders whose servers are
    /// not a database's. The candidates are taken as given: intersect them with
    /// [`Snapshot::available`] to leave out unavailable servers. Evaluates afresh; allocates
    /// nothing once its buffers have grown to the cluster's size.
    ///
    /// ```
    /// use std::path::Path;
    /// use std::sync::Arc;
    /// use tagroute::config::Config;
    /// use tagroute::router::Pick;
    /// use tagroute::routing::RoutingService;
    /// use tagroute::topology::{ServerSpec, Topology, TopologySpec};
    /// use tagroute::Strictness;
    ///
    /// let spec = TopologySpec {
    ///     servers: vec![
    ///         ServerSpec::new("cache-1", "10.0.0.1:6379").with_tags(["eu"]),
    ///         ServerSpec::new("cache-2", "10.0.0.2:6379").with_tags(["us"]),
    ///         ServerSpec::new("cache-3", "10.0.0.3:6379").with_tags(["eu"]),
    ///     ],
    ///     databases: vec![],
    /// };
    /// let conf = "dbms.routing.load_balancing.config.server_policies.eu=tags(eu); halt()";
    /// let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default)?;
    /// let service = RoutingService::new(Arc::new(Topology::new(&spec)?), &config)?;
    /// let router = service.router();
    /// let eu = router.policy("eu")?;
    ///
    /// let snapshot = router.topology().snapshot();
    /// let candidates = snapshot.set_of(["cache-2", "cache-3"])?;
    /// let mut decider = router.decider();
    /// let decision = decider.decide_among(eu, &snapshot, &candidates, Pick::RoundRobin)?;
    /// assert_eq!(decision.server().name(), "cache-3");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide_among<'d>(
        &'d mut self,
        policy: PolicyId,
        snapshot: &'d Snapshot,
        candidates: &ServerSet,
        pick: Pick,
    ) -> Result<Decision<'d>, NoDecision> {
        self.catch_up();
        let generation = &*self.generation;
        let program = generation
            .policies()
            .by_id(policy)
            .ok_or(NoDecision::UnknownPolicy)?
            .program();
        let selected = &mut self.scratch.selected;
        vm::eval(program, snapshot, candidates, selected).map_err(NoDecision::Evaluation)?;
        let turn = match pick {
            Pick::Random => None,
            Pick::RoundRobin => {
                if self.among_turns.len() <= policy.index() {
                    self.among_turns.resize(policy.index() + 1, 0);
                }
                self.among_turns.get_mut(policy.index())
            }
        };
        let server = pick_in(selected, &mut self.rng, turn)?;
        Ok(Decision {
            snapshot,
            generation,
            server,
        })
    }
}

impl Entry {
    /// The turn on freshly computed `servers` of `snapshot`: the server noted as next, where it
    /// is now; if the selection lost it, the first selected after it in the topology's order; if
    /// the topology lost it, or none was noted, the old position (wrapped).
    fn turn_after(&mut self, snapshot: &Snapshot) -> usize {
        let len = self.servers.len().max(1);
        let next = self.next.take();
        let found = next.and_then(|server| snapshot.index_of(server.name()));
        match found.map(|idx| self.servers.binary_search(&idx)) {
            Some(Ok(at) | Err(at)) => at % len,
            None => self.turn % len,
        }
    }

    /// Whether it holds the selection of `policy` over `database` (of whichever state).
    fn is_for(&self, policy: PolicyId, database: &DatabaseKey) -> bool {
        self.policy == policy && self.database.is(database)
    }

    /// The next server of the selection: at random, or the next in turn.
    #[inline]
    fn pick(&mut self, rng: &mut Rng, pick: Pick) -> Option<ServerIdx> {
        let k = match pick {
            // One draw and a multiply-shift, no rejection loop (its bias is below 2^-32).
            Pick::Random => rng.scaled(self.servers.len()),
            Pick::RoundRobin => {
                let turn = self.turn;
                self.turn = if turn + 1 >= self.servers.len() {
                    0
                } else {
                    turn + 1
                };
                turn
            }
        };
        self.servers.get(k).copied()
    }
}

/// A server of `selected`: at random, or the next in `turn` (which wraps at the selection's
/// size, so it never points past it).
fn pick_in(
    selected: &ServerSet,
    rng: &mut Rng,
    turn: Option<&mut usize>,
) -> Result<ServerIdx, NoDecision> {
    let count = selected.len();
    let k = match turn {
        None => rng.index(count),
        Some(turn) => {
            let k = *turn % count.max(1);
            *turn = k + 1;
            k
        }
    };
    selected.nth(k).ok_or(NoDecision::NoServer)
}

/// The (policy, database) entry and its position, added (not yet computed) if it is new.
#[expect(
    clippy::expect_used,
    reason = "the position was just found or pushed; without Polonius a find-or-push cannot return the borrow it found"
)]
fn entry<'e>(
    entries: &'e mut Vec<Entry>,
    policy: PolicyId,
    database: &DatabaseKey,
) -> (usize, &'e mut Entry) {
    let found = entries
        .iter()
        .position(|e| e.policy == policy && e.database.is(database));
    let position = found.unwrap_or_else(|| {
        entries.push(Entry {
            policy,
            database: database.clone(),
            stamp: None,
            servers: Vec::new(),
            turn: 0,
            next: None,
            excluding_turn: 0,
        });
        entries.len() - 1
    });
    // INVARIANT: `position` indexes `entries`: it was found in it, or is its last element.
    let entry = entries.get_mut(position).expect("a position of `entries`");
    (position, entry)
}

/// The (policy, database) entry and its position, made current: the slow path of a decision,
/// taken once after each published change. Out of line so `decide` stays small.
#[cold]
#[inline(never)]
fn find_or_refresh<'e>(
    entries: &'e mut Vec<Entry>,
    policy: PolicyId,
    database: &DatabaseKey,
    current: Current<'_>,
    scratch: &mut Scratch,
) -> Result<(usize, &'e mut Entry), NoDecision> {
    let (position, entry) = entry(entries, policy, database);
    if entry.stamp != Some(current.taken) {
        let Current {
            snapshot,
            generation,
            ..
        } = current;
        scratch.excluded.reset(snapshot.len());
        select(snapshot, generation, policy, database, scratch)?;
        entry.servers.clear();
        entry.servers.extend(scratch.selected.iter());
        entry.stamp = Some(current.taken);
        entry.turn = entry.turn_after(snapshot);
    }
    Ok((position, entry))
}

/// What a decider took, and its `taken` then.
#[derive(Clone, Copy)]
struct Current<'a> {
    taken: u64,
    snapshot: &'a Snapshot,
    generation: &'a Generation,
}

/// The policy's readers of the database, without `scratch.excluded`, into `scratch.selected`.
fn select(
    snapshot: &Snapshot,
    generation: &Generation,
    policy: PolicyId,
    database: &DatabaseKey,
    scratch: &mut Scratch,
) -> Result<(), NoDecision> {
    let program = generation
        .policies()
        .by_id(policy)
        .ok_or(NoDecision::UnknownPolicy)?
        .program();
    let db = snapshot
        .database(database.name())
        .ok_or(NoDecision::UnknownDatabase)?;
    scratch.usable.reset(snapshot.len());
    scratch.usable.union_same(snapshot.available());
    scratch.usable.subtract_same(&scratch.excluded);
    readers_into(
        db,
        &scratch.usable,
        generation.settings(),
        &mut scratch.readers,
    );
    vm::eval(program, snapshot, &scratch.readers, &mut scratch.selected)
        .map_err(NoDecision::Evaluation)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::config::Config;
    use crate::routing::RoutingService;
    use crate::syntax::Strictness;
    use crate::topology::{DatabaseSpec, ServerSpec, TopologySpec, Update};

    const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.";

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("neo4j.conf"), Strictness::Default).expect("loads")
    }

    /// Servers n1, n2 (north), s1 (south), all secondaries of `neo4j`; the policy `north`.
    fn service() -> RoutingService {
        north_service(&[("n1", "north"), ("n2", "north"), ("s1", "south")])
    }

    /// `servers` (name, tag), all secondaries of `neo4j`; the policy `north`.
    fn north_service(servers: &[(&str, &str)]) -> RoutingService {
        let db = DatabaseSpec {
            name: "neo4j".into(),
            secondaries: servers.iter().map(|(n, _)| n.to_string()).collect(),
            ..DatabaseSpec::default()
        };
        let spec = TopologySpec {
            servers: servers
                .iter()
                .map(|(n, tag)| ServerSpec::new(*n, format!("{n}:7687")).with_tags([*tag]))
                .collect(),
            databases: vec![db],
        };
        let topology = Arc::new(Topology::new(&spec).expect("valid"));
        let conf = format!("{POLICY}north=tags(north); halt()\n");
        RoutingService::new(topology, &config(&conf)).expect("compiles")
    }

    fn names(
        decider: &mut Decider<'_>,
        policy: PolicyId,
        db: &DatabaseKey,
        pick: Pick,
        n: usize,
    ) -> Vec<String> {
        (0..n)
            .map(|_| {
                decider
                    .decide(policy, db, pick)
                    .expect("a server")
                    .server()
                    .name()
                    .to_owned()
            })
            .collect()
    }

    fn error(result: Result<Decision<'_>, NoDecision>) -> Option<NoDecision> {
        result.err()
    }

    #[test]
    fn round_robin_takes_turns_and_random_stays_within_the_policy() {
        let router = service().router();
        let policy = router.policy("north").expect("exists");
        let db = router.database("neo4j").expect("exists");
        let mut decider = router.decider_seeded(1);
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 4),
            ["n1", "n2", "n1", "n2"]
        );
        let picked = names(&mut decider, policy, &db, Pick::Random, 200);
        assert!(picked.iter().all(|n| n == "n1" || n == "n2") && picked.iter().any(|n| n == "n2"));
    }

    /// Readers r0..r4 (north) and one server `other` (south), all secondaries of `neo4j`.
    fn five_readers() -> RoutingService {
        north_service(&[
            ("r0", "north"),
            ("r1", "north"),
            ("r2", "north"),
            ("r3", "north"),
            ("r4", "north"),
            ("other", "south"),
        ])
    }

    // See: issue 22, item 4 (every pick went to the first reader when a publication came
    // between decisions).
    #[test]
    fn round_robin_turns_continue_across_publications() {
        let service = five_readers();
        let router = service.router();
        let policy = router.policy("north").expect("exists");
        let db = router.database("neo4j").expect("exists");
        let mut decider = router.decider_seeded(1);
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for i in 0..1_000 {
            let name = names(&mut decider, policy, &db, Pick::RoundRobin, 1).remove(0);
            *counts.entry(name).or_default() += 1;
            let flip = Update::SetAvailable {
                server: "other".into(),
                available: i % 2 == 1,
            };
            router.topology().apply(&[flip]).expect("valid");
            if i % 7 == 0 {
                service
                    .reload(&config(&format!("{POLICY}north=tags(north); halt()\n")))
                    .expect("compiles");
            }
        }
        assert_eq!(counts.len(), 5, "{counts:?}");
        let (least, most) = (counts.values().min(), counts.values().max());
        assert!(
            most.zip(least).is_some_and(|(m, l)| m - l <= 1),
            "{counts:?}"
        );
    }

    #[test]
    fn a_turn_follows_its_server_when_the_selection_changes() {
        let service = five_readers();
        let router = service.router();
        let policy = router.policy("north").expect("exists");
        let db = router.database("neo4j").expect("exists");
        let mut decider = router.decider_seeded(1);
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 2),
            ["r0", "r1"]
        );
        // r2 is next; r0 and r1 leave the selection (indices shift): r2 is still next.
        let down = |server: &str| Update::SetAvailable {
            server: server.into(),
            available: false,
        };
        router.topology().apply(&[down("r0")]).expect("valid");
        let remove = Update::RemoveServer {
            server: "r1".into(),
        };
        router.topology().apply(&[remove]).expect("valid");
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 3),
            ["r2", "r3", "r4"]
        );
        // r2 is next and goes down: the turn goes on with the server after it.
        router.topology().apply(&[down("r2")]).expect("valid");
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 2),
            ["r3", "r4"]
        );
    }

    #[test]
    fn round_robin_after_exclusions_still_answers() {
        let router = service().router();
        let policy = router.policy("north").expect("exists");
        let db = router.database("neo4j").expect("exists");
        let mut decider = router.decider_seeded(1);
        let mut cached = Vec::new();
        for _ in 0..4 {
            cached.extend(names(&mut decider, policy, &db, Pick::RoundRobin, 1));
            for _ in 0..3 {
                let excluding = decider
                    .decide_excluding(policy, &db, &["s1"], Pick::RoundRobin)
                    .expect("a server after exclusions");
                assert!(["n1", "n2"].contains(&excluding.server().name()));
            }
        }
        assert_eq!(
            cached,
            ["n1", "n2", "n1", "n2"],
            "the turns do not disturb each other"
        );
        let turns: Vec<_> = (0..4)
            .map(|_| {
                let d = decider.decide_excluding(policy, &db, &[], Pick::RoundRobin);
                d.expect("a server").server().name().to_owned()
            })
            .collect();
        assert!(turns.windows(2).all(|w| w[0] != w[1]), "{turns:?}");
    }

    #[test]
    fn decisions_follow_topology_updates_and_reloads() {
        let service = service();
        let router = service.router();
        let policy = router.policy("north").expect("exists");
        let db = router.database("neo4j").expect("exists");
        let mut decider = router.decider_seeded(2);
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 1),
            ["n1"]
        );
        let unavailable = Update::SetAvailable {
            server: "n1".into(),
            available: false,
        };
        router.topology().apply(&[unavailable]).expect("valid");
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 2),
            ["n2", "n2"]
        );
        service
            .reload(&config(&format!("{POLICY}north=tags(south)\n")))
            .expect("compiles");
        assert_eq!(names(&mut decider, policy, &db, Pick::Random, 1), ["s1"]);
        service.reload(&config("")).expect("compiles");
        assert_eq!(
            error(decider.decide(policy, &db, Pick::Random)),
            Some(NoDecision::UnknownPolicy)
        );
    }

    #[test]
    fn a_reload_of_each_routing_setting_reaches_the_next_decision() {
        // p1 leads and p2 follows; s1 is the only secondary; every server is tagged `x`.
        let servers = ["p1", "p2", "s1"]
            .iter()
            .map(|n| ServerSpec::new(*n, format!("{n}:7687")).with_tags(["x"]))
            .collect();
        let db = DatabaseSpec {
            name: "neo4j".into(),
            primaries: vec!["p1".into(), "p2".into()],
            secondaries: vec!["s1".into()],
            leader: Some("p1".into()),
            ..DatabaseSpec::default()
        };
        let spec = TopologySpec {
            servers,
            databases: vec![db],
        };
        let topology = Arc::new(Topology::new(&spec).expect("valid"));
        let setting = |key: &str, value: &str| {
            config(&format!(
                "{POLICY}any=tags(x)\ndbms.routing.{key}={value}\n"
            ))
        };
        let service =
            RoutingService::new(topology, &setting("reads_on_primaries_enabled", "false"))
                .expect("compiles");
        let router = service.router();
        let policy = router.policy("any").expect("exists");
        let db = router.database("neo4j").expect("exists");
        let mut decider = router.decider_seeded(3);
        let readers = |decider: &mut Decider<'_>| -> BTreeSet<String> {
            names(decider, policy, &db, Pick::RoundRobin, 6)
                .into_iter()
                .collect()
        };
        let expect = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(readers(&mut decider), expect(&["s1"]));
        service
            .reload(&setting("reads_on_primaries_enabled", "true"))
            .expect("compiles");
        assert_eq!(readers(&mut decider), expect(&["p2", "s1"]));
        service
            .reload(&setting("reads_on_writers_enabled", "true"))
            .expect("compiles");
        assert_eq!(readers(&mut decider), expect(&["p1", "p2", "s1"]));
        service
            .reload(&setting("reads_on_primaries_enabled", "false"))
            .expect("compiles");
        assert_eq!(readers(&mut decider), expect(&["s1"]));
        // The settings that do not change who reads still reach the decision's generation.
        service
            .reload(&config(&format!(
                "{POLICY}any=tags(x)\ndbms.routing_ttl=9s\ndbms.routing.load_balancing.shuffle_enabled=false\n"
            )))
            .expect("compiles");
        let decision = decider.decide(policy, &db, Pick::Random).expect("a server");
        let settings = decision.generation().settings();
        assert_eq!(
            (
                decision.generation().number(),
                settings.ttl,
                settings.shuffle
            ),
            (4, Duration::from_secs(9), false)
        );
    }

    #[test]
    fn exclusions_evaluate_afresh_before_the_policy() {
        let router = service().router();
        let policy = router.policy("north").expect("exists");
        let db = router.database("neo4j").expect("exists");
        let mut decider = router.decider_seeded(3);
        let picked = decider
            .decide_excluding(policy, &db, &["n1"], Pick::Random)
            .expect("a server");
        assert_eq!(picked.server().name(), "n2");
        assert_eq!(
            error(decider.decide_excluding(policy, &db, &["n1", "n2"], Pick::Random)),
            Some(NoDecision::NoServer)
        );
    }

    #[test]
    fn a_database_key_is_checked_when_made_and_again_when_used() {
        let router = service().router();
        let policy = router.policy("north").expect("exists");
        assert_eq!(
            router
                .database("neo4k")
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err("unknown database `neo4k`; the databases are neo4j (did you mean `neo4j`?)".into())
        );
        assert_eq!(
            router.policy("nort").map_err(|e| e.to_string()),
            Err(
                "unknown policy `nort`; the policies are default, north (did you mean `north`?)"
                    .into()
            )
        );
        let db = router.database("neo4j").expect("exists");
        let mut decider = router.decider_seeded(4);
        assert!(decider.decide(policy, &db, Pick::Random).is_ok());
        let remove = Update::RemoveDatabase {
            database: "neo4j".into(),
        };
        router.topology().apply(&[remove]).expect("valid");
        assert_eq!(
            error(decider.decide(policy, &db, Pick::Random)),
            Some(NoDecision::UnknownDatabase)
        );
        assert_eq!(
            error(decider.decide_excluding(policy, &db, &[], Pick::RoundRobin)),
            Some(NoDecision::UnknownDatabase)
        );
    }

    #[test]
    fn deciding_among_candidates_applies_only_the_policy() {
        let router = service().router();
        let north = router.policy("north").expect("exists");
        let snapshot = router.topology().snapshot();
        let candidates = snapshot.set_of(["n2", "s1"]).expect("known");
        let mut decider = router.decider_seeded(5);
        let mut among = |pick| {
            let decision = decider.decide_among(north, &snapshot, &candidates, pick);
            decision.map(|d| d.server().name().to_owned())
        };
        assert_eq!(among(Pick::RoundRobin), Ok("n2".to_owned()));
        assert_eq!(among(Pick::RoundRobin), Ok("n2".to_owned()));
        assert_eq!(among(Pick::Random), Ok("n2".to_owned()));
        let south_only = snapshot.set_of(["s1"]).expect("known");
        assert_eq!(
            decider
                .decide_among(north, &snapshot, &south_only, Pick::Random)
                .map(|d| d.index()),
            Err(NoDecision::NoServer)
        );
    }

    #[test]
    fn evaluation_failures_are_named_as_such() {
        let router = service().router();
        let north = router.policy("north").expect("exists");
        let mut decider = router.decider_seeded(6);
        let snapshot = router.topology().snapshot();
        let wrong_universe = ServerSet::full(snapshot.len() + 1);
        assert!(matches!(
            decider.decide_among(north, &snapshot, &wrong_universe, Pick::Random),
            Err(NoDecision::Evaluation(EvalError::UniverseMismatch { .. }))
        ));
        let other = service();
        let foreign = other.topology().snapshot();
        let result = decider.decide_among(north, &foreign, foreign.available(), Pick::Random);
        let error = result
            .map(|d| d.index())
            .expect_err("another topology's snapshot");
        assert_eq!(error, NoDecision::Evaluation(EvalError::ForeignProgram));
        assert_eq!(
            error.to_string(),
            "the policy could not be evaluated: the program was compiled against another topology's tags"
        );
    }

    #[test]
    fn the_router_is_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Router>();
    }
}
