//! The keys tagroute reads (DESIGN section 3), the names they had before, and Neo4j 5's
//! validation of every key of the file.
//!
//! A setting is read from its current key; when that is absent, from the first of its
//! deprecated Neo4j 5 keys that is present (`connect_randomly_to_server_group`,
//! `leader_transfer.priority_group`, `server.groups`), with a warning naming the current key. A
//! deprecated key that loses to a newer one is ignored, with a warning too.
//!
//! Neo4j 5 no longer reads the Neo4j 4.x names (`causal_clustering.*`); with strict validation,
//! on by default (`server.config.strict_validation.enabled`), it refuses to start with a key it
//! has no setting for, or with a key given twice (except `server.jvm.additional`, which may
//! repeat). tagroute knows every Neo4j 5 key of the namespaces it reads, so in those an unknown
//! key is an error with "did you mean"; a key outside all of Neo4j's namespaces is an error
//! too. Keys in Neo4j's other namespaces are not tagroute's to judge, and are only listed as
//! ignored. With strict validation off, each of these errors is a warning, as Neo4j logs it.

use std::sync::LazyLock;

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::properties::{Properties, Property};
use crate::span::LineIndex;
use crate::suggest::{Typo, squash_into};

/// A setting: its key, the deprecated Neo4j 5 keys it is still read from (newest first), and
/// the Neo4j 4.x keys Neo4j 5 no longer reads. A key ending in `.` is a prefix, completed by a
/// name (a policy, a database).
#[derive(Clone, Copy, Debug)]
pub(super) struct Setting {
    pub key: &'static str,
    pub deprecated: &'static [&'static str],
    pub removed: &'static [&'static str],
}

pub(super) const PLUGIN: Setting = Setting {
    key: "dbms.routing.load_balancing.plugin",
    deprecated: &[],
    removed: &["causal_clustering.load_balancing.plugin"],
};
pub(super) const POLICY: Setting = Setting {
    key: "dbms.routing.load_balancing.config.server_policies.",
    deprecated: &[],
    removed: &["causal_clustering.load_balancing.config.server_policies."],
};
pub(super) const SHUFFLE: Setting = Setting {
    key: "dbms.routing.load_balancing.shuffle_enabled",
    deprecated: &[],
    removed: &["causal_clustering.load_balancing.shuffle"],
};
pub(super) const READS_ON_PRIMARIES: Setting = Setting {
    key: "dbms.routing.reads_on_primaries_enabled",
    deprecated: &[],
    removed: &["causal_clustering.cluster_allow_reads_on_followers"],
};
pub(super) const READS_ON_WRITERS: Setting = Setting {
    key: "dbms.routing.reads_on_writers_enabled",
    deprecated: &[],
    removed: &["causal_clustering.cluster_allow_reads_on_leader"],
};
pub(super) const TTL: Setting = Setting {
    key: "dbms.routing_ttl",
    deprecated: &[],
    removed: &["causal_clustering.cluster_routing_ttl"],
};
pub(super) const UPSTREAM_STRATEGY: Setting = Setting {
    key: "server.cluster.catchup.upstream_strategy",
    deprecated: &[],
    removed: &["causal_clustering.upstream_selection_strategy"],
};
pub(super) const USER_DEFINED: Setting = Setting {
    key: "server.cluster.catchup.user_defined_upstream_strategy",
    deprecated: &[],
    removed: &["causal_clustering.user_defined_upstream_strategy"],
};
pub(super) const CONNECT_TAGS: Setting = Setting {
    key: "server.cluster.catchup.connect_randomly_to_server_tags",
    deprecated: &["server.cluster.catchup.connect_randomly_to_server_group"],
    removed: &["causal_clustering.connect-randomly-to-server-group"],
};
pub(super) const INITIAL_TAGS: Setting = Setting {
    key: "initial.server.tags",
    deprecated: &["server.groups"],
    removed: &["causal_clustering.server_groups"],
};
pub(super) const PRIORITY_TAG: Setting = Setting {
    key: "db.cluster.raft.leader_transfer.priority_tag",
    deprecated: &["db.cluster.raft.leader_transfer.priority_group"],
    removed: &[
        "causal_clustering.leadership_priority_group",
        "causal_clustering.leadership_priority_groups",
    ],
};
pub(super) const PRIORITY_TAG_PER_DATABASE: Setting = Setting {
    key: "db.cluster.raft.leader_transfer.priority_tag.",
    deprecated: &["db.cluster.raft.leader_transfer.priority_group."],
    removed: &[
        "causal_clustering.leadership_priority_group.",
        "causal_clustering.leadership_priority_groups.",
    ],
};
/// Neo4j's own switch for the validation this module does.
pub(super) const STRICT_VALIDATION: Setting = Setting {
    key: "server.config.strict_validation.enabled",
    deprecated: &[],
    removed: &["dbms.config.strict_validation"],
};

const SETTINGS: &[Setting] = &[
    PLUGIN,
    POLICY,
    SHUFFLE,
    READS_ON_PRIMARIES,
    READS_ON_WRITERS,
    TTL,
    UPSTREAM_STRATEGY,
    USER_DEFINED,
    CONNECT_TAGS,
    INITIAL_TAGS,
    PRIORITY_TAG,
    PRIORITY_TAG_PER_DATABASE,
    STRICT_VALIDATION,
];

/// The namespaces tagroute knows every Neo4j 5 key of (`causal_clustering.` is Neo4j 4.x's).
const OWN_NAMESPACES: &[&str] = &[
    "dbms.routing",
    "server.routing.",
    "server.cluster.catchup.",
    "db.cluster.raft.leader_transfer.",
    "initial.server.",
    "causal_clustering.",
];

/// The Neo4j 5 keys of those namespaces that tagroute does not read.
const KNOWN_NOT_READ: &[&str] = &[
    "dbms.routing.enabled",
    "dbms.routing.default_router",
    "dbms.routing.client_side.enforce_for_domains",
    "dbms.routing.driver.connection.connect_timeout",
    "dbms.routing.driver.connection.max_lifetime",
    "dbms.routing.driver.connection.pool.acquisition_timeout",
    "dbms.routing.driver.connection.pool.idle_test",
    "dbms.routing.driver.connection.pool.max_size",
    "dbms.routing.driver.logging.level",
    "server.routing.advertised_address",
    "server.routing.listen_address",
    "initial.server.allowed_databases",
    "initial.server.denied_databases",
    "initial.server.mode_constraint",
];

/// Neo4j 4.x keys of those namespaces, other than the settings' own, with their Neo4j 5 names.
const REMOVED_ELSEWHERE: &[(&str, &str)] = &[
    (
        "dbms.routing.listen_address",
        "server.routing.listen_address",
    ),
    (
        "dbms.routing.advertised_address",
        "server.routing.advertised_address",
    ),
];

/// The namespaces a Neo4j 5 setting's name can start with; any other key is unknown to it.
const NEO4J_NAMESPACES: &[&str] = &[
    "dbms.",
    "db.",
    "browser.",
    "server.",
    "internal.",
    "client.",
    "initial.",
    "fabric.",
    "gds.",
    "apoc.",
];

/// The settings Neo4j lets a file give more than once (their values accumulate).
const MAY_REPEAT: &[&str] = &["server.jvm.additional", "dbms.jvm.additional"];

/// How many unknown keys get a "did you mean" (each costs an edit distance per known key).
const SUGGESTIONS: usize = 1_000;

impl Setting {
    /// Every key the setting is read from, current first.
    pub(super) fn keys(self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.key).chain(self.deprecated.iter().copied())
    }

    /// The property that sets this setting, warning about the deprecated keys present.
    pub fn lookup<'p>(
        self,
        properties: &'p Properties,
        diagnostics: &mut Diagnostics,
    ) -> Option<Property<'p>> {
        self.lookup_named(properties, "", diagnostics)
    }

    /// The property that sets this prefix setting for `name`, warning about deprecated keys.
    pub fn lookup_named<'p>(
        self,
        properties: &'p Properties,
        name: &str,
        diagnostics: &mut Diagnostics,
    ) -> Option<Property<'p>> {
        let current = format!("{}{name}", self.key);
        let mut chosen: Option<Property> = None;
        for key in self.keys() {
            let Some(property) = properties.get(&format!("{key}{name}")) else {
                continue;
            };
            if key != self.key {
                diagnostics.push(deprecation(&property, chosen.as_ref(), &current));
            }
            chosen = chosen.or(Some(property));
        }
        chosen
    }

    /// The names set under this prefix setting, by any of its keys, sorted and distinct.
    pub fn names(self, properties: &Properties) -> Vec<String> {
        let mut names: Vec<String> = properties
            .keys()
            .filter_map(|k| self.keys().find_map(|key| k.strip_prefix(key)))
            .map(str::to_owned)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

fn deprecation(property: &Property, winner: Option<&Property>, current: &str) -> ConfigDiagnostic {
    let old = &property.key.text;
    match winner {
        None => ConfigDiagnostic::warning(
            Kind::DeprecatedKey,
            property.key.span(),
            format!("`{old}` is deprecated"),
        )
        .with_help(format!("use `{current}`")),
        Some(winner) => ConfigDiagnostic::warning(
            Kind::DeprecatedKeyOverridden,
            property.key.span(),
            format!("`{old}` is ignored because `{}` is set", winner.key.text),
        )
        .with_help("remove it"),
    }
}

/// Whether `key` is `known`, or completes the prefix `known`.
fn matches(known: &str, key: &str) -> bool {
    if known.ends_with('.') {
        key.starts_with(known)
    } else {
        key == known
    }
}

/// Whether tagroute reads `key` (or reports it as an error), under any of its names.
pub(super) fn is_read(key: &str) -> bool {
    SETTINGS
        .iter()
        .flat_map(|s| s.keys())
        .any(|known| matches(known, key))
}

/// What Neo4j 5 makes of a key.
enum Verdict {
    /// A setting (read by tagroute or not), or a key tagroute cannot judge.
    Fine,
    /// A Neo4j 4.x key, and its Neo4j 5 name when it has one.
    Removed(Option<String>),
    /// A key of tagroute's namespaces that Neo4j 5 has no setting for.
    Unknown,
    /// A key outside every namespace of Neo4j's.
    Outside,
    /// An APOC setting, which Neo4j 5 reads from apoc.conf only.
    Apoc,
    /// The empty key (`=value`).
    Empty,
}

fn verdict(key: &str) -> Verdict {
    if key.is_empty() {
        return Verdict::Empty;
    }
    if is_read(key) || KNOWN_NOT_READ.contains(&key) {
        return Verdict::Fine;
    }
    if let Some(name) = new_name(key) {
        return Verdict::Removed(name);
    }
    if OWN_NAMESPACES.iter().any(|ns| key.starts_with(ns)) {
        return Verdict::Unknown;
    }
    if key.starts_with("apoc.") {
        return Verdict::Apoc;
    }
    if NEO4J_NAMESPACES.iter().any(|ns| key.starts_with(ns)) {
        Verdict::Fine
    } else {
        Verdict::Outside
    }
}

/// For a Neo4j 4.x key: `Some` with its Neo4j 5 name (when it has one); `None` for any other key.
fn new_name(key: &str) -> Option<Option<String>> {
    for setting in SETTINGS {
        for old in setting.removed {
            if let Some(name) = old.strip_suffix('.') {
                if let Some(rest) = key.strip_prefix(old) {
                    return Some(Some(format!("{}{rest}", setting.key)));
                }
                if key == name {
                    return Some(None);
                }
            } else if key == *old {
                return Some(Some(setting.key.to_owned()));
            }
        }
    }
    if let Some((_, new)) = REMOVED_ELSEWHERE.iter().find(|(old, _)| *old == key) {
        return Some(Some((*new).to_owned()));
    }
    key.starts_with("causal_clustering.").then_some(None)
}

/// A known key as suggestions compare it, squashed once per process.
struct Known {
    key: &'static str,
    /// Whether it is a prefix setting, completed with the unknown key's last segment.
    prefix: bool,
    squashed: Vec<char>,
    chars: usize,
}

fn known_keys() -> &'static [Known] {
    static KNOWN: LazyLock<Vec<Known>> = LazyLock::new(|| {
        SETTINGS
            .iter()
            .map(|s| s.key)
            .chain(KNOWN_NOT_READ.iter().copied())
            .map(|key| {
                let mut squashed = Vec::new();
                squash_into(key, &mut squashed);
                Known {
                    key,
                    prefix: key.ends_with('.'),
                    squashed,
                    chars: key.chars().count(),
                }
            })
            .collect()
    });
    &KNOWN
}

/// The known key closest to `key`, prefix settings completed with `key`'s last segment; none
/// for a key longer than any near miss of a setting's name (a key of a megabyte cost sixteen).
fn suggestion(key: &str) -> Option<String> {
    const LONGEST: usize = 1024;
    if key.len() > LONGEST {
        return None;
    }
    let last = key.rsplit('.').next().unwrap_or(key);
    let (mut last_squashed, last_chars) = (Vec::new(), last.chars().count());
    squash_into(last, &mut last_squashed);
    let typo = Typo::of(key);
    let (mut best, mut candidate) = (None, Vec::new());
    for known in known_keys() {
        candidate.clear();
        candidate.extend_from_slice(&known.squashed);
        let mut chars = known.chars;
        if known.prefix {
            candidate.extend_from_slice(&last_squashed);
            chars += last_chars;
        }
        typo.keep_closer(&mut best, known, &candidate, chars);
    }
    best.map(|(_, known)| match known.prefix {
        true => format!("{}{last}", known.key),
        false => known.key.to_owned(),
    })
}

/// Neo4j 5's validation of the keys: each key Neo4j has no setting for, and each key given twice.
pub(super) fn validate(
    properties: &Properties,
    strict: bool,
    lines: &LineIndex,
    diagnostics: &mut Diagnostics,
) {
    let mut suggestions = SUGGESTIONS;
    for (i, property) in properties.all().enumerate() {
        let diagnostic = match byte_order_mark(&property) {
            Some(mark) if i == 0 => Some(mark),
            _ => check_key(&property, &mut suggestions),
        };
        if let Some(diagnostic) = diagnostic {
            diagnostics.push(lenient_unless(strict, diagnostic));
        }
    }
    for (before, again) in properties.repeats() {
        let key = &again.key.text;
        if MAY_REPEAT.contains(&&**key) {
            continue;
        }
        let line = lines.line_col(before.key.span().start).line;
        let diagnostic = ConfigDiagnostic::error(
            Kind::DuplicateKey,
            again.key.span(),
            format!("`{key}` is declared again (first on line {line}); Neo4j 5 refuses to start: \"{key} declared multiple times\""),
        )
        .with_help("remove all but one; only `server.jvm.additional` may repeat");
        diagnostics.push(lenient_unless(strict, diagnostic));
    }
}

/// With strict validation off, Neo4j only logs what it would refuse: so does tagroute.
fn lenient_unless(strict: bool, diagnostic: ConfigDiagnostic) -> ConfigDiagnostic {
    if strict {
        return diagnostic;
    }
    let message = format!(
        "{}; with strict validation off Neo4j logs this and goes on{}",
        diagnostic.message,
        if diagnostic.kind == Kind::DuplicateKey {
            ", the last value winning"
        } else {
            ", ignoring the key"
        }
    );
    ConfigDiagnostic {
        message,
        ..ConfigDiagnostic::warning(diagnostic.kind, diagnostic.span, String::new())
    }
    .with_help(diagnostic.help.unwrap_or_default())
}

/// The error for a file that starts with a UTF-8 byte-order mark, which Java reads as the start
/// of the first key: `ï»¿` in ISO-8859-1, U+FEFF in UTF-8.
fn byte_order_mark(property: &Property) -> Option<ConfigDiagnostic> {
    let key = &property.key.text;
    let (mark, shown) = [("\u{ef}\u{bb}\u{bf}", "ï»¿"), ("\u{feff}", "U+FEFF")]
        .into_iter()
        .find(|(mark, _)| key.starts_with(mark))?;
    let span = property
        .key
        .file_span(crate::span::Span::new(0, mark.len()));
    if span.start != 0 {
        return None;
    }
    Some(
        ConfigDiagnostic::error(
            Kind::ByteOrderMark,
            span,
            format!("the file starts with a UTF-8 byte-order mark, which Neo4j reads as {shown} at the start of the first key (`{key}`): no setting has that name, so Neo4j refuses to start"),
        )
        .with_help("save the file as UTF-8 without a byte-order mark (or as ISO-8859-1)"),
    )
}

fn check_key(property: &Property, suggestions: &mut usize) -> Option<ConfigDiagnostic> {
    let key = &property.key.text;
    let span = property.key.span();
    let diagnostic = match verdict(key) {
        Verdict::Fine => return None,
        Verdict::Empty => ConfigDiagnostic::error(
            Kind::EmptyKey,
            span,
            "the line has a value but no key; Neo4j 5 has no setting with the empty name and refuses to start".into(),
        ),
        Verdict::Removed(name) => {
            let error = ConfigDiagnostic::error(
                Kind::RemovedKey,
                span,
                format!("`{key}` is a Neo4j 4.x key that Neo4j 5 no longer reads; Neo4j 5 refuses to start with it"),
            );
            match name {
                Some(name) => error.with_help(format!("its Neo4j 5 name is `{name}`")),
                None => error.with_help("Neo4j 5 has no such setting; `neo4j-admin server migrate-configuration` migrates a 4.x file"),
            }
        }
        Verdict::Unknown => {
            let error = ConfigDiagnostic::error(
                Kind::UnknownKey,
                span,
                format!("unknown setting `{key}`: Neo4j 5 has no setting by this name and refuses to start"),
            );
            let near = suggestions.checked_sub(1).and_then(|left| {
                *suggestions = left;
                suggestion(key)
            });
            match near {
                Some(near) => error.with_help(format!("did you mean `{near}`?")),
                None => error,
            }
        }
        Verdict::Outside => {
            let error = ConfigDiagnostic::error(
                Kind::UnknownKey,
                span,
                format!("unknown setting `{key}`: every Neo4j 5 setting starts with `dbms.`, `db.`, `server.`, `initial.` or another of its namespaces, and Neo4j refuses to start"),
            );
            if property.has_separator {
                error
            } else {
                error.with_help(format!(
                    "this line has no `=` or `:`, so it is read as the key `{key}` with the value `{}`",
                    property.value.text
                ))
            }
        }
        Verdict::Apoc => ConfigDiagnostic::error(
            Kind::UnknownKey,
            span,
            format!("`{key}` is an APOC setting: Neo4j 5 reads those from apoc.conf only, and refuses to start"),
        )
        .with_help("move it to apoc.conf"),
    };
    Some(diagnostic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::properties::read;
    use crate::config::testing::{every_diagnostic, position, under};

    fn properties(source: &str) -> Properties<'_> {
        read(source, &mut Diagnostics::default())
    }

    /// The key diagnostics of `source`: kind, the text under the span, and the help.
    fn validated(source: &str, strict: bool) -> Vec<ConfigDiagnostic> {
        let mut diagnostics = Diagnostics::default();
        let properties = read(source, &mut diagnostics);
        validate(
            &properties,
            strict,
            &LineIndex::new(source),
            &mut diagnostics,
        );
        every_diagnostic(diagnostics, source)
    }

    #[test]
    fn the_current_key_wins_over_deprecated_ones() {
        let source = "server.groups=a\ninitial.server.tags=b\n";
        let mut diagnostics = Diagnostics::default();
        let properties = properties(source);
        let found = INITIAL_TAGS.lookup(&properties, &mut diagnostics);
        assert_eq!(
            found.map(|p| p.value.text.to_string()).as_deref(),
            Some("b")
        );
        let warnings = diagnostics.finish("t", source).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].kind, Kind::DeprecatedKeyOverridden);
        assert_eq!(
            warnings[0].message,
            "`server.groups` is ignored because `initial.server.tags` is set"
        );
        assert_eq!(position(source, warnings[0].span), "1:1");
    }

    #[test]
    fn a_deprecated_key_is_read_when_the_current_one_is_absent() {
        let source = "x=1\nserver.groups=g\n";
        let mut diagnostics = Diagnostics::default();
        let properties = properties(source);
        let found = INITIAL_TAGS.lookup(&properties, &mut diagnostics);
        assert_eq!(
            found.map(|p| p.value.text.to_string()).as_deref(),
            Some("g")
        );
        let warnings = diagnostics.finish("t", source).unwrap();
        assert_eq!(warnings[0].kind, Kind::DeprecatedKey);
        assert_eq!(warnings[0].message, "`server.groups` is deprecated");
        assert_eq!(
            warnings[0].help.as_deref(),
            Some("use `initial.server.tags`")
        );
        assert_eq!(position(source, warnings[0].span), "2:1");
    }

    #[test]
    fn neo4j_4x_keys_are_not_read() {
        let source = "causal_clustering.connect-randomly-to-server-group=a\n";
        let mut diagnostics = Diagnostics::default();
        let properties = properties(source);
        assert!(CONNECT_TAGS.lookup(&properties, &mut diagnostics).is_none());
        assert!(!is_read("causal_clustering.load_balancing.shuffle"));
    }

    #[test]
    fn prefix_settings_list_their_names_under_every_key() {
        let source = "db.cluster.raft.leader_transfer.priority_tag.a=x\n\
                      db.cluster.raft.leader_transfer.priority_group.b=y\n\
                      db.cluster.raft.leader_transfer.priority_tag=z\n";
        let names = PRIORITY_TAG_PER_DATABASE.names(&properties(source));
        assert_eq!(names, ["a", "b"]);
        let mut diagnostics = Diagnostics::default();
        let properties = properties(source);
        let b = PRIORITY_TAG_PER_DATABASE.lookup_named(&properties, "b", &mut diagnostics);
        assert_eq!(b.map(|p| p.value.text.to_string()).as_deref(), Some("y"));
        let warnings = diagnostics.finish("t", source).unwrap();
        assert_eq!(
            warnings[0].help.as_deref(),
            Some("use `db.cluster.raft.leader_transfer.priority_tag.b`")
        );
    }

    #[test]
    fn keys_read_under_any_name() {
        assert!(is_read("dbms.routing_ttl"));
        assert!(is_read("server.groups"));
        assert!(is_read("server.config.strict_validation.enabled"));
        assert!(is_read(
            "dbms.routing.load_balancing.config.server_policies.x"
        ));
        assert!(is_read(
            "db.cluster.raft.leader_transfer.priority_group.orders"
        ));
        assert!(!is_read(
            "dbms.routing.load_balancing.config.server_policies"
        ));
        assert!(!is_read("server.memory.heap.max_size"));
        assert!(!is_read("dbms.routing_ttl2"));
    }

    #[test]
    fn an_unknown_key_in_tagroutes_namespaces_is_an_error_with_did_you_mean() {
        let source = "dbms.routing.reads_on_primary_enabled=false\n\
                      dbms.routing.load_balancing.config.server_policy.p=all()\n\
                      initial.server.tag=a\n\
                      server.cluster.catchup.nonsense_entirely_unrelated=1\n\
                      dbms.routing.enabled=true\n\
                      server.memory.heap.max_size=1g\n";
        let diagnostics = validated(source, true);
        let found: Vec<(Kind, &str, Option<&str>, bool)> = diagnostics
            .iter()
            .map(|d| {
                (
                    d.kind,
                    under(source, d.span),
                    d.help.as_deref(),
                    d.stops_neo4j,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    Kind::UnknownKey,
                    "dbms.routing.reads_on_primary_enabled",
                    Some("did you mean `dbms.routing.reads_on_primaries_enabled`?"),
                    true
                ),
                (
                    Kind::UnknownKey,
                    "dbms.routing.load_balancing.config.server_policy.p",
                    Some("did you mean `dbms.routing.load_balancing.config.server_policies.p`?"),
                    true
                ),
                (
                    Kind::UnknownKey,
                    "initial.server.tag",
                    Some("did you mean `initial.server.tags`?"),
                    true
                ),
                (
                    Kind::UnknownKey,
                    "server.cluster.catchup.nonsense_entirely_unrelated",
                    None,
                    true
                ),
            ]
        );
    }

    #[test]
    fn keys_outside_neo4js_namespaces_apoc_and_the_empty_key() {
        let source =
            "just words\nwrapper.java.additional=-Xmx1g\napoc.export.file.enabled=true\n=v\n";
        let diagnostics = validated(source, true);
        let found: Vec<(Kind, &str)> = diagnostics
            .iter()
            .map(|d| (d.kind, under(source, d.span)))
            .collect();
        assert_eq!(
            found,
            [
                (Kind::UnknownKey, "just"),
                (Kind::UnknownKey, "wrapper.java.additional"),
                (Kind::UnknownKey, "apoc.export.file.enabled"),
                (Kind::EmptyKey, ""),
            ]
        );
        let first = &validated(source, true)[0];
        assert_eq!(
            first.help.as_deref(),
            Some(
                "this line has no `=` or `:`, so it is read as the key `just` with the value `words`"
            )
        );
    }

    #[test]
    fn a_key_given_twice_is_an_error_except_jvm_additional() {
        let source = "server.jvm.additional=-Xa\na=1\nserver.jvm.additional=-Xb\ndbms.routing_ttl=5s\n \\\n dbms.routing_ttl = 6s\n";
        let diagnostics = validated(source, true);
        let duplicates: Vec<(&str, String, &str)> = diagnostics
            .iter()
            .filter(|d| d.kind == Kind::DuplicateKey)
            .map(|d| {
                (
                    under(source, d.span),
                    position(source, d.span),
                    d.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            duplicates,
            [(
                "dbms.routing_ttl",
                "6:2".to_owned(),
                "`dbms.routing_ttl` is declared again (first on line 4); Neo4j 5 refuses to start: \"dbms.routing_ttl declared multiple times\""
            )]
        );
        assert_eq!(
            diagnostics
                .iter()
                .filter(|d| d.severity == crate::span::Severity::Error)
                .count(),
            2,
            "{diagnostics:?}"
        );
    }

    #[test]
    fn with_strict_validation_off_they_are_warnings_that_say_so() {
        let source = "dbms.routing_ttl=5s\ndbms.routing_ttl=6s\ninitial.server.tag=a\n";
        let diagnostics = validated(source, false);
        assert_eq!(diagnostics.len(), 2);
        for d in &diagnostics {
            assert_eq!(d.severity, crate::span::Severity::Warning);
            assert!(!d.stops_neo4j);
            assert!(
                d.message
                    .contains("with strict validation off Neo4j logs this and goes on"),
                "{}",
                d.message
            );
        }
    }

    #[test]
    fn a_byte_order_mark_is_an_error_that_says_what_it_is() {
        for source in [
            "\u{ef}\u{bb}\u{bf}dbms.routing_ttl=5s\n",
            "\u{feff}# comment\n",
        ] {
            let diagnostics = validated(source, true);
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            let d = &diagnostics[0];
            assert_eq!(d.kind, Kind::ByteOrderMark);
            assert_eq!(d.span.start, 0);
            assert!(
                d.message
                    .starts_with("the file starts with a UTF-8 byte-order mark")
            );
        }
        assert!(
            validated("a\u{feff}=1", true)
                .iter()
                .all(|d| d.kind != Kind::ByteOrderMark)
        );
    }
}
