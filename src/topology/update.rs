//! Updates: the changes a live cluster goes through, each applied to a copy of the current
//! snapshot in place, never by rebuilding it from its description.
//!
//! A batch applies whole or not at all: [`Snapshot::apply`] works on a clone that shares every
//! part with the current snapshot until an update touches it (`Arc::make_mut`), and the tags it
//! interns are held by a [`TagStage`] until the new matrix holds the ones its servers carry; a
//! rejected batch leaves no name behind. What each kind costs, for `n` servers, `t` tag rows
//! (up to the highest id a server carries now) and `d` databases:
//!
//! | update | work |
//! |---|---|
//! | `SetTags` | copy the matrix (`t × n / 64` words), clear one column, set the new bits; when the set of tags carried changes, hold the `t` ids anew |
//! | `SetAvailable` | copy the available set (`n / 64` words) |
//! | `SetLeader` | copy the database list (`d` entries) |
//! | `AddServer` | copy the server list (one reference count each) and the name and address tables (positions only), widen every row and set by a bit |
//! | `RemoveServer` | the same copies, renumber the tables, close the gap in every row and set |
//! | `SetDatabase` | resolve its members by name, copy the database list |
//! | `RemoveDatabase` | copy the database list |
//!
//! Field paths in errors (`updates[2].tags[0]`) are written only when an error happens.

use std::sync::Arc;

use super::error::{TopologyError, TopologyErrorKind as Kind};
use super::matrix::check_size;
use super::names::fold_name;
use super::server_set::ServerIdx;
use super::snapshot::{Server, Snapshot, check_server, intern_tags};
use super::spec::{DatabaseSpec, ServerSpec};
use super::tags::{TagId, TagStage};

/// A change to a cluster; [`Snapshot::apply`] makes a new snapshot from a batch of them, and
/// [`Topology::apply`](crate::topology::Topology::apply) publishes it.
///
/// ```
/// use tagroute::topology::{ServerSpec, Topology, TopologySpec};
/// use tagroute::Update;
///
/// let topology = Topology::new(&TopologySpec {
///     servers: vec![ServerSpec::new("n1a", "n1a.example.com:7687").with_tags(["north"])],
///     databases: vec![],
/// })?;
/// let snapshot = topology.apply(&[
///     Update::AddServer(ServerSpec::new("s1a", "s1a.example.com:7687").with_tags(["south"])),
///     Update::SetTags { server: "n1a".into(), tags: vec!["north".into(), "ssd".into()] },
///     Update::SetAvailable { server: "n1a".into(), available: false },
/// ])?;
/// assert_eq!(snapshot.names(snapshot.available()), ["s1a"]);
///
/// // A batch applies whole or not at all; the error names the update and field at fault.
/// let unknown = Update::RemoveServer { server: "x9".into() };
/// let error = topology.apply(&[Update::RemoveServer { server: "s1a".into() }, unknown]);
/// assert!(error.unwrap_err().to_string().starts_with("updates[1].server"));
/// assert_eq!(topology.snapshot().len(), 2);
/// # Ok::<(), tagroute::topology::TopologyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// Replace a server's tags, as `ALTER SERVER ... SET OPTIONS {tags: [...]}` does.
    SetTags {
        /// The server's name.
        server: String,
        /// Its new tags.
        tags: Vec<String>,
    },
    /// Mark a server up or down.
    SetAvailable {
        /// The server's name.
        server: String,
        /// Whether it is up.
        available: bool,
    },
    /// Add a server at the end of the order, hosting nothing yet.
    AddServer(ServerSpec),
    /// Remove a server from the cluster and from every database it hosts (a database it led
    /// has no leader); the servers after it move down one index.
    RemoveServer {
        /// The server's name.
        server: String,
    },
    /// Move (or clear) the leader of a database.
    SetLeader {
        /// The database's name.
        database: String,
        /// The new leader, one of its primaries; `None` for no leader.
        leader: Option<String>,
    },
    /// Add a database, or replace the one of the same name.
    SetDatabase(DatabaseSpec),
    /// Remove a database.
    RemoveDatabase {
        /// The database's name.
        database: String,
    },
}

impl Snapshot {
    /// A new snapshot with `updates` applied in order, its epoch one more than this one's.
    /// Either every update applies or none does, and a rejected batch interns no tag; the
    /// error names the update and field (`updates[1].server`).
    ///
    /// ```
    /// use tagroute::topology::{ServerSpec, Snapshot, TagInterner, TopologySpec, Update};
    ///
    /// let spec = TopologySpec {
    ///     servers: vec![ServerSpec::new("a", "a:7687").with_tags(["north"])],
    ///     databases: vec![],
    /// };
    /// let snapshot = Snapshot::build(&spec, &TagInterner::new())?;
    /// let next = snapshot.apply(&[Update::AddServer(
    ///     ServerSpec::new("b", "b:7687").with_tags(["north"]),
    /// )])?;
    /// assert_eq!(next.names(&next.tagged_by_name("north")), ["a", "b"]);
    /// let err = next.apply(&[Update::RemoveServer { server: "c".into() }]).unwrap_err();
    /// assert_eq!(err.to_string(), "updates[0].server: unknown server `c`");
    /// # Ok::<(), tagroute::topology::TopologyError>(())
    /// ```
    pub fn apply(&self, updates: &[Update]) -> Result<Snapshot, TopologyError> {
        let mut stage = self.interner.stage();
        let mut next = self.clone();
        next.epoch = self.epoch + 1;
        for (i, update) in updates.iter().enumerate() {
            next.apply_one(update, &mut stage)
                .map_err(|e| e.within(format_args!("updates[{i}]")))?;
        }
        if !Arc::ptr_eq(&next.tags, &self.tags) {
            Arc::make_mut(&mut next.tags).hold_carried(&self.interner);
        }
        Ok(next)
    }

    fn apply_one(
        &mut self,
        update: &Update,
        stage: &mut TagStage<'_>,
    ) -> Result<(), TopologyError> {
        match update {
            Update::SetTags { server, tags } => self.set_tags(server, tags, stage),
            Update::SetAvailable { server, available } => self.set_available(server, *available),
            Update::AddServer(server) => self.add_server(server, stage),
            Update::RemoveServer { server } => self.remove_server(server),
            Update::SetLeader { database, leader } => self.set_leader(database, leader.as_deref()),
            Update::SetDatabase(database) => self.set_database(database),
            Update::RemoveDatabase { database } => self.remove_database(database),
        }
    }

    fn set_tags(
        &mut self,
        server: &str,
        tags: &[String],
        stage: &mut TagStage<'_>,
    ) -> Result<(), TopologyError> {
        let idx = self.require_server(server)?;
        let ids = intern_tags(tags, stage).map_err(|e| e.within("tags"))?;
        let rows = self.rows_for(&ids, self.len())?;
        let matrix = Arc::make_mut(&mut self.tags);
        matrix.clear_server(idx);
        matrix.grow_to(rows);
        for tag in ids {
            matrix.set(tag, idx, true);
        }
        matrix.trim();
        Ok(())
    }

    fn set_available(&mut self, server: &str, available: bool) -> Result<(), TopologyError> {
        let idx = self.require_server(server)?;
        if available {
            self.available.insert(idx);
        } else {
            self.available.remove(idx);
        }
        Ok(())
    }

    fn add_server(
        &mut self,
        spec: &ServerSpec,
        stage: &mut TagStage<'_>,
    ) -> Result<(), TopologyError> {
        let universe = self.len() + 1;
        let idx = ServerIdx::new(self.len())
            .filter(|_| ServerIdx::new(universe).is_some())
            .ok_or_else(|| TopologyError::new("", Kind::TooLarge))?;
        check_server(spec)?;
        if self.index_of(&spec.name).is_some() {
            return Err(TopologyError::new(
                "name",
                Kind::DuplicateName(spec.name.clone()),
            ));
        }
        if self
            .index
            .by_address(&spec.address, &self.servers)
            .is_some()
        {
            let kind = Kind::DuplicateAddress(spec.address.clone());
            return Err(TopologyError::new("address", kind));
        }
        let ids = intern_tags(&spec.tags, stage).map_err(|e| e.within("tags"))?;
        let rows = self.rows_for(&ids, universe)?;
        let mut servers = Vec::with_capacity(universe);
        servers.extend_from_slice(&self.servers);
        servers.push(Server::new(&spec.name, &spec.address));
        Arc::make_mut(&mut self.index).insert(idx, &servers);
        self.servers = servers.into();
        let matrix = Arc::make_mut(&mut self.tags);
        matrix.resize_universe(universe);
        matrix.grow_to(rows);
        for tag in ids {
            matrix.set(tag, idx, true);
        }
        self.available.resize(universe);
        if spec.available {
            self.available.insert(idx);
        }
        self.edit_databases(|db| {
            db.primaries.resize(universe);
            db.secondaries.resize(universe);
        });
        Ok(())
    }

    fn remove_server(&mut self, server: &str) -> Result<(), TopologyError> {
        let idx = self.require_server(server)?;
        let universe = self.len();
        Arc::make_mut(&mut self.index).remove(idx, &self.servers);
        let mut servers = self.servers.to_vec();
        servers.remove(idx.index());
        self.servers = servers.into();
        let matrix = Arc::make_mut(&mut self.tags);
        matrix.remove_server(idx, universe);
        matrix.trim();
        self.available.remove_renumbering(idx);
        self.edit_databases(|db| {
            db.primaries.remove_renumbering(idx);
            db.secondaries.remove_renumbering(idx);
            db.leader = match db.leader {
                Some(leader) if leader == idx => None,
                Some(leader) if leader > idx => ServerIdx::new(leader.index() - 1),
                other => other,
            };
        });
        Ok(())
    }

    fn set_leader(&mut self, database: &str, leader: Option<&str>) -> Result<(), TopologyError> {
        let position = self.require_database(database)?;
        let leader = match (leader, self.databases.get(position)) {
            (Some(name), Some(db)) => Some(
                self.leader_among(name, &db.primaries)
                    .map_err(|e| e.within("leader"))?,
            ),
            _ => None,
        };
        let mut databases = self.databases.to_vec();
        if let Some(db) = databases.get_mut(position) {
            db.leader = leader;
        }
        self.databases = databases.into();
        Ok(())
    }

    /// Adds the database, or replaces the one of the same name in any case (under the name
    /// as `spec` spells it). On error the batch fails, so the names edited here are dropped.
    fn set_database(&mut self, spec: &DatabaseSpec) -> Result<(), TopologyError> {
        let database = self.build_database(spec)?;
        let mut databases = self.databases.to_vec();
        let names = Arc::make_mut(&mut self.names);
        let folded = fold_name(&spec.name);
        let replaced = names.find(&spec.name).filter(|&p| {
            databases
                .get(p)
                .is_some_and(|d| fold_name(&d.name) == folded)
        });
        if let Some(old) = replaced.and_then(|p| databases.get(p)) {
            names.forget(&old.naming());
        }
        let position = replaced.unwrap_or(databases.len());
        names.insert(position, &database.naming())?;
        match databases.get_mut(position) {
            Some(existing) => *existing = database,
            None => databases.push(database),
        }
        self.databases = databases.into();
        Ok(())
    }

    fn remove_database(&mut self, database: &str) -> Result<(), TopologyError> {
        let position = self.require_database(database)?;
        let mut databases = self.databases.to_vec();
        let removed = databases.remove(position);
        Arc::make_mut(&mut self.names).remove(position, &removed.naming());
        self.databases = databases.into();
        Ok(())
    }

    fn edit_databases(&mut self, mut edit: impl FnMut(&mut super::snapshot::Database)) {
        if !self.databases.is_empty() {
            let mut databases = self.databases.to_vec();
            databases.iter_mut().for_each(&mut edit);
            self.databases = databases.into();
        }
    }

    /// The rows the matrix needs to give `ids` a row over `universe` servers, if that fits in
    /// the interner's limit; errors name the field `tags`.
    fn rows_for(&self, ids: &[TagId], universe: usize) -> Result<usize, TopologyError> {
        let highest = ids.iter().max().map_or(0, |t| t.index() + 1);
        let rows = self.tags.tag_count().max(highest);
        check_size(rows, universe, &self.interner)
            .map_err(|e| TopologyError::new("tags", Kind::TooManyTags(e)))?;
        Ok(rows)
    }

    fn require_server(&self, name: &str) -> Result<ServerIdx, TopologyError> {
        self.index_of(name)
            .ok_or_else(|| TopologyError::new("server", Kind::UnknownServer(name.into())))
    }

    /// The position of the database called `name`, in any case (not one of its aliases: an
    /// update names what it changes).
    fn require_database(&self, name: &str) -> Result<usize, TopologyError> {
        let folded = fold_name(name);
        self.names
            .find(name)
            .filter(|&p| {
                self.databases
                    .get(p)
                    .is_some_and(|d| fold_name(&d.name) == folded)
            })
            .ok_or_else(|| TopologyError::new("database", Kind::UnknownDatabase(name.into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::testing::cluster;
    use crate::topology::{Database, TagInterner, TopologySpec};

    /// Two snapshots describe the same cluster, down to the layout of the tag matrix.
    pub(crate) fn assert_same(a: &Snapshot, b: &Snapshot) {
        assert_eq!(a.servers, b.servers, "servers");
        assert_eq!(a.index, b.index, "name and address index");
        assert_eq!(a.tags, b.tags, "tag matrix");
        assert_eq!(a.available, b.available, "available");
        assert_eq!(a.databases, b.databases, "databases");
        assert_eq!(a.names, b.names, "database names");
        assert!(a.interner.same_as(&b.interner));
    }

    /// `snapshot` equals a rebuild from its own description on its interner.
    fn assert_rebuilds(snapshot: &Snapshot) {
        let rebuilt = Snapshot::build(&snapshot.to_spec(), snapshot.interner()).expect("valid");
        assert_same(snapshot, &rebuilt);
    }

    fn set_tags(server: &str, tags: &[&str]) -> Update {
        Update::SetTags {
            server: server.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn three() -> Snapshot {
        cluster()
            .server("a", &["north"])
            .server("b", &["south"])
            .server("c", &["north", "east"])
            .database("neo4j", &["a", "b"], &["c"], Some("b"))
            .snapshot()
    }

    #[test]
    fn set_tags_replaces_one_servers_tags_and_keeps_rows_to_the_highest_carried() {
        let before = three();
        let next = before
            .apply(&[set_tags("c", &["south", "gpu"])])
            .expect("valid");
        assert_eq!(next.epoch(), 1);
        assert_eq!(next.names(&next.tagged_by_name("south")), ["b", "c"]);
        assert_eq!(next.names(&next.tagged_by_name("north")), ["a"]);
        assert!(next.tagged_by_name("east").is_empty());
        assert_eq!(next.tag_matrix().tag_count(), 4, "rows up to `gpu`");
        let bare = next.apply(&[set_tags("c", &[])]).expect("valid");
        assert_eq!(bare.tag_matrix().tag_count(), 2, "no row past `south`");
        assert_eq!(
            before.names(&before.tagged_by_name("east")),
            ["c"],
            "unchanged"
        );
        assert_rebuilds(&next);
        assert_rebuilds(&bare);
    }

    #[test]
    fn set_available_marks_one_server() {
        let next = three()
            .apply(&[Update::SetAvailable {
                server: "a".into(),
                available: false,
            }])
            .expect("valid");
        assert_eq!(next.names(next.available()), ["b", "c"]);
        let back = next
            .apply(&[Update::SetAvailable {
                server: "a".into(),
                available: true,
            }])
            .expect("valid");
        assert_eq!(back.names(back.available()), ["a", "b", "c"]);
    }

    #[test]
    fn add_server_appends_and_widens_every_set_across_a_word() {
        let base = cluster().servers(64).database("d", &["s0"], &["s63"], None);
        let next = base
            .snapshot()
            .apply(&[Update::AddServer(
                ServerSpec::new("s64", "s64:7687")
                    .with_tags(["edge"])
                    .with_available(false),
            )])
            .expect("valid");
        assert_eq!(next.len(), 65);
        let idx = next.index_of("s64").expect("added");
        assert_eq!(idx.index(), 64);
        assert_eq!(next.names(&next.tagged_by_name("edge")), ["s64"]);
        assert!(!next.is_available(idx) && next.available().len() == 64);
        let db = next.database("d").expect("kept");
        assert_eq!(
            (db.primaries().universe(), db.secondaries().universe()),
            (65, 65)
        );
        assert_eq!(next.names(db.secondaries()), ["s63"]);
        assert_rebuilds(&next);
    }

    #[test]
    fn remove_server_renumbers_the_rest_and_leaves_its_databases() {
        let before = cluster()
            .servers(66)
            .server("t", &["north"])
            .database("d", &["s1", "s64", "s65"], &["t"], Some("s64"))
            .database("e", &["s65"], &[], Some("s65"))
            .snapshot();
        let next = before
            .apply(&[Update::RemoveServer {
                server: "s1".into(),
            }])
            .expect("valid");
        assert_eq!(next.len(), 66);
        assert_eq!(next.index_of("s1"), None);
        assert_eq!(next.index_of("t").map(ServerIdx::index), Some(65));
        assert_eq!(next.names(&next.tagged_by_name("north")), ["t"]);
        let d = next.database("d").expect("kept");
        assert_eq!(next.names(d.primaries()), ["s64", "s65"]);
        assert_eq!(
            d.leader().and_then(|l| next.server(l)).map(Server::name),
            Some("s64")
        );
        assert_rebuilds(&next);
        let gone = next
            .apply(&[Update::RemoveServer {
                server: "s65".into(),
            }])
            .expect("valid");
        assert_eq!(
            gone.database("e")
                .map(|e| (e.primaries().len(), e.leader())),
            Some((0, None))
        );
        assert_rebuilds(&gone);
        let down = gone
            .apply(&[Update::RemoveServer { server: "t".into() }])
            .expect("valid");
        assert_eq!(down.tag_matrix().tag_count(), 0, "nobody carries `north`");
        assert_rebuilds(&down);
    }

    #[test]
    fn set_leader_moves_or_clears_the_leader_among_primaries() {
        let next = three()
            .apply(&[Update::SetLeader {
                database: "neo4j".into(),
                leader: Some("a".into()),
            }])
            .expect("valid");
        let leader = next.database("neo4j").and_then(Database::leader);
        assert_eq!(leader, next.index_of("a"));
        let err = next
            .apply(&[Update::SetLeader {
                database: "neo4j".into(),
                leader: Some("c".into()),
            }])
            .expect_err("a secondary");
        assert_eq!(
            err.to_string(),
            "updates[0].leader: leader `c` is not one of the database's primaries"
        );
        let none = next
            .apply(&[Update::SetLeader {
                database: "neo4j".into(),
                leader: None,
            }])
            .expect("valid");
        assert_eq!(none.database("neo4j").and_then(Database::leader), None);
    }

    #[test]
    fn set_database_adds_or_replaces_by_name() {
        let spec = |name: &str, primaries: &[&str], leader: Option<&str>| DatabaseSpec {
            name: name.into(),
            primaries: primaries.iter().map(|s| s.to_string()).collect(),
            secondaries: vec![],
            leader: leader.map(str::to_owned),
            ..DatabaseSpec::default()
        };
        let added = three()
            .apply(&[Update::SetDatabase(spec("system", &["c"], Some("c")))])
            .expect("valid");
        let names: Vec<&str> = added.databases().iter().map(Database::name).collect();
        assert_eq!(names, ["neo4j", "system"]);
        let replaced = added
            .apply(&[Update::SetDatabase(spec("neo4j", &["c", "a"], None))])
            .expect("valid");
        let db = replaced.database("neo4j").expect("kept");
        assert_eq!(replaced.names(db.primaries()), ["a", "c"]);
        assert_eq!((db.secondaries().len(), db.leader()), (0, None));
        assert_eq!(
            replaced.databases().first().map(Database::name),
            Some("neo4j")
        );
        assert_rebuilds(&replaced);
        let err = added
            .apply(&[Update::SetDatabase(spec("x", &["a", "zz"], None))])
            .expect_err("unknown server");
        assert_eq!(
            err.to_string(),
            "updates[0].primaries[1]: unknown server `zz`"
        );
    }

    #[test]
    fn databases_are_found_by_name_or_alias_in_any_case_and_updates_keep_the_names() {
        let named = |name: &str, aliases: &[&str], default: bool| DatabaseSpec {
            name: name.into(),
            primaries: vec!["a".into()],
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            default,
            ..DatabaseSpec::default()
        };
        let start = three()
            .apply(&[Update::SetDatabase(named("Sales", &["Shop"], false))])
            .expect("valid");
        assert_eq!(start.database("sales").map(Database::name), Some("Sales"));
        assert_eq!(start.database("SHOP").map(Database::name), Some("Sales"));
        assert!(start.default_database().is_none());
        // Replaced in any case, under the new spelling, with new aliases and the default.
        let renamed = start
            .apply(&[Update::SetDatabase(named("sales", &["store"], true))])
            .expect("valid");
        assert_eq!(renamed.databases().len(), 2);
        assert_eq!(renamed.database("SALES").map(Database::name), Some("sales"));
        assert!(renamed.database("shop").is_none());
        assert_eq!(renamed.database("Store").map(Database::name), Some("sales"));
        assert_eq!(
            renamed.default_database().map(Database::name),
            Some("sales")
        );
        assert_rebuilds(&renamed);
        // An update names a database by its name, not an alias.
        let err = renamed
            .apply(&[Update::RemoveDatabase {
                database: "store".into(),
            }])
            .expect_err("an alias");
        assert_eq!(
            err.to_string(),
            "updates[0].database: unknown database `store`"
        );
        let err = renamed
            .apply(&[Update::SetDatabase(named("x", &["NEO4J"], false))])
            .expect_err("taken");
        assert_eq!(
            err.to_string(),
            "updates[0].aliases[0]: the name `NEO4J` is taken by another database or alias"
        );
        let err = renamed
            .apply(&[Update::SetDatabase(named("x", &[], true))])
            .expect_err("a second default");
        assert_eq!(
            err.to_string(),
            "updates[0].default: `sales` is the default database already"
        );
        let removed = renamed
            .apply(&[Update::RemoveDatabase {
                database: "neo4j".into(),
            }])
            .expect("valid");
        assert_eq!(removed.database("store").map(Database::name), Some("sales"));
        assert_eq!(
            removed.default_database().map(Database::name),
            Some("sales")
        );
        assert_rebuilds(&removed);
    }

    #[test]
    fn remove_database_forgets_it() {
        let next = three()
            .apply(&[Update::RemoveDatabase {
                database: "neo4j".into(),
            }])
            .expect("valid");
        assert!(next.databases().is_empty());
        let err = next
            .apply(&[Update::RemoveDatabase {
                database: "neo4j".into(),
            }])
            .expect_err("gone");
        assert_eq!(
            err.to_string(),
            "updates[0].database: unknown database `neo4j`"
        );
    }

    #[test]
    fn errors_name_the_update_and_field() {
        let before = three();
        let cases = [
            (set_tags("a", &["ok", "a b"]), "updates[1].tags[1]"),
            (set_tags("a", &["x", "x"]), "updates[1].tags[1]"),
            (set_tags("zz", &[]), "updates[1].server"),
            (
                Update::AddServer(ServerSpec::new("a", "n:1")),
                "updates[1].name",
            ),
            (
                Update::AddServer(ServerSpec::new("n", "a:7687")),
                "updates[1].address",
            ),
            (
                Update::AddServer(ServerSpec::new("n", "n 1:1")),
                "updates[1].address",
            ),
            (
                Update::AddServer(ServerSpec::new("", "n:1")),
                "updates[1].name",
            ),
            (
                Update::SetDatabase(DatabaseSpec::default()),
                "updates[1].name",
            ),
        ];
        for (bad, field) in cases {
            let batch = [set_tags("b", &["fine"]), bad];
            let err = before.apply(&batch).expect_err("rejected");
            assert_eq!(err.field(), field, "{err}");
        }
    }

    /// Issue 14: a rejected batch left its tags interned (1 → 1,001 tags).
    #[test]
    fn a_rejected_batch_interns_nothing() {
        let snapshot = cluster().server("a", &["north"]).snapshot();
        let interner = snapshot.interner().clone();
        let mut batch: Vec<Update> = (0..1000)
            .map(|i| {
                Update::AddServer(
                    ServerSpec::new(format!("n{i}"), format!("n{i}:1"))
                        .with_tags([format!("t{i}")]),
                )
            })
            .collect();
        batch.push(Update::RemoveServer {
            server: "nobody".into(),
        });
        assert!(snapshot.apply(&batch).is_err());
        assert_eq!(interner.len(), 1);
        batch.pop();
        let next = snapshot.apply(&batch).expect("valid");
        assert_eq!(
            (interner.len(), next.tag_matrix().tag_count()),
            (1001, 1001)
        );
    }

    /// Issue 22: one change could add at most 4,096 new tags.
    #[test]
    fn one_batch_adds_any_number_of_tags_its_matrix_has_room_for() {
        let snapshot = cluster().server("a", &[]).snapshot();
        let tags: Vec<String> = (0..5000).map(|i| format!("t{i}")).collect();
        let set = |tags: &[String]| {
            [Update::SetTags {
                server: "a".into(),
                tags: tags.to_vec(),
            }]
        };
        let next = snapshot.apply(&set(&tags)).expect("no cap on new tags");
        assert_eq!(next.tag_names_of(ServerIdx::new(0).expect("a")).len(), 5000);
        // One word per row: 5,000 rows are 40,000 bytes; a limit of 39,936 leaves room for 4,992.
        let small = Snapshot::build(
            &cluster().server("a", &[]).spec(),
            &TagInterner::with_matrix_limit(39_936),
        )
        .expect("valid");
        let err = small.apply(&set(&tags)).expect_err("over the limit");
        assert_eq!(
            err.to_string(),
            "updates[0].tags: 5000 tag rows over 1 servers need a tag matrix of 39.1 KiB, more \
             than its limit of 39.0 KiB"
        );
        assert!(small.interner().is_empty(), "and interned nothing");
        assert!(small.apply(&set(&tags[..4992])).is_ok());
    }

    /// Issue 22: a server named " " or "a\u{0}b" was accepted (the admin API applies updates
    /// through here).
    #[test]
    fn names_of_blanks_or_with_control_characters_are_refused() {
        let before = three();
        let cases = [
            (" ", "` ` is not a valid name: it is only blanks"),
            (
                "\u{3000}\t",
                "`\\u{3000}\\t` is not a valid name: it holds a control character",
            ),
            (
                "a\u{0}b",
                "`a\\0b` is not a valid name: it holds a control character",
            ),
            (
                "a\u{85}",
                "`a\\u{85}` is not a valid name: it holds a control character",
            ),
        ];
        for (name, message) in cases {
            let add = Update::AddServer(ServerSpec::new(name, "z:7687"));
            let err = before.apply(&[add]).expect_err(name);
            assert_eq!(err.to_string(), format!("updates[0].name: {message}"));
            let db = Update::SetDatabase(DatabaseSpec {
                name: name.into(),
                ..DatabaseSpec::default()
            });
            let err = before.apply(&[db]).expect_err(name);
            assert_eq!(err.to_string(), format!("updates[0].name: {message}"));
        }
        let fine = Update::AddServer(ServerSpec::new("rack 2, slot 3 ñ", "z:7687"));
        assert!(before.apply(&[fine]).is_ok());
    }

    #[test]
    fn tags_only_policies_name_add_no_rows() {
        let snapshot = cluster().server("a", &["north"]).snapshot();
        snapshot.interner().intern("policy-only").expect("room");
        let next = snapshot
            .apply(&[set_tags("a", &["north", "south"])])
            .expect("valid");
        assert_eq!(next.tag_matrix().tag_count(), 3);
        let back = next.apply(&[set_tags("a", &["north"])]).expect("valid");
        assert_eq!(
            back.tag_matrix().tag_count(),
            1,
            "the policy's tag has no row"
        );
    }

    #[test]
    fn replace_publishes_a_new_description_on_the_same_interner() {
        let topology = cluster().server("a", &["north"]).topology();
        let interner = topology.interner().clone();
        let next = topology
            .replace(&cluster().server("b", &["south"]).spec())
            .expect("valid");
        assert_eq!((next.epoch(), next.names(&next.all())), (1, vec!["b"]));
        assert!(next.interner().same_as(&interner));
        assert_eq!(next.interner().get("south").map(|t| t.index()), Some(1));
        assert_eq!(
            next.interner().get("north"),
            None,
            "no snapshot holds it any more"
        );
        let err = topology
            .replace(&cluster().server("c", &["new"]).server("c", &[]).spec())
            .expect_err("duplicate");
        assert_eq!(err.field(), "servers[1].name");
        assert_eq!(
            topology.snapshot().epoch(),
            1,
            "the failed replace published nothing"
        );
        assert_eq!(interner.get("new"), None, "nor interned anything");
    }

    mod model {
        //! The update semantics: a random batch of updates equals rebuilding from the updated
        //! description, and every server the batch does not name keeps its tags, roles and
        //! availability.

        use std::collections::BTreeSet;

        use proptest::prelude::*;

        use super::*;

        const TAGS: [&str; 5] = ["t0", "t1", "t2", "t3", "bad tag"];

        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                (0..6u32).prop_map(|i| format!("s{i}")),
                (62..66u32).prop_map(|i| format!("s{i}")),
                (0..3u32).prop_map(|i| format!("n{i}")),
            ]
        }

        fn tags() -> impl Strategy<Value = Vec<String>> {
            proptest::collection::vec(
                prop_oneof![8 => 0..4usize, 1 => Just(4usize)].prop_map(|i| TAGS[i].to_owned()),
                0..3,
            )
        }

        fn database() -> impl Strategy<Value = String> {
            (0..3u32).prop_map(|i| format!("d{i}"))
        }

        fn update() -> impl Strategy<Value = Update> {
            let names = || proptest::collection::vec(name(), 0..3);
            prop_oneof![
                (name(), tags()).prop_map(|(server, tags)| Update::SetTags { server, tags }),
                (name(), any::<bool>())
                    .prop_map(|(server, available)| Update::SetAvailable { server, available }),
                (name(), tags(), any::<bool>()).prop_map(|(n, tags, up)| Update::AddServer(
                    ServerSpec::new(n.clone(), format!("{n}:7687"))
                        .with_tags(tags)
                        .with_available(up)
                )),
                name().prop_map(|server| Update::RemoveServer { server }),
                (database(), proptest::option::of(name()))
                    .prop_map(|(database, leader)| Update::SetLeader { database, leader }),
                (database(), names(), names(), proptest::option::of(name())).prop_map(
                    |(name, primaries, secondaries, leader)| {
                        Update::SetDatabase(DatabaseSpec {
                            name,
                            primaries,
                            secondaries,
                            leader,
                            ..DatabaseSpec::default()
                        })
                    }
                ),
                database().prop_map(|database| Update::RemoveDatabase { database }),
            ]
        }

        /// The update applied to the description, as the old rebuild did; `false` for a name
        /// the description does not have.
        fn apply_to_spec(spec: &mut TopologySpec, update: &Update) -> bool {
            let server = |spec: &mut TopologySpec, name: &str| {
                spec.servers.iter().position(|s| s.name == name)
            };
            match update {
                Update::SetTags { server: name, tags } => match server(spec, name) {
                    Some(i) => spec.servers[i].tags = tags.clone(),
                    None => return false,
                },
                Update::SetAvailable {
                    server: name,
                    available,
                } => match server(spec, name) {
                    Some(i) => spec.servers[i].available = *available,
                    None => return false,
                },
                Update::AddServer(added) => spec.servers.push(added.clone()),
                Update::RemoveServer { server: name } => {
                    let Some(i) = server(spec, name) else {
                        return false;
                    };
                    spec.servers.remove(i);
                    for db in &mut spec.databases {
                        db.primaries.retain(|s| s != name);
                        db.secondaries.retain(|s| s != name);
                        db.leader = db.leader.take().filter(|l| l != name);
                    }
                }
                Update::SetLeader { database, leader } => {
                    match spec.databases.iter_mut().find(|d| &d.name == database) {
                        Some(db) => db.leader = leader.clone(),
                        None => return false,
                    }
                }
                Update::SetDatabase(db) => {
                    match spec.databases.iter_mut().find(|d| d.name == db.name) {
                        Some(existing) => *existing = db.clone(),
                        None => spec.databases.push(db.clone()),
                    }
                }
                Update::RemoveDatabase { database } => {
                    let before = spec.databases.len();
                    spec.databases.retain(|d| &d.name != database);
                    return spec.databases.len() < before;
                }
            }
            true
        }

        /// The model: each update on the description, which must still build.
        fn model(spec: &TopologySpec, updates: &[Update]) -> Option<TopologySpec> {
            let mut spec = spec.clone();
            let interner = TagInterner::new();
            for update in updates {
                if !apply_to_spec(&mut spec, update) || Snapshot::build(&spec, &interner).is_err() {
                    return None;
                }
            }
            Some(spec)
        }

        /// What a batch leaves alone: servers it does not name and databases it does not touch.
        fn untouched(updates: &[Update]) -> (BTreeSet<&str>, BTreeSet<&str>) {
            let (mut servers, mut databases) = (BTreeSet::new(), BTreeSet::new());
            for update in updates {
                match update {
                    Update::SetTags { server, .. }
                    | Update::SetAvailable { server, .. }
                    | Update::RemoveServer { server } => {
                        servers.insert(server.as_str());
                    }
                    Update::AddServer(s) => {
                        servers.insert(s.name.as_str());
                    }
                    Update::SetLeader { database, .. } | Update::RemoveDatabase { database } => {
                        databases.insert(database.as_str());
                    }
                    Update::SetDatabase(db) => {
                        databases.insert(db.name.as_str());
                    }
                }
            }
            (servers, databases)
        }

        /// A server's tags, availability and role in each database, by name.
        fn facts(
            snapshot: &Snapshot,
            name: &str,
            skip: &BTreeSet<&str>,
        ) -> (Vec<String>, bool, Vec<(String, u8)>) {
            let idx = snapshot.index_of(name).expect("present");
            let mut tags: Vec<String> = snapshot
                .tag_names_of(idx)
                .iter()
                .map(|t| t.to_string())
                .collect();
            tags.sort();
            let roles = snapshot
                .databases()
                .iter()
                .filter(|d| !skip.contains(d.name()))
                .map(|d| {
                    let role = u8::from(d.primaries().contains(idx))
                        + 2 * u8::from(d.secondaries().contains(idx))
                        + 4 * u8::from(d.leader() == Some(idx));
                    (d.name().to_owned(), role)
                })
                .collect();
            (tags, snapshot.is_available(idx), roles)
        }

        fn initial() -> impl Strategy<Value = TopologySpec> {
            (
                prop_oneof![0..4usize, 62..67usize],
                proptest::collection::vec(tags(), 67),
            )
                .prop_map(|(n, tags)| {
                    let mut spec = TopologySpec::default();
                    for (i, tags) in tags.into_iter().take(n).enumerate() {
                        let mut tags: Vec<String> =
                            tags.into_iter().filter(|t| t != "bad tag").collect();
                        tags.sort();
                        tags.dedup();
                        spec.servers.push(
                            ServerSpec::new(format!("s{i}"), format!("s{i}:7687")).with_tags(tags),
                        );
                    }
                    let first = spec
                        .servers
                        .iter()
                        .take(2)
                        .map(|s| s.name.clone())
                        .collect::<Vec<_>>();
                    spec.databases.push(DatabaseSpec {
                        name: "d0".into(),
                        leader: first.first().cloned(),
                        primaries: first,
                        secondaries: spec
                            .servers
                            .iter()
                            .skip(60)
                            .map(|s| s.name.clone())
                            .collect(),
                        ..DatabaseSpec::default()
                    });
                    spec
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 1500,
                rng_seed: proptest::test_runner::RngSeed::Fixed(10),
                ..ProptestConfig::default()
            })]
            #[test]
            fn a_batch_equals_a_rebuild_and_spares_everyone_else(
                spec in initial(),
                updates in proptest::collection::vec(update(), 1..6),
            ) {
                let before = Snapshot::build(&spec, &TagInterner::new()).expect("valid start");
                let interned = before.interner().len();
                let applied = before.apply(&updates);
                let expected = model(&spec, &updates);
                prop_assert_eq!(applied.is_ok(), expected.is_some(), "{:?}", applied);
                let Some(expected) = expected else {
                    prop_assert_eq!(before.interner().len(), interned, "a rejected batch interned");
                    return Ok(());
                };
                let after = applied.expect("accepted");
                assert_same(&after, &Snapshot::build(&expected, after.interner()).expect("valid"));
                prop_assert_eq!(after.epoch(), 1);
                let (named, touched) = untouched(&updates);
                for server in before.servers().iter().map(Server::name).filter(|n| !named.contains(n)) {
                    prop_assert_eq!(facts(&before, server, &touched), facts(&after, server, &touched));
                }
            }
        }
    }
}
