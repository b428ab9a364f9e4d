//! The keys tagroute reads (docs/configuration.md), the names they had before, and Neo4j 5's
//! validation of every key of the file against the settings catalogue of the Neo4j version
//! checked against ([`super::catalogue`]).
//!
//! A setting is read from its current key; when that is absent, from the first of its
//! deprecated Neo4j 5 keys that is present (`connect_randomly_to_server_group`,
//! `leader_transfer.priority_group`, `server.groups`), with a warning naming the current key. A
//! deprecated key that loses to a newer one is ignored, with a warning too.
//!
//! Every other key is judged as Neo4j judges it, against the settings of the target version and
//! edition. With strict validation, on by default (`server.config.strict_validation.enabled`),
//! Neo4j refuses to start with a key it has no setting for (a typo, an Enterprise setting in
//! Community Edition) or with a key given twice (except `server.jvm.additional`); with it off, it
//! logs them and goes on, and so do these diagnostics, as warnings. A value that does not parse
//! as its setting's type, or lies outside its range, stops Neo4j either way. Older names are
//! migrated first, as Neo4j migrates them whenever it starts: a 4.4 key the public migration
//! renames or drops is a warning (its value judged under the new name); one it does not carry
//! over depends, in Enterprise Edition, on that edition's own migration, which is not public. A
//! plugin's keys (`gds.*`) are settings only when the plugin is installed, which a file cannot
//! tell: they are warnings whose verdict depends on it.

use std::sync::LazyLock;

use super::catalogue::{self, Edition, Migration, Neo4jTarget, Neo4jVersion};
use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics, Neo4jCondition};
use super::properties::{Properties, Property};
use crate::span::LineIndex;
use crate::suggest::{Candidate, Histogram, Typo, squash_into, squashed_len, typo_limit};

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
/// The database a client naming none gets. Its Neo4j 4.x name (`dbms.default_database`) is
/// read as Neo4j 5's migration reads it: when the current key is absent.
pub(super) const DEFAULT_DATABASE: Setting = Setting {
    key: "initial.dbms.default_database",
    deprecated: &["dbms.default_database"],
    removed: &[],
};
/// Neo4j's own switch for the validation this module does. Its Neo4j 4.x name is read as
/// Neo4j 5's migration reads it: when the current key is absent.
pub(super) const STRICT_VALIDATION: Setting = Setting {
    key: "server.config.strict_validation.enabled",
    deprecated: &["dbms.config.strict_validation"],
    removed: &[],
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
    DEFAULT_DATABASE,
    STRICT_VALIDATION,
];

/// Neo4j 4.x keys of tagroute's namespaces that it does not read, with their Neo4j 5 names.
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

/// The namespaces of Neo4j's own settings: a key in one of them that no setting has is unknown.
const NEO4J_NAMESPACES: &[&str] = &["dbms.", "db.", "server.", "initial.", "browser.", "client."];

/// The plugins that declare settings of their own in neo4j.conf, by namespace.
const PLUGIN_NAMESPACES: &[(&str, &str)] = &[
    ("gds.", "Graph Data Science"),
    ("dbms.bloom.", "Bloom"),
    ("streams.", "Neo4j Streams"),
    ("kafka.", "Neo4j Streams"),
];

/// The settings tagroute reads by prefix that the settings reference does not list, both of
/// Enterprise Edition (its server-side routing and Raft leadership).
const ENTERPRISE_PREFIXES: &[&str] = &[POLICY.key, PRIORITY_TAG_PER_DATABASE.key];

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
        let (mut chosen, mut full): (Option<Property>, String) = (None, String::new());
        for key in self.keys() {
            full.clear();
            full.extend([key, name]);
            let Some(property) = properties.get(&full) else {
                continue;
            };
            if key != self.key {
                let current = format!("{}{name}", self.key);
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

/// For a Neo4j 4.x name of a key tagroute reads: `Some` with its Neo4j 5 name (when it has
/// one); `None` for any other key.
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
    None
}

/// The Neo4j 5 name of a Neo4j 4.x key of tagroute's namespaces, if tagroute knows it.
pub(super) fn tagroute_rename(key: &str) -> Option<String> {
    new_name(key).flatten().or_else(|| {
        REMOVED_ELSEWHERE
            .iter()
            .find(|(old, _)| *old == key)
            .map(|(_, new)| (*new).to_owned())
    })
}

/// A known key as suggestions compare it, squashed once per process.
struct Known {
    key: &'static str,
    form: Form,
    squashed: Vec<char>,
    chars: usize,
    /// The counts of the characters of `squashed`, but of a group setting's `<...>` segments.
    histogram: Histogram,
}

/// How a known key becomes a candidate for an unknown key.
enum Form {
    /// The key itself.
    Whole,
    /// A prefix setting, completed with the unknown key's last segment.
    Prefix,
    /// A group setting: its segments squashed, `None` for each `<...>` segment, which the
    /// unknown key's segment at the same place fills (same count of segments only), and the
    /// characters of the name but those of the `<...>` segments.
    Group(Vec<Option<Vec<char>>>, usize),
}

impl Known {
    fn new(key: &'static str) -> Known {
        let squash = |s: &str| {
            let mut squashed = Vec::new();
            squash_into(s, &mut squashed);
            squashed
        };
        let squashed = squash(key);
        let (form, histogram) = match (key.contains('<'), key.ends_with('.')) {
            (true, _) => {
                let parts = key.split('.').map(|p| (!p.starts_with('<')).then_some(p));
                let chars = parts
                    .clone()
                    .map(|p| p.map_or(0, |p| p.chars().count()) + 1);
                let parts: Vec<Option<Vec<char>>> = parts.map(|p| p.map(squash)).collect();
                let histogram = Histogram::of(
                    &parts
                        .iter()
                        .flatten()
                        .flatten()
                        .copied()
                        .collect::<Vec<_>>(),
                );
                (Form::Group(parts, chars.sum::<usize>() - 1), histogram)
            }
            (false, true) => (Form::Prefix, Histogram::of(&squashed)),
            (false, false) => (Form::Whole, Histogram::of(&squashed)),
        };
        Known {
            key,
            form,
            chars: key.chars().count(),
            squashed,
            histogram,
        }
    }

    /// The candidate this key makes for an unknown key of `segments`: its name squashed, as
    /// `pieces` to read one after the other, the counts of their characters, and its number of
    /// characters before squashing.
    fn candidate<'a>(
        &'a self,
        segments: &[Segment<'a>],
        pieces: &mut Vec<&'a [char]>,
    ) -> Option<(Histogram, usize)> {
        pieces.clear();
        let mut histogram = self.histogram;
        match &self.form {
            Form::Whole => {
                pieces.push(&self.squashed);
                Some((histogram, self.chars))
            }
            Form::Prefix => {
                let last = segments.last()?;
                pieces.extend([&*self.squashed, last.squashed]);
                histogram.add(&last.histogram);
                Some((histogram, self.chars + last.chars))
            }
            Form::Group(parts, fixed) if parts.len() == segments.len() => {
                let mut chars = *fixed;
                for (part, segment) in parts.iter().zip(segments) {
                    match part {
                        Some(part) => pieces.push(part),
                        None => {
                            pieces.push(segment.squashed);
                            histogram.add(&segment.histogram);
                            chars += segment.chars;
                        }
                    }
                }
                Some((histogram, chars))
            }
            Form::Group(..) => None,
        }
    }

    /// The candidate's name, for the unknown key `key`.
    fn name(&self, key: &str) -> String {
        match self.form {
            Form::Whole => self.key.to_owned(),
            Form::Prefix => format!("{}{}", self.key, key.rsplit('.').next().unwrap_or(key)),
            Form::Group(..) => {
                let segments: Vec<&str> = key.split('.').collect();
                filled(self.key, &segments).unwrap_or_default()
            }
        }
    }
}

/// A segment of an unknown key (between dots), as its candidates are compared.
struct Segment<'a> {
    squashed: &'a [char],
    histogram: Histogram,
    chars: usize,
}

/// The segments of `key`, each squashed: runs of `squashed`, `key` squashed whole.
fn segments<'a>(key: &str, squashed: &'a [char]) -> Vec<Segment<'a>> {
    let mut rest = squashed;
    key.split('.')
        .map(|segment| {
            let (this, after) = rest.split_at(squashed_len(segment).min(rest.len()));
            rest = after;
            Segment {
                squashed: this,
                histogram: Histogram::of(this),
                chars: segment.chars().count(),
            }
        })
        .collect()
}

/// The known keys of a version, and for each length of an unknown key, the few worth comparing
/// with it.
struct KnownKeys {
    keys: Vec<Known>,
    /// For each length (squashed) of an unknown key: the keys, in order, that are prefix or
    /// group settings (their length depends on the unknown key) or whose length is within a
    /// typo of it; about one in six of them.
    near: Vec<Vec<u16>>,
    /// The prefix and group settings: what `near` would hold past its end, where every key is
    /// shorter than two thirds of the unknown key.
    others: Vec<u16>,
}

impl KnownKeys {
    fn new(keys: Vec<Known>) -> KnownKeys {
        let indices = |keep: &dyn Fn(&Known) -> bool| -> Vec<u16> {
            (keys.iter().enumerate())
                .filter(|(_, known)| keep(known))
                .filter_map(|(i, _)| u16::try_from(i).ok())
                .collect()
        };
        let whole = |known: &Known| matches!(known.form, Form::Whole);
        let longest = keys.iter().map(|known| known.chars).max().unwrap_or(0);
        let near = (0..=2 * longest)
            .map(|len| {
                indices(&|known: &Known| {
                    !whole(known)
                        || known.squashed.len().abs_diff(len) <= typo_limit(len, known.chars)
                })
            })
            .collect();
        let others = indices(&|known: &Known| !whole(known));
        KnownKeys { keys, near, others }
    }

    /// The keys that can be a typo of an unknown key of `len` characters squashed, in order:
    /// the others' lengths alone rule them out.
    fn near(&self, len: usize) -> impl Iterator<Item = &Known> {
        let near = self.near.get(len).unwrap_or(&self.others);
        near.iter().filter_map(|&i| self.keys.get(usize::from(i)))
    }
}

/// Every key of `version`'s catalogue and every key tagroute reads, for suggestions.
fn known_keys(version: Neo4jVersion) -> Option<&'static KnownKeys> {
    static KNOWN: LazyLock<Vec<(Neo4jVersion, KnownKeys)>> = LazyLock::new(|| {
        Neo4jVersion::all()
            .chain(std::iter::once(Neo4jVersion::any()))
            .map(|version| {
                let catalogue = version.catalogue().settings().iter().map(|s| s.name);
                let ours = SETTINGS.iter().map(|s| s.key);
                let mut keys: Vec<&'static str> = ours.chain(catalogue).collect();
                keys.sort_unstable();
                keys.dedup();
                let known = keys.into_iter().map(Known::new).collect();
                (version, KnownKeys::new(known))
            })
            .collect()
    });
    KNOWN
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, known)| known)
}

/// The known key closest to `key`: prefix settings completed with `key`'s last segment, group
/// settings with `key`'s own segments; none for a key longer than any near miss of a setting's
/// name (a key of a megabyte cost sixteen).
fn suggestion(key: &str, version: Neo4jVersion) -> Option<String> {
    const LONGEST: usize = 1024;
    if key.len() > LONGEST {
        return None;
    }
    let typo = Typo::of(key);
    let segments = segments(key, typo.squashed());
    let (mut best, mut pieces) = (None, Vec::new());
    for known in known_keys(version)?.near(typo.squashed().len()) {
        if let Some((histogram, chars)) = known.candidate(&segments, &mut pieces) {
            let candidate = Candidate {
                pieces: &pieces,
                histogram,
                chars,
            };
            typo.keep_closer(&mut best, known, &candidate);
        }
    }
    best.map(|(_, known)| known.name(key))
}

/// A group setting's name with its `<...>` segments taken from `segments` (same count only).
fn filled(pattern: &str, segments: &[&str]) -> Option<String> {
    let parts: Vec<&str> = pattern.split('.').collect();
    (parts.len() == segments.len()).then(|| {
        let filled: Vec<&str> = parts
            .iter()
            .zip(segments)
            .map(|(p, s)| if p.starts_with('<') { *s } else { *p })
            .collect();
        filled.join(".")
    })
}

/// Neo4j 5's validation of the keys: each key Neo4j has no setting for, and each key given twice.
pub(super) fn validate(
    properties: &Properties,
    strict: bool,
    target: Neo4jTarget,
    lines: &LineIndex,
    diagnostics: &mut Diagnostics,
) {
    let mut suggestions = SUGGESTIONS;
    for (i, property) in properties.all().enumerate() {
        match byte_order_mark(&property) {
            Some(mark) if i == 0 => diagnostics.push(lenient_unless(strict, mark)),
            _ => check_key(
                &property,
                properties,
                strict,
                target,
                &mut suggestions,
                diagnostics,
            ),
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

/// With strict validation off, Neo4j only logs what strict validation would refuse (an
/// unknown key, a key given twice) and starts, whatever is installed: so does tagroute.
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
    ConfigDiagnostic::warning(diagnostic.kind, diagnostic.span, message)
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

/// The diagnostics of one key and its value.
fn check_key(
    property: &Property,
    properties: &Properties,
    strict: bool,
    target: Neo4jTarget,
    suggestions: &mut usize,
    diagnostics: &mut Diagnostics,
) {
    let key = &*property.key.text;
    if is_read(key) {
        // tagroute's own readers check the values; Community Edition has none of the routing
        // settings, and a key the target no longer has (a deprecated name Neo4j 2025.01
        // removed) stops that version all the same.
        let setting = target.version.catalogue().get(key);
        let enterprise = setting.is_some_and(|s| s.edition == Edition::Enterprise)
            || ENTERPRISE_PREFIXES.iter().any(|p| key.starts_with(p));
        let gone =
            setting.is_none() && Neo4jVersion::all().any(|v| v.catalogue().get(key).is_some());
        if enterprise && target.edition == Edition::Community {
            let diagnostic = other_edition(property, key, target);
            diagnostics.push(lenient_unless(strict, diagnostic));
        } else if gone {
            diagnostics.push(lenient_unless(strict, unknown_setting(property, target)));
        }
        return;
    }
    if let Some(setting) = target.version.catalogue().get(key) {
        judge(property, key, setting, strict, target, diagnostics);
    } else if let Some((migration, from)) = catalogue::migration_for(key, target.version) {
        let old = (from, &migration);
        migrated(property, old, properties, strict, target, diagnostics);
    } else if let Some(diagnostic) = unknown_key(property, target, suggestions) {
        diagnostics.push(lenient_unless(strict, diagnostic));
    }
}

/// What Neo4j makes of `property` as the setting `name` (its key, or the Neo4j 5 name its
/// migration gives it): the other edition's, deprecated, or a value that does not parse.
fn judge(
    property: &Property,
    name: &str,
    setting: &catalogue::SettingDef,
    strict: bool,
    target: Neo4jTarget,
    diagnostics: &mut Diagnostics,
) {
    if setting.edition == Edition::Enterprise && target.edition == Edition::Community {
        diagnostics.push(lenient_unless(
            strict,
            other_edition(property, name, target),
        ));
        return;
    }
    if let Some(since) = setting.deprecated {
        diagnostics.push(deprecated_setting(
            property,
            name,
            since,
            setting.replaced_by,
        ));
    }
    if let Err(reason) = setting.value_type.check(trimmed_value(property)) {
        diagnostics.push(invalid_value(property, name, setting, &reason, target));
    }
}

/// The value as Neo4j parses it: Java's `trim` (every character up to U+0020) removed.
fn trimmed_value<'p>(property: &'p Property) -> &'p str {
    property.value.text.trim_matches(|c: char| c <= ' ')
}

/// A key of the other edition: Community Edition has no Enterprise setting.
fn other_edition(property: &Property, name: &str, target: Neo4jTarget) -> ConfigDiagnostic {
    let key = &property.key.text;
    let what = match name == key.as_ref() {
        true => format!("`{key}` is an Enterprise Edition setting"),
        false => {
            format!("`{key}` is an old name of `{name}`, an Enterprise Edition setting")
        }
    };
    ConfigDiagnostic::error(
        Kind::OtherEdition,
        property.key.span(),
        format!(
            "{what}: Neo4j {} Community Edition has no such setting and refuses to start",
            target.version.name()
        ),
    )
    .with_help(
        "remove it, or check with `--edition enterprise` if this server runs Enterprise Edition",
    )
}

fn deprecated_setting(
    property: &Property,
    name: &str,
    since: &str,
    replaced_by: &str,
) -> ConfigDiagnostic {
    let warning = ConfigDiagnostic::warning(
        Kind::DeprecatedKey,
        property.key.span(),
        format!("`{name}` is deprecated (since Neo4j {since}); Neo4j still reads it"),
    );
    match replaced_by
        .split_whitespace()
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => warning,
        names => warning.with_help(format!("use `{}`", names.join("`, `"))),
    }
}

/// A value that does not parse as its setting's type: Neo4j refuses to start, whatever the
/// strict validation.
fn invalid_value(
    property: &Property,
    name: &str,
    setting: &catalogue::SettingDef,
    reason: &str,
    target: Neo4jTarget,
) -> ConfigDiagnostic {
    let value = trimmed_value(property);
    let span = match property.value.text.is_empty() {
        true => property.key.span(),
        false => property.value.span(),
    };
    let key = &property.key.text;
    let setting_name = match name == key.as_ref() {
        true => format!("`{name}`"),
        false => format!("`{name}` (the new name of `{key}`)"),
    };
    let value = match value.is_empty() {
        true => "the empty value".to_owned(),
        false => format!("`{value}`"),
    };
    ConfigDiagnostic::error(
        Kind::InvalidValue,
        span,
        format!(
            "{value} is not a valid value of {setting_name} ({}): {reason}; Neo4j {} refuses to start",
            setting.value_type.describe(),
            target.version.name()
        ),
    )
    .with_help(format!("valid values: {}", setting.valid_values))
}

/// A key of an older version (`from`: `4.4`, `5.26`) that Neo4j's migration (the public one,
/// in both editions) renames or removes when it starts, logging a warning: Neo4j starts, and a
/// renamed key's value is judged under its new name. Like Neo4j's migration, a blank value
/// drops the key, and a key whose new name is set too is dropped.
fn migrated(
    property: &Property,
    (from, migration): (&str, &Migration),
    properties: &Properties,
    strict: bool,
    target: Neo4jTarget,
    diagnostics: &mut Diagnostics,
) {
    let key = &*property.key.text;
    let version = target.version.name();
    let (message, help) = match migration {
        Migration::Removed => (
            format!("`{key}` is a Neo4j {from} setting that Neo4j {version} drops when it starts: it no longer has any effect"),
            "remove it (`tagroute check --migrate` comments it out)".to_owned(),
        ),
        Migration::RenamedUnresolved(field) => (
            format!("`{key}` is a Neo4j {from} name that Neo4j {version} renames when it starts, to the setting of its Java field `{field}`"),
            "the settings reference does not say which setting that is, so the value is not checked; `neo4j-admin server migrate-configuration` prints its name".to_owned(),
        ),
        Migration::Renamed(new) if trimmed_value(property).is_empty() => (
            format!("`{key}` is a Neo4j {from} name of `{new}` without a value: Neo4j {version} drops it when it starts"),
            "remove it".to_owned(),
        ),
        Migration::Renamed(new) if properties.get(new).is_some() => (
            format!("`{key}` is a Neo4j {from} name of `{new}`, which this file sets too: Neo4j {version} drops this one when it starts"),
            "remove it".to_owned(),
        ),
        Migration::Renamed(new) => {
            match target.version.catalogue().get(new) {
                Some(setting) => judge(property, new, setting, strict, target, diagnostics),
                None if new.starts_with("internal.") => {} // declared, not documented
                None => {
                    let gone = ConfigDiagnostic::error(
                        Kind::UnknownKey,
                        property.key.span(),
                        format!("`{key}` is renamed to `{new}`, which Neo4j {version} does not have (its settings reference does not list it): Neo4j {version} refuses to start with it"),
                    );
                    diagnostics.push(lenient_unless(strict, gone));
                }
            }
            (
                format!("`{key}` is a Neo4j {from} name: Neo4j {version} renames it to `{new}` when it starts"),
                match from {
                    "4.4" => format!("use `{new}` (`tagroute check --migrate` prints the file with the Neo4j 5 names)"),
                    _ => format!("use `{new}`"),
                },
            )
        }
    };
    diagnostics.push(
        ConfigDiagnostic::warning(Kind::MigratedKey, property.key.span(), message).with_help(help),
    );
}

/// A key no setting of the catalogue has, and no migration renames: what Neo4j makes of it
/// with strict validation, and why.
fn unknown_key(
    property: &Property,
    target: Neo4jTarget,
    suggestions: &mut usize,
) -> Option<ConfigDiagnostic> {
    let key = &*property.key.text;
    let span = property.key.span();
    let version = target.version.name();
    if key.is_empty() {
        return Some(ConfigDiagnostic::error(
            Kind::EmptyKey,
            span,
            "the line has a value but no key; Neo4j 5 has no setting with the empty name and refuses to start".into(),
        ));
    }
    if let Some(name) = new_name(key) {
        return Some(unread_4x_name(key, span, name.as_deref(), target));
    }
    if catalogue::is_neo4j_44_setting(key)
        || key.starts_with("causal_clustering.")
        || tagroute_rename(key).is_some()
    {
        let diagnostic = neo4j_44_setting(key, span, target);
        return Some(match tagroute_rename(key) {
            Some(name) => diagnostic.with_help(format!("its Neo4j 5 name is `{name}`")),
            None => with_suggestion(diagnostic, key, target, suggestions),
        });
    }
    if let Some((namespace, plugin)) = PLUGIN_NAMESPACES.iter().find(|(ns, _)| key.starts_with(ns))
    {
        return Some(
            ConfigDiagnostic::warning(
                Kind::PluginKey,
                span,
                format!("`{key}` is not a setting of Neo4j {version} but of the {plugin} plugin (`{namespace}*`): Neo4j starts with it only if that plugin is installed, and otherwise refuses to start"),
            )
            .depending_on(Neo4jCondition::Plugin)
            .with_help("a plugin declares its settings when Neo4j loads it; tagroute cannot see which plugins are installed"),
        );
    }
    if key.starts_with("internal.") || key.starts_with("unsupported.") {
        if catalogue::is_migration_target(key) {
            return None;
        }
        return Some(ConfigDiagnostic::error(
            Kind::UnknownKey,
            span,
            format!("`{key}` is not a documented setting of Neo4j {version}: Neo4j declares internal settings it does not document, and refuses to start with any other key"),
        )
        .with_help("tagroute's catalogue has only the internal settings that Neo4j 5's migration names; if this one is Neo4j's own, start with strict validation off"));
    }
    if key.starts_with("apoc.") {
        return Some(
            ConfigDiagnostic::error(
                Kind::UnknownKey,
                span,
                format!("`{key}` is an APOC setting: Neo4j 5 reads those from apoc.conf only, and refuses to start"),
            )
            .with_help("move it to apoc.conf"),
        );
    }
    Some(with_suggestion(
        unknown_setting(property, target),
        key,
        target,
        suggestions,
    ))
}

/// A key of no setting: in one of Neo4j's namespaces (perhaps a setting of another version),
/// or outside all of them.
fn unknown_setting(property: &Property, target: Neo4jTarget) -> ConfigDiagnostic {
    let key = &*property.key.text;
    let version = target.version.name();
    let older = Neo4jVersion::all()
        .filter(|v| *v != target.version)
        .find(|v| v.catalogue().get(key).is_some());
    let message = match older {
        Some(other) => format!(
            "`{key}` is a setting of Neo4j {} that Neo4j {version} does not have (its settings reference does not list it): Neo4j {version} refuses to start with it",
            other.name()
        ),
        None if NEO4J_NAMESPACES.iter().any(|ns| key.starts_with(ns)) => format!(
            "unknown setting `{key}`: Neo4j {version} has no setting by this name and refuses to start"
        ),
        None => format!(
            "unknown setting `{key}`: every Neo4j 5 setting starts with `dbms.`, `db.`, `server.`, `initial.` or another of its namespaces, and Neo4j refuses to start"
        ),
    };
    let error = ConfigDiagnostic::error(Kind::UnknownKey, property.key.span(), message);
    match property.has_separator || NEO4J_NAMESPACES.iter().any(|ns| key.starts_with(ns)) {
        true => error,
        false => error.with_help(format!(
            "this line has no `=` or `:`, so it is read as the key `{key}` with the value `{}`",
            property.value.text
        )),
    }
}

/// A Neo4j 4.x name of a key tagroute reads: tagroute never reads 4.x names (a policy under
/// one is not served), so it is an error here; Neo4j's verdict depends on the edition.
fn unread_4x_name(
    key: &str,
    span: crate::span::Span,
    name: Option<&str>,
    target: Neo4jTarget,
) -> ConfigDiagnostic {
    let help = match name {
        Some(name) => format!("its Neo4j 5 name is `{name}`"),
        None => MIGRATE_HELP.to_owned(),
    };
    let error = ConfigDiagnostic::error(
        Kind::RemovedKey,
        span,
        format!(
            "`{key}` is a Neo4j 4.x key, which tagroute does not read; {}",
            neo4j_on_44_key(target)
        ),
    )
    .with_help(help);
    match target.edition {
        Edition::Community => error,
        Edition::Enterprise => error.depending_on(Neo4jCondition::EnterpriseMigration),
    }
}

/// A Neo4j 4.4 setting that Neo4j 5 does not have and that its public migration does not carry
/// over: Community Edition refuses to start; Enterprise Edition has a migration of its own,
/// which is not public, so its verdict depends on it.
fn neo4j_44_setting(key: &str, span: crate::span::Span, target: Neo4jTarget) -> ConfigDiagnostic {
    let message = format!(
        "`{key}` is a Neo4j 4.4 setting that Neo4j {} does not have and that Neo4j 5's public migration does not carry over; {}",
        target.version.name(),
        neo4j_on_44_key(target)
    );
    match target.edition {
        Edition::Community => ConfigDiagnostic::error(Kind::RemovedKey, span, message),
        Edition::Enterprise => ConfigDiagnostic::warning(Kind::RemovedKey, span, message)
            .depending_on(Neo4jCondition::EnterpriseMigration),
    }
}

/// What Neo4j does with a 4.4 key its public migration does not carry over.
fn neo4j_on_44_key(target: Neo4jTarget) -> String {
    let version = target.version.name();
    match target.edition {
        Edition::Community => {
            format!("Neo4j {version} Community Edition has no such setting and refuses to start")
        }
        Edition::Enterprise => format!(
            "Neo4j {version} Enterprise Edition starts with it only if its own 4.4 migration, which is not public, renames or removes it, and otherwise refuses to start"
        ),
    }
}

const MIGRATE_HELP: &str =
    "Neo4j 5 has no such setting; `neo4j-admin server migrate-configuration` migrates a 4.x file";

/// `error` with "did you mean" for the closest key of the catalogue (while suggestions last).
fn with_suggestion(
    error: ConfigDiagnostic,
    key: &str,
    target: Neo4jTarget,
    suggestions: &mut usize,
) -> ConfigDiagnostic {
    let near = suggestions.checked_sub(1).and_then(|left| {
        *suggestions = left;
        suggestion(key, target.version)
    });
    match (near, &error.help) {
        (Some(near), None) => error.with_help(format!("did you mean `{near}`?")),
        (Some(near), Some(help)) => {
            let help = format!("did you mean `{near}`? {help}");
            error.with_help(help)
        }
        (None, _) => error,
    }
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
            Neo4jTarget::default(),
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

    /// The suggestion as it was defined before the index and the bounds: every known key in
    /// order, completed as a candidate and compared whole by the plain distance table.
    fn plain_suggestion(key: &str, version: Neo4jVersion) -> Option<String> {
        let squash = |s: &str| {
            let mut out = Vec::new();
            squash_into(s, &mut out);
            out.into_iter().collect::<String>()
        };
        let (wanted, last) = (squash(key), key.rsplit('.').next().unwrap_or(key));
        let segments: Vec<&str> = key.split('.').collect();
        let mut best: Option<(usize, String)> = None;
        for known in &known_keys(version)?.keys {
            let name = match &known.form {
                Form::Whole => known.key.to_owned(),
                Form::Prefix => format!("{}{last}", known.key),
                Form::Group(..) => match filled(known.key, &segments) {
                    Some(name) => name,
                    None => continue,
                },
            };
            let d = crate::suggest::edit_distance(&squash(&name), &wanted);
            let limit = typo_limit(wanted.chars().count(), name.chars().count());
            if d <= limit && best.as_ref().is_none_or(|(closest, _)| d < *closest) {
                best = Some((d, name));
            }
        }
        best.map(|(_, name)| name)
    }

    /// Near misses of known keys (characters dropped, doubled, replaced, case changed,
    /// separators moved), of group and prefix settings, and keys of nothing: the suggestion
    /// is the plain definition's.
    #[test]
    fn the_suggestion_is_the_first_nearest_known_key() {
        let mut rng = crate::rng::Rng::seeded(14);
        let version = Neo4jVersion::any();
        let keys: Vec<&str> = known_keys(version)
            .map(|k| k.keys.iter().map(|k| k.key).collect())
            .unwrap_or_default();
        let alphabet = ['a', 'e', 's', '.', '_', '-', 'X', '9', 'é'];
        for _ in 0..2_000 {
            let mut key: Vec<char> = match rng.index(4) {
                0 => (0..rng.index(90))
                    .map(|_| alphabet[rng.index(alphabet.len())])
                    .collect(),
                _ => keys[rng.index(keys.len())]
                    .replace("<provider>", "okta")
                    .chars()
                    .collect(),
            };
            for _ in 0..rng.index(12) {
                let at = rng.index(key.len() + 1);
                let c = alphabet[rng.index(alphabet.len())];
                match rng.index(3) {
                    0 => key.insert(at, c),
                    _ if at < key.len() => drop(key.remove(at)),
                    _ => {}
                }
            }
            let key: String = key.into_iter().collect();
            assert_eq!(
                suggestion(&key, version),
                plain_suggestion(&key, version),
                "{key:?}"
            );
        }
    }

    /// The index leaves out only keys whose length alone rules them out, for every length of
    /// an unknown key that gets a suggestion.
    #[test]
    fn the_keys_near_a_length_are_those_its_limit_allows() {
        for version in Neo4jVersion::all().chain([Neo4jVersion::any()]) {
            let known = known_keys(version).expect("every version has its keys");
            for len in 0..=1024 {
                let near: Vec<&str> = known.near(len).map(|k| k.key).collect();
                let allowed: Vec<&str> = (known.keys.iter())
                    .filter(|k| {
                        !matches!(k.form, Form::Whole)
                            || k.squashed.len().abs_diff(len) <= typo_limit(len, k.chars)
                    })
                    .map(|k| k.key)
                    .collect();
                assert_eq!(near, allowed, "{len}");
            }
        }
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
