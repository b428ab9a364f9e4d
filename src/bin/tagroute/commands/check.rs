//! `tagroute check CONF... [--topology T [--server NAME]] [--neo4j] [--verbose]
//! [--deny-warnings] [--format text|json|sarif] [--neo4j-version V] [--edition E] [--migrate]`.
//!
//! The rules are the library's ([`tagroute::config::check`]); this command only renders the
//! report: for people, every finding with its caret on stderr, a one-line tally, and two
//! verdict lines, whether tagroute would load the files and whether Neo4j would start with
//! them; for programs, one JSON document or one SARIF log on stdout. Exit 1 if anything was an
//! error (or a warning, with `--deny-warnings`). With `--migrate`, each file migrated to
//! Neo4j 5 is printed on stdout first, and the migrated text is what is checked.

use serde_json::{Value, json};
use std::path::Path;
use tagroute::config::{
    CheckReport, Config, ConfigErrors, Edition, Finding, Neo4jCondition, Neo4jTarget, Neo4jVersion,
    Unlisted, check, migrate,
};
use tagroute::span::{LineIndex, Severity};

use super::load_topology;
use crate::args::{CheckArgs, CheckFormat, EditionArg};
use crate::report::{Console, Failure};

pub fn run(args: &CheckArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let snapshot = args.topology.as_deref().map(load_topology).transpose()?;
    let target = Neo4jTarget {
        version: args.neo4j_version.unwrap_or_else(Neo4jVersion::newest),
        edition: match args.edition {
            EditionArg::Community => Edition::Community,
            EditionArg::Enterprise => Edition::Enterprise,
        },
    };
    let strictness = args.strict.strictness();
    let inputs: Vec<Input<'_>> = match args.migrate {
        false => args.confs.iter().map(|path| Input::Path(path)).collect(),
        true => migrated(args, console)?,
    };
    let load = |target| -> Vec<Result<Config, ConfigErrors>> {
        inputs
            .iter()
            .map(|input| input.load(strictness, target))
            .collect()
    };
    let files = load(target);
    // A file that cannot be read has no findings and no verdict: say why, as every command does.
    if let Some(failure) = files
        .iter()
        .find_map(|file| file.as_ref().err().and_then(ConfigErrors::read_failure))
    {
        return Err(Failure::Invalid(failure.to_owned()));
    }
    let mut report = check(&files, snapshot.as_ref(), args.server.as_deref());
    if target != Neo4jTarget::default() {
        // tagroute's verdict is how `route` and `serve` read the files, whatever Neo4j version
        // and edition the other verdict is for.
        let as_routed = load(Neo4jTarget::default());
        report.loads = check(&as_routed, snapshot.as_ref(), args.server.as_deref()).loads;
    }
    let files: Vec<File<'_>> = files.iter().map(File::of).collect();
    let topology = args.topology.as_ref().map(|p| p.display().to_string());
    let rendering = Rendering {
        files: &files,
        report: &report,
        topology: topology.as_deref(),
        verbose: args.verbose,
        target,
    };
    match args.format {
        CheckFormat::Text => rendering.text(console)?,
        CheckFormat::Json => console.json(&rendering.json())?,
        CheckFormat::Sarif => console.json(&rendering.sarif())?,
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}

/// A file to check: as it is, or migrated to Neo4j 5.
enum Input<'p> {
    Path(&'p std::path::Path),
    Migrated { origin: String, text: String },
}

impl Input<'_> {
    fn load(
        &self,
        strictness: tagroute::Strictness,
        target: Neo4jTarget,
    ) -> Result<Config, ConfigErrors> {
        match self {
            Input::Path(path) => Config::load_for(path, strictness, target),
            Input::Migrated { origin, text } => {
                Config::parse_for(text, Path::new(origin), strictness, target)
            }
        }
    }
}

/// Each file migrated to Neo4j 5, printed on stdout (with a `#` line naming it when there are
/// several).
fn migrated<'p>(args: &'p CheckArgs, console: &mut Console<'_>) -> Result<Vec<Input<'p>>, Failure> {
    let mut inputs = Vec::new();
    for path in &args.confs {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::Invalid(format!("cannot read {}: {e}", path.display())))?;
        let text: String = match tagroute::config::Charset::from_env() {
            tagroute::config::Charset::Utf8 => String::from_utf8_lossy(&bytes).into_owned(),
            _ => bytes.iter().map(|&b| char::from(b)).collect(),
        };
        let migrated = migrate(&text);
        if args.confs.len() > 1 {
            writeln!(console.out, "# {} migrated to Neo4j 5", path.display())?;
        }
        write!(console.out, "{}", migrated.text)?;
        inputs.push(Input::Migrated {
            origin: format!("{} (migrated)", path.display()),
            text: migrated.text,
        });
    }
    Ok(inputs)
}

/// What rendering needs of one file, loaded or not.
struct File<'f> {
    origin: &'f str,
    /// The file's text, indexed once for every finding placed in it.
    lines: &'f LineIndex,
    config: Option<&'f Config>,
    /// The diagnostics the load counted but did not keep.
    unlisted: &'f [Unlisted],
}

impl File<'_> {
    fn of(loaded: &Result<Config, ConfigErrors>) -> File<'_> {
        match loaded {
            Ok(config) => File {
                origin: config.origin(),
                lines: config.line_index(),
                config: Some(config),
                unlisted: config.unlisted(),
            },
            Err(errors) => File {
                origin: errors.origin(),
                lines: errors.line_index(),
                config: None,
                unlisted: errors.unlisted(),
            },
        }
    }
}

struct Rendering<'r> {
    files: &'r [File<'r>],
    report: &'r CheckReport,
    topology: Option<&'r str>,
    verbose: bool,
    target: Neo4jTarget,
}

impl Rendering<'_> {
    /// Every finding with its caret, the keys not read (with `--verbose`), the tally and
    /// whether Neo4j 5 would start.
    fn text(&self, console: &mut Console<'_>) -> Result<(), Failure> {
        for finding in &self.report.findings {
            let d = &finding.diagnostic;
            match finding.file.and_then(|i| self.files.get(i)) {
                Some(file) => writeln!(console.err, "{}", d.render_in(file.origin, file.lines))?,
                None => {
                    let origin = self.topology.map(|t| format!("{t}: ")).unwrap_or_default();
                    writeln!(console.err, "{origin}{}: {}", d.severity, d.message)?;
                    if let Some(help) = &d.help {
                        writeln!(console.err, "  help: {help}")?;
                    }
                }
            }
        }
        for file in self.files {
            for unlisted in file.unlisted {
                writeln!(console.err, "{}: {unlisted}", file.origin)?;
            }
        }
        if self.verbose {
            for (file, config) in self.loaded() {
                for (key, span) in config.ignored_keys() {
                    let at = file.lines.line_col(span.start);
                    writeln!(
                        console.err,
                        "{}:{at}: note: key `{key}` is not read",
                        file.origin
                    )?;
                }
            }
        }
        writeln!(console.err, "{}", self.tally())?;
        writeln!(console.err, "{}", self.tagroute_verdict())?;
        writeln!(console.err, "{}", self.neo4j_verdict())?;
        Ok(())
    }

    fn loaded(&self) -> impl Iterator<Item = (&File<'_>, &Config)> {
        self.files
            .iter()
            .filter_map(|file| file.config.map(|config| (file, config)))
    }

    /// `check: 2 files, 1 error, 0 warnings`.
    fn tally(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "check: {}, {}, {}",
            plural(self.files.len(), "file"),
            plural(self.count(Severity::Error), "error"),
            plural(self.count(Severity::Warning), "warning"),
        )
    }

    /// The findings of `severity`, listed or not.
    fn count(&self, severity: Severity) -> usize {
        let listed = match severity {
            Severity::Error => self.report.errors().count(),
            Severity::Warning => self.report.warnings().count(),
        };
        let unlisted = self.files.iter().flat_map(|f| f.unlisted);
        listed
            + unlisted
                .filter(|u| u.severity == severity)
                .map(|u| u.count)
                .sum::<usize>()
    }

    /// The files Neo4j would refuse to start with.
    fn refused(&self) -> Vec<&str> {
        (0..self.files.len())
            .filter(|&i| self.report.stops_neo4j(i))
            .filter_map(|i| self.files.get(i).map(|f| f.origin))
            .collect()
    }

    /// The files tagroute would not load.
    fn not_loaded(&self) -> Vec<&str> {
        (0..self.files.len())
            .filter(|&i| !self.report.tagroute_loads(i))
            .filter_map(|i| self.files.get(i).map(|f| f.origin))
            .collect()
    }

    /// The keys whose condition Neo4j's start depends on, in the files it would otherwise
    /// start with, each once.
    fn keys_depending_on(&self, condition: Neo4jCondition) -> Vec<String> {
        let mut keys: Vec<String> = (0..self.files.len())
            .filter(|&i| !self.report.stops_neo4j(i))
            .flat_map(|i| {
                let file = self.files.get(i);
                self.report
                    .conditions(i)
                    .filter(move |f| f.diagnostic.neo4j_condition == Some(condition))
                    .filter_map(move |f| {
                        let source = file?.lines.text();
                        source.get(f.diagnostic.span.range()).map(str::to_owned)
                    })
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// `this file` or `each of these files`.
    fn which(&self) -> &'static str {
        match self.files.len() {
            1 => "this file",
            _ => "each of these files",
        }
    }

    /// Whether tagroute would load the files: the verdict of loading them, as `route` and
    /// `serve` do.
    fn tagroute_verdict(&self) -> String {
        let not_loaded = self.not_loaded();
        match not_loaded.is_empty() {
            true => format!("tagroute: would load {}", self.which()),
            false => format!("tagroute: would not load {}", not_loaded.join(", ")),
        }
    }

    /// The last line: whether Neo4j would start with these files, and on what it depends.
    fn neo4j_verdict(&self) -> String {
        let neo4j = format!(
            "neo4j {} {} Edition",
            self.target.version.name(),
            self.target.edition.name()
        );
        let refused = self.refused();
        if !refused.is_empty() {
            return format!("{neo4j}: would not start with {}", refused.join(", "));
        }
        let plugins = self.keys_depending_on(Neo4jCondition::Plugin);
        let migrated = self.keys_depending_on(Neo4jCondition::EnterpriseMigration);
        let mut conditions = Vec::new();
        if !plugins.is_empty() {
            conditions.push(format!(
                "the plugins declaring `{}` are installed",
                plugins.join("`, `")
            ));
        }
        if !migrated.is_empty() {
            conditions.push(format!(
                "Enterprise Edition's own 4.4 migration, which is not public, carries over `{}`",
                migrated.join("`, `")
            ));
        }
        let condition = match conditions.is_empty() {
            true => String::new(),
            false => format!(
                " if {} (otherwise it would not start)",
                conditions.join(" and ")
            ),
        };
        format!("{neo4j}: would start with {}{condition}", self.which())
    }

    /// One document: every finding with its place, the ignored keys (with `--verbose`), the
    /// counts and the verdict.
    fn json(&self) -> Value {
        let mut diagnostics: Vec<Value> = self
            .report
            .findings
            .iter()
            .map(|f| self.finding_json(f))
            .collect();
        if self.verbose {
            for (file, config) in self.loaded() {
                for (key, span) in config.ignored_keys() {
                    let at = Some(file.lines.line_col(span.start));
                    diagnostics.push(json!({
                        "severity": "note",
                        "code": "ignored-key",
                        "file": file.origin,
                        "line": at.map(|a| a.line),
                        "column": at.map(|a| a.column),
                        "message": format!("key `{key}` is not read"),
                        "help": null,
                        "neo4j_refuses": false,
                    }));
                }
            }
        }
        let origins: Vec<&str> = self.files.iter().map(|f| f.origin).collect();
        json!({
            "files": origins,
            "diagnostics": diagnostics,
            "errors": self.count(Severity::Error),
            "warnings": self.count(Severity::Warning),
            "tagroute_loads": self.not_loaded().is_empty(),
            "tagroute_refuses": self.not_loaded(),
            "neo4j_version": self.target.version.name(),
            "neo4j_edition": self.target.edition.name(),
            "neo4j_would_start": self.refused().is_empty(),
            "neo4j_refuses": self.refused(),
            "neo4j_needs_plugins_for": self.keys_depending_on(Neo4jCondition::Plugin),
            "neo4j_needs_enterprise_migration_for":
                self.keys_depending_on(Neo4jCondition::EnterpriseMigration),
            "verdicts": [self.tagroute_verdict(), self.neo4j_verdict()],
        })
    }

    /// One SARIF 2.1.0 log: a run of tagroute, a rule per diagnostic code, a result per
    /// finding at its line and column (in Unicode code points), and the verdicts as
    /// notifications of the invocation.
    fn sarif(&self) -> Value {
        let mut codes: Vec<&str> = self
            .report
            .findings
            .iter()
            .map(|f| f.diagnostic.kind.code())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let rules: Vec<Value> = codes
            .iter()
            .map(|code| json!({ "id": code, "name": code }))
            .collect();
        let results: Vec<Value> = self
            .report
            .findings
            .iter()
            .map(|f| self.sarif_result(f, &codes))
            .collect();
        let success = self.report.errors().next().is_none();
        let notes: Vec<Value> = [self.tagroute_verdict(), self.neo4j_verdict()]
            .into_iter()
            .map(|text| json!({ "level": "note", "message": { "text": text } }))
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "tagroute",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://crates.io/crates/tagroute",
                    "rules": rules,
                }},
                "columnKind": "unicodeCodePoints",
                "invocations": [{
                    "executionSuccessful": success,
                    "toolExecutionNotifications": notes,
                }],
                "results": results,
            }],
        })
    }

    fn sarif_result(&self, finding: &Finding, codes: &[&str]) -> Value {
        let d = &finding.diagnostic;
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let text = match &d.help {
            Some(help) => format!("{}\nhelp: {help}", d.message),
            None => d.message.clone(),
        };
        let rule_index = codes.iter().position(|c| *c == d.kind.code()).unwrap_or(0);
        let mut result = json!({
            "ruleId": d.kind.code(),
            "ruleIndex": rule_index,
            "level": level,
            "message": { "text": text },
            "properties": {
                "neo4jRefusesToStart": finding.stops_neo4j,
                "neo4jStartsIf": condition_name(d.neo4j_condition),
            },
        });
        let file = finding.file.and_then(|i| self.files.get(i));
        let uri = file.map(|f| f.origin).or(self.topology);
        if let Some(uri) = uri {
            let mut location = json!({ "artifactLocation": { "uri": uri } });
            if let Some(file) = file {
                let start = file.lines.line_col(d.span.start);
                let end = file.lines.line_col(d.span.end);
                location["region"] = json!({
                    "startLine": start.line,
                    "startColumn": start.column,
                    "endLine": end.line,
                    "endColumn": end.column,
                });
            }
            result["locations"] = json!([{ "physicalLocation": location }]);
        }
        result
    }

    fn finding_json(&self, finding: &Finding) -> Value {
        let d = &finding.diagnostic;
        let file = finding.file.and_then(|i| self.files.get(i));
        let at = file.map(|f| f.lines.line_col(d.span.start));
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        json!({
            "severity": severity,
            "code": d.kind.code(),
            "file": file.map(|f| f.origin).or(self.topology),
            "line": at.map(|a| a.line),
            "column": at.map(|a| a.column),
            "message": d.message,
            "help": d.help,
            "neo4j_refuses": finding.stops_neo4j,
            "neo4j_starts_if": condition_name(d.neo4j_condition),
        })
    }
}

/// A condition as the JSON and SARIF output name it (`null` when there is none).
fn condition_name(condition: Option<Neo4jCondition>) -> Option<&'static str> {
    condition.map(|c| match c {
        Neo4jCondition::Plugin => "plugin-installed",
        Neo4jCondition::EnterpriseMigration => "enterprise-migration",
        _ => "unknown",
    })
}
