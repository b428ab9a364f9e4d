//! The updates that take one description of a cluster to another: what a poll of the live
//! cluster (or a reload) publishes, so that an unchanged cluster publishes nothing and a leader
//! move is one [`Update::SetLeader`].
//!
//! Order does not count: servers and databases are matched by name, tags and members compared as
//! sets. A server whose address changed is removed and added again (addresses do not change in
//! place), and every database it was a member of is set again.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::spec::{DatabaseSpec, ServerSpec, TopologySpec};
use super::update::Update;

/// The updates that make `old` into `new`, in an order that applies: databases removed, servers
/// removed, servers added, tags and availability, then databases set or their leaders moved.
/// Applied to a snapshot of `old` they give a snapshot of `new`, up to order; when `new` is not
/// a valid topology, applying them fails and the snapshot stays as it was.
///
/// ```
/// use tagroute::topology::{DatabaseSpec, ServerSpec, TopologySpec, Update, diff};
///
/// let db = |leader: &str| DatabaseSpec {
///     name: "neo4j".into(),
///     primaries: vec!["a".into(), "b".into()],
///     leader: Some(leader.into()),
///     ..DatabaseSpec::default()
/// };
/// let servers = vec![ServerSpec::new("a", "a:7687"), ServerSpec::new("b", "b:7687")];
/// let old = TopologySpec { servers: servers.clone(), databases: vec![db("a")] };
/// let new = TopologySpec { servers, databases: vec![db("b")] };
/// assert_eq!(diff(&old, &old), []);
/// assert_eq!(
///     diff(&old, &new),
///     [Update::SetLeader { database: "neo4j".into(), leader: Some("b".into()) }]
/// );
/// ```
pub fn diff(old: &TopologySpec, new: &TopologySpec) -> Vec<Update> {
    let old_servers: HashMap<&str, &ServerSpec> =
        old.servers.iter().map(|s| (s.name.as_str(), s)).collect();
    let new_servers: HashMap<&str, &ServerSpec> =
        new.servers.iter().map(|s| (s.name.as_str(), s)).collect();
    let new_databases: HashSet<&str> = new.databases.iter().map(|d| d.name.as_str()).collect();
    let mut updates: Vec<Update> = old
        .databases
        .iter()
        .filter(|d| !new_databases.contains(d.name.as_str()))
        .map(|d| Update::RemoveDatabase {
            database: d.name.clone(),
        })
        .collect();

    let removed: HashSet<&str> = old
        .servers
        .iter()
        .filter(|s| {
            new_servers
                .get(s.name.as_str())
                .is_none_or(|n| n.address != s.address)
        })
        .map(|s| s.name.as_str())
        .collect();
    updates.extend(
        old.servers
            .iter()
            .filter(|s| removed.contains(s.name.as_str()))
            .map(|s| Update::RemoveServer {
                server: s.name.clone(),
            }),
    );
    for server in &new.servers {
        match old_servers.get(server.name.as_str()) {
            Some(old) if !removed.contains(server.name.as_str()) => {
                if set(&old.tags) != set(&server.tags) {
                    updates.push(Update::SetTags {
                        server: server.name.clone(),
                        tags: server.tags.clone(),
                    });
                }
                if old.available != server.available {
                    updates.push(Update::SetAvailable {
                        server: server.name.clone(),
                        available: server.available,
                    });
                }
            }
            _ => updates.push(Update::AddServer(server.clone())),
        }
    }

    let old_databases: HashMap<&str, &DatabaseSpec> =
        old.databases.iter().map(|d| (d.name.as_str(), d)).collect();
    // Names (aliases, the default) a database gives up are released before any is claimed, so
    // that an alias or the default moving from one database to another applies in order.
    let mut releases = Vec::new();
    let mut sets = Vec::new();
    for database in &new.databases {
        let Some(old) = old_databases.get(database.name.as_str()) else {
            sets.push(Update::SetDatabase(database.clone()));
            continue;
        };
        // What the removals above left of the old database.
        let kept = |names: &[String]| -> BTreeSet<String> {
            names
                .iter()
                .filter(|n| !removed.contains(n.as_str()))
                .cloned()
                .collect()
        };
        let leader = old
            .leader
            .as_ref()
            .filter(|l| !removed.contains(l.as_str()));
        let names_changed =
            set(&old.aliases) != set(&database.aliases) || old.default != database.default;
        if names_changed {
            let released = DatabaseSpec {
                aliases: database
                    .aliases
                    .iter()
                    .filter(|a| old.aliases.contains(a))
                    .cloned()
                    .collect(),
                default: old.default && database.default,
                ..database.clone()
            };
            let gives_up =
                released.aliases.len() < old.aliases.len() || (old.default && !released.default);
            if gives_up {
                releases.push(Update::SetDatabase(released.clone()));
            }
            if !gives_up || released != *database {
                sets.push(Update::SetDatabase(database.clone()));
            }
        } else if kept(&old.primaries) != set(&database.primaries)
            || kept(&old.secondaries) != set(&database.secondaries)
        {
            sets.push(Update::SetDatabase(database.clone()));
        } else if leader != database.leader.as_ref() {
            sets.push(Update::SetLeader {
                database: database.name.clone(),
                leader: database.leader.clone(),
            });
        }
    }
    updates.extend(releases);
    updates.extend(sets);
    updates
}

fn set(names: &[String]) -> BTreeSet<String> {
    names.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::topology::testing::normalized;
    use crate::topology::{Snapshot, TagInterner};

    const NAMES: [&str; 8] = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"];
    const TAGS: [&str; 4] = ["eu", "us", "ssd", "big"];
    const ALIASES: [&str; 3] = ["graph", "Sales", "reports"];

    /// A valid cluster over up to 8 servers (addresses drawn from 12, so that servers move
    /// between them) and up to 4 databases, with up to 3 aliases and a default among them.
    fn cluster() -> impl Strategy<Value = TopologySpec> {
        let servers = (
            proptest::collection::vec(any::<bool>(), 8),
            Just((0..12).collect::<Vec<u32>>()).prop_shuffle(),
            proptest::collection::vec((0u8..16, any::<bool>()), 8),
        );
        let databases = proptest::collection::vec(
            (
                any::<bool>(),
                proptest::collection::vec(0u8..3, 8),
                any::<u8>(),
            ),
            4,
        );
        let names = (proptest::collection::vec(0usize..6, 3), 0usize..6);
        (servers, databases, names).prop_map(
            |((present, addresses, traits), databases, (alias_owners, default_owner))| {
                let servers: Vec<ServerSpec> = (0..8)
                    .filter(|&i| present[i])
                    .map(|i| {
                        let (tags, available) = traits[i];
                        ServerSpec::new(NAMES[i], format!("h{}:7687", addresses[i]))
                            .with_tags(
                                TAGS.iter()
                                    .enumerate()
                                    .filter(|(t, _)| tags >> t & 1 == 1)
                                    .map(|(_, t)| *t),
                            )
                            .with_available(available)
                    })
                    .collect();
                let databases = databases
                    .into_iter()
                    .enumerate()
                    .filter(|(_, (exists, ..))| *exists)
                    .map(|(d, (_, roles, leader))| {
                        let members = |role: u8| -> Vec<String> {
                            servers
                                .iter()
                                .enumerate()
                                .filter(|(i, _)| roles[*i] == role)
                                .map(|(_, s)| s.name.clone())
                                .collect()
                        };
                        let primaries = members(1);
                        let leader = (!primaries.is_empty() && leader % 3 != 0)
                            .then(|| primaries[usize::from(leader) % primaries.len()].clone());
                        DatabaseSpec {
                            name: format!("db{d}"),
                            secondaries: members(2),
                            primaries,
                            leader,
                            aliases: ALIASES
                                .iter()
                                .zip(&alias_owners)
                                .filter(|(_, owner)| **owner == d)
                                .map(|(a, _)| (*a).to_owned())
                                .collect(),
                            default: default_owner == d,
                        }
                    })
                    .collect();
                TopologySpec { servers, databases }
            },
        )
    }

    /// One change to a cluster that keeps it valid, as `(kind, which, what)`.
    fn change(spec: &mut TopologySpec, (kind, which, what): (u8, usize, u8)) {
        let n = spec.servers.len();
        let server = which % n.max(1);
        let database = which % spec.databases.len().max(1);
        match kind {
            // A leader move (or none), members unchanged.
            0 => {
                if let Some(db) = spec.databases.get_mut(database) {
                    db.leader = (!db.primaries.is_empty() && what % 4 != 0)
                        .then(|| db.primaries[usize::from(what) % db.primaries.len()].clone());
                }
            }
            1 => {
                if let Some(s) = spec.servers.get_mut(server) {
                    s.available = !s.available;
                }
            }
            2 => {
                if let Some(s) = spec.servers.get_mut(server) {
                    s.tags = tags(what);
                }
            }
            // A new address, unused by any server.
            3 => {
                let taken: Vec<String> = spec.servers.iter().map(|s| s.address.clone()).collect();
                let free = (0..12)
                    .map(|a| format!("h{a}:7687"))
                    .find(|a| !taken.contains(a));
                if let (Some(s), Some(free)) = (spec.servers.get_mut(server), free) {
                    s.address = free;
                }
            }
            4 if n > 0 => {
                let gone = spec.servers.remove(server).name;
                for db in &mut spec.databases {
                    db.primaries.retain(|s| *s != gone);
                    db.secondaries.retain(|s| *s != gone);
                    if db.leader.as_ref() == Some(&gone) {
                        db.leader = None;
                    }
                }
            }
            5 => {
                let names: Vec<String> = spec.servers.iter().map(|s| s.name.clone()).collect();
                let taken: Vec<String> = spec.servers.iter().map(|s| s.address.clone()).collect();
                let name = NAMES.iter().find(|n| !names.iter().any(|m| m == *n));
                let free = (0..12)
                    .map(|a| format!("h{a}:7687"))
                    .find(|a| !taken.contains(a));
                if let (Some(name), Some(free)) = (name, free) {
                    spec.servers
                        .push(ServerSpec::new(*name, free).with_tags(tags(what)));
                }
            }
            6 if !spec.databases.is_empty() => {
                spec.databases.remove(database);
            }
            // An alias moves to another database, or goes.
            8 => {
                let alias = ALIASES[usize::from(what) % ALIASES.len()];
                for db in &mut spec.databases {
                    db.aliases.retain(|a| a != alias);
                }
                if let Some(db) = spec.databases.get_mut(database).filter(|_| what % 4 != 3) {
                    db.aliases.push(alias.to_owned());
                }
            }
            // The default moves to another database, or there is none.
            9 => {
                for db in &mut spec.databases {
                    db.default = false;
                }
                if let Some(db) = spec.databases.get_mut(database).filter(|_| what % 4 != 3) {
                    db.default = true;
                }
            }
            // New members for a database, or a new database.
            _ => {
                let roles: Vec<u8> = (0..n).map(|i| (what >> (i % 4 * 2)) & 3).collect();
                let members = |role: u8| -> Vec<String> {
                    spec.servers
                        .iter()
                        .zip(&roles)
                        .filter(|(_, r)| **r == role)
                        .map(|(s, _)| s.name.clone())
                        .collect()
                };
                let db = DatabaseSpec {
                    name: format!("db{}", which % 5),
                    primaries: members(1),
                    secondaries: members(2),
                    leader: members(1).first().cloned(),
                    ..DatabaseSpec::default()
                };
                match spec.databases.iter_mut().find(|d| d.name == db.name) {
                    Some(old) => *old = db,
                    None => spec.databases.push(db),
                }
            }
        }
    }

    fn tags(mask: u8) -> Vec<String> {
        TAGS.iter()
            .enumerate()
            .filter(|(t, _)| mask >> t & 1 == 1)
            .map(|(_, t)| (*t).to_owned())
            .collect()
    }

    proptest! {
        #[test]
        fn each_state_s_updates_give_that_state_and_an_unchanged_one_gives_none(
            first in cluster(),
            changes in proptest::collection::vec(
                proptest::collection::vec((0u8..10, any::<usize>(), any::<u8>()), 0..3),
                1..12,
            ),
        ) {
            let mut snapshot = Snapshot::build(&first, &TagInterner::new()).unwrap();
            let mut state = first;
            for batch in changes {
                for one in batch {
                    change(&mut state, one);
                }
                let updates = diff(&snapshot.to_spec(), &state);
                snapshot = snapshot.apply(&updates).unwrap();
                prop_assert_eq!(normalized(&snapshot.to_spec()), normalized(&state));
                prop_assert_eq!(diff(&snapshot.to_spec(), &state), vec![]);
                prop_assert_eq!(diff(&state, &state), vec![]);
            }
        }

        #[test]
        fn a_leader_move_alone_is_one_set_leader(
            first in cluster(),
            which in any::<usize>(),
            what in any::<u8>(),
        ) {
            let mut state = first.clone();
            change(&mut state, (0, which, what));
            let updates = diff(&first, &state);
            let moved = first.databases != state.databases;
            prop_assert_eq!(updates.len(), usize::from(moved));
            let leaders_only = updates.iter().all(|u| matches!(u, Update::SetLeader { .. }));
            prop_assert!(leaders_only, "{:?}", updates);
        }
    }

    #[test]
    fn a_server_that_changes_address_is_removed_and_added_and_its_databases_set_again() {
        let db = DatabaseSpec {
            name: "neo4j".into(),
            primaries: vec!["a".into(), "b".into()],
            leader: Some("a".into()),
            ..DatabaseSpec::default()
        };
        let old = TopologySpec {
            servers: vec![ServerSpec::new("a", "a:1"), ServerSpec::new("b", "b:1")],
            databases: vec![db.clone()],
        };
        let new = TopologySpec {
            servers: vec![ServerSpec::new("a", "a:2"), ServerSpec::new("b", "b:1")],
            databases: vec![db.clone()],
        };
        assert_eq!(
            diff(&old, &new),
            [
                Update::RemoveServer { server: "a".into() },
                Update::AddServer(ServerSpec::new("a", "a:2")),
                Update::SetDatabase(db),
            ]
        );
    }

    #[test]
    fn tags_and_availability_change_in_place_and_gone_things_are_removed() {
        let old = TopologySpec {
            servers: vec![
                ServerSpec::new("a", "a:1").with_tags(["eu", "ssd"]),
                ServerSpec::new("b", "b:1"),
            ],
            databases: vec![DatabaseSpec {
                name: "gone".into(),
                ..DatabaseSpec::default()
            }],
        };
        let new = TopologySpec {
            servers: vec![
                ServerSpec::new("a", "a:1")
                    .with_tags(["ssd", "eu"])
                    .with_available(false),
            ],
            databases: vec![],
        };
        assert_eq!(
            diff(&old, &new),
            [
                Update::RemoveDatabase {
                    database: "gone".into()
                },
                Update::RemoveServer { server: "b".into() },
                Update::SetAvailable {
                    server: "a".into(),
                    available: false
                },
            ]
        );
    }
}
