//! The adapter to the routing module: the one file of `serve` that names its API.
//!
//! It holds the configuration's [`RoutingService`] over the live topology (which
//! [`sources`](super::sources) publishes), answers a ROUTE with a table or a failure that says
//! why, reloads the configuration, and tells the metrics which rule of a policy chose the
//! readers.
//!
//! The database of a ROUTE is Neo4j's: a name or an alias, in any case; a ROUTE naming none
//! gets the user's home database (the auth file's), else the topology's default database (the
//! followed cluster's), else `initial.dbms.default_database`, else `neo4j`. The table names the
//! database as the client did (Neo4j does the same, and drivers file the table under the name
//! the answer gives: a table for `Graph` answered as `neo4j` would never be found again), or,
//! when it named none, by its name.
//!
//! A table always has a READ and a ROUTE entry: drivers reject a table without either, so such
//! an answer is a [`RouteFailure`] naming the empty role and why. With `--advertise`, the
//! ROUTE entry lists the advertised tagroute addresses instead of the database's routers, so
//! drivers keep asking tagroute.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::config::{Config, ConfigErrors};
use crate::rng::Rng;
use crate::routing::{
    ReloadError, Role, RouteRequest, RoutingError, RoutingService, RoutingTable, TableScratch,
    roles,
};
use crate::span::Span;
use crate::syntax::Strictness;
use crate::topology::{
    Database, Server, ServerSet, Snapshot, Topology, TopologyError, TopologySpec, from_json,
};
use crate::vm::{self, Answer, FilterTrace, RuleOutcome, RuleTrace, Step};

/// The database a ROUTE that names none gets when neither the user, the topology nor the
/// configuration names a default: Neo4j's own default.
pub const HOME_DATABASE: &str = "neo4j";

/// The configuration being served, over the live topology.
#[derive(Debug)]
pub struct Routes {
    service: RoutingService,
    /// `initial.dbms.default_database`, as the configuration last loaded says.
    default_database: ArcSwapOption<String>,
    advertise: Arc<[String]>,
}

/// Why files could not be loaded; every error, each with its position or field.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The configuration does not load (every error with `file:line:col`).
    Config(ConfigErrors),
    /// A policy does not compile, or the policies were refused.
    Policy(String),
    /// The topology file cannot be read or built (the field at fault).
    Topology {
        /// The file.
        file: String,
        /// What is wrong, with its field.
        error: String,
    },
    /// Neither the configuration nor the topology loads: both errors, in that order.
    Both(Box<[LoadError; 2]>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Config(errors) => f.write_str(&errors.render_all()),
            LoadError::Policy(message) => f.write_str(message),
            LoadError::Topology { file, error } => write!(f, "{file}: {error}"),
            LoadError::Both(errors) => write!(f, "{}\n{}", errors[0], errors[1]),
        }
    }
}

impl std::error::Error for LoadError {}

/// Why a ROUTE got no table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteFailure {
    /// The policy the client named does not exist.
    UnknownPolicy(String),
    /// The database does not exist (the message names those that do).
    UnknownDatabase {
        /// The name asked for.
        name: String,
        /// The routing module's message.
        message: String,
    },
    /// The table would have no READ entry; why.
    NoReader(String),
    /// The table would have no ROUTE entry; why.
    NoRouter(String),
    /// Anything else the routing module refused.
    Other(String),
}

impl RouteFailure {
    /// The `outcome` label of the request metric.
    pub fn outcome(&self) -> &'static str {
        match self {
            RouteFailure::UnknownPolicy(_) => "unknown_policy",
            RouteFailure::UnknownDatabase { .. } => "unknown_database",
            RouteFailure::NoReader(_) => "no_reader",
            RouteFailure::NoRouter(_) => "no_router",
            RouteFailure::Other(_) => "error",
        }
    }
}

impl fmt::Display for RouteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteFailure::UnknownPolicy(name) => write!(f, "unknown policy `{name}`"),
            RouteFailure::UnknownDatabase { message, .. } => f.write_str(message),
            RouteFailure::NoReader(why) | RouteFailure::NoRouter(why) => f.write_str(why),
            RouteFailure::Other(message) => f.write_str(message),
        }
    }
}

/// A table ready to send: the routing module's table, borrowed from the caller's
/// [`TableScratch`], with the advertised routers if any.
#[derive(Clone, Copy, Debug)]
pub struct Answered<'s> {
    table: &'s RoutingTable,
    advertise: &'s [String],
    /// The database's name as the client asked for it, when it named one and that is not
    /// the database's own name.
    asked: Option<&'s str>,
}

impl<'s> Answered<'s> {
    /// The TTL in whole seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.table.ttl_secs()
    }

    /// The database as the table names it: as the client asked for it (an alias, another
    /// case), or by its name when the client named none.
    pub fn database(&self) -> &str {
        self.asked.unwrap_or(self.table.database())
    }

    /// The database's own name.
    pub fn canonical_database(&self) -> &str {
        self.table.database()
    }

    /// The addresses of `role`, in table order.
    pub fn addresses(&self, role: Role) -> impl Iterator<Item = &'s str> {
        let advertised = role == Role::Route && !self.advertise.is_empty();
        let (advertise, servers) = if advertised {
            (self.advertise, None)
        } else {
            (&[][..], Some(self.table.resolved(role)))
        };
        let servers = servers.into_iter().flatten().map(Server::address);
        advertise.iter().map(String::as_str).chain(servers)
    }
}

/// Which rule of a policy chose the readers, per (policy, database), for the one snapshot and
/// policy generation it was found for. One per connection: a driver asks the same question
/// again and again, so the traced evaluation runs once per change of either.
#[derive(Debug, Default)]
pub struct RuleCache {
    entries: Vec<RuleEntry>,
}

#[derive(Debug)]
struct RuleEntry {
    policy: String,
    database: String,
    stamp: (u64, u64),
    rule: String,
}

/// How many (policy, database) pairs a connection remembers; drivers use one or two.
const RULE_CACHE_SIZE: usize = 8;

impl Routes {
    /// Serves `config` (loaded from `path`) over a live topology starting at `snapshot`;
    /// `advertise` lists the addresses to put in ROUTE entries (empty: the database's routers).
    pub fn new(
        path: &Path,
        config: &Config,
        snapshot: Snapshot,
        advertise: Vec<String>,
    ) -> Result<Routes, LoadError> {
        let topology = Arc::new(Topology::from_snapshot(snapshot));
        let service = RoutingService::new(topology, config)
            .map_err(|e| LoadError::Policy(format!("{}: {e}", path.display())))?;
        Ok(Routes {
            service,
            default_database: ArcSwapOption::new(
                config.default_database().map(|d| Arc::new(d.to_owned())),
            ),
            advertise: advertise.into(),
        })
    }

    /// The live topology: what the sources publish to.
    pub fn topology(&self) -> &Arc<Topology> {
        self.service.topology()
    }

    /// The names of the policies being served.
    pub fn policy_names(&self) -> Vec<String> {
        let generation = self.service.generation();
        generation.policies().names().map(str::to_owned).collect()
    }

    /// The table for `policy` (or `default`) and `database`, computed in `scratch` (one per
    /// connection: once it has held a table of the cluster's size, a table allocates nothing).
    /// A ROUTE naming no database gets `home` (the user's home database), else the topology's
    /// default database, else `initial.dbms.default_database`, else [`HOME_DATABASE`].
    pub fn route<'s>(
        &'s self,
        policy: Option<&str>,
        database: Option<&'s str>,
        home: Option<&str>,
        rng: &mut Rng,
        scratch: &'s mut TableScratch,
    ) -> Result<Answered<'s>, RouteFailure> {
        let snapshot = self.snapshot();
        let default = self.default_database.load();
        let asked = database;
        let database = match asked {
            Some(name) => name,
            None => home
                .or_else(|| snapshot.default_database().map(Database::name))
                .or(default.as_deref().map(String::as_str))
                .unwrap_or(HOME_DATABASE),
        };
        let request = RouteRequest {
            database,
            policy,
            excluded: &[],
        };
        let computed = self.service.table_into(&request, rng, scratch);
        let table = computed.map_err(|e| match e {
            RoutingError::UnknownPolicy(_) => {
                RouteFailure::UnknownPolicy(request.policy_name().to_owned())
            }
            RoutingError::UnknownDatabase(e) => RouteFailure::UnknownDatabase {
                name: database.to_owned(),
                message: e.to_string(),
            },
            RoutingError::EmptyTable { .. } => {
                RouteFailure::NoReader(self.no_reader(request.policy_name(), database))
            }
            other => RouteFailure::Other(other.to_string()),
        })?;
        if table.servers(Role::Read).is_empty() {
            return Err(RouteFailure::NoReader(
                self.no_reader(request.policy_name(), database),
            ));
        }
        if self.advertise.is_empty() && table.servers(Role::Route).is_empty() {
            return Err(RouteFailure::NoRouter(no_router(
                table.snapshot(),
                database,
            )));
        }
        Ok(Answered {
            asked: asked.filter(|name| *name != table.database()),
            table,
            advertise: &self.advertise,
        })
    }

    /// The label of the rule of `policy` that chose `answered`'s readers: `1`, `2`, … or `all`.
    pub fn answering_rule<'c>(
        &self,
        policy: Option<&str>,
        answered: &Answered<'_>,
        cache: &'c mut RuleCache,
    ) -> &'c str {
        let policy = policy.unwrap_or(crate::config::DEFAULT_POLICY);
        let snapshot = answered.table.snapshot();
        let stamp = (snapshot.epoch(), self.service.generation().number());
        let database = answered.canonical_database();
        let at = cache
            .entries
            .iter()
            .position(|e| e.policy == policy && e.database == database);
        if let Some(at) = at.filter(|&at| cache.entries.get(at).is_some_and(|e| e.stamp == stamp)) {
            return cache.entries.get(at).map_or("", |e| e.rule.as_str());
        }
        let rule = self
            .explain(policy, snapshot, database)
            .map_or_else(|| "unknown".to_owned(), |(answer, _)| rule_label(answer));
        let entry = RuleEntry {
            policy: policy.to_owned(),
            database: database.to_owned(),
            stamp,
            rule,
        };
        let slot = match at {
            Some(at) => at,
            None if cache.entries.len() < RULE_CACHE_SIZE => {
                cache.entries.push(entry);
                return cache.entries.last().map_or("", |e| e.rule.as_str());
            }
            None => 0,
        };
        match cache.entries.get_mut(slot) {
            Some(old) => {
                *old = entry;
                old.rule.as_str()
            }
            None => "",
        }
    }

    /// Whether a policy of this name exists now (for metric labels).
    pub fn has_policy(&self, name: &str) -> bool {
        self.service.generation().policies().get(name).is_ok()
    }

    /// The name of the database called `name` (or aliased so, in any case), if it exists now
    /// (for metric labels).
    pub fn database_name(&self, name: &str) -> Option<String> {
        let snapshot = self.snapshot();
        snapshot.database(name).map(|db| db.name().to_owned())
    }

    /// The snapshot being served.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.service.topology().snapshot()
    }

    /// Swaps in `config`'s policies, settings and default database together; if a policy does
    /// not compile nothing changes and the old ones keep serving.
    pub fn reload(&self, path: &Path, config: &Config) -> Result<(), LoadError> {
        self.service.reload(config).map_err(|e| match e {
            ReloadError::Config(errors) => LoadError::Config(errors),
            other => LoadError::Policy(format!("{}: {other}", path.display())),
        })?;
        let default = config.default_database().map(|d| Arc::new(d.to_owned()));
        self.default_database.store(default);
        Ok(())
    }

    /// Why `database` would get no reader under `policy`: nobody can read, or the policy
    /// chose nobody (and what each of its rules kept).
    fn no_reader(&self, policy: &str, database: &str) -> String {
        let snapshot = self.snapshot();
        let head = format!("no READ server for database `{database}`");
        let Some(db) = snapshot.database(database) else {
            return head;
        };
        let Some((answer, trace)) = self.explain(policy, &snapshot, database) else {
            return head;
        };
        if trace.candidates == 0 {
            let hosts = hosts(db);
            let up = count_in(&hosts, snapshot.available());
            return format!(
                "{head}: {up} of the {} servers hosting it are available",
                hosts.len()
            );
        }
        let ended = match answer {
            Answer::Nothing(_) => "halted",
            _ => "selected no server",
        };
        format!(
            "{head}: policy `{policy}` {ended} among {} usable readers ({})",
            trace.candidates,
            trace.rules.join(", ")
        )
    }

    /// The traced evaluation of `policy` on `database`'s readers in `snapshot`.
    fn explain(
        &self,
        policy: &str,
        snapshot: &Snapshot,
        database: &str,
    ) -> Option<(Answer, Trace)> {
        let generation = self.service.generation();
        let compiled = generation.policies().get(policy).ok()?;
        let db = snapshot.database(database)?;
        let settings = generation.settings();
        let candidates = roles(snapshot, db, &ServerSet::empty(snapshot.len()), settings).readers;
        let explanation = vm::explain(
            &compiled.policy(),
            compiled.program(),
            snapshot,
            &candidates,
        )
        .ok()?;
        let text = compiled.text();
        let rules = explanation
            .rules
            .iter()
            .filter(|rule| rule.outcome == RuleOutcome::Empty)
            .map(|rule| why_empty(text, rule))
            .collect();
        Some((
            explanation.answer,
            Trace {
                candidates: candidates.len(),
                rules,
            },
        ))
    }
}

/// Why a rule that ran kept nobody: the `min(n)` that emptied it and what it saw, or the
/// filter that kept nobody.
fn why_empty(text: &str, rule: &RuleTrace) -> String {
    let written = source(text, Some(rule.span));
    let emptied = rule.filters.iter().find(|f| match f.step {
        Step::Min { passed, .. } => !passed,
        Step::Tags | Step::All => f.kept.is_empty(),
    });
    match emptied {
        Some(FilterTrace {
            span,
            step: Step::Min { saw, .. },
            ..
        }) => format!("`{written}`: `{}` saw {saw}", source(text, Some(*span))),
        Some(filter) => format!("`{written}`: `{}` kept 0", source(text, Some(filter.span))),
        None => format!("`{written}` kept 0"),
    }
}

/// What a traced evaluation kept: the candidates, and why each rule that ran kept nobody.
struct Trace {
    candidates: usize,
    rules: Vec<String>,
}

fn rule_label(answer: Answer) -> String {
    match answer {
        Answer::Rule(i) => (i + 1).to_string(),
        Answer::Candidates(_) => "all".into(),
        Answer::Nothing(_) => "none".into(),
    }
}

fn source(text: &str, span: Option<Span>) -> String {
    span.and_then(|s| text.get(s.range()))
        .unwrap_or("?")
        .trim()
        .to_owned()
}

fn hosts(db: &Database) -> ServerSet {
    let mut hosts = db.primaries().clone();
    hosts.union_same(db.secondaries());
    hosts
}

fn count_in(set: &ServerSet, within: &ServerSet) -> usize {
    let mut both = set.clone();
    both.intersect_same(within);
    both.len()
}

fn no_router(snapshot: &Snapshot, database: &str) -> String {
    let head = format!("no ROUTE server for database `{database}`");
    match snapshot.database(database) {
        Some(db) => format!(
            "{head}: {} of its {} primaries are available",
            count_in(db.primaries(), snapshot.available()),
            db.primaries().len()
        ),
        None => head,
    }
}

/// The configuration file at `path`.
pub fn load_config(path: &Path) -> Result<Config, LoadError> {
    Config::load(path, Strictness::Default).map_err(LoadError::Config)
}

/// The topology file at `path`, as a description (checked as a snapshot later).
pub fn read_topology(path: &Path) -> Result<TopologySpec, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Topology {
        file: path.display().to_string(),
        error: format!("cannot read the topology: {e}"),
    })?;
    from_json(&text).map_err(|e| topology_error(path, &e))
}

/// A topology error in the file at `path`.
pub fn topology_error(path: &Path, error: &TopologyError) -> LoadError {
    LoadError::Topology {
        file: path.display().to_string(),
        error: error.to_string(),
    }
}
