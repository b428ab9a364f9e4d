//! The tokens of the policy language, lexed with logos.
//!
//! Whitespace is a token here, not skipped: Neo4j's parser splits strings instead of
//! tokenising, so *where* whitespace stands decides whether it accepts a policy (between the
//! arrows of a trailing arrow run, after a trailing `;`). The parser looks at it in those places
//! and steps over it everywhere else.

use logos::Logos;

use crate::span::Span;

/// One token of a policy text.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// A run of whitespace: every character with code point up to U+0020, control characters
    /// included, exactly what Java's `String.trim` removes (U+00A0 is not whitespace).
    #[regex(r"[\x00-\x20]+")]
    Whitespace,
    /// A run of `[A-Za-z0-9_-]`: a filter name, a tag or a number. `->` is never part of a
    /// word unless a word character precedes it (`a->` lexes as `a-` then `>`), and a word
    /// character right before `->` is an error in Neo4j's grammar anyway.
    #[regex(r"[A-Za-z0-9_-]+")]
    Word,
    /// `->`, between the filters of a rule.
    #[token("->")]
    Arrow,
    /// `;`, between rules.
    #[token(";")]
    Semicolon,
    /// `(`, opening a filter's arguments.
    #[token("(")]
    Open,
    /// `)`, closing a filter's arguments.
    #[token(")")]
    Close,
    /// `,`, between arguments.
    #[token(",")]
    Comma,
}

/// A token or a character that starts no token, with its span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lexeme {
    /// The token, or `None` for a character outside the language.
    pub token: Option<Token>,
    /// Where it stands in the text.
    pub span: Span,
}

/// The lexemes of `text`, one at a time: characters outside the language become `token: None`
/// lexemes, one character each, so the parser can point at them. Nothing is stored, so parsing a
/// policy of a million rules never holds its tokens (24 bytes each, nine to a rule) at once.
pub fn lex(text: &str) -> Lexemes<'_> {
    Lexemes {
        lexer: Token::lexer(text),
    }
}

/// The lexemes of a text, lexed as they are asked for ([`lex`]).
#[derive(Clone, Debug)]
pub struct Lexemes<'t> {
    lexer: logos::Lexer<'t, Token>,
}

impl Iterator for Lexemes<'_> {
    type Item = Lexeme;

    fn next(&mut self) -> Option<Lexeme> {
        let token = self.lexer.next()?;
        Some(Lexeme {
            token: token.ok(),
            span: Span::from(self.lexer.span()),
        })
    }
}

/// Whether `c` is whitespace in the policy language (and to Java's `String.trim`).
pub(crate) fn is_whitespace(c: char) -> bool {
    c <= '\u{20}'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(Option<Token>, &str)> {
        lex(text)
            .map(|l| (l.token, text.get(l.span.range()).unwrap_or("?")))
            .collect()
    }

    #[test]
    fn arrows_win_over_a_lone_dash_but_not_inside_a_word() {
        use Token::*;
        assert_eq!(
            tokens("tags(a-)->min(1)"),
            vec![
                (Some(Word), "tags"),
                (Some(Open), "("),
                (Some(Word), "a-"),
                (Some(Close), ")"),
                (Some(Arrow), "->"),
                (Some(Word), "min"),
                (Some(Open), "("),
                (Some(Word), "1"),
                (Some(Close), ")"),
            ]
        );
        assert_eq!(tokens("a->"), vec![(Some(Word), "a-"), (None, ">")]);
    }

    #[test]
    fn control_characters_are_whitespace_and_nbsp_is_not() {
        assert_eq!(
            tokens("\u{1}\t\u{1f} "),
            vec![(Some(Token::Whitespace), "\u{1}\t\u{1f} ")]
        );
        assert_eq!(tokens("\u{a0}"), vec![(None, "\u{a0}")]);
        assert!(is_whitespace('\0') && is_whitespace(' ') && !is_whitespace('\u{a0}'));
    }
}
