//! What-if and resilience analysis: every policy under every failure scenario of a cluster.
//!
//! ```text
//! Snapshot + Config --Analysis::new--> Analysis --sweep(domains, depth, visit)--> Findings
//!                                           \----compare(scenario, seed)--------> WhatIf
//! ```
//!
//! A **failure domain** ([`Domains`]) is a set of servers that fails together: by default the
//! data centers (the tags that partition the servers), or any tags, or single servers. A
//! **scenario** ([`Scenario`]) is a set of failed domains; a sweep enumerates every scenario of
//! at most `depth` domains, nothing down first. For each scenario, database and policy, the
//! analysis computes the routing table of docs/routing.md with the failed servers unusable
//! ([`Outcome`]: the rule that answered, readers, writer, routers) and hands it to the caller
//! as a [`Record`], then checks the catch-up upstream of every secondary and the leader
//! priority of every database, and gathers what an operator must act on into ranked
//! [`Findings`].
//!
//! Everything runs on **one** snapshot: a failure is a mask of servers treated as unusable,
//! which the routing roles and the catch-up selector take as their exclusion set, so no
//! snapshot is built per scenario. The scenario, the candidate sets and the outcome are buffers
//! rewritten in place, and records are handed out one at a time, so a sweep of any size holds
//! one scenario's results and allocates nothing per scenario (`tests/no_alloc.rs` counts).
//!
//! **Regions and load.** A server's region ([`Regions`]) is the tag one level above its data
//! center (`north` for `north1`). The **preferred regions** of a (database, policy) are the
//! regions of its readers with nothing down; a scenario whose readers include servers of other
//! regions sends that share of the reads away from them. Under uniform picks each reader gets
//! `1/|readers|` of the policy's reads: a record's **load** is that share per reader (they sum
//! to 1), and a reader's **growth** is its share over its share with nothing down.
//!
//! ```
//! use std::path::Path;
//! use tagroute::Strictness;
//! use tagroute::config::Config;
//! use tagroute::resilience::{Analysis, Answer, Domains};
//! use tagroute::topology::{DatabaseSpec, ServerSpec, Snapshot, TagInterner, TopologySpec};
//!
//! let server = |n: &str, dc: &str| ServerSpec::new(n, format!("{n}:7687")).with_tags([dc]);
//! let spec = TopologySpec {
//!     servers: vec![server("a1", "dc1"), server("a2", "dc1"), server("b1", "dc2")],
//!     databases: vec![DatabaseSpec {
//!         name: "neo4j".into(),
//!         primaries: vec!["a1".into(), "b1".into()],
//!         secondaries: vec!["a2".into()],
//!         leader: Some("a1".into()),
//!         ..DatabaseSpec::default()
//!     }],
//! };
//! let snapshot = Snapshot::build(&spec, &TagInterner::new())?;
//! let conf = "dbms.routing.load_balancing.config.server_policies.local=tags(dc1); halt()\n";
//! let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default)?;
//! let analysis = Analysis::new(&snapshot, &config)?;
//! let domains = Domains::data_centers(&snapshot)?;
//! let mut outages = Vec::new();
//! let findings = analysis.sweep(&domains, 1, |record| {
//!     if record.policy() == "local" && record.is_outage() {
//!         outages.push(record.scenario().names(&domains).collect::<Vec<_>>().join(","));
//!     }
//! })?;
//! assert_eq!(outages, ["dc1"]);
//! assert!(findings.iter().any(|f| f.subject() == "local"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::indexing_slicing, reason = "tests index what they just built")
)]

mod answer;
mod domains;
mod findings;
mod scenario;
mod whatif;

pub use answer::{Answer, RuleWise};
pub use domains::{Domain, DomainError, DomainKind, Domains, Regions};
pub use findings::{Finding, FindingKind, Findings};
pub use scenario::{MAX_SCENARIOS, Scenario, Scenarios, scenario_count};
pub use whatif::{TableChange, UpstreamChange, WhatIf};

use std::fmt;

use crate::catchup::Selector;
use crate::compile::CompileError;
use crate::config::{CatchupSettings, Config, LeadershipSettings, RoutingSettings, StrategyName};
use crate::rng::Rng;
use crate::routing::readers_into;
use crate::topology::{Database, ServerIdx, ServerSet, Snapshot};
use crate::vm::EvalError;

use findings::{Collector, copy_into};

/// Why an analysis cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResilienceError {
    /// A policy exceeds a limit of the bytecode.
    Compile {
        /// The policy's name.
        policy: String,
        /// Why.
        error: CompileError,
    },
    /// A policy could not be evaluated on the snapshot (a bug: it was compiled for it).
    Eval(EvalError),
    /// The sweep would enumerate more than [`MAX_SCENARIOS`] scenarios.
    TooManyScenarios {
        /// How many it would enumerate (saturated).
        scenarios: u64,
    },
}

impl fmt::Display for ResilienceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResilienceError::Compile { policy, error } => {
                write!(f, "policy `{policy}` cannot be compiled: {error}")
            }
            ResilienceError::Eval(e) => write!(f, "evaluation failed: {e}"),
            ResilienceError::TooManyScenarios { scenarios } => write!(
                f,
                "{scenarios} scenarios exceed the limit of {MAX_SCENARIOS}; lower the depth or \
                 name fewer failure domains"
            ),
        }
    }
}

impl std::error::Error for ResilienceError {}

impl From<EvalError> for ResilienceError {
    fn from(e: EvalError) -> Self {
        ResilienceError::Eval(e)
    }
}

/// A cluster and its configuration, ready to be evaluated under failures.
pub struct Analysis<'s> {
    snapshot: &'s Snapshot,
    databases: Vec<&'s Database>,
    policies: Vec<(String, RuleWise)>,
    routing: RoutingSettings,
    catchup: CatchupSettings,
    leadership: LeadershipSettings,
    regions: Regions,
    regioned: ServerSet,
    load_alert: f64,
    upstreams: bool,
}

/// The routing table of one database and policy in one scenario, as sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    answer: Option<Answer>,
    readers: ServerSet,
    writer: Option<ServerIdx>,
    routers: ServerSet,
}

impl Outcome {
    /// What answered the policy.
    pub fn answer(&self) -> Answer {
        self.answer.unwrap_or(Answer::Nothing)
    }

    /// The readers the policy selected.
    pub fn readers(&self) -> &ServerSet {
        &self.readers
    }

    /// The writer: the leader, if it is usable.
    pub fn writer(&self) -> Option<ServerIdx> {
        self.writer
    }

    /// The routers: the usable primaries.
    pub fn routers(&self) -> &ServerSet {
        &self.routers
    }

    /// Whether clients are left without readers or without routers.
    pub fn is_outage(&self) -> bool {
        self.readers.is_empty() || self.routers.is_empty()
    }
}

impl Outcome {
    /// The writer and routers of `roles`.
    fn set_roles(&mut self, roles: &Roles) {
        self.writer = roles.writer;
        copy_into(&mut self.routers, &roles.routers);
    }
}

/// One scenario × database × policy of a sweep, valid during the visit.
pub struct Record<'r> {
    scenario: &'r Scenario,
    database: &'r Database,
    policy: &'r str,
    outcome: &'r Outcome,
    today: &'r Outcome,
    regions: &'r Regions,
}

impl<'r> Record<'r> {
    /// The scenario.
    pub fn scenario(&self) -> &'r Scenario {
        self.scenario
    }

    /// The database.
    pub fn database(&self) -> &'r Database {
        self.database
    }

    /// The policy's name.
    pub fn policy(&self) -> &'r str {
        self.policy
    }

    /// The routing table after the failure.
    pub fn outcome(&self) -> &'r Outcome {
        self.outcome
    }

    /// The routing table with nothing down.
    pub fn today(&self) -> &'r Outcome {
        self.today
    }

    /// Whether clients are left without readers or without routers.
    pub fn is_outage(&self) -> bool {
        self.outcome.is_outage()
    }

    /// The names of the readers' regions, in region order (borrowed: no allocation).
    pub fn regions(&self) -> impl Iterator<Item = &'r str> + 'r {
        self.regions.names_of(&self.outcome.readers)
    }

    /// Each reader's share of the policy's reads under uniform picks; the shares sum to 1.
    pub fn load(&self) -> impl Iterator<Item = (ServerIdx, f64)> + 'r {
        let share = share_of(&self.outcome.readers);
        self.outcome.readers.iter().map(move |s| (s, share))
    }

    /// Each reader that also read with nothing down, with its share over its share then.
    pub fn growth(&self) -> impl Iterator<Item = (ServerIdx, f64)> + 'r {
        let factor = growth(self.today, self.outcome);
        let today = &self.today.readers;
        self.outcome
            .readers
            .iter()
            .filter(move |&s| today.contains(s))
            .map(move |s| (s, factor))
    }
}

fn share_of(readers: &ServerSet) -> f64 {
    1.0 / readers.len().max(1) as f64
}

/// How much each reader that read before reads now, relative to then.
fn growth(today: &Outcome, now: &Outcome) -> f64 {
    today.readers.len() as f64 / now.readers.len().max(1) as f64
}

impl<'s> Analysis<'s> {
    /// The analysis of `snapshot` under `config`'s policies and settings.
    pub fn new(snapshot: &'s Snapshot, config: &Config) -> Result<Analysis<'s>, ResilienceError> {
        let policies = config
            .policies()
            .iter()
            .map(|(name, configured)| {
                RuleWise::compile(&configured.policy(), snapshot.interner())
                    .map(|rules| (name.clone(), rules))
                    .map_err(|error| ResilienceError::Compile {
                        policy: name.clone(),
                        error,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let regions = Regions::of(snapshot);
        let mut regioned = ServerSet::empty(snapshot.len());
        for r in 0..regions.names().len() {
            if let Some(members) = regions.members(r) {
                regioned.union_same(members);
            }
        }
        Ok(Analysis {
            snapshot,
            databases: snapshot.databases().iter().collect(),
            policies,
            routing: config.routing().clone(),
            catchup: config.catchup().clone(),
            leadership: config.leadership().clone(),
            regions,
            regioned,
            load_alert: 2.0,
            upstreams: true,
        })
    }

    /// Keeps only the databases for which `keep` is true.
    pub fn retain_databases(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.databases.retain(|db| keep(db.name()));
    }

    /// The databases analysed, in topology order.
    pub fn databases(&self) -> impl Iterator<Item = &'s Database> + '_ {
        self.databases.iter().copied()
    }

    /// Keeps only the policies for which `keep` is true.
    pub fn retain_policies(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.policies.retain(|(name, _)| keep(name));
    }

    /// Reports a reader as overloaded when its share of a policy's reads grows by at least
    /// `factor` (default 2).
    pub fn load_alert(mut self, factor: f64) -> Self {
        self.load_alert = factor;
        self
    }

    /// Whether sweeps ask for every secondary's catch-up upstream in every scenario (default:
    /// yes). Without, a sweep evaluates only the routing tables and the leader checks.
    pub fn with_upstreams(mut self, on: bool) -> Self {
        self.upstreams = on;
        self
    }

    /// The snapshot analysed.
    pub fn snapshot(&self) -> &'s Snapshot {
        self.snapshot
    }

    /// The policies' names, in the order records list them.
    pub fn policies(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|(n, _)| n.as_str())
    }

    /// The regions servers are in.
    pub fn regions(&self) -> &Regions {
        &self.regions
    }

    /// The routing table of `db` under `policy` (an index into [`Analysis::policies`]) with the
    /// servers of `down` unusable, written into `out`.
    pub fn evaluate(
        &self,
        db: &Database,
        policy: usize,
        down: &ServerSet,
        out: &mut Outcome,
    ) -> Result<(), ResilienceError> {
        let mut roles = Roles::default();
        roles.fill(self, db, down);
        self.evaluate_policy(&roles, policy, out)
    }

    fn evaluate_policy(
        &self,
        roles: &Roles,
        policy: usize,
        out: &mut Outcome,
    ) -> Result<(), ResilienceError> {
        out.set_roles(roles);
        self.evaluate_readers(roles, policy, out)
    }

    /// The policy's part of an outcome whose writer and routers are `roles`' already.
    fn evaluate_readers(
        &self,
        roles: &Roles,
        policy: usize,
        out: &mut Outcome,
    ) -> Result<(), ResilienceError> {
        out.answer = match self.policies.get(policy) {
            Some((_, rules)) => {
                Some(rules.eval(self.snapshot, &roles.candidates, &mut out.readers)?)
            }
            None => {
                out.readers.reset(self.snapshot.len());
                None
            }
        };
        Ok(())
    }

    /// Evaluates every policy of every database under every scenario of at most `depth` of
    /// `domains`, handing each result to `visit` (scenario by scenario, databases in topology
    /// order, policies by name), and returns the ranked findings.
    pub fn sweep(
        &self,
        domains: &Domains,
        depth: usize,
        mut visit: impl FnMut(&Record<'_>),
    ) -> Result<Findings, ResilienceError> {
        let scenarios = scenario_count(domains.len(), depth);
        if scenarios > MAX_SCENARIOS {
            return Err(ResilienceError::TooManyScenarios { scenarios });
        }
        let n = self.snapshot.len();
        let today = self.today()?;
        let mut collector = Collector::new(self, domains);
        let mut selector = self.selector(0);
        let mut roles = Roles::default();
        let mut outcome = Outcome::default();
        let mut enumeration = Scenarios::new(domains, depth, n);
        while let Some(scenario) = enumeration.next_scenario() {
            for (d, &db) in self.databases.iter().enumerate() {
                roles.fill(self, db, scenario.down());
                // The writer and routers are the database's: set once for all its policies.
                outcome.set_roles(&roles);
                for (p, (name, _)) in self.policies.iter().enumerate() {
                    self.evaluate_readers(&roles, p, &mut outcome)?;
                    let Some(today) = today.get(d * self.policies.len() + p) else {
                        continue;
                    };
                    let record = Record {
                        scenario,
                        database: db,
                        policy: name,
                        outcome: &outcome,
                        today,
                        regions: &self.regions,
                    };
                    collector.policy(d, p, &record, self);
                    visit(&record);
                }
                collector.database(d, db, scenario, &roles);
                if !self.upstreams {
                    continue;
                }
                self.check_upstreams(
                    &mut selector,
                    d,
                    db,
                    scenario.down(),
                    &mut |server, answer| {
                        collector.upstream(d, server, answer, scenario);
                    },
                );
            }
        }
        Ok(collector.finish(self, domains))
    }

    /// Every (database, policy) outcome with nothing down, databases in order.
    fn today(&self) -> Result<Vec<Outcome>, ResilienceError> {
        let none = ServerSet::empty(self.snapshot.len());
        let mut all = Vec::new();
        for &db in &self.databases {
            for p in 0..self.policies.len() {
                let mut outcome = Outcome::default();
                self.evaluate(db, p, &none, &mut outcome)?;
                all.push(outcome);
            }
        }
        Ok(all)
    }

    /// A catch-up selector for this configuration, seeded.
    fn selector(&self, seed: u64) -> Selector {
        Selector::builder(&self.catchup)
            .rng(Rng::seeded(seed))
            .build(self.snapshot.interner())
    }

    /// Asks the selector for the upstream of every usable secondary of `db` with `down` failed,
    /// handing each answer to `seen`.
    fn check_upstreams(
        &self,
        selector: &mut Selector,
        _d: usize,
        db: &Database,
        down: &ServerSet,
        seen: &mut dyn FnMut(ServerIdx, Upstream),
    ) {
        for server in db.secondaries().iter() {
            if !self.snapshot.is_available(server) || down.contains(server) {
                continue;
            }
            let Some(name) = self.snapshot.server(server).map(|s| s.name()) else {
                continue;
            };
            let answer =
                match selector.try_select_without(self.snapshot, db.name(), name, Some(down)) {
                    Ok(Some(selection)) if self.is_last_resort(selection.strategy) => {
                        Upstream::LastResort(selection.upstream)
                    }
                    Ok(Some(selection)) => Upstream::Configured(selection.upstream),
                    Ok(None) => Upstream::None,
                    Err(_) => continue,
                };
            seen(server, answer);
        }
    }

    /// Whether `strategy` is the random-primary fallback the configuration does not list.
    fn is_last_resort(&self, strategy: &str) -> bool {
        let last_resort = StrategyName::RandomPrimary;
        strategy == last_resort.name()
            && !self
                .catchup
                .strategies
                .iter()
                .any(|s| s.kind == Some(last_resort))
    }
}

/// How a secondary's upstream was found in one scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upstream {
    /// A strategy of the configured list answered.
    Configured(ServerIdx),
    /// Only the implicit last resort, a random primary, answered.
    LastResort(ServerIdx),
    /// Nothing answered.
    None,
}

/// The roles of one database in one scenario, before any policy.
#[derive(Default)]
struct Roles {
    usable: ServerSet,
    candidates: ServerSet,
    routers: ServerSet,
    writer: Option<ServerIdx>,
}

impl Roles {
    fn fill(&mut self, analysis: &Analysis<'_>, db: &Database, down: &ServerSet) {
        let snapshot = analysis.snapshot;
        copy_into(&mut self.usable, snapshot.available());
        self.usable.subtract_same(down);
        readers_into(db, &self.usable, &analysis.routing, &mut self.candidates);
        copy_into(&mut self.routers, db.primaries());
        self.routers.intersect_same(&self.usable);
        self.writer = db.leader().filter(|&l| self.usable.contains(l));
    }
}
