//! `tagroute check CONF... [--topology T [--server NAME]] [--neo4j] [--verbose]
//! [--deny-warnings] [--format text|json]`.
//!
//! The rules are the library's ([`tagroute::config::check`]); this command only renders the
//! report: for people, every finding with its caret on stderr, a one-line tally, and a last
//! line saying whether Neo4j 5 would start with the files; for programs, one JSON document on
//! stdout. Exit 1 if anything was an error (or a warning, with `--deny-warnings`).

use serde_json::{Value, json};
use tagroute::config::{CheckReport, Config, ConfigErrors, Finding, Unlisted, check};
use tagroute::span::{LineIndex, Severity};

use super::load_topology;
use crate::args::{CheckArgs, ReportFormat};
use crate::report::{Console, Failure};

pub fn run(args: &CheckArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let snapshot = args.topology.as_deref().map(load_topology).transpose()?;
    let files: Vec<Result<Config, ConfigErrors>> = args
        .confs
        .iter()
        .map(|path| Config::load(path, args.strict.strictness()))
        .collect();
    let report = check(&files, snapshot.as_ref(), args.server.as_deref());
    let files: Vec<File<'_>> = files.iter().map(File::of).collect();
    let topology = args.topology.as_ref().map(|p| p.display().to_string());
    let rendering = Rendering {
        files: &files,
        report: &report,
        topology: topology.as_deref(),
        verbose: args.verbose,
    };
    match args.format {
        ReportFormat::Text => rendering.text(console)?,
        ReportFormat::Json => console.json(&rendering.json())?,
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
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
                for (key, _) in config.ignored_keys() {
                    writeln!(
                        console.err,
                        "{}: note: key `{key}` is not read",
                        file.origin
                    )?;
                }
            }
        }
        writeln!(console.err, "{}", self.tally())?;
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

    /// The files Neo4j 5 would refuse to start with.
    fn refused(&self) -> Vec<&str> {
        (0..self.files.len())
            .filter(|&i| self.report.stops_neo4j(i))
            .filter_map(|i| self.files.get(i).map(|f| f.origin))
            .collect()
    }

    /// The last line: whether Neo4j 5 would start with these files.
    fn neo4j_verdict(&self) -> String {
        let refused = self.refused();
        if !refused.is_empty() {
            return format!("neo4j 5: would not start with {}", refused.join(", "));
        }
        let only_ours = if self.report.errors().next().is_some() {
            " (the errors above are tagroute's own checks)"
        } else {
            ""
        };
        let which = if self.files.len() == 1 {
            "this file"
        } else {
            "each of these files"
        };
        format!("neo4j 5: would start with {which}{only_ours}")
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
            "neo4j_would_start": self.refused().is_empty(),
            "neo4j_refuses": self.refused(),
        })
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
        })
    }
}
