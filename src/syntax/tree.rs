//! The syntax tree, faithful to the text, and its normal form.
//!
//! Two trees, as in regex-syntax's `Ast` and `Hir`: [`Policy`] keeps everything the author wrote
//! (the `groups` spelling, duplicate tags, a leading `all()`, dropped rules, numbers as written,
//! each with its span) so that lints and diagnostics can point at it; [`Normalized`] keeps only
//! what decides the result — the form of the conformance vectors and of equality. The compiler
//! reads [`Policy`], because it needs every span.
//! Spans never take part in equality.

use std::collections::BTreeSet;
use std::fmt;

use crate::span::Span;

/// A parsed policy: its rules as written, and where default mode used a whitespace leniency.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Every rule as written, including rules that are dropped (`all()`, `->`) and the
    /// `halt()` rule. The implicit final `all()` rule is not here.
    pub rules: Vec<Rule>,
    /// Whitespace that Neo4j rejects and default mode accepted (the `neo4j-compat` warning).
    pub compat: Vec<Span>,
}

/// One rule: a chain of filters, possibly empty (an arrow-only rule).
#[derive(Clone, Debug)]
pub struct Rule {
    /// The filters, in order, including a leading `all()` and a `halt()`.
    pub filters: Vec<Filter>,
    /// From the rule's first token to its last.
    pub span: Span,
}

/// One filter call, such as `tags(a, b)`.
#[derive(Clone, Debug)]
pub struct Filter {
    /// Which filter, with its arguments.
    pub kind: FilterKind,
    /// From the name to the closing `)`.
    pub span: Span,
    /// The filter's name.
    pub name_span: Span,
    /// A run of `(` after the `)` that the text carries and Neo4j ignores.
    pub stray_open: Option<Span>,
}

/// A filter and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterKind {
    /// `tags(...)` or its deprecated alias `groups(...)`: servers carrying any listed tag.
    Tags {
        /// How the filter was spelled.
        spelling: TagsSpelling,
        /// The tags as written, duplicates included.
        tags: Vec<Tag>,
    },
    /// `min(n)`: the set if it has at least `n` servers, else empty.
    Min(Count),
    /// `all()`: no-op, allowed only first in a rule.
    All,
    /// `halt()`: alone in its rule; suppresses the implicit final `all()`.
    Halt,
}

/// How a tag filter was spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagsSpelling {
    /// `tags(...)`, the Neo4j 5 name.
    Tags,
    /// `groups(...)`, the deprecated Neo4j 4.x name.
    Groups,
}

/// A tag argument.
#[derive(Clone, Debug, Eq)]
pub struct Tag {
    /// The tag's name, `[A-Za-z0-9_-]+`.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

impl PartialEq for Tag {
    fn eq(&self, other: &Tag) -> bool {
        self.name == other.name
    }
}

/// The argument of `min`.
#[derive(Clone, Debug, Eq)]
pub struct Count {
    /// Its value.
    pub value: i32,
    /// As written (`007`, `-0`).
    pub written: String,
    /// Where it was written.
    pub span: Span,
}

impl PartialEq for Count {
    fn eq(&self, other: &Count) -> bool {
        self.value == other.value && self.written == other.written
    }
}

impl PartialEq for Filter {
    fn eq(&self, other: &Filter) -> bool {
        self.kind == other.kind && self.stray_open.is_some() == other.stray_open.is_some()
    }
}
impl Eq for Filter {}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.filters == other.filters
    }
}
impl Eq for Rule {}

impl PartialEq for Policy {
    fn eq(&self, other: &Policy) -> bool {
        self.rules == other.rules
    }
}
impl Eq for Policy {}

impl Rule {
    /// Whether the rule takes part in evaluation: it has a filter other than a leading
    /// `all()`, and is not the `halt()` rule.
    pub fn is_dropped(&self) -> bool {
        self.is_halt() || self.filters.iter().all(|f| f.kind == FilterKind::All)
    }

    /// Whether this is the `halt()` rule.
    pub fn is_halt(&self) -> bool {
        self.filters.iter().any(|f| f.kind == FilterKind::Halt)
    }

    /// The rule in normal form, or `None` when it is dropped.
    pub fn normalize(&self) -> Option<NormalRule> {
        (!self.is_dropped()).then(|| NormalRule {
            filters: self.filters.iter().filter_map(NormalFilter::of).collect(),
        })
    }
}

impl Policy {
    /// Whether the policy ends with `halt()`, which suppresses the implicit final `all()` rule.
    pub fn halts(&self) -> bool {
        self.rules.iter().any(Rule::is_halt)
    }

    /// The rules that matter, in the normal form of the conformance vectors.
    pub fn normalize(&self) -> Normalized {
        Normalized {
            rules: self.rules.iter().filter_map(Rule::normalize).collect(),
            halts: self.halts(),
        }
    }
}

/// A policy reduced to the rules that decide its result.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Normalized {
    /// The rules that are not dropped, in order; each has at least one filter.
    pub rules: Vec<NormalRule>,
    /// Whether the policy halts instead of ending with the implicit `all()` rule.
    pub halts: bool,
}

/// A rule of a [`Normalized`] policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NormalRule {
    /// Its filters, in order.
    pub filters: Vec<NormalFilter>,
}

/// A filter of a [`Normalized`] policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NormalFilter {
    /// Servers carrying any of these tags.
    Tags(BTreeSet<String>),
    /// At least this many servers, or nothing.
    Min(i32),
}

impl NormalFilter {
    fn of(filter: &Filter) -> Option<NormalFilter> {
        match &filter.kind {
            FilterKind::Tags { tags, .. } => Some(NormalFilter::Tags(
                tags.iter().map(|t| t.name.clone()).collect(),
            )),
            FilterKind::Min(count) => Some(NormalFilter::Min(count.value)),
            FilterKind::All | FilterKind::Halt => None,
        }
    }
}

impl fmt::Display for NormalFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NormalFilter::Tags(tags) => {
                f.write_str("tags(")?;
                for (i, tag) in tags.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(tag)?;
                }
                f.write_str(")")
            }
            NormalFilter::Min(n) => write!(f, "min({n})"),
        }
    }
}

impl fmt::Display for NormalRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, filter) in self.filters.iter().enumerate() {
            if i > 0 {
                f.write_str("->")?;
            }
            filter.fmt(f)?;
        }
        Ok(())
    }
}
