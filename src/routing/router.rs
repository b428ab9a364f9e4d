//! The embeddable hot-path API: pick a reader for (policy, database) millions of times a
//! second.
//!
//! A shared [`Router`] (`Send + Sync`) hands each thread a [`Decider`]. A decider owns
//! everything a decision touches: cached handles on the current topology snapshot and policy
//! generation (`arc_swap::Cache`: one atomic load to see that nothing changed), its random
//! generator, and per (policy, database) the policy's readers as a flat array of server
//! indices, valid for one (snapshot epoch, policy generation). A decision is therefore an
//! epoch check plus a pick — uniform random or round-robin — and writes no shared memory.
//! A decision that excludes servers the client found broken evaluates afresh, without them,
//! into the decider's own buffers.
//!
//! ```
//! use std::sync::Arc;
//! use tagroute::config::RoutingSettings;
//! use tagroute::routing::policies::{PolicyRegistry, PolicySource};
//! use tagroute::router::{Pick, Router};
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
//! let topology = Arc::new(Topology::new(&spec)?);
//! let north = PolicySource::parse("north", "tags(north); halt()", Strictness::Default)?;
//! let policies = Arc::new(PolicyRegistry::new(&[north], topology.interner())?);
//! let router = Router::new(topology, policies, RoutingSettings::default());
//!
//! let policy = router.policy("north")?;
//! let db = router.database("neo4j");
//! let mut decider = router.decider();
//! let decision = decider.decide(policy, &db, Pick::Random)?;
//! assert_eq!(decision.server().address(), "a.example.com:7687");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, Cache};

use crate::config::RoutingSettings;
use crate::rng::Rng;
use crate::routing::policies::{Policies, PolicyId, PolicyRegistry, UnknownPolicy};
use crate::routing::readers_into;
use crate::topology::{Server, ServerIdx, ServerSet, Snapshot, Topology};
use crate::vm;

/// How a decision picks among the servers a policy selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Uniformly at random.
    Random,
    /// In turn, per (policy, database), in the order of the topology.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoDecision {
    /// The policy no longer exists (a reload removed it).
    UnknownPolicy,
    /// The current snapshot has no database of the key's name.
    UnknownDatabase,
    /// The policy selected no server.
    NoServer,
}

impl fmt::Display for NoDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoDecision::UnknownPolicy => write!(f, "the policy no longer exists"),
            NoDecision::UnknownDatabase => write!(f, "the topology has no such database"),
            NoDecision::NoServer => write!(f, "the policy selected no server"),
        }
    }
}

impl std::error::Error for NoDecision {}

/// The shared router: topology, policies and settings.
#[derive(Debug)]
pub struct Router {
    topology: Arc<Topology>,
    policies: Arc<PolicyRegistry>,
    settings: RoutingSettings,
}

impl Router {
    /// A router over a live topology and policy registry (compiled against the topology's
    /// interner).
    pub fn new(
        topology: Arc<Topology>,
        policies: Arc<PolicyRegistry>,
        settings: RoutingSettings,
    ) -> Router {
        Router {
            topology,
            policies,
            settings,
        }
    }

    /// The id of the policy called `name`, for [`Decider::decide`].
    pub fn policy(&self, name: &str) -> Result<PolicyId, UnknownPolicy> {
        let policies = self.policies.load();
        policies.get(name)?;
        policies.id(name).ok_or_else(|| UnknownPolicy {
            name: name.into(),
            known: Vec::new(),
        })
    }

    /// A key for the database called `name`.
    pub fn database(&self, name: &str) -> DatabaseKey {
        DatabaseKey(Arc::from(name))
    }

    /// The live topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The live policies.
    pub fn policies(&self) -> &PolicyRegistry {
        &self.policies
    }

    /// A decider for one thread, seeded from the operating system.
    pub fn decider(&self) -> Decider<'_> {
        self.decider_seeded(Rng::from_os().next_u64())
    }

    /// A decider whose random picks are fixed by `seed`.
    pub fn decider_seeded(&self, seed: u64) -> Decider<'_> {
        Decider {
            settings: &self.settings,
            snapshot: self.topology.cache(),
            policies: self.policies.cache(),
            rng: Rng::seeded(seed),
            entries: Vec::new(),
            last: 0,
            scratch: Scratch::default(),
        }
    }
}

/// One thread's handle: cached snapshot and policies, its generator, its cached selections.
pub struct Decider<'r> {
    settings: &'r RoutingSettings,
    snapshot: Cache<&'r ArcSwap<Snapshot>, Arc<Snapshot>>,
    policies: Cache<&'r ArcSwap<Policies>, Arc<Policies>>,
    rng: Rng,
    entries: Vec<Entry>,
    /// The entry of the last decision: the one the next is most likely to use.
    last: usize,
    scratch: Scratch,
}

/// A policy's readers of a database, valid for one snapshot epoch and policy generation.
struct Entry {
    policy: PolicyId,
    database: DatabaseKey,
    stamp: Stamp,
    servers: Vec<ServerIdx>,
    turn: usize,
}

/// What a selection was computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    epoch: u64,
    generation: u64,
}

/// Buffers for evaluating afresh, sized once.
#[derive(Default)]
struct Scratch {
    excluded: ServerSet,
    usable: ServerSet,
    readers: ServerSet,
    selected: ServerSet,
}

/// A picked server, valid while the decider is not used again.
#[derive(Clone, Copy, Debug)]
pub struct Decision<'d> {
    snapshot: &'d Snapshot,
    server: ServerIdx,
}

impl<'d> Decision<'d> {
    /// The server's index in the snapshot it was picked from.
    pub fn index(&self) -> ServerIdx {
        self.server
    }

    /// The server.
    pub fn server(&self) -> &'d Server {
        // INVARIANT: decisions only hold indices of their own snapshot's servers.
        &self.snapshot.servers()[self.server.index()]
    }

    /// The snapshot it was picked from.
    pub fn snapshot(&self) -> &'d Snapshot {
        self.snapshot
    }
}

impl Decider<'_> {
    /// Picks a reader of `database` among those `policy` selects. After the first decision
    /// for a snapshot epoch and policy generation, this evaluates nothing and allocates nothing:
    /// it checks that the (policy, database) selection it used last is current, and picks.
    #[inline]
    pub fn decide(
        &mut self,
        policy: PolicyId,
        database: &DatabaseKey,
        pick: Pick,
    ) -> Result<Decision<'_>, NoDecision> {
        let snapshot = self.snapshot.load();
        let policies = self.policies.load();
        let stamp = Stamp {
            epoch: snapshot.epoch(),
            generation: policies.generation(),
        };
        let current = self
            .entries
            .get(self.last)
            .is_some_and(|e| e.stamp == stamp && e.policy == policy && e.database.is(database));
        if !current {
            self.last = find_or_refresh(
                &mut self.entries,
                policy,
                database,
                snapshot,
                policies,
                self.settings,
                &mut self.scratch,
            )?;
        }
        let entry = self
            .entries
            .get_mut(self.last)
            .ok_or(NoDecision::NoServer)?;
        let server = entry
            .pick(&mut self.rng, pick)
            .ok_or(NoDecision::NoServer)?;
        Ok(Decision { snapshot, server })
    }

    /// Picks a reader of `database` among those `policy` selects once the servers named in
    /// `excluded` are left out (before the policy, so `min` counts only usable servers).
    /// Evaluates afresh; allocates nothing once its buffers have grown to the cluster's size.
    pub fn decide_excluding(
        &mut self,
        policy: PolicyId,
        database: &DatabaseKey,
        excluded: &[&str],
        pick: Pick,
    ) -> Result<Decision<'_>, NoDecision> {
        let snapshot = self.snapshot.load();
        let policies = self.policies.load();
        let scratch = &mut self.scratch;
        scratch.excluded.reset(snapshot.len());
        for idx in excluded.iter().filter_map(|name| snapshot.index_of(name)) {
            scratch.excluded.insert(idx);
        }
        select(snapshot, policies, policy, database, self.settings, scratch)?;
        let count = scratch.selected.len();
        let k = match pick {
            Pick::Random => self.rng.index(count),
            Pick::RoundRobin => {
                let turn = self
                    .entries
                    .iter_mut()
                    .find(|e| e.policy == policy && e.database.is(database))
                    .map(|e| {
                        e.turn += 1;
                        e.turn
                    });
                turn.unwrap_or(0) % count.max(1)
            }
        };
        let server = scratch.selected.nth(k).ok_or(NoDecision::NoServer)?;
        Ok(Decision { snapshot, server })
    }
}

impl Entry {
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

/// The position of the (policy, database) entry, made current: the slow path of a decision,
/// taken once per snapshot epoch or policy generation. Out of line so `decide` stays small.
#[cold]
#[inline(never)]
fn find_or_refresh(
    entries: &mut Vec<Entry>,
    policy: PolicyId,
    database: &DatabaseKey,
    snapshot: &Snapshot,
    policies: &Policies,
    settings: &RoutingSettings,
    scratch: &mut Scratch,
) -> Result<usize, NoDecision> {
    let position = match entries
        .iter()
        .position(|e| e.policy == policy && e.database.is(database))
    {
        Some(i) => i,
        None => {
            let stamp = Stamp {
                epoch: u64::MAX,
                generation: u64::MAX,
            };
            entries.push(Entry {
                policy,
                database: database.clone(),
                stamp,
                servers: Vec::new(),
                turn: 0,
            });
            entries.len() - 1
        }
    };
    let entry = entries.get_mut(position).ok_or(NoDecision::NoServer)?;
    if entry.stamp
        != (Stamp {
            epoch: snapshot.epoch(),
            generation: policies.generation(),
        })
    {
        refresh(entry, snapshot, policies, settings, scratch)?;
    }
    Ok(position)
}

/// Re-evaluates an entry for the current snapshot and policies.
fn refresh(
    entry: &mut Entry,
    snapshot: &Snapshot,
    policies: &Policies,
    settings: &RoutingSettings,
    scratch: &mut Scratch,
) -> Result<(), NoDecision> {
    scratch.excluded.reset(snapshot.len());
    select(
        snapshot,
        policies,
        entry.policy,
        &entry.database,
        settings,
        scratch,
    )?;
    entry.servers.clear();
    entry.servers.extend(scratch.selected.iter());
    entry.stamp = Stamp {
        epoch: snapshot.epoch(),
        generation: policies.generation(),
    };
    entry.turn = 0;
    Ok(())
}

/// The policy's readers of the database, without `scratch.excluded`, into `scratch.selected`.
fn select(
    snapshot: &Snapshot,
    policies: &Policies,
    policy: PolicyId,
    database: &DatabaseKey,
    settings: &RoutingSettings,
    scratch: &mut Scratch,
) -> Result<(), NoDecision> {
    let program = policies
        .by_id(policy)
        .ok_or(NoDecision::UnknownPolicy)?
        .program();
    let db = snapshot
        .database(database.name())
        .ok_or(NoDecision::UnknownDatabase)?;
    scratch.usable.reset(snapshot.len());
    scratch.usable.union_with(snapshot.available());
    scratch.usable.subtract(&scratch.excluded);
    readers_into(db, &scratch.usable, settings, &mut scratch.readers);
    // INVARIANT: the registry compiles against the topology's interner, and `readers` ranges
    // over this snapshot's servers, so evaluation cannot fail.
    vm::eval(program, snapshot, &scratch.readers, &mut scratch.selected)
        .map_err(|_| NoDecision::UnknownPolicy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Strictness;
    use crate::routing::policies::PolicySource;
    use crate::topology::{DatabaseSpec, ServerSpec, TopologySpec, Update};

    fn router() -> Router {
        let servers = ["n1", "n2", "s1"]
            .iter()
            .map(|n| {
                ServerSpec::new(*n, format!("{n}:7687")).with_tags([if n.starts_with('n') {
                    "north"
                } else {
                    "south"
                }])
            })
            .collect();
        let db = DatabaseSpec {
            name: "neo4j".into(),
            secondaries: vec!["n1".into(), "n2".into(), "s1".into()],
            ..DatabaseSpec::default()
        };
        let topology = Arc::new(
            Topology::new(&TopologySpec {
                servers,
                databases: vec![db],
            })
            .expect("valid"),
        );
        let north = PolicySource::parse("north", "tags(north); halt()", Strictness::Default)
            .expect("valid");
        let policies = Arc::new(PolicyRegistry::new(&[north], topology.interner()).expect("valid"));
        Router::new(topology, policies, RoutingSettings::default())
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

    #[test]
    fn round_robin_takes_turns_and_random_stays_within_the_policy() {
        let router = router();
        let (policy, db) = (
            router.policy("north").expect("exists"),
            router.database("neo4j"),
        );
        let mut decider = router.decider_seeded(1);
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 4),
            ["n1", "n2", "n1", "n2"]
        );
        let picked = names(&mut decider, policy, &db, Pick::Random, 200);
        assert!(picked.iter().all(|n| n == "n1" || n == "n2") && picked.iter().any(|n| n == "n2"));
    }

    #[test]
    fn decisions_follow_topology_updates_and_reloads() {
        let router = router();
        let (policy, db) = (
            router.policy("north").expect("exists"),
            router.database("neo4j"),
        );
        let mut decider = router.decider_seeded(2);
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 1),
            ["n1"]
        );
        router
            .topology()
            .apply(&[Update::SetAvailable {
                server: "n1".into(),
                available: false,
            }])
            .expect("valid");
        assert_eq!(
            names(&mut decider, policy, &db, Pick::RoundRobin, 2),
            ["n2", "n2"]
        );
        let south =
            PolicySource::parse("north", "tags(south)", Strictness::Default).expect("valid");
        router.policies().reload(&[south]).expect("valid");
        assert_eq!(names(&mut decider, policy, &db, Pick::Random, 1), ["s1"]);
        router.policies().reload(&[]).expect("valid");
        assert_eq!(
            decider.decide(policy, &db, Pick::Random).map(|d| d.index()),
            Err(NoDecision::UnknownPolicy)
        );
    }

    #[test]
    fn exclusions_evaluate_afresh_before_the_policy() {
        let router = router();
        let (policy, db) = (
            router.policy("north").expect("exists"),
            router.database("neo4j"),
        );
        let mut decider = router.decider_seeded(3);
        let picked = decider
            .decide_excluding(policy, &db, &["n1"], Pick::Random)
            .expect("a server");
        assert_eq!(picked.server().name(), "n2");
        let none = decider
            .decide_excluding(policy, &db, &["n1", "n2"], Pick::Random)
            .map(|d| d.index());
        assert_eq!(none, Err(NoDecision::NoServer));
        let unknown = router.database("graph");
        assert_eq!(
            decider
                .decide(policy, &unknown, Pick::Random)
                .map(|d| d.index()),
            Err(NoDecision::UnknownDatabase)
        );
    }

    #[test]
    fn the_router_is_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Router>();
    }
}
