//! Parse errors: a kind, a span, and sometimes a second span and help.
//!
//! Messages follow one convention: lowercase, no final period, user input in backticks, no Rust
//! type names; longer advice goes into [`ParseError::help`].

use std::fmt;

use crate::span::Span;

/// Why a policy text was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    span: Span,
    related: Option<Span>,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, span: Span) -> ParseError {
        ParseError {
            kind,
            span,
            related: None,
        }
    }

    pub(crate) fn with_related(mut self, related: Span) -> ParseError {
        self.related = Some(related);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// The bytes of the policy text the error is about.
    pub fn span(&self) -> Span {
        self.span
    }

    /// A second place the error refers to, such as the `halt()` that a later filter follows.
    pub fn related(&self) -> Option<Span> {
        self.related
    }

    /// Advice on how to fix the text, when there is more to say than the message.
    pub fn help(&self) -> Option<String> {
        use ParseErrorKind::*;
        match &self.kind {
            CommaBetweenRules => Some("rules are separated by `;`, not `,`".into()),
            UnknownFilter { suggestion: Some(s), .. } => Some(format!("did you mean `{s}`?")),
            UnknownFilter { suggestion: None, .. } => {
                Some("the filters are `tags`, `groups`, `min`, `all` and `halt`".into())
            }
            TrailingWhitespace | WhitespaceBetweenArrows => Some(
                "Neo4j rejects this whitespace; tagroute accepts it without `--neo4j` (strict mode)".into(),
            ),
            EmptyRule => Some("only trailing `;` may be repeated: `tags(a);;`".into()),
            EmptyFilter => Some("only trailing `->` may be repeated: `tags(a)->->`".into()),
            StrayOpen => Some("a run of `(` right after a filter is ignored; nothing else may follow it".into()),
            _ => None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for ParseError {}

/// The kinds of parse error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text is empty.
    Empty,
    /// The text is whitespace only.
    Blank,
    /// The text is `;` only: there is no rule at all.
    NoRules,
    /// A rule is empty: at the start (`;tags(a)`) or between two `;` (`tags(a);;tags(b)`).
    EmptyRule,
    /// Strict mode: whitespace after a trailing `;` (`halt(); `), which Neo4j rejects.
    TrailingWhitespace,
    /// Strict mode: whitespace between trailing arrows (`tags(a)-> ->`), which Neo4j rejects.
    WhitespaceBetweenArrows,
    /// A rule starts with `->` and has filters after it.
    LeadingArrow,
    /// Two arrows with no filter between them, followed by another filter.
    EmptyFilter,
    /// A character that is not part of the language.
    UnexpectedCharacter(char),
    /// Something other than a filter where a filter must start.
    ExpectedFilter,
    /// A filter name with a character outside `[A-Za-z0-9_]`.
    InvalidFilterName(String),
    /// A well-formed name that is not a filter (names are lowercase).
    UnknownFilter {
        /// The name as written.
        name: String,
        /// The filter it probably means.
        suggestion: Option<&'static str>,
    },
    /// A filter name without `(` after it.
    ExpectedOpen,
    /// The argument list has no `)`.
    UnclosedArguments,
    /// Whitespace between two words inside one argument (`tags(group 2)`).
    WhitespaceInArgument,
    /// A token that cannot stand inside an argument list, such as a second `(`.
    UnexpectedInArguments,
    /// After a filter, something other than `->`, `;` or the end of the text.
    ExpectedSeparator,
    /// A `,` after a filter, as in `tags(a)->min(3), tags(b)`.
    CommaBetweenRules,
    /// After a filter's `)`, a run of `(` followed by anything but `->`, `;` or the end.
    StrayOpen,
    /// A filter with the wrong number of (non-empty) arguments.
    ArgumentCount {
        /// The filter's name.
        filter: &'static str,
        /// How many it takes, in words.
        expected: &'static str,
        /// How many it got.
        found: usize,
    },
    /// A tag that is `-` alone.
    InvalidTag,
    /// A `min` argument that is not a decimal integer.
    InvalidNumber(String),
    /// A `min` argument outside the 32-bit signed range.
    NumberOutOfRange(String),
    /// `all()` somewhere other than first in its rule.
    AllNotFirst,
    /// `halt()` with other filters in its rule.
    HaltNotAlone,
    /// A filter after `halt()`, in its rule or a later one.
    AfterHalt,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseErrorKind::*;
        match self {
            Empty => write!(f, "the policy is empty"),
            Blank => write!(f, "the policy is only whitespace"),
            NoRules => write!(f, "the policy has no rules, only `;`"),
            EmptyRule => write!(f, "empty rule"),
            TrailingWhitespace => write!(f, "whitespace after a trailing `;`"),
            WhitespaceBetweenArrows => write!(f, "whitespace between trailing `->`"),
            LeadingArrow => write!(f, "a rule cannot start with `->`"),
            EmptyFilter => write!(f, "empty filter between two `->`"),
            UnexpectedCharacter(c) if c.is_control() || c.is_whitespace() => {
                write!(f, "unexpected character U+{:04X}", u32::from(*c))
            }
            UnexpectedCharacter(c) => write!(f, "unexpected character `{c}`"),
            ExpectedFilter => write!(f, "expected a filter"),
            InvalidFilterName(name) => write!(f, "`{name}` is not a valid filter name"),
            UnknownFilter { name, .. } => write!(f, "unknown filter `{name}`"),
            ExpectedOpen => write!(f, "expected `(` after the filter name"),
            UnclosedArguments => write!(f, "missing `)`"),
            WhitespaceInArgument => write!(f, "whitespace inside an argument"),
            UnexpectedInArguments => write!(f, "unexpected token inside the arguments"),
            ExpectedSeparator => write!(f, "expected `->`, `;` or the end after a filter"),
            CommaBetweenRules => write!(f, "unexpected `,` after a filter"),
            StrayOpen => write!(f, "unexpected text after a filter"),
            ArgumentCount {
                filter,
                expected,
                found,
            } => {
                write!(f, "`{filter}` takes {expected}, found {found}")
            }
            InvalidTag => write!(f, "`-` alone is not a tag"),
            InvalidNumber(text) => write!(f, "`{text}` is not a decimal integer"),
            NumberOutOfRange(text) => write!(f, "`{text}` is outside the 32-bit integer range"),
            AllNotFirst => write!(f, "`all()` is allowed only first in a rule"),
            HaltNotAlone => write!(f, "`halt()` must be the only filter in its rule"),
            AfterHalt => write!(f, "nothing may follow `halt()`"),
        }
    }
}
