//! Where the served topology comes from: a base (the topology file, or the followed cluster)
//! with two overlays on top, the operator's overrides and the health checks' verdicts.
//!
//! ```text
//! base (file or cluster) ─▶ overrides (availability, tags, leader, …) ─▶ health verdicts ─▶ served
//! ```
//!
//! Each layer decides what the one below says only where it has something to say: an
//! override changes the server or database it names, and a server the health checks find
//! failing is unavailable whatever the layers below say (a server that does not finish a Bolt
//! handshake cannot serve a driver). The served topology is composed from the three whenever
//! one of them changes, and only the difference from what is served is published
//! ([`topology::diff`](crate::topology::diff)): a new base that composes to what is served
//! publishes nothing, and a leader move is one update. No layer ever replaces another: a new
//! base keeps every override and verdict, clearing an override keeps the base.
//!
//! An override that does not apply to the base (its server left the cluster, its leader is no
//! longer a primary) is inactive, kept, and listed with why; it applies again when the base
//! allows it.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde_json::{Value, json};

use super::overrides::{Clear, Overrides};
use super::state::{StateError, StateFile};
use super::updates::update_json;
use crate::topology::{
    Snapshot, TagInterner, Topology, TopologyError, TopologySpec, Update, database_json, diff,
    server_json,
};

/// Where the base comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The topology file.
    File,
    /// The followed cluster.
    Cluster,
}

impl Origin {
    /// How `GET /topology` names it: `file` or `cluster`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::File => "file",
            Origin::Cluster => "cluster",
        }
    }
}

/// The three layers and what they compose to.
#[derive(Debug)]
pub struct Sources {
    origin: Origin,
    base: TopologySpec,
    overrides: Overrides,
    state: Option<StateFile>,
    /// The Bolt addresses the health checks find failing.
    failing: BTreeSet<String>,
    /// Whether health checks run (so `GET /topology` shows each server's verdict).
    checked: bool,
    /// What is served and how it was composed.
    composed: Composed,
}

/// The served topology, and what each overlay did to make it.
#[derive(Clone, Debug, Default)]
struct Composed {
    spec: TopologySpec,
    /// The overrides in the order they were applied, and why each that did not apply did not.
    overrides: Vec<(Update, Option<String>)>,
    /// The servers the health verdicts made unavailable.
    health: BTreeSet<String>,
}

/// A new snapshot published, and the updates that made it from the one before.
#[derive(Debug)]
pub struct Published {
    /// The snapshot now served.
    pub snapshot: Arc<Snapshot>,
    /// The difference published.
    pub updates: Vec<Update>,
}

/// Why posted updates were refused; nothing changed.
#[derive(Debug)]
pub enum PostError {
    /// An update does not apply to the served topology (the update and field named).
    Invalid(TopologyError),
    /// The state file cannot be written, so the overrides would not survive a restart.
    Persist(StateError),
}

impl fmt::Display for PostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostError::Invalid(e) => e.fmt(f),
            PostError::Persist(e) => write!(f, "the overrides cannot be kept: {e}"),
        }
    }
}

impl Sources {
    /// The sources of a server starting from `base`, with the overrides the state file holds
    /// (none without a state file); returns them and the first snapshot to serve.
    ///
    /// # Errors
    /// The base is not a valid topology.
    pub fn new(
        origin: Origin,
        base: TopologySpec,
        overrides: Overrides,
        state: Option<StateFile>,
        checked: bool,
        interner: &TagInterner,
    ) -> Result<(Sources, Snapshot), TopologyError> {
        let composed = compose(&base, &overrides, &BTreeSet::new(), interner)?;
        let snapshot = Snapshot::build(&composed.spec, interner)?;
        let sources = Sources {
            origin,
            base,
            overrides,
            state,
            failing: BTreeSet::new(),
            checked,
            composed,
        };
        Ok((sources, snapshot))
    }

    /// Where the base comes from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The base.
    pub fn base(&self) -> &TopologySpec {
        &self.base
    }

    /// The state file, if overrides are kept in one.
    pub fn state_file(&self) -> Option<&StateFile> {
        self.state.as_ref()
    }

    /// Takes `base` as the new base, keeping every overlay, and publishes the difference.
    /// A base equal to the current one publishes nothing and composes nothing.
    ///
    /// # Errors
    /// `base` is not a valid topology; the old base keeps serving.
    pub fn set_base(
        &mut self,
        base: TopologySpec,
        topology: &Topology,
    ) -> Result<Option<Published>, TopologyError> {
        if base == self.base {
            return Ok(None);
        }
        let composed = compose(&base, &self.overrides, &self.failing, topology.interner())?;
        self.base = base;
        Ok(self.publish(composed, topology))
    }

    /// Takes `updates` as overrides: checked against the served topology, written to the state
    /// file, then composed and published. Either all of that happens or none of it.
    ///
    /// # Errors
    /// An update does not apply, or the state file cannot be written.
    pub fn post(
        &mut self,
        updates: &[Update],
        topology: &Topology,
    ) -> Result<Option<Published>, PostError> {
        topology
            .snapshot()
            .apply(updates)
            .map_err(PostError::Invalid)?;
        let mut overrides = self.overrides.clone();
        overrides.record(updates);
        let composed = compose(&self.base, &overrides, &self.failing, topology.interner())
            .map_err(PostError::Invalid)?;
        self.persist(&overrides).map_err(PostError::Persist)?;
        self.overrides = overrides;
        Ok(self.publish(composed, topology))
    }

    /// Clears the overrides `which` names, on the disk first; returns how many servers and
    /// databases had overrides cleared, and what was published.
    ///
    /// # Errors
    /// The state file cannot be written; nothing is cleared.
    pub fn clear(
        &mut self,
        which: &Clear,
        topology: &Topology,
    ) -> Result<(usize, Option<Published>), StateError> {
        let mut overrides = self.overrides.clone();
        let cleared = overrides.clear(which);
        if cleared == 0 {
            return Ok((0, None));
        }
        let Ok(composed) = compose(&self.base, &overrides, &self.failing, topology.interner())
        else {
            // The base composed before with more overrides; with fewer it always does.
            return Ok((0, None));
        };
        self.persist(&overrides)?;
        self.overrides = overrides;
        Ok((cleared, self.publish(composed, topology)))
    }

    /// Takes `failing` as the addresses the health checks find failing, and publishes what it
    /// changes.
    pub fn set_failing(
        &mut self,
        failing: BTreeSet<String>,
        topology: &Topology,
    ) -> Option<Published> {
        if failing == self.failing {
            return None;
        }
        self.failing = failing;
        let composed = compose(
            &self.base,
            &self.overrides,
            &self.failing,
            topology.interner(),
        )
        .ok()?;
        self.publish(composed, topology)
    }

    /// The Bolt addresses of every server of the base and of the servers overrides add: what
    /// the health checks probe.
    pub fn addresses(&self) -> BTreeSet<String> {
        let added = self
            .overrides
            .updates()
            .into_iter()
            .filter_map(|u| match u {
                Update::AddServer(spec) => Some(spec.address),
                _ => None,
            });
        self.base
            .servers
            .iter()
            .map(|s| s.address.clone())
            .chain(added)
            .collect()
    }

    fn persist(&self, overrides: &Overrides) -> Result<(), StateError> {
        match &self.state {
            Some(file) => file.write(overrides),
            None => Ok(()),
        }
    }

    /// Publishes the difference between what is served and `composed`.
    fn publish(&mut self, composed: Composed, topology: &Topology) -> Option<Published> {
        let updates = diff(&self.composed.spec, &composed.spec);
        self.composed = composed;
        if updates.is_empty() {
            return None;
        }
        let snapshot = match topology.apply(&updates) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                // The difference of two valid topologies applies (a property test says so);
                // should it not, the whole topology is published instead.
                tracing::error!(%error, "the difference did not apply; publishing the whole topology");
                topology.replace(&self.composed.spec).ok()?
            }
        };
        Some(Published { snapshot, updates })
    }

    /// The served topology with, for each server and database, the layer that decided each
    /// of its parts (`GET /topology`).
    pub fn view(&self, epoch: u64) -> Value {
        let base = self.origin.as_str();
        let composed = &self.composed;
        let active = |f: &dyn Fn(&Update) -> bool| {
            composed
                .overrides
                .iter()
                .any(|(u, why)| why.is_none() && f(u))
        };
        let servers: Vec<Value> = composed
            .spec
            .servers
            .iter()
            .map(|server| {
                let name = server.name.as_str();
                let added = |u: &Update| matches!(u, Update::AddServer(s) if s.name == name);
                let available = if composed.health.contains(name) {
                    "health"
                } else if active(&|u| {
                    added(u) || matches!(u, Update::SetAvailable { server, .. } if server == name)
                }) {
                    "override"
                } else {
                    base
                };
                let tags = if active(&|u| {
                    added(u) || matches!(u, Update::SetTags { server, .. } if server == name)
                }) {
                    "override"
                } else {
                    base
                };
                let mut value = server_json(server);
                if let Some(map) = value.as_object_mut() {
                    let decided = json!({"available": available, "tags": tags});
                    map.insert("decided_by".into(), decided);
                    if self.checked {
                        let verdict = match self.failing.contains(&server.address) {
                            true => "failing",
                            false => "passing",
                        };
                        map.insert("health".into(), json!(verdict));
                    }
                }
                value
            })
            .collect();
        let databases: Vec<Value> = composed
            .spec
            .databases
            .iter()
            .map(|db| {
                let set = |u: &Update| {
                    matches!(u, Update::SetDatabase(d) if d.name.eq_ignore_ascii_case(&db.name))
                };
                let members = if active(&set) { "override" } else { base };
                let leader = if active(&|u| {
                    set(u)
                        || matches!(u, Update::SetLeader { database, .. }
                            if crate::topology::fold_name(database)
                                == crate::topology::fold_name(&db.name))
                }) {
                    "override"
                } else {
                    base
                };
                let mut value = database_json(db);
                if let Some(map) = value.as_object_mut() {
                    let decided = json!({"members": members, "leader": leader});
                    map.insert("decided_by".into(), decided);
                }
                value
            })
            .collect();
        json!({"epoch": epoch, "base": base, "servers": servers, "databases": databases})
    }

    /// The overrides in the order they apply, each with whether it applies to the base now and
    /// why not (`GET /topology/overrides`).
    pub fn overrides_view(&self) -> Value {
        let overrides: Vec<Value> = self
            .composed
            .overrides
            .iter()
            .map(|(update, why)| {
                let mut value = update_json(update);
                if let Some(map) = value.as_object_mut() {
                    map.insert("active".into(), json!(why.is_none()));
                    if let Some(why) = why {
                        map.insert("why".into(), json!(why));
                    }
                }
                value
            })
            .collect();
        let state_file = self.state.as_ref().map(|f| f.path().display().to_string());
        json!({"overrides": overrides, "state_file": state_file})
    }
}

/// The base with the overrides applied one at a time (each that does not apply left out, with
/// why), then the health verdicts.
fn compose(
    base: &TopologySpec,
    overrides: &Overrides,
    failing: &BTreeSet<String>,
    interner: &TagInterner,
) -> Result<Composed, TopologyError> {
    let mut snapshot = Snapshot::build(base, interner)?;
    let updates = overrides.updates();
    let mut applied = Vec::with_capacity(updates.len());
    for update in updates {
        match snapshot.apply(std::slice::from_ref(&update)) {
            Ok(next) => {
                snapshot = next;
                applied.push((update, None));
            }
            Err(error) => {
                let why = error.to_string();
                let why = why
                    .strip_prefix("updates[0]")
                    .map_or(why.as_str(), |rest| {
                        rest.trim_start_matches(['.', ':', ' '])
                    })
                    .to_owned();
                applied.push((update, Some(why)));
            }
        }
    }
    let mut spec = snapshot.to_spec();
    let mut health = BTreeSet::new();
    for server in &mut spec.servers {
        if failing.contains(&server.address) {
            if server.available {
                health.insert(server.name.clone());
            }
            server.available = false;
        }
    }
    Ok(Composed {
        spec,
        overrides: applied,
        health,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{DatabaseSpec, ServerSpec};

    fn base() -> TopologySpec {
        TopologySpec {
            servers: vec![
                ServerSpec::new("p1", "p1:7687").with_tags(["eu"]),
                ServerSpec::new("p2", "p2:7687").with_tags(["us"]),
                ServerSpec::new("r1", "r1:7687"),
            ],
            databases: vec![DatabaseSpec {
                name: "neo4j".into(),
                primaries: vec!["p1".into(), "p2".into()],
                secondaries: vec!["r1".into()],
                leader: Some("p1".into()),
                default: true,
                ..DatabaseSpec::default()
            }],
        }
    }

    fn start(state: Option<StateFile>) -> (Sources, Topology) {
        let overrides = match &state {
            Some(file) => file.read().expect("reads"),
            None => Overrides::new(),
        };
        let interner = TagInterner::new();
        let (sources, first) =
            Sources::new(Origin::Cluster, base(), overrides, state, true, &interner)
                .expect("valid");
        (sources, Topology::from_snapshot(first))
    }

    fn down(server: &str) -> Update {
        Update::SetAvailable {
            server: server.into(),
            available: false,
        }
    }

    fn leader(db: &str, leader: &str) -> Update {
        Update::SetLeader {
            database: db.into(),
            leader: Some(leader.into()),
        }
    }

    fn served(topology: &Topology) -> TopologySpec {
        topology.snapshot().to_spec()
    }

    fn available(topology: &Topology, server: &str) -> bool {
        let spec = served(topology);
        spec.servers.iter().any(|s| s.name == server && s.available)
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tagroute-sources-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creates");
        dir
    }

    #[test]
    fn a_new_base_keeps_every_override_and_verdict_and_an_equal_one_publishes_nothing() {
        let (mut sources, topology) = start(None);
        sources.post(&[down("r1")], &topology).expect("valid");
        let p2 = BTreeSet::from(["p2:7687".to_owned()]);
        assert!(sources.set_failing(p2.clone(), &topology).is_some());
        assert!(
            sources.set_failing(p2, &topology).is_none(),
            "the same verdicts"
        );
        let epoch = topology.snapshot().epoch();
        assert_eq!(
            sources
                .set_base(base(), &topology)
                .expect("valid")
                .map(|_| ()),
            None
        );
        assert_eq!(
            topology.snapshot().epoch(),
            epoch,
            "an unchanged base publishes nothing"
        );

        // The cluster moves the leader and adds a server: one update each, overlays kept.
        let mut moved = base();
        moved.databases[0].leader = Some("p2".into());
        moved.servers.push(ServerSpec::new("r2", "r2:7687"));
        let published = sources
            .set_base(moved, &topology)
            .expect("valid")
            .expect("a change");
        assert_eq!(
            published.updates,
            [
                Update::AddServer(ServerSpec::new("r2", "r2:7687")),
                leader("neo4j", "p2"),
            ]
        );
        assert!(!available(&topology, "r1"), "the override stays");
        assert!(!available(&topology, "p2"), "the verdict stays");
        assert!(available(&topology, "r2"));
    }

    #[test]
    fn layers_apply_in_order_and_the_view_names_who_decided() {
        let (mut sources, topology) = start(None);
        // The operator brings p2 up and moves the leader; health says p2 is failing.
        let mut cluster = base();
        cluster.servers[1].available = false;
        sources.set_base(cluster, &topology).expect("valid");
        sources
            .post(
                &[
                    Update::SetAvailable {
                        server: "p2".into(),
                        available: true,
                    },
                    leader("neo4j", "p2"),
                ],
                &topology,
            )
            .expect("valid");
        assert!(available(&topology, "p2"), "the override over the base");
        sources.set_failing(BTreeSet::from(["p2:7687".to_owned()]), &topology);
        assert!(!available(&topology, "p2"), "the verdict over the override");
        let view = sources.view(topology.snapshot().epoch());
        assert_eq!(view["base"], "cluster");
        assert_eq!(
            view["servers"][1]["decided_by"],
            json!({"available": "health", "tags": "cluster"})
        );
        assert_eq!(view["servers"][1]["health"], "failing");
        assert_eq!(
            view["servers"][0]["decided_by"],
            json!({"available": "cluster", "tags": "cluster"})
        );
        assert_eq!(
            view["databases"][0]["decided_by"],
            json!({"members": "cluster", "leader": "override"})
        );
        assert_eq!(view["databases"][0]["leader"], "p2");
        // Passing again: the override decides.
        sources.set_failing(BTreeSet::new(), &topology);
        assert!(available(&topology, "p2"));
        let view = sources.view(0);
        assert_eq!(view["servers"][1]["decided_by"]["available"], "override");
    }

    #[test]
    fn an_override_that_no_longer_applies_is_kept_inactive_and_applies_again_later() {
        let (mut sources, topology) = start(None);
        sources
            .post(&[leader("neo4j", "p2")], &topology)
            .expect("valid");
        // The cluster drops p2 from the database: the leader override cannot apply.
        let mut shrunk = base();
        shrunk.databases[0].primaries = vec!["p1".into()];
        sources.set_base(shrunk, &topology).expect("valid");
        let spec = served(&topology);
        assert_eq!(spec.databases[0].leader.as_deref(), Some("p1"));
        let view = sources.overrides_view();
        assert_eq!(view["overrides"][0]["active"], false);
        assert_eq!(
            view["overrides"][0]["why"],
            "leader: leader `p2` is not one of the database's primaries"
        );
        sources.set_base(base(), &topology).expect("valid");
        assert_eq!(served(&topology).databases[0].leader.as_deref(), Some("p2"));
        assert_eq!(sources.overrides_view()["overrides"][0]["active"], true);
    }

    #[test]
    fn a_refused_post_changes_nothing() {
        let (mut sources, topology) = start(None);
        let error = sources
            .post(&[down("r1"), down("r9")], &topology)
            .expect_err("unknown server");
        assert_eq!(error.to_string(), "updates[1].server: unknown server `r9`");
        assert!(available(&topology, "r1"));
        assert_eq!(sources.overrides_view()["overrides"], json!([]));
        assert_eq!(topology.snapshot().epoch(), 0);
    }

    #[test]
    fn overrides_are_on_the_disk_before_they_serve_and_survive_a_restart() {
        let dir = scratch("persist");
        let file = StateFile::new(dir.join("state.json"));
        let (mut sources, topology) = start(Some(file.clone()));
        sources
            .post(&[down("r1"), leader("neo4j", "p2")], &topology)
            .expect("valid");
        let (restarted, topology) = start(Some(file.clone()));
        assert!(!available(&topology, "r1"));
        assert_eq!(served(&topology).databases[0].leader.as_deref(), Some("p2"));
        assert_eq!(
            restarted.overrides_view()["overrides"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );

        // A state file that cannot be written: the post is refused and nothing changes.
        let unwritable = StateFile::new(dir.join("missing").join("state.json"));
        let (mut sources, topology) = start(Some(unwritable));
        let error = sources
            .post(&[down("p1")], &topology)
            .expect_err("cannot persist");
        assert!(matches!(error, PostError::Persist(_)), "{error}");
        assert!(available(&topology, "p1"));
        assert_eq!(sources.overrides_view()["overrides"], json!([]));
        std::fs::remove_dir_all(&dir).expect("cleans");
    }

    #[test]
    fn clearing_an_override_gives_the_base_back_and_is_on_the_disk() {
        let dir = scratch("clear");
        let file = StateFile::new(dir.join("state.json"));
        let (mut sources, topology) = start(Some(file.clone()));
        sources
            .post(&[down("r1"), down("p1")], &topology)
            .expect("valid");
        let (cleared, published) = sources
            .clear(&Clear::Server("r1".into()), &topology)
            .expect("writes");
        assert_eq!(cleared, 1);
        assert_eq!(
            published.map(|p| p.updates),
            Some(vec![Update::SetAvailable {
                server: "r1".into(),
                available: true
            }])
        );
        assert_eq!(file.read().expect("reads").updates(), [down("p1")]);
        let (cleared, _) = sources.clear(&Clear::All, &topology).expect("writes");
        assert_eq!(cleared, 1);
        assert!(available(&topology, "p1"));
        assert!(file.read().expect("reads").is_empty());
        std::fs::remove_dir_all(&dir).expect("cleans");
    }

    /// A cluster's state as its records say it: what a poll reads.
    mod polls {
        use proptest::prelude::*;

        use super::*;
        use crate::topology::import::{Cell, Record, import};
        use crate::topology::testing::normalized;

        const STATES: [&str; 3] = ["Enabled", "Cordoned", "Free"];
        const TAGS: [&str; 3] = ["eu", "us", "ssd"];
        const ALIASES: [&str; 2] = ["graph", "Shop"];

        fn text(value: &str) -> Cell {
            Cell::Text(value.to_owned())
        }

        fn record(cells: Vec<(&str, Cell)>) -> Record {
            cells.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
        }

        /// One state: SHOW SERVERS and SHOW DATABASES records over up to 5 servers and 3
        /// databases, every column the import reads varied.
        fn state() -> impl Strategy<Value = (Vec<Record>, Vec<Record>)> {
            let servers =
                proptest::collection::vec((any::<bool>(), 0usize..3, any::<bool>(), 0u8..8), 5);
            let addresses = Just((0..8).collect::<Vec<usize>>()).prop_shuffle();
            let databases = proptest::collection::vec(
                (
                    any::<bool>(),
                    proptest::collection::vec((0u8..3, any::<bool>()), 5),
                    0usize..6,
                ),
                3,
            );
            let names = (proptest::collection::vec(0usize..4, 2), 0usize..4);
            (servers, addresses, databases, names).prop_map(
                |(servers, addresses, databases, (alias_owners, default_owner))| {
                    let server_records = servers
                        .iter()
                        .enumerate()
                        .filter(|(_, (present, ..))| *present)
                        .map(|(i, (_, state, healthy, tags))| {
                            let tags = TAGS
                                .iter()
                                .enumerate()
                                .filter(|(t, _)| tags >> t & 1 == 1)
                                .map(|(_, t)| (*t).to_owned())
                                .collect();
                            record(vec![
                                ("serverId", text(&format!("id{i}"))),
                                ("name", text(&format!("s{i}"))),
                                ("address", text(&format!("h{}:7687", addresses[i]))),
                                ("state", text(STATES[*state])),
                                (
                                    "health",
                                    text(if *healthy { "Available" } else { "Unavailable" }),
                                ),
                                ("tags", Cell::List(tags)),
                            ])
                        })
                        .collect();
                    let mut database_records = Vec::new();
                    for (d, (exists, hosting, writer)) in databases.iter().enumerate() {
                        if !exists {
                            continue;
                        }
                        let aliases: Vec<String> = ALIASES
                            .iter()
                            .zip(&alias_owners)
                            .filter(|(_, owner)| **owner == d)
                            .map(|(a, _)| (*a).to_owned())
                            .collect();
                        for (i, (role, online)) in hosting.iter().enumerate() {
                            let role = match role {
                                1 => "primary",
                                2 => "secondary",
                                _ => continue,
                            };
                            database_records.push(record(vec![
                                ("name", text(&format!("db{d}"))),
                                ("aliases", Cell::List(aliases.clone())),
                                ("serverID", text(&format!("id{i}"))),
                                ("role", text(role)),
                                ("writer", Cell::Bool(role == "primary" && *writer == i)),
                                (
                                    "currentStatus",
                                    text(if *online { "online" } else { "offline" }),
                                ),
                                ("default", Cell::Bool(default_owner == d)),
                            ]));
                        }
                    }
                    (server_records, database_records)
                },
            )
        }

        proptest! {
            #[test]
            fn each_poll_serves_what_an_import_from_scratch_gives_and_an_unchanged_one_nothing(
                polls in proptest::collection::vec((state(), any::<bool>()), 1..10),
            ) {
                let interner = TagInterner::new();
                let (mut sources, first) = Sources::new(
                    Origin::Cluster,
                    TopologySpec::default(),
                    Overrides::new(),
                    None,
                    false,
                    &interner,
                )
                .expect("empty is valid");
                let topology = Topology::from_snapshot(first);
                let mut last = None;
                for ((servers, databases), repeat) in polls {
                    let (servers, databases) = match (&last, repeat) {
                        (Some(previous), true) => Clone::clone(previous),
                        _ => (servers, databases),
                    };
                    let fresh = import(&servers, &databases).expect("imports").spec;
                    sources.set_base(fresh.clone(), &topology).expect("valid");
                    prop_assert_eq!(
                        normalized(&topology.snapshot().to_spec()),
                        normalized(&fresh)
                    );
                    let epoch = topology.snapshot().epoch();
                    let again = import(&servers, &databases).expect("imports").spec;
                    let published = sources.set_base(again, &topology).expect("valid");
                    prop_assert!(published.is_none());
                    prop_assert_eq!(topology.snapshot().epoch(), epoch);
                    last = Some((servers, databases));
                }
            }
        }
    }
}
