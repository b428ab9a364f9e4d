//! One builder for the small clusters unit tests need, in place of hand-written specs:
//! `cluster().server("a", &["north"]).down("b").database("neo4j", &["a"], &["b"], Some("a"))`.

use super::{DatabaseSpec, ServerSpec, Snapshot, TagInterner, Topology, TopologySpec};

/// An empty cluster to add servers and databases to.
pub(crate) fn cluster() -> Cluster {
    Cluster::default()
}

/// A cluster under construction; every server's address is `name:7687`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cluster {
    spec: TopologySpec,
}

impl Cluster {
    /// Adds an available server with these tags.
    pub(crate) fn server(mut self, name: &str, tags: &[&str]) -> Cluster {
        let server = ServerSpec::new(name, format!("{name}:7687")).with_tags(tags.iter().copied());
        self.spec.servers.push(server);
        self
    }

    /// Adds `count` untagged servers `s0`, `s1`, ….
    pub(crate) fn servers(mut self, count: usize) -> Cluster {
        for i in 0..count {
            self = self.server(&format!("s{i}"), &[]);
        }
        self
    }

    /// Marks the server called `name` unavailable.
    pub(crate) fn down(mut self, name: &str) -> Cluster {
        self.spec
            .servers
            .iter_mut()
            .filter(|s| s.name == name)
            .for_each(|s| s.available = false);
        self
    }

    /// Adds a database hosted by these primaries and secondaries.
    pub(crate) fn database(
        mut self,
        name: &str,
        primaries: &[&str],
        secondaries: &[&str],
        leader: Option<&str>,
    ) -> Cluster {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        self.spec.databases.push(DatabaseSpec {
            name: name.into(),
            primaries: names(primaries),
            secondaries: names(secondaries),
            leader: leader.map(str::to_owned),
            ..DatabaseSpec::default()
        });
        self
    }

    /// The description.
    pub(crate) fn spec(&self) -> TopologySpec {
        self.spec.clone()
    }

    /// A snapshot of the cluster with a new interner.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot::build(&self.spec, &TagInterner::new()).expect("the test cluster is valid")
    }

    /// A live topology of the cluster with a new interner.
    pub(crate) fn topology(&self) -> Topology {
        Topology::new(&self.spec).expect("the test cluster is valid")
    }
}

/// A description with every list sorted, servers and databases by name: equal exactly when two
/// descriptions describe the same cluster.
pub(crate) fn normalized(spec: &TopologySpec) -> TopologySpec {
    let sorted = |names: &[String]| {
        let mut names = names.to_vec();
        names.sort();
        names
    };
    let mut servers: Vec<ServerSpec> = spec
        .servers
        .iter()
        .map(|s| ServerSpec {
            tags: sorted(&s.tags),
            ..s.clone()
        })
        .collect();
    servers.sort_by(|a, b| a.name.cmp(&b.name));
    let mut databases: Vec<DatabaseSpec> = spec
        .databases
        .iter()
        .map(|d| DatabaseSpec {
            primaries: sorted(&d.primaries),
            secondaries: sorted(&d.secondaries),
            aliases: sorted(&d.aliases),
            ..d.clone()
        })
        .collect();
    databases.sort_by(|a, b| a.name.cmp(&b.name));
    TopologySpec { servers, databases }
}
