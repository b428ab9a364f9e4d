//! Immutable, epoch-numbered snapshots of a cluster: the read side of the model.
//!
//! A snapshot holds, for every tag some server carries, a row of bits over server indices (all
//! rows in one contiguous tag-major [`TagMatrix`]), the available set, and per database its
//! primaries, secondaries and leader. A server's tags are not stored twice: they are the rows
//! with its bit set. Snapshots share their unchanged parts (`Arc`), so the common update (one
//! server's tags or state) copies one matrix of `tags × servers / 64` words and nothing per
//! server; `update.rs` makes the next snapshot from this one.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::error::{TopologyError, TopologyErrorKind as Kind};
use super::lookup::ServerIndex;
use super::matrix::{TagMatrix, check_size};
use super::names::{DatabaseNames, Naming};
use super::server_set::{ServerIdx, ServerSet};
use super::spec::{DatabaseSpec, ServerSpec, TopologySpec};
use super::tags::{TagId, TagInterner, TagStage};

/// A server of a snapshot.
#[derive(Clone, PartialEq, Eq)]
pub struct Server {
    /// The name, then the address: one allocation and one reference count per server, which
    /// is what copying the server list for a new snapshot costs.
    text: Arc<str>,
    name_len: usize,
}

impl Server {
    pub(super) fn new(name: &str, address: &str) -> Server {
        Server {
            text: Arc::from([name, address].concat()),
            name_len: name.len(),
        }
    }

    /// The server's unique name.
    pub fn name(&self) -> &str {
        self.text.get(..self.name_len).unwrap_or_default()
    }

    /// Its Bolt address, `host:port`.
    pub fn address(&self) -> &str {
        self.text.get(self.name_len..).unwrap_or_default()
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.name())
            .field("address", &self.address())
            .finish()
    }
}

/// A database of a snapshot: who hosts it, in which role, and the other names it answers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    pub(super) name: Box<str>,
    pub(super) primaries: ServerSet,
    pub(super) secondaries: ServerSet,
    pub(super) leader: Option<ServerIdx>,
    pub(super) aliases: Arc<[Box<str>]>,
    pub(super) default: bool,
}

impl Database {
    /// The database's name, as it is called (whatever case or alias it was asked for by).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its aliases: other names that route as this database.
    pub fn aliases(&self) -> &[Box<str>] {
        &self.aliases
    }

    /// Whether it is the default database, the one a client naming none gets.
    pub fn is_default(&self) -> bool {
        self.default
    }

    /// What the database contributes to the snapshot's names.
    pub(super) fn naming(&self) -> Naming<'_> {
        Naming {
            name: &self.name,
            aliases: &self.aliases,
            default: self.default,
        }
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
    pub(super) epoch: u64,
    pub(super) interner: TagInterner,
    pub(super) servers: Arc<[Server]>,
    pub(super) index: Arc<ServerIndex>,
    pub(super) tags: Arc<TagMatrix>,
    pub(super) available: ServerSet,
    pub(super) databases: Arc<[Database]>,
    pub(super) names: Arc<DatabaseNames>,
}

impl Snapshot {
    /// Builds epoch 0 of a cluster, its tags interned in `interner` and held for as long as
    /// the snapshot (or a later one sharing its tags) lives. A spec that is not valid, or whose
    /// tag matrix would exceed the interner's [`TagInterner::matrix_limit`], interns nothing.
    pub fn build(spec: &TopologySpec, interner: &TagInterner) -> Result<Snapshot, TopologyError> {
        Snapshot::build_staged(spec, &mut interner.stage())
    }

    fn build_staged(
        spec: &TopologySpec,
        stage: &mut TagStage<'_>,
    ) -> Result<Snapshot, TopologyError> {
        let universe = spec.servers.len();
        if ServerIdx::new(universe).is_none() {
            return Err(TopologyError::new("servers", Kind::TooLarge));
        }
        let mut servers = Vec::with_capacity(universe);
        let mut index = ServerIndex::with_capacity(universe);
        let mut memberships = Vec::new();
        let mut available = ServerSet::empty(universe);
        for (i, server) in spec.servers.iter().enumerate() {
            let at = |e: TopologyError| e.within(format_args!("servers[{i}]"));
            let idx =
                ServerIdx::new(i).ok_or_else(|| at(TopologyError::new("", Kind::TooLarge)))?;
            check_server(server).map_err(at)?;
            if index.by_name(&server.name, &servers).is_some() {
                return Err(at(TopologyError::new(
                    "name",
                    Kind::DuplicateName(server.name.clone()),
                )));
            }
            if index.by_address(&server.address, &servers).is_some() {
                let kind = Kind::DuplicateAddress(server.address.clone());
                return Err(at(TopologyError::new("address", kind)));
            }
            let ids = intern_tags(&server.tags, stage).map_err(|e| at(e.within("tags")))?;
            memberships.extend(ids.into_iter().map(|tag| (tag, idx)));
            if server.available {
                available.insert(idx);
            }
            servers.push(Server::new(&server.name, &server.address));
            index.insert(idx, &servers);
        }
        let rows = memberships
            .iter()
            .map(|(t, _)| t.index() + 1)
            .max()
            .unwrap_or(0);
        check_size(rows, universe, stage.interner())
            .map_err(|e| TopologyError::new("servers", Kind::TooManyTags(e)))?;
        let mut tags = TagMatrix::new(rows, universe);
        for (tag, idx) in memberships {
            tags.set(tag, idx, true);
        }
        tags.hold_carried(stage.interner());
        let mut snapshot = Snapshot {
            epoch: 0,
            interner: stage.interner().clone(),
            servers: servers.into(),
            index: Arc::new(index),
            tags: Arc::new(tags),
            available,
            databases: Arc::from(Vec::new()),
            names: Arc::default(),
        };
        let mut databases = Vec::with_capacity(spec.databases.len());
        let mut names = DatabaseNames::default();
        for (i, db) in spec.databases.iter().enumerate() {
            let at = |e: TopologyError| e.within(format_args!("databases[{i}]"));
            let database = snapshot.build_database(db).map_err(at)?;
            names.insert(i, &database.naming()).map_err(at)?;
            databases.push(database);
        }
        snapshot.databases = databases.into();
        snapshot.names = Arc::new(names);
        Ok(snapshot)
    }

    /// A database of this snapshot's servers; errors name fields relative to the database.
    pub(super) fn build_database(&self, spec: &DatabaseSpec) -> Result<Database, TopologyError> {
        check_name(&spec.name).map_err(|e| e.within("name"))?;
        let mut members = ServerSet::empty(self.len());
        let mut role = |list: &[String], role: &'static str| -> Result<ServerSet, TopologyError> {
            let mut set = ServerSet::empty(self.len());
            for (j, name) in list.iter().enumerate() {
                let at = |kind| TopologyError::new(format!("{role}[{j}]"), kind);
                let idx = self
                    .index_of(name)
                    .ok_or_else(|| at(Kind::UnknownServer(name.clone())))?;
                if !members.insert(idx) {
                    return Err(at(Kind::DuplicateMember(name.clone())));
                }
                set.insert(idx);
            }
            Ok(set)
        };
        let primaries = role(&spec.primaries, "primaries")?;
        let secondaries = role(&spec.secondaries, "secondaries")?;
        let leader = match &spec.leader {
            None => None,
            Some(name) => Some(
                self.leader_among(name, &primaries)
                    .map_err(|e| e.within("leader"))?,
            ),
        };
        Ok(Database {
            name: spec.name.as_str().into(),
            primaries,
            secondaries,
            leader,
            aliases: spec.aliases.iter().map(|a| a.as_str().into()).collect(),
            default: spec.default,
        })
    }

    /// The server called `name` if it is one of `primaries`; errors have no field.
    pub(super) fn leader_among(
        &self,
        name: &str,
        primaries: &ServerSet,
    ) -> Result<ServerIdx, TopologyError> {
        let idx = self
            .index_of(name)
            .ok_or_else(|| TopologyError::new("", Kind::UnknownServer(name.into())))?;
        if !primaries.contains(idx) {
            return Err(TopologyError::new("", Kind::LeaderNotPrimary(name.into())));
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
        self.index.by_name(name, &self.servers)
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

    /// The database called `name`, or aliased so, in any case (Neo4j compares database names
    /// without regard to case); its [`Database::name`] is how it is called.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.get(self.names.find(name)?)
    }

    /// The default database, if the topology names one.
    pub fn default_database(&self) -> Option<&Database> {
        self.databases.get(self.names.default_position()?)
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
                name: s.name().to_string(),
                address: s.address().to_string(),
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
                    .map(|s| s.name().to_string()),
                aliases: d.aliases.iter().map(|a| a.to_string()).collect(),
                default: d.default,
            })
            .collect();
        TopologySpec { servers, databases }
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

/// The ids of a server's tags, new names staged; errors name the tag's position (`[2]`).
pub(super) fn intern_tags(
    tags: &[String],
    stage: &mut TagStage<'_>,
) -> Result<Vec<TagId>, TopologyError> {
    // A server's few tags are checked for repeats against the list itself; a set is made only
    // for a long list, so that building a cluster allocates no set per server.
    const SHORT: usize = 16;
    let mut ids = Vec::with_capacity(tags.len());
    let mut seen = FxHashSet::default();
    for (j, tag) in tags.iter().enumerate() {
        let at = |kind| TopologyError::new(format!("[{j}]"), kind);
        if !is_valid_tag(tag) {
            return Err(at(Kind::InvalidTag(tag.clone())));
        }
        let id = stage.intern(tag).map_err(|e| at(Kind::TooManyTags(e)))?;
        if ids.len() == SHORT {
            seen.extend(ids.iter().copied());
        }
        let repeated = match ids.len() < SHORT {
            true => ids.contains(&id),
            false => !seen.insert(id),
        };
        if repeated {
            return Err(at(Kind::DuplicateTag(tag.clone())));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// A server's name and address; errors name the field (`name`, `address`).
pub(super) fn check_server(server: &ServerSpec) -> Result<(), TopologyError> {
    check_name(&server.name).map_err(|e| e.within("name"))?;
    check_address(&server.address).map_err(|e| e.within("address"))
}

/// A server's or database's name: not empty, not only blanks, no control character.
fn check_name(name: &str) -> Result<(), TopologyError> {
    if name.is_empty() {
        return Err(TopologyError::new("", Kind::Empty));
    }
    if !is_valid_name(name) {
        return Err(TopologyError::new("", Kind::InvalidName(name.into())));
    }
    Ok(())
}

/// Whether `name` may name a server or a database: not empty, not only blanks (Unicode white
/// space), and without control characters (`\0`, line breaks, tabs, escape, `\u{85}`, ...), which
/// would make it print as something else or not at all.
///
/// ```
/// use tagroute::topology::is_valid_name;
///
/// assert!(is_valid_name("n1a") && is_valid_name("rack 2, slot 3") && is_valid_name("ñ"));
/// assert!(!is_valid_name("") && !is_valid_name(" ") && !is_valid_name("\u{3000}"));
/// assert!(!is_valid_name("a\u{0}b") && !is_valid_name("a\tb") && !is_valid_name("a\u{85}"));
/// ```
pub fn is_valid_name(name: &str) -> bool {
    !name.trim().is_empty() && !name.chars().any(char::is_control)
}

/// `host:port` with a port from 1 to 65535, the host a name or IPv4 address
/// (`[A-Za-z0-9._-]+`) or a bracketed IPv6 address: no spaces, controls or NUL anywhere.
fn check_address(address: &str) -> Result<(), TopologyError> {
    let valid = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| valid_host(host) && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !valid {
        return Err(TopologyError::new("", Kind::InvalidAddress(address.into())));
    }
    Ok(())
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::testing::{Cluster, cluster};

    fn sample_cluster() -> Cluster {
        cluster()
            .server("a", &["north", "gpu"])
            .server("b", &["south"])
            .server("c", &[])
            .down("b")
            .database("neo4j", &["a", "b"], &["c"], Some("a"))
    }

    fn sample() -> Snapshot {
        sample_cluster().snapshot()
    }

    fn idx(snapshot: &Snapshot, name: &str) -> ServerIdx {
        snapshot.index_of(name).expect("present")
    }

    #[test]
    fn a_snapshot_answers_by_name_index_and_tag() {
        let s = sample();
        assert_eq!((s.len(), s.epoch(), s.is_empty()), (3, 0, false));
        let a = idx(&s, "a");
        assert_eq!(s.server(a).map(Server::address), Some("a:7687"));
        assert_eq!(s.names(s.available()), ["a", "c"]);
        assert!(!s.is_available(idx(&s, "b")));
        let names: Vec<String> = s.tag_names_of(a).iter().map(|t| t.to_string()).collect();
        assert_eq!(names, ["north", "gpu"]);
        assert_eq!(s.tags_of(idx(&s, "c")), []);
        assert_eq!(s.names(&s.tagged_by_name("south")), ["b"]);
        assert!(s.tagged_by_name("west").is_empty());
        assert_eq!(
            s.set_of(["c", "a"]).map(|set| s.names(&set)),
            Ok(vec!["a", "c"])
        );
        assert_eq!(s.set_of(["a", "zz"]), Err("zz"));
        let db = s.database("neo4j").expect("present");
        assert_eq!(s.names(db.primaries()), ["a", "b"]);
        assert!(db.hosts(idx(&s, "c")) && db.leader() == Some(a));
        assert!(s.database("system").is_none());
        assert_eq!(s.all().len(), 3);
    }

    #[test]
    fn a_tag_interned_later_is_the_empty_set() {
        let s = sample();
        let later = s.interner().intern("later").expect("room");
        assert!(s.tagged(later).is_empty());
        assert_eq!(s.tag_matrix().tag_count(), 3);
    }

    #[test]
    fn the_description_round_trips() {
        let s = sample();
        let spec = s.to_spec();
        assert_eq!(spec, sample_cluster().spec());
        let again = Snapshot::build(&spec, s.interner()).expect("valid");
        assert_eq!(again.to_spec(), spec);
    }

    #[test]
    fn rows_stop_at_the_highest_tag_a_server_carries() {
        let s = cluster().server("a", &["x"]).snapshot();
        s.interner().intern("policy-only").expect("room");
        let t = cluster().server("b", &["x"]).spec();
        let again = Snapshot::build(&t, s.interner()).expect("valid");
        assert_eq!(again.tag_matrix().tag_count(), 1);
    }

    #[test]
    fn addresses_are_host_and_port_without_spaces_or_controls() {
        let build = |address: &str| {
            let spec = TopologySpec {
                servers: vec![ServerSpec::new("a", address)],
                databases: vec![],
            };
            Snapshot::build(&spec, &TagInterner::new())
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        for good in [
            "a:7687",
            "10.0.0.1:1",
            "[::1]:7687",
            "n-1.example_x.com:65535",
        ] {
            assert_eq!(build(good), Ok(()), "{good}");
        }
        for bad in [
            "a b:7687",
            "a\0:7687",
            "a:0",
            "a:65536",
            ":1",
            "a",
            "[::1:7687",
            "[zz]:1",
            "a\t:1",
        ] {
            assert_eq!(
                build(bad),
                Err(format!(
                    "servers[0].address: `{}` is not a `host:port` address",
                    bad.escape_debug()
                )),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn duplicate_databases_and_members_are_named() {
        let err = |c: crate::topology::testing::Cluster| {
            Snapshot::build(&c.spec(), &TagInterner::new())
                .expect_err("invalid")
                .to_string()
        };
        let two = cluster().server("a", &[]).server("b", &[]);
        assert_eq!(
            err(two
                .clone()
                .database("d", &["a"], &[], None)
                .database("d", &["b"], &[], None)),
            "databases[1].name: duplicate database name `d`"
        );
        assert_eq!(
            err(two.clone().database("d", &["a", "a"], &[], None)),
            "databases[0].primaries[1]: server `a` is listed twice for this database"
        );
        assert_eq!(
            err(two.database("d", &["a"], &[], Some("zz"))),
            "databases[0].leader: unknown server `zz`"
        );
    }

    #[test]
    fn a_tag_listed_twice_is_found_in_short_and_long_lists() {
        for len in [3, 16, 17, 40] {
            let mut tags: Vec<String> = (0..len).map(|i| format!("t{i}")).collect();
            tags.push("t2".into());
            let spec = TopologySpec {
                servers: vec![ServerSpec::new("a", "a:1").with_tags(tags)],
                databases: vec![],
            };
            let err = Snapshot::build(&spec, &TagInterner::new()).expect_err("a repeat");
            assert_eq!(
                err.to_string(),
                format!("servers[0].tags[{len}]: tag `t2` is listed twice")
            );
        }
    }

    #[test]
    fn a_rejected_build_interns_nothing() {
        let interner = TagInterner::new();
        let spec = cluster()
            .server("a", &["one"])
            .server("b", &["two", "bad tag"])
            .spec();
        assert!(Snapshot::build(&spec, &interner).is_err());
        assert!(interner.is_empty());
    }
}
