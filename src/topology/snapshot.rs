//! Immutable, epoch-numbered snapshots of a cluster, and the updates that make new ones.
//!
//! A snapshot holds, for every interned tag, a row of bits over server indices (all rows in one
//! contiguous tag-major matrix), the available set, and per database its primaries, secondaries
//! and leader. A server's tags are not stored twice: they are the rows with its bit set.
//! Snapshots share their unchanged parts (`Arc`), so the common update — one server's tags or
//! state — copies one matrix of `tags × servers / 64` words and nothing per server.

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::error::{TopologyError, TopologyErrorKind as Kind};
use super::matrix::TagMatrix;
use super::server_set::{ServerIdx, ServerSet};
use super::spec::{DatabaseSpec, ServerSpec, TopologySpec};
use super::tags::{TagId, TagInterner};

/// A server of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    name: Arc<str>,
    address: Box<str>,
}

impl Server {
    /// The server's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its Bolt address, `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

/// A database of a snapshot: who hosts it, in which role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    name: Box<str>,
    primaries: ServerSet,
    secondaries: ServerSet,
    leader: Option<ServerIdx>,
}

impl Database {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The servers hosting it as primaries.
    pub fn primaries(&self) -> &ServerSet {
        &self.primaries
    }

    /// The servers hosting it as secondaries.
    pub fn secondaries(&self) -> &ServerSet {
        &self.secondaries
    }

    /// Its leader, if it has one.
    pub fn leader(&self) -> Option<ServerIdx> {
        self.leader
    }

    /// Whether `server` hosts the database in either role.
    pub fn hosts(&self, server: ServerIdx) -> bool {
        self.primaries.contains(server) || self.secondaries.contains(server)
    }
}

/// One immutable state of the cluster. Cheap to share (`Arc<Snapshot>`); never changes.
#[derive(Clone, Debug)]
pub struct Snapshot {
    epoch: u64,
    interner: TagInterner,
    servers: Arc<[Server]>,
    by_name: Arc<FxHashMap<Arc<str>, ServerIdx>>,
    tags: Arc<TagMatrix>,
    available: ServerSet,
    databases: Arc<[Database]>,
}

/// A change to a cluster; [`Snapshot::apply`] makes a new snapshot from a batch of them.
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
    /// Remove a server from the cluster and from every database it hosts.
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
    /// Builds epoch 0 of a cluster, interning its tags in `interner`.
    pub fn build(spec: &TopologySpec, interner: &TagInterner) -> Result<Snapshot, TopologyError> {
        Snapshot::build_at(spec, interner, 0)
    }

    fn build_at(
        spec: &TopologySpec,
        interner: &TagInterner,
        epoch: u64,
    ) -> Result<Snapshot, TopologyError> {
        let universe = spec.servers.len();
        if ServerIdx::new(universe).is_none() {
            return Err(TopologyError::new("servers", Kind::TooLarge));
        }
        let mut servers = Vec::with_capacity(universe);
        let mut by_name = FxHashMap::default();
        let mut addresses = HashMap::new();
        let mut memberships = Vec::new();
        let mut available = ServerSet::empty(universe);
        for (i, server) in spec.servers.iter().enumerate() {
            let field = format!("servers[{i}]");
            let idx =
                ServerIdx::new(i).ok_or_else(|| TopologyError::new(&field, Kind::TooLarge))?;
            check_name(&format!("{field}.name"), &server.name)?;
            check_address(&format!("{field}.address"), &server.address)?;
            let name: Arc<str> = Arc::from(server.name.as_str());
            if by_name.insert(Arc::clone(&name), idx).is_some() {
                return Err(TopologyError::new(
                    format!("{field}.name"),
                    Kind::DuplicateName(server.name.clone()),
                ));
            }
            if addresses.insert(server.address.as_str(), i).is_some() {
                return Err(TopologyError::new(
                    format!("{field}.address"),
                    Kind::DuplicateAddress(server.address.clone()),
                ));
            }
            for tag in intern_tags(&format!("{field}.tags"), &server.tags, interner)? {
                memberships.push((tag, idx));
            }
            if server.available {
                available.insert(idx);
            }
            servers.push(Server {
                name,
                address: server.address.as_str().into(),
            });
        }
        let mut tags = TagMatrix::new(interner.len(), universe);
        for (tag, idx) in memberships {
            tags.set(tag, idx, true);
        }
        let mut snapshot = Snapshot {
            epoch,
            interner: interner.clone(),
            servers: servers.into(),
            by_name: Arc::new(by_name),
            tags: Arc::new(tags),
            available,
            databases: Arc::from(Vec::new()),
        };
        let databases = spec
            .databases
            .iter()
            .enumerate()
            .map(|(i, db)| snapshot.build_database(&format!("databases[{i}]"), db))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(i) = duplicate_position(databases.iter().map(|d| &d.name)) {
            let name = databases
                .get(i)
                .map(|d| d.name.to_string())
                .unwrap_or_default();
            return Err(TopologyError::new(
                format!("databases[{i}].name"),
                Kind::DuplicateDatabase(name),
            ));
        }
        snapshot.databases = databases.into();
        Ok(snapshot)
    }

    fn build_database(&self, field: &str, spec: &DatabaseSpec) -> Result<Database, TopologyError> {
        check_name(&format!("{field}.name"), &spec.name)?;
        let mut members = ServerSet::empty(self.len());
        let mut role = |list: &[String], role: &str| -> Result<ServerSet, TopologyError> {
            let mut set = ServerSet::empty(self.len());
            for (j, name) in list.iter().enumerate() {
                let at = format!("{field}.{role}[{j}]");
                let idx = self
                    .index_of(name)
                    .ok_or_else(|| TopologyError::new(&at, Kind::UnknownServer(name.clone())))?;
                if !members.insert(idx) {
                    return Err(TopologyError::new(at, Kind::DuplicateMember(name.clone())));
                }
                set.insert(idx);
            }
            Ok(set)
        };
        let primaries = role(&spec.primaries, "primaries")?;
        let secondaries = role(&spec.secondaries, "secondaries")?;
        let leader = match &spec.leader {
            None => None,
            Some(name) => Some(self.leader_among(&format!("{field}.leader"), name, &primaries)?),
        };
        Ok(Database {
            name: spec.name.as_str().into(),
            primaries,
            secondaries,
            leader,
        })
    }

    fn leader_among(
        &self,
        field: &str,
        name: &str,
        primaries: &ServerSet,
    ) -> Result<ServerIdx, TopologyError> {
        let idx = self
            .index_of(name)
            .ok_or_else(|| TopologyError::new(field, Kind::UnknownServer(name.into())))?;
        if !primaries.contains(idx) {
            return Err(TopologyError::new(
                field,
                Kind::LeaderNotPrimary(name.into()),
            ));
        }
        Ok(idx)
    }

    pub(crate) fn with_epoch(mut self, epoch: u64) -> Snapshot {
        self.epoch = epoch;
        self
    }

    /// The snapshot's number: each published update adds one.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The interner that numbers this snapshot's tags.
    pub fn interner(&self) -> &TagInterner {
        &self.interner
    }

    /// The number of servers.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether the cluster has no server.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The servers, in index order.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The server at `idx`.
    pub fn server(&self, idx: ServerIdx) -> Option<&Server> {
        self.servers.get(idx.index())
    }

    /// The index of the server called `name`.
    pub fn index_of(&self, name: &str) -> Option<ServerIdx> {
        self.by_name.get(name).copied()
    }

    /// The available servers.
    pub fn available(&self) -> &ServerSet {
        &self.available
    }

    /// Whether server `idx` is available.
    pub fn is_available(&self, idx: ServerIdx) -> bool {
        self.available.contains(idx)
    }

    /// Every server of the snapshot, as a set.
    pub fn all(&self) -> ServerSet {
        ServerSet::full(self.len())
    }

    /// The tags of server `idx`, in id order.
    pub fn tags_of(&self, idx: ServerIdx) -> Vec<TagId> {
        (0..self.tags.tag_count())
            .filter_map(TagId::new)
            .filter(|&t| self.tags.has(t, idx))
            .collect()
    }

    /// The tag names of server `idx`, in id order.
    pub fn tag_names_of(&self, idx: ServerIdx) -> Vec<Arc<str>> {
        self.tags_of(idx)
            .into_iter()
            .filter_map(|t| self.interner.name(t))
            .collect()
    }

    /// The servers carrying `tag` (empty for a tag no server carries or the snapshot predates).
    pub fn tagged(&self, tag: TagId) -> ServerSet {
        let mut set = ServerSet::empty(self.len());
        if let Some(row) = self.tags.row(tag) {
            set.words_mut().copy_from_slice(row);
        }
        set
    }

    /// The servers carrying the tag called `name`.
    pub fn tagged_by_name(&self, name: &str) -> ServerSet {
        match self.interner.get(name) {
            Some(tag) => self.tagged(tag),
            None => ServerSet::empty(self.len()),
        }
    }

    pub(crate) fn tag_matrix(&self) -> &TagMatrix {
        &self.tags
    }

    /// The databases, in the order they were described.
    pub fn databases(&self) -> &[Database] {
        &self.databases
    }

    /// The database called `name`.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|d| &*d.name == name)
    }

    /// The names of `set`'s servers, in index order.
    pub fn names(&self, set: &ServerSet) -> Vec<&str> {
        set.iter()
            .filter_map(|i| self.server(i))
            .map(Server::name)
            .collect()
    }

    /// The set of the servers with these names; the first unknown name is the error.
    pub fn set_of<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<ServerSet, &'n str> {
        let mut set = ServerSet::empty(self.len());
        for name in names {
            set.insert(self.index_of(name).ok_or(name)?);
        }
        Ok(set)
    }

    /// The description this snapshot was built from (tags in id order).
    pub fn to_spec(&self) -> TopologySpec {
        let servers = self
            .servers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((ServerIdx::new(i)?, s)))
            .map(|(i, s)| ServerSpec {
                name: s.name.to_string(),
                address: s.address.to_string(),
                tags: self.tag_names_of(i).iter().map(|t| t.to_string()).collect(),
                available: self.is_available(i),
            })
            .collect();
        let names = |set: &ServerSet| self.names(set).into_iter().map(str::to_owned).collect();
        let databases = self
            .databases
            .iter()
            .map(|d| DatabaseSpec {
                name: d.name.to_string(),
                primaries: names(&d.primaries),
                secondaries: names(&d.secondaries),
                leader: d
                    .leader
                    .and_then(|l| self.server(l))
                    .map(|s| s.name.to_string()),
            })
            .collect();
        TopologySpec { servers, databases }
    }

    /// A new snapshot with `updates` applied in order, its epoch one more than this one's.
    /// Either every update applies or none does; the error names the update and field.
    pub fn apply(&self, updates: &[Update]) -> Result<Snapshot, TopologyError> {
        let mut next = self.clone();
        next.epoch = self.epoch + 1;
        for (i, update) in updates.iter().enumerate() {
            next.apply_one(&format!("updates[{i}]"), update)?;
        }
        Ok(next)
    }

    fn apply_one(&mut self, field: &str, update: &Update) -> Result<(), TopologyError> {
        match update {
            Update::SetTags { server, tags } => {
                let idx = self.require_server(&format!("{field}.server"), server)?;
                let ids = intern_tags(&format!("{field}.tags"), tags, &self.interner)?;
                let matrix = Arc::make_mut(&mut self.tags);
                matrix.grow_to(self.interner.len());
                for tag in (0..matrix.tag_count()).filter_map(TagId::new) {
                    matrix.set(tag, idx, false);
                }
                for tag in ids {
                    matrix.set(tag, idx, true);
                }
            }
            Update::SetAvailable { server, available } => {
                let idx = self.require_server(&format!("{field}.server"), server)?;
                if *available {
                    self.available.insert(idx)
                } else {
                    self.available.remove(idx)
                };
            }
            Update::SetLeader { database, leader } => {
                let at = format!("{field}.database");
                let position = self.require_database(&at, database)?;
                let leader = match leader {
                    None => None,
                    Some(name) => {
                        let primaries = self
                            .databases
                            .get(position)
                            .map(|d| d.primaries.clone())
                            .unwrap_or_default();
                        Some(self.leader_among(&format!("{field}.leader"), name, &primaries)?)
                    }
                };
                let mut databases = self.databases.to_vec();
                if let Some(db) = databases.get_mut(position) {
                    db.leader = leader;
                }
                self.databases = databases.into();
            }
            _ => self.rebuild_with(field, update)?,
        }
        Ok(())
    }

    /// Updates that renumber servers or change roles go through the description and a full
    /// rebuild, which checks everything again.
    fn rebuild_with(&mut self, field: &str, update: &Update) -> Result<(), TopologyError> {
        let mut spec = self.to_spec();
        match update {
            Update::AddServer(server) => spec.servers.push(server.clone()),
            Update::RemoveServer { server } => {
                self.require_server(&format!("{field}.server"), server)?;
                spec.servers.retain(|s| &s.name != server);
                for db in &mut spec.databases {
                    db.primaries.retain(|s| s != server);
                    db.secondaries.retain(|s| s != server);
                    db.leader = db.leader.take().filter(|l| l != server);
                }
            }
            Update::SetDatabase(database) => {
                match spec.databases.iter_mut().find(|d| d.name == database.name) {
                    Some(existing) => *existing = database.clone(),
                    None => spec.databases.push(database.clone()),
                }
            }
            Update::RemoveDatabase { database } => {
                self.require_database(&format!("{field}.database"), database)?;
                spec.databases.retain(|d| &d.name != database);
            }
            Update::SetTags { .. } | Update::SetAvailable { .. } | Update::SetLeader { .. } => {}
        }
        let rebuilt = Snapshot::build_at(&spec, &self.interner, self.epoch).map_err(|e| {
            TopologyError::new(format!("{field} ({})", e.field()), e.kind().clone())
        })?;
        *self = rebuilt;
        Ok(())
    }

    fn require_server(&self, field: &str, name: &str) -> Result<ServerIdx, TopologyError> {
        self.index_of(name)
            .ok_or_else(|| TopologyError::new(field, Kind::UnknownServer(name.into())))
    }

    fn require_database(&self, field: &str, name: &str) -> Result<usize, TopologyError> {
        self.databases
            .iter()
            .position(|d| &*d.name == name)
            .ok_or_else(|| TopologyError::new(field, Kind::UnknownDatabase(name.into())))
    }
}

impl crate::syntax::TagCensus for Snapshot {
    fn carries(&self, tag: &str) -> bool {
        !self.tagged_by_name(tag).is_empty()
    }

    fn count_matching(&self, filters: &[&std::collections::BTreeSet<String>]) -> usize {
        let mut matching = self.all();
        for filter in filters {
            let mut union = ServerSet::empty(self.len());
            for tag in filter.iter() {
                union.union_with(&self.tagged_by_name(tag));
            }
            matching.intersect_with(&union);
        }
        matching.len()
    }
}

/// Whether `name` is a valid tag: `[A-Za-z0-9_-]+`, but not `-` alone.
pub fn is_valid_tag(name: &str) -> bool {
    !name.is_empty()
        && name != "-"
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn intern_tags(
    field: &str,
    tags: &[String],
    interner: &TagInterner,
) -> Result<Vec<TagId>, TopologyError> {
    let mut ids = Vec::with_capacity(tags.len());
    for (j, tag) in tags.iter().enumerate() {
        let at = format!("{field}[{j}]");
        if !is_valid_tag(tag) {
            return Err(TopologyError::new(at, Kind::InvalidTag(tag.clone())));
        }
        let id = interner
            .intern(tag)
            .map_err(|_| TopologyError::new(&at, Kind::TooLarge))?;
        if ids.contains(&id) {
            return Err(TopologyError::new(at, Kind::DuplicateTag(tag.clone())));
        }
        ids.push(id);
    }
    Ok(ids)
}

fn check_name(field: &str, name: &str) -> Result<(), TopologyError> {
    if name.is_empty() {
        return Err(TopologyError::new(field, Kind::Empty));
    }
    Ok(())
}

fn check_address(field: &str, address: &str) -> Result<(), TopologyError> {
    let valid = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !valid {
        return Err(TopologyError::new(
            field,
            Kind::InvalidAddress(address.into()),
        ));
    }
    Ok(())
}

fn duplicate_position<T: Eq + std::hash::Hash>(items: impl Iterator<Item = T>) -> Option<usize> {
    let mut seen = std::collections::HashSet::new();
    items
        .enumerate()
        .find_map(|(i, item)| (!seen.insert(item)).then_some(i))
}
