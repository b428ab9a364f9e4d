//! Text → tokens → syntax tree: the policy language of Neo4j's `server_policies` plugin.
//!
//! ```text
//! text --lexer--> tokens --parser--> Policy --normalize--> Normalized --compile--> Program
//! ```
//!
//! [`parse`] accepts exactly the language of docs/language.md. In [`Strictness::Strict`] it
//! accepts a text if and only if Neo4j does; in [`Strictness::Default`] it also accepts
//! whitespace in the two places where Neo4j's string-splitting parser trips over it (after a
//! trailing `;`, between trailing arrows), and records them for the `neo4j-compat` warning.
//! This layer knows nothing of bitsets or bytecode. The compiler reads [`Policy`]'s rules (it
//! needs every span, for the program's origins); [`Normalized`] is the form of the conformance
//! vectors and of equality. [`Rules`] parses a text one rule at a time and [`lint_text`] lints it
//! so, for a caller that must not hold the tree of a whole policy (the configuration loader: a
//! rule's tree is about ten times its text, and its tokens as much again).
//!
//! Neo4j's quirks that the grammar keeps on purpose: empty arguments are ignored (`tags(,a)`),
//! trailing `;` and `->` are allowed but interior empty pieces are not, a run of `(` after a
//! filter is dropped (`tags(a)(`), `all()` may only open a rule, `halt()` stands alone and ends
//! the policy, and a policy whose rules are all dropped returns every candidate.

mod error;
mod lint;
mod parser;
mod print;
mod token;
mod tree;

pub use error::{ParseError, ParseErrorKind};
pub use lint::{Lint, LintKind, TagCensus, lint, lint_each, lint_text, lint_with};
pub use parser::{Rules, parse};
pub(crate) use token::is_whitespace;
pub use tree::{
    Count, Filter, FilterKind, NormalFilter, NormalRule, Normalized, Policy, Rule, Tag,
    TagsSpelling,
};

/// How closely the parser follows Neo4j.
///
/// Neo4j's parser splits strings rather than tokenising, and so rejects whitespace in two places
/// where nothing is ambiguous: after a trailing `;` (`halt(); `) and between the arrows of a
/// trailing arrow run (`tags(a)-> ->`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Strictness {
    /// Accept that whitespace, recording it for the `neo4j-compat` warning.
    #[default]
    Default,
    /// Accept a policy if and only if Neo4j does (the CLI's `--neo4j`).
    Strict,
}
