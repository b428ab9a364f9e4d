//! The JSON form of a topology (docs/topology.md), read field by field so that every error
//! names the field at fault: `servers[3].available: expected true or false`.
//!
//! The text is parsed by serde_json into a small tree of our own ([`Value`]) whose objects
//! keep every key in order, so a key given twice is an error naming it
//! (`servers[0].name: key given twice`) instead of one value silently winning.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::{TopologyError, TopologyErrorKind as Kind};
use super::spec::{DatabaseSpec, ServerSpec, TopologySpec};

/// Reads a topology from its JSON form. Only the shape is checked here; names, tags and
/// references are checked when a snapshot is built from the result.
pub fn from_json(text: &str) -> Result<TopologySpec, TopologyError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| TopologyError::new("", Kind::Syntax(e.to_string())))?;
    let top = object(&value, "", &["servers", "databases"])?;
    let servers = list(top, "", "servers", true)?
        .iter()
        .enumerate()
        .map(|(i, v)| server(v, &format!("servers[{i}]")))
        .collect::<Result<_, _>>()?;
    let databases = list(top, "", "databases", false)?
        .iter()
        .enumerate()
        .map(|(i, v)| database(v, &format!("databases[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(TopologySpec { servers, databases })
}

/// The JSON form of a topology, as [`from_json`] reads it: a database's `aliases` and `default`
/// are written only when it has some or is the default.
///
/// ```
/// use tagroute::topology::{from_json, to_json};
///
/// let text = r#"{"servers": [{"name": "a", "address": "a:7687"}],
///                "databases": [{"name": "neo4j", "primaries": ["a"], "default": true}]}"#;
/// let spec = from_json(text)?;
/// assert_eq!(from_json(&to_json(&spec).to_string())?, spec);
/// # Ok::<(), tagroute::topology::TopologyError>(())
/// ```
pub fn to_json(spec: &TopologySpec) -> serde_json::Value {
    let servers: Vec<serde_json::Value> = spec.servers.iter().map(server_json).collect();
    let databases: Vec<serde_json::Value> = spec.databases.iter().map(database_json).collect();
    serde_json::json!({ "servers": servers, "databases": databases })
}

/// A server's JSON form.
pub fn server_json(server: &ServerSpec) -> serde_json::Value {
    serde_json::json!({
        "name": server.name,
        "address": server.address,
        "tags": server.tags,
        "available": server.available,
    })
}

/// A database's JSON form.
pub fn database_json(db: &DatabaseSpec) -> serde_json::Value {
    let mut value = serde_json::json!({
        "name": db.name,
        "primaries": db.primaries,
        "secondaries": db.secondaries,
        "leader": db.leader,
    });
    if let Some(map) = value.as_object_mut() {
        if !db.aliases.is_empty() {
            map.insert("aliases".into(), serde_json::json!(db.aliases));
        }
        if db.default {
            map.insert("default".into(), serde_json::Value::Bool(true));
        }
    }
    value
}

fn server(value: &Value, field: &str) -> Result<ServerSpec, TopologyError> {
    let fields = object(value, field, &["name", "address", "tags", "available"])?;
    Ok(ServerSpec {
        name: string(fields, field, "name")?,
        address: string(fields, field, "address")?,
        tags: strings(fields, field, "tags")?,
        available: match fields.get("available") {
            None => true,
            Some(Value::Bool(up)) => *up,
            Some(_) => return Err(wrong(field, "available", "true or false")),
        },
    })
}

fn database(value: &Value, field: &str) -> Result<DatabaseSpec, TopologyError> {
    let fields = object(
        value,
        field,
        &[
            "name",
            "primaries",
            "secondaries",
            "leader",
            "aliases",
            "default",
        ],
    )?;
    Ok(DatabaseSpec {
        name: string(fields, field, "name")?,
        primaries: strings(fields, field, "primaries")?,
        secondaries: strings(fields, field, "secondaries")?,
        leader: match fields.get("leader") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(wrong(field, "leader", "a server name or null")),
        },
        aliases: strings(fields, field, "aliases")?,
        default: match fields.get("default") {
            None => false,
            Some(Value::Bool(default)) => *default,
            Some(_) => return Err(wrong(field, "default", "true or false")),
        },
    })
}

fn object<'v>(value: &'v Value, field: &str, known: &[&str]) -> Result<Map<'v>, TopologyError> {
    let Value::Object(entries) = value else {
        return Err(TopologyError::new(field, Kind::WrongType("an object")));
    };
    let mut seen: Vec<&str> = Vec::with_capacity(known.len());
    for (key, _) in entries {
        if !known.contains(&key.as_str()) {
            let kind = Kind::UnknownField(known.join(", "));
            return Err(TopologyError::new(join(field, key), kind));
        }
        // At most `known.len()` keys are ever in `seen`, so this stays linear.
        if seen.contains(&key.as_str()) {
            return Err(TopologyError::new(join(field, key), Kind::DuplicateKey));
        }
        seen.push(key);
    }
    Ok(Map(entries))
}

/// An object's entries, every key known and given once.
#[derive(Clone, Copy)]
struct Map<'v>(&'v [(String, Value)]);

impl<'v> Map<'v> {
    fn get(&self, key: &str) -> Option<&'v Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn list<'v>(
    map: Map<'v>,
    field: &str,
    key: &str,
    required: bool,
) -> Result<&'v [Value], TopologyError> {
    match map.get(key) {
        None if required => Err(TopologyError::new(join(field, key), Kind::MissingField)),
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(wrong(field, key, "an array")),
    }
}

fn string(map: Map<'_>, field: &str, key: &str) -> Result<String, TopologyError> {
    match map.get(key) {
        None => Err(TopologyError::new(join(field, key), Kind::MissingField)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(wrong(field, key, "a string")),
    }
}

fn strings(map: Map<'_>, field: &str, key: &str) -> Result<Vec<String>, TopologyError> {
    list(map, field, key, false)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_owned).ok_or_else(|| {
                TopologyError::new(
                    format!("{}[{i}]", join(field, key)),
                    Kind::WrongType("a string"),
                )
            })
        })
        .collect()
}

fn wrong(field: &str, key: &str, expected: &'static str) -> TopologyError {
    TopologyError::new(join(field, key), Kind::WrongType(expected))
}

fn join(field: &str, key: &str) -> String {
    if field.is_empty() {
        key.to_owned()
    } else {
        format!("{field}.{key}")
    }
}

/// A JSON value as read; objects keep every entry in order, duplicates included.
#[derive(Debug)]
enum Value {
    Null,
    Bool(bool),
    Number,
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Number)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Number)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Number)
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(Value::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Snapshot, TagInterner};

    fn error(text: &str) -> String {
        match from_json(text).and_then(|spec| Snapshot::build(&spec, &TagInterner::new())) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_documented_example_reads_with_its_defaults() {
        let spec = from_json(
            r#"{"servers": [{"name": "n1a", "address": "n1a.example.com:7687", "tags": ["north1", "north"]},
                            {"name": "s1", "address": "s1:7687", "available": false}],
                "databases": [{"name": "neo4j", "primaries": ["n1a"], "secondaries": ["s1"], "leader": "n1a"}]}"#,
        )
        .expect("valid");
        assert_eq!(spec.servers[0].tags, ["north1", "north"]);
        assert!(
            spec.servers[0].available
                && !spec.servers[1].available
                && spec.servers[1].tags.is_empty()
        );
        assert_eq!(spec.databases[0].leader.as_deref(), Some("n1a"));
    }

    #[test]
    fn every_error_names_its_field() {
        let server = |extra: &str| {
            format!(r#"{{"servers": [{{"name": "a", "address": "a:1"}}, {{{extra}}}]}}"#)
        };
        assert_eq!(
            error(&server(
                r#""name": "b", "address": "b:1", "availble": true"#
            )),
            "servers[1].availble: unknown field (expected one of name, address, tags, available)"
        );
        assert_eq!(
            error(&server(r#""address": "b:1""#)),
            "servers[1].name: missing field"
        );
        assert_eq!(
            error(&server(
                r#""name": "b", "address": "b:1", "available": "yes""#
            )),
            "servers[1].available: expected true or false"
        );
        assert_eq!(
            error(&server(r#""name": "a", "address": "b:1""#)),
            "servers[1].name: duplicate server name `a`"
        );
        assert_eq!(
            error(&server(r#""name": "b", "address": "a:1""#)),
            "servers[1].address: duplicate address `a:1`"
        );
        assert_eq!(
            error(&server(r#""name": "b", "address": "b""#)),
            "servers[1].address: `b` is not a `host:port` address"
        );
        assert_eq!(
            error(&server(
                r#""name": "b", "address": "b:1", "tags": ["x", "a b"]"#
            )),
            "servers[1].tags[1]: `a b` is not a valid tag (letters, digits, `_` and `-`, not `-` alone)"
        );
        assert_eq!(
            error(&server(
                r#""name": "b", "address": "b:1", "tags": ["x", "x"]"#
            )),
            "servers[1].tags[1]: tag `x` is listed twice"
        );
        let db = |body: &str| {
            format!(
                r#"{{"servers": [{{"name": "a", "address": "a:1"}}, {{"name": "b", "address": "b:1"}}], "databases": [{{"name": "d", {body}}}]}}"#
            )
        };
        assert_eq!(
            error(&db(r#""primaries": ["a", "c"]"#)),
            "databases[0].primaries[1]: unknown server `c`"
        );
        assert_eq!(
            error(&db(r#""primaries": ["a"], "secondaries": ["a"]"#)),
            "databases[0].secondaries[0]: server `a` is listed twice for this database"
        );
        assert_eq!(
            error(&db(
                r#""primaries": ["a"], "secondaries": ["b"], "leader": "b""#
            )),
            "databases[0].leader: leader `b` is not one of the database's primaries"
        );
        assert!(error("{").starts_with("invalid JSON: EOF while parsing"));
        assert_eq!(error("{}"), "servers: missing field");
    }

    #[test]
    fn aliases_and_the_default_database_read_and_are_checked_as_neo4j_names() {
        let two = |first: &str, second: &str| {
            format!(
                r#"{{"servers": [{{"name": "a", "address": "a:1"}}],
                    "databases": [{{"name": "neo4j", "primaries": ["a"], {first}}},
                                  {{"name": "sales", "primaries": ["a"], {second}}}]}}"#
            )
        };
        let spec = from_json(&two(
            r#""aliases": ["graph"], "default": true"#,
            r#""default": false"#,
        ))
        .expect("valid");
        assert_eq!(
            (&spec.databases[0].aliases[..], spec.databases[0].default),
            (&["graph".to_owned()][..], true)
        );
        assert!(spec.databases[1].aliases.is_empty() && !spec.databases[1].default);
        assert_eq!(from_json(&to_json(&spec).to_string()), Ok(spec));
        for (first, second, message) in [
            (
                r#""default": true"#,
                r#""default": true"#,
                "databases[1].default: `neo4j` is the default database already",
            ),
            (
                r#""aliases": ["Shop"]"#,
                r#""aliases": ["x", "SHOP"]"#,
                "databases[1].aliases[1]: the name `SHOP` is taken by another database or alias",
            ),
            (
                r#""aliases": ["Sales"]"#,
                r#""aliases": []"#,
                "databases[1].name: duplicate database name `sales`",
            ),
            (
                r#""aliases": ["a", "A"]"#,
                r#""aliases": []"#,
                "databases[0].aliases[1]: the name `A` is taken by another database or alias",
            ),
            (
                r#""aliases": "g""#,
                "",
                "databases[0].aliases: expected an array",
            ),
            (
                r#""default": 1"#,
                "",
                "databases[0].default: expected true or false",
            ),
        ] {
            let second = if second.is_empty() {
                r#""default": false"#
            } else {
                second
            };
            assert_eq!(error(&two(first, second)), message, "{first} / {second}");
        }
    }

    /// Issue 14: a duplicated key silently kept the last value.
    #[test]
    fn a_key_given_twice_is_an_error_naming_it() {
        assert_eq!(
            error(r#"{"servers": [{"name": "a", "address": "a:1", "name": "b"}]}"#),
            "servers[0].name: key given twice"
        );
        assert_eq!(
            error(r#"{"servers": [], "servers": [{"name": "a", "address": "a:1"}]}"#),
            "servers: key given twice"
        );
        assert_eq!(
            error(
                r#"{"servers": [{"name": "a", "address": "a:1"}], "databases": [{"name": "d", "leader": null, "leader": "a"}]}"#
            ),
            "databases[0].leader: key given twice"
        );
    }

    /// Issue 14: hosts with spaces or NUL were accepted.
    #[test]
    fn hosts_with_spaces_or_nul_are_rejected_with_the_field() {
        assert_eq!(
            error(r#"{"servers": [{"name": "a", "address": "a b:7687"}]}"#),
            "servers[0].address: `a b:7687` is not a `host:port` address"
        );
        assert_eq!(
            error(
                r#"{"servers": [{"name": "a", "address": "a:1"}, {"name": "b", "address": "b\u0000:7687"}]}"#
            ),
            "servers[1].address: `b\\0:7687` is not a `host:port` address"
        );
    }

    #[test]
    fn every_json_type_reads_and_nesting_is_bounded() {
        assert_eq!(
            error(r#"{"servers": [{"name": 1.5, "address": "a:1"}]}"#),
            "servers[0].name: expected a string"
        );
        assert_eq!(
            error(r#"{"servers": [{"name": "a", "address": "a:1", "tags": [true]}]}"#),
            "servers[0].tags[0]: expected a string"
        );
        assert_eq!(error(r#"{"servers": null}"#), "servers: expected an array");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(error(&deep).starts_with("invalid JSON: recursion limit exceeded"));
    }
}
