//! Evaluation over ordinary sets of server names, as Neo4j's `FirstValidRule` does it.

use std::collections::{BTreeMap, BTreeSet};

use super::parse::{Filter, Policy};
use crate::topology::TopologySpec;

/// Applies `policy` to `candidates`, where `tags_of` gives each server's tags.
///
/// Each rule starts from all candidates; the first non-empty result wins. Unless the policy
/// halts, an implicit final `all()` rule returns the candidates. With no rules at all, the
/// result is the candidates themselves (Neo4j returns its input when no rule ran).
///
/// Servers are named by any ordered type `N`: their names (`String`), or numbers standing for
/// them (the `differential` fuzz target's, whose clusters are too large to copy names around).
pub fn evaluate<N: Ord + Clone>(
    policy: &Policy,
    tags_of: &BTreeMap<N, BTreeSet<String>>,
    candidates: &BTreeSet<N>,
) -> BTreeSet<N> {
    let mut rules: Vec<Vec<Filter>> = policy.rules.clone();
    if !policy.halts {
        rules.push(Vec::new()); // all(): the identity chain
    }
    let mut output = candidates.clone();
    for rule in &rules {
        output = apply_chain(rule, tags_of, candidates);
        if !output.is_empty() {
            break;
        }
    }
    output
}

fn apply_chain<N: Ord + Clone>(
    chain: &[Filter],
    tags_of: &BTreeMap<N, BTreeSet<String>>,
    candidates: &BTreeSet<N>,
) -> BTreeSet<N> {
    let mut set = candidates.clone();
    for filter in chain {
        set = match filter {
            Filter::Tags(wanted) => set
                .into_iter()
                .filter(|server| {
                    tags_of
                        .get(server)
                        .is_some_and(|tags| !tags.is_disjoint(wanted))
                })
                .collect(),
            Filter::Min(n) => {
                if i64::try_from(set.len()).unwrap_or(i64::MAX) >= i64::from(*n) {
                    set
                } else {
                    BTreeSet::new()
                }
            }
        };
    }
    set
}

/// The names of the available servers of a topology.
pub fn available(topology: &TopologySpec) -> BTreeSet<String> {
    topology
        .servers
        .iter()
        .filter(|s| s.available)
        .map(|s| s.name.clone())
        .collect()
}

/// Applies `policy` to the given candidates of `topology`.
pub fn evaluate_on(
    policy: &Policy,
    topology: &TopologySpec,
    candidates: &BTreeSet<String>,
) -> BTreeSet<String> {
    let tags_of = topology
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.tags.iter().cloned().collect()))
        .collect();
    evaluate(policy, &tags_of, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::parse;
    use crate::syntax::Strictness;

    fn run(policy: &str, servers: &[(&str, &[&str])]) -> Vec<String> {
        let policy = parse(policy, Strictness::Strict).expect("valid policy");
        let tags_of = servers
            .iter()
            .map(|(n, tags)| (n.to_string(), tags.iter().map(|t| t.to_string()).collect()))
            .collect();
        let candidates = servers.iter().map(|(n, _)| n.to_string()).collect();
        evaluate(&policy, &tags_of, &candidates)
            .into_iter()
            .collect()
    }

    const CLUSTER: &[(&str, &[&str])] = &[
        ("a", &["north", "north1"]),
        ("b", &["north", "north2"]),
        ("c", &["south"]),
    ];

    #[test]
    fn first_non_empty_rule_wins() {
        assert_eq!(
            run("tags(north1,north2)->min(3); tags(south)", CLUSTER),
            ["c"]
        );
        assert_eq!(
            run("tags(north1,north2)->min(2); tags(south)", CLUSTER),
            ["a", "b"]
        );
        assert_eq!(run("tags(north)->tags(north2)", CLUSTER), ["b"]);
    }

    #[test]
    fn servers_named_by_number_select_what_their_names_select() {
        let policy =
            parse("tags(north2)->min(2); tags(north)", Strictness::Strict).expect("valid policy");
        let tags_of = CLUSTER
            .iter()
            .enumerate()
            .map(|(i, (_, tags))| (i, tags.iter().map(|t| t.to_string()).collect()))
            .collect();
        let numbers = (0..CLUSTER.len()).collect();
        let selected: Vec<&str> = evaluate(&policy, &tags_of, &numbers)
            .into_iter()
            .map(|i| CLUSTER[i].0)
            .collect();
        assert_eq!(selected, run("tags(north2)->min(2); tags(north)", CLUSTER));
        assert_eq!(selected, ["a", "b"]);
    }

    #[test]
    fn halt_returns_empty_and_otherwise_all_answers() {
        assert_eq!(run("tags(west); halt()", CLUSTER), Vec::<String>::new());
        assert_eq!(run("tags(west)", CLUSTER), ["a", "b", "c"]);
        assert_eq!(run("halt()", CLUSTER), ["a", "b", "c"]);
        assert_eq!(run("min(-5)", CLUSTER), ["a", "b", "c"]);
    }
}
