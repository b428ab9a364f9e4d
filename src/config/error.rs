//! Configuration diagnostics: a severity, a kind, a span into the file, a message and help.
//!
//! Messages follow the crate's convention: lowercase, no final period, user input in
//! backticks; advice goes into `help`. Only [`crate::span::render`] turns a span into
//! `file:line:column` with a caret.

use std::fmt;

use crate::span::{LineIndex, Severity, Span};
use crate::syntax::LintKind;

/// One thing to say about a configuration file, at a place in it. A record, read by its fields
/// (made only by the loader).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigDiagnostic {
    /// Whether the file is rejected because of it.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: ConfigDiagnosticKind,
    /// Where in the file text (through line continuations).
    pub span: Span,
    /// The problem, in one lowercase line.
    pub message: String,
    /// How to fix it, when there is more to say than the message.
    pub help: Option<String>,
    /// Whether Neo4j 5 refuses to start with what the diagnostic is about. Every error of the
    /// loader stops Neo4j too, except where tagroute is stricter (said in the message); a
    /// warning stops Neo4j where tagroute is more lenient than Neo4j (docs/differences.md; the
    /// message says so too).
    pub stops_neo4j: bool,
    /// What Neo4j 5 starting with the key depends on, when the file cannot tell (a plugin being
    /// installed, Enterprise Edition's own migration of a 4.4 key); `None` when it does not.
    pub neo4j_condition: Option<Neo4jCondition>,
}

/// Something outside the file that decides whether Neo4j 5 starts with a key (with strict
/// validation on; with it off, Neo4j logs an unknown key and starts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Neo4jCondition {
    /// The plugin that declares the key is installed.
    Plugin,
    /// Enterprise Edition's own 4.4 to 5 migration, which is not public, renames or removes
    /// the key (the public one, in both editions, does not).
    EnterpriseMigration,
}

impl ConfigDiagnostic {
    pub(super) fn error(kind: ConfigDiagnosticKind, span: Span, message: String) -> Self {
        ConfigDiagnostic {
            severity: Severity::Error,
            kind,
            span,
            message,
            help: None,
            stops_neo4j: true,
            neo4j_condition: None,
        }
    }

    pub(super) fn warning(kind: ConfigDiagnosticKind, span: Span, message: String) -> Self {
        ConfigDiagnostic {
            severity: Severity::Warning,
            stops_neo4j: false,
            ..ConfigDiagnostic::error(kind, span, message)
        }
    }

    /// The same diagnostic, saying whether Neo4j 5 refuses to start with it.
    pub(super) fn stopping_neo4j(mut self, stops: bool) -> Self {
        self.stops_neo4j = stops;
        self
    }

    /// The same diagnostic, saying that Neo4j 5 starts with the key exactly when `condition`
    /// holds.
    pub(super) fn depending_on(mut self, condition: Neo4jCondition) -> Self {
        self.stops_neo4j = false;
        self.neo4j_condition = Some(condition);
        self
    }

    pub(super) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The diagnostic as a person reads it: `origin:line:column`, the line and a caret.
    ///
    /// This indexes `source` for one diagnostic; to render many of one file, use
    /// [`ConfigDiagnostic::render_in`] with the file's [`LineIndex`] (see
    /// [`crate::config::Config::line_index`]).
    pub fn render(&self, origin: &str, source: &str) -> String {
        self.render_in(origin, &LineIndex::new(source))
    }

    /// The diagnostic rendered with the line index of its file.
    pub fn render_in(&self, origin: &str, index: &LineIndex) -> String {
        index.render(
            Some(origin),
            self.span,
            self.severity,
            &self.message,
            self.help.as_deref(),
        )
    }
}

/// The kinds of configuration diagnostic; [`ConfigDiagnosticKind::code`] names each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigDiagnosticKind {
    /// Error: the file could not be read.
    Unreadable,
    /// Error: the file is not UTF-8 (read as UTF-8 on request); the span is the first bad byte,
    /// shown as U+FFFD.
    NotUtf8,
    /// Error: the file is 4 GiB or larger.
    TooLarge,
    /// Error: the file starts with a byte-order mark, which Neo4j reads as part of the first key.
    ByteOrderMark,
    /// Error: a `\u` escape without four hex digits (Java's reader refuses the whole file).
    MalformedEscape,
    /// Error: a `\uXXXX` escape that is half of a UTF-16 surrogate pair (Java keeps it; tagroute
    /// cannot).
    LoneSurrogate,
    /// Error (a warning with strict validation off): a line that starts with its separator
    /// (`=value`), which sets the empty key.
    EmptyKey,
    /// Error (a warning with strict validation off): a key Neo4j 5 has no setting for, in the
    /// namespaces tagroute reads or outside every namespace of Neo4j's.
    UnknownKey,
    /// Error (a warning with strict validation off): a Neo4j 4.x key that Neo4j 5's public
    /// migration does not carry over: Community Edition refuses to start with it; Enterprise
    /// Edition starts if its own migration does ([`Neo4jCondition::EnterpriseMigration`]). A
    /// warning then, except for the keys tagroute reads, which it never reads by 4.x names.
    RemovedKey,
    /// Warning: a Neo4j 4.4 key that Neo4j 5's migration renames or removes when it starts
    /// (logging a warning); a renamed key's value is checked under its Neo4j 5 name.
    MigratedKey,
    /// Error: a value that does not parse as its setting's type or lies outside its range
    /// (Neo4j refuses to start whatever its strict validation).
    InvalidValue,
    /// Error (a warning with strict validation off): an Enterprise Edition setting, checked
    /// against Community Edition.
    OtherEdition,
    /// Warning: a key of a plugin's namespace (`gds.*`): a setting only when the plugin is
    /// installed, which the file cannot tell ([`Neo4jCondition::Plugin`]); with strict
    /// validation on, Neo4j refuses to start otherwise.
    PluginKey,
    /// Error (a warning with strict validation off): a key given twice, other than the settings
    /// Neo4j lets repeat (`server.jvm.additional`).
    DuplicateKey,
    /// Warning: a deprecated Neo4j 5 key, read because its current name is absent.
    DeprecatedKey,
    /// Warning: a deprecated key that is not read because its current name is set too.
    DeprecatedKeyOverridden,
    /// Error: a boolean setting that is not `true` or `false` (in any case).
    InvalidBoolean,
    /// Error: `dbms.routing_ttl` is not a duration such as `300`, `300s`, `5m` or `1500ms`.
    InvalidDuration,
    /// Error: `dbms.routing_ttl` is shorter than one second.
    TtlTooShort,
    /// Error: `dbms.routing.load_balancing.plugin` is not `server_policies`.
    UnsupportedPlugin,
    /// Error: a tag outside `[A-Za-z0-9_-]+`, or `-` alone.
    InvalidTag,
    /// Error: a tag listed twice in `initial.server.tags`.
    DuplicateTag,
    /// Error: a policy name that is empty or holds `.` or whitespace.
    InvalidPolicyName,
    /// Warning: a policy name with a character outside `[A-Za-z0-9_]`, which Neo4j 5 does not
    /// document.
    UnusualPolicyName,
    /// Error: a load-balancing policy that does not parse (Neo4j does not start either).
    InvalidPolicy,
    /// Error: a load-balancing policy that parses but that tagroute cannot compile (a filter of
    /// more than 65,535 tags); Neo4j would start with it.
    UncompilablePolicy,
    /// Warning: a lint of a policy that parses (load-balancing or user-defined).
    PolicyLint(LintKind),
    /// Warning: a name in `server.cluster.catchup.upstream_strategy` that is no strategy.
    UnknownStrategy,
    /// Warning: a strategy named by its Neo4j 4.x alias.
    DeprecatedStrategyName,
    /// Warning: a listed strategy whose setting is absent, so that it never answers
    /// (`user-defined` without a policy, `connect-randomly-to-server-tags` without tags).
    StrategyNotConfigured,
    /// Warning: the user-defined strategy's policy is empty, which disables the strategy.
    UserDefinedDisabled,
    /// The user-defined strategy's policy does not parse: a warning when loading (Neo4j runs
    /// with it, and the strategy never answers); `check` reports it as an error.
    InvalidUserDefined,
    /// Error: a per-database key without the database (`...priority_tag.`).
    MissingDatabaseName,
    /// Warning (`check --server`): `initial.server.tags` is not what the topology gives the
    /// server.
    ServerTagsDiffer,
    /// Error (`check`): a policy that is not the same in every file given; policies are
    /// cluster-wide.
    PolicyDiffers,
    /// Error (`check --server`): the topology has no server of that name.
    UnknownServer,
    /// Warning (`check --topology`): a policy that leaves some database's routing table
    /// without readers, or a database with no available server to read from.
    NoReaders,
    /// Warning (`check --topology`): a database without an available primary, so that its
    /// routing table has no routers.
    NoRouters,
    /// Warning (`check --topology`): a leadership priority tag that no primary of the database
    /// carries.
    PriorityTagNotCarried,
    /// Warning (`check --topology`): a per-database key naming a database the topology does not
    /// have.
    UnknownDatabase,
}

impl ConfigDiagnosticKind {
    /// The diagnostic's name, as `check` prints it: `invalid-policy`, `deprecated-key`, ...
    /// A policy lint has the lint's own name.
    pub fn code(self) -> &'static str {
        use ConfigDiagnosticKind::*;
        match self {
            Unreadable => "unreadable",
            NotUtf8 => "not-utf8",
            TooLarge => "too-large",
            ByteOrderMark => "byte-order-mark",
            MalformedEscape => "malformed-escape",
            LoneSurrogate => "lone-surrogate",
            EmptyKey => "empty-key",
            UnknownKey => "unknown-key",
            RemovedKey => "removed-key",
            MigratedKey => "migrated-key",
            InvalidValue => "invalid-value",
            OtherEdition => "other-edition",
            PluginKey => "plugin-key",
            DuplicateKey => "duplicate-key",
            DeprecatedKey => "deprecated-key",
            DeprecatedKeyOverridden => "deprecated-key-overridden",
            InvalidBoolean => "invalid-boolean",
            InvalidDuration => "invalid-duration",
            TtlTooShort => "ttl-too-short",
            UnsupportedPlugin => "unsupported-plugin",
            InvalidTag => "invalid-tag",
            DuplicateTag => "duplicate-tag",
            InvalidPolicyName => "invalid-policy-name",
            UnusualPolicyName => "unusual-policy-name",
            InvalidPolicy => "invalid-policy",
            UncompilablePolicy => "uncompilable-policy",
            PolicyLint(lint) => lint.code(),
            UnknownStrategy => "unknown-strategy",
            DeprecatedStrategyName => "deprecated-strategy-name",
            StrategyNotConfigured => "strategy-not-configured",
            UserDefinedDisabled => "user-defined-disabled",
            InvalidUserDefined => "invalid-user-defined",
            MissingDatabaseName => "missing-database-name",
            ServerTagsDiffer => "server-tags-differ",
            PolicyDiffers => "policy-differs",
            UnknownServer => "unknown-server",
            NoReaders => "no-readers",
            NoRouters => "no-routers",
            PriorityTagNotCarried => "priority-tag-not-carried",
            UnknownDatabase => "unknown-database",
        }
    }
}

/// Why a configuration file was rejected: every error in it (at least one), and the warnings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors {
    origin: Box<str>,
    lines: LineIndex,
    // INVARIANT: non-empty, every one an error.
    errors: Vec<ConfigDiagnostic>,
    warnings: Box<[ConfigDiagnostic]>,
    unlisted: Box<[Unlisted]>,
}

impl ConfigErrors {
    /// A file that could not be read at all.
    pub(super) fn unreadable(origin: &str, error: &std::io::Error) -> ConfigErrors {
        let message = format!("cannot read {origin}: {error}");
        ConfigErrors::single(
            origin,
            String::new(),
            ConfigDiagnosticKind::Unreadable,
            0,
            message,
        )
    }

    /// A file too large to place every byte of it with 32-bit offsets.
    pub(super) fn too_large(origin: &str, len: usize) -> ConfigErrors {
        let message = format!("the configuration is {len} bytes; tagroute reads files under 4 GiB");
        ConfigErrors::single(
            origin,
            String::new(),
            ConfigDiagnosticKind::TooLarge,
            0,
            message,
        )
    }

    fn single(
        origin: &str,
        source: String,
        kind: ConfigDiagnosticKind,
        at: usize,
        message: String,
    ) -> ConfigErrors {
        let end = source
            .get(at..)
            .and_then(|s| s.chars().next())
            .map_or(at, |c| at + c.len_utf8());
        ConfigErrors {
            origin: origin.into(),
            lines: LineIndex::new(source),
            errors: vec![ConfigDiagnostic::error(kind, Span::new(at, end), message)],
            warnings: Box::default(),
            unlisted: Box::default(),
        }
    }

    /// The file name, as given.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The file text, for rendering (empty when the file could not be read).
    pub fn source(&self) -> &str {
        self.lines.text()
    }

    /// The file text's line index, to render many diagnostics without rescanning the text.
    pub fn line_index(&self) -> &LineIndex {
        &self.lines
    }

    /// Every error, in file order; never empty.
    pub fn errors(&self) -> &[ConfigDiagnostic] {
        &self.errors
    }

    /// The warnings found on the way, in file order.
    pub fn warnings(&self) -> &[ConfigDiagnostic] {
        &self.warnings
    }

    /// The diagnostics found but not kept, counted by kind (see [`Unlisted`]).
    pub fn unlisted(&self) -> &[Unlisted] {
        &self.unlisted
    }

    /// Whether Neo4j 5 would refuse to start with this file too (see
    /// [`ConfigDiagnostic::stops_neo4j`]).
    pub fn stops_neo4j(&self) -> bool {
        self.errors
            .iter()
            .chain(&*self.warnings)
            .any(|d| d.stops_neo4j)
            || self.unlisted.iter().any(|u| u.stops_neo4j)
    }

    /// Why the file could not be read at all (`cannot read FILE: <os error>`), if that is why
    /// it was rejected: there is no text to place a caret in.
    pub fn read_failure(&self) -> Option<&str> {
        match self.errors.as_slice() {
            [only] if only.kind == ConfigDiagnosticKind::Unreadable => Some(&only.message),
            _ => None,
        }
    }

    /// Every error, then every warning, each rendered with its caret, separated by blank lines;
    /// then a line for each kind of diagnostic not kept (a file that could not be read: the one
    /// line saying why).
    pub fn render_all(&self) -> String {
        if let Some(failure) = self.read_failure() {
            return failure.to_owned();
        }
        let listed = self.errors.iter().chain(&*self.warnings);
        let rendered = listed.map(|d| d.render_in(&self.origin, &self.lines));
        let unlisted = self
            .unlisted
            .iter()
            .map(|u| format!("{}: {u}", self.origin));
        let mut all = String::new();
        for part in rendered.chain(unlisted) {
            if !all.is_empty() {
                all.push_str("\n\n");
            }
            all.push_str(&part);
        }
        all
    }

    fn error_count(&self) -> usize {
        let unlisted = self
            .unlisted
            .iter()
            .filter(|u| u.severity == Severity::Error);
        self.errors.len() + unlisted.map(|u| u.count).sum::<usize>()
    }
}

/// Diagnostics of one kind that a load found but did not keep: past the first
/// [`Unlisted::ALWAYS`] of each kind, a load keeps diagnostics only while they take no more
/// memory than half the file (or 256 KiB), so that a file of a million errors costs memory in
/// proportion to its size, and says how many it left out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unlisted {
    /// Their kind.
    pub kind: ConfigDiagnosticKind,
    /// Their severity.
    pub severity: Severity,
    /// Whether Neo4j 5 refuses to start because of any of them.
    pub stops_neo4j: bool,
    /// How many.
    pub count: usize,
}

impl Unlisted {
    /// How many diagnostics of each kind a load always keeps.
    pub const ALWAYS: usize = 100;
}

impl fmt::Display for Unlisted {
    /// `error: 2499900 more duplicate-key errors, not listed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.count == 1 { "" } else { "s" };
        write!(
            f,
            "{}: {} more {} {}{plural}, not listed",
            self.severity,
            self.count,
            self.kind.code(),
            self.severity
        )
    }
}

impl fmt::Display for ConfigErrors {
    /// `neo4j.conf:3:61: unknown filter ...`, and how many more errors follow.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(failure) = self.read_failure() {
            return f.write_str(failure);
        }
        if let Some(first) = self.errors.first() {
            let at = self.lines.line_col(first.span.start);
            write!(f, "{}:{at}: {}", self.origin, first.message)?;
        }
        match self.error_count() {
            0 | 1 => Ok(()),
            2 => write!(f, " (and 1 more error)"),
            n => write!(f, " (and {} more errors)", n - 1),
        }
    }
}

impl std::error::Error for ConfigErrors {}

/// The diagnostics of one load, collected as they are found: every one, or, with a budget,
/// the first [`Unlisted::ALWAYS`] of each kind and then as many as the budget holds, the rest
/// counted.
#[derive(Debug)]
pub(super) struct Diagnostics {
    list: Vec<ConfigDiagnostic>,
    /// Bytes the diagnostics kept past the first of each kind may take, and have taken.
    budget: usize,
    spent: usize,
    /// Per kind, how many were kept.
    kept: Vec<(ConfigDiagnosticKind, usize)>,
    unlisted: Vec<Unlisted>,
}

impl Default for Diagnostics {
    fn default() -> Self {
        Diagnostics::with_budget(usize::MAX)
    }
}

impl Diagnostics {
    /// Diagnostics that keep, past the first of each kind, at most `bytes` bytes.
    pub fn with_budget(bytes: usize) -> Diagnostics {
        Diagnostics {
            list: Vec::new(),
            budget: bytes,
            spent: 0,
            kept: Vec::new(),
            unlisted: Vec::new(),
        }
    }

    /// Sets the budget of the diagnostics kept from now on.
    pub fn limit_to(&mut self, bytes: usize) {
        self.budget = bytes;
    }

    pub fn push(&mut self, diagnostic: ConfigDiagnostic) {
        let kept = match self
            .kept
            .iter_mut()
            .find(|(kind, _)| *kind == diagnostic.kind)
        {
            Some((_, kept)) => kept,
            None => {
                self.kept.push((diagnostic.kind, 0));
                match self.kept.last_mut() {
                    Some((_, kept)) => kept,
                    None => return,
                }
            }
        };
        let size = size_of::<ConfigDiagnostic>()
            + diagnostic.message.capacity()
            + diagnostic.help.as_ref().map_or(0, String::capacity);
        if *kept >= Unlisted::ALWAYS {
            if self.spent.saturating_add(size) > self.budget {
                self.unlist(&diagnostic);
                return;
            }
            self.spent += size;
        }
        *kept += 1;
        self.list.push(diagnostic);
    }

    fn unlist(&mut self, diagnostic: &ConfigDiagnostic) {
        let same = |u: &&mut Unlisted| {
            (u.kind, u.severity, u.stops_neo4j)
                == (diagnostic.kind, diagnostic.severity, diagnostic.stops_neo4j)
        };
        match self.unlisted.iter_mut().find(same) {
            Some(unlisted) => unlisted.count += 1,
            None => self.unlisted.push(Unlisted {
                kind: diagnostic.kind,
                severity: diagnostic.severity,
                stops_neo4j: diagnostic.stops_neo4j,
                count: 1,
            }),
        }
    }

    /// The warnings in file order, or every error when there is one.
    #[cfg(test)]
    pub fn finish(self, origin: &str, source: &str) -> Result<Vec<ConfigDiagnostic>, ConfigErrors> {
        self.finish_indexed(origin, &LineIndex::new(source))
            .map(|(warnings, _)| warnings)
    }

    /// The warnings in file order and those not kept, or every error when there is one, for
    /// the text `lines`.
    pub fn finish_indexed(
        self,
        origin: &str,
        lines: &LineIndex,
    ) -> Result<(Vec<ConfigDiagnostic>, Vec<Unlisted>), ConfigErrors> {
        let mut list = self.list;
        list.sort_by_key(|d| d.span.start);
        let (errors, warnings): (Vec<_>, Vec<_>) = list
            .into_iter()
            .partition(|d| d.severity == Severity::Error);
        if errors.is_empty() {
            return Ok((warnings, self.unlisted));
        }
        Err(ConfigErrors {
            origin: origin.into(),
            lines: lines.clone(),
            errors,
            warnings: warnings.into(),
            unlisted: self.unlisted.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_places_the_diagnostic_in_the_file() {
        let source = "a=1\ndbms.routing_ttl=soon";
        let d = ConfigDiagnostic::error(
            ConfigDiagnosticKind::InvalidDuration,
            Span::new(21, 25),
            "`soon` is not a duration".into(),
        )
        .with_help("write `300s`, `5m` or `1500ms`");
        assert_eq!(
            d.render("neo4j.conf", source),
            "neo4j.conf:2:18: error: `soon` is not a duration\n  dbms.routing_ttl=soon\n                   ^^^^\n  help: write `300s`, `5m` or `1500ms`"
        );
    }

    #[test]
    fn finish_fails_whole_with_every_error_in_file_order() {
        let mut diagnostics = Diagnostics::default();
        let kind = ConfigDiagnosticKind::InvalidBoolean;
        diagnostics.push(ConfigDiagnostic::error(
            kind,
            Span::new(8, 9),
            "second".into(),
        ));
        diagnostics.push(ConfigDiagnostic::warning(kind, Span::new(4, 5), "w".into()));
        diagnostics.push(ConfigDiagnostic::error(
            kind,
            Span::new(0, 1),
            "first".into(),
        ));
        let errors = diagnostics.finish("c.conf", "a\nb\nc\nd\ne").unwrap_err();
        let messages: Vec<&str> = errors.errors().iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["first", "second"]);
        assert_eq!(errors.warnings().len(), 1);
        assert_eq!(errors.to_string(), "c.conf:1:1: first (and 1 more error)");
        assert_eq!(
            errors.render_all(),
            "c.conf:1:1: error: first\n  a\n  ^\n\nc.conf:5:1: error: second\n  e\n  ^\n\nc.conf:3:1: warning: w\n  c\n  ^"
        );
    }

    /// Issue 22: every diagnostic of a flood was kept (50 MB of one key repeated: 2.5 million
    /// errors, 1.9 GB).
    #[test]
    fn past_the_first_of_each_kind_diagnostics_are_kept_within_the_budget_and_counted() {
        let error = |kind, at| ConfigDiagnostic::error(kind, Span::at(at), "e".into());
        let size = size_of::<ConfigDiagnostic>() + 1;
        let mut diagnostics = Diagnostics::with_budget(3 * size);
        let (repeated, boolean) = (
            ConfigDiagnosticKind::DuplicateKey,
            ConfigDiagnosticKind::InvalidBoolean,
        );
        for at in 0..Unlisted::ALWAYS + 10 {
            diagnostics.push(error(repeated, at));
        }
        for at in 0..Unlisted::ALWAYS + 1 {
            diagnostics.push(error(boolean, at));
        }
        diagnostics.push(ConfigDiagnostic::warning(repeated, Span::at(0), "w".into()));
        let errors = diagnostics.finish("c", "x").expect_err("errors");
        let kept = |kind| errors.errors().iter().filter(|d| d.kind == kind).count();
        assert_eq!(
            kept(repeated),
            Unlisted::ALWAYS + 3,
            "the first, then the budget"
        );
        assert_eq!(
            kept(boolean),
            Unlisted::ALWAYS,
            "the first of each kind, always"
        );
        let unlisted: Vec<String> = errors.unlisted().iter().map(ToString::to_string).collect();
        assert_eq!(
            unlisted,
            [
                "error: 7 more duplicate-key errors, not listed",
                "error: 1 more invalid-boolean error, not listed",
                "warning: 1 more duplicate-key warning, not listed",
            ]
        );
        assert!(errors.to_string().ends_with("(and 210 more errors)"));
        assert!(errors.stops_neo4j());
        assert!(
            errors
                .render_all()
                .ends_with("\n\nc: warning: 1 more duplicate-key warning, not listed")
        );
    }

    #[test]
    fn finish_without_errors_gives_the_warnings() {
        let mut diagnostics = Diagnostics::default();
        let kind = ConfigDiagnosticKind::DuplicateKey;
        diagnostics.push(ConfigDiagnostic::warning(kind, Span::at(0), "w".into()));
        assert_eq!(diagnostics.finish("c", "x").map(|w| w.len()), Ok(1));
    }
}
