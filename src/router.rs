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
//! use tagroute::policies::{PolicyRegistry, PolicySource};
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
use crate::policies::{Policies, PolicyId, PolicyRegistry, UnknownPolicy};
use crate::rng::Rng;
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoDecision {
    /// The policy no longer exists (a reload removed it).
    UnknownPolicy,
    /// The current snapshot has no such database.
    UnknownDatabase(String),
    /// The policy selected no server.
    NoServer,
}

impl fmt::Display for NoDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoDecision::UnknownPolicy => write!(f, "the policy no longer exists"),
            NoDecision::UnknownDatabase(db) => write!(f, "unknown database `{db}`"),
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
    scratch: Scratch,
}

/// A policy's readers of a database, valid for one snapshot epoch and policy generation.
struct Entry {
    policy: PolicyId,
    database: DatabaseKey,
    epoch: u64,
    generation: u64,
    servers: Vec<ServerIdx>,
    turn: usize,
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
    /// for a snapshot epoch and policy generation, this evaluates nothing and allocates nothing.
    pub fn decide(
        &mut self,
        policy: PolicyId,
        database: &DatabaseKey,
        pick: Pick,
    ) -> Result<Decision<'_>, NoDecision> {
        let snapshot = self.snapshot.load();
        let policies = self.policies.load();
        let (epoch, generation) = (snapshot.epoch(), policies.generation());
        let position = match self
            .entries
            .iter()
            .position(|e| e.policy == policy && e.database.is(database))
        {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    policy,
                    database: database.clone(),
                    epoch,
                    generation,
                    servers: Vec::new(),
                    turn: 0,
                });
                let last = self.entries.len() - 1;
                refresh(
                    &mut self.entries[last],
                    snapshot,
                    policies,
                    self.settings,
                    &mut self.scratch,
                )?;
                last
            }
        };
        let entry = &mut self.entries[position];
        if entry.epoch != epoch || entry.generation != generation {
            refresh(entry, snapshot, policies, self.settings, &mut self.scratch)?;
        }
        let chosen = match pick {
            Pick::Random => entry.servers.get(self.rng.index(entry.servers.len())),
            Pick::RoundRobin => {
                let turn = entry.turn;
                entry.turn = if turn + 1 >= entry.servers.len() {
                    0
                } else {
                    turn + 1
                };
                entry.servers.get(turn)
            }
        };
        let server = *chosen.ok_or(NoDecision::NoServer)?;
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
                self.entries
                    .iter()
                    .find(|e| e.policy == policy && e.database.is(database))
                    .map_or(0, |e| e.turn)
                    % count.max(1)
            }
        };
        let server = scratch.selected.nth(k).ok_or(NoDecision::NoServer)?;
        Ok(Decision { snapshot, server })
    }
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
    entry.epoch = snapshot.epoch();
    entry.generation = policies.generation();
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
        .ok_or_else(|| NoDecision::UnknownDatabase(database.name().into()))?;
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
    use crate::policies::PolicySource;
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
            Err(NoDecision::UnknownDatabase("graph".into()))
        );
    }

    #[test]
    fn the_router_is_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Router>();
    }
}
