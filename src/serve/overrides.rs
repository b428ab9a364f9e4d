//! Operator overrides: what `POST /topology/updates` said, kept as an overlay over the base
//! topology (the file or the followed cluster) until an operator clears it.
//!
//! Overrides are keyed by what they change, so a later update of the same thing replaces an
//! earlier one: per server, its availability and its tags (or the whole server, added, or its
//! removal); per database, its leader (or the whole database, or its removal). They are applied
//! to the base in one order whatever order they were posted in: servers removed, servers added,
//! availability and tags, databases removed, databases set, leaders
//! ([`Overrides::updates`]). An override that no longer applies to the base (its server left
//! the cluster, its leader is no longer a primary) is kept, inactive, and applies again when
//! the base allows it.

use std::collections::BTreeMap;

use crate::topology::{DatabaseSpec, ServerSpec, Update, fold_name};

/// The overrides in force, keyed by server and by database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    servers: BTreeMap<String, ServerOverride>,
    /// Keyed by the folded name (database names compare without regard to case).
    databases: BTreeMap<String, DatabaseOverride>,
}

/// What is overridden of one server.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ServerOverride {
    /// Removed from the cluster.
    Removed,
    /// Added whole; `replaces` when it came after its removal (so it replaces the base's).
    Whole { spec: ServerSpec, replaces: bool },
    /// Its availability, its tags, or both.
    Fields {
        available: Option<bool>,
        tags: Option<Vec<String>>,
    },
}

/// What is overridden of one database.
#[derive(Clone, Debug, PartialEq, Eq)]
enum DatabaseOverride {
    /// Removed, by this name.
    Removed(String),
    /// Set whole.
    Whole(DatabaseSpec),
    /// Its leader (or none), the database named so.
    Leader(String, Option<String>),
}

/// Which overrides to clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clear {
    /// Every override.
    All,
    /// Those of the server of this name.
    Server(String),
    /// Those of the database of this name (in any case).
    Database(String),
}

impl Overrides {
    /// No override.
    pub fn new() -> Overrides {
        Overrides::default()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.databases.is_empty()
    }

    /// Records `updates`, in order, each replacing what an earlier one said of the same thing.
    pub fn record(&mut self, updates: &[Update]) {
        for update in updates {
            self.record_one(update);
        }
    }

    fn record_one(&mut self, update: &Update) {
        match update {
            Update::SetAvailable { server, available } => {
                self.server_fields(
                    server,
                    |spec| spec.available = *available,
                    |fields| fields.0 = Some(*available),
                );
            }
            Update::SetTags { server, tags } => {
                self.server_fields(
                    server,
                    |spec| spec.tags.clone_from(tags),
                    |fields| fields.1 = Some(tags.clone()),
                );
            }
            Update::AddServer(spec) => {
                let replaces = matches!(
                    self.servers.get(&spec.name),
                    Some(ServerOverride::Removed | ServerOverride::Whole { replaces: true, .. })
                );
                let entry = ServerOverride::Whole {
                    spec: spec.clone(),
                    replaces,
                };
                self.servers.insert(spec.name.clone(), entry);
            }
            Update::RemoveServer { server } => {
                self.servers.insert(server.clone(), ServerOverride::Removed);
                self.forget_member(server);
            }
            Update::SetLeader { database, leader } => {
                let key = fold_name(database).into_owned();
                match self.databases.get_mut(&key) {
                    Some(DatabaseOverride::Whole(spec)) => spec.leader.clone_from(leader),
                    _ => {
                        let entry = DatabaseOverride::Leader(database.clone(), leader.clone());
                        self.databases.insert(key, entry);
                    }
                }
            }
            Update::SetDatabase(spec) => {
                let key = fold_name(&spec.name).into_owned();
                self.databases
                    .insert(key, DatabaseOverride::Whole(spec.clone()));
            }
            Update::RemoveDatabase { database } => {
                let key = fold_name(database).into_owned();
                let entry = DatabaseOverride::Removed(database.clone());
                self.databases.insert(key, entry);
            }
        }
    }

    /// Sets a field of `server`: in its whole spec when it was added whole, else in its fields.
    fn server_fields(
        &mut self,
        server: &str,
        whole: impl FnOnce(&mut ServerSpec),
        fields: impl FnOnce(&mut (Option<bool>, Option<Vec<String>>)),
    ) {
        let entry = self
            .servers
            .entry(server.to_owned())
            .or_insert(ServerOverride::Fields {
                available: None,
                tags: None,
            });
        match entry {
            ServerOverride::Whole { spec, .. } => whole(spec),
            ServerOverride::Fields { available, tags } => {
                let mut pair = (available.take(), tags.take());
                fields(&mut pair);
                (*available, *tags) = pair;
            }
            // A removed server takes no field (the update was refused before it came here):
            // setting one brings it back only as far as that field goes.
            ServerOverride::Removed => {
                let mut pair = (None, None);
                fields(&mut pair);
                *entry = ServerOverride::Fields {
                    available: pair.0,
                    tags: pair.1,
                };
            }
        }
    }

    /// A server removed by an override leaves the databases set by overrides, as a removed
    /// server leaves every database; a leader override naming it goes (the base decides).
    fn forget_member(&mut self, server: &str) {
        self.databases.retain(|_, entry| match entry {
            DatabaseOverride::Whole(spec) => {
                spec.primaries.retain(|s| s != server);
                spec.secondaries.retain(|s| s != server);
                if spec.leader.as_deref() == Some(server) {
                    spec.leader = None;
                }
                true
            }
            DatabaseOverride::Leader(_, leader) => leader.as_deref() != Some(server),
            DatabaseOverride::Removed(_) => true,
        });
    }

    /// Clears the overrides `which` names; returns how many things were overridden (servers
    /// and databases).
    pub fn clear(&mut self, which: &Clear) -> usize {
        match which {
            Clear::All => {
                let count = self.servers.len() + self.databases.len();
                *self = Overrides::default();
                count
            }
            Clear::Server(name) => usize::from(self.servers.remove(name).is_some()),
            Clear::Database(name) => {
                usize::from(self.databases.remove(fold_name(name).as_ref()).is_some())
            }
        }
    }

    /// The overrides as updates, in the order they apply to a base: servers removed, servers
    /// added, availability and tags, databases removed, databases set, leaders.
    pub fn updates(&self) -> Vec<Update> {
        let mut removed = Vec::new();
        let mut added = Vec::new();
        let mut fields = Vec::new();
        for (name, entry) in &self.servers {
            match entry {
                ServerOverride::Removed => removed.push(Update::RemoveServer {
                    server: name.clone(),
                }),
                ServerOverride::Whole { spec, replaces } => {
                    if *replaces {
                        removed.push(Update::RemoveServer {
                            server: name.clone(),
                        });
                    }
                    added.push(Update::AddServer(spec.clone()));
                }
                ServerOverride::Fields { available, tags } => {
                    if let Some(available) = available {
                        fields.push(Update::SetAvailable {
                            server: name.clone(),
                            available: *available,
                        });
                    }
                    if let Some(tags) = tags {
                        fields.push(Update::SetTags {
                            server: name.clone(),
                            tags: tags.clone(),
                        });
                    }
                }
            }
        }
        let mut databases_removed = Vec::new();
        let mut sets = Vec::new();
        let mut leaders = Vec::new();
        for entry in self.databases.values() {
            match entry {
                DatabaseOverride::Removed(name) => databases_removed.push(Update::RemoveDatabase {
                    database: name.clone(),
                }),
                DatabaseOverride::Whole(spec) => sets.push(Update::SetDatabase(spec.clone())),
                DatabaseOverride::Leader(name, leader) => leaders.push(Update::SetLeader {
                    database: name.clone(),
                    leader: leader.clone(),
                }),
            }
        }
        [removed, added, fields, databases_removed, sets, leaders].concat()
    }

    /// The overrides read back from [`Overrides::updates`] (what the state file holds).
    pub fn from_updates(updates: &[Update]) -> Overrides {
        let mut overrides = Overrides::default();
        overrides.record(updates);
        overrides
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn available(server: &str, up: bool) -> Update {
        Update::SetAvailable {
            server: server.into(),
            available: up,
        }
    }

    fn tags(server: &str, tags: &[&str]) -> Update {
        Update::SetTags {
            server: server.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn leader(database: &str, leader: Option<&str>) -> Update {
        Update::SetLeader {
            database: database.into(),
            leader: leader.map(str::to_owned),
        }
    }

    #[test]
    fn a_later_update_of_the_same_thing_replaces_the_earlier() {
        let mut overrides = Overrides::new();
        overrides.record(&[
            available("r1", false),
            tags("r1", &["a"]),
            leader("neo4j", Some("p1")),
            available("r1", true),
            leader("NEO4J", Some("p2")),
            tags("r2", &[]),
        ]);
        assert_eq!(
            overrides.updates(),
            [
                available("r1", true),
                tags("r1", &["a"]),
                tags("r2", &[]),
                leader("NEO4J", Some("p2")),
            ]
        );
    }

    #[test]
    fn updates_come_out_in_the_order_they_apply_and_read_back_the_same() {
        let mut overrides = Overrides::new();
        let db = DatabaseSpec {
            name: "orders".into(),
            primaries: vec!["p1".into(), "r9".into()],
            leader: Some("r9".into()),
            ..DatabaseSpec::default()
        };
        overrides.record(&[
            leader("neo4j", Some("p2")),
            Update::SetDatabase(db.clone()),
            available("p1", false),
            Update::AddServer(ServerSpec::new("r9", "r9:7687")),
            Update::RemoveServer {
                server: "r3".into(),
            },
            Update::RemoveDatabase {
                database: "old".into(),
            },
            tags("r9", &["south"]),
            Update::RemoveServer {
                server: "p3".into(),
            },
            Update::AddServer(ServerSpec::new("p3", "p3b:7687")),
        ]);
        let updates = overrides.updates();
        assert_eq!(
            updates,
            [
                Update::RemoveServer {
                    server: "p3".into()
                },
                Update::RemoveServer {
                    server: "r3".into()
                },
                Update::AddServer(ServerSpec::new("p3", "p3b:7687")),
                Update::AddServer(ServerSpec::new("r9", "r9:7687").with_tags(["south"])),
                available("p1", false),
                Update::RemoveDatabase {
                    database: "old".into()
                },
                Update::SetDatabase(db),
                leader("neo4j", Some("p2")),
            ]
        );
        assert_eq!(Overrides::from_updates(&updates), overrides);
    }

    #[test]
    fn a_removed_server_leaves_the_databases_and_leaders_overrides_set() {
        let mut overrides = Overrides::new();
        overrides.record(&[
            Update::SetDatabase(DatabaseSpec {
                name: "orders".into(),
                primaries: vec!["p1".into(), "p2".into()],
                leader: Some("p2".into()),
                ..DatabaseSpec::default()
            }),
            leader("neo4j", Some("p2")),
            leader("movies", Some("p1")),
            Update::RemoveServer {
                server: "p2".into(),
            },
        ]);
        assert_eq!(
            overrides.updates(),
            [
                Update::RemoveServer {
                    server: "p2".into()
                },
                Update::SetDatabase(DatabaseSpec {
                    name: "orders".into(),
                    primaries: vec!["p1".into()],
                    ..DatabaseSpec::default()
                }),
                leader("movies", Some("p1")),
            ]
        );
    }

    #[test]
    fn clearing_names_a_server_a_database_in_any_case_or_everything() {
        let mut overrides = Overrides::new();
        overrides.record(&[
            available("r1", false),
            tags("r2", &["x"]),
            leader("Neo4j", None),
        ]);
        assert_eq!(overrides.clear(&Clear::Server("r9".into())), 0);
        assert_eq!(overrides.clear(&Clear::Server("r1".into())), 1);
        assert_eq!(overrides.clear(&Clear::Database("NEO4J".into())), 1);
        assert_eq!(overrides.updates(), [tags("r2", &["x"])]);
        assert_eq!(overrides.clear(&Clear::All), 1);
        assert!(overrides.is_empty());
    }
}
