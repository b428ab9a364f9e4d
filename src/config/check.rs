//! The rules of `tagroute check`: configuration files × an optional topology × an optional
//! server → a [`CheckReport`] of [`Finding`]s, each a [`ConfigDiagnostic`] placed in its file.
//!
//! Nothing here prints: the CLI renders the report for people or as JSON, and an embedder (or a
//! language server) gets the same findings as values. Whether tagroute would load a file is
//! decided by loading it ([`Config::load`]), the path `route` and `serve` take, and, with a
//! topology, by compiling its policies against the topology's tags as the routing service does
//! ([`compile_generation`](super::policies::compile_generation)): [`CheckReport::loads`] is
//! that verdict, never a second opinion. `check` is stricter than loading in two places,
//! neither of which stops Neo4j 5: a user-defined upstream policy that does not parse is an
//! error (Neo4j runs with it, but its strategy never answers), and a policy that differs
//! between the files is an error (policies are cluster-wide).
//!
//! This is where the policy language meets the cluster model: `impl TagCensus for Snapshot`
//! lives here, so that neither `syntax` nor `topology` knows the other. What a routing table
//! would hold comes from [`roles`](super::roles), the meaning of the routing settings that
//! routing tables use too, so that the readers and routers checked here are the ones served.

use std::collections::BTreeSet;

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind};
use super::policies::check_generation;
use super::{Config, ConfigErrors, PolicyDifference, SourceMap, UserDefined, keys};
use crate::compile::compile_staged;
use crate::span::{Severity, Span};
use crate::syntax::{self, LintKind, Policy, TagCensus};
use crate::topology::{Database, ServerSet, Snapshot};

/// One finding of [`check`]: a diagnostic and the file it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The index of the file in the list given to [`check`]; `None` for a finding about the
    /// topology or the cluster rather than one file (its span is then empty).
    pub file: Option<usize>,
    /// What was found, with a span into that file's text.
    pub diagnostic: ConfigDiagnostic,
    /// Whether Neo4j 5 refuses to start with the file because of it. `check`'s own errors
    /// (a policy differing between files, a user-defined policy that does not parse, an
    /// unknown `--server`) do not stop Neo4j.
    pub stops_neo4j: bool,
}

/// Everything [`check`] found, in the order a person reads it: file by file (loading, then
/// the comparison with the topology), then what concerns several files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// Every finding, errors and warnings.
    pub findings: Vec<Finding>,
    /// For each file, whether tagroute loads it (and, with a topology, can serve its policies):
    /// exactly what `route` and `serve` would do with it.
    pub loads: Vec<bool>,
}

impl CheckReport {
    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.of(Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.of(Severity::Warning)
    }

    /// Whether Neo4j 5 would refuse to start with file `file`.
    pub fn stops_neo4j(&self, file: usize) -> bool {
        self.findings
            .iter()
            .any(|f| f.file == Some(file) && f.stops_neo4j)
    }

    /// Whether tagroute loads file `file` (see [`CheckReport::loads`]).
    pub fn tagroute_loads(&self, file: usize) -> bool {
        self.loads.get(file).copied().unwrap_or(false)
    }

    /// The findings of file `file` whose keys Neo4j accepts only if something the file cannot
    /// tell holds (a plugin is installed, Enterprise Edition's own migration carries a 4.4 key
    /// over): the conditions of its "would start", each named by the finding's
    /// [`ConfigDiagnostic::neo4j_condition`].
    pub fn conditions(&self, file: usize) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(move |f| f.file == Some(file) && f.diagnostic.neo4j_condition.is_some())
    }

    fn of(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(move |f| f.diagnostic.severity == severity)
    }

    fn push(&mut self, file: Option<usize>, diagnostic: ConfigDiagnostic) {
        self.findings.push(Finding {
            file,
            diagnostic,
            stops_neo4j: false,
        });
    }
}

/// Checks configuration files, each as [`Config::load`] or [`Config::parse`] returned it (a
/// file that failed to load is reported with every one of its diagnostics), against a
/// topology when one is given, and `server`'s `initial.server.tags` against the tags the
/// topology gives it.
///
/// ```
/// use std::path::Path;
/// use tagroute::Strictness;
/// use tagroute::config::{Config, ConfigDiagnosticKind, check};
///
/// let a = Config::parse("dbms.routing.load_balancing.config.server_policies.p=tags(x)", Path::new("a.conf"), Strictness::Default);
/// let b = Config::parse("dbms.routing.load_balancing.config.server_policies.p=tags(y)", Path::new("b.conf"), Strictness::Default);
/// let report = check(&[a, b], None, None);
/// let kinds: Vec<_> = report.errors().map(|f| f.diagnostic.kind).collect();
/// assert_eq!(kinds, [ConfigDiagnosticKind::PolicyDiffers]);
/// ```
pub fn check(
    files: &[Result<Config, ConfigErrors>],
    topology: Option<&Snapshot>,
    server: Option<&str>,
) -> CheckReport {
    let mut report = CheckReport::default();
    for (i, file) in files.iter().enumerate() {
        let loads = match file {
            Ok(config) => {
                loaded(&mut report, i, config.warnings());
                match topology {
                    Some(snapshot) => against_topology(&mut report, i, config, snapshot, server),
                    None => true,
                }
            }
            Err(errors) => {
                let all = errors.errors().iter().chain(errors.warnings());
                loaded(&mut report, i, all);
                false
            }
        };
        report.loads.push(loads);
    }
    if let Some(snapshot) = topology {
        cluster_wide(&mut report, snapshot, server);
    }
    let configs: Vec<(usize, &Config)> = files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.as_ref().ok().map(|c| (i, c)))
        .collect();
    differences(&mut report, &configs);
    report
}

/// A file's own diagnostics: its errors stop Neo4j; a broken user-defined policy is an error
/// of `check`'s that does not.
fn loaded<'d>(
    report: &mut CheckReport,
    file: usize,
    diagnostics: impl IntoIterator<Item = &'d ConfigDiagnostic>,
) {
    for diagnostic in diagnostics {
        let mut diagnostic = diagnostic.clone();
        let stops_neo4j = diagnostic.stops_neo4j;
        if diagnostic.kind == Kind::InvalidUserDefined {
            diagnostic.severity = Severity::Error;
        }
        report.findings.push(Finding {
            file: Some(file),
            diagnostic,
            stops_neo4j,
        });
    }
}

/// Everything that compares one loaded file with the topology; whether its policies compile
/// against the topology's tags, as the routing service compiles them.
fn against_topology(
    report: &mut CheckReport,
    file: usize,
    config: &Config,
    snapshot: &Snapshot,
    server: Option<&str>,
) -> bool {
    if let Err(failure) = check_generation(config.policies(), snapshot.interner()) {
        report.findings.push(Finding {
            file: Some(file),
            diagnostic: failure.diagnostic(),
            stops_neo4j: false,
        });
        return false;
    }
    policy_lints(report, file, config, snapshot);
    empty_readers(report, file, config, snapshot);
    priority_tags(report, file, config, snapshot);
    if let Some(name) = server {
        server_tags(report, file, config, snapshot, name);
    }
    true
}

/// The lints that need the cluster (tags no server carries, `min` above what could match).
fn policy_lints(report: &mut CheckReport, file: usize, config: &Config, snapshot: &Snapshot) {
    for policy in config.policies().values().filter(|p| !p.is_builtin()) {
        let place = |span| policy.file_span(span);
        lints(
            report,
            file,
            &policy.name,
            &policy.policy(),
            snapshot,
            &place,
        );
    }
    if let UserDefined::Valid {
        policy, source_map, ..
    } = &config.catchup().user_defined
    {
        let place = |span| SourceMap::file_span(source_map, span);
        lints(report, file, "user-defined", policy, snapshot, &place);
    }
}

fn lints(
    report: &mut CheckReport,
    file: usize,
    name: &str,
    policy: &Policy,
    snapshot: &Snapshot,
    place: &dyn Fn(Span) -> Span,
) {
    let topology_kinds = [LintKind::UnknownTag, LintKind::MinTooLarge];
    for lint in syntax::lint_with(policy, snapshot) {
        if topology_kinds.contains(&lint.kind) {
            let message = format!("policy `{name}`: {}", lint.message);
            let diagnostic =
                ConfigDiagnostic::warning(Kind::PolicyLint(lint.kind), place(lint.span), message);
            report.push(Some(file), diagnostic);
        }
    }
}

/// A policy that selects no reader of a database that has some: the state behind drivers'
/// "Failed to obtain connection towards READ server".
fn empty_readers(report: &mut CheckReport, file: usize, config: &Config, snapshot: &Snapshot) {
    let none = ServerSet::empty(snapshot.len());
    let mut selected = ServerSet::default();
    for policy in config.policies().values().filter(|p| !p.is_builtin()) {
        let Ok(program) = compile_staged(policy.rules(), &mut snapshot.interner().stage()) else {
            continue;
        };
        for db in snapshot.databases() {
            let roles = super::roles(snapshot, db, &none, config.routing());
            if roles.readers.is_empty() {
                continue; // said once for the database, in `cluster_wide`
            }
            let evaluated = crate::vm::eval(&program, snapshot, &roles.readers, &mut selected);
            if evaluated.is_ok() && selected.is_empty() {
                let message = format!(
                    "policy `{}` selects no reader of database `{}`: its routing table has no readers",
                    policy.name,
                    db.name()
                );
                let help = format!(
                    "the readers are {}; drivers fail with \"Failed to obtain connection towards READ server\"",
                    names(snapshot, &roles.readers)
                );
                let span = policy.key_span().unwrap_or_default();
                let diagnostic =
                    ConfigDiagnostic::warning(Kind::NoReaders, span, message).with_help(help);
                report.push(Some(file), diagnostic);
            }
        }
    }
}

/// For every database of the topology, the priority tag that applies to it must be carried by
/// one of its primaries; a per-database key must name a database of the topology.
fn priority_tags(report: &mut CheckReport, file: usize, config: &Config, snapshot: &Snapshot) {
    let leadership = config.leadership();
    for db in snapshot.databases() {
        let Some(tag) = leadership.priority_tag_of(db.name()) else {
            continue;
        };
        let mut carriers = snapshot.tagged_by_name(tag);
        carriers.intersect_same(db.primaries());
        if carriers.is_empty() {
            let span = priority_key_span(config, db.name()).unwrap_or_default();
            let message = format!(
                "no primary of database `{}` carries its leadership priority tag `{tag}`",
                db.name()
            );
            let help = format!(
                "its primaries are {}; the priority can never be satisfied",
                names(snapshot, db.primaries())
            );
            report.push(
                Some(file),
                ConfigDiagnostic::warning(Kind::PriorityTagNotCarried, span, message)
                    .with_help(help),
            );
        }
    }
    for database in leadership.per_database.keys() {
        if snapshot.database(database).is_none() {
            let span = priority_key_span(config, database).unwrap_or_default();
            let known: Vec<&str> = snapshot.databases().iter().map(Database::name).collect();
            let message = format!("the topology has no database `{database}`");
            let help = format!("its databases are {}", quoted(&known));
            report.push(
                Some(file),
                ConfigDiagnostic::warning(Kind::UnknownDatabase, span, message).with_help(help),
            );
        }
    }
}

/// The key that gives `database` its priority tag: its own, or the global one.
fn priority_key_span(config: &Config, database: &str) -> Option<Span> {
    let own = keys::PRIORITY_TAG_PER_DATABASE
        .keys()
        .find_map(|key| config.key_span(&format!("{key}{database}")));
    own.or_else(|| {
        keys::PRIORITY_TAG
            .keys()
            .find_map(|key| config.key_span(key))
    })
}

/// A warning when `initial.server.tags` is not what the topology gives the server.
fn server_tags(
    report: &mut CheckReport,
    file: usize,
    config: &Config,
    snapshot: &Snapshot,
    name: &str,
) {
    let Some(idx) = snapshot.index_of(name) else {
        return; // an error of its own, in `cluster_wide`
    };
    let configured: BTreeSet<&str> = config
        .initial_server_tags()
        .iter()
        .map(String::as_str)
        .collect();
    let actual = snapshot.tag_names_of(idx);
    let actual: BTreeSet<&str> = actual.iter().map(|t| &**t).collect();
    if configured == actual {
        return;
    }
    let list = |tags: &BTreeSet<&str>| {
        if tags.is_empty() {
            "no tags".to_owned()
        } else {
            format!("`{}`", tags.iter().copied().collect::<Vec<_>>().join(", "))
        }
    };
    let message = format!(
        "`initial.server.tags` gives {} but the topology gives server `{name}` {}",
        list(&configured),
        list(&actual)
    );
    let span = keys::INITIAL_TAGS
        .keys()
        .find_map(|key| config.key_span(key))
        .unwrap_or_default();
    report.push(
        Some(file),
        ConfigDiagnostic::warning(Kind::ServerTagsDiffer, span, message),
    );
}

/// What concerns the topology as a whole: an unknown `--server`, databases without routers or
/// without any server to read from.
fn cluster_wide(report: &mut CheckReport, snapshot: &Snapshot, server: Option<&str>) {
    if let Some(name) = server.filter(|name| snapshot.index_of(name).is_none()) {
        let known: Vec<&str> = snapshot.servers().iter().map(|s| s.name()).collect();
        let message = format!("the topology has no server `{name}`");
        let help = format!("its servers are {}", quoted(&known));
        let diagnostic =
            ConfigDiagnostic::error(Kind::UnknownServer, Span::default(), message).with_help(help);
        report.push(None, diagnostic);
    }
    let none = ServerSet::empty(snapshot.len());
    let settings = super::RoutingSettings::default();
    for db in snapshot.databases() {
        let roles = super::roles(snapshot, db, &none, &settings);
        let message = if roles.readers.is_empty() {
            format!(
                "database `{}` has no available server: its routing table is empty",
                db.name()
            )
        } else if roles.routers.is_empty() {
            format!(
                "database `{}` has no available primary: its routing table has no routers",
                db.name()
            )
        } else {
            continue;
        };
        let kind = if roles.readers.is_empty() {
            Kind::NoReaders
        } else {
            Kind::NoRouters
        };
        report.push(
            None,
            ConfigDiagnostic::warning(kind, Span::default(), message),
        );
    }
}

/// Every policy that is not the same in every file: an error at the policy's key in the
/// first file that configures it.
fn differences(report: &mut CheckReport, configs: &[(usize, &Config)]) {
    let loaded: Vec<&Config> = configs.iter().map(|(_, c)| *c).collect();
    for difference in super::policy_differences(&loaded) {
        let place = configs.iter().find_map(|(i, c)| {
            let policy = c.policy(&difference.name)?;
            policy.key_span().map(|span| (*i, span))
        });
        let (file, span) = match place {
            Some((i, span)) => (Some(i), span),
            None => (None, Span::default()),
        };
        let message = format!(
            "policy `{}` differs between the configurations (policies must be the same on every server)",
            difference.name
        );
        let diagnostic = ConfigDiagnostic::error(Kind::PolicyDiffers, span, message)
            .with_help(versions(&difference));
        report.push(file, diagnostic);
    }
}

/// `a.conf: tags(n); b.conf: (not configured)`.
fn versions(difference: &PolicyDifference) -> String {
    difference
        .versions
        .iter()
        .map(|v| {
            let canonical = v.canonical.as_deref().unwrap_or("(not configured)");
            format!("{}: {canonical}", v.origin)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn names(snapshot: &Snapshot, set: &ServerSet) -> String {
    let names = snapshot.names(set);
    if names.is_empty() {
        "none".to_owned()
    } else {
        quoted(&names)
    }
}

fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

impl TagCensus for Snapshot {
    fn carries(&self, tag: &str) -> bool {
        !self.tagged_by_name(tag).is_empty()
    }

    fn count_matching(&self, filters: &[&BTreeSet<String>]) -> usize {
        let mut matching = self.all();
        for filter in filters {
            let mut union = ServerSet::empty(self.len());
            for tag in filter.iter() {
                union.union_same(&self.tagged_by_name(tag));
            }
            matching.intersect_same(&union);
        }
        matching.len()
    }
}
