//! Leader priority and leadership balancing (docs/routing.md).
//!
//! Two pieces of advice about who should lead each database:
//! - [`priorities`]: for every database, its priority tag (the per-database setting over the
//!   global one), the available primaries carrying it, whether the current leader does, and a
//!   transfer to propose when it does not (an eligible primary at random; none if there is
//!   none, rather than a member that would refuse).
//! - [`balance`]: for the databases without a priority tag, which available primary should
//!   lead each, so that the leaderships per server are as even as they can be — the
//!   difference between the most and the least loaded server is the smallest possible — while
//!   moving as few leaderships as possible. Ties go to the server earlier in the topology,
//!   database by database in topology order.
//!
//! Balancing is a transportation problem: each database sends one leadership to one of its
//! available primaries. For a window `[lo, hi]` of leaderships per server, a min-cost flow
//! finds whether every database can be placed with each server's count inside the window, and
//! with how few moves (a database keeping its leader costs nothing, any other placement one).
//! The smallest spread is found from the least possible maximum and the greatest possible
//! minimum, both by binary search; the moves are minimised in the best window; the ties are
//! then settled by trying, for each database in turn, its servers in topology order and keeping
//! the first one that a zero-cost exchange in the residual graph can give it.

mod flow;

use flow::Instance;

use crate::config::LeadershipSettings;
use crate::rng::Rng;
use crate::topology::{Database, ServerIdx, ServerSet, Snapshot};

/// The leader priority of one database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityAdvice {
    /// The database.
    pub database: String,
    /// Its priority tag, if it has one.
    pub priority_tag: Option<String>,
    /// The available primaries carrying the priority tag, in topology order (none without a
    /// tag).
    pub eligible: Vec<ServerIdx>,
    /// The current leader.
    pub leader: Option<ServerIdx>,
    /// Whether the current leader satisfies the priority: true without a priority tag, else
    /// whether the leader is one of the eligible primaries (an unavailable leader is not).
    pub satisfied: bool,
    /// Where to move the leadership when the priority is not satisfied: an eligible primary
    /// chosen at random, or none when there is none.
    pub transfer_to: Option<ServerIdx>,
}

/// The leader priority of every database of `snapshot`, in topology order.
pub fn priorities(
    snapshot: &Snapshot,
    settings: &LeadershipSettings,
    rng: &mut Rng,
) -> Vec<PriorityAdvice> {
    snapshot
        .databases()
        .iter()
        .map(|db| priority(snapshot, db, settings.priority_tag_of(db.name()), rng))
        .collect()
}

fn priority(
    snapshot: &Snapshot,
    db: &Database,
    tag: Option<&str>,
    rng: &mut Rng,
) -> PriorityAdvice {
    let eligible = match tag {
        Some(tag) => {
            let mut set = snapshot.tagged_by_name(tag);
            set.intersect_same(db.primaries());
            set.intersect_same(snapshot.available());
            set
        }
        None => ServerSet::empty(snapshot.len()),
    };
    let satisfied = tag.is_none() || db.leader().is_some_and(|l| eligible.contains(l));
    let transfer_to = if satisfied { None } else { eligible.pick(rng) };
    PriorityAdvice {
        database: db.name().to_owned(),
        priority_tag: tag.map(str::to_owned),
        eligible: eligible.iter().collect(),
        leader: db.leader(),
        satisfied,
        transfer_to,
    }
}

/// A leadership balancing plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancePlan {
    /// Every balanced database (those without a priority tag and with an available primary),
    /// in topology order, with its leader now and under the plan.
    pub leaders: Vec<Placement>,
    /// The leaderships of each server under the plan: every available primary of a balanced
    /// database, in topology order.
    pub loads: Vec<(ServerIdx, usize)>,
}

/// Where the plan puts one database's leadership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The database.
    pub database: String,
    /// Its leader now (possibly unavailable), if it has one.
    pub from: Option<ServerIdx>,
    /// Its leader under the plan.
    pub to: ServerIdx,
}

impl Placement {
    /// Whether the plan moves this leadership.
    pub fn moves(&self) -> bool {
        self.from != Some(self.to)
    }
}

impl BalancePlan {
    /// The leaderships to move, in topology order of the databases.
    pub fn moves(&self) -> impl Iterator<Item = &Placement> {
        self.leaders.iter().filter(|p| p.moves())
    }

    /// The most leaderships of a server minus the least, under the plan.
    pub fn spread(&self) -> usize {
        let counts = self.loads.iter().map(|&(_, n)| n);
        counts.clone().max().unwrap_or(0) - counts.min().unwrap_or(0)
    }
}

/// The balancing plan for the databases of `snapshot` without a priority tag.
pub fn balance(snapshot: &Snapshot, settings: &LeadershipSettings) -> BalancePlan {
    let instance = Instance::new(snapshot, settings);
    let chosen = instance.solve();
    let leaders = instance
        .dbs
        .iter()
        .zip(&chosen)
        .filter_map(|(db, &to)| {
            Some(Placement {
                database: db.name.clone(),
                from: db.leader,
                to: *instance.servers.get(to)?,
            })
        })
        .collect();
    let mut loads: Vec<(ServerIdx, usize)> = instance.servers.iter().map(|&s| (s, 0)).collect();
    for &to in &chosen {
        if let Some((_, n)) = loads.get_mut(to) {
            *n += 1;
        }
    }
    BalancePlan { leaders, loads }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::topology::{DatabaseSpec, ServerSpec, TagInterner, TopologySpec};

    /// `servers` as `(name, tags, available)`; `dbs` as `(name, primaries, leader)`.
    fn snapshot(
        servers: &[(&str, &[&str], bool)],
        dbs: &[(&str, &[&str], Option<&str>)],
    ) -> Snapshot {
        let spec = TopologySpec {
            servers: servers
                .iter()
                .map(|&(name, tags, up)| {
                    ServerSpec::new(name, format!("{name}:7687"))
                        .with_tags(tags.iter().copied())
                        .with_available(up)
                })
                .collect(),
            databases: dbs
                .iter()
                .map(|&(name, primaries, leader)| DatabaseSpec {
                    name: name.into(),
                    primaries: primaries.iter().map(|p| p.to_string()).collect(),
                    secondaries: Vec::new(),
                    leader: leader.map(str::to_owned),
                    ..DatabaseSpec::default()
                })
                .collect(),
        };
        Snapshot::build(&spec, &TagInterner::new()).unwrap()
    }

    fn settings(global: Option<&str>, per_database: &[(&str, &str)]) -> LeadershipSettings {
        LeadershipSettings {
            priority_tag: global.map(str::to_owned),
            per_database: per_database
                .iter()
                .map(|&(db, tag)| (db.to_owned(), tag.to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn names(snapshot: &Snapshot, servers: &[ServerIdx]) -> Vec<String> {
        servers
            .iter()
            .map(|&s| snapshot.server(s).unwrap().name().to_owned())
            .collect()
    }

    /// The plan's moves as `(database, from, to)`.
    fn moves(snapshot: &Snapshot, plan: &BalancePlan) -> Vec<(String, Option<String>, String)> {
        let name = |s: ServerIdx| snapshot.server(s).unwrap().name().to_owned();
        plan.moves()
            .map(|p| (p.database.clone(), p.from.map(name), name(p.to)))
            .collect()
    }

    fn owned(moves: &[(&str, Option<&str>, &str)]) -> Vec<(String, Option<String>, String)> {
        moves
            .iter()
            .map(|&(d, f, t)| (d.into(), f.map(str::to_owned), t.into()))
            .collect()
    }

    #[test]
    fn the_per_database_tag_overrides_the_global_one() {
        let s = snapshot(
            &[
                ("n1a", &["north1"], true),
                ("n1b", &["north1"], false),
                ("s1a", &["south1"], true),
                ("s1b", &["south1"], true),
            ],
            &[
                ("neo4j", &["n1a", "n1b", "s1a"], Some("n1a")),
                ("orders", &["n1a", "n1b", "s1a", "s1b"], Some("n1a")),
                ("audit", &["n1b", "s1a"], Some("s1a")),
            ],
        );
        let advice = priorities(
            &s,
            &settings(Some("north1"), &[("orders", "south1")]),
            &mut Rng::seeded(1),
        );
        let found: Vec<(&str, Option<&str>, Vec<String>, bool)> = advice
            .iter()
            .map(|a| {
                (
                    a.database.as_str(),
                    a.priority_tag.as_deref(),
                    names(&s, &a.eligible),
                    a.satisfied,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("neo4j", Some("north1"), vec!["n1a".to_owned()], true),
                (
                    "orders",
                    Some("south1"),
                    vec!["s1a".into(), "s1b".into()],
                    false
                ),
                ("audit", Some("north1"), vec![], false),
            ]
        );
        assert_eq!(advice[0].transfer_to, None);
        assert_eq!(
            advice[2].transfer_to, None,
            "no available primary carries north1"
        );
    }

    #[test]
    fn a_transfer_goes_to_an_eligible_primary_chosen_uniformly() {
        let s = snapshot(
            &[
                ("a", &[], true),
                ("b", &["x"], true),
                ("c", &["x"], true),
                ("d", &["x"], false),
            ],
            &[("db", &["a", "b", "c", "d"], Some("a"))],
        );
        let mut rng = Rng::seeded(4);
        let mut counts = BTreeMap::new();
        for _ in 0..2000 {
            let advice = priorities(&s, &settings(Some("x"), &[]), &mut rng);
            *counts
                .entry(names(&s, &[advice[0].transfer_to.unwrap()])[0].clone())
                .or_insert(0) += 1;
        }
        assert_eq!(counts.keys().collect::<Vec<_>>(), ["b", "c"]);
        assert!(
            counts.values().all(|&n| (900..=1100).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn a_database_without_a_tag_is_satisfied_and_left_alone() {
        let s = snapshot(&[("a", &[], true)], &[("db", &["a"], None)]);
        let advice = priorities(&s, &settings(None, &[]), &mut Rng::seeded(0));
        assert_eq!(
            advice,
            [PriorityAdvice {
                database: "db".into(),
                priority_tag: None,
                eligible: vec![],
                leader: None,
                satisfied: true,
                transfer_to: None,
            }]
        );
    }

    #[test]
    fn six_leaderships_on_one_of_three_servers_spread_two_each_ties_to_earlier_servers() {
        let all: &[&str] = &["a", "b", "c"];
        let dbs: Vec<(String, &[&str], Option<&str>)> =
            (0..6).map(|i| (format!("db{i}"), all, Some("a"))).collect();
        let dbs: Vec<(&str, &[&str], Option<&str>)> =
            dbs.iter().map(|(n, p, l)| (n.as_str(), *p, *l)).collect();
        let s = snapshot(
            &[("a", &[], true), ("b", &[], true), ("c", &[], true)],
            &dbs,
        );
        let plan = balance(&s, &settings(None, &[]));
        assert_eq!(plan.spread(), 0);
        assert_eq!(
            moves(&s, &plan),
            owned(&[
                ("db2", Some("a"), "b"),
                ("db3", Some("a"), "b"),
                ("db4", Some("a"), "c"),
                ("db5", Some("a"), "c"),
            ])
        );
    }

    #[test]
    fn a_balanced_cluster_moves_nothing() {
        let s = snapshot(
            &[("a", &[], true), ("b", &[], true)],
            &[("x", &["a", "b"], Some("b")), ("y", &["a", "b"], Some("a"))],
        );
        let plan = balance(&s, &settings(None, &[]));
        assert_eq!(plan.spread(), 0);
        assert_eq!(plan.moves().count(), 0);
    }

    #[test]
    fn eligibility_limits_the_spread_and_moves_stay_minimal() {
        // `a` alone hosts three databases, so it leads three; `b` and `c` share the other
        // three, all led by `b`: the least loaded of them leads at most one, so the best
        // spread is 3 - 1 = 2, reached by moving one leadership from `b` to `c`. Ties go to
        // the earlier server database by database, so `bc1` and `bc2` stay on `b`.
        let s = snapshot(
            &[("a", &[], true), ("b", &[], true), ("c", &[], true)],
            &[
                ("a1", &["a"], Some("a")),
                ("a2", &["a"], Some("a")),
                ("a3", &["a"], Some("a")),
                ("bc1", &["b", "c"], Some("b")),
                ("bc2", &["b", "c"], Some("b")),
                ("bc3", &["b", "c"], Some("b")),
            ],
        );
        let plan = balance(&s, &settings(None, &[]));
        assert_eq!(plan.spread(), 2);
        assert_eq!(moves(&s, &plan), owned(&[("bc3", Some("b"), "c")]));
        let loads: Vec<usize> = plan.loads.iter().map(|&(_, n)| n).collect();
        assert_eq!(loads, [3, 2, 1]);
    }

    #[test]
    fn prioritised_databases_are_left_out_and_down_leaders_are_replaced() {
        let s = snapshot(
            &[("a", &["x"], true), ("b", &[], true), ("c", &[], false)],
            &[
                ("tagged", &["a", "b"], Some("a")),
                ("down", &["b", "c"], Some("c")),
                ("leaderless", &["a", "b"], None),
                ("nowhere", &["c"], Some("c")),
            ],
        );
        let plan = balance(&s, &settings(None, &[("tagged", "x")]));
        assert_eq!(
            plan.leaders
                .iter()
                .map(|p| p.database.as_str())
                .collect::<Vec<_>>(),
            ["down", "leaderless"]
        );
        assert_eq!(
            moves(&s, &plan),
            owned(&[("down", Some("c"), "b"), ("leaderless", None, "a")])
        );
    }

    /// The best plan by exhaustion: smallest spread, then fewest moves, then the smallest
    /// leaders in database order.
    fn brute_force(instance: &Instance) -> Vec<usize> {
        if instance.dbs.is_empty() {
            return Vec::new();
        }
        let mut best: Option<(usize, usize, Vec<usize>)> = None;
        let mut choice = vec![0usize; instance.dbs.len()];
        loop {
            let assignment: Vec<usize> = instance
                .dbs
                .iter()
                .zip(&choice)
                .map(|(db, &k)| db.eligible[k])
                .collect();
            let mut loads = vec![0usize; instance.servers.len()];
            assignment.iter().for_each(|&s| loads[s] += 1);
            let spread = loads.iter().max().unwrap() - loads.iter().min().unwrap();
            let moves = instance
                .dbs
                .iter()
                .zip(&assignment)
                .filter(|&(db, &s)| db.current != Some(s))
                .count();
            let key = (spread, moves, assignment);
            if best.as_ref().is_none_or(|b| key < *b) {
                best = Some(key);
            }
            let Some(i) =
                (0..choice.len()).find(|&i| choice[i] + 1 < instance.dbs[i].eligible.len())
            else {
                break;
            };
            choice[i] += 1;
            choice[..i].iter_mut().for_each(|c| *c = 0);
        }
        best.map(|(_, _, a)| a).unwrap_or_default()
    }

    #[test]
    fn the_plan_is_optimal_on_small_random_clusters() {
        let mut rng = Rng::seeded(2024);
        for case in 0..400 {
            let n = 1 + rng.index(6);
            let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
            let servers: Vec<(&str, &[&str], bool)> = names
                .iter()
                .map(|name| (name.as_str(), &[][..], rng.index(5) != 0))
                .collect();
            let mut dbs = Vec::new();
            for d in 0..1 + rng.index(6) {
                let mut primaries: Vec<&str> = names
                    .iter()
                    .filter(|_| rng.index(2) == 0)
                    .map(String::as_str)
                    .collect();
                if primaries.is_empty() {
                    primaries.push(&names[rng.index(n)]);
                }
                primaries.truncate(4);
                let leader = match rng.index(4) {
                    0 => None,
                    _ => Some(primaries[rng.index(primaries.len())]),
                };
                dbs.push((format!("db{d}"), primaries, leader));
            }
            let db_refs: Vec<(&str, &[&str], Option<&str>)> = dbs
                .iter()
                .map(|(name, p, l)| (name.as_str(), p.as_slice(), *l))
                .collect();
            let s = snapshot(&servers, &db_refs);
            let tagged: Vec<(&str, &str)> = match rng.index(3) {
                0 => vec![("db0", "t")],
                _ => vec![],
            };
            let settings = settings(None, &tagged);
            let instance = Instance::new(&s, &settings);
            assert_eq!(
                instance.solve(),
                brute_force(&instance),
                "case {case}: {db_refs:?} {servers:?}"
            );
        }
    }
}
