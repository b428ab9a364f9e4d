//! The load-balancing policies: `dbms.routing.load_balancing.config.server_policies.<name>`.
//!
//! Each value is parsed as Neo4j reads it (leading blanks removed, trailing ones kept), with the
//! caller's [`Strictness`]. A policy that does not parse is an error placed in the file through
//! line continuations; a policy that parses keeps its lints as warnings. `default` always
//! exists: `all()` unless the file configures it.

use std::cell::Cell;
use std::collections::BTreeMap;

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::keys;
use super::located::{Located, SourceMap};
use super::properties::{Properties, Property};
use crate::bytecode::Program;
use crate::compile::{CompileError, compile_staged, compile_unplaced};
use crate::span::Span;
use crate::syntax::Strictness;
use crate::syntax::{self, Lint, LintKind, ParseError, Policy, Rule, Rules};
use crate::topology::{TagInterner, TagStage};

/// The name of the policy a client gets when it names none.
pub const DEFAULT_POLICY: &str = "default";

/// A named load-balancing policy, and where its text is in the file.
///
/// The syntax tree is not kept: a policy of a million rules would keep a tree ten times the
/// size of its text. [`ConfiguredPolicy::policy`] parses the text again, and the loader and
/// the compiler read it a rule at a time.
#[derive(Clone, Debug)]
pub struct ConfiguredPolicy {
    /// The name, case-sensitive, as written in the key.
    pub name: String,
    // INVARIANT: `text` parses with `strictness` (it did when it was loaded, and neither
    // changes).
    text: String,
    strictness: Strictness,
    origin: PolicyOrigin,
}

/// Equal when the names, texts and places are: the text decides the tree.
impl PartialEq for ConfiguredPolicy {
    fn eq(&self, other: &ConfiguredPolicy) -> bool {
        (&self.name, &self.text, &self.origin) == (&other.name, &other.text, &other.origin)
    }
}
impl Eq for ConfiguredPolicy {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PolicyOrigin {
    /// The `default` policy that no file configured.
    Builtin,
    File {
        key: Span,
        map: SourceMap,
    },
}

impl ConfiguredPolicy {
    /// The value as Neo4j reads it: leading blanks removed, trailing ones kept, continuations
    /// joined.
    ///
    /// ```
    /// use std::path::Path;
    /// use tagroute::Strictness;
    /// use tagroute::config::Config;
    ///
    /// let text = "dbms.routing.load_balancing.config.server_policies.north=  tags(north); \\\n  halt()\n";
    /// let config = Config::parse(text, Path::new("neo4j.conf"), Strictness::Default)?;
    /// assert_eq!(config.policy("north").map(|p| p.text()), Some("tags(north); halt()"));
    /// # Ok::<(), tagroute::config::ConfigErrors>(())
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed policy, its spans offsets in [`ConfiguredPolicy::text`]: parsed again at
    /// each call, as the tree is not kept.
    ///
    /// ```
    /// use std::path::Path;
    /// use tagroute::Strictness;
    /// use tagroute::config::Config;
    ///
    /// let text = "dbms.routing.load_balancing.config.server_policies.north=tags(north)->min(2)";
    /// let config = Config::parse(text, Path::new("neo4j.conf"), Strictness::Default)?;
    /// let policy = config.policy("north").map(|p| p.policy());
    /// assert_eq!(policy.map(|p| p.rules.len()), Some(1));
    /// # Ok::<(), tagroute::config::ConfigErrors>(())
    /// ```
    #[expect(
        clippy::expect_used,
        reason = "the text parsed with this strictness when it was loaded, and neither changes"
    )]
    pub fn policy(&self) -> Policy {
        syntax::parse(&self.text, self.strictness).expect("a configured policy's text parses")
    }

    /// Whether the two policies return the same servers from every topology: the same
    /// [normal form](crate::syntax::Normalized), compared a rule at a time.
    pub(crate) fn decides_like(&self, other: &ConfiguredPolicy) -> bool {
        let (halts, other_halts) = (Cell::new(false), Cell::new(false));
        let mine = self
            .rules()
            .inspect(|rule| halts.set(halts.get() || rule.is_halt()))
            .filter_map(|rule| rule.normalize());
        let theirs = other
            .rules()
            .inspect(|rule| other_halts.set(other_halts.get() || rule.is_halt()))
            .filter_map(|rule| rule.normalize());
        // Rules found equal were read to the end of both, so every `halt()` was seen.
        mine.eq(theirs) && halts.get() == other_halts.get()
    }

    /// The rules of the policy, parsed one at a time.
    pub(crate) fn rules(&self) -> impl Iterator<Item = Rule> + '_ {
        // INVARIANT: the text parses, so no error ends the rules early.
        Rules::new(&self.text, self.strictness).map_while(Result::ok)
    }

    /// Where the bytes `span_in_text` of [`ConfiguredPolicy::text`] are in the file. The
    /// built-in default has no place in a file: the empty span at 0.
    pub fn file_span(&self, span_in_text: Span) -> Span {
        match &self.origin {
            PolicyOrigin::Builtin => Span::at(0),
            PolicyOrigin::File { map, .. } => map.file_span(span_in_text),
        }
    }

    /// Where the policy's key is in the file; `None` for the built-in default.
    pub fn key_span(&self) -> Option<Span> {
        match &self.origin {
            PolicyOrigin::Builtin => None,
            PolicyOrigin::File { key, .. } => Some(*key),
        }
    }

    /// Whether this is the built-in `default` (`all()`), which no file configured.
    pub fn is_builtin(&self) -> bool {
        self.origin == PolicyOrigin::Builtin
    }

    /// The built-in `default`: `all()`.
    fn builtin_default() -> ConfiguredPolicy {
        ConfiguredPolicy {
            name: DEFAULT_POLICY.to_owned(),
            text: "all()".to_owned(),
            strictness: Strictness::Strict,
            origin: PolicyOrigin::Builtin,
        }
    }
}

/// Reads every configured policy, and adds the built-in `default` when none is configured.
/// A policy with an invalid name or text is reported and left out. Whether they compile is
/// [`refuse_uncompilable`]'s to say, once the file's properties are let go.
pub(super) fn read(
    properties: &Properties,
    strictness: Strictness,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, ConfiguredPolicy> {
    let mut policies = BTreeMap::new();
    for name in keys::POLICY.names(properties) {
        let Some(property) = keys::POLICY.lookup_named(properties, &name, diagnostics) else {
            continue;
        };
        let name_ok = check_name(&name, &property, diagnostics);
        let policy = read_policy(&name, &property, strictness, diagnostics);
        if let (true, Some(policy)) = (name_ok, policy) {
            policies.insert(name, policy);
        }
    }
    policies
        .entry(DEFAULT_POLICY.to_owned())
        .or_insert_with(ConfiguredPolicy::builtin_default);
    policies
}

/// Reports the first policy that cannot be compiled with the others as one generation
/// ([`check_generation`], against an empty interner: every tag new), and leaves every policy
/// out, as routing would refuse the whole configuration.
pub(super) fn refuse_uncompilable(
    policies: &mut BTreeMap<String, ConfiguredPolicy>,
    diagnostics: &mut Diagnostics,
) {
    if let Err(failure) = check_generation(policies, &TagInterner::new()) {
        diagnostics.push(failure.diagnostic());
        policies.clear();
    }
}

/// A policy that does not compile as part of its generation.
#[derive(Clone, Debug)]
pub(crate) struct GenerationFailure<'p> {
    /// The policy that failed (the first, in name order, as routing compiles them).
    pub policy: &'p ConfiguredPolicy,
    /// Why.
    pub error: CompileError,
}

impl GenerationFailure<'_> {
    /// The error, placed at the policy: tagroute cannot serve the configuration; Neo4j 5 would
    /// start with it.
    pub(crate) fn diagnostic(&self) -> ConfigDiagnostic {
        let name = &self.policy.name;
        let span = match self.error {
            CompileError::FilterTooWide(span) => self.policy.file_span(span),
            _ => self.policy.key_span().unwrap_or_default(),
        };
        let scope = match self.error {
            CompileError::TooManyTags(_) => " (with the policies before it, in name order)",
            _ => "",
        };
        ConfigDiagnostic::error(
            Kind::UncompilablePolicy,
            span,
            format!("policy `{name}`{scope}: {}; tagroute cannot serve this configuration (Neo4j 5 would start with it)", self.error),
        )
        .stopping_neo4j(false)
    }
}

/// Compiles every policy of a configuration as one generation against `interner`, as the
/// routing service does when it loads or reloads them: one stage, so that the tags of all the
/// policies count together, never committed, so that the interner is left as it was. This is
/// the one place that decides whether a configuration's policies can be served: loading runs
/// it against an empty interner (every tag new), `check --topology` against the topology's,
/// and the routing service keeps each program `each` is handed, in name order.
pub(crate) fn compile_generation<'p>(
    policies: &'p BTreeMap<String, ConfiguredPolicy>,
    interner: &TagInterner,
    each: impl FnMut(&'p ConfiguredPolicy, Program),
) -> Result<(), GenerationFailure<'p>> {
    let compile =
        |policy: &ConfiguredPolicy, stage: &mut TagStage<'_>| compile_staged(policy.rules(), stage);
    generation(policies, interner, compile, each)
}

/// [`compile_generation`] for a caller that only asks whether the policies compile (loading,
/// `check --topology`): the same decision, and each program let go as soon as it is made,
/// without the origins of its instructions.
pub(crate) fn check_generation<'p>(
    policies: &'p BTreeMap<String, ConfiguredPolicy>,
    interner: &TagInterner,
) -> Result<(), GenerationFailure<'p>> {
    let compile = |policy: &ConfiguredPolicy, stage: &mut TagStage<'_>| {
        compile_unplaced(policy.rules(), stage)
    };
    generation(policies, interner, compile, |_, _| {})
}

fn generation<'p>(
    policies: &'p BTreeMap<String, ConfiguredPolicy>,
    interner: &TagInterner,
    compile: impl Fn(&ConfiguredPolicy, &mut TagStage<'_>) -> Result<Program, CompileError>,
    mut each: impl FnMut(&'p ConfiguredPolicy, Program),
) -> Result<(), GenerationFailure<'p>> {
    let mut stage = interner.stage();
    for policy in policies.values() {
        match compile(policy, &mut stage) {
            Ok(program) => each(policy, program),
            Err(error) => return Err(GenerationFailure { policy, error }),
        }
    }
    Ok(())
}

/// Whether `name` may name a policy: an error for an empty name or one with `.` or whitespace
/// (a character up to U+0020, as Neo4j trims; U+00A0 is not whitespace, and Neo4j starts with
/// such a name), a warning for any other character outside `[A-Za-z0-9_]`.
fn check_name(name: &str, property: &Property, diagnostics: &mut Diagnostics) -> bool {
    let key = &property.key;
    let span = key
        .slice(key.text.len() - name.len()..key.text.len())
        .span();
    let invalid = name.is_empty() || name.chars().any(|c| c == '.' || syntax::is_whitespace(c));
    if invalid {
        diagnostics.push(
            ConfigDiagnostic::error(
                Kind::InvalidPolicyName,
                span,
                format!("`{name}` is not a valid policy name"),
            )
            .with_help("a policy name is made of letters, digits and `_`"),
        );
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        diagnostics.push(
            ConfigDiagnostic::warning(
                Kind::UnusualPolicyName,
                span,
                format!("policy name `{name}` has characters Neo4j 5 does not document"),
            )
            .with_help("Neo4j 5 documents letters, digits and `_` in policy names"),
        );
    }
    !invalid
}

/// The policy, linted: parsed a rule at a time, and never held whole.
fn read_policy(
    name: &str,
    property: &Property,
    strictness: Strictness,
    diagnostics: &mut Diagnostics,
) -> Option<ConfiguredPolicy> {
    let value = &property.value;
    let linted = syntax::lint_text(&value.text, strictness, |lint| {
        diagnostics.push(lint_diagnostic(name, lint, value));
    });
    match linted {
        Ok(()) => Some(ConfiguredPolicy {
            name: name.to_owned(),
            text: value.text.to_string(),
            strictness,
            origin: PolicyOrigin::File {
                key: property.key.span(),
                map: SourceMap::clone(&value.map),
            },
        }),
        Err(error) => {
            let message = format!("policy `{name}`: {error}");
            diagnostics.push(parse_diagnostic(
                Kind::InvalidPolicy,
                &error,
                value,
                message,
            ));
            None
        }
    }
}

/// The error for a policy that parses but that tagroute cannot compile (a filter of more than
/// 65,535 tags): loading refuses what routing would refuse, so that a configuration that loads
/// (and that `check` passes) is one tagroute can serve. Neo4j 5 would start with it.
pub(super) fn uncompilable(name: &str, error: &CompileError, value: &Located) -> ConfigDiagnostic {
    let span = match error {
        CompileError::FilterTooWide(span) => value.file_span(*span),
        _ => value.span(),
    };
    ConfigDiagnostic::error(
        Kind::UncompilablePolicy,
        span,
        format!("policy `{name}`: {error}; tagroute cannot serve it (Neo4j 5 would start with it)"),
    )
    .stopping_neo4j(false)
}

/// The diagnostic for a policy that does not parse, placed in the file; an error unless it is
/// the user-defined strategy's, which Neo4j runs with.
pub(super) fn parse_diagnostic(
    kind: Kind,
    error: &ParseError,
    value: &Located,
    message: String,
) -> ConfigDiagnostic {
    let span = value.file_span(error.span());
    let diagnostic = if kind == Kind::InvalidUserDefined {
        ConfigDiagnostic::warning(kind, span, message)
    } else {
        ConfigDiagnostic::error(kind, span, message)
    };
    match error.help() {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

/// The policy's lints, as warnings placed in the file.
///
/// Whitespace that Neo4j rejects is where tagroute is more lenient (docs/differences.md): the
/// warning says what Neo4j does with such a policy. A load-balancing policy Neo4j rejects stops
/// it from starting; a user-defined strategy's only disables the strategy.
pub(super) fn lint(name: &str, policy: &Policy, value: &Located, diagnostics: &mut Diagnostics) {
    syntax::lint_each(policy, |lint| {
        diagnostics.push(lint_diagnostic(name, lint, value));
    });
}

/// One lint of the policy `name`, as a warning placed in the file.
fn lint_diagnostic(name: &str, lint: Lint, value: &Located) -> ConfigDiagnostic {
    let load_balancing = name != USER_DEFINED_NAME;
    let mut message = format!("policy `{name}`: {}", lint.message);
    let neo4j_rejects = lint.kind == LintKind::Neo4jCompat;
    if neo4j_rejects {
        message.push_str(if load_balancing {
            "; Neo4j 5 refuses to start with this policy, tagroute serves it (strict mode refuses it too)"
        } else {
            "; Neo4j 5 rejects this policy and its strategy never answers, tagroute applies it"
        });
    }
    ConfigDiagnostic::warning(
        Kind::PolicyLint(lint.kind),
        value.file_span(lint.span),
        message,
    )
    .stopping_neo4j(neo4j_rejects && load_balancing)
}

/// The name under which the user-defined strategy's policy is reported.
pub(super) const USER_DEFINED_NAME: &str = "user-defined";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::properties::read as read_properties;
    use crate::config::testing::{every_diagnostic, position, summary, under};
    use crate::syntax::LintKind;

    const PREFIX: &str = "dbms.routing.load_balancing.config.server_policies.";

    fn policies(
        source: &str,
        strictness: Strictness,
    ) -> (BTreeMap<String, ConfiguredPolicy>, Vec<ConfigDiagnostic>) {
        let mut diagnostics = Diagnostics::default();
        let properties = read_properties(source, &mut diagnostics);
        let mut policies = read(&properties, strictness, &mut diagnostics);
        refuse_uncompilable(&mut policies, &mut diagnostics);
        let diagnostics = every_diagnostic(diagnostics, source);
        (policies, diagnostics)
    }

    #[test]
    fn default_is_all_unless_configured() {
        let (found, diagnostics) = policies("", Strictness::Default);
        let default = &found["default"];
        assert!(default.is_builtin());
        assert_eq!(default.text, "all()");
        assert_eq!(default.policy().to_string(), "all()");
        assert_eq!(default.key_span(), None);
        assert!(diagnostics.is_empty());

        let source = format!("{PREFIX}default=tags(a)");
        let (found, _) = policies(&source, Strictness::Default);
        assert!(!found["default"].is_builtin());
        assert_eq!(found["default"].policy().to_string(), "tags(a)");
        assert_eq!(
            under(&source, found["default"].key_span().unwrap()),
            &source[..58]
        );
    }

    #[test]
    fn the_text_is_what_neo4j_reads() {
        let source = format!("{PREFIX}north =  tags(north) ; \\\n   halt(); \n");
        let (found, _) = policies(&source, Strictness::Default);
        assert_eq!(found["north"].text, "tags(north) ; halt(); ");
        let (found, diagnostics) = policies(&source, Strictness::Strict);
        assert!(!found.contains_key("north"));
        assert_eq!(
            summary(&source, &diagnostics),
            [(Kind::InvalidPolicy, " ".to_owned(), "2:11".to_owned())]
        );
    }

    #[test]
    fn a_parse_error_is_placed_in_the_file_through_continuations() {
        let source =
            format!("# policies\n{PREFIX}north=tags(north1) -> min(2); \\\n    tgas(north)\n");
        let (found, diagnostics) = policies(&source, Strictness::Default);
        assert!(!found.contains_key("north"));
        let d = &diagnostics[0];
        assert_eq!(d.kind, Kind::InvalidPolicy);
        assert_eq!(d.message, "policy `north`: unknown filter `tgas`");
        assert_eq!(d.help.as_deref(), Some("did you mean `tags`?"));
        assert_eq!(under(&source, d.span), "tgas");
        assert_eq!(
            d.render("neo4j.conf", &source),
            "neo4j.conf:3:5: error: policy `north`: unknown filter `tgas`\n      tgas(north)\n      ^^^^\n  help: did you mean `tags`?"
        );
    }

    #[test]
    fn file_span_maps_a_span_of_the_text() {
        let source = format!("{PREFIX}p=tags(a);\\\n  tags(b)");
        let (found, _) = policies(&source, Strictness::Default);
        let p = &found["p"];
        assert_eq!(p.text, "tags(a);tags(b)");
        let b = p.text.find('b').unwrap();
        let span = p.file_span(Span::new(b, b + 1));
        assert_eq!(
            (under(&source, span), position(&source, span)),
            ("b", "2:8".to_owned())
        );
    }

    #[test]
    fn lints_become_warnings_in_the_file() {
        let source = format!("{PREFIX}p=groups(a)->min(1)");
        let (found, diagnostics) = policies(&source, Strictness::Default);
        assert!(found.contains_key("p"));
        assert_eq!(
            summary(&source, &diagnostics),
            [
                (
                    Kind::PolicyLint(LintKind::DeprecatedGroups),
                    "groups".to_owned(),
                    "1:54".to_owned()
                ),
                (
                    Kind::PolicyLint(LintKind::NoOpMin),
                    "min(1)".to_owned(),
                    "1:65".to_owned()
                ),
            ]
        );
        assert_eq!(
            diagnostics[0].message,
            "policy `p`: `groups()` is deprecated; use `tags()`"
        );
    }

    #[test]
    fn policy_names_are_case_sensitive_and_checked() {
        let source = format!(
            "{PREFIX}North=tags(n)\n{PREFIX}north=tags(m)\n{PREFIX}a.b=all()\n{PREFIX}my\\ policy=all()\n{PREFIX}=all()\n{PREFIX}eu-west=all()\n"
        );
        let (found, diagnostics) = policies(&source, Strictness::Default);
        let names: Vec<&str> = found.keys().map(String::as_str).collect();
        assert_eq!(names, ["North", "default", "eu-west", "north"]);
        assert_eq!(found["North"].policy().to_string(), "tags(n)");
        assert_eq!(
            summary(&source, &diagnostics),
            [
                (Kind::InvalidPolicyName, "a.b".to_owned(), "3:52".to_owned()),
                (
                    Kind::InvalidPolicyName,
                    "my\\ policy".to_owned(),
                    "4:52".to_owned()
                ),
                (Kind::InvalidPolicyName, String::new(), "5:52".to_owned()),
                (
                    Kind::UnusualPolicyName,
                    "eu-west".to_owned(),
                    "6:52".to_owned()
                ),
            ]
        );
        assert_eq!(diagnostics[0].severity, crate::span::Severity::Error);
        assert_eq!(diagnostics[3].severity, crate::span::Severity::Warning);
    }

    #[test]
    fn a_policy_routing_cannot_compile_does_not_load() {
        let tags: Vec<String> = (0..65_536).map(|i| format!("t{i}")).collect();
        let source = format!(
            "{PREFIX}wide=tags({})\n{PREFIX}ok=tags(a)\n",
            tags.join(",")
        );
        let (found, diagnostics) = policies(&source, Strictness::Default);
        assert!(found.is_empty(), "the configuration does not load");
        assert_eq!(diagnostics.len(), 1);
        let d = &diagnostics[0];
        assert_eq!(
            (d.kind, d.severity, d.stops_neo4j),
            (
                Kind::UncompilablePolicy,
                crate::span::Severity::Error,
                false
            )
        );
        assert!(under(&source, d.span).starts_with("tags(t0,t1,"));
        assert_eq!(
            d.message,
            "policy `wide`: a filter names more than 65535 tags; tagroute cannot serve this configuration (Neo4j 5 would start with it)"
        );
        // As many tags as one filter may name compile, however many are new.
        let source = format!("{PREFIX}wide=tags({})\n", tags[..65_535].join(","));
        assert!(
            policies(&source, Strictness::Default)
                .0
                .contains_key("wide")
        );
    }

    /// The policies compile as one generation, as routing compiles them: their new tags count
    /// together but meet no cap (issue 22: 4,096 per change was one), so two policies of 3,000
    /// new tags each load; a policy that cannot compile is named and nothing loads.
    #[test]
    fn policies_compile_as_one_generation() {
        let tags = |from: usize, count: usize| {
            (from..from + count)
                .map(|i| format!("t{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let two = format!(
            "{PREFIX}a=tags({})\n{PREFIX}b=tags({})\n",
            tags(0, 3_000),
            tags(3_000, 3_000)
        );
        let (found, diagnostics) = policies(&two, Strictness::Default);
        assert!(
            found.contains_key("a") && found.contains_key("b"),
            "{diagnostics:?}"
        );
        let wide = format!("{two}{PREFIX}c=tags({})\n", tags(0, 65_536));
        let (found, diagnostics) = policies(&wide, Strictness::Default);
        assert!(found.is_empty());
        assert_eq!(diagnostics[0].kind, Kind::UncompilablePolicy);
        assert!(
            diagnostics[0]
                .message
                .starts_with("policy `c`: a filter names more than 65535 tags"),
            "{}",
            diagnostics[0].message
        );
    }

    /// A policy name ending in U+00A0 (the bytes C2 A0 read as ISO-8859-1): Neo4j starts with
    /// it (U+00A0 is no whitespace to its trimming), so it is only an unusual name here.
    #[test]
    fn a_name_ending_in_a_non_breaking_space_is_not_an_error() {
        let source = format!("{PREFIX}p\u{c2}\u{a0}=tags(a)\n");
        for strictness in [Strictness::Default, Strictness::Strict] {
            let (found, diagnostics) = policies(&source, strictness);
            assert!(found.contains_key("p\u{c2}\u{a0}"), "{diagnostics:?}");
            let kinds: Vec<Kind> = diagnostics.iter().map(|d| d.kind).collect();
            assert_eq!(kinds, [Kind::UnusualPolicyName]);
        }
    }
}
