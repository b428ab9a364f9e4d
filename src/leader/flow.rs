//! The min-cost-flow solver behind leadership balancing.
//!
//! Each database sends one leadership to one of its available primaries. For a window
//! `[lo, hi]` of leaderships per server, a min-cost flow over source → database → server → sink
//! finds whether every database can be placed with each server's count inside the window, and
//! with how few moves. [`Instance::solve`] searches the windows and settles ties.
//!
//! Indexing is plain `[]` throughout: every node and edge number is one this module made
//! (nodes `0..d + n + 2`, edges in pairs with `e ^ 1` the reverse), never one read from input.

use std::collections::VecDeque;

use crate::config::LeadershipSettings;
use crate::topology::{Database, ServerIdx, ServerSet, Snapshot};

/// The balancing problem with servers numbered `0..servers.len()` in topology order.
pub(super) struct Instance {
    pub(super) dbs: Vec<Db>,
    pub(super) servers: Vec<ServerIdx>,
}

pub(super) struct Db {
    pub(super) name: String,
    pub(super) leader: Option<ServerIdx>,
    /// The servers that may lead it, ascending.
    pub(super) eligible: Vec<usize>,
    /// Its leader, if it is one of them.
    pub(super) current: Option<usize>,
}

impl Instance {
    pub(super) fn new(snapshot: &Snapshot, settings: &LeadershipSettings) -> Instance {
        let balanced: Vec<(&Database, ServerSet)> = snapshot
            .databases()
            .iter()
            .filter(|db| settings.priority_tag_of(db.name()).is_none())
            .map(|db| {
                let mut up = db.primaries().clone();
                up.intersect_same(snapshot.available());
                (db, up)
            })
            .filter(|(_, up)| !up.is_empty())
            .collect();
        let mut all = ServerSet::empty(snapshot.len());
        balanced.iter().for_each(|(_, up)| all.union_same(up));
        let servers: Vec<ServerIdx> = all.iter().collect();
        let local = |s: ServerIdx| servers.binary_search(&s).ok();
        let dbs = balanced
            .iter()
            .map(|(db, up)| Db {
                name: db.name().to_owned(),
                leader: db.leader(),
                eligible: up.iter().filter_map(local).collect(),
                current: db.leader().filter(|&l| up.contains(l)).and_then(local),
            })
            .collect();
        Instance { dbs, servers }
    }

    /// The chosen server of every database.
    pub(super) fn solve(&self) -> Vec<usize> {
        let (d, n) = (self.dbs.len(), self.servers.len());
        if d == 0 {
            return Vec::new();
        }
        let most = first_true(d.div_ceil(n), d, |hi| self.window(0, hi).is_some());
        let least = last_true(0, d / n, |lo| self.window(lo, d).is_some());
        let Some(mut best) = self.best_window(least, most) else {
            return Vec::new();
        };
        best.settle_ties(self);
        best.assignment(self)
    }

    /// The optimal flow of the narrowest window, fewest moves first, then the lowest window.
    fn best_window(&self, least: usize, most: usize) -> Option<Network> {
        let d = self.dbs.len();
        for spread in most.saturating_sub(least)..=d {
            let lows = most.saturating_sub(spread)..=least;
            let best = lows
                .filter_map(|lo| self.window(lo, lo + spread))
                .min_by_key(|network| network.moves);
            if best.is_some() {
                return best;
            }
        }
        None
    }

    /// The min-cost placement with every server's leaderships in `lo..=hi`, if there is one.
    fn window(&self, lo: usize, hi: usize) -> Option<Network> {
        let mut network = Network::build(self, lo, hi);
        network.fill(self)?;
        Some(network)
    }
}

/// The smallest `x` in `lo..=hi` with `ok(x)`, for `ok` false then true (`hi` if none).
fn first_true(mut lo: usize, mut hi: usize, ok: impl Fn(usize) -> bool) -> usize {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) { hi = mid } else { lo = mid + 1 }
    }
    hi
}

/// The largest `x` in `lo..=hi` with `ok(x)`, for `ok` true then false (`lo` if none).
fn last_true(mut lo: usize, mut hi: usize, ok: impl Fn(usize) -> bool) -> usize {
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if ok(mid) { lo = mid } else { hi = mid - 1 }
    }
    lo
}

/// An edge of the residual graph; edges come in pairs, `e ^ 1` the reverse of `e`.
#[derive(Clone, Copy, Debug)]
struct Edge {
    to: usize,
    cap: i64,
    cost: i64,
}

/// The flow network of one window: source → database (1) → eligible server (1, cost 1 unless
/// the current leader) → sink, each server's first `lo` units through an edge worth `-big` so
/// that a min-cost flow meets the lower bound whenever it can.
struct Network {
    edges: Vec<Edge>,
    out: Vec<Vec<usize>>,
    /// Per database, the first edge of its edges to its eligible servers, in their order.
    db_edges: Vec<usize>,
    lower_edges: Vec<usize>,
    lo: i64,
    big: i64,
    moves: i64,
}

const SOURCE: usize = 0;

impl Network {
    fn build(instance: &Instance, lo: usize, hi: usize) -> Network {
        let (d, n) = (instance.dbs.len(), instance.servers.len());
        let big = d as i64 + 1;
        let mut network = Network {
            edges: Vec::new(),
            out: vec![Vec::new(); d + n + 2],
            db_edges: Vec::with_capacity(d),
            lower_edges: Vec::with_capacity(n),
            lo: lo as i64,
            big,
            moves: 0,
        };
        let sink = d + n + 1;
        for (i, db) in instance.dbs.iter().enumerate() {
            network.add(SOURCE, 1 + i, 1, 0);
            network.db_edges.push(network.edges.len());
            for &s in &db.eligible {
                let cost = if db.current == Some(s) { 0 } else { 1 };
                network.add(1 + i, 1 + d + s, 1, cost);
            }
        }
        for s in 0..n {
            network.lower_edges.push(network.edges.len());
            network.add(1 + d + s, sink, lo as i64, -big);
            network.add(1 + d + s, sink, (hi - lo) as i64, 0);
        }
        network
    }

    fn add(&mut self, from: usize, to: usize, cap: i64, cost: i64) {
        for (at, edge) in [
            (from, Edge { to, cap, cost }),
            (
                to,
                Edge {
                    to: from,
                    cap: 0,
                    cost: -cost,
                },
            ),
        ] {
            self.out[at].push(self.edges.len());
            self.edges.push(edge);
        }
    }

    /// Sends one unit per database along successive shortest paths; `None` when the window
    /// cannot hold every database with its lower bound met.
    fn fill(&mut self, instance: &Instance) -> Option<()> {
        let sink = self.out.len() - 1;
        let mut cost = 0;
        for _ in 0..instance.dbs.len() {
            let (dist, via) = self.shortest_from(SOURCE);
            let total = dist[sink];
            if total == i64::MAX {
                return None;
            }
            self.augment(SOURCE, sink, &via);
            cost += total;
        }
        let lower_met = self.lower_edges.iter().all(|&e| self.edges[e].cap == 0);
        lower_met.then(|| {
            self.moves = cost + self.big * self.lo * self.lower_edges.len() as i64;
        })
    }

    /// Distances from `from` over edges with capacity left (Bellman-Ford with a queue; the
    /// residual graph of a min-cost flow has no negative cycle), and the edge into each node.
    fn shortest_from(&self, from: usize) -> (Vec<i64>, Vec<Option<usize>>) {
        let mut dist = vec![i64::MAX; self.out.len()];
        let mut via = vec![None; self.out.len()];
        let mut queued = vec![false; self.out.len()];
        let mut queue = VecDeque::from([from]);
        dist[from] = 0;
        while let Some(u) = queue.pop_front() {
            queued[u] = false;
            for &e in &self.out[u] {
                let edge = self.edges[e];
                let through = dist[u] + edge.cost;
                if edge.cap > 0 && through < dist[edge.to] {
                    dist[edge.to] = through;
                    via[edge.to] = Some(e);
                    if !queued[edge.to] {
                        queued[edge.to] = true;
                        queue.push_back(edge.to);
                    }
                }
            }
        }
        (dist, via)
    }

    /// Pushes one unit along the path to `to` that `via` records, back to `from`.
    fn augment(&mut self, from: usize, to: usize, via: &[Option<usize>]) {
        let mut at = to;
        while at != from {
            let Some(e) = via.get(at).copied().flatten() else {
                return;
            };
            self.push(e);
            at = self.edges[e ^ 1].to;
        }
    }

    fn push(&mut self, e: usize) {
        self.edges[e].cap -= 1;
        self.edges[e ^ 1].cap += 1;
    }

    /// The edge of database `i` that carries its leadership: the one whose reverse has
    /// capacity (fixing a database takes the capacity of its forward edges, never of this).
    fn chosen_edge(&self, instance: &Instance, i: usize) -> Option<usize> {
        let first = *self.db_edges.get(i)?;
        let count = instance.dbs.get(i)?.eligible.len();
        (0..count)
            .map(|k| first + 2 * k)
            .find(|&e| self.edges[e ^ 1].cap > 0)
    }

    /// Moves each database in turn, in order, to its earliest server that an exchange of zero
    /// cost reaches, then fixes it there.
    fn settle_ties(&mut self, instance: &Instance) {
        for (i, db) in instance.dbs.iter().enumerate() {
            let (Some(first), Some(held)) =
                (self.db_edges.get(i).copied(), self.chosen_edge(instance, i))
            else {
                continue;
            };
            let edges = (0..db.eligible.len()).map(|k| first + 2 * k);
            for e in edges.clone() {
                if e == held || self.exchange(e, held) {
                    break;
                }
            }
            edges.for_each(|e| self.edges[e].cap = 0);
        }
    }

    /// Moves the unit of edge `held` (database → server) onto `wanted` (same database →
    /// another server) if a cycle of zero cost does it: `wanted`, a shortest residual path from
    /// its server back to `held`'s server, and `held` undone.
    fn exchange(&mut self, wanted: usize, held: usize) -> bool {
        let (target, back) = (self.edges[wanted].to, self.edges[held].to);
        let (dist, via) = self.shortest_from(target);
        let path = dist[back];
        if path == i64::MAX || path + self.edges[wanted].cost - self.edges[held].cost != 0 {
            return false;
        }
        self.augment(target, back, &via);
        self.push(wanted);
        self.push(held ^ 1);
        true
    }

    /// The chosen server of every database.
    fn assignment(&self, instance: &Instance) -> Vec<usize> {
        (0..instance.dbs.len())
            .filter_map(|i| {
                let e = self.chosen_edge(instance, i)?;
                let k = (e - self.db_edges.get(i)?) / 2;
                instance.dbs.get(i)?.eligible.get(k).copied()
            })
            .collect()
    }
}
