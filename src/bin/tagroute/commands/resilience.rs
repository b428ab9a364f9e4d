//! `tagroute resilience`: every policy × database under every failure of up to K domains, as
//! text, JSON Lines or a self-contained HTML heatmap. The library sweeps; this only renders.

mod html;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};
use tagroute::Strictness;
use tagroute::config::Config;
use tagroute::resilience::{Analysis, Answer, Domains, Finding, Findings, Record, scenario_count};
use tagroute::topology::{ServerIdx, ServerSet, Snapshot, TagInterner};

use super::{demo, load_config, load_topology};
use crate::args::{ClusterArgs, Format, ResilienceArgs};
use crate::report::{Console, Failure};

pub fn run(args: &ResilienceArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let (snapshot, config) = load_cluster(&args.cluster, console)?;
    let analysis = analysis(&snapshot, &config, &args.cluster)?.load_alert(args.load_alert);
    let (domains, origin) = domains(args, &snapshot)?;
    let mut file;
    let mut stdout;
    let out: &mut dyn Write = match &args.out {
        Some(path) => {
            file =
                BufWriter::new(File::create(path).map_err(|e| {
                    Failure::Invalid(format!("cannot write {}: {e}", path.display()))
                })?);
            &mut file
        }
        None => {
            stdout = BufWriter::new(&mut *console.out);
            &mut stdout
        }
    };
    let header = Header {
        domains: &domains,
        origin,
        depth: args.depth,
        scenarios: scenario_count(domains.len(), args.depth),
    };
    match args.format {
        Format::Json => json_lines(&analysis, &header, out)?,
        Format::Text => text(&analysis, &header, out)?,
        Format::Html => html::page(&analysis, &header, out)?,
    }
    out.flush()?;
    Ok(())
}

/// What the sweep was over.
pub struct Header<'d> {
    pub domains: &'d Domains,
    pub origin: &'static str,
    pub depth: usize,
    pub scenarios: u64,
}

/// The snapshot and configuration of `--config`/`--topology`, or of `--demo`.
pub fn load_cluster(
    args: &ClusterArgs,
    console: &mut Console<'_>,
) -> Result<(Snapshot, Config), Failure> {
    match (&args.config, &args.topology) {
        (Some(config), Some(topology)) => {
            Ok((load_topology(topology)?, load_config(config, console)?))
        }
        _ => {
            let invalid = |e: &dyn std::fmt::Display| Failure::Invalid(e.to_string());
            let snapshot =
                Snapshot::build(&demo::cluster(), &TagInterner::new()).map_err(|e| invalid(&e))?;
            let config = Config::parse(demo::CONFIG, Path::new("demo.conf"), Strictness::Default)
                .map_err(|e| Failure::Invalid(e.render_all()))?;
            Ok((snapshot, config))
        }
    }
}

/// The analysis of the cluster, narrowed to `--db` and `--policy`, which must exist.
pub fn analysis<'s>(
    snapshot: &'s Snapshot,
    config: &Config,
    args: &ClusterArgs,
) -> Result<Analysis<'s>, Failure> {
    let mut analysis =
        Analysis::new(snapshot, config).map_err(|e| Failure::Invalid(e.to_string()))?;
    if let Some(db) = &args.db {
        if snapshot.database(db).is_none() {
            let known: Vec<&str> = snapshot.databases().iter().map(|d| d.name()).collect();
            return Err(Failure::Invalid(format!(
                "unknown database `{db}`; the databases are {}",
                known.join(", ")
            )));
        }
        analysis.retain_databases(|name| name == db);
    }
    if let Some(policy) = &args.policy {
        if !analysis.policies().any(|p| p == policy) {
            let known: Vec<&str> = analysis.policies().collect();
            return Err(Failure::Invalid(format!(
                "unknown policy `{policy}`; the policies are {}",
                known.join(", ")
            )));
        }
        analysis.retain_policies(|name| name == policy);
    }
    Ok(analysis)
}

fn domains(args: &ResilienceArgs, snapshot: &Snapshot) -> Result<(Domains, &'static str), Failure> {
    let invalid = |e: tagroute::resilience::DomainError| Failure::Invalid(e.to_string());
    if args.server_domains {
        Ok((Domains::servers(snapshot), "servers"))
    } else if let Some(pattern) = &args.domains_from {
        Ok((
            Domains::matching(snapshot, pattern).map_err(invalid)?,
            "tags matching the pattern",
        ))
    } else if !args.domains.is_empty() {
        let names = args.domains.iter().map(String::as_str);
        Ok((Domains::tags(snapshot, names).map_err(invalid)?, "tags"))
    } else {
        Ok((
            Domains::data_centers(snapshot).map_err(invalid)?,
            "data centers",
        ))
    }
}

/// The servers' names, sorted, with their JSON spelling: records list names in this order.
pub struct Names {
    /// Server indices in name order: small, so scanning it per record stays in cache.
    order: Vec<ServerIdx>,
    /// Per server index: the name, and the name as a JSON string.
    names: Vec<(String, String)>,
}

impl Names {
    pub fn of(snapshot: &Snapshot) -> Names {
        let names: Vec<(String, String)> = snapshot
            .servers()
            .iter()
            .map(|s| (s.name().to_owned(), Value::from(s.name()).to_string()))
            .collect();
        let mut order: Vec<ServerIdx> = (0..names.len()).filter_map(ServerIdx::new).collect();
        order.sort_by(|a, b| {
            let name = |i: &ServerIdx| names.get(i.index()).map(|n| n.0.as_str());
            name(a).cmp(&name(b))
        });
        Names { order, names }
    }

    /// The members of `set`, sorted by name: (index, name, name as a JSON string).
    pub fn sorted<'a>(
        &'a self,
        set: &'a ServerSet,
    ) -> impl Iterator<Item = (ServerIdx, &'a str, &'a str)> {
        self.order
            .iter()
            .filter(move |i| set.contains(**i))
            .filter_map(|&i| {
                let (name, quoted) = self.names.get(i.index())?;
                Some((i, name.as_str(), quoted.as_str()))
            })
    }

    pub fn list<'a>(&'a self, set: &'a ServerSet) -> Vec<&'a str> {
        self.sorted(set).map(|(_, n, _)| n).collect()
    }
}

/// The row of a record among the (database, policy) pairs: a sweep hands them out in the
/// same order in every scenario.
#[derive(Default)]
pub struct RowOf {
    scenario: Option<u64>,
    next: usize,
}

impl RowOf {
    pub fn of(&mut self, record: &Record<'_>) -> usize {
        let number = record.scenario().number();
        if self.scenario != Some(number) {
            self.scenario = Some(number);
            self.next = 0;
        }
        self.next += 1;
        self.next - 1
    }
}

/// `1`, `"implicit"` or `null`, as JSON.
pub fn rule_json(answer: Answer) -> Value {
    match answer {
        Answer::Rule(n) => json!(n),
        Answer::Implicit => json!("implicit"),
        Answer::Nothing => Value::Null,
    }
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "kind": f.kind().as_str(),
        "db": f.database(),
        "subject": f.subject(),
        "scenarios": f.scenarios(),
        "fewest": f.fewest(),
        "example": f.example(),
        "measure": f.measure(),
        "servers": f.servers(),
        "message": f.to_string(),
    })
}

/// The header, one object per record, then the findings: JSON Lines.
fn json_lines(
    analysis: &Analysis<'_>,
    header: &Header<'_>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let domains: Vec<&str> = header.domains.iter().map(|d| d.name()).collect();
    let head = json!({ "domains": domains, "depth": header.depth, "scenarios": header.scenarios });
    writeln!(out, "{head}")?;
    let names = Names::of(analysis.snapshot());
    let mut failed = None;
    let findings = analysis
        .sweep(header.domains, header.depth, |record| {
            if failed.is_none() {
                failed = write_record(record, header.domains, &names, out).err();
            }
        })
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let list: Vec<Value> = findings.iter().map(finding_json).collect();
    writeln!(out, "{}", json!({ "findings": list }))?;
    Ok(())
}

/// One record as a JSON line, written directly: a sweep's output is large, and building a
/// `Value` per record would cost more than the sweep.
fn write_record(
    record: &Record<'_>,
    domains: &Domains,
    names: &Names,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let outcome = record.outcome();
    let quote = |s: &str| Value::from(s).to_string();
    let down: Vec<String> = record.scenario().names(domains).map(quote).collect();
    write!(
        out,
        "{{\"down\":[{}],\"db\":{},\"policy\":{},\"rule\":{},",
        down.join(","),
        quote(record.database().name()),
        quote(record.policy()),
        rule_json(outcome.answer())
    )?;
    let list = |out: &mut dyn Write, key: &str, set: &ServerSet| -> std::io::Result<()> {
        write!(out, "\"{key}\":[")?;
        for (i, (_, _, quoted)) in names.sorted(set).enumerate() {
            write!(out, "{}{quoted}", if i == 0 { "" } else { "," })?;
        }
        write!(out, "],")
    };
    list(out, "readers", outcome.readers())?;
    let writers = ServerSet::from_indices(outcome.readers().universe(), outcome.writer());
    list(out, "writers", &writers)?;
    list(out, "routers", outcome.routers())?;
    write!(out, "\"outage\":{},\"regions\":[", record.is_outage())?;
    for (i, region) in record.regions().enumerate() {
        write!(out, "{}{}", if i == 0 { "" } else { "," }, quote(region))?;
    }
    write!(out, "],\"load\":{{")?;
    // Every reader has the same share, and every reader that read before the same growth:
    // each number is formatted once per record.
    let share = (1.0 / outcome.readers().len().max(1) as f64).to_string();
    for (i, (_, _, quoted)) in names.sorted(outcome.readers()).enumerate() {
        write!(out, "{}{quoted}:{share}", if i == 0 { "" } else { "," })?;
    }
    write!(out, "}},\"growth\":{{")?;
    let today = record.today().readers();
    let growth = record.growth().next().map_or(0.0, |(_, g)| g).to_string();
    let grown = names
        .sorted(outcome.readers())
        .filter(|(s, _, _)| today.contains(*s));
    for (i, (_, _, quoted)) in grown.enumerate() {
        write!(out, "{}{quoted}:{growth}", if i == 0 { "" } else { "," })?;
    }
    writeln!(out, "}}}}")
}

/// A (database, policy) pair: how often each answer came, and the outages.
type Tally = (String, Vec<(Answer, u64)>, u64);

/// Findings first, then how often each rule answered, per database and policy.
fn text(analysis: &Analysis<'_>, header: &Header<'_>, out: &mut dyn Write) -> Result<(), Failure> {
    let domains: Vec<&str> = header.domains.iter().map(|d| d.name()).collect();
    writeln!(
        out,
        "failure domains ({}, {}): {}",
        domains.len(),
        header.origin,
        domains.join(", ")
    )?;
    let mut tally: Vec<Tally> = Vec::new();
    let mut rows = RowOf::default();
    let findings = analysis
        .sweep(header.domains, header.depth, |record| {
            let at = rows.of(record);
            if tally.len() <= at {
                let name = format!("{}/{}", record.database().name(), record.policy());
                tally.push((name, Vec::new(), 0));
            }
            if let Some((_, answers, outages)) = tally.get_mut(at) {
                let answer = record.outcome().answer();
                match answers.iter_mut().find(|(a, _)| *a == answer) {
                    Some((_, n)) => *n += 1,
                    None => answers.push((answer, 1)),
                }
                *outages += u64::from(record.is_outage());
            }
        })
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    writeln!(
        out,
        "depth {}: {} scenarios x {} (database, policy) pairs",
        header.depth,
        findings.scenarios(),
        tally.len()
    )?;
    write_findings(&findings, out)?;
    writeln!(out, "\nwhat answered, in how many scenarios:")?;
    for (name, mut answers, outages) in tally {
        answers.sort();
        let parts: Vec<String> = answers.iter().map(|(a, n)| format!("{a}: {n}")).collect();
        writeln!(out, "  {name}: {}; outages: {outages}", parts.join(", "))?;
    }
    Ok(())
}

fn write_findings(findings: &Findings, out: &mut dyn Write) -> Result<(), Failure> {
    if findings.is_empty() {
        writeln!(out, "\nno findings")?;
        return Ok(());
    }
    writeln!(out, "\nfindings, most urgent first ({}):", findings.len())?;
    for (i, f) in findings.iter().enumerate() {
        writeln!(out, "{:>4}. {:<17} {f}", i + 1, f.kind().as_str())?;
    }
    Ok(())
}
