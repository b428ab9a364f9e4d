//! The JSON form of a topology (DESIGN section 4), read field by field so that every error
//! names the field at fault: `servers[3].available: expected true or false`.

use serde_json::{Map, Value};

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

fn server(value: &Value, field: &str) -> Result<ServerSpec, TopologyError> {
    let fields = object(value, field, &["name", "address", "tags", "available"])?;
    Ok(ServerSpec {
        name: string(fields, field, "name")?,
        address: string(fields, field, "address")?,
        tags: strings(fields, field, "tags")?,
        available: match fields.get("available") {
            None => true,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| wrong(field, "available", "true or false"))?,
        },
    })
}

fn database(value: &Value, field: &str) -> Result<DatabaseSpec, TopologyError> {
    let fields = object(
        value,
        field,
        &["name", "primaries", "secondaries", "leader"],
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
    })
}

fn object<'v>(
    value: &'v Value,
    field: &str,
    known: &[&str],
) -> Result<&'v Map<String, Value>, TopologyError> {
    let map = value
        .as_object()
        .ok_or_else(|| TopologyError::new(field, Kind::WrongType("an object")))?;
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(TopologyError::new(
            join(field, unknown),
            Kind::UnknownField(known.join(", ")),
        ));
    }
    Ok(map)
}

fn list<'v>(
    map: &'v Map<String, Value>,
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

fn string(map: &Map<String, Value>, field: &str, key: &str) -> Result<String, TopologyError> {
    match map.get(key) {
        None => Err(TopologyError::new(join(field, key), Kind::MissingField)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(wrong(field, key, "a string")),
    }
}

fn strings(map: &Map<String, Value>, field: &str, key: &str) -> Result<Vec<String>, TopologyError> {
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
}
