//! tagroute: Neo4j's routing-policy language, compiled to verified bytecode.

pub mod bytecode;
pub mod catchup;
pub mod compile;
pub mod config;
pub mod policies;
pub mod reference;
pub mod rng;
pub mod router;
pub mod routing;
pub mod span;
pub mod syntax;
pub mod topology;
pub mod vm;
pub mod workload;

pub(crate) mod suggest;

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
