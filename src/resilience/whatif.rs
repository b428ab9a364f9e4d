//! One failure, before and after: every routing table and every secondary's upstream.

use super::{Analysis, Outcome, ResilienceError, Scenario};
use crate::topology::{ServerIdx, ServerSet};

use super::domains::Domains;

/// What one failure changes.
#[derive(Clone, Debug)]
pub struct WhatIf {
    down: Vec<String>,
    servers_down: ServerSet,
    tables: Vec<TableChange>,
    upstreams: Vec<UpstreamChange>,
}

impl WhatIf {
    /// The failed domains, as `--down` writes them (`tag:NAME` or a server's name).
    pub fn down(&self) -> &[String] {
        &self.down
    }

    /// The servers the failure takes down.
    pub fn servers_down(&self) -> &ServerSet {
        &self.servers_down
    }

    /// Every database × policy, databases in topology order, policies by name.
    pub fn tables(&self) -> &[TableChange] {
        &self.tables
    }

    /// Every secondary that is usable after the failure, with its upstream before and after.
    pub fn upstreams(&self) -> &[UpstreamChange] {
        &self.upstreams
    }
}

/// One routing table before and after.
#[derive(Clone, Debug)]
pub struct TableChange {
    /// The database.
    pub database: String,
    /// The policy.
    pub policy: String,
    /// With nothing down.
    pub before: Outcome,
    /// After the failure.
    pub after: Outcome,
}

impl TableChange {
    /// Whether anything differs: the answering rule or any role.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// One secondary's catch-up upstream before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamChange {
    /// The database.
    pub database: String,
    /// The secondary.
    pub server: ServerIdx,
    /// The strategy that answered and the upstream it chose, with nothing down (`None`: no
    /// strategy answered).
    pub before: Option<(String, ServerIdx)>,
    /// The same after the failure.
    pub after: Option<(String, ServerIdx)>,
}

impl UpstreamChange {
    /// Whether the upstream or the strategy that chose it differs.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

impl Analysis<'_> {
    /// Every routing table and catch-up choice with every domain of `down` failed, beside the
    /// same with nothing down. Random choices come from two selectors seeded with `seed`, so a
    /// choice differs only where the failure changed what it chose among.
    pub fn compare(&self, down: &Domains, seed: u64) -> Result<WhatIf, ResilienceError> {
        let n = self.snapshot.len();
        let all: Vec<usize> = (0..down.len()).collect();
        let scenario = Scenario::of(down, &all, n);
        let none = ServerSet::empty(n);
        let mut tables = Vec::new();
        for &db in &self.databases {
            for (p, (policy, _)) in self.policies.iter().enumerate() {
                let (mut before, mut after) = (Outcome::default(), Outcome::default());
                self.evaluate(db, p, &none, &mut before)?;
                self.evaluate(db, p, scenario.down(), &mut after)?;
                tables.push(TableChange {
                    database: db.name().to_owned(),
                    policy: policy.clone(),
                    before,
                    after,
                });
            }
        }
        Ok(WhatIf {
            down: down.iter().map(|d| d.spec()).collect(),
            upstreams: self.upstream_changes(scenario.down(), seed),
            servers_down: scenario.down,
            tables,
        })
    }

    fn upstream_changes(&self, down: &ServerSet, seed: u64) -> Vec<UpstreamChange> {
        let mut changes = Vec::new();
        for &db in &self.databases {
            for server in db.secondaries().iter() {
                if !self.snapshot.is_available(server) || down.contains(server) {
                    continue;
                }
                let Some(name) = self.snapshot.server(server).map(|s| s.name()) else {
                    continue;
                };
                let choose = |down: Option<&ServerSet>| {
                    let mut selector = self.selector(seed);
                    selector
                        .select_without(self.snapshot, db.name(), name, down)
                        .ok()
                        .map(|s| (s.strategy.to_owned(), s.upstream))
                };
                changes.push(UpstreamChange {
                    database: db.name().to_owned(),
                    server,
                    before: choose(None),
                    after: choose(Some(down)),
                });
            }
        }
        changes
    }
}
