//! `tagroute check CONF... [--topology T [--server NAME]] [--neo4j] [--verbose]`.
//!
//! Every file is loaded whole and every diagnostic of it is shown with its caret; stdout stays
//! empty. `check` is stricter than loading in one place: a user-defined upstream policy that
//! does not parse is an error here (Neo4j runs with it, but its strategy never answers). With
//! several files, every policy that differs between them is an error too, since the policies
//! are cluster-wide. Exit 1 if anything was an error.

use std::collections::BTreeSet;
use std::fmt;

use tagroute::config::{
    Config, ConfigDiagnostic, ConfigDiagnosticKind, PolicyDifference, SourceMap, UserDefined,
    policy_differences,
};
use tagroute::span::{Severity, Span};
use tagroute::syntax::{self, LintKind, Policy};
use tagroute::topology::{ServerIdx, Snapshot};

use super::load_topology;
use crate::args::CheckArgs;
use crate::report::{Console, Failure};

pub fn run(args: &CheckArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let snapshot = args.topology.as_deref().map(load_topology).transpose()?;
    let server = match (&snapshot, &args.server) {
        (Some(snapshot), Some(name)) => Some((name.as_str(), server_of(snapshot, name)?)),
        _ => None,
    };
    let mut check = Check {
        console,
        errors: 0,
        warnings: 0,
    };
    let mut configs = Vec::new();
    for path in &args.confs {
        match Config::load(path, args.strict.strictness()) {
            Ok(config) => {
                check.config(&config, snapshot.as_ref(), server, args.verbose)?;
                configs.push(config);
            }
            Err(errors) => {
                let all = errors.errors().iter().chain(errors.warnings());
                check.diagnostics(errors.origin(), errors.source(), all)?;
            }
        }
    }
    let loaded: Vec<&Config> = configs.iter().collect();
    for difference in policy_differences(&loaded) {
        check.difference(&difference)?;
    }
    check.finish()
}

/// The server called `name` in the topology, or a failure naming the servers.
fn server_of(snapshot: &Snapshot, name: &str) -> Result<ServerIdx, Failure> {
    snapshot.index_of(name).ok_or_else(|| {
        let names: Vec<&str> = snapshot.servers().iter().map(|s| s.name()).collect();
        Failure::Invalid(format!(
            "unknown server `{name}`; the servers are {}",
            names.join(", ")
        ))
    })
}

/// The diagnostics written so far.
struct Check<'c, 'a> {
    console: &'c mut Console<'a>,
    errors: usize,
    warnings: usize,
}

impl Check<'_, '_> {
    /// Everything to say about a configuration that loaded.
    fn config(
        &mut self,
        config: &Config,
        snapshot: Option<&Snapshot>,
        server: Option<(&str, ServerIdx)>,
        verbose: bool,
    ) -> Result<(), Failure> {
        self.diagnostics(config.origin(), config.source(), config.warnings())?;
        if let Some(snapshot) = snapshot {
            self.topology_lints(config, snapshot)?;
        }
        if let (Some(snapshot), Some((name, idx))) = (snapshot, server) {
            self.server_tags(config, snapshot, name, idx)?;
        }
        if verbose {
            for key in config.ignored_keys() {
                writeln!(
                    self.console.err,
                    "{}: note: key `{key}` is not read",
                    config.origin()
                )?;
            }
        }
        Ok(())
    }

    /// Diagnostics of one file, each with its caret; a broken user-defined policy is an error.
    fn diagnostics<'d>(
        &mut self,
        origin: &str,
        source: &str,
        diagnostics: impl IntoIterator<Item = &'d ConfigDiagnostic>,
    ) -> Result<(), Failure> {
        for diagnostic in diagnostics {
            let mut diagnostic = diagnostic.clone();
            if diagnostic.kind == ConfigDiagnosticKind::InvalidUserDefined {
                diagnostic.severity = Severity::Error;
            }
            self.count(diagnostic.severity);
            writeln!(self.console.err, "{}", diagnostic.render(origin, source))?;
        }
        Ok(())
    }

    /// The lints that compare each policy with the topology, placed in the file.
    fn topology_lints(&mut self, config: &Config, snapshot: &Snapshot) -> Result<(), Failure> {
        for policy in config.policies().values().filter(|p| !p.is_builtin()) {
            let place = |span| policy.file_span(span);
            self.lints(config, &policy.name, &policy.policy, snapshot, &place)?;
        }
        if let UserDefined::Valid {
            policy, source_map, ..
        } = &config.catchup().user_defined
        {
            let place = |span| SourceMap::file_span(source_map, span);
            self.lints(config, "user-defined", policy, snapshot, &place)?;
        }
        Ok(())
    }

    fn lints(
        &mut self,
        config: &Config,
        name: &str,
        policy: &Policy,
        snapshot: &Snapshot,
        place: &dyn Fn(Span) -> Span,
    ) -> Result<(), Failure> {
        let topology_kinds = [LintKind::UnknownTag, LintKind::MinTooLarge];
        for lint in syntax::lint_with(policy, snapshot) {
            if topology_kinds.contains(&lint.kind) {
                let message = format!("policy `{name}`: {}", lint.message);
                self.located(config, place(lint.span), Severity::Warning, &message)?;
            }
        }
        Ok(())
    }

    /// A warning when `initial.server.tags` is not what the topology gives the server.
    fn server_tags(
        &mut self,
        config: &Config,
        snapshot: &Snapshot,
        name: &str,
        idx: ServerIdx,
    ) -> Result<(), Failure> {
        let configured: BTreeSet<&str> = config
            .initial_server_tags()
            .iter()
            .map(String::as_str)
            .collect();
        let actual = snapshot.tag_names_of(idx);
        let actual: BTreeSet<&str> = actual.iter().map(|t| &**t).collect();
        if configured == actual {
            return Ok(());
        }
        self.count(Severity::Warning);
        let list = |tags: &BTreeSet<&str>| {
            if tags.is_empty() {
                "no tags".to_owned()
            } else {
                format!("`{}`", tags.iter().copied().collect::<Vec<_>>().join(", "))
            }
        };
        writeln!(
            self.console.err,
            "{}: warning: `initial.server.tags` gives {} but the topology gives server `{name}` {}",
            config.origin(),
            list(&configured),
            list(&actual)
        )?;
        Ok(())
    }

    /// A policy that is not the same in every file: an error.
    fn difference(&mut self, difference: &PolicyDifference) -> Result<(), Failure> {
        self.count(Severity::Error);
        writeln!(
            self.console.err,
            "error: policy `{}` differs between the configurations (policies must be the same on every server)",
            difference.name
        )?;
        for version in &difference.versions {
            let canonical = version.canonical.as_deref().unwrap_or("(not configured)");
            writeln!(self.console.err, "  {}: {canonical}", version.origin)?;
        }
        Ok(())
    }

    fn located(
        &mut self,
        config: &Config,
        span: Span,
        severity: Severity,
        message: &dyn fmt::Display,
    ) -> Result<(), Failure> {
        self.count(severity);
        let origin = Some(config.origin());
        self.console
            .diagnostic(config.source(), origin, span, severity, message, None)
    }

    fn count(&mut self, severity: Severity) {
        match severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
    }

    /// The tally, and the exit status it decides.
    fn finish(self) -> Result<(), Failure> {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        writeln!(
            self.console.err,
            "check: {}, {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning")
        )?;
        if self.errors > 0 {
            Err(Failure::Reported)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use tagroute::config::PolicyVersion;

    use super::*;

    fn with_console(f: impl FnOnce(&mut Check<'_, '_>)) -> (String, Result<(), Failure>) {
        let (mut input, mut out, mut err) = (Cursor::new(Vec::new()), Vec::new(), Vec::new());
        let mut console = Console {
            input: &mut input,
            out: &mut out,
            err: &mut err,
        };
        let mut check = Check {
            console: &mut console,
            errors: 0,
            warnings: 0,
        };
        f(&mut check);
        let result = check.finish();
        assert!(out.is_empty());
        (String::from_utf8(err).expect("utf-8"), result)
    }

    #[test]
    fn a_difference_lists_every_file_and_fails() {
        let difference = PolicyDifference {
            name: "north".into(),
            versions: vec![
                PolicyVersion {
                    origin: "a.conf".into(),
                    canonical: Some("tags(n)".into()),
                },
                PolicyVersion {
                    origin: "b.conf".into(),
                    canonical: None,
                },
            ],
        };
        let (err, result) = with_console(|check| {
            check.difference(&difference).expect("written");
        });
        assert_eq!(
            err,
            "error: policy `north` differs between the configurations (policies must be the same on every server)\n  a.conf: tags(n)\n  b.conf: (not configured)\ncheck: 1 error, 0 warnings\n"
        );
        assert!(matches!(result, Err(Failure::Reported)));
    }

    #[test]
    fn the_tally_counts_in_the_plural_and_warnings_pass() {
        let (err, result) = with_console(|check| {
            check.count(Severity::Warning);
            check.count(Severity::Warning);
        });
        assert_eq!(err, "check: 0 errors, 2 warnings\n");
        assert!(result.is_ok());
    }
}
