//! `tagroute topology import --servers FILE --databases FILE`: the topology JSON of DESIGN
//! section 4 (docs/topology.md) from the records of `SHOW SERVERS YIELD *` and
//! `SHOW DATABASES YIELD *`, each a JSON list of records or CSV. The topology goes to stdout,
//! the records left out (with why) to stderr; a topology that would not load fails (exit 1).

use std::path::Path;

use serde_json::{Value, json};
use tagroute::topology::import::{Record, import, read_records};
use tagroute::topology::{Snapshot, TagInterner, TopologySpec};

use super::read;
use crate::args::{TopologyArgs, TopologyCommand};
use crate::report::{Console, Failure};

pub fn run(args: &TopologyArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    match &args.command {
        TopologyCommand::Import(import_args) => {
            let servers = records(&import_args.servers)?;
            let databases = records(&import_args.databases)?;
            let imported = import(&servers, &databases)
                .map_err(|e| Failure::Invalid(format!("import: {e}")))?;
            for note in &imported.notes {
                writeln!(console.err, "note: {note}")?;
            }
            Snapshot::build(&imported.spec, &TagInterner::new())
                .map_err(|e| Failure::Invalid(format!("the imported topology is invalid: {e}")))?;
            console.json(&to_json(&imported.spec))
        }
    }
}

fn records(path: &Path) -> Result<Vec<Record>, Failure> {
    read_records(&read(path)?).map_err(|e| Failure::Invalid(format!("{}: {e}", path.display())))
}

/// The JSON form that `--topology` reads.
fn to_json(spec: &TopologySpec) -> Value {
    let servers: Vec<Value> = spec
        .servers
        .iter()
        .map(|s| {
            json!({"name": s.name, "address": s.address, "tags": s.tags, "available": s.available})
        })
        .collect();
    let databases: Vec<Value> = spec
        .databases
        .iter()
        .map(|d| {
            json!({"name": d.name, "primaries": d.primaries, "secondaries": d.secondaries, "leader": d.leader})
        })
        .collect();
    json!({ "servers": servers, "databases": databases })
}
