//! Neo4j's settings: every documented setting of each Neo4j version tagroute knows, with its
//! type and constraints, default, edition and deprecation, and the 4.4 → 5 migrations, as
//! `data/neo4j-settings/` holds them (made by `scripts/neo4j-settings/extract.py` from Neo4j's
//! settings reference and its `SettingMigrator`; each file names its source and commit).
//!
//! A value is checked as Neo4j's parser for the setting's type reads it: a boolean is `true` or
//! `false` in any case, an integer a Java `int` (a long a Java `long`) within the setting's
//! range, a duration as [`parse_duration`] reads it, a byte size a number with one of Neo4j's
//! units, an enum one of its values in any case, a list each of its comma-separated items.
//! Types the reference gives no grammar for (strings, patterns, maps) accept any value.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::duration::parse_duration;

/// A Neo4j version tagroute has the settings of (`5.26`, `2026.08`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Neo4jVersion(&'static str);

/// The edition of Neo4j a setting belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edition {
    /// In both editions.
    Community,
    /// In Enterprise Edition only: Community Edition has no such setting.
    Enterprise,
}

impl Edition {
    /// `Community` or `Enterprise`, as Neo4j names the editions.
    pub fn name(self) -> &'static str {
        match self {
            Edition::Community => "Community",
            Edition::Enterprise => "Enterprise",
        }
    }
}

/// Which Neo4j a file is checked against: its version and edition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Neo4jTarget {
    /// The version, whose settings the file may use.
    pub version: Neo4jVersion,
    /// The edition: a setting of Enterprise Edition is unknown to Community Edition.
    pub edition: Edition,
}

impl Default for Neo4jTarget {
    /// Any version tagroute knows ([`Neo4jVersion::any`]), Enterprise Edition (the edition of
    /// clusters): how `route` and `serve` read a file, not knowing which Neo4j runs beside them.
    fn default() -> Self {
        Neo4jTarget {
            version: Neo4jVersion::any(),
            edition: Edition::Enterprise,
        }
    }
}

/// The catalogue files, oldest first; the last is the default version.
const VERSIONS: &[(&str, &str)] = &[
    ("5.26", include_str!("../../data/neo4j-settings/5.26.tsv")),
    (
        "2026.08",
        include_str!("../../data/neo4j-settings/2026.08.tsv"),
    ),
];
const NEO4J_44: &str = include_str!("../../data/neo4j-settings/4.4.tsv");
const MIGRATIONS: &str = include_str!("../../data/neo4j-settings/migrations.tsv");
const RENAMED_2025: &str = include_str!("../../data/neo4j-settings/renamed-2025.01.tsv");

impl Neo4jVersion {
    /// Every version tagroute has the settings of, oldest first.
    pub fn all() -> impl Iterator<Item = Neo4jVersion> {
        VERSIONS.iter().map(|(name, _)| Neo4jVersion(name))
    }

    /// Every version tagroute knows at once: a key is a setting if it is one in any of them,
    /// and a value valid if the newest version having the setting accepts it. Named `5.26 or
    /// 2026.08`; not one of [`Neo4jVersion::all`].
    pub fn any() -> Neo4jVersion {
        static NAME: LazyLock<String> = LazyLock::new(|| {
            let names: Vec<&str> = VERSIONS.iter().map(|(name, _)| *name).collect();
            names.join(" or ")
        });
        Neo4jVersion(NAME.as_str())
    }

    /// The newest version tagroute has the settings of.
    pub fn newest() -> Neo4jVersion {
        Neo4jVersion(VERSIONS.last().map_or("5.26", |(name, _)| name))
    }

    /// The version called `name` (`5.26`, `2026.08`), if tagroute has its settings.
    pub fn named(name: &str) -> Option<Neo4jVersion> {
        Neo4jVersion::all().find(|v| v.0 == name)
    }

    /// The version's name.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// The version's settings.
    pub fn catalogue(self) -> &'static Catalogue {
        static CATALOGUES: LazyLock<Vec<Catalogue>> = LazyLock::new(|| {
            VERSIONS
                .iter()
                .map(|(_, text)| Catalogue::parse(text))
                .collect()
        });
        static ANY: LazyLock<Catalogue> =
            LazyLock::new(|| Catalogue::union(CATALOGUES.iter().rev()));
        let index = VERSIONS.iter().position(|(name, _)| *name == self.0);
        index.and_then(|i| CATALOGUES.get(i)).unwrap_or(&ANY)
    }
}

/// The type of a setting's value, with its constraints.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueType {
    /// `true` or `false`, in any case.
    Boolean,
    /// A Java `int` (`long` when `long`), within `min..=max`.
    Integer {
        /// Whether it is a Java `long`.
        long: bool,
        /// The smallest value allowed.
        min: Option<i64>,
        /// The largest value allowed.
        max: Option<i64>,
    },
    /// A Java `double`, within `min..=max`.
    Double {
        /// The smallest value allowed.
        min: Option<f64>,
        /// The largest value allowed.
        max: Option<f64>,
    },
    /// A duration, within `min..=max` (in nanoseconds), or exactly `or`.
    Duration {
        /// The shortest duration allowed.
        min: Option<u128>,
        /// The longest duration allowed.
        max: Option<u128>,
        /// A value allowed outside the range (`0s`).
        or: Option<u128>,
    },
    /// `min-max`, two durations.
    DurationRange,
    /// A byte size, within `min..=max` bytes, or exactly `or`.
    ByteSize {
        /// The smallest size allowed.
        min: Option<u128>,
        /// The largest size allowed.
        max: Option<u128>,
        /// A value allowed outside the range.
        or: Option<u128>,
    },
    /// `host:port`, `host` or `:port`.
    SocketAddress,
    /// A host name without a port.
    Hostname,
    /// A file system path.
    Path,
    /// One of these values, in any case.
    Enum(Vec<String>),
    /// A server tag: `[A-Za-z0-9_-]+`.
    Tag,
    /// A database name: 3 to 63 letters, digits, dots and dashes, starting with a letter (or,
    /// when `digit_first`, a digit), not `system`.
    DatabaseName {
        /// Whether the name may start with a digit (Neo4j 2025 and later).
        digit_first: bool,
    },
    /// A URI with a scheme.
    Uri,
    /// An offset (`+02:00`, `Z`) or a region (`Europe/Stockholm`).
    Timezone,
    /// Comma-separated items of a type, empty items ignored.
    List(Box<ValueType>),
    /// Any text: the reference gives no grammar (strings, patterns, maps, JVM arguments).
    Text(&'static str),
}

impl ValueType {
    /// The type as a person names it: `a boolean`, `an integer`, `a byte size`, ...
    pub fn describe(&self) -> String {
        match self {
            ValueType::Boolean => "a boolean".into(),
            ValueType::Integer { long: false, .. } => "an integer".into(),
            ValueType::Integer { long: true, .. } => "a long integer".into(),
            ValueType::Double { .. } => "a number".into(),
            ValueType::Duration { .. } => "a duration".into(),
            ValueType::DurationRange => "a duration range".into(),
            ValueType::ByteSize { .. } => "a byte size".into(),
            ValueType::SocketAddress => "a socket address".into(),
            ValueType::Hostname => "a host name".into(),
            ValueType::Path => "a path".into(),
            ValueType::Enum(_) => "one of its values".into(),
            ValueType::Tag => "a server tag".into(),
            ValueType::DatabaseName { .. } => "a database name".into(),
            ValueType::Uri => "a URI".into(),
            ValueType::Timezone => "a time zone".into(),
            ValueType::List(item) => format!("a comma-separated list of {}s", item.noun()),
            ValueType::Text(_) => "a string".into(),
        }
    }

    fn noun(&self) -> String {
        let described = self.describe();
        let noun = described
            .strip_prefix("a ")
            .or_else(|| described.strip_prefix("an "))
            .unwrap_or(&described);
        noun.to_owned()
    }

    /// Whether values are checked (every type but [`ValueType::Text`] and lists of it).
    pub fn is_typed(&self) -> bool {
        match self {
            ValueType::Text(_) => false,
            ValueType::List(item) => item.is_typed(),
            _ => true,
        }
    }

    /// Checks `value` (already trimmed) as Neo4j's parser for this type reads it; the error
    /// says what is wrong.
    pub fn check(&self, value: &str) -> Result<(), String> {
        match self {
            ValueType::Boolean => {
                match value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
                    true => Ok(()),
                    false => Err("not `true` or `false`".into()),
                }
            }
            ValueType::Integer { long, min, max } => {
                let parsed = java_integer(value, *long)?;
                in_range(parsed, *min, *max, None, |n| n.to_string())
            }
            ValueType::Double { min, max } => {
                let parsed: f64 = value.parse().map_err(|_| "not a number".to_owned())?;
                let below = min.is_some_and(|m| parsed < m);
                let above = max.is_some_and(|m| parsed > m);
                match below || above {
                    true => Err(range_text(
                        min.map(|m| m.to_string()),
                        max.map(|m| m.to_string()),
                    )),
                    false => Ok(()),
                }
            }
            ValueType::Duration { min, max, or } => {
                let parsed = parse_duration(value).map_err(|e| e.to_string())?.as_nanos();
                in_range(parsed, *min, *max, *or, nanos_text)
            }
            ValueType::DurationRange => {
                let (low, high) = value
                    .split_once('-')
                    .ok_or_else(|| "not `<min>-<max>`".to_owned())?;
                for part in [low, high] {
                    parse_duration(part).map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            ValueType::ByteSize { min, max, or } => {
                let parsed = byte_size(value)?;
                in_range(parsed, *min, *max, *or, |n| format!("{n} bytes"))
            }
            ValueType::SocketAddress => socket_address(value, true),
            ValueType::Hostname => socket_address(value, false),
            ValueType::Path => match value.contains('\0') {
                true => Err("a path cannot hold a NUL character".into()),
                false => Ok(()),
            },
            ValueType::Enum(values) => match values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
                true => Ok(()),
                false => Err(format!("not one of {}", values.join(", "))),
            },
            ValueType::Tag => match !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                true => Ok(()),
                false => Err("a tag is made of letters, digits, `_` and `-`".into()),
            },
            ValueType::DatabaseName { digit_first } => database_name(value, *digit_first),
            ValueType::Uri => uri(value),
            ValueType::Timezone => timezone(value),
            ValueType::List(item) => value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .try_for_each(|v| item.check(v).map_err(|e| format!("`{v}`: {e}"))),
            ValueType::Text(_) => Ok(()),
        }
    }

    /// The type of the catalogue's `type` column with its constraint columns.
    fn parse(kind: &str, columns: &Columns<'_>) -> ValueType {
        if let Some(item) = kind
            .strip_prefix("list:")
            .or_else(|| kind.strip_prefix("set:"))
        {
            return ValueType::List(Box::new(ValueType::parse(item, columns)));
        }
        let integer = |text: &str| text.parse::<i64>().ok();
        let nanos = |text: &str| parse_duration(text).ok().map(|d| d.as_nanos());
        let bytes = |text: &str| byte_size(text).ok();
        match kind {
            "boolean" => ValueType::Boolean,
            "integer" | "long" => ValueType::Integer {
                long: kind == "long",
                min: columns.min.and_then(integer),
                max: columns.max.and_then(integer),
            },
            "double" => ValueType::Double {
                min: columns.min.and_then(|t| t.parse().ok()),
                max: columns.max.and_then(|t| t.parse().ok()),
            },
            "duration" => ValueType::Duration {
                min: columns.min.and_then(nanos),
                max: columns.max.and_then(nanos),
                or: columns.or_value.and_then(nanos),
            },
            "duration-range" => ValueType::DurationRange,
            "byte-size" => ValueType::ByteSize {
                min: columns.min.and_then(bytes),
                max: columns.max.and_then(bytes),
                or: columns.or_value.and_then(bytes),
            },
            "socket-address" => ValueType::SocketAddress,
            "hostname" => ValueType::Hostname,
            "path" => ValueType::Path,
            "enum" => ValueType::Enum(columns.values.split('|').map(str::to_owned).collect()),
            "tag" => ValueType::Tag,
            "database-name" => ValueType::DatabaseName {
                digit_first: columns.valid_values.contains("or number"),
            },
            "uri" => ValueType::Uri,
            "timezone" => ValueType::Timezone,
            "string" => ValueType::Text("string"),
            "secure-string" => ValueType::Text("secure string"),
            "key-value-map" => ValueType::Text("key-value map"),
            "jvm-arguments" => ValueType::Text("JVM arguments"),
            "globbing-pattern" => ValueType::Text("globbing pattern"),
            "file-permissions" => ValueType::Text("file permissions"),
            "database-name-pattern" => ValueType::Text("database name pattern"),
            _ => ValueType::Text("value"),
        }
    }
}

/// A Java `int` (or `long`): an optional sign and ASCII digits, nothing else.
fn java_integer(value: &str, long: bool) -> Result<i64, String> {
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not an integer".into());
    }
    let parsed: i64 = value
        .parse()
        .map_err(|_| "out of a long integer's range".to_owned())?;
    match long || i32::try_from(parsed).is_ok() {
        true => Ok(parsed),
        false => Err("out of an integer's range (at most 2147483647)".into()),
    }
}

fn in_range<T: PartialOrd + Copy>(
    value: T,
    min: Option<T>,
    max: Option<T>,
    or: Option<T>,
    show: impl Fn(T) -> String,
) -> Result<(), String> {
    if or.is_some_and(|o| o == value) {
        return Ok(());
    }
    let below = min.is_some_and(|m| value < m);
    let above = max.is_some_and(|m| value > m);
    match below || above {
        true => Err(range_text(min.map(&show), max.map(&show))),
        false => Ok(()),
    }
}

fn range_text(min: Option<String>, max: Option<String>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("outside the range {min} to {max}"),
        (Some(min), None) => format!("below the minimum {min}"),
        (None, Some(max)) => format!("above the maximum {max}"),
        (None, None) => "out of range".into(),
    }
}

fn nanos_text(nanos: u128) -> String {
    match nanos % 1_000_000_000 {
        0 => format!("{}s", nanos / 1_000_000_000),
        _ => format!("{}ms", nanos / 1_000_000),
    }
}

/// The byte-size units the reference lists (exactly these spellings), each a power of 1,024.
const BYTE_UNITS: &[(&str, i32)] = &[
    ("", 0),
    ("B", 0),
    ("KiB", 1),
    ("KB", 1),
    ("K", 1),
    ("kB", 1),
    ("kb", 1),
    ("k", 1),
    ("MiB", 2),
    ("MB", 2),
    ("M", 2),
    ("mB", 2),
    ("mb", 2),
    ("m", 2),
    ("GiB", 3),
    ("GB", 3),
    ("G", 3),
    ("gB", 3),
    ("gb", 3),
    ("g", 3),
    ("TiB", 4),
    ("TB", 4),
    ("PiB", 5),
    ("PB", 5),
    ("EiB", 6),
    ("EB", 6),
];

/// A byte size: a number (a fraction allowed) and one of Neo4j's units, blanks between.
fn byte_size(value: &str) -> Result<u128, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let unit = unit.trim();
    if number.is_empty() {
        return Err("not a byte size: it has no number".into());
    }
    let exponent = BYTE_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, e)| *e)
        .ok_or_else(|| format!("`{unit}` is not a byte-size unit (B, KiB, MiB, GiB, TiB, ...)"))?;
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{number}` is not a number"))?;
    let bytes = number * 1024f64.powi(exponent);
    match bytes.is_finite() && bytes < 2f64.powi(63) {
        true => Ok(bytes as u128),
        false => Err("too large for a byte size".into()),
    }
}

/// `host:port`, `host`, `:port`, `[v6]:port`; without `with_port`, a host alone.
fn socket_address(value: &str, with_port: bool) -> Result<(), String> {
    if value.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err("an address holds no blank or `/`".into());
    }
    let (host, port) = match value.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| "`[` without `]`".to_owned())?;
            (host, after.strip_prefix(':'))
        }
        None if value.matches(':').count() > 1 => (value, None),
        None => match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        },
    };
    match (port, with_port) {
        (Some(_), false) => Err("a host name without a port".into()),
        (Some(port), true) => match port.parse::<u16>() {
            Ok(_) => Ok(()),
            Err(_) => Err(format!("`{port}` is not a port (0 to 65535)")),
        },
        (None, _) if host.is_empty() => Err("no host and no port".into()),
        (None, _) => Ok(()),
    }
}

fn database_name(value: &str, digit_first: bool) -> Result<(), String> {
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || (digit_first && c.is_ascii_digit()));
    let chars_ok = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let len_ok = (3..=63).contains(&value.len());
    if !(first_ok && chars_ok && len_ok) || value.eq_ignore_ascii_case("system") {
        return Err("a database name is 3 to 63 letters, digits, dots and dashes, starts with a letter and is not `system`".into());
    }
    Ok(())
}

fn uri(value: &str) -> Result<(), String> {
    let scheme = value.split_once(':').map(|(s, _)| s).unwrap_or("");
    let ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    match ok && !value.contains(char::is_whitespace) {
        true => Ok(()),
        false => Err("not a URI (`scheme:...`)".into()),
    }
}

fn timezone(value: &str) -> Result<(), String> {
    let offset = value.len() == 6
        && value.starts_with(['+', '-'])
        && value.as_bytes().get(3) == Some(&b':')
        && value
            .bytes()
            .enumerate()
            .all(|(i, b)| matches!(i, 0 | 3) || b.is_ascii_digit());
    let region = !value.is_empty()
        && value.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
        });
    match value == "Z" || offset || region {
        true => Ok(()),
        false => {
            Err("not an offset such as `+02:00` or a region such as `Europe/Stockholm`".into())
        }
    }
}

/// One setting of a version.
#[derive(Clone, Debug)]
pub struct SettingDef {
    /// The name; a group setting has `<...>` segments (`dbms.ssl.policy.<scope>.enabled`).
    pub name: &'static str,
    /// The type and constraints.
    pub value_type: ValueType,
    /// The default value, as the reference shows it (empty when it has none).
    pub default: &'static str,
    /// The edition it is in.
    pub edition: Edition,
    /// Whether it can change while Neo4j runs.
    pub dynamic: bool,
    /// The version it was deprecated in, if it is.
    pub deprecated: Option<&'static str>,
    /// The settings that replace it, if it is deprecated.
    pub replaced_by: &'static str,
    /// The reference's "Valid values" text.
    pub valid_values: &'static str,
}

/// The settings of one Neo4j version.
#[derive(Debug, Default)]
pub struct Catalogue {
    settings: Vec<SettingDef>,
    by_name: HashMap<&'static str, usize>,
    /// Group settings: their name split at `.`, a `<...>` segment matching any one segment.
    groups: Vec<(Vec<&'static str>, usize)>,
}

struct Columns<'t> {
    min: Option<&'t str>,
    max: Option<&'t str>,
    or_value: Option<&'t str>,
    values: &'t str,
    valid_values: &'t str,
}

impl Catalogue {
    fn parse(text: &'static str) -> Catalogue {
        let mut rows = text.lines().filter(|l| !l.starts_with('#'));
        let header: Vec<&str> = rows.next().unwrap_or_default().split('\t').collect();
        let column = |name: &str| header.iter().position(|h| *h == name);
        let at = |fields: &[&'static str], name: &str| -> &'static str {
            column(name)
                .and_then(|i| fields.get(i).copied())
                .unwrap_or("")
        };
        let nonempty = |s: &'static str| (!s.is_empty()).then_some(s);
        let mut catalogue = Catalogue::default();
        for line in rows {
            let fields: Vec<&'static str> = line.split('\t').collect();
            let columns = Columns {
                min: nonempty(at(&fields, "min")),
                max: nonempty(at(&fields, "max")),
                or_value: nonempty(at(&fields, "or_value")),
                values: at(&fields, "values"),
                valid_values: at(&fields, "valid_values"),
            };
            let setting = SettingDef {
                name: at(&fields, "name"),
                value_type: ValueType::parse(at(&fields, "type"), &columns),
                default: at(&fields, "default"),
                edition: match at(&fields, "edition") {
                    "enterprise" => Edition::Enterprise,
                    _ => Edition::Community,
                },
                dynamic: at(&fields, "dynamic") == "yes",
                deprecated: nonempty(at(&fields, "deprecated")),
                replaced_by: at(&fields, "replaced_by"),
                valid_values: columns.valid_values,
            };
            catalogue.push(setting);
        }
        catalogue
    }

    /// The settings of every catalogue, each from the first that has it, sorted by name.
    fn union<'c>(catalogues: impl Iterator<Item = &'c Catalogue>) -> Catalogue {
        let mut settings: Vec<&SettingDef> = Vec::new();
        for catalogue in catalogues {
            settings.extend(catalogue.settings.iter());
        }
        settings.sort_by_key(|s| s.name); // stable: the first catalogue's setting first
        settings.dedup_by_key(|s| s.name);
        let mut union = Catalogue::default();
        for setting in settings {
            union.push(setting.clone());
        }
        union
    }

    fn push(&mut self, setting: SettingDef) {
        let index = self.settings.len();
        if setting.name.contains('<') {
            self.groups.push((setting.name.split('.').collect(), index));
        } else {
            self.by_name.insert(setting.name, index);
        }
        self.settings.push(setting);
    }

    /// Every setting, sorted by name.
    pub fn settings(&self) -> &[SettingDef] {
        &self.settings
    }

    /// The setting `key` sets: by its name, or a group setting whose pattern it matches.
    pub fn get(&self, key: &str) -> Option<&SettingDef> {
        if let Some(&i) = self.by_name.get(key) {
            return self.settings.get(i);
        }
        let segments = key.split('.').count();
        self.groups
            .iter()
            .find(|(pattern, _)| {
                pattern.len() == segments
                    && (pattern.iter().zip(key.split('.')))
                        .all(|(p, s)| (p.starts_with('<') && !s.is_empty()) || *p == s)
            })
            .and_then(|(_, i)| self.settings.get(*i))
    }
}

/// What Neo4j 5's migration (`neo4j-admin server migrate-configuration`, and Neo4j at start)
/// does with a Neo4j 4.4 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Migration {
    /// Renamed: the key's Neo4j 5 name.
    Renamed(String),
    /// Renamed to the setting of a Java field whose name the documentation does not give.
    RenamedUnresolved(&'static str),
    /// Removed: "It no longer has any effect".
    Removed,
}

struct MigrationRow {
    old: &'static str,
    kind: &'static str,
    new: &'static str,
    field: &'static str,
}

/// The migration rows, and where to look for a key among them: a map from each key that rows
/// of exact keys (`removed`, `renamed`) name to the first of them, and the other rows (prefixes
/// and connectors), which apply to many keys and are few.
struct MigrationRows {
    rows: Vec<MigrationRow>,
    exact: HashMap<&'static str, usize>,
    patterns: Vec<usize>,
}

fn migration_rows() -> &'static MigrationRows {
    static ROWS: LazyLock<MigrationRows> = LazyLock::new(|| {
        let rows: Vec<MigrationRow> = MIGRATIONS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .filter_map(|line| {
                let mut f = line.split('\t');
                Some(MigrationRow {
                    old: f.next()?,
                    kind: f.next()?,
                    new: f.next()?,
                    field: {
                        let _how = f.next()?;
                        f.next().unwrap_or("")
                    },
                })
            })
            .collect();
        let (mut exact, mut patterns) = (HashMap::new(), Vec::new());
        for (i, row) in rows.iter().enumerate() {
            match row.kind {
                "removed" | "renamed" => {
                    exact.entry(row.old).or_insert(i);
                }
                _ => patterns.push(i),
            }
        }
        MigrationRows {
            rows,
            exact,
            patterns,
        }
    });
    &ROWS
}

/// The migration Neo4j 5 applies to the 4.4 key `key`, if any: the first row that applies to
/// it. A row of its exact key always applies, so only the pattern rows before it can come
/// first.
pub fn migration(key: &str) -> Option<Migration> {
    let MigrationRows {
        rows,
        exact,
        patterns,
    } = migration_rows();
    let exact = exact.get(key).copied().unwrap_or(usize::MAX);
    patterns
        .iter()
        .take_while(|&&i| i < exact)
        .chain([&exact])
        .filter_map(|&i| rows.get(i))
        .find_map(|row| row.apply(key))
}

impl MigrationRow {
    /// What this row does to `key`, if it applies to it.
    fn apply(&self, key: &str) -> Option<Migration> {
        match self.kind {
            "removed" if self.old == key => Some(Migration::Removed),
            "renamed" if self.old == key => Some(match self.new.is_empty() {
                true => Migration::RenamedUnresolved(self.field),
                false => Migration::Renamed(self.new.to_owned()),
            }),
            "renamed-prefix" => key
                .strip_prefix(self.old)
                .filter(|rest| !rest.is_empty())
                .map(|rest| Migration::Renamed(format!("{}{rest}", self.new))),
            "connector" => connector(key, self.old, self.new),
            _ => None,
        }
    }
}

/// `dbms.connector.(bolt|http|https).X` → `server.<connector>.X`; `.type` is dropped.
fn connector(key: &str, old: &str, new: &str) -> Option<Migration> {
    let rest = key.strip_prefix(old)?;
    let (connector, setting) = rest.split_once('.')?;
    if !matches!(connector, "bolt" | "http" | "https") || setting.is_empty() {
        return None;
    }
    Some(match setting {
        "type" => Migration::Removed,
        _ => Migration::Renamed(format!("{new}{rest}")),
    })
}

/// The migration Neo4j `version` applies to `key` when it starts, and the version whose name
/// `key` is: Neo4j 5's migration of 4.4 names (every version), and, in calendar versions, the
/// 5.26 names Neo4j 2025.01 renamed and still accepts.
pub(crate) fn migration_for(key: &str, version: Neo4jVersion) -> Option<(Migration, &'static str)> {
    static RENAMED: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
        RENAMED_2025
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .filter_map(|line| line.split_once('\t'))
            .collect()
    });
    if let Some(migration) = migration(key) {
        return Some((migration, "4.4"));
    }
    let calendar = !Neo4jVersion::named("5.26").is_some_and(|v| v == version);
    RENAMED
        .iter()
        .find(|(old, _)| calendar && *old == key)
        .map(|(_, new)| (Migration::Renamed((*new).to_owned()), "5.26"))
}

/// The internal settings the migration names (Neo4j declares them; the reference does not).
pub fn is_migration_target(key: &str) -> bool {
    migration_rows().rows.iter().any(|row| row.new == key)
}

/// Whether Neo4j 4.4 had a setting named `key`.
pub fn is_neo4j_44_setting(key: &str) -> bool {
    static NAMES: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
        NEO4J_44
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .filter_map(|line| line.split('\t').next())
            .collect()
    });
    NAMES.contains(key)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The data's shape: every version has its settings, sorted and distinct, each with a known
    /// type whose constraints parsed; every migration has a kind and, when renamed, a name.
    #[test]
    fn the_catalogue_files_have_their_shape() {
        for version in Neo4jVersion::all() {
            let settings = version.catalogue().settings();
            assert!(
                settings.len() > 300,
                "{}: {}",
                version.name(),
                settings.len()
            );
            let names: Vec<&str> = settings.iter().map(|s| s.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(names, sorted, "{}: sorted and distinct", version.name());
            for s in settings {
                assert!(s.name.split('.').all(|seg| !seg.is_empty()), "{}", s.name);
                assert!(!s.valid_values.is_empty(), "{}", s.name);
                assert_ne!(
                    s.value_type,
                    ValueType::Text("value"),
                    "{}: the type column is not one the catalogue knows",
                    s.name
                );
                if let ValueType::Enum(values) = &s.value_type {
                    assert!(values.iter().all(|v| !v.is_empty()), "{}", s.name);
                }
                let describes_numbers = ["minimum", "maximum", "in the range"]
                    .iter()
                    .any(|bound| s.valid_values.contains(bound));
                let bounded = matches!(
                    s.value_type,
                    ValueType::Integer { min: Some(_), .. }
                        | ValueType::Integer { max: Some(_), .. }
                        | ValueType::Duration { min: Some(_), .. }
                        | ValueType::Duration { max: Some(_), .. }
                        | ValueType::ByteSize { min: Some(_), .. }
                        | ValueType::ByteSize { max: Some(_), .. }
                        | ValueType::Double { min: Some(_), .. }
                );
                if describes_numbers
                    && s.value_type.is_typed()
                    && !matches!(s.value_type, ValueType::List(_))
                {
                    assert!(
                        bounded,
                        "{}: `{}` has bounds the type lost",
                        s.name, s.valid_values
                    );
                }
            }
        }
        let rows = &migration_rows().rows;
        assert!(rows.len() > 300);
        for row in rows {
            assert!(
                ["removed", "renamed", "renamed-prefix", "connector"].contains(&row.kind),
                "{}",
                row.old
            );
            assert!(
                row.kind != "renamed" || !row.new.is_empty() || !row.field.is_empty(),
                "{}",
                row.old
            );
            // Neo4j migrates before it validates; tagroute looks a key up first: the same,
            // as long as no migrated name is also a setting.
            for version in Neo4jVersion::all() {
                assert!(version.catalogue().get(row.old).is_none(), "{}", row.old);
            }
            // Every name the migration gives is a 5.26 setting, or an internal one.
            let five = Neo4jVersion::named("5.26").map(Neo4jVersion::catalogue);
            if row.kind == "renamed" && !row.new.is_empty() && !row.new.starts_with("internal.") {
                assert!(
                    five.is_some_and(|c| c.get(row.new).is_some()),
                    "{}",
                    row.new
                );
            }
        }
    }

    /// A valid value of `value_type`, within its bounds: a setting's default when it has one is
    /// tested as well, but many have none.
    fn example(value_type: &ValueType) -> String {
        match value_type {
            ValueType::Boolean => "true".into(),
            ValueType::Integer { min, max, .. } => min.or(*max).unwrap_or(1).to_string(),
            ValueType::Double { min, max } => min.or(*max).unwrap_or(0.5).to_string(),
            ValueType::Duration { min, max, .. } => {
                min.or(*max).map_or_else(|| "1s".into(), nanos_text)
            }
            ValueType::DurationRange => "1s-2s".into(),
            ValueType::ByteSize { min, max, .. } => min
                .or(*max)
                .map_or_else(|| "1KiB".into(), |b| format!("{b}B")),
            ValueType::SocketAddress => ":7687".into(),
            ValueType::Hostname => "localhost".into(),
            ValueType::Path => "data".into(),
            ValueType::Enum(values) => values.first().cloned().unwrap_or_default(),
            ValueType::Tag => "eu-west".into(),
            ValueType::DatabaseName { .. } => "orders".into(),
            ValueType::Uri => "https://example.com/x".into(),
            ValueType::Timezone => "Europe/Stockholm".into(),
            ValueType::List(item) => format!("{},{}", example(item), example(item)),
            ValueType::Text(_) => "anything".into(),
        }
    }

    /// A value of another type than `value_type`, which Neo4j refuses (`None` for text).
    fn wrong(value_type: &ValueType) -> Option<&'static str> {
        Some(match value_type {
            ValueType::Boolean | ValueType::Integer { .. } | ValueType::Double { .. } => "x1",
            ValueType::Duration { .. } | ValueType::ByteSize { .. } => "1 fortnight",
            ValueType::Enum(_) => "NO_SUCH_VALUE",
            ValueType::SocketAddress | ValueType::Hostname => "a b:c",
            ValueType::Tag | ValueType::DatabaseName { .. } => "a b",
            ValueType::Uri | ValueType::Timezone => "not a uri or zone!",
            ValueType::DurationRange => "1s",
            ValueType::Path => "a\0b",
            ValueType::List(item) => return wrong(item),
            ValueType::Text(_) => return None,
        })
    }

    /// Every setting of every catalogue: its documented default and a valid value pass; a value
    /// of another type fails, and loading a file with it reports an invalid value naming the
    /// type (Neo4j starts with its own defaults, so no default may fail).
    #[test]
    fn each_default_passes_and_a_wrong_value_fails_naming_the_type() {
        use crate::config::{Config, ConfigDiagnosticKind};
        let mut checked = 0;
        for version in Neo4jVersion::all() {
            let target = Neo4jTarget {
                version,
                edition: Edition::Enterprise,
            };
            for s in version.catalogue().settings() {
                let name = s
                    .name
                    .replace("<scope>", "bolt")
                    .replace("<provider>", "okta");
                let default = s.default.trim();
                if !default.is_empty() {
                    assert_eq!(s.value_type.check(default), Ok(()), "{name}={default}");
                }
                let valid = example(&s.value_type);
                assert_eq!(s.value_type.check(&valid), Ok(()), "{name}={valid}");
                let Some(wrong) = wrong(&s.value_type) else {
                    continue;
                };
                assert!(s.value_type.check(wrong).is_err(), "{name}={wrong}");
                if crate::config::keys::is_read(&name) {
                    continue; // tagroute's own readers report these (their tests say how)
                }
                let source = format!("{name}={wrong}\n");
                let errors = Config::parse_for(
                    &source,
                    Path::new("c"),
                    crate::syntax::Strictness::Default,
                    target,
                )
                .expect_err(&source);
                let error = &errors.errors()[0];
                assert_eq!(error.kind, ConfigDiagnosticKind::InvalidValue, "{source}");
                let described = format!("({})", s.value_type.describe());
                assert!(error.message.contains(&described), "{}", error.message);
                checked += 1;
            }
        }
        assert!(checked > 400, "{checked}");
    }

    #[test]
    fn values_as_neo4j_parses_them() {
        let byte = ValueType::ByteSize {
            min: Some(1024),
            max: None,
            or: None,
        };
        assert!(byte.check("250.00MiB").is_ok() && byte.check("1k").is_ok());
        assert!(byte.check("1kib").is_err(), "units are case-sensitive");
        assert_eq!(
            byte.check("512").unwrap_err(),
            "below the minimum 1024 bytes"
        );
        let int = ValueType::Integer {
            long: false,
            min: Some(1),
            max: Some(100),
        };
        assert!(int.check("100").is_ok() && int.check("+5").is_ok());
        assert!(
            int.check("2147483648").is_err()
                && int.check("1.5").is_err()
                && int.check("0").is_err()
        );
        assert!(
            ValueType::Boolean.check("TRUE").is_ok() && ValueType::Boolean.check("yes").is_err()
        );
        let address = ValueType::SocketAddress;
        for ok in [":7687", "0.0.0.0", "host:1", "[::1]:7687", "::1"] {
            assert!(address.check(ok).is_ok(), "{ok}");
        }
        assert!(address.check("host:port").is_err() && address.check("").is_err());
        assert!(ValueType::Hostname.check("h:1").is_err());
        assert!(
            ValueType::Timezone.check("+02:00").is_ok()
                && ValueType::Timezone.check("Europe/Stockholm").is_ok()
        );
        let list = ValueType::List(Box::new(ValueType::Tag));
        assert!(list.check("a, b,,c").is_ok() && list.check("a,b c").is_err());
    }

    #[test]
    fn migrations_and_44_names() {
        assert_eq!(
            migration("dbms.memory.heap.max_size"),
            Some(Migration::Renamed("server.memory.heap.max_size".into()))
        );
        assert_eq!(
            migration("dbms.connector.https.type"),
            Some(Migration::Removed)
        );
        assert_eq!(
            migration("dbms.connector.https.enabled"),
            Some(Migration::Renamed("server.https.enabled".into()))
        );
        assert_eq!(
            migration("unsupported.dbms.ssl.system.ignore_dot_files"),
            Some(Migration::Renamed(
                "internal.dbms.ssl.system.ignore_dot_files".into()
            ))
        );
        assert_eq!(migration("dbms.allow_upgrade"), Some(Migration::Removed));
        assert_eq!(migration("server.memory.heap.max_size"), None);
        assert!(is_neo4j_44_setting("dbms.mode"));
        assert!(!is_neo4j_44_setting("server.memory.heap.max_size"));
    }
}
