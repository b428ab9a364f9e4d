//! Issue 22: a topology costs what it holds now, never what it once held.
//!
//! Random churn adds and drops thousands of tags on a live cluster while readers hold old
//! snapshots and programs name churned tags; then everything settles, one new tag arrives (the
//! issue's case: one tag after churn sized every later snapshot by the whole history), and the
//! cluster is compared with a fresh build of the same state on a new interner: the same names
//! interned, the same id bound, and an update that allocates and keeps as many bytes. Along the
//! way, the interner holds exactly the names some live snapshot carries or some live program
//! names.
//!
//! Its own test binary, because it counts allocated bytes with a global allocator (per thread,
//! so the harness's other threads cannot disturb the counts).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on what it did not expect"
)]

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use tagroute::Strictness;
use tagroute::bytecode::Program;
use tagroute::compile::compile;
use tagroute::syntax;
use tagroute::topology::{ServerSpec, Snapshot, TagInterner, Topology, TopologySpec, Update};

#[path = "counting.rs"]
mod counting;

use counting::measured;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

const SERVERS: usize = 256;
const BASE_TAGS: usize = 16;

fn server(i: usize) -> String {
    format!("s{i}")
}

/// Server `i`'s own tags, which it keeps through the churn.
fn base_tags(i: usize) -> Vec<String> {
    let mut tags = vec![format!("b{}", i % BASE_TAGS)];
    if i.is_multiple_of(7) {
        tags.push("x".to_owned());
    }
    tags
}

fn base() -> TopologySpec {
    TopologySpec {
        servers: (0..SERVERS)
            .map(|i| {
                ServerSpec::new(server(i), format!("{}:7687", server(i))).with_tags(base_tags(i))
            })
            .collect(),
        databases: vec![],
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// `servers` servers from `first` on each get `tags` new tags of their own.
    Churn {
        first: usize,
        servers: usize,
        tags: usize,
    },
    /// `servers` servers from `first` on go back to their own tags.
    Drop { first: usize, servers: usize },
    /// A reader keeps the current snapshot.
    Hold,
    /// A reader lets go of one it kept.
    Release(usize),
    /// A program names `tags` churned tags carried now and two tags no server carries.
    Compile(usize),
    /// A program is dropped.
    Forget(usize),
    /// A server joins with `tags` new tags.
    Join(usize),
    /// A server that joined leaves.
    Leave,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..SERVERS, 1..64usize, 1..40usize)
            .prop_map(|(first, servers, tags)| Op::Churn { first, servers, tags }),
        3 => (0..SERVERS, 1..128usize).prop_map(|(first, servers)| Op::Drop { first, servers }),
        1 => Just(Op::Hold),
        1 => any::<usize>().prop_map(Op::Release),
        1 => (0..5usize).prop_map(Op::Compile),
        1 => any::<usize>().prop_map(Op::Forget),
        1 => (0..30usize).prop_map(Op::Join),
        1 => Just(Op::Leave),
    ]
}

/// The live cluster and everything that holds its tags.
struct Churn {
    topology: Topology,
    held: Vec<Arc<Snapshot>>,
    programs: Vec<(Program, Vec<String>)>,
    joined: Vec<String>,
    next: usize,
}

impl Churn {
    fn new() -> Churn {
        Churn {
            topology: Topology::new(&base()).expect("valid"),
            held: Vec::new(),
            programs: Vec::new(),
            joined: Vec::new(),
            next: 0,
        }
    }

    fn fresh(&mut self, n: usize) -> Vec<String> {
        let names = (self.next..self.next + n)
            .map(|i| format!("c{i}"))
            .collect();
        self.next += n;
        names
    }

    fn set(&self, i: usize, extra: Vec<String>) -> Update {
        let mut tags = base_tags(i);
        tags.extend(extra);
        Update::SetTags {
            server: server(i),
            tags,
        }
    }

    fn run(&mut self, op: &Op) {
        match *op {
            Op::Churn {
                first,
                servers,
                tags,
            } => {
                let batch: Vec<Update> = (first..first + servers)
                    .map(|i| i % SERVERS)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .map(|i| {
                        let extra = self.fresh(tags);
                        self.set(i, extra)
                    })
                    .collect();
                self.topology.apply(&batch).expect("valid churn");
            }
            Op::Drop { first, servers } => {
                let batch: Vec<Update> = (first..first + servers)
                    .map(|i| i % SERVERS)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .map(|i| self.set(i, Vec::new()))
                    .collect();
                self.topology.apply(&batch).expect("valid drop");
            }
            Op::Hold => self.held.push(self.topology.snapshot()),
            Op::Release(i) if !self.held.is_empty() => {
                let at = i % self.held.len();
                self.held.swap_remove(at);
            }
            Op::Compile(n) => {
                let carried = carried(&self.topology.snapshot());
                let mut names: Vec<String> = carried
                    .into_iter()
                    .filter(|t| t.starts_with('c'))
                    .take(n)
                    .collect();
                names.extend(self.fresh(2).into_iter().map(|t| format!("p{t}")));
                let text = format!("tags({}); halt()", names.join(","));
                let policy = syntax::parse(&text, Strictness::Default).expect("parses");
                let program = compile(&policy, self.topology.interner()).expect("compiles");
                self.programs.push((program, names));
            }
            Op::Forget(i) if !self.programs.is_empty() => {
                let at = i % self.programs.len();
                self.programs.swap_remove(at);
            }
            Op::Join(tags) => {
                let name = format!("j{}", self.next);
                let spec =
                    ServerSpec::new(&name, format!("{name}:7687")).with_tags(self.fresh(tags));
                self.topology
                    .apply(&[Update::AddServer(spec)])
                    .expect("valid join");
                self.joined.push(name);
            }
            Op::Leave => {
                if let Some(name) = self.joined.pop() {
                    self.topology
                        .apply(&[Update::RemoveServer { server: name }])
                        .expect("valid leave");
                }
            }
            Op::Release(_) | Op::Forget(_) => {}
        }
    }

    /// Every name a live snapshot carries or a live program names.
    fn in_use(&self) -> BTreeSet<String> {
        let mut names = carried(&self.topology.snapshot());
        for snapshot in &self.held {
            names.extend(carried(snapshot));
        }
        for (_, tags) in &self.programs {
            names.extend(tags.iter().cloned());
        }
        names
    }

    /// Everything back to the base tags, the joined servers gone, and nothing held.
    fn settle(&mut self) {
        let batch: Vec<Update> = (0..SERVERS).map(|i| self.set(i, Vec::new())).collect();
        self.topology.apply(&batch).expect("valid");
        for name in std::mem::take(&mut self.joined) {
            self.topology
                .apply(&[Update::RemoveServer { server: name }])
                .expect("valid");
        }
        self.held.clear();
        self.programs.clear();
    }
}

fn carried(snapshot: &Snapshot) -> BTreeSet<String> {
    snapshot
        .to_spec()
        .servers
        .into_iter()
        .flat_map(|s| s.tags)
        .collect()
}

/// A tag update that changes which servers carry a tag but not which tags are carried: what it
/// costs is a copy of the tag matrix.
fn move_late() -> [Update; 1] {
    let mut tags = base_tags(5);
    tags.push("late".to_owned());
    [Update::SetTags {
        server: server(5),
        tags,
    }]
}

/// The bytes one update allocates, and the bytes the snapshot it makes keeps, on `snapshot`.
fn update_cost(snapshot: &Snapshot) -> (usize, isize) {
    let (next, allocated, kept) = measured(|| snapshot.apply(&move_late()).expect("valid"));
    drop(next);
    (allocated, kept)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: proptest::test_runner::RngSeed::Fixed(22),
        ..ProptestConfig::default()
    })]

    #[test]
    fn after_churn_a_cluster_costs_what_a_fresh_build_of_it_costs(
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut churn = Churn::new();
        for op in &ops {
            churn.run(op);
            let interner = churn.topology.interner();
            prop_assert_eq!(interner.len(), churn.in_use().len(), "after {:?}", op);
        }
        let churned_tags = churn.next;
        churn.settle();
        churn.topology.apply(&[churn.set(3, vec!["late".to_owned()])]).expect("valid");
        let churned = churn.topology.snapshot();
        let fresh = Snapshot::build(&churned.to_spec(), &TagInterner::new()).expect("valid");
        let (a, b) = (churned.interner(), fresh.interner());
        prop_assert_eq!((a.len(), a.id_bound()), (b.len(), b.id_bound()),
            "{} tags churned", churned_tags);
        prop_assert_eq!(a.id_bound(), BASE_TAGS + 2, "the base tags, `x` and `late`");
        // The same update on both: the same bytes allocated and kept, to the byte.
        prop_assert_eq!(update_cost(&churned), update_cost(&fresh));
    }
}

/// The measurement, scaled to a test: 25 reloads each add 2,048 tags to 1,024 servers
/// and drop them again while a reader holds the snapshot between them; then one new tag. A tag
/// update then cost a copy of a 51,221-row matrix (6.6 MB) and each held snapshot kept one.
#[test]
fn twenty_five_churned_reloads_leave_nothing_behind() {
    const N: usize = 1024;
    let spec = |round: Option<usize>| TopologySpec {
        servers: (0..N)
            .map(|i| {
                let mut tags = vec![format!("b{}", i % 20)];
                if let Some(r) = round {
                    tags.push(format!("r{r}-{i}"));
                    tags.push(format!("r{r}-{}", i + N));
                }
                ServerSpec::new(server(i), format!("{}:7687", server(i))).with_tags(tags)
            })
            .collect(),
        databases: vec![],
    };
    let topology = Topology::new(&spec(None)).expect("valid");
    for round in 0..25 {
        let reader = topology
            .replace(&spec(Some(round)))
            .expect("2,048 new tags");
        topology.replace(&spec(None)).expect("dropped again");
        drop(reader);
    }
    let late = [Update::SetTags {
        server: server(7),
        tags: vec!["b7".to_owned(), "late".to_owned()],
    }];
    let churned = topology.apply(&late).expect("valid");
    let fresh = Snapshot::build(&churned.to_spec(), &TagInterner::new()).expect("valid");
    assert_eq!(churned.interner().id_bound(), 21);
    // Ten readers each hold a snapshot one update newer.
    let cost = |s: &Snapshot| {
        let (held, allocated, kept) = measured(|| {
            (0..10)
                .map(|_| s.apply(&move_late()).expect("valid"))
                .collect::<Vec<_>>()
        });
        drop(held);
        (allocated, kept)
    };
    assert_eq!(cost(&churned), cost(&fresh));
}
