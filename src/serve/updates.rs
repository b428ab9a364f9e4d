//! The admin listener's JSON: a snapshot as DESIGN section 4 writes a topology (plus its
//! epoch), and a batch of updates.
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

use serde_json::{Map, Value, json};

use crate::topology::{
    DatabaseSpec, ServerSpec, Snapshot, TopologyError, TopologyErrorKind as Kind, Update, from_json,
};

/// The kinds of update, as `op` spells them.
const OPS: &str = "set_available, set_tags, set_leader, add_server, remove_server, set_database, \
                   remove_database";

/// A snapshot as `{"epoch": N, "servers": [...], "databases": [...]}`.
pub fn snapshot_json(snapshot: &Snapshot) -> Value {
    let spec = snapshot.to_spec();
    let servers: Vec<Value> = spec.servers.iter().map(server_json).collect();
    let databases: Vec<Value> = spec.databases.iter().map(database_json).collect();
    json!({ "epoch": snapshot.epoch(), "servers": servers, "databases": databases })
}

fn server_json(server: &ServerSpec) -> Value {
    json!({
        "name": server.name,
        "address": server.address,
        "tags": server.tags,
        "available": server.available,
    })
}

fn database_json(db: &DatabaseSpec) -> Value {
    json!({
        "name": db.name,
        "primaries": db.primaries,
        "secondaries": db.secondaries,
        "leader": db.leader,
    })
}

/// Reads a batch of updates.
pub fn parse_updates(text: &str) -> Result<Vec<Update>, TopologyError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| TopologyError::new("", Kind::Syntax(e.to_string())))?;
    let Value::Array(items) = value else {
        return Err(TopologyError::new("", Kind::WrongType("a list of updates")));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| update(item, &format!("updates[{i}]")))
        .collect()
}

fn update(value: &Value, field: &str) -> Result<Update, TopologyError> {
    let fields = value
        .as_object()
        .ok_or_else(|| TopologyError::new(field, Kind::WrongType("an object")))?;
    let op = string(fields, field, "op")?;
    let known = |keys: &[&str]| only(fields, field, keys);
    match op.as_str() {
        "set_available" => {
            known(&["op", "server", "available"])?;
            let available = fields
                .get("available")
                .ok_or_else(|| missing(field, "available"))?
                .as_bool()
                .ok_or_else(|| wrong(field, "available", "true or false"))?;
            let server = string(fields, field, "server")?;
            Ok(Update::SetAvailable { server, available })
        }
        "set_tags" => {
            known(&["op", "server", "tags"])?;
            let server = string(fields, field, "server")?;
            let tags = strings(fields, field, "tags")?;
            Ok(Update::SetTags { server, tags })
        }
        "set_leader" => {
            known(&["op", "database", "leader"])?;
            let database = string(fields, field, "database")?;
            let leader = match fields.get("leader") {
                None => return Err(missing(field, "leader")),
                Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(wrong(field, "leader", "a server name or null")),
            };
            Ok(Update::SetLeader { database, leader })
        }
        "add_server" => {
            known(&["op", "server"])?;
            let spec = embedded(fields, field, "server", "servers")?;
            let server = spec.servers.into_iter().next();
            server
                .map(Update::AddServer)
                .ok_or_else(|| missing(field, "server"))
        }
        "remove_server" => {
            known(&["op", "server"])?;
            let server = string(fields, field, "server")?;
            Ok(Update::RemoveServer { server })
        }
        "set_database" => {
            known(&["op", "database"])?;
            let spec = embedded(fields, field, "database", "databases")?;
            let database = spec.databases.into_iter().next();
            database
                .map(Update::SetDatabase)
                .ok_or_else(|| missing(field, "database"))
        }
        "remove_database" => {
            known(&["op", "database"])?;
            let database = string(fields, field, "database")?;
            Ok(Update::RemoveDatabase { database })
        }
        other => Err(TopologyError::new(
            format!("{field}.op"),
            Kind::UnknownField(format!("{OPS}; got `{other}`")),
        )),
    }
}

/// A server or database object, read by the topology's own JSON reader (so it accepts exactly
/// what a topology file does), its error paths moved to where the object sits in the batch.
fn embedded(
    fields: &Map<String, Value>,
    field: &str,
    key: &str,
    list: &str,
) -> Result<crate::topology::TopologySpec, TopologyError> {
    let value = fields.get(key).ok_or_else(|| missing(field, key))?;
    let wrapper = match list {
        "servers" => json!({ "servers": [value] }),
        _ => json!({ "servers": [], "databases": [value] }),
    };
    from_json(&wrapper.to_string()).map_err(|e| {
        let inner = format!("{list}[0]");
        let moved = e.field().strip_prefix(&inner).map_or_else(
            || format!("{field}.{key}"),
            |rest| format!("{field}.{key}{rest}"),
        );
        TopologyError::new(moved, e.kind().clone())
    })
}

fn only(fields: &Map<String, Value>, field: &str, keys: &[&str]) -> Result<(), TopologyError> {
    match fields.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(unknown) => Err(TopologyError::new(
            format!("{field}.{unknown}"),
            Kind::UnknownField(keys.join(", ")),
        )),
        None => Ok(()),
    }
}

fn string(fields: &Map<String, Value>, field: &str, key: &str) -> Result<String, TopologyError> {
    match fields.get(key) {
        None => Err(missing(field, key)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(wrong(field, key, "a string")),
    }
}

fn strings(
    fields: &Map<String, Value>,
    field: &str,
    key: &str,
) -> Result<Vec<String>, TopologyError> {
    let Some(value) = fields.get(key) else {
        return Err(missing(field, key));
    };
    let items = value
        .as_array()
        .ok_or_else(|| wrong(field, key, "an array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_owned).ok_or_else(|| {
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
    use crate::topology::{TagInterner, TopologySpec};

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
                }),
                Update::RemoveDatabase {
                    database: "orders".into()
                },
            ]
        );
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
            Err(format!(
                "updates[1].op: unknown field (expected one of {OPS}; got `set_avail`)"
            ))
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
