//! Warnings about valid policies: values with a kind and a span, never printed here.
//!
//! Some lints read the text alone (deprecated `groups()`, dead rules, no-op `min`, duplicate
//! rules, a halt-only policy, a stray `(`, `neo4j-compat`); two need to know the cluster (tags no
//! server carries, `min(n)` above what could ever match), which they learn through
//! [`TagCensus`], so this module stays free of the topology's types.

use std::collections::BTreeSet;
use std::fmt;

use std::collections::hash_map::Entry;
use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

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
    lint_each(policy, |lint| lints.push(lint));
    lints
}

/// [`lint`], handing each warning to `each` as it is found instead of collecting them: a
/// policy of a million repeated rules has a million warnings, which a caller may count rather
/// than keep.
pub fn lint_each(policy: &Policy, mut each: impl FnMut(Lint)) {
    lint_spelling(policy, &mut each);
    lint_rules(policy, &mut each);
    for &span in &policy.compat {
        each(Lint {
            kind: LintKind::Neo4jCompat,
            span,
            message:
                "Neo4j rejects whitespace here (after a trailing `;` or between trailing `->`)"
                    .into(),
        });
    }
}

/// The warnings about `policy`, including those that compare it with a cluster.
pub fn lint_with(policy: &Policy, census: &dyn TagCensus) -> Vec<Lint> {
    let mut lints = lint(policy);
    lint_tags(policy, census, &mut |lint| lints.push(lint));
    lints
}

fn lint_spelling(policy: &Policy, lints: &mut impl FnMut(Lint)) {
    for filter in policy.rules.iter().flat_map(|r| &r.filters) {
        if let FilterKind::Tags {
            spelling: TagsSpelling::Groups,
            ..
        } = filter.kind
        {
            lints(Lint {
                kind: LintKind::DeprecatedGroups,
                span: filter.name_span,
                message: "`groups()` is deprecated; use `tags()`".into(),
            });
        }
        if let FilterKind::Min(count) = &filter.kind
            && count.value <= 1
        {
            lints(Lint {
                kind: LintKind::NoOpMin,
                span: filter.span,
                message: format!("`min({})` never changes the result", count.written),
            });
        }
        if let Some(span) = filter.stray_open {
            lints(Lint {
                kind: LintKind::StrayOpen,
                span,
                message: "this `(` is ignored".into(),
            });
        }
    }
}

/// Dead, duplicate and halt-only rules.
fn lint_rules(policy: &Policy, lints: &mut impl FnMut(Lint)) {
    let mut always_answers: Option<Span> = None;
    let mut earlier = Earlier::default();
    let mut live = false;
    for (i, rule) in policy.rules.iter().enumerate() {
        let Some(normal) = rule.normalize() else {
            continue;
        };
        live = true;
        if let Some(at) = always_answers {
            lints(Lint {
                kind: LintKind::UnreachableRule,
                span: rule.span,
                message: format!(
                    "unreachable: the rule at bytes {}..{} answers whenever there is a candidate",
                    at.start, at.end
                ),
            });
        } else if earlier.repeats(&policy.rules, i, &normal) {
            lints(Lint {
                kind: LintKind::DuplicateRule,
                span: rule.span,
                message: "this rule repeats an earlier one and can never answer".into(),
            });
        }
        if always_answers.is_none() && never_empties(&normal) {
            always_answers = Some(rule.span);
        }
    }
    if !live && policy.halts() {
        let span = policy
            .rules
            .iter()
            .map(|r| r.span)
            .reduce(Span::to)
            .unwrap_or_default();
        lints(Lint {
            kind: LintKind::HaltOnly,
            span,
            message: "this policy has no rules and returns every candidate (as Neo4j does)".into(),
        });
    }
}

/// The normal forms of the rules seen so far, as hashes: a policy of a million rules keeps a
/// hash and a rule number per distinct rule, not every normal form, and compares a rule with
/// the earlier one of the same hash by normalizing that one again.
#[derive(Default)]
struct Earlier {
    /// The first rule of each hash.
    first: FxHashMap<u64, usize>,
    /// The rare normal forms whose hash an unequal earlier rule took first.
    collided: FxHashSet<NormalRule>,
}

impl Earlier {
    /// Whether `normal`, the normal form of rule `i` of `rules`, is that of an earlier rule;
    /// remembers it if not.
    fn repeats(&mut self, rules: &[Rule], i: usize, normal: &NormalRule) -> bool {
        match self.first.entry(FxBuildHasher.hash_one(normal)) {
            Entry::Vacant(first) => {
                first.insert(i);
                false
            }
            Entry::Occupied(first) => {
                let same = rules
                    .get(*first.get())
                    .and_then(Rule::normalize)
                    .is_some_and(|earlier| earlier == *normal);
                same || !self.collided.insert(normal.clone())
            }
        }
    }
}

/// A rule made only of `min(n)` with `n <= 1` returns its input whenever it is not empty.
fn never_empties(rule: &NormalRule) -> bool {
    rule.filters
        .iter()
        .all(|f| matches!(f, NormalFilter::Min(n) if *n <= 1))
}

fn lint_tags(policy: &Policy, census: &dyn TagCensus, lints: &mut impl FnMut(Lint)) {
    for rule in policy.rules.iter().filter(|r| !r.is_dropped()) {
        let mut before: Vec<BTreeSet<String>> = Vec::new();
        for filter in &rule.filters {
            match &filter.kind {
                FilterKind::Tags { tags, .. } => {
                    for tag in tags.iter().filter(|t| !census.carries(&t.name)) {
                        lints(Lint {
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
                        lints(Lint {
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
    use crate::syntax::Strictness;
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
