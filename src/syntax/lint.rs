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

use super::Strictness;
use super::error::ParseError;
use super::parser::Rules;
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
    for rule in &policy.rules {
        lint_spelling(rule, &mut each);
    }
    let mut rules = RuleLints::default();
    let normal_at = |i: usize| policy.rules.get(i).and_then(Rule::normalize);
    for (i, rule) in policy.rules.iter().enumerate() {
        rules.rule(i, rule, &normal_at, &mut each);
    }
    rules.finish(&mut each);
    lint_compat(&policy.compat, &mut each);
}

/// [`lint_each`] for a policy text, which is parsed rule by rule and never held whole: the
/// lints of a policy of a million rules in the memory of one rule (and of a hash for each
/// distinct rule). The same warnings in the same order; none, and the parse error, when the
/// text does not parse.
///
/// ```
/// use tagroute::Strictness;
/// use tagroute::syntax::{LintKind, lint_text};
///
/// let mut kinds = Vec::new();
/// lint_text("groups(a); tags(a)", Strictness::Default, |lint| kinds.push(lint.kind))?;
/// assert_eq!(kinds, [LintKind::DeprecatedGroups, LintKind::DuplicateRule]);
/// assert!(lint_text("tags(a", Strictness::Default, |_| unreachable!()).is_err());
/// # Ok::<(), tagroute::syntax::ParseError>(())
/// ```
pub fn lint_text(
    text: &str,
    strictness: Strictness,
    mut each: impl FnMut(Lint),
) -> Result<(), ParseError> {
    // Read to the end first: a policy that does not parse has no warnings. The text is then
    // read again for each pass, as `lint_each` reads the tree.
    for rule in Rules::new(text, strictness) {
        rule?;
    }
    for rule in Rules::new(text, strictness).map_while(Result::ok) {
        lint_spelling(&rule, &mut each);
    }
    let mut lints = RuleLints::default();
    let mut rules = Rules::new(text, strictness);
    // A rule is known by where it starts, and found again by parsing from there.
    let normal_at = |start: usize| {
        let rest = text.get(start..)?;
        Rules::new(rest, Strictness::Default)
            .next()?
            .ok()?
            .normalize()
    };
    for rule in (&mut rules).map_while(Result::ok) {
        lints.rule(rule.span.start, &rule, &normal_at, &mut each);
    }
    lints.finish(&mut each);
    lint_compat(rules.compat(), &mut each);
    Ok(())
}

/// The warnings about `policy`, including those that compare it with a cluster.
pub fn lint_with(policy: &Policy, census: &dyn TagCensus) -> Vec<Lint> {
    let mut lints = lint(policy);
    for rule in &policy.rules {
        lint_tags(rule, census, &mut |lint| lints.push(lint));
    }
    lints
}

/// Deprecated `groups()`, no-op `min`, stray `(`.
fn lint_spelling(rule: &Rule, lints: &mut impl FnMut(Lint)) {
    for filter in &rule.filters {
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

fn lint_compat(compat: &[Span], lints: &mut impl FnMut(Lint)) {
    for &span in compat {
        lints(Lint {
            kind: LintKind::Neo4jCompat,
            span,
            message:
                "Neo4j rejects whitespace here (after a trailing `;` or between trailing `->`)"
                    .into(),
        });
    }
}

/// Dead, duplicate and halt-only rules, a rule at a time.
#[derive(Default)]
struct RuleLints {
    /// The first rule that answers whenever there is a candidate.
    always_answers: Option<Span>,
    earlier: Earlier,
    /// Whether some rule is not dropped.
    live: bool,
    /// Whether some rule is `halt()`.
    halts: bool,
    /// From the first rule to the last.
    span: Option<Span>,
}

impl RuleLints {
    /// Lints `rule`, known as `key` to `normal_at`, which gives the normal form of an earlier
    /// rule from its key.
    fn rule(
        &mut self,
        key: usize,
        rule: &Rule,
        normal_at: &dyn Fn(usize) -> Option<NormalRule>,
        lints: &mut impl FnMut(Lint),
    ) {
        self.halts |= rule.is_halt();
        self.span = Some(self.span.map_or(rule.span, |span| span.to(rule.span)));
        let Some(normal) = rule.normalize() else {
            return;
        };
        self.live = true;
        if let Some(at) = self.always_answers {
            lints(Lint {
                kind: LintKind::UnreachableRule,
                span: rule.span,
                message: format!(
                    "unreachable: the rule at bytes {}..{} answers whenever there is a candidate",
                    at.start, at.end
                ),
            });
        } else if self.earlier.repeats(key, &normal, normal_at) {
            lints(Lint {
                kind: LintKind::DuplicateRule,
                span: rule.span,
                message: "this rule repeats an earlier one and can never answer".into(),
            });
        }
        if self.always_answers.is_none() && never_empties(&normal) {
            self.always_answers = Some(rule.span);
        }
    }

    fn finish(self, lints: &mut impl FnMut(Lint)) {
        if !self.live && self.halts {
            lints(Lint {
                kind: LintKind::HaltOnly,
                span: self.span.unwrap_or_default(),
                message: "this policy has no rules and returns every candidate (as Neo4j does)"
                    .into(),
            });
        }
    }
}

/// The normal forms of the rules seen so far, as hashes: a policy of a million rules keeps a
/// hash and a rule's key per distinct rule, not every normal form, and compares a rule with
/// the earlier one of the same hash by normalizing that one again.
#[derive(Default)]
struct Earlier {
    /// The key of the first rule of each hash.
    first: FxHashMap<u64, usize>,
    /// The rare normal forms whose hash an unequal earlier rule took first.
    collided: FxHashSet<NormalRule>,
}

impl Earlier {
    /// Whether `normal`, the normal form of the rule known as `key`, is that of an earlier
    /// rule; remembers it if not.
    fn repeats(
        &mut self,
        key: usize,
        normal: &NormalRule,
        normal_at: &dyn Fn(usize) -> Option<NormalRule>,
    ) -> bool {
        match self.first.entry(FxBuildHasher.hash_one(normal)) {
            Entry::Vacant(first) => {
                first.insert(key);
                false
            }
            Entry::Occupied(first) => {
                let same = normal_at(*first.get()).is_some_and(|earlier| earlier == *normal);
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

fn lint_tags(rule: &Rule, census: &dyn TagCensus, lints: &mut impl FnMut(Lint)) {
    if rule.is_dropped() {
        return;
    }
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

    /// Linting the text rule by rule finds what linting its tree finds, in the same order.
    #[test]
    fn the_text_rule_by_rule_has_the_lints_of_the_tree() {
        for text in [
            "groups(a); tags(b)->min(0); groups(a)(; tags(b)->min(0)",
            "tags(a)->tags(a,b); tags(b,a)->min(1); min(1); tags(c); tags(a) -> ->;",
            "all(); ->; halt(); ",
            "tags(a);tags(a); tags(a) ;tags(b)->min(2);tags(b)->min(02);",
        ] {
            let policy = parse(text, Strictness::Default).expect("valid");
            let mut streamed = Vec::new();
            lint_text(text, Strictness::Default, |lint| streamed.push(lint)).expect("valid");
            assert_eq!(streamed, lint(&policy), "{text:?}");
            assert!(!streamed.is_empty(), "{text:?}");
        }
        let mut none = Vec::new();
        let error = lint_text("groups(a); tags(b", Strictness::Default, |l| none.push(l));
        assert_eq!(
            error.map_err(|e| e.kind().clone()),
            Err(crate::syntax::ParseErrorKind::UnclosedArguments)
        );
        assert!(none.is_empty(), "no lint of a policy that does not parse");
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
