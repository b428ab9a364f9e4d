//! Routing tables: what a driver gets back for a database (docs/routing.md).
//!
//! A [`RoutingTable`] lists the writers, readers and routers, in that order, with the TTL in
//! whole seconds. It holds the snapshot it was computed from, so its servers can never be read
//! against another state of the cluster, and it is never empty: a table with no server in any
//! role is [`RoutingError::EmptyTable`] instead, as in Neo4j.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::error::RoutingError;
use crate::config::{DEFAULT_POLICY, Roles};
use crate::topology::{Server, ServerIdx, ServerSet, Snapshot};

/// A role of a routing table, in the order tables list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Servers that accept writes: the leader.
    Write,
    /// Servers that serve reads.
    Read,
    /// Servers that answer routing requests.
    Route,
}

impl Role {
    /// Every role, in table order.
    pub const ALL: [Role; 3] = [Role::Write, Role::Read, Role::Route];

    /// The role as Bolt names it: `WRITE`, `READ`, `ROUTE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Write => "WRITE",
            Role::Read => "READ",
            Role::Route => "ROUTE",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a client asks for: a database, the policy it names, and the servers it could not use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteRequest<'a> {
    /// The database.
    pub database: &'a str,
    /// The policy the client names; `None` for [`DEFAULT_POLICY`].
    pub policy: Option<&'a str>,
    /// Names of servers the client could not use; they get no role at all. Names the topology
    /// does not know are ignored (the server may have left since the client heard of it).
    pub excluded: &'a [&'a str],
}

impl<'a> RouteRequest<'a> {
    /// A request for `database` with the default policy and no exclusion.
    pub fn new(database: &'a str) -> RouteRequest<'a> {
        RouteRequest {
            database,
            policy: None,
            excluded: &[],
        }
    }

    /// The same request naming `policy`.
    pub fn with_policy(self, policy: &'a str) -> RouteRequest<'a> {
        RouteRequest {
            policy: Some(policy),
            ..self
        }
    }

    /// The same request without the servers named in `excluded`.
    pub fn excluding(self, excluded: &'a [&'a str]) -> RouteRequest<'a> {
        RouteRequest { excluded, ..self }
    }

    /// The policy that applies: the one named, or `default`.
    pub fn policy_name(&self) -> &'a str {
        self.policy.unwrap_or(DEFAULT_POLICY)
    }
}

/// A routing table computed from one snapshot. Never empty.
#[derive(Clone, Debug)]
pub struct RoutingTable {
    snapshot: Arc<Snapshot>,
    database: String,
    ttl_secs: u64,
    // INVARIANT: every index is one of `snapshot`'s servers, and some list is non-empty.
    writers: Vec<ServerIdx>,
    readers: Vec<ServerIdx>,
    routers: Vec<ServerIdx>,
}

impl RoutingTable {
    /// A table of `snapshot`'s servers, each role in the order given; the TTL is rounded down
    /// to whole seconds.
    ///
    /// Fails with [`RoutingError::EmptyTable`] when every role is empty, and with
    /// [`RoutingError::ForeignServer`] for an index that is not one of the snapshot's servers.
    pub fn new(
        snapshot: Arc<Snapshot>,
        database: &str,
        ttl: Duration,
        writers: Vec<ServerIdx>,
        readers: Vec<ServerIdx>,
        routers: Vec<ServerIdx>,
    ) -> Result<RoutingTable, RoutingError> {
        check(&snapshot, database, [&writers, &readers, &routers])?;
        Ok(RoutingTable {
            snapshot,
            database: database.to_owned(),
            ttl_secs: ttl.as_secs(),
            writers,
            readers,
            routers,
        })
    }

    /// Refills `slot` with a table of `snapshot`'s servers whose lists `fill` writes (writers,
    /// readers, routers, each empty when it is called), reusing the lists and the name of the
    /// table `slot` held: no allocation once they have held as much. On an error `slot` is
    /// left empty, so it never holds a table that breaks the invariant.
    pub(super) fn refill<'s>(
        slot: &'s mut Option<RoutingTable>,
        snapshot: &Arc<Snapshot>,
        database: &str,
        ttl: Duration,
        fill: impl FnOnce([&mut Vec<ServerIdx>; 3]),
    ) -> Result<&'s RoutingTable, RoutingError> {
        let (mut name, mut writers, mut readers, mut routers) = match slot.take() {
            Some(table) => (table.database, table.writers, table.readers, table.routers),
            None => Default::default(),
        };
        name.clear();
        name.push_str(database);
        for list in [&mut writers, &mut readers, &mut routers] {
            list.clear();
        }
        fill([&mut writers, &mut readers, &mut routers]);
        check(snapshot, database, [&writers, &readers, &routers])?;
        Ok(slot.insert(RoutingTable {
            snapshot: Arc::clone(snapshot),
            database: name,
            ttl_secs: ttl.as_secs(),
            writers,
            readers,
            routers,
        }))
    }

    /// The database the table is for.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// How long a client may keep the table, in whole seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// The snapshot every server of the table was taken from.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// The servers of `role`, in table order (empty when the table leaves the role out).
    pub fn servers(&self, role: Role) -> &[ServerIdx] {
        match role {
            Role::Write => &self.writers,
            Role::Read => &self.readers,
            Role::Route => &self.routers,
        }
    }

    /// The roles the table lists, with their servers: the non-empty ones, in table order.
    pub fn roles(&self) -> impl Iterator<Item = (Role, &[ServerIdx])> {
        Role::ALL
            .into_iter()
            .map(|role| (role, self.servers(role)))
            .filter(|(_, servers)| !servers.is_empty())
    }

    /// The Bolt addresses of `role`'s servers, in table order.
    pub fn addresses(&self, role: Role) -> Vec<&str> {
        self.resolved(role).map(Server::address).collect()
    }

    /// The names of `role`'s servers, in table order.
    pub fn names(&self, role: Role) -> Vec<&str> {
        self.resolved(role).map(Server::name).collect()
    }

    /// `role`'s servers as the table's snapshot describes them, in table order, without
    /// collecting them (what an answer is encoded from).
    pub fn resolved(&self, role: Role) -> impl Iterator<Item = &Server> {
        self.servers(role)
            .iter()
            .filter_map(|&i| self.snapshot.server(i))
    }
}

/// The invariant of a table: every index is one of `snapshot`'s servers, and some list is not
/// empty.
fn check(
    snapshot: &Snapshot,
    database: &str,
    lists: [&[ServerIdx]; 3],
) -> Result<(), RoutingError> {
    let servers = snapshot.len();
    let all = || lists.into_iter().flatten();
    if let Some(&server) = all().find(|s| s.index() >= servers) {
        return Err(RoutingError::ForeignServer { server, servers });
    }
    if all().next().is_none() {
        return Err(RoutingError::EmptyTable {
            database: database.to_owned(),
        });
    }
    Ok(())
}

/// Caller-owned buffers that routing tables are computed in: the role sets, the policy's
/// selections and the last table, whose lists the next one reuses. Keep one per thread or
/// connection and pass it to
/// [`RoutingService::table_into`](super::RoutingService::table_into): once it has held a table
/// of a cluster's size, computing another allocates nothing.
#[derive(Debug, Default)]
pub struct TableScratch {
    pub(super) excluded: ServerSet,
    pub(super) usable: ServerSet,
    pub(super) roles: Roles,
    pub(super) readers: ServerSet,
    pub(super) preferred: ServerSet,
    pub(super) table: Option<RoutingTable>,
}

impl TableScratch {
    /// Empty buffers.
    pub fn new() -> TableScratch {
        TableScratch::default()
    }

    /// The table the last successful computation left, if the buffers hold one.
    pub fn table(&self) -> Option<&RoutingTable> {
        self.table.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{ServerSpec, TagInterner, TopologySpec};

    fn snapshot() -> Arc<Snapshot> {
        let servers = ["a", "b"]
            .iter()
            .map(|n| ServerSpec::new(*n, format!("{n}.example:7687")))
            .collect();
        let spec = TopologySpec {
            servers,
            databases: vec![],
        };
        Arc::new(Snapshot::build(&spec, &TagInterner::new()).expect("valid"))
    }

    fn idx(i: usize) -> ServerIdx {
        ServerIdx::new(i).expect("small")
    }

    #[test]
    fn a_table_lists_its_non_empty_roles_in_order_with_whole_seconds() {
        let table = RoutingTable::new(
            snapshot(),
            "neo4j",
            Duration::from_millis(1500),
            vec![],
            vec![idx(1), idx(0)],
            vec![idx(0)],
        )
        .expect("valid");
        let roles: Vec<(Role, Vec<&str>)> = table
            .roles()
            .map(|(role, _)| (role, table.addresses(role)))
            .collect();
        assert_eq!(
            roles,
            [
                (Role::Read, vec!["b.example:7687", "a.example:7687"]),
                (Role::Route, vec!["a.example:7687"]),
            ]
        );
        assert_eq!(table.names(Role::Read), ["b", "a"]);
        assert!(table.resolved(Role::Read).map(Server::name).eq(["b", "a"]));
        assert_eq!(table.names(Role::Write), [] as [&str; 0]);
        assert_eq!((table.ttl_secs(), table.database()), (1, "neo4j"));
    }

    #[test]
    fn a_table_is_never_empty_and_never_names_a_foreign_server() {
        let ttl = Duration::from_secs(300);
        let empty = RoutingTable::new(snapshot(), "neo4j", ttl, vec![], vec![], vec![]);
        assert_eq!(
            empty.map(|_| ()).map_err(|e| e.to_string()),
            Err("routing table for database `neo4j` is empty".to_owned())
        );
        let foreign = RoutingTable::new(snapshot(), "neo4j", ttl, vec![idx(2)], vec![], vec![]);
        assert!(matches!(
            foreign,
            Err(RoutingError::ForeignServer { server, servers: 2 }) if server == idx(2)
        ));
    }

    #[test]
    fn a_request_names_the_default_policy_unless_told_otherwise() {
        let request = RouteRequest::new("neo4j");
        assert_eq!(request.policy_name(), "default");
        let excluded = ["a"];
        let request = request.with_policy("north").excluding(&excluded);
        assert_eq!(
            (request.policy_name(), request.excluded),
            ("north", &["a"][..])
        );
        assert_eq!(Role::ALL.map(Role::as_str), ["WRITE", "READ", "ROUTE"]);
    }
}
