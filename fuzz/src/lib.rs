//! What the fuzz targets share: one normal form for both parsers' output, and the structured
//! policies and clusters of the differential target.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use arbitrary::Arbitrary;
use tagroute::reference;
use tagroute::syntax::{NormalFilter, Policy};
use tagroute::topology::{ServerIdx, ServerSpec, Snapshot, TagInterner, TopologySpec};

/// Our parser's normal form, spelled as the reference parser's output so the two compare
/// with `==`.
pub fn normal_form(policy: &Policy) -> reference::Policy {
    let normal = policy.normalize();
    reference::Policy {
        rules: normal
            .rules
            .into_iter()
            .map(|rule| {
                rule.filters
                    .into_iter()
                    .map(|f| match f {
                        NormalFilter::Tags(tags) => reference::Filter::Tags(tags),
                        NormalFilter::Min(n) => reference::Filter::Min(n),
                    })
                    .collect()
            })
            .collect(),
        halts: normal.halts,
    }
}

/// The tags servers carry; policies may also name [`GHOST`].
pub const TAGS: [&str; 4] = ["north", "north1", "x-y", "_7"];

/// A tag no server carries.
pub const GHOST: &str = "ghost";

/// A tag argument: one of [`TAGS`] or [`GHOST`], or nothing (an ignored empty argument).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum TagArg {
    /// `TAGS[i % 4]`.
    Known(u8),
    /// [`GHOST`].
    Ghost,
    /// An empty argument, `tags(,a)`.
    Empty,
}

/// A `min` argument, biased toward the sizes that matter.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum MinArg {
    /// `-2..=8`.
    Small(u8),
    /// A word boundary or its neighbour: 63, 64, 65, 127, 128, 129.
    Boundary(u8),
    /// Anything, including `i32::MIN`.
    Any(i32),
}

impl TagArg {
    fn text(&self) -> String {
        match self {
            TagArg::Known(i) => TAGS[usize::from(i % 4)].to_string(),
            TagArg::Ghost => GHOST.to_string(),
            TagArg::Empty => String::new(),
        }
    }
}

impl MinArg {
    fn value(self) -> i32 {
        match self {
            MinArg::Small(n) => i32::from(n % 11) - 2,
            MinArg::Boundary(n) => [63, 64, 65, 127, 128, 129][usize::from(n % 6)],
            MinArg::Any(n) => n,
        }
    }
}

/// A filter that may follow others in a rule.
#[derive(Arbitrary, Debug, Clone)]
pub enum FilterArg {
    /// `tags(...)`, or `groups(...)` when `groups`: `TAGS[tag % 4]` or [`GHOST`] at position
    /// `at` among the other arguments.
    Tags {
        groups: bool,
        tag: u8,
        at: u8,
        others: Vec<TagArg>,
    },
    /// `min(n)`, written with `zeros` leading zeros.
    Min { n: MinArg, zeros: u8 },
}

/// A rule: an optional leading `all()`, filters, and trailing arrows (at least one when there
/// is nothing else: an arrow-only rule).
#[derive(Arbitrary, Debug, Clone)]
pub struct RuleArg {
    /// A leading `all()`.
    pub all: bool,
    /// The first five are printed.
    pub filters: Vec<FilterArg>,
    /// Bit `i`: filter `i` is followed by a stray `(`, which Neo4j ignores.
    pub stray: u8,
    /// `->` after the last filter, 0 to 2 of them.
    pub trailing_arrows: u8,
}

/// A valid policy: rules, perhaps `halt()`, perhaps trailing `;`, printed with whitespace
/// drawn from `blanks` between tokens.
#[derive(Arbitrary, Debug, Clone)]
pub struct PolicyArg {
    /// The first six are printed.
    pub rules: Vec<RuleArg>,
    /// A final `halt()` rule (always there when there is no other rule).
    pub halt: bool,
    /// `;` after the last rule, 0 to 2 of them.
    pub trailing_semicolons: u8,
    /// One byte per gap, cycled: 128 and above put whitespace there.
    pub blanks: Vec<u8>,
}

/// Prints a [`PolicyArg`], drawing whitespace for each gap between tokens.
struct Printer<'a> {
    out: String,
    blanks: &'a [u8],
    gap: usize,
}

impl Printer<'_> {
    fn token(&mut self, token: &str) {
        let blank = match self.blanks.get(self.gap % self.blanks.len().max(1)) {
            Some(b) if *b >= 128 => {
                ["", " ", "\t", "\n", "\r\n", "\u{b}", "\u{0}", "  \u{1f}"][usize::from(b % 8)]
            }
            _ => "",
        };
        self.gap += 1;
        self.out.push_str(blank);
        self.out.push_str(token);
    }

    fn call(&mut self, name: &str, args: &[String], stray: bool) {
        self.token(name);
        self.token("(");
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                self.token(",");
            }
            self.token(arg);
        }
        self.token(")");
        if stray {
            self.token("(");
        }
    }
}

impl PolicyArg {
    /// The policy as text, valid in default mode.
    pub fn text(&self) -> String {
        let mut p = Printer {
            out: String::new(),
            blanks: &self.blanks,
            gap: 0,
        };
        let rules = self.rules.iter().take(6);
        for (i, rule) in rules.enumerate() {
            if i > 0 {
                p.token(";");
            }
            rule.print(&mut p);
        }
        if self.halt || self.rules.is_empty() {
            if !self.rules.is_empty() {
                p.token(";");
            }
            p.call("halt", &[], false);
        }
        for _ in 0..self.trailing_semicolons % 3 {
            p.token(";");
        }
        p.out
    }
}

impl RuleArg {
    fn print(&self, p: &mut Printer<'_>) {
        let filters = self.filters.iter().take(5);
        if self.all {
            p.call("all", &[], false);
        }
        for (i, filter) in filters.enumerate() {
            if i > 0 || self.all {
                p.token("->");
            }
            let stray = self.stray & (1 << i) != 0;
            match filter {
                FilterArg::Tags {
                    groups,
                    tag,
                    at,
                    others,
                } => {
                    let mut args: Vec<String> = others.iter().take(4).map(TagArg::text).collect();
                    let tag = TAGS.get(usize::from(tag % 5)).unwrap_or(&GHOST);
                    args.insert(usize::from(*at) % (args.len() + 1), tag.to_string());
                    p.call(if *groups { "groups" } else { "tags" }, &args, stray);
                }
                FilterArg::Min { n, zeros } => {
                    let n = i64::from(n.value());
                    let sign = if n < 0 { "-" } else { "" };
                    let digits = format!("{}{}", "0".repeat(usize::from(zeros % 3)), n.abs());
                    p.call("min", &[format!("{sign}{digits}")], stray);
                }
            }
        }
        let arrows = match self.trailing_arrows % 3 {
            0 if !self.all && self.filters.is_empty() => 1,
            n => n,
        };
        for _ in 0..arrows {
            p.token("->");
        }
    }
}

/// A cluster of 0 to [`MAX_SERVERS`] servers with the tags of [`TAGS`], biased toward word
/// boundaries, and a candidate subset.
#[derive(Arbitrary, Debug, Clone)]
pub struct ClusterArg {
    /// How many servers.
    pub size: Size,
    /// Server `i` carries `TAGS[t]` if bit `t` of its byte is set, and is down if bits 4..7
    /// are all clear; servers past the end of `servers` take bytes from `seed`.
    pub servers: Vec<u8>,
    /// Where the bytes of servers past `servers` come from.
    pub seed: u64,
    /// Server `i` is a candidate of the second evaluation if bit `i % 64` of word `i / 64 % 4`.
    pub pick: [u64; 4],
}

/// A cluster size.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Size {
    /// 1, 63, 64, 65, 127, 128 or 129.
    Boundary(u8),
    /// `0..=300`.
    Any(u16),
}

impl ClusterArg {
    /// The number of servers.
    pub fn size(&self) -> usize {
        match self.size {
            Size::Boundary(n) => [1, 63, 64, 65, 127, 128, 129][usize::from(n % 7)],
            Size::Any(n) => usize::from(n) % (MAX_SERVERS + 1),
        }
    }

    /// The byte that decides server `i`'s tags and availability.
    fn byte(&self, i: usize) -> u8 {
        self.servers.get(i).copied().unwrap_or_else(|| {
            let mut x = self.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            x = (x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            (x >> 56) as u8
        })
    }

    /// One byte per server: everything the cluster is made of (its tag bits, and bit 4 when it
    /// is up), so clusters with equal bytes are the same cluster and equal clusters have equal
    /// bytes (server bytes that differ only in which of bits 4..7 are set make one cluster).
    pub fn bytes(&self) -> Vec<u8> {
        (0..self.size())
            .map(|i| {
                let byte = self.byte(i);
                byte & 0x0f | u8::from(byte >> 4 != 0) << 4
            })
            .collect()
    }

    /// The second evaluation's candidates, by server number.
    pub fn picked(&self) -> BTreeSet<u16> {
        (0..self.size())
            .filter(|i| self.pick[i / 64 % 4] & (1 << (i % 64)) != 0)
            .map(number)
            .collect()
    }
}

/// The most servers a [`ClusterArg`] has.
pub const MAX_SERVERS: usize = 300;

fn number(i: usize) -> u16 {
    u16::try_from(i).expect("at most MAX_SERVERS servers")
}

/// The topology of a cluster's [`ClusterArg::bytes`]: server `i` is named `s{i}`, carries
/// `TAGS[t]` if bit `t` of its byte is set, and is down if bits 4..7 are all clear.
pub fn spec(bytes: &[u8]) -> TopologySpec {
    let servers = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let tags = (0..4).filter(|t| b & (1 << t) != 0).map(|t| TAGS[t]);
            ServerSpec::new(format!("s{i}"), format!("s{i}.example:7687"))
                .with_tags(tags)
                .with_available(b >> 4 != 0)
        })
        .collect();
    TopologySpec {
        servers,
        databases: vec![],
    }
}

/// A cluster as both sides see it: the snapshot for the VM, and for the reference each
/// server's tags and the available servers, with servers named by number.
pub struct Cluster {
    /// The snapshot of [`spec`]; its server `i` is server number `i`.
    pub snapshot: Snapshot,
    /// Each server's tags (what `reference::evaluate_on` builds from a topology).
    pub tags_of: BTreeMap<u16, BTreeSet<String>>,
    /// The available servers (`reference::available`).
    pub available: BTreeSet<u16>,
}

impl Cluster {
    /// Builds the cluster of `bytes`.
    ///
    /// # Panics
    ///
    /// If the snapshot refuses the topology or does not keep its servers in order: then
    /// numbers would not stand for names.
    pub fn build(bytes: &[u8]) -> Cluster {
        let spec = spec(bytes);
        let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("a valid cluster");
        for (i, server) in spec.servers.iter().enumerate() {
            let at = ServerIdx::new(i).and_then(|i| snapshot.server(i));
            assert_eq!(at.map(|s| s.name()), Some(server.name.as_str()));
        }
        let numbered = || spec.servers.iter().enumerate().map(|(i, s)| (number(i), s));
        Cluster {
            tags_of: numbered()
                .map(|(i, s)| (i, s.tags.iter().cloned().collect()))
                .collect(),
            available: numbered()
                .filter(|(_, s)| s.available)
                .map(|(i, _)| i)
                .collect(),
            snapshot,
        }
    }
}

/// Built clusters by their bytes, so that inputs that differ only in their policy (most of
/// libFuzzer's mutations of one input) build their cluster once. A cluster of 300 servers
/// costs a few hundred allocations and string comparisons to build, which made the building
/// most of the target's time under the address sanitizer.
#[derive(Default)]
pub struct Clusters {
    built: HashMap<Vec<u8>, Rc<Cluster>>,
}

impl Clusters {
    /// At most this many clusters are kept (about 30 MB under the address sanitizer); past it
    /// the cache starts over.
    pub const CAPACITY: usize = 1024;

    /// The cluster of `bytes`, built at most once while it stays in the cache.
    pub fn get(&mut self, bytes: Vec<u8>) -> Rc<Cluster> {
        if let Some(cluster) = self.built.get(&bytes) {
            return Rc::clone(cluster);
        }
        if self.built.len() >= Self::CAPACITY {
            self.built.clear();
        }
        let cluster = Rc::new(Cluster::build(&bytes));
        self.built.insert(bytes, Rc::clone(&cluster));
        cluster
    }
}
