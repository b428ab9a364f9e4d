//! Failure domains: the units that fail together (a data center's tag, or one server), and
//! the regions that say where a server is.
//!
//! By default the domains are the data centers: the finest partition of the servers by tags.
//! Only tags that nest take part (for any two, they are disjoint or one contains the other):
//! cross-cutting tags such as `ssd` are set aside first, the one overlapping the most others at
//! a time, until the rest nest. The smallest remaining tags, which are pairwise disjoint, are
//! the data centers if they cover every server. A server's **region** is the smallest nesting tag that strictly contains its data
//! center without containing every server (`north` for `north1`), or the data center itself
//! when there is no such tag.

use std::fmt;

use crate::suggest::{NameKind, UnknownName};
use crate::topology::{ServerIdx, ServerSet, Snapshot, TagId};

/// A set of servers that fails together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    name: String,
    kind: DomainKind,
    members: ServerSet,
}

/// What a domain stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DomainKind {
    /// Every server carrying a tag.
    Tag,
    /// One server.
    Server,
}

impl Domain {
    /// The tag's or the server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is a tag or a server.
    pub fn kind(&self) -> DomainKind {
        self.kind
    }

    /// The servers that fail with it.
    pub fn members(&self) -> &ServerSet {
        &self.members
    }

    /// The domain as `whatif --down` writes it: `tag:NAME` or the server's name.
    pub fn spec(&self) -> String {
        match self.kind {
            DomainKind::Tag => format!("tag:{}", self.name),
            DomainKind::Server => self.name.clone(),
        }
    }
}

/// Why a list of domains cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DomainError {
    /// A tag no server carries.
    UnknownTag(UnknownName),
    /// A server the topology does not have.
    UnknownServer(UnknownName),
    /// A domain listed twice.
    Duplicate(String),
    /// No domain at all.
    Empty,
    /// No tags partition the servers into data centers.
    NoDataCenters,
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainError::UnknownTag(unknown) | DomainError::UnknownServer(unknown) => {
                unknown.fmt(f)
            }
            DomainError::Duplicate(name) => {
                write!(f, "the failure domain `{name}` is listed twice")
            }
            DomainError::Empty => write!(f, "no failure domain"),
            DomainError::NoDataCenters => write!(
                f,
                "no tags partition the servers into data centers; name the failure domains"
            ),
        }
    }
}

impl std::error::Error for DomainError {}

/// The failure domains of one analysis, in a fixed order (scenarios list them in this order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domains {
    list: Vec<Domain>,
}

impl Domains {
    /// The data centers: the finest partition of the servers by nesting tags (see the module).
    pub fn data_centers(snapshot: &Snapshot) -> Result<Domains, DomainError> {
        let places = Places::of(snapshot);
        let centers = places.data_centers().ok_or(DomainError::NoDataCenters)?;
        Ok(Domains {
            list: centers
                .into_iter()
                .map(|t| tag_domain(snapshot, &places, t))
                .collect(),
        })
    }

    /// One domain per tag named, in the order given.
    pub fn tags<'n>(
        snapshot: &Snapshot,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<Domains, DomainError> {
        let specs = names
            .into_iter()
            .map(|n| format!("tag:{n}"))
            .collect::<Vec<_>>();
        Domains::parse(snapshot, specs.iter().map(String::as_str))
    }

    /// One domain per tag whose name matches `pattern`, a glob (`*` any run, `?` one
    /// character), in tag order.
    pub fn matching(snapshot: &Snapshot, pattern: &str) -> Result<Domains, DomainError> {
        let places = Places::of(snapshot);
        let list: Vec<Domain> = places
            .tags
            .iter()
            .filter(|t| glob(pattern.as_bytes(), t.name.as_bytes()))
            .map(|t| Domain {
                name: t.name.clone(),
                kind: DomainKind::Tag,
                members: t.members.clone(),
            })
            .collect();
        if list.is_empty() {
            return Err(DomainError::Empty);
        }
        Ok(Domains { list })
    }

    /// Every server its own domain, in topology order.
    pub fn servers(snapshot: &Snapshot) -> Domains {
        let list = snapshot
            .servers()
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let idx = ServerIdx::new(i)?;
                Some(Domain {
                    name: s.name().to_owned(),
                    kind: DomainKind::Server,
                    members: ServerSet::from_indices(snapshot.len(), [idx]),
                })
            })
            .collect();
        Domains { list }
    }

    /// Domains as `whatif --down` writes them: server names, and `tag:NAME` for a tag.
    pub fn parse<'s>(
        snapshot: &Snapshot,
        specs: impl IntoIterator<Item = &'s str>,
    ) -> Result<Domains, DomainError> {
        let places = Places::of(snapshot);
        let mut list: Vec<Domain> = Vec::new();
        for spec in specs {
            let domain = match spec.strip_prefix("tag:") {
                Some(tag) => places
                    .tags
                    .iter()
                    .find(|t| t.name == tag)
                    .map(|t| Domain {
                        name: t.name.clone(),
                        kind: DomainKind::Tag,
                        members: t.members.clone(),
                    })
                    .ok_or_else(|| {
                        let known = places.tags.iter().map(|t| &*t.name);
                        DomainError::UnknownTag(UnknownName::new(NameKind::Tag, tag, known))
                    })?,
                None => server_domain(snapshot, spec)?,
            };
            if list.iter().any(|d| d.spec() == domain.spec()) {
                return Err(DomainError::Duplicate(spec.to_owned()));
            }
            list.push(domain);
        }
        if list.is_empty() {
            return Err(DomainError::Empty);
        }
        Ok(Domains { list })
    }

    /// The domains, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Domain> {
        self.list.iter()
    }

    /// The domain at `index`.
    pub fn get(&self, index: usize) -> Option<&Domain> {
        self.list.get(index)
    }

    /// How many domains there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The servers of every domain, together.
    pub fn union(&self, universe: usize) -> ServerSet {
        let mut all = ServerSet::empty(universe);
        for d in &self.list {
            all.union_same(&d.members);
        }
        all
    }
}

fn server_domain(snapshot: &Snapshot, name: &str) -> Result<Domain, DomainError> {
    let idx = snapshot.index_of(name).ok_or_else(|| {
        let known = snapshot.servers().iter().map(|s| s.name());
        DomainError::UnknownServer(UnknownName::new(NameKind::Server, name, known))
    })?;
    Ok(Domain {
        name: name.to_owned(),
        kind: DomainKind::Server,
        members: ServerSet::from_indices(snapshot.len(), [idx]),
    })
}

fn tag_domain(snapshot: &Snapshot, places: &Places, tag: usize) -> Domain {
    let t = places.tags.get(tag);
    Domain {
        name: t.map(|t| t.name.clone()).unwrap_or_default(),
        kind: DomainKind::Tag,
        members: t
            .map(|t| t.members.clone())
            .unwrap_or_else(|| ServerSet::empty(snapshot.len())),
    }
}

/// Where each server is: its region, as an index into [`Regions::names`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regions {
    names: Vec<String>,
    members: Vec<ServerSet>,
    /// Per region, the servers whose region it is (those of its data centers).
    assigned: Vec<ServerSet>,
    of_server: Vec<Option<usize>>,
}

impl Regions {
    /// The regions of `snapshot` (see the module); servers outside every data center have no
    /// region, and without data centers no server has one.
    pub fn of(snapshot: &Snapshot) -> Regions {
        let places = Places::of(snapshot);
        let mut regions = Regions {
            names: Vec::new(),
            members: Vec::new(),
            assigned: Vec::new(),
            of_server: vec![None; snapshot.len()],
        };
        for center in places.data_centers().unwrap_or_default() {
            let region = places.parent(center).unwrap_or(center);
            let Some(tag) = places.tags.get(region) else {
                continue;
            };
            let at = match regions.names.iter().position(|n| *n == tag.name) {
                Some(at) => at,
                None => {
                    regions.names.push(tag.name.clone());
                    regions.members.push(tag.members.clone());
                    regions.assigned.push(ServerSet::empty(snapshot.len()));
                    regions.names.len() - 1
                }
            };
            if let Some(center) = places.tags.get(center) {
                if let Some(assigned) = regions.assigned.get_mut(at) {
                    assigned.union_same(&center.members);
                }
                for s in center.members.iter() {
                    if let Some(slot) = regions.of_server.get_mut(s.index()) {
                        *slot = Some(at);
                    }
                }
            }
        }
        regions
    }

    /// The regions' names, in the order of their first data center.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The region of `server`, if it has one.
    pub fn of_server(&self, server: ServerIdx) -> Option<usize> {
        self.of_server.get(server.index()).copied().flatten()
    }

    /// The servers of region `region`.
    pub fn members(&self, region: usize) -> Option<&ServerSet> {
        self.members.get(region)
    }

    /// The names of the regions of `servers`, in region order.
    pub fn of_set(&self, servers: &ServerSet) -> Vec<&str> {
        self.names_of(servers).collect()
    }

    /// The names of the regions of `servers`, in region order, without allocating.
    pub fn names_of<'a>(&'a self, servers: &ServerSet) -> impl Iterator<Item = &'a str> {
        self.names
            .iter()
            .zip(&self.assigned)
            .filter(move |(_, assigned)| {
                assigned
                    .words()
                    .iter()
                    .zip(servers.words())
                    .any(|(a, b)| a & b != 0)
            })
            .map(|(name, _)| name.as_str())
    }

    /// The servers of every region that one of `servers` is in.
    pub fn covering(&self, servers: &ServerSet) -> ServerSet {
        let mut out = ServerSet::empty(servers.universe());
        for (name, members) in self.names.iter().zip(&self.members) {
            if self.names_of(servers).any(|n| n == name) {
                out.union_same(members);
            }
        }
        out
    }
}

/// The tags of a snapshot that some server carries, with their members, and which of them
/// nest with every other.
struct Places {
    tags: Vec<PlaceTag>,
    universe: usize,
}

struct PlaceTag {
    name: String,
    members: ServerSet,
    count: usize,
    nests: bool,
}

impl Places {
    fn of(snapshot: &Snapshot) -> Places {
        let interner = snapshot.interner();
        let mut tags: Vec<PlaceTag> = (0..interner.len())
            .filter_map(TagId::new)
            .filter_map(|t| {
                let members = snapshot.tagged(t);
                let name = interner.name(t)?;
                let count = members.len();
                (count > 0).then(|| PlaceTag {
                    name: name.to_string(),
                    members,
                    count,
                    nests: true,
                })
            })
            .collect();
        // Drop cross-cutting tags until the rest nest: each round, the tag that overlaps the
        // most others without nesting (the later one on a tie).
        loop {
            let overlaps: Vec<usize> = tags
                .iter()
                .map(|t| {
                    tags.iter()
                        .filter(|u| {
                            t.nests && u.nests && !nested_or_disjoint(&t.members, &u.members)
                        })
                        .count()
                })
                .collect();
            let worst = overlaps
                .iter()
                .enumerate()
                .max_by_key(|(i, count)| (**count, *i))
                .filter(|(_, count)| **count > 0)
                .map(|(i, _)| i);
            match worst.and_then(|i| tags.get_mut(i)) {
                Some(tag) => tag.nests = false,
                None => break,
            }
        }
        Places {
            tags,
            universe: snapshot.len(),
        }
    }

    /// The data centers as indices into `tags`: the nesting tags with no smaller nesting tag
    /// inside them, if they cover every server (and there are at least two).
    fn data_centers(&self) -> Option<Vec<usize>> {
        let leaves: Vec<usize> = (0..self.tags.len()).filter(|&t| self.is_leaf(t)).collect();
        let mut covered = ServerSet::empty(self.universe);
        for &t in &leaves {
            covered.union_same(&self.tags.get(t)?.members);
        }
        (leaves.len() >= 2 && covered.len() == self.universe).then_some(leaves)
    }

    fn is_leaf(&self, t: usize) -> bool {
        let Some(tag) = self.tags.get(t).filter(|t| t.nests) else {
            return false;
        };
        // Equal member sets (two names for one place): the first name stands for it.
        !self.tags.iter().enumerate().any(|(u, other)| {
            other.nests
                && u != t
                && is_subset(&other.members, &tag.members)
                && (other.count < tag.count || u < t)
        })
    }

    /// The smallest nesting tag strictly containing tag `t` and not containing every server.
    fn parent(&self, t: usize) -> Option<usize> {
        let tag = self.tags.get(t)?;
        self.tags
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u.nests
                    && u.count > tag.count
                    && u.count < self.universe
                    && is_subset(&tag.members, &u.members)
            })
            .min_by_key(|(u, other)| (other.count, *u))
            .map(|(u, _)| u)
    }
}

fn is_subset(a: &ServerSet, b: &ServerSet) -> bool {
    a.words().iter().zip(b.words()).all(|(a, b)| a & !b == 0)
}

fn nested_or_disjoint(a: &ServerSet, b: &ServerSet) -> bool {
    let disjoint = a.words().iter().zip(b.words()).all(|(a, b)| a & b == 0);
    disjoint || is_subset(a, b) || is_subset(b, a)
}

/// Whether `text` matches the glob `pattern` (`*` any run, `?` one byte). Iterative, with
/// one backtrack point: linear in practice, quadratic at worst.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::testing::cluster;

    fn snapshot(servers: &[(&str, &[&str])]) -> Snapshot {
        servers
            .iter()
            .fold(cluster(), |cluster, (name, tags)| {
                cluster.server(name, tags)
            })
            .snapshot()
    }

    fn demo() -> Snapshot {
        snapshot(&[
            ("n1a", &["north", "north1", "ssd"]),
            ("n1b", &["north", "north1"]),
            ("n2a", &["north", "north2", "ssd"]),
            ("s1a", &["south", "south1"]),
            ("s2a", &["south", "south2", "ssd"]),
        ])
    }

    fn names(d: &Domains) -> Vec<&str> {
        d.iter().map(Domain::name).collect()
    }

    #[test]
    fn data_centers_are_the_finest_nesting_partition_and_ignore_cross_cutting_tags() {
        let s = demo();
        let d = Domains::data_centers(&s).expect("partition");
        assert_eq!(names(&d), ["north1", "north2", "south1", "south2"]);
        assert_eq!(s.names(d.get(0).expect("one").members()), ["n1a", "n1b"]);
        let regions = Regions::of(&s);
        assert_eq!(regions.names(), ["north", "south"]);
        let all = s.all();
        assert_eq!(regions.of_set(&all), ["north", "south"]);
        let n2 = s.set_of(["n2a"]).expect("known");
        assert_eq!(s.names(&regions.covering(&n2)), ["n1a", "n1b", "n2a"]);
    }

    #[test]
    fn without_a_covering_partition_there_are_no_data_centers() {
        let s = snapshot(&[("a", &["x"]), ("b", &["x"]), ("c", &[])]);
        assert_eq!(Domains::data_centers(&s), Err(DomainError::NoDataCenters));
        assert_eq!(Regions::of(&s).of_set(&s.all()), [] as [&str; 0]);
        // Data centers without a coarser tag are their own regions.
        let s = snapshot(&[("a", &["dc1"]), ("b", &["dc2"])]);
        assert_eq!(Regions::of(&s).names(), ["dc1", "dc2"]);
    }

    #[test]
    fn specs_name_servers_and_tags_and_errors_suggest() {
        let s = demo();
        let d = Domains::parse(&s, ["n1a", "tag:south2"]).expect("valid");
        assert_eq!(
            d.iter().map(Domain::spec).collect::<Vec<_>>(),
            ["n1a", "tag:south2"]
        );
        let message =
            |specs: &[&str]| Domains::parse(&s, specs.iter().copied()).map_err(|e| e.to_string());
        let tag = message(&["tag:nrth1"]).expect_err("unknown");
        assert!(
            tag.starts_with("unknown tag `nrth1`; the tags are "),
            "{tag}"
        );
        assert!(tag.ends_with(" (did you mean `north1`?)"), "{tag}");
        let server = message(&["n1x"]).expect_err("unknown");
        assert!(
            server.starts_with("unknown server `n1x`; the servers are n1a, "),
            "{server}"
        );
        assert!(server.ends_with(" (did you mean `n1a`?)"), "{server}");
        assert_eq!(
            Domains::parse(&s, ["n1a", "n1a"]),
            Err(DomainError::Duplicate("n1a".into()))
        );
        assert_eq!(Domains::parse(&s, []), Err(DomainError::Empty));
        assert_eq!(names(&Domains::servers(&s)).len(), 5);
    }

    #[test]
    fn globs_match_tag_names() {
        let s = demo();
        assert_eq!(
            names(&Domains::matching(&s, "north?").expect("some")),
            ["north1", "north2"]
        );
        assert_eq!(
            names(&Domains::matching(&s, "*th*1").expect("some")),
            ["north1", "south1"]
        );
        assert_eq!(Domains::matching(&s, "west*"), Err(DomainError::Empty));
        for (p, t, m) in [
            ("a*b*c", "aXbYc", true),
            ("a*b", "ab", true),
            ("a?", "a", false),
            ("*", "", true),
        ] {
            assert_eq!(glob(p.as_bytes(), t.as_bytes()), m, "{p} {t}");
        }
    }
}
