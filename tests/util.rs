//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tagroute::reference;
use tagroute::syntax::{NormalFilter, Normalized};

/// The repository's copy of the conformance vectors.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every JSON object of a `.jsonl` file under `tests/data`.
pub fn read_jsonl(relative: &str) -> Vec<Value> {
    let path = data_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// The rules of a parsed policy, as the vectors write them: `[["tags", [...]], ["min", n]]`.
pub fn rules_json(policy: &Normalized) -> Value {
    Value::Array(
        policy
            .rules
            .iter()
            .map(|rule| {
                Value::Array(
                    rule.filters
                        .iter()
                        .map(|f| match f {
                            NormalFilter::Tags(tags) => json!(["tags", tags]),
                            NormalFilter::Min(n) => json!(["min", n]),
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

/// The same for the reference parser's output.
pub fn reference_rules_json(policy: &reference::Policy) -> Value {
    Value::Array(
        policy
            .rules
            .iter()
            .map(|rule| {
                Value::Array(
                    rule.iter()
                        .map(|f| match f {
                            reference::Filter::Tags(tags) => json!(["tags", tags]),
                            reference::Filter::Min(n) => json!(["min", n]),
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

/// One builder for the small clusters the integration tests need:
/// `cluster().server("a", &["north"]).down("a").database("neo4j", &["a"], &[], Some("a"))`.
pub fn cluster() -> Cluster {
    Cluster::default()
}

/// A cluster under construction; every server's address is `name:7687`.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    spec: tagroute::topology::TopologySpec,
}

impl Cluster {
    /// Adds an available server with these tags.
    pub fn server(mut self, name: &str, tags: &[&str]) -> Cluster {
        let server = tagroute::topology::ServerSpec::new(name, format!("{name}:7687"))
            .with_tags(tags.iter().copied());
        self.spec.servers.push(server);
        self
    }

    /// Adds `count` servers `s0`, `s1`, … with these tags.
    pub fn servers(mut self, count: usize, tags: &[&str]) -> Cluster {
        for i in 0..count {
            self = self.server(&format!("s{i}"), tags);
        }
        self
    }

    /// Adds a database hosted by these primaries and secondaries.
    pub fn database(
        mut self,
        name: &str,
        primaries: &[&str],
        secondaries: &[&str],
        leader: Option<&str>,
    ) -> Cluster {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        self.spec.databases.push(tagroute::topology::DatabaseSpec {
            name: name.into(),
            primaries: names(primaries),
            secondaries: names(secondaries),
            leader: leader.map(str::to_owned),
            ..tagroute::topology::DatabaseSpec::default()
        });
        self
    }

    /// The description.
    pub fn spec(&self) -> tagroute::topology::TopologySpec {
        self.spec.clone()
    }

    /// A live topology of the cluster with a new interner.
    pub fn topology(&self) -> tagroute::topology::Topology {
        tagroute::topology::Topology::new(&self.spec).expect("the test cluster is valid")
    }
}
