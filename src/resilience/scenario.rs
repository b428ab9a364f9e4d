//! Failure scenarios: every set of at most `depth` failure domains, in a fixed order, each
//! with the servers it takes down, enumerated in place.
//!
//! The order is by size, then lexicographic by domain position: nothing down first, then every
//! single domain, then every pair, and so on. The enumerator owns one index array and one
//! server set and rewrites them for each scenario, so a sweep allocates nothing per scenario.

use crate::topology::ServerSet;

use super::domains::Domains;

/// The most scenarios one sweep may enumerate: bounded time for any input.
pub const MAX_SCENARIOS: u64 = 50_000_000;

/// How many scenarios of at most `depth` failures `domains` domains have (saturating).
pub fn scenario_count(domains: usize, depth: usize) -> u64 {
    let n = domains as u128;
    let mut total: u128 = 0;
    let mut choose: u128 = 1; // C(n, k)
    for k in 0..=depth.min(domains) as u128 {
        total += choose;
        if total >= u128::from(u64::MAX) {
            return u64::MAX;
        }
        choose = choose * (n - k) / (k + 1);
    }
    u64::try_from(total).unwrap_or(u64::MAX)
}

/// One scenario: the failed domains (positions in the [`Domains`]), and the servers down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub(super) number: u64,
    pub(super) domains: Vec<usize>,
    pub(super) down: ServerSet,
}

impl Scenario {
    /// The scenario's position in the enumeration, from 0 (nothing down).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The failed domains, as positions in the analysis's [`Domains`], ascending.
    pub fn domains(&self) -> &[usize] {
        &self.domains
    }

    /// The servers the failure takes down (whether or not they were up before).
    pub fn down(&self) -> &ServerSet {
        &self.down
    }

    /// The failed domains' names, in order.
    pub fn names<'d>(&self, domains: &'d Domains) -> impl Iterator<Item = &'d str> + use<'d, '_> {
        self.domains
            .iter()
            .filter_map(|&d| domains.get(d).map(|d| d.name()))
    }

    /// The scenario of these domains, outside any enumeration (number 0).
    pub fn of(domains: &Domains, chosen: &[usize], universe: usize) -> Scenario {
        let mut scenario = Scenario {
            number: 0,
            domains: chosen.to_vec(),
            down: ServerSet::empty(universe),
        };
        scenario.fill_down(domains);
        scenario
    }

    fn fill_down(&mut self, domains: &Domains) {
        self.down.clear();
        for d in self.domains.iter().filter_map(|&d| domains.get(d)) {
            self.down.union_same(d.members());
        }
    }
}

/// Enumerates the scenarios of at most `depth` failures, rewriting one [`Scenario`] in place.
pub struct Scenarios<'d> {
    domains: &'d Domains,
    depth: usize,
    current: Scenario,
    started: bool,
}

impl<'d> Scenarios<'d> {
    /// The enumeration over `domains` (servers of a `universe` of this size).
    pub fn new(domains: &'d Domains, depth: usize, universe: usize) -> Scenarios<'d> {
        let depth = depth.min(domains.len());
        Scenarios {
            domains,
            depth,
            current: Scenario {
                number: 0,
                domains: Vec::with_capacity(depth),
                down: ServerSet::empty(universe),
            },
            started: false,
        }
    }

    /// The next scenario, or `None` after the last. (A lending iterator: the scenario is valid
    /// until the next call.)
    pub fn next_scenario(&mut self) -> Option<&Scenario> {
        if self.started {
            if !advance(&mut self.current.domains, self.domains.len(), self.depth) {
                return None;
            }
            self.current.number += 1;
        }
        self.started = true;
        self.current.fill_down(self.domains);
        Some(&self.current)
    }
}

/// The next combination after `chosen` (ascending positions below `n`): the next one of the
/// same size, else the first of the next size up to `depth`. False after the last.
fn advance(chosen: &mut Vec<usize>, n: usize, depth: usize) -> bool {
    let k = chosen.len();
    // The rightmost position that can still move right.
    let movable = (0..k)
        .rev()
        .find(|&i| chosen.get(i).is_some_and(|&c| c < n - k + i));
    match movable {
        Some(i) => {
            let base = chosen.get(i).copied().unwrap_or(0) + 1;
            for (offset, slot) in chosen.iter_mut().skip(i).enumerate() {
                *slot = base + offset;
            }
            true
        }
        None if k < depth => {
            chosen.clear();
            chosen.extend(0..k + 1);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{ServerSpec, Snapshot, TagInterner, TopologySpec};

    fn domains(n: usize) -> (Snapshot, Domains) {
        let servers = (0..n)
            .map(|i| ServerSpec::new(format!("s{i}"), format!("s{i}:1")))
            .collect();
        let s = Snapshot::build(
            &TopologySpec {
                servers,
                databases: vec![],
            },
            &TagInterner::new(),
        )
        .expect("valid");
        let d = Domains::servers(&s);
        (s, d)
    }

    #[test]
    fn every_combination_once_by_size_then_lexicographic() {
        let (s, d) = domains(4);
        let mut e = Scenarios::new(&d, 2, s.len());
        let mut seen = Vec::new();
        while let Some(sc) = e.next_scenario() {
            assert_eq!(sc.number() as usize, seen.len());
            assert_eq!(sc.down().len(), sc.domains().len());
            seen.push(sc.domains().to_vec());
        }
        let expected: Vec<Vec<usize>> = vec![
            vec![],
            vec![0],
            vec![1],
            vec![2],
            vec![3],
            vec![0, 1],
            vec![0, 2],
            vec![0, 3],
            vec![1, 2],
            vec![1, 3],
            vec![2, 3],
        ];
        assert_eq!(seen, expected);
        assert_eq!(scenario_count(4, 2), 11);
    }

    #[test]
    fn counts_match_the_enumeration_and_depth_is_capped_by_the_domains() {
        for (n, depth) in [(0, 2), (1, 3), (5, 5), (7, 3), (10, 0)] {
            let (s, d) = domains(n);
            let mut e = Scenarios::new(&d, depth, s.len());
            let mut count = 0u64;
            while e.next_scenario().is_some() {
                count += 1;
            }
            assert_eq!(count, scenario_count(n, depth), "n={n} depth={depth}");
        }
        assert_eq!(scenario_count(64, 3), 1 + 64 + 2016 + 41664);
        assert_eq!(scenario_count(10_000, 10), u64::MAX);
    }
}
