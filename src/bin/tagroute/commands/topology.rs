//! `tagroute topology import --servers FILE --databases FILE`: the topology JSON of docs/topology.md
//! from the records of `SHOW SERVERS YIELD *` and
//! `SHOW DATABASES YIELD *`, each a JSON list of records or CSV; or, with `--from URI`, from one
//! poll of the live cluster. The topology goes to stdout, the records left out (with why), the
//! aliases and the default database to stderr; a topology that would not load fails (exit 1).

use std::path::Path;

use tagroute::topology::import::{Imported, Record, import, read_records};
use tagroute::topology::{Snapshot, TagInterner, to_json};

use super::read;
use crate::args::{ImportArgs, TopologyArgs, TopologyCommand};
use crate::report::{Console, Failure};

pub fn run(args: &TopologyArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    match &args.command {
        TopologyCommand::Import(import_args) => {
            let imported = match (
                &import_args.from,
                &import_args.servers,
                &import_args.databases,
            ) {
                (Some(uri), _, _) => from_cluster(uri, import_args, console)?,
                (None, Some(servers), Some(databases)) => {
                    import(&records(servers)?, &records(databases)?)
                        .map_err(|e| Failure::Invalid(format!("import: {e}")))?
                }
                _ => {
                    return Err(Failure::Invalid(
                        "give --servers and --databases, or --from".into(),
                    ));
                }
            };
            for note in &imported.notes {
                writeln!(console.err, "note: {note}")?;
            }
            for db in &imported.spec.databases {
                for alias in &db.aliases {
                    writeln!(console.err, "note: alias `{alias}` routes as `{}`", db.name)?;
                }
                if db.default {
                    writeln!(console.err, "note: the default database is `{}`", db.name)?;
                }
            }
            Snapshot::build(&imported.spec, &TagInterner::new())
                .map_err(|e| Failure::Invalid(format!("the imported topology is invalid: {e}")))?;
            console.json(&to_json(&imported.spec))
        }
    }
}

/// One poll of the cluster `uri`.
#[cfg(feature = "serve")]
fn from_cluster(
    uri: &str,
    args: &ImportArgs,
    console: &mut Console<'_>,
) -> Result<Imported, Failure> {
    use tagroute::follow::Follower;

    let settings = super::cluster(
        "--from",
        uri,
        args.tls_ca.as_deref(),
        args.user.as_deref(),
        args.password_file.as_deref(),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let polled = runtime.block_on(async {
        let mut follower = Follower::new(settings);
        let polled = follower.poll().await;
        follower.close().await;
        polled
    });
    let polled = polled.map_err(|e| Failure::Invalid(format!("--from: {e}")))?;
    writeln!(
        console.err,
        "note: read from {} (Bolt {})",
        polled.server, polled.version
    )?;
    Ok(polled.imported)
}

#[cfg(not(feature = "serve"))]
fn from_cluster(_: &str, _: &ImportArgs, _: &mut Console<'_>) -> Result<Imported, Failure> {
    Err(Failure::Invalid(
        "--from needs a tagroute built with the `serve` feature".into(),
    ))
}

fn records(path: &Path) -> Result<Vec<Record>, Failure> {
    read_records(&read(path)?).map_err(|e| Failure::Invalid(format!("{}: {e}", path.display())))
}
