//! `tagroute whatif --down SPEC`: every routing table and secondary's upstream after a
//! failure, beside today's, as a readable diff or JSON.

use std::io::Write;

use serde_json::{Value, json};
use tagroute::resilience::{Domains, Outcome, TableChange, UpstreamChange, WhatIf};
use tagroute::rng::Rng;
use tagroute::topology::{ServerIdx, ServerSet, Snapshot};

use super::resilience::{Names, analysis, load_cluster, rule_json};
use crate::args::{Format, WhatifArgs};
use crate::report::{Console, Failure};

pub fn run(args: &WhatifArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let (snapshot, config) = load_cluster(&args.cluster, console)?;
    let analysis = analysis(&snapshot, &config, &args.cluster)?;
    let down = Domains::parse(&snapshot, args.down.iter().map(String::as_str))
        .map_err(|e| Failure::Invalid(format!("--down: {e}")))?;
    let seed = args.seed.unwrap_or_else(|| Rng::from_os().next_u64());
    let whatif = analysis
        .compare(&down, seed)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let names = Names::of(&snapshot);
    match args.format {
        Format::Json => console.json(&whatif_json(&whatif, &snapshot, &names)),
        Format::Text | Format::Html => diff(&whatif, &snapshot, &names, seed, console.out),
    }
}

fn table_json(outcome: &Outcome, names: &Names) -> Value {
    let writers = ServerSet::from_indices(outcome.readers().universe(), outcome.writer());
    json!({
        "rule": rule_json(outcome.answer()),
        "readers": names.list(outcome.readers()),
        "writers": names.list(&writers),
        "routers": names.list(outcome.routers()),
    })
}

fn name(snapshot: &Snapshot, server: ServerIdx) -> &str {
    snapshot.server(server).map_or("?", |s| s.name())
}

fn choice_json(choice: &Option<(String, ServerIdx)>, snapshot: &Snapshot) -> Value {
    match choice {
        Some((strategy, upstream)) => {
            json!({ "strategy": strategy, "upstream": name(snapshot, *upstream) })
        }
        None => Value::Null,
    }
}

fn whatif_json(whatif: &WhatIf, snapshot: &Snapshot, names: &Names) -> Value {
    let tables: Vec<Value> = whatif
        .tables()
        .iter()
        .map(|t| {
            json!({
                "db": t.database,
                "policy": t.policy,
                "before": table_json(&t.before, names),
                "after": table_json(&t.after, names),
                "changed": t.changed(),
            })
        })
        .collect();
    let upstreams: Vec<Value> = whatif
        .upstreams()
        .iter()
        .map(|u| {
            json!({
                "db": u.database,
                "server": name(snapshot, u.server),
                "before": choice_json(&u.before, snapshot),
                "after": choice_json(&u.after, snapshot),
                "changed": u.changed(),
            })
        })
        .collect();
    json!({
        "down": whatif.down(),
        "servers_down": names.list(whatif.servers_down()),
        "tables": tables,
        "upstreams": upstreams,
    })
}

/// The readable form: what changed, table by table, then the upstreams that moved.
fn diff(
    whatif: &WhatIf,
    snapshot: &Snapshot,
    names: &Names,
    seed: u64,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    writeln!(
        out,
        "down: {} (servers {})",
        whatif.down().join(", "),
        names.list(whatif.servers_down()).join(", ")
    )?;
    for table in whatif.tables() {
        table_diff(table, snapshot, names, out)?;
    }
    writeln!(
        out,
        "\ncatch-up upstreams (random choices seeded with {seed}, the same before and after):"
    )?;
    let mut moved = 0;
    for u in whatif.upstreams().iter().filter(|u| u.changed()) {
        moved += 1;
        upstream_diff(u, snapshot, out)?;
    }
    let kept = whatif.upstreams().len() - moved;
    writeln!(out, "  {kept} other secondaries keep their upstream")?;
    Ok(())
}

fn table_diff(
    table: &TableChange,
    snapshot: &Snapshot,
    names: &Names,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let (before, after) = (&table.before, &table.after);
    let title = format!("{}/{}", table.database, table.policy);
    if !table.changed() {
        writeln!(
            out,
            "\n{title}: unchanged ({}; readers {})",
            before.answer(),
            names.list(before.readers()).join(", ")
        )?;
        return Ok(());
    }
    let outage = if after.is_outage() {
        "  ** OUTAGE: no readers or no routers **"
    } else {
        ""
    };
    writeln!(
        out,
        "\n{title}: {} -> {}{outage}",
        before.answer(),
        after.answer()
    )?;
    set_diff("readers", before.readers(), after.readers(), names, out)?;
    match (before.writer(), after.writer()) {
        (Some(w), None) => writeln!(out, "  writer: {} lost", name(snapshot, w))?,
        (b, a) if b != a => writeln!(
            out,
            "  writer: {} -> {}",
            b.map_or("none", |w| name(snapshot, w)),
            a.map_or("none", |w| name(snapshot, w))
        )?,
        _ => {}
    }
    set_diff("routers", before.routers(), after.routers(), names, out)
}

/// `  readers: a, b -> b, c (lost a; gained c)`, or nothing when equal.
fn set_diff(
    role: &str,
    before: &ServerSet,
    after: &ServerSet,
    names: &Names,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    if before == after {
        return Ok(());
    }
    let minus = |a: &ServerSet, b: &ServerSet| {
        let mut d = a.clone();
        match d.subtract(b) {
            Ok(()) => names.list(&d).join(", "),
            Err(e) => e.to_string(),
        }
    };
    let (lost, gained) = (minus(before, after), minus(after, before));
    let mut what = Vec::new();
    if !lost.is_empty() {
        what.push(format!("lost {lost}"));
    }
    if !gained.is_empty() {
        what.push(format!("gained {gained}"));
    }
    let none = |s: String| if s.is_empty() { "none".to_owned() } else { s };
    writeln!(
        out,
        "  {role}: {} -> {} ({})",
        none(names.list(before).join(", ")),
        none(names.list(after).join(", ")),
        what.join("; ")
    )?;
    Ok(())
}

fn upstream_diff(
    u: &UpstreamChange,
    snapshot: &Snapshot,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let show = |c: &Option<(String, ServerIdx)>| match c {
        Some((strategy, upstream)) => format!("{} ({strategy})", name(snapshot, *upstream)),
        None => "NO UPSTREAM".to_owned(),
    };
    writeln!(
        out,
        "  {}/{}: {} -> {}",
        u.database,
        name(snapshot, u.server),
        show(&u.before),
        show(&u.after)
    )?;
    Ok(())
}
