//! neo4j.conf: the policies and settings tagroute reads (docs/configuration.md).
//!
//! ```text
//! file bytes --charset----> text (ISO-8859-1, as Neo4j reads it by default)
//!            --properties--> keys and values, as java.util.Properties reads them (each byte
//!                            placed in the file, through continuations and escapes)
//!            --keys--------> Neo4j 5's validation: unknown, removed and repeated keys
//!            --settings----> Config, or ConfigErrors listing every error
//! ```
//!
//! The file is read exactly as Neo4j 5 reads it: what stops Neo4j from starting is an error
//! here too, and a diagnostic says when tagroute is more lenient than Neo4j
//! ([`ConfigDiagnostic::stops_neo4j`]). [`Config`] loads whole or fails whole: every problem of
//! the file is collected, errors and warnings apart, each with a kind and a span into the file
//! text, so that a policy error is shown at the character the user wrote even through line
//! continuations and escapes. Loading is linear in the size of the file (a line index built
//! once, keys sorted once) and its memory proportionate to it. Nothing here prints.
//!
//! The layers below know nothing of files: [`crate::syntax`] parses one policy text, and this
//! module maps its spans back into the file.

#![deny(clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::indexing_slicing, reason = "tests index what they just built")
)]

mod catalogue;
mod catchup;
mod check;
mod diff;
mod duration;
mod error;
mod keys;
mod leader;
mod located;
mod migrate;
mod policies;
mod properties;
mod roles;
mod routing;
#[cfg(test)]
mod testing;
mod values;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use catalogue::{
    Catalogue, Edition, Migration, Neo4jTarget, Neo4jVersion, SettingDef, ValueType,
    is_neo4j_44_setting, migration,
};
pub use catchup::{CatchupSettings, ConfiguredStrategy, StrategyName, UserDefined};
pub use check::{CheckReport, Finding, check};
pub use diff::{PolicyDifference, PolicyVersion, policy_differences};
pub use duration::{DurationError, parse_duration};
pub use error::{ConfigDiagnostic, ConfigDiagnosticKind, ConfigErrors, Neo4jCondition, Unlisted};
pub use leader::LeadershipSettings;
pub use located::SourceMap;
pub use migrate::{Migrated, MigrationChange, migrate};
pub(crate) use policies::compile_generation;
pub use policies::{ConfiguredPolicy, DEFAULT_POLICY};
pub(crate) use roles::readers_into;
pub use roles::{Roles, roles, roles_into};
pub use routing::RoutingSettings;

use crate::span::LineIndex;
use crate::syntax::Strictness;
use error::Diagnostics;

/// How the bytes of a configuration file become text.
///
/// Neo4j 5 reads neo4j.conf as ISO-8859-1 unless the environment variable
/// `NEO4J_CONFIG_FILE_CHARSET` names another charset; tagroute supports the two that matter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Charset {
    /// ISO-8859-1: every byte is one character. Neo4j's default.
    #[default]
    Latin1,
    /// UTF-8; a malformed sequence reads as U+FFFD (with a warning), as Java's decoder does.
    Utf8,
}

impl Charset {
    /// The charset Neo4j would use: `NEO4J_CONFIG_FILE_CHARSET` when it names UTF-8, ISO-8859-1
    /// otherwise (other charsets Neo4j would honour are read as ISO-8859-1).
    pub fn from_env() -> Charset {
        std::env::var("NEO4J_CONFIG_FILE_CHARSET")
            .map_or(Charset::Latin1, |name| Charset::named(&name))
    }

    /// The charset called `name` (`UTF-8`, `utf8`, ...), ISO-8859-1 for any other name.
    pub fn named(name: &str) -> Charset {
        let name = name.trim().to_ascii_lowercase().replace(['-', '_'], "");
        if name == "utf8" {
            Charset::Utf8
        } else {
            Charset::Latin1
        }
    }
}

/// Past the first of each kind, diagnostics may take half as much memory as the file, and at
/// least this much (256 KiB).
const DIAGNOSTICS_FLOOR: usize = 256 << 10;

/// A loaded configuration: every setting tagroute reads, and the warnings about them.
#[derive(Clone, Debug)]
pub struct Config {
    origin: String,
    lines: LineIndex,
    policies: BTreeMap<String, ConfiguredPolicy>,
    routing: RoutingSettings,
    catchup: CatchupSettings,
    leadership: LeadershipSettings,
    initial_server_tags: Vec<String>,
    default_database: Option<String>,
    warnings: Vec<ConfigDiagnostic>,
    unlisted: Vec<Unlisted>,
    ignored_keys: IgnoredKeys,
    /// Where each key tagroute reads is.
    key_spans: BTreeMap<String, crate::span::Span>,
}

/// The keys tagroute does not read, with where they are: a key written in the file as it reads
/// is its place in the file (8 bytes), so that a file of millions of keys costs a few bytes a
/// key; only keys with escapes or continuations keep their text.
#[derive(Clone, Debug, Default)]
struct IgnoredKeys {
    /// Where each key is in the file, or (`len` [`IgnoredKeys::OWNED`]) which owned key it is.
    keys: Vec<(u32, u32)>,
    owned: Vec<(Box<str>, crate::span::Span)>,
}

impl IgnoredKeys {
    const OWNED: u32 = u32::MAX;

    fn push(&mut self, key: &str, span: crate::span::Span, source: &str) {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        if source.get(span.range()) == Some(key) && key.len() < Self::OWNED as usize {
            self.keys.push((narrow(span.start), narrow(key.len())));
        } else {
            self.keys.push((narrow(self.owned.len()), Self::OWNED));
            self.owned.push((key.into(), span));
        }
    }

    fn iter<'a>(
        &'a self,
        source: &'a str,
    ) -> impl ExactSizeIterator<Item = (&'a str, crate::span::Span)> {
        self.keys.iter().map(move |&(start, len)| {
            let start = start as usize;
            if len == Self::OWNED {
                return self
                    .owned
                    .get(start)
                    .map_or(("", crate::span::Span::at(0)), |(key, span)| (key, *span));
            }
            let span = crate::span::Span::new(start, start + len as usize);
            (source.get(span.range()).unwrap_or_default(), span)
        })
    }
}

impl Config {
    /// Reads the configuration text `source`, read from `origin` (a path, or a name for where
    /// the text came from: a path rather than a string, so that swapping the two does not
    /// compile), which every diagnostic names; policies are parsed
    /// with `strictness`; every key is validated as any Neo4j version tagroute knows would
    /// ([`Neo4jTarget::default`]).
    ///
    /// Loads whole or fails whole: the error lists every error in the file, and the warnings.
    ///
    /// ```
    /// use std::path::Path;
    /// use tagroute::Strictness;
    /// use tagroute::config::Config;
    ///
    /// let text = "dbms.routing.load_balancing.config.server_policies.north=\\\n    tags(north1); tags(north)\n";
    /// let config = Config::parse(text, Path::new("neo4j.conf"), Strictness::Default)?;
    /// assert_eq!(config.policy("north").map(|p| p.text()), Some("tags(north1); tags(north)"));
    /// assert!(config.policy("default").is_some_and(|p| p.is_builtin()));
    /// # Ok::<(), tagroute::config::ConfigErrors>(())
    /// ```
    ///
    /// The origin is a path, not a string, so the text and its origin cannot be swapped:
    ///
    /// ```compile_fail
    /// # use tagroute::{Strictness, config::Config};
    /// let text = "dbms.routing.load_balancing.config.server_policies.north=tags(north)";
    /// let config = Config::parse("neo4j.conf", text, Strictness::Default);
    /// ```
    pub fn parse(
        source: &str,
        origin: &Path,
        strictness: Strictness,
    ) -> Result<Config, ConfigErrors> {
        Config::parse_for(source, origin, strictness, Neo4jTarget::default())
    }

    /// [`Config::parse`], validating every key against the settings of `target` (a Neo4j
    /// version and edition) instead of [`Neo4jTarget::default`] (any version tagroute knows,
    /// Enterprise Edition: how `route` and `serve` read a file).
    ///
    /// ```
    /// use std::path::Path;
    /// use tagroute::Strictness;
    /// use tagroute::config::{Config, ConfigDiagnosticKind, Edition, Neo4jTarget, Neo4jVersion};
    ///
    /// let community = Neo4jTarget { version: Neo4jVersion::newest(), edition: Edition::Community };
    /// let errors = Config::parse_for("initial.server.mode_constraint=NONE", Path::new("c"), Strictness::Default, community)
    ///     .unwrap_err();
    /// assert_eq!(errors.errors()[0].kind, ConfigDiagnosticKind::OtherEdition);
    /// let errors = Config::parse("server.memory.heap.max_sise=1g", Path::new("c"), Strictness::Default).unwrap_err();
    /// assert_eq!(errors.errors()[0].help.as_deref(), Some("did you mean `server.memory.heap.max_size`?"));
    /// ```
    pub fn parse_for(
        source: &str,
        origin: &Path,
        strictness: Strictness,
        target: Neo4jTarget,
    ) -> Result<Config, ConfigErrors> {
        let diagnostics = Diagnostics::default();
        let origin = origin.display().to_string();
        Config::parse_text(Arc::from(source), &origin, strictness, target, diagnostics)
    }

    fn parse_text(
        source: Arc<str>,
        origin: &str,
        strictness: Strictness,
        target: Neo4jTarget,
        mut diagnostics: Diagnostics,
    ) -> Result<Config, ConfigErrors> {
        if u32::try_from(source.len()).is_err() {
            return Err(ConfigErrors::too_large(origin, source.len()));
        }
        diagnostics.limit_to((source.len() / 2).max(DIAGNOSTICS_FLOOR));
        let lines = LineIndex::new(source);
        let source = lines.text();
        let properties = properties::read(source, &mut diagnostics);
        let strict = values::boolean(keys::STRICT_VALIDATION, true, &properties, &mut diagnostics);
        keys::validate(&properties, strict, target, &lines, &mut diagnostics);
        let mut policies = policies::read(&properties, strictness, &mut diagnostics);
        let routing = routing::read(&properties, &mut diagnostics);
        let catchup = catchup::read(&properties, strictness, &mut diagnostics);
        let leadership = leader::read(&properties, &mut diagnostics);
        let initial_server_tags = initial_server_tags(&properties, &mut diagnostics);
        let default_database = keys::DEFAULT_DATABASE
            .lookup(&properties, &mut diagnostics)
            .map(|property| property.value.trim().text.into_owned())
            .filter(|name| !name.is_empty());
        let (mut ignored_keys, mut key_spans) = (IgnoredKeys::default(), BTreeMap::new());
        for property in properties.iter() {
            let (key, span) = (&*property.key.text, property.key.span());
            match keys::is_read(key) {
                true => drop(key_spans.insert(key.to_owned(), span)),
                false => ignored_keys.push(key, span, source),
            }
        }
        // Compiled once the properties are let go: a policy continued over every line is in
        // them too, and the program of a policy of a million distinct rules is the largest
        // thing a load makes.
        drop(properties);
        policies::refuse_uncompilable(&mut policies, &mut diagnostics);
        let (warnings, unlisted) = diagnostics.finish_indexed(origin, &lines)?;
        Ok(Config {
            origin: origin.to_owned(),
            lines,
            policies,
            routing,
            catchup,
            leadership,
            initial_server_tags,
            default_database,
            warnings,
            unlisted,
            ignored_keys,
            key_spans,
        })
    }

    /// Reads the configuration file at `path` in the charset Neo4j would use
    /// ([`Charset::from_env`]: ISO-8859-1 unless `NEO4J_CONFIG_FILE_CHARSET` says UTF-8), as
    /// [`Config::parse`] reads text. A file that cannot be read fails with one diagnostic.
    pub fn load(path: &Path, strictness: Strictness) -> Result<Config, ConfigErrors> {
        Config::load_with(path, strictness, Charset::from_env())
    }

    /// [`Config::load`], validating every key against the settings of `target`.
    pub fn load_for(
        path: &Path,
        strictness: Strictness,
        target: Neo4jTarget,
    ) -> Result<Config, ConfigErrors> {
        Config::load_text(path, strictness, Charset::from_env(), target)
    }

    /// Reads the configuration file at `path`, decoded with `charset`.
    ///
    /// ```
    /// use tagroute::Strictness;
    /// use tagroute::config::{Charset, Config};
    ///
    /// let path = std::env::temp_dir().join(format!("tagroute-doc-{}.conf", std::process::id()));
    /// std::fs::write(&path, b"# caf\xe9\ninitial.server.tags=north\n")?;
    /// let config = Config::load_with(&path, Strictness::Default, Charset::Latin1)?;
    /// assert_eq!(config.source(), "# café\ninitial.server.tags=north\n");
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_with(
        path: &Path,
        strictness: Strictness,
        charset: Charset,
    ) -> Result<Config, ConfigErrors> {
        Config::load_text(path, strictness, charset, Neo4jTarget::default())
    }

    fn load_text(
        path: &Path,
        strictness: Strictness,
        charset: Charset,
        target: Neo4jTarget,
    ) -> Result<Config, ConfigErrors> {
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| ConfigErrors::unreadable(&origin, &e))?;
        let mut diagnostics = Diagnostics::default();
        // Each arm consumes `bytes`, so that the file is in memory once while it is parsed.
        let source: Arc<str> = match charset {
            Charset::Latin1 => latin1(bytes).into(),
            Charset::Utf8 => match String::from_utf8(bytes) {
                Ok(text) => text.into(),
                Err(error) => {
                    let at = error.utf8_error().valid_up_to();
                    let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
                    let end = at
                        + text
                            .get(at..)
                            .and_then(|s| s.chars().next())
                            .map_or(0, char::len_utf8);
                    diagnostics.push(ConfigDiagnostic::warning(
                        ConfigDiagnosticKind::NotUtf8,
                        crate::span::Span::new(at, end),
                        "the configuration is not valid UTF-8; its malformed bytes read as U+FFFD, as Java reads them".into(),
                    ));
                    text.into()
                }
            },
        };
        Config::parse_text(source, &origin, strictness, target, diagnostics)
    }

    /// The file name, as given.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The file text (decoded), for rendering diagnostics.
    pub fn source(&self) -> &str {
        self.lines.text()
    }

    /// The line index of the file text, to render many diagnostics without rescanning it
    /// (see [`ConfigDiagnostic::render_in`]).
    pub fn line_index(&self) -> &LineIndex {
        &self.lines
    }

    /// Every policy by name; `default` is always there (the built-in `all()` unless configured).
    pub fn policies(&self) -> &BTreeMap<String, ConfiguredPolicy> {
        &self.policies
    }

    /// The policy called `name` (case-sensitive).
    pub fn policy(&self, name: &str) -> Option<&ConfiguredPolicy> {
        self.policies.get(name)
    }

    /// How routing tables are built.
    pub fn routing(&self) -> &RoutingSettings {
        &self.routing
    }

    /// How this server chooses its catch-up upstream.
    pub fn catchup(&self) -> &CatchupSettings {
        &self.catchup
    }

    /// The leadership priority tags.
    pub fn leadership(&self) -> &LeadershipSettings {
        &self.leadership
    }

    /// `initial.server.tags`: this server's own tags, valid and without duplicates.
    pub fn initial_server_tags(&self) -> &[String] {
        &self.initial_server_tags
    }

    /// `initial.dbms.default_database`: the database a client naming none gets, unless the
    /// topology names a default of its own.
    pub fn default_database(&self) -> Option<&str> {
        self.default_database.as_deref()
    }

    /// Every warning, in file order (but those not kept: [`Config::unlisted`]).
    pub fn warnings(&self) -> &[ConfigDiagnostic] {
        &self.warnings
    }

    /// The warnings found but not kept, counted by kind (see [`Unlisted`]).
    pub fn unlisted(&self) -> &[Unlisted] {
        &self.unlisted
    }

    /// The keys tagroute does not read, in file order, each with where it is in the file (its
    /// last occurrence), for `check --verbose`.
    pub fn ignored_keys(&self) -> impl ExactSizeIterator<Item = (&str, crate::span::Span)> {
        self.ignored_keys.iter(self.lines.text())
    }

    /// Where the key `key` (exactly as read), a key tagroute reads, is in the file: its last
    /// occurrence.
    pub fn key_span(&self, key: &str) -> Option<crate::span::Span> {
        self.key_spans.get(key).copied()
    }
}

/// The `key=value` pairs of `text` as `java.util.Properties.load` reads them (the first step of
/// [`Config::parse`]): in file order, keys given twice included, continuations joined and
/// escapes decoded. Fails with every malformed `\uXXXX` escape (Java refuses the whole file).
///
/// ```
/// let pairs = tagroute::config::java_properties("a\\=b : c\\u0041 \\\n   d\n# comment\n")?;
/// assert_eq!(pairs, [("a=b".to_owned(), "cA d".to_owned())]);
/// # Ok::<(), Vec<tagroute::config::ConfigDiagnostic>>(())
/// ```
pub fn java_properties(text: &str) -> Result<Vec<(String, String)>, Vec<ConfigDiagnostic>> {
    let mut diagnostics = Diagnostics::default();
    let properties = properties::read(text, &mut diagnostics);
    match diagnostics
        .finish_indexed("", &LineIndex::new(text))
        .map(|(warnings, _)| warnings)
    {
        Ok(_) => Ok(properties
            .all()
            .map(|p| (p.key.text.to_string(), p.value.text.to_string()))
            .collect()),
        Err(errors) => Err(errors.errors().to_vec()),
    }
}

/// ISO-8859-1 bytes as text: every byte one character, the bytes themselves when all are ASCII.
fn latin1(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) if text.is_ascii() => text,
        Ok(text) => latin1_decoded(text.as_bytes()),
        Err(error) => latin1_decoded(error.as_bytes()),
    }
}

fn latin1_decoded(bytes: &[u8]) -> String {
    let wide = bytes.iter().filter(|b| !b.is_ascii()).count();
    let mut text = String::with_capacity(bytes.len() + wide);
    text.extend(bytes.iter().map(|&b| char::from(b)));
    text
}

/// `initial.server.tags`: valid tags, each once.
fn initial_server_tags(
    properties: &properties::Properties,
    diagnostics: &mut Diagnostics,
) -> Vec<String> {
    let Some(property) = keys::INITIAL_TAGS.lookup(properties, diagnostics) else {
        return Vec::new();
    };
    let value = &property.value;
    let text = |tag: &std::ops::Range<u32>| values::tag_text(value, tag);
    let listed = values::tag_list(value, diagnostics);
    // Repeats are found by sorting positions, not with a set: a list of a million tags must
    // cost a few bytes a tag besides the tags kept.
    let mut order: Vec<u32> = (0..u32::try_from(listed.len()).unwrap_or(u32::MAX)).collect();
    let tag = |i: u32| listed.get(i as usize).map_or("", text);
    order.sort_by(|&a, &b| tag(a).cmp(tag(b)).then(a.cmp(&b)));
    let mut repeated = vec![false; listed.len()];
    for pair in order.windows(2) {
        if let [first, again] = pair
            && tag(*first) == tag(*again)
            && let Some(flag) = repeated.get_mut(*again as usize)
        {
            *flag = true;
        }
    }
    drop(order);
    let mut tags = Vec::with_capacity(repeated.iter().filter(|r| !**r).count());
    for (range, repeated) in listed.iter().zip(repeated) {
        if !repeated {
            tags.push(text(range).to_owned());
            continue;
        }
        diagnostics.push(ConfigDiagnostic::error(
            ConfigDiagnosticKind::DuplicateTag,
            value.slice(range.start as usize..range.end as usize).span(),
            format!("tag `{}` is listed twice", text(range)),
        ));
    }
    tags
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::testing::{position, summary, under};
    use super::*;
    use crate::span::Severity;

    const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.";

    fn errors(source: &str) -> ConfigErrors {
        Config::parse(source, Path::new("neo4j.conf"), Strictness::Default).unwrap_err()
    }

    #[test]
    fn every_error_of_the_file_is_listed() {
        use ConfigDiagnosticKind as K;
        let source = format!(
            "dbms.routing_ttl=0\n\
             no separator here\n\
             {POLICY}north=tags(n) -> \\\n  tgas(m)\n\
             dbms.routing.reads_on_writers_enabled=maybe\n\
             initial.server.tags=a,b,a\n\
             server.cluster.catchup.upstream_strategy=leader_only\n"
        );
        let errors = errors(&source);
        assert_eq!(
            summary(&source, errors.errors()),
            [
                (K::TtlTooShort, "0".to_owned(), "1:18".to_owned()),
                (K::UnknownKey, "no".to_owned(), "2:1".to_owned()),
                (K::InvalidPolicy, "tgas".to_owned(), "4:3".to_owned()),
                (K::InvalidBoolean, "maybe".to_owned(), "5:39".to_owned()),
                (K::DuplicateTag, "a".to_owned(), "6:25".to_owned()),
            ]
        );
        assert_eq!(
            summary(&source, errors.warnings()),
            [(
                K::UnknownStrategy,
                "leader_only".to_owned(),
                "7:42".to_owned()
            )]
        );
        assert_eq!(errors.origin(), "neo4j.conf");
        assert_eq!(errors.source(), source);
        assert_eq!(
            errors.to_string(),
            "neo4j.conf:1:18: the routing TTL `0` is shorter than one second (and 4 more errors)"
        );
        let rendered = errors.render_all();
        assert!(
            rendered.starts_with("neo4j.conf:1:18: error: the routing TTL `0`"),
            "{rendered}"
        );
        assert!(
            rendered.contains("neo4j.conf:4:3: error: policy `north`: unknown filter `tgas`\n    tgas(m)\n    ^^^^\n  help: did you mean `tags`?"),
            "{rendered}"
        );
        assert!(
            rendered.ends_with("  help: did you mean `leader-only`?"),
            "{rendered}"
        );
    }

    #[test]
    fn a_valid_file_gives_every_setting() {
        let source = format!(
            "# neo4j.conf\n\
             {POLICY}north=tags(north1)->min(2); tags(north); halt()\n\
             dbms.routing.load_balancing.shuffle_enabled=false\n\
             dbms.routing_ttl=10s\n\
             server.cluster.catchup.upstream_strategy=user-defined,leader-only\n\
             server.cluster.catchup.user_defined_upstream_strategy=tags(north)\n\
             server.cluster.catchup.connect_randomly_to_server_tags=gpu, ssd\n\
             initial.server.tags=north1 , north\n\
             db.cluster.raft.leader_transfer.priority_tag=north1\n\
             server.memory.heap.max_size=4g\n"
        );
        let config = Config::parse(&source, Path::new("neo4j.conf"), Strictness::Strict).unwrap();
        assert_eq!(config.origin(), "neo4j.conf");
        assert_eq!(config.source(), source);
        let names: Vec<&str> = config.policies().keys().map(String::as_str).collect();
        assert_eq!(names, ["default", "north"]);
        assert_eq!(
            config.policy("north").unwrap().policy().to_string(),
            "tags(north1)->min(2); tags(north); halt()"
        );
        assert!(!config.routing().shuffle);
        assert_eq!(config.routing().ttl, Duration::from_secs(10));
        let strategies: Vec<_> = config.catchup().strategies.iter().map(|s| s.kind).collect();
        assert_eq!(
            strategies,
            [
                Some(StrategyName::UserDefined),
                Some(StrategyName::LeaderOnly)
            ]
        );
        assert!(matches!(
            config.catchup().user_defined,
            UserDefined::Valid { .. }
        ));
        assert_eq!(config.catchup().connect_tags, ["gpu", "ssd"]);
        assert_eq!(config.initial_server_tags(), ["north1", "north"]);
        assert_eq!(config.leadership().priority_tag.as_deref(), Some("north1"));
        let ignored: Vec<(&str, String)> = config
            .ignored_keys()
            .map(|(key, span)| (key, under(&source, span).to_owned()))
            .collect();
        assert_eq!(
            ignored,
            [(
                "server.memory.heap.max_size",
                "server.memory.heap.max_size".to_owned()
            )]
        );
        assert_eq!(config.warnings(), []);
    }

    /// 4.x keys that Neo4j 5's public migration does not carry over. tagroute never reads the
    /// 4.x names of its own keys (errors, whatever Neo4j does); Neo4j 5 Enterprise Edition
    /// starts with any of them only if its own migration, which is not public, carries them
    /// over (a condition of its verdict), Community Edition refuses them all.
    #[test]
    fn a_neo4j_4x_file_is_refused_key_by_key_with_the_5x_names() {
        use ConfigDiagnosticKind as K;
        let source = "causal_clustering.load_balancing.config.server_policies.dc=groups(dc1)\n\
                      causal_clustering.cluster_routing_ttl=10s\n\
                      causal_clustering.multi_dc_license=true\n\
                      dbms.routing.listen_address=:7688\n";
        let errors = errors(source);
        let found: Vec<(K, &str, Option<&str>, Option<Neo4jCondition>)> = errors
            .errors()
            .iter()
            .chain(errors.warnings())
            .map(|d| {
                let help = d.help.as_deref();
                (d.kind, under(source, d.span), help, d.neo4j_condition)
            })
            .collect();
        let migration = Some(Neo4jCondition::EnterpriseMigration);
        assert_eq!(
            found,
            [
                (
                    K::RemovedKey,
                    "causal_clustering.load_balancing.config.server_policies.dc",
                    Some(
                        "its Neo4j 5 name is `dbms.routing.load_balancing.config.server_policies.dc`"
                    ),
                    migration
                ),
                (
                    K::RemovedKey,
                    "causal_clustering.cluster_routing_ttl",
                    Some("its Neo4j 5 name is `dbms.routing_ttl`"),
                    migration
                ),
                (
                    K::RemovedKey,
                    "causal_clustering.multi_dc_license",
                    None,
                    migration
                ),
                (
                    K::RemovedKey,
                    "dbms.routing.listen_address",
                    Some("its Neo4j 5 name is `server.routing.listen_address`"),
                    migration
                ),
            ]
        );
        assert_eq!(errors.errors().len(), 2, "the keys tagroute reads");
        assert!(errors.errors()[0].message.contains(
            "Neo4j 4.x key, which tagroute does not read; Neo4j 5.26 or 2026.08 Enterprise Edition starts with it only if its own 4.4 migration"
        ));
        assert!(errors.warnings().iter().all(|w| !w.stops_neo4j));
        // Community Edition has no migration but the public one: it refuses each.
        let community = Neo4jTarget {
            version: Neo4jVersion::newest(),
            edition: Edition::Community,
        };
        let errors =
            Config::parse_for(source, Path::new("c"), Strictness::Default, community).unwrap_err();
        assert_eq!(errors.errors().len(), 4);
        assert!(
            errors
                .errors()
                .iter()
                .all(|e| e.stops_neo4j && e.neo4j_condition.is_none())
        );
        // With strict validation off, Neo4j starts and ignores them: so does tagroute.
        let lenient = format!("server.config.strict_validation.enabled=false\n{source}");
        let config = Config::parse(&lenient, Path::new("old.conf"), Strictness::Default).unwrap();
        assert!(config.policy("dc").is_none());
        assert_eq!(config.routing().ttl, Duration::from_secs(300));
        let kinds: Vec<K> = config.warnings().iter().map(|w| w.kind).collect();
        assert_eq!(kinds, [K::RemovedKey; 4]);
        assert!(config.warnings().iter().all(|w| !w.stops_neo4j
            && w.severity == Severity::Warning
            && w.neo4j_condition.is_none()));
    }

    /// Neo4j 5's public migration, which runs in both editions whenever Neo4j starts, renames
    /// or drops 4.4 keys with a warning in its log: Neo4j starts, and a renamed key's value is
    /// judged under its Neo4j 5 name. Source: `SettingMigrators.Neo4j5_0SettingMigrator`
    /// (data/neo4j-settings/migrations.tsv); `migrateSettingNameChange` drops a blank value and
    /// keeps the Neo4j 5 key when both are set.
    #[test]
    fn neo4j_5_migrates_4_4_keys_when_it_starts() {
        use ConfigDiagnosticKind as K;
        let source = "dbms.memory.heap.max_size=4g\n\
                      dbms.allow_upgrade=true\n\
                      dbms.memory.pagecache.size=lots\n\
                      dbms.tx_log.rotation.retention_policy=\n\
                      dbms.default_listen_address=0.0.0.0\n\
                      server.default_listen_address=127.0.0.1\n\
                      dbms.config.strict_validation=false\n\
                      no.such.key=1\n";
        let errors = errors(source);
        let found: Vec<(K, &str, bool)> = errors
            .errors()
            .iter()
            .chain(errors.warnings())
            .map(|d| (d.kind, under(source, d.span), d.stops_neo4j))
            .collect();
        assert_eq!(
            found,
            [
                (K::InvalidValue, "lots", true),
                (K::MigratedKey, "dbms.memory.heap.max_size", false),
                (K::MigratedKey, "dbms.allow_upgrade", false),
                (K::MigratedKey, "dbms.memory.pagecache.size", false),
                (
                    K::MigratedKey,
                    "dbms.tx_log.rotation.retention_policy",
                    false
                ),
                (K::MigratedKey, "dbms.default_listen_address", false),
                (K::DeprecatedKey, "dbms.config.strict_validation", false),
                (K::UnknownKey, "no.such.key", false),
            ]
        );
        let messages: Vec<&str> = errors.warnings().iter().map(|w| &*w.message).collect();
        assert!(
            messages[0].ends_with("renames it to `server.memory.heap.max_size` when it starts")
        );
        assert!(messages[1].ends_with("drops when it starts: it no longer has any effect"));
        assert!(
            messages[3].ends_with("without a value: Neo4j 5.26 or 2026.08 drops it when it starts")
        );
        assert!(messages[4].contains("which this file sets too"));
        assert!(
            errors.errors()[0]
                .message
                .contains("(the new name of `dbms.memory.pagecache.size`) (a byte size)")
        );
    }

    #[test]
    fn the_default_database_is_read_trimmed_and_its_4x_name_migrated() {
        let read = |source: &str| {
            Config::parse(source, Path::new("c"), Strictness::Default)
                .map(|c| c.default_database().map(str::to_owned))
        };
        assert_eq!(
            read("initial.dbms.default_database=Movies \n"),
            Ok(Some("Movies".into()))
        );
        assert_eq!(read("dbms.routing_ttl=5m\n"), Ok(None));
        assert_eq!(read("initial.dbms.default_database=\n"), Ok(None));
        // Neo4j 5 renames the 4.x key when it starts; the new key wins when both are set.
        assert_eq!(
            read("dbms.default_database=movies\n"),
            Ok(Some("movies".into()))
        );
        assert_eq!(
            read("dbms.default_database=movies\ninitial.dbms.default_database=films\n"),
            Ok(Some("films".into()))
        );
        let config = Config::parse(
            "dbms.default_database=movies\n",
            Path::new("c"),
            Strictness::Default,
        )
        .expect("a migrated key is a warning");
        let warnings: Vec<&str> = config.warnings().iter().map(|w| &*w.message).collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("`dbms.default_database` is deprecated")),
            "{warnings:?}"
        );
    }

    #[test]
    fn initial_server_tags_are_valid_and_distinct() {
        let config =
            Config::parse("initial.server.tags=", Path::new("c"), Strictness::Default).unwrap();
        assert_eq!(config.initial_server_tags(), [] as [String; 0]);
        let source = "initial.server.tags=a,b-1,a,/x";
        let found = summary(source, errors(source).errors());
        assert_eq!(
            found,
            [
                (
                    ConfigDiagnosticKind::DuplicateTag,
                    "a".to_owned(),
                    "1:27".to_owned()
                ),
                (
                    ConfigDiagnosticKind::InvalidTag,
                    "/x".to_owned(),
                    "1:29".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn load_reads_a_file_and_reports_one_that_cannot_be_read() {
        let dir = std::env::temp_dir().join(format!("tagroute-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.conf");
        let mut bytes = b"# caf\xe9\n".to_vec();
        bytes.extend(format!("{POLICY}p=tags(a)\n").as_bytes());
        std::fs::write(&good, &bytes).unwrap();
        let config = Config::load_with(&good, Strictness::Default, Charset::Latin1).unwrap();
        assert_eq!(config.origin(), good.display().to_string());
        assert!(config.source().starts_with("# café\n"));
        assert!(config.policy("p").is_some());

        // Latin-1 text read as UTF-8: the bad byte reads as U+FFFD, with a warning.
        let config = Config::load_with(&good, Strictness::Default, Charset::Utf8).unwrap();
        assert_eq!(config.warnings()[0].kind, ConfigDiagnosticKind::NotUtf8);
        assert_eq!(position(config.source(), config.warnings()[0].span), "1:6");
        assert!(config.source().starts_with("# caf\u{fffd}\n"));

        let missing = dir.join("missing.conf");
        let errors = Config::load(&missing, Strictness::Default).unwrap_err();
        assert_eq!(errors.errors().len(), 1);
        assert_eq!(errors.errors()[0].kind, ConfigDiagnosticKind::Unreadable);
        let failure = format!("cannot read {}: ", missing.display());
        assert!(errors.errors()[0].message.starts_with(&failure));
        assert_eq!(
            errors.read_failure(),
            Some(errors.errors()[0].message.as_str())
        );
        assert_eq!(errors.render_all(), errors.errors()[0].message);
        assert_eq!(errors.to_string(), errors.errors()[0].message);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn charsets_by_name() {
        assert_eq!(Charset::named("UTF-8"), Charset::Utf8);
        assert_eq!(Charset::named(" utf8 "), Charset::Utf8);
        assert_eq!(Charset::named("ISO-8859-1"), Charset::Latin1);
        assert_eq!(Charset::named("windows-1252"), Charset::Latin1);
    }

    /// The confs of the routing and upstream vectors are valid: they load in default mode, and
    /// name the policies the vectors ask for. In strict mode the only errors are the whitespace
    /// that Neo4j rejects.
    #[test]
    fn every_conformance_conf_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut loaded = 0;
        for file in ["routing.jsonl", "upstream.jsonl"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
                let vector: serde_json::Value = serde_json::from_str(line).unwrap();
                let conf = vector["conf"].as_str().unwrap();
                let origin = format!("{file}:{}", i + 1);
                let config = Config::parse(conf, Path::new(&origin), Strictness::Default)
                    .unwrap_or_else(|e| panic!("{}", e.render_all()));
                check_vector(&config, &vector);
                check_strict(conf, &origin);
                loaded += 1;
            }
        }
        assert_eq!(loaded, 88 + 47);
    }

    fn check_vector(config: &Config, vector: &serde_json::Value) {
        if let Some(policy) = vector["policy"].as_str() {
            let unknown = vector["error"].as_str() == Some("unknown policy");
            assert_eq!(
                config.policy(policy).is_none(),
                unknown,
                "{}: {policy}",
                config.origin()
            );
        }
        let ignored: Vec<&str> = config.ignored_keys().map(|(key, _)| key).collect();
        assert!(ignored.is_empty(), "{ignored:?}");
        for warning in config.warnings() {
            let allowed = matches!(
                warning.kind,
                ConfigDiagnosticKind::PolicyLint(_)
                    | ConfigDiagnosticKind::DeprecatedStrategyName
                    | ConfigDiagnosticKind::StrategyNotConfigured
            );
            assert!(
                allowed,
                "{}",
                warning.render(config.origin(), config.source())
            );
        }
    }

    fn check_strict(conf: &str, origin: &str) {
        let Err(errors) = Config::parse(conf, Path::new(origin), Strictness::Strict) else {
            return;
        };
        for error in errors.errors() {
            assert_eq!(
                error.kind,
                ConfigDiagnosticKind::InvalidPolicy,
                "{}",
                errors.render_all()
            );
            assert!(
                under(conf, error.span)
                    .chars()
                    .all(crate::syntax::is_whitespace)
            );
            assert_eq!(error.severity, Severity::Error);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x7a6e_c0f1),
            ..Default::default()
        })]

        /// No input panics, and every diagnostic points into the file on character boundaries.
        #[test]
        fn any_text_loads_or_fails_with_spans_in_the_file(
            source in concat!(
                "([a-z._=: \t\\\\#!,()-]|\\r|\\n|é|[0-9]|->|;|tags|min|halt|",
                "\ninitial\\.server\\.tags=|\ndbms\\.routing_ttl=|",
                "\nserver\\.cluster\\.catchup\\.user_defined_upstream_strategy=|",
                "\nserver\\.cluster\\.catchup\\.upstream_strategy=|",
                "\ndb\\.cluster\\.raft\\.leader_transfer\\.priority_tag\\.|",
                "\ndbms\\.routing\\.load_balancing\\.config\\.server_policies\\.)*"
            )
        ) {
            let prefixed = format!("{POLICY}{source}");
            for text in [source.as_str(), prefixed.as_str()] {
                let diagnostics = match Config::parse(text, Path::new("p"), Strictness::Default) {
                    Ok(config) => config.warnings().to_vec(),
                    Err(errors) => errors.errors().iter().chain(errors.warnings()).cloned().collect(),
                };
                for d in diagnostics {
                    proptest::prop_assert!(text.get(d.span.range()).is_some(), "{:?} in {:?}", d, text);
                    let _rendered = d.render("p", text);
                }
            }
        }
    }
}
