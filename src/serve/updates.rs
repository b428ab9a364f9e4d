//! The admin listener's JSON: a snapshot as a topology file writes it (plus its epoch), and a
//! batch of updates.
//!
//! A batch is a JSON list; each item names its kind in `op`:
//!
//! ```json
//! [{"op": "set_available", "server": "r1", "available": false},
//!  {"op": "set_tags", "server": "r2", "tags": ["north", "north1"]},
//!  {"op": "set_leader", "database": "neo4j", "leader": "p2"},
//!  {"op": "add_server", "server": {"name": "r9", "address": "r9.example.com:7687", "tags": ["south"]}},
//!  {"op": "remove_server", "server": "r3"},
//!  {"op": "set_database", "database": {"name": "orders", "primaries": ["p1"], "leader": "p1"}},
//!  {"op": "remove_database", "database": "orders"}]
//! ```
//!
//! Every error names its field (`updates[1].tags[0]: expected a string`); a batch is read whole
//! before anything is applied, and applied as one new snapshot or not at all.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::topology::{
    Snapshot, TopologyError, TopologyErrorKind as Kind, Update, database_json, from_json,
    server_json, to_json,
};

/// A snapshot as `{"epoch": N, "servers": [...], "databases": [...]}`.
pub fn snapshot_json(snapshot: &Snapshot) -> Value {
    let mut value = to_json(&snapshot.to_spec());
    if let Some(map) = value.as_object_mut() {
        map.insert("epoch".into(), json!(snapshot.epoch()));
    }
    value
}

/// The kind of an update as `op` names it: `set_available`, `set_tags`, `set_leader`,
/// `add_server`, `remove_server`, `set_database`, `remove_database`.
pub fn op(update: &Update) -> &'static str {
    match update {
        Update::SetAvailable { .. } => "set_available",
        Update::SetTags { .. } => "set_tags",
        Update::SetLeader { .. } => "set_leader",
        Update::AddServer(_) => "add_server",
        Update::RemoveServer { .. } => "remove_server",
        Update::SetDatabase(_) => "set_database",
        Update::RemoveDatabase { .. } => "remove_database",
    }
}

/// An update in the form [`parse_updates`] reads.
pub fn update_json(update: &Update) -> Value {
    match update {
        Update::SetAvailable { server, available } => {
            json!({"op": "set_available", "server": server, "available": available})
        }
        Update::SetTags { server, tags } => {
            json!({"op": "set_tags", "server": server, "tags": tags})
        }
        Update::SetLeader { database, leader } => {
            json!({"op": "set_leader", "database": database, "leader": leader})
        }
        Update::AddServer(spec) => json!({"op": "add_server", "server": server_json(spec)}),
        Update::RemoveServer { server } => json!({"op": "remove_server", "server": server}),
        Update::SetDatabase(spec) => json!({"op": "set_database", "database": database_json(spec)}),
        Update::RemoveDatabase { database } => {
            json!({"op": "remove_database", "database": database})
        }
    }
}

/// Reads a batch of updates.
///
/// It is read as strictly as a topology file: a key given twice is an error naming it
/// (`updates[0].server: key given twice`) instead of one value silently winning, an unknown key
/// is an error, and a server or database object is read by the topology file's own reader. A
/// number is never converted (no field takes one), so a huge one is just of the wrong type.
pub fn parse_updates(text: &str) -> Result<Vec<Update>, TopologyError> {
    let batch: &RawValue = serde_json::from_str(text).map_err(syntax)?;
    if !batch.get().starts_with('[') {
        return Err(TopologyError::new("", Kind::WrongType("a list of updates")));
    }
    let items: Vec<&RawValue> = serde_json::from_str(batch.get()).map_err(syntax)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| update(item, &format!("updates[{i}]")))
        .collect()
}

fn syntax(e: serde_json::Error) -> TopologyError {
    TopologyError::new("", Kind::Syntax(e.to_string()))
}

/// An object's entries as written, duplicates kept, each value still text.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries<'de>, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

impl<'a> Entries<'a> {
    /// Reads `raw` as an object; `field` names it.
    fn read(raw: &'a RawValue, field: &str) -> Result<Entries<'a>, TopologyError> {
        serde_json::from_str(raw.get())
            .map_err(|_| TopologyError::new(field, Kind::WrongType("an object")))
    }

    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Every key in `known`, and none twice: in one pass, since at most `known.len()` keys
    /// are ever seen.
    fn check(&self, field: &str, known: &[&str]) -> Result<(), TopologyError> {
        let mut seen: Vec<&str> = Vec::with_capacity(known.len());
        for (key, _) in &self.0 {
            let at = || format!("{field}.{key}");
            if !known.contains(&key.as_str()) {
                return Err(TopologyError::new(
                    at(),
                    Kind::UnknownField(known.join(", ")),
                ));
            }
            if seen.contains(&key.as_str()) {
                return Err(TopologyError::new(at(), Kind::DuplicateKey));
            }
            seen.push(key);
        }
        Ok(())
    }
}

/// Each kind of update as `op` spells it, with the keys it takes.
const KEYS: &[(&str, &[&str])] = &[
    ("set_available", &["op", "server", "available"]),
    ("set_tags", &["op", "server", "tags"]),
    ("set_leader", &["op", "database", "leader"]),
    ("add_server", &["op", "server"]),
    ("remove_server", &["op", "server"]),
    ("set_database", &["op", "database"]),
    ("remove_database", &["op", "database"]),
];

fn update(raw: &RawValue, field: &str) -> Result<Update, TopologyError> {
    let fields = Entries::read(raw, field)?;
    let op = string(&fields, field, "op")?;
    let Some((_, keys)) = KEYS.iter().find(|(name, _)| *name == op) else {
        return Err(unknown_op(field, &op));
    };
    fields.check(field, keys)?;
    match op.as_str() {
        "set_available" => {
            let available = match raw_of(&fields, field, "available")?.get() {
                "true" => true,
                "false" => false,
                _ => return Err(wrong(field, "available", "true or false")),
            };
            let server = string(&fields, field, "server")?;
            Ok(Update::SetAvailable { server, available })
        }
        "set_tags" => {
            let server = string(&fields, field, "server")?;
            let tags = strings(&fields, field, "tags")?;
            Ok(Update::SetTags { server, tags })
        }
        "set_leader" => {
            let database = string(&fields, field, "database")?;
            let leader = match raw_of(&fields, field, "leader")?.get() {
                "null" => None,
                _ => Some(
                    string(&fields, field, "leader")
                        .map_err(|_| wrong(field, "leader", "a server name or null"))?,
                ),
            };
            Ok(Update::SetLeader { database, leader })
        }
        "add_server" => {
            let spec = embedded(&fields, field, "server", "servers")?;
            let server = spec.servers.into_iter().next();
            server
                .map(Update::AddServer)
                .ok_or_else(|| missing(field, "server"))
        }
        "remove_server" => {
            let server = string(&fields, field, "server")?;
            Ok(Update::RemoveServer { server })
        }
        "set_database" => {
            let spec = embedded(&fields, field, "database", "databases")?;
            let database = spec.databases.into_iter().next();
            database
                .map(Update::SetDatabase)
                .ok_or_else(|| missing(field, "database"))
        }
        "remove_database" => {
            let database = string(&fields, field, "database")?;
            Ok(Update::RemoveDatabase { database })
        }
        other => Err(unknown_op(field, other)),
    }
}

fn unknown_op(field: &str, op: &str) -> TopologyError {
    let ops: Vec<&str> = KEYS.iter().map(|(name, _)| *name).collect();
    TopologyError::new(
        format!("{field}.op"),
        Kind::UnknownField(format!("{}; got `{op}`", ops.join(", "))),
    )
}

/// A server or database object, read by the topology's own JSON reader from its text as
/// written (so it accepts exactly what a topology file does, and refuses a key given twice),
/// its error paths moved to where the object sits in the batch.
fn embedded(
    fields: &Entries<'_>,
    field: &str,
    key: &str,
    list: &str,
) -> Result<crate::topology::TopologySpec, TopologyError> {
    let value = raw_of(fields, field, key)?.get();
    let wrapper = match list {
        "servers" => format!("{{\"servers\": [{value}]}}"),
        _ => format!("{{\"servers\": [], \"databases\": [{value}]}}"),
    };
    from_json(&wrapper).map_err(|e| {
        let inner = format!("{list}[0]");
        let moved = e.field().strip_prefix(&inner).map_or_else(
            || format!("{field}.{key}"),
            |rest| format!("{field}.{key}{rest}"),
        );
        TopologyError::new(moved, e.kind().clone())
    })
}

fn raw_of<'a>(fields: &Entries<'a>, field: &str, key: &str) -> Result<&'a RawValue, TopologyError> {
    fields.get(key).ok_or_else(|| missing(field, key))
}

fn string(fields: &Entries<'_>, field: &str, key: &str) -> Result<String, TopologyError> {
    serde_json::from_str(raw_of(fields, field, key)?.get())
        .map_err(|_| wrong(field, key, "a string"))
}

fn strings(fields: &Entries<'_>, field: &str, key: &str) -> Result<Vec<String>, TopologyError> {
    let items: Vec<&RawValue> = serde_json::from_str(raw_of(fields, field, key)?.get())
        .map_err(|_| wrong(field, key, "an array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_str(v.get()).map_err(|_| {
                TopologyError::new(format!("{field}.{key}[{i}]"), Kind::WrongType("a string"))
            })
        })
        .collect()
}

fn missing(field: &str, key: &str) -> TopologyError {
    TopologyError::new(format!("{field}.{key}"), Kind::MissingField)
}

fn wrong(field: &str, key: &str, expected: &'static str) -> TopologyError {
    TopologyError::new(format!("{field}.{key}"), Kind::WrongType(expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{DatabaseSpec, ServerSpec, TagInterner, TopologySpec};

    #[test]
    fn every_kind_of_update_reads_from_its_documented_form() {
        let updates = parse_updates(
            r#"[{"op": "set_available", "server": "r1", "available": false},
                {"op": "set_tags", "server": "r2", "tags": ["north"]},
                {"op": "set_leader", "database": "neo4j", "leader": null},
                {"op": "add_server", "server": {"name": "r9", "address": "r9:7687", "tags": ["south"]}},
                {"op": "remove_server", "server": "r3"},
                {"op": "set_database", "database": {"name": "orders", "primaries": ["p1"], "leader": "p1"}},
                {"op": "remove_database", "database": "orders"}]"#,
        )
        .expect("valid");
        assert_eq!(
            updates,
            vec![
                Update::SetAvailable {
                    server: "r1".into(),
                    available: false
                },
                Update::SetTags {
                    server: "r2".into(),
                    tags: vec!["north".into()]
                },
                Update::SetLeader {
                    database: "neo4j".into(),
                    leader: None
                },
                Update::AddServer(ServerSpec::new("r9", "r9:7687").with_tags(["south"])),
                Update::RemoveServer {
                    server: "r3".into()
                },
                Update::SetDatabase(DatabaseSpec {
                    name: "orders".into(),
                    primaries: vec!["p1".into()],
                    secondaries: vec![],
                    leader: Some("p1".into()),
                    ..DatabaseSpec::default()
                }),
                Update::RemoveDatabase {
                    database: "orders".into()
                },
            ]
        );
    }

    #[test]
    fn every_kind_of_update_writes_the_form_it_reads_from() {
        let updates = parse_updates(
            r#"[{"op": "set_available", "server": "r1", "available": false},
                {"op": "set_tags", "server": "r2", "tags": ["north"]},
                {"op": "set_leader", "database": "neo4j", "leader": null},
                {"op": "set_leader", "database": "neo4j", "leader": "p1"},
                {"op": "add_server", "server": {"name": "r9", "address": "r9:7687", "tags": ["south"]}},
                {"op": "remove_server", "server": "r3"},
                {"op": "set_database", "database": {"name": "orders", "primaries": ["p1"], "leader": "p1", "aliases": ["shop"], "default": true}},
                {"op": "remove_database", "database": "orders"}]"#,
        )
        .expect("valid");
        let written: Vec<Value> = updates.iter().map(update_json).collect();
        let text = serde_json::to_string(&written).expect("serializes");
        assert_eq!(parse_updates(&text), Ok(updates));
    }

    #[test]
    fn errors_name_the_update_and_field() {
        let error = |text: &str| parse_updates(text).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            error(r#"{"op": "x"}"#),
            Err("expected a list of updates".into())
        );
        assert_eq!(
            error(
                r#"[{"op": "set_available", "server": "a", "available": true}, {"op": "set_avail"}]"#
            ),
            Err(
                "updates[1].op: unknown field (expected one of set_available, set_tags, \
                 set_leader, add_server, remove_server, set_database, remove_database; got \
                 `set_avail`)"
                    .into()
            )
        );
        assert_eq!(
            error(r#"[{"op": "set_tags", "server": "a", "tags": ["x", 1]}]"#),
            Err("updates[0].tags[1]: expected a string".into())
        );
        assert_eq!(
            error(r#"[{"op": "set_available", "server": "a", "availble": true}]"#),
            Err(
                "updates[0].availble: unknown field (expected one of op, server, available)".into()
            )
        );
        assert_eq!(
            error(r#"[{"op": "add_server", "server": {"name": "b"}}]"#),
            Err("updates[0].server.address: missing field".into())
        );
        assert_eq!(
            error(r#"[{"op": "set_database", "database": {"name": "d", "primaries": [3]}}]"#),
            Err("updates[0].database.primaries[0]: expected a string".into())
        );
        assert!(error("[").is_err_and(|e| e.starts_with("invalid JSON: EOF")));
    }

    #[test]
    fn a_snapshot_reads_back_as_the_topology_it_came_from() {
        let spec = TopologySpec {
            servers: vec![
                ServerSpec::new("a", "a:7687").with_tags(["north"]),
                ServerSpec::new("b", "b:7687").with_available(false),
            ],
            databases: vec![DatabaseSpec {
                name: "neo4j".into(),
                primaries: vec!["a".into()],
                secondaries: vec!["b".into()],
                leader: Some("a".into()),
                ..DatabaseSpec::default()
            }],
        };
        let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid");
        let mut value = snapshot_json(&snapshot);
        assert_eq!(value["epoch"], 0);
        if let Some(map) = value.as_object_mut() {
            map.remove("epoch");
        }
        assert_eq!(from_json(&value.to_string()), Ok(spec));
    }
}
