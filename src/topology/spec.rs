//! The plain description of a cluster that snapshots are built from: what the JSON form
//! holds, what tests write by hand, and all the reference interpreter may see.

/// A cluster: its servers and the databases they host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopologySpec {
    /// Servers, in the order that gives them their indices.
    pub servers: Vec<ServerSpec>,
    /// Databases and the servers that host them.
    pub databases: Vec<DatabaseSpec>,
}

/// A server as described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// Unique name.
    pub name: String,
    /// Unique Bolt address, `host:port`.
    pub address: String,
    /// Tags, `[A-Za-z0-9_-]+` each, no duplicates.
    pub tags: Vec<String>,
    /// Whether the server is up.
    pub available: bool,
}

impl ServerSpec {
    /// An available server without tags.
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> ServerSpec {
        ServerSpec {
            name: name.into(),
            address: address.into(),
            tags: Vec::new(),
            available: true,
        }
    }

    /// The same server with these tags.
    pub fn with_tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> ServerSpec {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// The same server, available or not.
    pub fn with_available(mut self, available: bool) -> ServerSpec {
        self.available = available;
        self
    }
}

/// A database as described.
///
/// Names compare as Neo4j compares them, without regard to case: a database is found by its
/// name or any of its aliases in any case, and no two of those names may be equal that way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseSpec {
    /// Unique name, as the database is called (the name tables echo for it).
    pub name: String,
    /// Servers hosting it as primaries.
    pub primaries: Vec<String>,
    /// Servers hosting it as secondaries.
    pub secondaries: Vec<String>,
    /// The primary that leads it, if any.
    pub leader: Option<String>,
    /// Other names that route as this database (Neo4j's database aliases).
    pub aliases: Vec<String>,
    /// Whether it is the default database: the one a client naming none gets. At most one
    /// database of a topology is.
    pub default: bool,
}
