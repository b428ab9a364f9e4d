//! Recursive descent over the tokens, one `parse_*` per production, a span on every node.
//!
//! ```text
//! policy    = rule (";" rule)* ";"*            (trailing ";" only after a rule)
//! rule      = arrows | filter ("->" filter)* arrows?
//! arrows    = "->"+                            (trailing: end of rule)
//! filter    = name "(" arg? ("," arg?)* ")" "("*
//! ```
//!
//! Whitespace may stand between any two tokens, except in the two places where Neo4j's
//! split-based parser rejects it: after a trailing `;` and between the arrows of a trailing
//! arrow run. There, default mode records it (the `neo4j-compat` warning) and strict mode fails.

use std::collections::VecDeque;

use super::error::{ParseError, ParseErrorKind as Kind};
use super::token::{Lexeme, Lexemes, Token, lex};
use super::tree::{Count, Filter, FilterKind, Policy, Rule, Tag, TagsSpelling};
use crate::span::Span;
use crate::syntax::Strictness;

/// Parses a policy text.
pub fn parse(text: &str, strictness: Strictness) -> Result<Policy, ParseError> {
    // One rule per `;` at most, room made once: a policy of a million rules is not grown to
    // twice its size.
    let semicolons = text.bytes().filter(|&b| b == b';').count();
    let mut rules = Rules::new(text, strictness);
    let mut parsed = Vec::with_capacity(semicolons + 1);
    for rule in &mut rules {
        parsed.push(rule?);
    }
    Ok(Policy {
        rules: parsed,
        compat: rules.parser.compat,
    })
}

/// The rules of a policy text, parsed one at a time: [`parse`] without the tree of the whole
/// policy, for a caller that looks at each rule and lets it go (the configuration loader
/// lints and compiles a policy of a million rules in the memory of one).
///
/// Yields each rule, in order, as [`parse`] would have it (the same spans), then stops; or
/// yields the error [`parse`] would return, after the rules before it, and stops. A caller
/// that must not act on a policy that fails to parse reads it to the end first.
///
/// ```
/// use tagroute::Strictness;
/// use tagroute::syntax::Rules;
///
/// let text = "tags(north)->min(2); halt()";
/// let mut spans = Vec::new();
/// for rule in Rules::new(text, Strictness::Strict) {
///     spans.push(&text[rule?.span.range()]);
/// }
/// assert_eq!(spans, ["tags(north)->min(2)", "halt()"]);
///
/// let mut rules = Rules::new("tags(a); tgas(b)", Strictness::Strict);
/// assert!(rules.next().is_some_and(|r| r.is_ok()));
/// assert!(rules.next().is_some_and(|r| r.is_err()));
/// assert!(rules.next().is_none());
/// # Ok::<(), tagroute::syntax::ParseError>(())
/// ```
#[derive(Debug)]
pub struct Rules<'t> {
    parser: Parser<'t>,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing read yet: the texts with no rule at all are errors of their own.
    Start,
    /// Between rules; the `;` that ended the last one, if any.
    Between(Option<Span>),
    /// The end, or an error, was reached.
    Done,
}

impl<'t> Rules<'t> {
    /// The rules of `text`, parsed as `strictness` says.
    pub fn new(text: &'t str, strictness: Strictness) -> Rules<'t> {
        Rules {
            parser: Parser {
                text,
                lexemes: lex(text),
                ahead: VecDeque::with_capacity(2),
                strictness,
                compat: Vec::new(),
                halt: None,
            },
            state: State::Start,
        }
    }

    /// Whitespace that Neo4j rejects and default mode accepted, in the rules read so far
    /// (after the last rule, its trailing `;`s included): [`Policy::compat`].
    pub fn compat(&self) -> &[Span] {
        &self.parser.compat
    }

    fn next_rule(&mut self) -> Result<Option<Rule>, ParseError> {
        let last_semicolon = match self.state {
            State::Done => return Ok(None),
            State::Start => {
                self.parser.check_not_empty()?;
                None
            }
            State::Between(semicolon) => semicolon,
        };
        if let Next::End(at) | Next::Token(Token::Semicolon, at) = self.parser.peek() {
            let Some(semicolon) = last_semicolon else {
                return Err(self.parser.error(Kind::EmptyRule, at));
            };
            self.parser.parse_trailing_semicolons(semicolon)?;
            self.state = State::Done;
            return Ok(None);
        }
        let rule = self.parser.parse_rule()?;
        match self.parser.peek() {
            Next::End(_) => self.state = State::Done,
            Next::Token(Token::Semicolon, at) => {
                self.parser.bump();
                self.state = State::Between(Some(at));
            }
            other => return Err(self.parser.unexpected_after_filter(other)),
        }
        Ok(Some(rule))
    }
}

impl Iterator for Rules<'_> {
    type Item = Result<Rule, ParseError>;

    fn next(&mut self) -> Option<Result<Rule, ParseError>> {
        match self.next_rule() {
            Ok(rule) => rule.map(Ok),
            Err(error) => {
                self.state = State::Done;
                Some(Err(error))
            }
        }
    }
}

/// What comes next once whitespace is stepped over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Token(Token, Span),
    /// A character outside the language.
    Stray(Span),
    End(Span),
}

#[derive(Debug)]
struct Parser<'t> {
    text: &'t str,
    lexemes: Lexemes<'t>,
    /// Lexemes read and not yet consumed: at most two, a run of whitespace and the token after
    /// it (whitespace is one lexeme a run).
    ahead: VecDeque<Lexeme>,
    strictness: Strictness,
    compat: Vec<Span>,
    /// The `halt()` seen so far: no filter may follow it.
    halt: Option<Span>,
}

/// The arguments of a filter as written: words, empty ones already left out.
struct Arguments {
    words: Vec<(String, Span)>,
    close: Span,
}

impl<'t> Parser<'t> {
    /// The texts with no rule at all: empty, blank, or only `;`.
    fn check_not_empty(&self) -> Result<(), ParseError> {
        let text = self.text;
        if text.is_empty() {
            return Err(ParseError::new(Kind::Empty, Span::at(0)));
        }
        let whole = Span::new(0, text.len());
        if text.chars().all(super::token::is_whitespace) {
            return Err(ParseError::new(Kind::Blank, whole));
        }
        if text.chars().all(|c| c == ';') {
            return Err(ParseError::new(Kind::NoRules, whole));
        }
        Ok(())
    }

    /// After the `;` that ended the last rule, only `;` and whitespace may follow; the
    /// whitespace is Neo4j's first leniency.
    fn parse_trailing_semicolons(&mut self, after: Span) -> Result<(), ParseError> {
        // The caller saw nothing but whitespace before a `;` or the end, so a `;` comes before
        // anything else: the first of the rest closes the empty rule.
        let mut closing: Option<Span> = None;
        let mut blanks = Vec::new();
        while let Some(lexeme) = self.take() {
            match lexeme.token {
                Some(Token::Semicolon) => {
                    closing.get_or_insert(lexeme.span);
                }
                Some(Token::Whitespace) => blanks.push(lexeme.span),
                _ => {
                    // INVARIANT: the caller saw a `;` first, so the empty rule ends at one.
                    let closing = closing.unwrap_or(after);
                    return Err(self.error(Kind::EmptyRule, Span::new(after.end, closing.end)));
                }
            }
        }
        self.lenient(Kind::TrailingWhitespace, blanks)
    }

    fn parse_rule(&mut self) -> Result<Rule, ParseError> {
        let start = self.peek_span();
        let mut filters = Vec::new();
        if let Next::Token(Token::Arrow, arrow) = self.peek() {
            let end = self.parse_arrow_run()?;
            return match self.peek() {
                Next::End(_) | Next::Token(Token::Semicolon, _) => Ok(Rule {
                    filters,
                    span: start.to(end),
                }),
                _ => Err(self.error(Kind::LeadingArrow, arrow)),
            };
        }
        loop {
            let filter = self.parse_filter()?;
            self.check_placement(&filters, &filter)?;
            let mut end = filter.span;
            filters.push(filter);
            match self.peek() {
                Next::Token(Token::Arrow, first_arrow) => {
                    let run_end = self.parse_arrow_run()?;
                    match self.peek() {
                        Next::End(_) | Next::Token(Token::Semicolon, _) => end = run_end,
                        _ if run_end.end > first_arrow.end => {
                            return Err(self.error(
                                Kind::EmptyFilter,
                                Span::new(first_arrow.end, run_end.start),
                            ));
                        }
                        _ => continue,
                    }
                }
                Next::End(_) | Next::Token(Token::Semicolon, _) => {}
                other => return Err(self.unexpected_after_filter(other)),
            }
            // A rule is mostly one or two filters, for which growth left room for four: a
            // policy of a million rules would keep that room.
            filters.shrink_to_fit();
            return Ok(Rule {
                filters,
                span: start.to(end),
            });
        }
    }

    /// One or more `->`; returns the span of the last. Whitespace between two arrows is
    /// Neo4j's second leniency when the run ends its rule, and an error otherwise (the caller
    /// reports the empty filter).
    fn parse_arrow_run(&mut self) -> Result<Span, ParseError> {
        let mut last = self.bump();
        let mut between = Vec::new();
        loop {
            let blank = self.skip_whitespace();
            match self.peek() {
                Next::Token(Token::Arrow, _) => {
                    between.extend(blank);
                    last = self.bump();
                }
                Next::End(_) | Next::Token(Token::Semicolon, _) => {
                    self.lenient(Kind::WhitespaceBetweenArrows, between)?;
                    return Ok(last);
                }
                _ => return Ok(last),
            }
        }
    }

    fn parse_filter(&mut self) -> Result<Filter, ParseError> {
        let (name, name_span) = match self.peek() {
            Next::Token(Token::Word, span) => {
                self.bump();
                (self.slice(span), span)
            }
            other => return Err(self.unexpected(other, Kind::ExpectedFilter)),
        };
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(self.error(Kind::InvalidFilterName(name.to_owned()), name_span));
        }
        match self.peek() {
            Next::Token(Token::Open, _) => {
                self.bump();
            }
            other => return Err(self.unexpected(other, Kind::ExpectedOpen)),
        }
        let args = self.parse_arguments(name_span)?;
        let stray_open = self.parse_stray_open()?;
        let span = name_span.to(args.close);
        let kind = filter_kind(name, name_span, args.words, span)?;
        Ok(Filter {
            kind,
            span,
            name_span,
            stray_open,
        })
    }

    /// The arguments up to and including `)`. Empty arguments are left out, as Neo4j does.
    fn parse_arguments(&mut self, name: Span) -> Result<Arguments, ParseError> {
        let mut words = Vec::new();
        let mut current: Option<Span> = None;
        loop {
            match self.peek() {
                Next::Token(Token::Word, span) => {
                    self.bump();
                    if let Some(previous) = current {
                        return Err(self.error(Kind::WhitespaceInArgument, previous.to(span)));
                    }
                    current = Some(span);
                }
                Next::Token(Token::Comma, _) => {
                    self.bump();
                    words.extend(current.take().map(|s| (self.slice(s).to_owned(), s)));
                }
                Next::Token(Token::Close, close) => {
                    self.bump();
                    words.extend(current.take().map(|s| (self.slice(s).to_owned(), s)));
                    return Ok(Arguments { words, close });
                }
                Next::Stray(span) => return Err(self.stray_character(span)),
                Next::Token(Token::Open, span) => {
                    return Err(self.error(Kind::UnexpectedInArguments, span));
                }
                Next::Token(_, at) | Next::End(at) => {
                    return Err(self.error(Kind::UnclosedArguments, name.to(Span::at(at.start))));
                }
            }
        }
    }

    /// A run of `(` right after a filter, which Neo4j drops: `tags(a)(`, `tags(a) ((`.
    fn parse_stray_open(&mut self) -> Result<Option<Span>, ParseError> {
        let Next::Token(Token::Open, first) = self.peek() else {
            return Ok(None);
        };
        self.bump();
        let mut run = first;
        while let Some(Lexeme {
            token: Some(Token::Open),
            span,
        }) = self.lexeme(0)
        {
            self.take();
            run = run.to(span);
        }
        match self.peek() {
            Next::End(_) | Next::Token(Token::Semicolon | Token::Arrow, _) => Ok(Some(run)),
            Next::Token(_, at) | Next::Stray(at) => Err(self.error(Kind::StrayOpen, at)),
        }
    }

    /// `all()` only first in its rule, `halt()` alone in its rule, nothing after `halt()`.
    fn check_placement(&mut self, before: &[Filter], filter: &Filter) -> Result<(), ParseError> {
        if let Some(halt) = self.halt {
            return Err(self.error(Kind::AfterHalt, filter.span).with_related(halt));
        }
        match filter.kind {
            FilterKind::All if !before.is_empty() => {
                Err(self.error(Kind::AllNotFirst, filter.span))
            }
            FilterKind::Halt if before.iter().any(|f| f.kind != FilterKind::All) => {
                Err(self.error(Kind::HaltNotAlone, filter.span))
            }
            FilterKind::Halt => {
                self.halt = Some(filter.span);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Whitespace Neo4j rejects: an error in strict mode, a `neo4j-compat` note otherwise.
    fn lenient(&mut self, kind: Kind, blanks: Vec<Span>) -> Result<(), ParseError> {
        match (blanks.first(), self.strictness) {
            (None, _) => Ok(()),
            (Some(&first), Strictness::Strict) => Err(self.error(kind, first)),
            (Some(_), Strictness::Default) => {
                self.compat.extend(blanks);
                Ok(())
            }
        }
    }

    fn unexpected_after_filter(&self, next: Next) -> ParseError {
        match next {
            Next::Token(Token::Comma, span) => self.error(Kind::CommaBetweenRules, span),
            other => self.unexpected(other, Kind::ExpectedSeparator),
        }
    }

    fn unexpected(&self, next: Next, kind: Kind) -> ParseError {
        match next {
            Next::Stray(span) => self.stray_character(span),
            Next::Token(_, span) | Next::End(span) => self.error(kind, span),
        }
    }

    fn stray_character(&self, span: Span) -> ParseError {
        let c = self.slice(span).chars().next().unwrap_or('\u{fffd}');
        self.error(Kind::UnexpectedCharacter(c), span)
    }

    fn error(&self, kind: Kind, span: Span) -> ParseError {
        ParseError::new(kind, span)
    }

    /// The next token that is not whitespace, without consuming anything.
    fn peek(&mut self) -> Next {
        let next = match self.lexeme(0) {
            Some(l) if l.token == Some(Token::Whitespace) => self.lexeme(1),
            other => other,
        };
        match next {
            Some(Lexeme {
                token: Some(token),
                span,
            }) => Next::Token(token, span),
            Some(Lexeme { token: None, span }) => Next::Stray(span),
            None => Next::End(Span::at(self.text.len())),
        }
    }

    fn peek_span(&mut self) -> Span {
        match self.peek() {
            Next::Token(_, span) | Next::Stray(span) | Next::End(span) => span,
        }
    }

    /// Consumes whitespace and the next token; returns the token's span.
    fn bump(&mut self) -> Span {
        self.skip_whitespace();
        self.take().map_or(Span::at(self.text.len()), |l| l.span)
    }

    fn skip_whitespace(&mut self) -> Option<Span> {
        let lexeme = self
            .lexeme(0)
            .filter(|l| l.token == Some(Token::Whitespace))?;
        self.take();
        Some(lexeme.span)
    }

    /// The lexeme `n` places ahead (0 or 1), without consuming it.
    fn lexeme(&mut self, n: usize) -> Option<Lexeme> {
        while self.ahead.len() <= n {
            let lexeme = self.lexemes.next()?;
            self.ahead.push_back(lexeme);
        }
        self.ahead.get(n).copied()
    }

    /// Consumes the next lexeme, whitespace or not.
    fn take(&mut self) -> Option<Lexeme> {
        self.lexeme(0)?;
        self.ahead.pop_front()
    }

    fn slice(&self, span: Span) -> &'t str {
        self.text.get(span.range()).unwrap_or("")
    }
}

/// The filter a name and its arguments denote.
fn filter_kind(
    name: &str,
    name_span: Span,
    args: Vec<(String, Span)>,
    span: Span,
) -> Result<FilterKind, ParseError> {
    let count = |filter: &'static str, expected: &'static str| {
        ParseError::new(
            Kind::ArgumentCount {
                filter,
                expected,
                found: args.len(),
            },
            span,
        )
    };
    match name {
        "tags" | "groups" => {
            if args.is_empty() {
                return Err(count(
                    if name == "tags" { "tags" } else { "groups" },
                    "at least one tag",
                ));
            }
            if let Some((_, at)) = args.iter().find(|(word, _)| word == "-") {
                return Err(ParseError::new(Kind::InvalidTag, *at));
            }
            let spelling = if name == "tags" {
                TagsSpelling::Tags
            } else {
                TagsSpelling::Groups
            };
            let mut tags: Vec<Tag> = args
                .into_iter()
                .map(|(name, span)| Tag { name, span })
                .collect();
            tags.shrink_to_fit();
            Ok(FilterKind::Tags { spelling, tags })
        }
        "min" => match <[_; 1]>::try_from(args) {
            Ok([(written, span)]) => Ok(FilterKind::Min(parse_count(written, span)?)),
            Err(args) => Err(ParseError::new(
                Kind::ArgumentCount {
                    filter: "min",
                    expected: "exactly one number",
                    found: args.len(),
                },
                span,
            )),
        },
        "all" if args.is_empty() => Ok(FilterKind::All),
        "halt" if args.is_empty() => Ok(FilterKind::Halt),
        "all" => Err(count("all", "no arguments")),
        "halt" => Err(count("halt", "no arguments")),
        _ => Err(ParseError::new(
            Kind::UnknownFilter {
                name: name.to_owned(),
                suggestion: suggest_filter(name),
            },
            name_span,
        )),
    }
}

/// A `min` argument: an optional `-` and ASCII digits, in the 32-bit signed range, as Java's
/// `Integer.parseInt` reads the words the grammar allows.
fn parse_count(written: String, span: Span) -> Result<Count, ParseError> {
    let digits = written.strip_prefix('-').unwrap_or(&written);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(Kind::InvalidNumber(written), span));
    }
    match written.parse::<i32>() {
        Ok(value) => Ok(Count {
            value,
            written,
            span,
        }),
        Err(_) => Err(ParseError::new(Kind::NumberOutOfRange(written), span)),
    }
}

/// The filter an unknown name most likely means: the same name in another case, or a typo.
fn suggest_filter(name: &str) -> Option<&'static str> {
    crate::suggest::closest(name, ["tags", "groups", "min", "all", "halt"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tree::{NormalFilter, Normalized};

    fn strict(text: &str) -> Result<Policy, ParseError> {
        parse(text, Strictness::Strict)
    }

    fn lenient(text: &str) -> Result<Policy, ParseError> {
        parse(text, Strictness::Default)
    }

    /// The kind of the error and the text under its span.
    fn error_at(text: &str, strictness: Strictness) -> (Kind, &str) {
        match parse(text, strictness) {
            Ok(p) => panic!("{text:?} parsed as {p}"),
            Err(e) => (
                e.kind().clone(),
                text.get(e.span().range()).unwrap_or("<bad span>"),
            ),
        }
    }

    fn tags(names: &[&str]) -> NormalFilter {
        NormalFilter::Tags(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn a_documented_policy_parses_to_its_rules() {
        let policy = strict("tags(north1,north2)->min(2); tags(north); halt()").expect("valid");
        assert_eq!(
            policy.normalize(),
            Normalized {
                rules: vec![
                    crate::syntax::NormalRule {
                        filters: vec![tags(&["north1", "north2"]), NormalFilter::Min(2)]
                    },
                    crate::syntax::NormalRule {
                        filters: vec![tags(&["north"])]
                    },
                ],
                halts: true,
            }
        );
    }

    #[test]
    fn every_node_has_the_span_of_its_text() {
        let text = "groups(a, b) -> min(07);  halt()";
        let policy = strict(text).expect("valid");
        let rule = &policy.rules[0];
        assert_eq!(&text[rule.span.range()], "groups(a, b) -> min(07)");
        assert_eq!(&text[rule.filters[0].span.range()], "groups(a, b)");
        assert_eq!(&text[rule.filters[0].name_span.range()], "groups");
        let FilterKind::Tags {
            tags,
            spelling: TagsSpelling::Groups,
        } = &rule.filters[0].kind
        else {
            panic!("not groups: {:?}", rule.filters[0].kind)
        };
        assert_eq!(&text[tags[1].span.range()], "b");
        let FilterKind::Min(count) = &rule.filters[1].kind else {
            panic!("not min")
        };
        assert_eq!(
            (
                count.value,
                count.written.as_str(),
                &text[count.span.range()]
            ),
            (7, "07", "07")
        );
        assert_eq!(&text[policy.rules[1].span.range()], "halt()");
    }

    #[test]
    fn the_tree_is_faithful_and_spans_do_not_count_for_equality() {
        let a = strict("groups(a,a)->min(07)").expect("valid");
        let b = strict("  groups( a , a ) -> min( 07 )").expect("valid");
        let c = strict("tags(a)->min(7)").expect("valid");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.normalize(), c.normalize());
    }

    #[test]
    fn the_texts_with_no_rule_are_errors() {
        assert_eq!(error_at("", Strictness::Default), (Kind::Empty, ""));
        assert_eq!(
            error_at(" \t\n", Strictness::Default),
            (Kind::Blank, " \t\n")
        );
        assert_eq!(error_at(";;", Strictness::Default), (Kind::NoRules, ";;"));
        assert_eq!(error_at(" ;", Strictness::Default), (Kind::EmptyRule, ";"));
        assert_eq!(
            error_at(";tags(a)", Strictness::Default),
            (Kind::EmptyRule, ";")
        );
    }

    #[test]
    fn interior_empty_pieces_are_errors_and_trailing_ones_are_not() {
        assert_eq!(
            error_at("tags(a);;tags(b)", Strictness::Default),
            (Kind::EmptyRule, ";")
        );
        assert_eq!(
            error_at("tags(a); ;tags(b)", Strictness::Default),
            (Kind::EmptyRule, " ;")
        );
        assert_eq!(
            error_at("->tags(a)", Strictness::Default),
            (Kind::LeadingArrow, "->")
        );
        assert_eq!(
            error_at("tags(a)->->min(1)", Strictness::Default),
            (Kind::EmptyFilter, "")
        );
        assert_eq!(
            error_at("tags(a)-> ->min(1)", Strictness::Default),
            (Kind::EmptyFilter, " ")
        );
        for text in [
            "tags(a);;",
            "tags(a)->",
            "tags(a) ->-> ",
            "->",
            "->->",
            "tags(a);->;halt()",
        ] {
            assert!(strict(text).is_ok(), "{text:?}");
        }
    }

    #[test]
    fn the_two_leniencies_warn_in_default_mode_and_fail_in_strict_mode() {
        for (text, kind, blank) in [
            ("halt(); ", Kind::TrailingWhitespace, " "),
            ("tags(a); ;", Kind::TrailingWhitespace, " "),
            ("tags(a)-> ->", Kind::WhitespaceBetweenArrows, " "),
            ("-> \t->", Kind::WhitespaceBetweenArrows, " \t"),
            ("tags(a)-> ->;tags(b)", Kind::WhitespaceBetweenArrows, " "),
        ] {
            assert_eq!(
                error_at(text, Strictness::Strict),
                (kind, blank),
                "{text:?}"
            );
            let policy = lenient(text).expect("default mode accepts it");
            assert_eq!(
                policy
                    .compat
                    .iter()
                    .map(|s| &text[s.range()])
                    .collect::<Vec<_>>(),
                vec![blank]
            );
        }
        assert!(
            lenient("tags(a) ; halt()")
                .expect("valid")
                .compat
                .is_empty()
        );
    }

    #[test]
    fn arguments_follow_neo4j() {
        assert_eq!(
            strict("tags(,a,,b,)").expect("valid").to_string(),
            "tags(a,b)"
        );
        assert_eq!(strict("min(,3)").expect("valid").to_string(), "min(3)");
        assert_eq!(strict("all(,)").expect("valid").to_string(), "all()");
        assert_eq!(strict("halt( )").expect("valid").to_string(), "halt()");
        assert_eq!(
            error_at("tags(group 2)", Strictness::Strict),
            (Kind::WhitespaceInArgument, "group 2")
        );
        assert_eq!(
            error_at("tags(a%)", Strictness::Strict),
            (Kind::UnexpectedCharacter('%'), "%")
        );
        assert_eq!(
            error_at("tags(-)", Strictness::Strict),
            (Kind::InvalidTag, "-")
        );
        assert_eq!(
            error_at("tags((a)", Strictness::Strict),
            (Kind::UnexpectedInArguments, "(")
        );
        assert_eq!(
            error_at("tags(a", Strictness::Strict),
            (Kind::UnclosedArguments, "tags(a")
        );
    }

    #[test]
    fn min_takes_one_java_int() {
        assert_eq!(
            strict("min(-2147483648)").expect("valid").to_string(),
            "min(-2147483648)"
        );
        assert_eq!(
            error_at("min(2147483648)", Strictness::Strict),
            (Kind::NumberOutOfRange("2147483648".into()), "2147483648")
        );
        for bad in ["1_000", "-", "--1", "1-", "five"] {
            let text = format!("min({bad})");
            assert_eq!(
                error_at(&text, Strictness::Strict),
                (Kind::InvalidNumber(bad.into()), bad)
            );
        }
        let (kind, at) = error_at("min(2,5)", Strictness::Strict);
        assert_eq!(
            (kind, at),
            (
                Kind::ArgumentCount {
                    filter: "min",
                    expected: "exactly one number",
                    found: 2
                },
                "min(2,5)"
            )
        );
    }

    #[test]
    fn names_are_lowercase_words_and_typos_get_a_suggestion() {
        assert_eq!(
            error_at("TAGS(a)", Strictness::Strict),
            (
                Kind::UnknownFilter {
                    name: "TAGS".into(),
                    suggestion: Some("tags")
                },
                "TAGS"
            )
        );
        assert_eq!(
            error_at("tgas(a)", Strictness::Strict),
            (
                Kind::UnknownFilter {
                    name: "tgas".into(),
                    suggestion: Some("tags")
                },
                "tgas"
            )
        );
        assert_eq!(
            error_at("ta-gs(a)", Strictness::Strict),
            (Kind::InvalidFilterName("ta-gs".into()), "ta-gs")
        );
        assert_eq!(
            error_at("tags", Strictness::Strict),
            (Kind::ExpectedOpen, "")
        );
        assert_eq!(
            error_at("(a)", Strictness::Strict),
            (Kind::ExpectedFilter, "(")
        );
    }

    #[test]
    fn a_run_of_open_parentheses_after_a_filter_is_dropped() {
        let text = "tags(a) (( -> min(1)";
        let policy = strict(text).expect("valid");
        assert_eq!(
            policy.rules[0].filters[0]
                .stray_open
                .map(|s| &text[s.range()]),
            Some("((")
        );
        assert_eq!(
            error_at("tags(a)( (", Strictness::Strict),
            (Kind::StrayOpen, "(")
        );
        assert_eq!(
            error_at("tags(a)()", Strictness::Strict),
            (Kind::StrayOpen, ")")
        );
    }

    #[test]
    fn all_and_halt_stand_where_neo4j_allows() {
        assert_eq!(
            error_at("tags(a)->all()", Strictness::Strict),
            (Kind::AllNotFirst, "all()")
        );
        assert_eq!(
            error_at("all()->all()", Strictness::Strict),
            (Kind::AllNotFirst, "all()")
        );
        assert_eq!(
            error_at("tags(a) -> halt()", Strictness::Strict),
            (Kind::HaltNotAlone, "halt()")
        );
        let err = strict("halt(); tags(a)").expect_err("invalid");
        assert_eq!(
            (err.kind(), err.related()),
            (&Kind::AfterHalt, Some(Span::new(0, 6)))
        );
        assert_eq!(
            error_at("halt() -> min(1)", Strictness::Strict),
            (Kind::AfterHalt, "min(1)")
        );
        assert!(strict("all() -> halt()").expect("valid").halts());
        assert!(strict("halt();->").expect("valid").halts());
    }

    #[test]
    fn rules_come_one_at_a_time_until_the_end_or_an_error() {
        let text = "tags(a) ; min(2)-> ->; ";
        let mut rules = Rules::new(text, Strictness::Default);
        let spans: Vec<&str> = (&mut rules)
            .map(|r| &text[r.expect("valid").span.range()])
            .collect();
        assert_eq!(spans, ["tags(a)", "min(2)-> ->"]);
        let compat: Vec<&str> = rules.compat().iter().map(|s| &text[s.range()]).collect();
        assert_eq!(compat, [" ", " "]);

        let mut rules = Rules::new("tags(a); tags(b); ;", Strictness::Strict);
        assert!(matches!(rules.next(), Some(Ok(_))));
        assert!(matches!(rules.next(), Some(Ok(_))));
        let error = rules.next().and_then(Result::err).map(|e| e.kind().clone());
        assert_eq!(error, Some(Kind::TrailingWhitespace));
        assert!(rules.next().is_none());
        assert!(
            Rules::new("", Strictness::Strict)
                .next()
                .is_some_and(|r| r.is_err())
        );
    }

    #[test]
    fn commas_between_rules_say_rules_are_separated_by_semicolons() {
        let err = strict("tags(north2)->min(3), tags(north)->min(3); all();").expect_err("invalid");
        assert_eq!(err.kind(), &Kind::CommaBetweenRules);
        assert_eq!(err.span(), Span::new(20, 21));
        assert!(err.help().is_some_and(|h| h.contains("separated by `;`")));
    }
}
