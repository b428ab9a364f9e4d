//! Warnings about valid policies: values with a kind and a span, never printed here.
//!
//! Some lints read the text alone (deprecated `groups()`, dead rules, no-op `min`, duplicate
//! rules, a halt-only policy, a stray `(`, `neo4j-compat`); two need to know the cluster (tags no
//! server carries, `min(n)` above what could ever match), which they learn through
//! [`TagCensus`], so this module stays free of the topology's types.

use std::collections::BTreeSet;
use std::fmt;

use rustc_hash::FxHashSet;

use super::tree::{FilterKind, NormalFilter, NormalRule, Policy, Rule, TagsSpelling};
use crate::span::Span;

/// A warning about a policy that parses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lint {
    /// What kind of warning.
    pub kind: LintKind,
    /// Where in the policy text.
    pub span: Span,
    /// The warning, in one lowercase line.
    pub message: String,
}

/// The kinds of warning; [`LintKind::code`] names each for people and scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LintKind {
    /// `groups(...)`, the deprecated spelling of `tags(...)`.
    DeprecatedGroups,
    /// A rule after one that always answers when there is any candidate.
    UnreachableRule,
    /// `min(n)` with `n <= 1`, which never changes a result.
    NoOpMin,
    /// A rule equal to an earlier one, which can never answer.
    DuplicateRule,
    /// A policy whose rules were all dropped and that halts: it returns every candidate.
    HaltOnly,
    /// A run of `(` after a filter, which Neo4j ignores.
    StrayOpen,
    /// Whitespace that Neo4j rejects (accepted in default mode).
    Neo4jCompat,
    /// A tag that no server of the topology carries.
    UnknownTag,
    /// `min(n)` larger than the number of servers that could ever reach it.
    MinTooLarge,
}

impl LintKind {
    /// The warning's name, as `check` prints it: `deprecated-groups`, `neo4j-compat`, ...
    pub fn code(self) -> &'static str {
        match self {
            LintKind::DeprecatedGroups => "deprecated-groups",
            LintKind::UnreachableRule => "unreachable-rule",
            LintKind::NoOpMin => "no-op-min",
            LintKind::DuplicateRule => "duplicate-rule",
            LintKind::HaltOnly => "halt-only",
            LintKind::StrayOpen => "stray-paren",
            LintKind::Neo4jCompat => "neo4j-compat",
            LintKind::UnknownTag => "unknown-tag",
            LintKind::MinTooLarge => "min-too-large",
        }
    }
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.message, self.kind.code())
    }
}

/// What the topology lints need to know about a cluster.
pub trait TagCensus {
    /// Whether some server carries `tag`.
    fn carries(&self, tag: &str) -> bool;
    /// How many servers pass every one of these tag filters (each a union of tags).
    fn count_matching(&self, filters: &[&BTreeSet<String>]) -> usize;
}

/// The warnings about `policy` that need no topology.
pub fn lint(policy: &Policy) -> Vec<Lint> {
    let mut lints = Vec::new();
    lint_spelling(policy, &mut lints);
    lint_rules(policy, &mut lints);
    lints.extend(policy.compat.iter().map(|&span| Lint {
        kind: LintKind::Neo4jCompat,
        span,
        message:
            "Neo4j rejects whitespace here (after a trailing `;` or between trailing `->`)".into(),
    }));
    lints
}

/// The warnings about `policy`, including those that compare it with a cluster.
pub fn lint_with(policy: &Policy, census: &dyn TagCensus) -> Vec<Lint> {
    let mut lints = lint(policy);
    lint_tags(policy, census, &mut lints);
    lints
}

fn lint_spelling(policy: &Policy, lints: &mut Vec<Lint>) {
    for filter in policy.rules.iter().flat_map(|r| &r.filters) {
        if let FilterKind::Tags {
            spelling: TagsSpelling::Groups,
            ..
        } = filter.kind
        {
            lints.push(Lint {
                kind: LintKind::DeprecatedGroups,
                span: filter.name_span,
                message: "`groups()` is deprecated; use `tags()`".into(),
            });
        }
        if let FilterKind::Min(count) = &filter.kind
            && count.value <= 1
        {
            lints.push(Lint {
                kind: LintKind::NoOpMin,
                span: filter.span,
                message: format!("`min({})` never changes the result", count.written),
            });
        }
        if let Some(span) = filter.stray_open {
            lints.push(Lint {
                kind: LintKind::StrayOpen,
                span,
                message: "this `(` is ignored".into(),
            });
        }
    }
}

/// Dead, duplicate and halt-only rules.
fn lint_rules(policy: &Policy, lints: &mut Vec<Lint>) {
    let live: Vec<(&Rule, NormalRule)> = policy
        .rules
        .iter()
        .filter_map(|r| Some((r, r.normalize()?)))
        .collect();
    let mut always_answers: Option<Span> = None;
    // Hashed, so the lint stays linear in the number of rules.
    let mut earlier: FxHashSet<&NormalRule> = FxHashSet::default();
    for (rule, normal) in &live {
        if let Some(at) = always_answers {
            lints.push(Lint {
                kind: LintKind::UnreachableRule,
                span: rule.span,
                message: format!(
                    "unreachable: the rule at bytes {}..{} answers whenever there is a candidate",
                    at.start, at.end
                ),
            });
        } else if !earlier.insert(normal) {
            lints.push(Lint {
                kind: LintKind::DuplicateRule,
                span: rule.span,
                message: "this rule repeats an earlier one and can never answer".into(),
            });
        }
        if always_answers.is_none() && never_empties(normal) {
            always_answers = Some(rule.span);
        }
    }
    if live.is_empty() && policy.halts() {
        let span = policy
            .rules
            .iter()
            .map(|r| r.span)
            .reduce(Span::to)
            .unwrap_or_default();
        lints.push(Lint {
            kind: LintKind::HaltOnly,
            span,
            message: "this policy has no rules and returns every candidate (as Neo4j does)".into(),
        });
    }
}

/// A rule made only of `min(n)` with `n <= 1` returns its input whenever it is not empty.
fn never_empties(rule: &NormalRule) -> bool {
    rule.filters
        .iter()
        .all(|f| matches!(f, NormalFilter::Min(n) if *n <= 1))
}

fn lint_tags(policy: &Policy, census: &dyn TagCensus, lints: &mut Vec<Lint>) {
    for rule in policy.rules.iter().filter(|r| !r.is_dropped()) {
        let mut before: Vec<BTreeSet<String>> = Vec::new();
        for filter in &rule.filters {
            match &filter.kind {
                FilterKind::Tags { tags, .. } => {
                    for tag in tags.iter().filter(|t| !census.carries(&t.name)) {
                        lints.push(Lint {
                            kind: LintKind::UnknownTag,
                            span: tag.span,
                            message: format!("no server carries the tag `{}`", tag.name),
                        });
                    }
                    before.push(tags.iter().map(|t| t.name.clone()).collect());
                }
                FilterKind::Min(count) if count.value > 1 => {
                    let filters: Vec<&BTreeSet<String>> = before.iter().collect();
                    let most = census.count_matching(&filters);
                    if usize::try_from(count.value).is_ok_and(|n| n > most) {
                        lints.push(Lint {
                            kind: LintKind::MinTooLarge,
                            span: filter.span,
                            message: format!(
                                "`min({})` can never pass: at most {most} server{} can reach it",
                                count.value,
                                if most == 1 { "" } else { "s" }
                            ),
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Strictness;
    use crate::syntax::parse;

    fn codes(text: &str) -> Vec<(&'static str, String)> {
        let policy = parse(text, Strictness::Default).expect("valid policy");
        lint(&policy)
            .into_iter()
            .map(|l| (l.kind.code(), text[l.span.range()].to_owned()))
            .collect()
    }

    #[test]
    fn each_text_lint_points_at_its_cause() {
        assert_eq!(
            codes("groups(a)"),
            vec![("deprecated-groups", "groups".into())]
        );
        assert_eq!(
            codes("tags(a)->min(0)"),
            vec![("no-op-min", "min(0)".into())]
        );
        assert_eq!(codes("tags(a)( "), vec![("stray-paren", "(".into())]);
        assert_eq!(codes("tags(a); "), vec![("neo4j-compat", " ".into())]);
        assert_eq!(
            codes("tags(a); tags(b); tags(a)"),
            vec![("duplicate-rule", "tags(a)".into())]
        );
        assert_eq!(
            codes("all(); halt()"),
            vec![("halt-only", "all(); halt()".into())]
        );
        assert_eq!(
            codes("tags(a); min(1); tags(b)"),
            vec![
                ("no-op-min", "min(1)".into()),
                ("unreachable-rule", "tags(b)".into())
            ]
        );
        assert!(codes("tags(north1,north2)->min(2); tags(north); halt()").is_empty());
    }

    struct Cluster(Vec<BTreeSet<&'static str>>);

    impl TagCensus for Cluster {
        fn carries(&self, tag: &str) -> bool {
            self.0.iter().any(|s| s.contains(tag))
        }
        fn count_matching(&self, filters: &[&BTreeSet<String>]) -> usize {
            self.0
                .iter()
                .filter(|s| {
                    filters
                        .iter()
                        .all(|f| f.iter().any(|t| s.contains(t.as_str())))
                })
                .count()
        }
    }

    #[test]
    fn topology_lints_name_unknown_tags_and_impossible_minimums() {
        let cluster = Cluster(vec![
            ["north", "north1"].into(),
            ["north", "north2"].into(),
            ["south"].into(),
        ]);
        let text = "tags(north)->min(3); tags(west)->min(1); min(4); tags(south)->min(1)";
        let policy = parse(text, Strictness::Default).expect("valid");
        let found: Vec<_> = lint_with(&policy, &cluster)
            .into_iter()
            .filter(|l| matches!(l.kind, LintKind::UnknownTag | LintKind::MinTooLarge))
            .map(|l| (l.kind.code(), text[l.span.range()].to_owned()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("min-too-large", "min(3)".into()),
                ("unknown-tag", "west".into()),
                ("min-too-large", "min(4)".into())
            ]
        );
    }
}
