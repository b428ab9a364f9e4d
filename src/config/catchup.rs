//! The catch-up settings: the strategy list, the user-defined strategy's policy, and the tags
//! of `connect-randomly-to-server-tags`.
//!
//! Neo4j is lenient here, and so is loading: an unknown strategy name is skipped, and a
//! user-defined policy that does not parse disables its strategy. Both are warnings, with a
//! suggestion for the name; `check` reports the broken policy as an error.

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::keys;
use super::located::{Located, SourceMap};
use super::policies::{lint, parse_diagnostic, uncompilable};
use super::properties::Properties;
use super::values::{tag_list, tag_text};
use crate::compile::compile;
use crate::span::{Severity, Span};
use crate::suggest::closest;
use crate::syntax::Strictness;
use crate::syntax::{self, Policy};
use crate::topology::TagInterner;

/// How a secondary chooses the server it catches up from (docs/routing.md).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatchupSettings {
    /// `server.cluster.catchup.upstream_strategy`: the strategies in preference order, unknown
    /// names included (they have no canonical name).
    pub strategies: Vec<ConfiguredStrategy>,
    /// `server.cluster.catchup.user_defined_upstream_strategy`.
    pub user_defined: UserDefined,
    /// `server.cluster.catchup.connect_randomly_to_server_tags`: the tags of
    /// `connect-randomly-to-server-tags`.
    pub connect_tags: Vec<String>,
}

/// One name of the strategy list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredStrategy {
    /// The name as written.
    pub written: String,
    /// The predefined strategy it names; `None` for an unknown name (warned, and left to the
    /// strategies an embedder registers).
    pub kind: Option<StrategyName>,
    /// Where it is written in the file.
    pub span: Span,
}

/// A predefined catch-up strategy (docs/routing.md), known by its Neo4j 5 name or a 4.x alias.
///
/// ```
/// use tagroute::config::StrategyName;
///
/// let kind = StrategyName::from_written("connect-to-random-core-server");
/// assert_eq!(kind, Some(StrategyName::RandomPrimary));
/// assert_eq!(StrategyName::RandomPrimary.name(), "connect-to-random-primary-server");
/// assert_eq!(StrategyName::from_written("Leader-Only"), None); // names are case-sensitive
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrategyName {
    /// `connect-to-random-primary-server`: a random primary; always asked last.
    RandomPrimary,
    /// `typically-connect-to-random-secondary`: a random secondary, a primary every 10th call.
    TypicallySecondary,
    /// `connect-randomly-to-server-tags`: a random secondary carrying a configured tag.
    ServerTags,
    /// `connect-randomly-within-server-group` (deprecated): a random secondary sharing a tag
    /// with the asking server.
    WithinServerGroup,
    /// `leader-only`: the leader.
    LeaderOnly,
    /// `user-defined`: a random server of the user-defined policy's result.
    UserDefined,
}

impl StrategyName {
    /// Every predefined strategy, in the order of docs/routing.md.
    pub const ALL: [StrategyName; 6] = [
        StrategyName::RandomPrimary,
        StrategyName::TypicallySecondary,
        StrategyName::ServerTags,
        StrategyName::WithinServerGroup,
        StrategyName::LeaderOnly,
        StrategyName::UserDefined,
    ];

    /// The Neo4j 5 name.
    pub fn name(self) -> &'static str {
        match self {
            StrategyName::RandomPrimary => "connect-to-random-primary-server",
            StrategyName::TypicallySecondary => "typically-connect-to-random-secondary",
            StrategyName::ServerTags => "connect-randomly-to-server-tags",
            StrategyName::WithinServerGroup => "connect-randomly-within-server-group",
            StrategyName::LeaderOnly => "leader-only",
            StrategyName::UserDefined => "user-defined",
        }
    }

    /// The older names Neo4j still accepts for it.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            StrategyName::RandomPrimary => &["connect-to-random-core-server"],
            StrategyName::TypicallySecondary => &["typically-connect-to-random-read-replica"],
            StrategyName::ServerTags => &[
                "connect-randomly-to-server-group",
                "connect-randomly-to-server-with-tag",
            ],
            _ => &[],
        }
    }

    /// The strategy written `written` (its name or an alias, case-sensitive as in Neo4j).
    pub fn from_written(written: &str) -> Option<StrategyName> {
        StrategyName::ALL
            .into_iter()
            .find(|kind| kind.name() == written || kind.aliases().contains(&written))
    }

    /// Every name and alias, in the order of [`StrategyName::ALL`].
    pub fn every_written() -> impl Iterator<Item = &'static str> {
        StrategyName::ALL
            .into_iter()
            .flat_map(|kind| std::iter::once(kind.name()).chain(kind.aliases().iter().copied()))
    }
}

impl std::fmt::Display for StrategyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The user-defined strategy's policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum UserDefined {
    /// The key is absent: the strategy never answers.
    #[default]
    Absent,
    /// The value is empty after trimming: the strategy is disabled (a warning).
    Disabled,
    /// The value does not parse: the strategy never answers (a warning at load, an error for
    /// `check`).
    Invalid {
        /// The trimmed value.
        text: String,
        /// Why it does not parse, placed in the file.
        error: ConfigDiagnostic,
    },
    /// A policy the strategy applies.
    Valid {
        /// The trimmed value, as Neo4j reads this key.
        text: String,
        /// The parsed policy; its spans are offsets in `text`.
        policy: Policy,
        /// Where the bytes of `text` are in the file.
        source_map: SourceMap,
    },
}

/// Reads the catch-up settings; their problems are warnings, except invalid tags.
pub(super) fn read(
    properties: &Properties,
    strictness: Strictness,
    diagnostics: &mut Diagnostics,
) -> CatchupSettings {
    let strategies = strategies(properties, diagnostics);
    let user_defined = user_defined(properties, strictness, diagnostics);
    let connect_tags = keys::CONNECT_TAGS
        .lookup(properties, diagnostics)
        .map(|p| {
            let tags = tag_list(&p.value, diagnostics);
            tags.iter()
                .map(|t| tag_text(&p.value, t).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let settings = CatchupSettings {
        strategies,
        user_defined,
        connect_tags,
    };
    check_configured(&settings, diagnostics);
    settings
}

fn strategies(properties: &Properties, diagnostics: &mut Diagnostics) -> Vec<ConfiguredStrategy> {
    let Some(property) = keys::UPSTREAM_STRATEGY.lookup(properties, diagnostics) else {
        return Vec::new();
    };
    let strategies: Vec<ConfiguredStrategy> = property
        .value
        .list_items()
        .into_iter()
        .map(|item| ConfiguredStrategy {
            kind: StrategyName::from_written(&item.text),
            span: item.span(),
            written: item.text.into_owned(),
        })
        .collect();
    for strategy in &strategies {
        if let Some(diagnostic) = check_name(strategy) {
            diagnostics.push(diagnostic);
        }
    }
    strategies
}

/// A warning for an unknown name (with the closest known one) or a 4.x alias.
fn check_name(strategy: &ConfiguredStrategy) -> Option<ConfigDiagnostic> {
    let written = &strategy.written;
    match strategy.kind {
        Some(kind) if kind.name() == written => None,
        Some(canonical) => Some(
            ConfigDiagnostic::warning(
                Kind::DeprecatedStrategyName,
                strategy.span,
                format!("`{written}` is the deprecated name of `{canonical}`"),
            )
            .with_help(format!("use `{canonical}`")),
        ),
        None => {
            let warning = ConfigDiagnostic::warning(
                Kind::UnknownStrategy,
                strategy.span,
                format!("unknown upstream strategy `{written}` is ignored"),
            );
            let known = StrategyName::every_written();
            Some(match closest(written, known) {
                Some(name) => warning.with_help(format!("did you mean `{name}`?")),
                None => warning,
            })
        }
    }
}

fn user_defined(
    properties: &Properties,
    strictness: Strictness,
    diagnostics: &mut Diagnostics,
) -> UserDefined {
    let Some(property) = keys::USER_DEFINED.lookup(properties, diagnostics) else {
        return UserDefined::Absent;
    };
    let value = property.value.trim();
    if value.text.is_empty() {
        diagnostics.push(ConfigDiagnostic::warning(
            Kind::UserDefinedDisabled,
            property.key.span(),
            "the user-defined upstream policy is empty, which disables the strategy".into(),
        ));
        return UserDefined::Disabled;
    }
    parse_user_defined(value, strictness, diagnostics)
}

fn parse_user_defined(
    value: Located,
    strictness: Strictness,
    diagnostics: &mut Diagnostics,
) -> UserDefined {
    const NAME: &str = super::policies::USER_DEFINED_NAME;
    match syntax::parse(&value.text, strictness) {
        Ok(policy) => {
            lint(NAME, &policy, &value, diagnostics);
            if let Err(cause) = compile(&policy, &TagInterner::new()) {
                // Neo4j would run it, so a warning, as for a policy that does not parse.
                let mut error = uncompilable(NAME, &cause, &value);
                error.severity = Severity::Warning;
                error.message = format!(
                    "policy `{NAME}`: {cause}; tagroute's strategy never answers (Neo4j 5 \
                     would run it)"
                );
                diagnostics.push(error.clone());
                return UserDefined::Invalid {
                    text: value.text.into_owned(),
                    error,
                };
            }
            UserDefined::Valid {
                text: value.text.into_owned(),
                policy,
                source_map: value.map.into_owned(),
            }
        }
        Err(error) => {
            let message = format!("policy `{NAME}`: {error}; the strategy never answers");
            let error = parse_diagnostic(Kind::InvalidUserDefined, &error, &value, message);
            diagnostics.push(error.clone());
            UserDefined::Invalid {
                text: value.text.into_owned(),
                error,
            }
        }
    }
}

/// Warns about strategies listed without the setting they need.
fn check_configured(settings: &CatchupSettings, diagnostics: &mut Diagnostics) {
    for strategy in &settings.strategies {
        let missing = match strategy.kind {
            Some(StrategyName::UserDefined) if settings.user_defined == UserDefined::Absent => {
                keys::USER_DEFINED.key
            }
            Some(StrategyName::ServerTags) if settings.connect_tags.is_empty() => {
                keys::CONNECT_TAGS.key
            }
            _ => continue,
        };
        diagnostics.push(
            ConfigDiagnostic::warning(
                Kind::StrategyNotConfigured,
                strategy.span,
                format!("`{}` never answers without `{missing}`", strategy.written),
            )
            .with_help(format!("set `{missing}`, or remove the strategy")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::properties::read as read_properties;
    use crate::config::testing::{every_diagnostic, position, under};
    use crate::span::Severity;
    use crate::syntax::LintKind;

    const STRATEGY: &str = "server.cluster.catchup.upstream_strategy";
    const USER_DEFINED: &str = "server.cluster.catchup.user_defined_upstream_strategy";

    fn catchup(source: &str) -> (CatchupSettings, Vec<ConfigDiagnostic>) {
        let mut diagnostics = Diagnostics::default();
        let properties = read_properties(source, &mut diagnostics);
        let settings = read(&properties, Strictness::Default, &mut diagnostics);
        let diagnostics = every_diagnostic(diagnostics, source);
        (settings, diagnostics)
    }

    #[test]
    fn strategies_keep_order_aliases_and_unknown_names() {
        let source = format!("{STRATEGY}=leader-only, connect-to-random-core-server,,round-robin");
        let (settings, diagnostics) = catchup(&source);
        let found: Vec<(&str, Option<&str>, &str)> = settings
            .strategies
            .iter()
            .map(|s| {
                (
                    s.written.as_str(),
                    s.kind.map(StrategyName::name),
                    under(&source, s.span),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("leader-only", Some("leader-only"), "leader-only"),
                (
                    "connect-to-random-core-server",
                    Some("connect-to-random-primary-server"),
                    "connect-to-random-core-server"
                ),
                ("round-robin", None, "round-robin"),
            ]
        );
        let kinds: Vec<Kind> = diagnostics.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [Kind::DeprecatedStrategyName, Kind::UnknownStrategy]);
        assert_eq!(diagnostics[1].help, None);
    }

    #[test]
    fn an_unknown_strategy_suggests_the_closest_name() {
        let source = format!("{USER_DEFINED}=tags(a)\n{STRATEGY}=user_defined");
        let (settings, diagnostics) = catchup(&source);
        assert_eq!(settings.strategies[0].kind, None);
        assert_eq!(diagnostics.len(), 1);
        let d = &diagnostics[0];
        assert_eq!(
            (d.kind, d.severity),
            (Kind::UnknownStrategy, Severity::Warning)
        );
        assert_eq!(
            d.message,
            "unknown upstream strategy `user_defined` is ignored"
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `user-defined`?"));
        assert_eq!(position(&source, d.span), "2:42");
    }

    #[test]
    fn the_user_defined_policy_is_trimmed_and_parsed() {
        let source = format!("{USER_DEFINED}=  tags(north2); tags(north); halt(); \t");
        let (settings, diagnostics) = catchup(&source);
        let UserDefined::Valid {
            text,
            policy,
            source_map,
        } = &settings.user_defined
        else {
            panic!("expected a valid policy, got {:?}", settings.user_defined);
        };
        assert_eq!(text, "tags(north2); tags(north); halt();");
        assert_eq!(policy.to_string(), "tags(north2); tags(north); halt()");
        assert_eq!(
            under(&source, source_map.file_span(Span::new(0, 4))),
            "tags"
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
    }

    #[test]
    fn an_empty_user_defined_policy_disables_the_strategy() {
        let source = format!("{USER_DEFINED}= \t ");
        let (settings, diagnostics) = catchup(&source);
        assert_eq!(settings.user_defined, UserDefined::Disabled);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].kind, Kind::UserDefinedDisabled);
        assert_eq!(diagnostics[0].severity, Severity::Warning);
        assert_eq!(catchup("").0.user_defined, UserDefined::Absent);
    }

    #[test]
    fn an_invalid_user_defined_policy_is_a_warning_at_load() {
        let source = format!("{USER_DEFINED}=tags(a), tags(b)");
        let (settings, diagnostics) = catchup(&source);
        let UserDefined::Invalid { text, error } = &settings.user_defined else {
            panic!(
                "expected an invalid policy, got {:?}",
                settings.user_defined
            );
        };
        assert_eq!(text, "tags(a), tags(b)");
        assert_eq!(diagnostics, std::slice::from_ref(error));
        assert_eq!(
            (error.kind, error.severity),
            (Kind::InvalidUserDefined, Severity::Warning)
        );
        assert_eq!(under(&source, error.span), ",");
        assert_eq!(position(&source, error.span), "1:62");
        assert_eq!(
            error.help.as_deref(),
            Some("rules are separated by `;`, not `,`")
        );
    }

    #[test]
    fn user_defined_lints_are_warnings() {
        let source = format!("{USER_DEFINED}=groups(a)");
        let (_, diagnostics) = catchup(&source);
        assert_eq!(
            diagnostics[0].kind,
            Kind::PolicyLint(LintKind::DeprecatedGroups)
        );
        assert_eq!(under(&source, diagnostics[0].span), "groups");
    }

    #[test]
    fn strategies_without_their_setting_are_warned() {
        let source = format!("{STRATEGY}=user-defined,connect-randomly-to-server-tags");
        let (_, diagnostics) = catchup(&source);
        let found: Vec<(Kind, &str)> = diagnostics
            .iter()
            .map(|d| (d.kind, under(&source, d.span)))
            .collect();
        assert_eq!(
            found,
            [
                (Kind::StrategyNotConfigured, "user-defined"),
                (
                    Kind::StrategyNotConfigured,
                    "connect-randomly-to-server-tags"
                )
            ]
        );
    }

    #[test]
    fn connect_tags_and_the_deprecated_group_key() {
        let tags = "server.cluster.catchup.connect_randomly_to_server_tags";
        let group = "server.cluster.catchup.connect_randomly_to_server_group";
        let (settings, diagnostics) = catchup(&format!("{group}=a, b"));
        assert_eq!(settings.connect_tags, ["a", "b"]);
        assert_eq!(diagnostics[0].kind, Kind::DeprecatedKey);
        let (settings, diagnostics) = catchup(&format!("{group}=a\n{tags}=c,"));
        assert_eq!(settings.connect_tags, ["c"]);
        assert_eq!(diagnostics[0].kind, Kind::DeprecatedKeyOverridden);
        let (settings, diagnostics) = catchup(&format!("{tags}=c,d e"));
        assert_eq!(settings.connect_tags, ["c"]);
        assert_eq!(diagnostics[0].kind, Kind::InvalidTag);
    }
    #[test]
    fn a_user_defined_policy_tagroute_cannot_compile_is_a_warning_and_never_answers() {
        let tags: Vec<String> = (0..65_536).map(|i| format!("x{i}")).collect();
        let source = format!(
            "server.cluster.catchup.user_defined_upstream_strategy=tags({})\n",
            tags.join(",")
        );
        let mut diagnostics = Diagnostics::default();
        let settings = read(
            &read_properties(&source, &mut diagnostics),
            Strictness::Default,
            &mut diagnostics,
        );
        assert!(
            matches!(settings.user_defined, UserDefined::Invalid { .. }),
            "{:?}",
            settings.user_defined
        );
        let warnings = diagnostics.finish("neo4j.conf", &source).expect("loads");
        let warning = warnings
            .iter()
            .find(|w| w.kind == Kind::UncompilablePolicy)
            .expect("a warning");
        assert!(
            warning
                .message
                .contains("a filter names more than 65535 tags; tagroute's strategy never answers"),
            "{}",
            warning.message
        );
        assert!(under(&source, warning.span).starts_with("tags(x0,x1,"));
    }
}

#[cfg(test)]
mod strategy_name_tests {
    use super::StrategyName;

    #[test]
    fn aliases_resolve_to_the_neo4j_5_names() {
        let cases = [
            ("connect-to-random-core-server", StrategyName::RandomPrimary),
            (
                "typically-connect-to-random-read-replica",
                StrategyName::TypicallySecondary,
            ),
            ("connect-randomly-to-server-group", StrategyName::ServerTags),
            (
                "connect-randomly-to-server-with-tag",
                StrategyName::ServerTags,
            ),
            ("user-defined", StrategyName::UserDefined),
        ];
        for (written, kind) in cases {
            assert_eq!(StrategyName::from_written(written), Some(kind), "{written}");
        }
    }

    #[test]
    fn unknown_and_miscased_names_are_no_strategy() {
        for written in ["user_defined", "Leader-Only", ""] {
            assert_eq!(StrategyName::from_written(written), None, "{written}");
        }
    }

    #[test]
    fn every_name_reads_back_as_itself() {
        for kind in StrategyName::ALL {
            assert_eq!(StrategyName::from_written(kind.name()), Some(kind));
        }
        assert_eq!(StrategyName::every_written().count(), 10);
    }
}
