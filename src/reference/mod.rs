//! The reference interpreter: the obviously-correct path that everything fast is checked against.
//!
//! It re-implements Neo4j's `server_policies` parser literally (split on `;`, trim, split on
//! `->`, trim, split on `(`, ...; Java's `String.split` and `String.trim` semantics reproduced
//! exactly, Neo4j's own error messages kept) and evaluates over ordinary sets of server names.
//! Default mode is the same parser applied after deleting the whitespace of the two leniencies
//! (docs/language.md).
//!
//! It must never share code with the fast path: it imports nothing from `syntax`, `compile`,
//! `bytecode` or `vm`, only the topology's input types. When the VM and this module agree on a
//! random policy, that agreement means something. It is slow on purpose; do not optimise it.

mod eval;
mod parse;

pub use eval::{available, evaluate, evaluate_on};
pub use parse::{Filter, Policy, Rejected, parse, parse_neo4j, remove_lenient_whitespace};
