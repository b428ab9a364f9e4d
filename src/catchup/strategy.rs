//! The strategy trait, what a strategy is asked, and the predefined strategies of docs/routing.md.
//!
//! A strategy sees a [`Request`]: the snapshot, the database, the asking server, and three sets
//! the selector has already computed into its own buffers — the candidates (the available
//! servers hosting the database, the asking server left out) and their primaries and
//! secondaries. It answers one of the candidates or a [`NoAnswer`] saying why it has none. The
//! predefined strategies keep what they need between calls (a scratch set, a compiled policy),
//! so that answering allocates nothing.

use std::fmt;

use crate::rng::Rng;
use crate::topology::{Database, ServerIdx, ServerSet, Snapshot, TagId};

/// A catch-up strategy: chooses the server the asking server pulls its transaction log from.
///
/// The selector asks its strategies in order and takes the first answer; implement this trait
/// and register the strategy by name (see [`super::SelectorBuilder::register`]) to add one of
/// your own. A strategy is asked on every synchronisation, so it should not allocate: keep
/// buffers in `self`.
///
/// Any `FnMut(&Request, &mut Rng) -> Result<ServerIdx, NoAnswer> + Send` is a strategy too.
pub trait Strategy: Send {
    /// One of `request.candidates()`, or why there is none.
    ///
    /// An answer outside the candidates (the asking server, an unavailable server, one that
    /// does not host the database) is not taken: the selector records it as
    /// [`NoAnswer::NotACandidate`] and asks the next strategy.
    fn upstream(&mut self, request: &Request<'_>, rng: &mut Rng) -> Result<ServerIdx, NoAnswer>;
}

impl<F> Strategy for F
where
    F: FnMut(&Request<'_>, &mut Rng) -> Result<ServerIdx, NoAnswer> + Send,
{
    fn upstream(&mut self, request: &Request<'_>, rng: &mut Rng) -> Result<ServerIdx, NoAnswer> {
        self(request, rng)
    }
}

/// What a strategy is asked: which server wants an upstream for which database, and the
/// servers it may choose among.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub(super) snapshot: &'a Snapshot,
    pub(super) database: &'a Database,
    pub(super) server: ServerIdx,
    pub(super) candidates: &'a ServerSet,
    pub(super) primaries: &'a ServerSet,
    pub(super) secondaries: &'a ServerSet,
    pub(super) call: u64,
}

impl<'a> Request<'a> {
    /// The cluster as it is now.
    pub fn snapshot(&self) -> &'a Snapshot {
        self.snapshot
    }

    /// The database to catch up on.
    pub fn database(&self) -> &'a Database {
        self.database
    }

    /// The asking server (a primary or a secondary of the database, available or not).
    pub fn server(&self) -> ServerIdx {
        self.server
    }

    /// The available servers hosting the database, the asking server left out: every answer
    /// must be one of them.
    pub fn candidates(&self) -> &'a ServerSet {
        self.candidates
    }

    /// The candidates that are primaries of the database.
    pub fn primaries(&self) -> &'a ServerSet {
        self.primaries
    }

    /// The candidates that are secondaries of the database.
    pub fn secondaries(&self) -> &'a ServerSet {
        self.secondaries
    }

    /// How many times this selector has asked this strategy for this server and database,
    /// this time included (1 the first time).
    pub fn call(&self) -> u64 {
        self.call
    }
}

/// Why a strategy has no answer; the selector then asks the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoAnswer {
    /// No candidate at all: no other available server hosts the database.
    NoCandidate,
    /// No candidate is a primary.
    NoPrimary,
    /// `server.cluster.catchup.connect_randomly_to_server_tags` lists no tag.
    NoTagsConfigured,
    /// No candidate secondary carries any configured tag.
    NoTaggedSecondary,
    /// The asking server carries no tag, so no server can share one with it.
    UntaggedServer,
    /// No candidate secondary shares a tag with the asking server.
    NoSecondarySharingTag,
    /// The database has no leader.
    NoLeader,
    /// The asking server is the leader.
    LeaderIsAsking,
    /// The leader is unavailable.
    LeaderUnavailable,
    /// `server.cluster.catchup.user_defined_upstream_strategy` is not set.
    PolicyAbsent,
    /// The user-defined policy is empty, which disables the strategy.
    PolicyDisabled,
    /// The user-defined policy does not parse.
    PolicyInvalid,
    /// The user-defined policy could not be compiled or run (it exceeds a limit).
    PolicyFailed,
    /// The user-defined policy selected no candidate.
    PolicySelectedNothing,
    /// The strategy answered a server that is not a candidate.
    NotACandidate(ServerIdx),
    /// An embedder's strategy had no answer, for this reason.
    Other(&'static str),
}

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            NoAnswer::NoCandidate => "no other available server hosts the database",
            NoAnswer::NoPrimary => "no other primary of the database is available",
            NoAnswer::NoTagsConfigured => {
                "`server.cluster.catchup.connect_randomly_to_server_tags` lists no tag"
            }
            NoAnswer::NoTaggedSecondary => "no other available secondary carries a listed tag",
            NoAnswer::UntaggedServer => "the asking server has no tags",
            NoAnswer::NoSecondarySharingTag => {
                "no other available secondary shares a tag with the asking server"
            }
            NoAnswer::NoLeader => "the database has no leader",
            NoAnswer::LeaderIsAsking => "the asking server is the leader",
            NoAnswer::LeaderUnavailable => "the leader is unavailable",
            NoAnswer::PolicyAbsent => {
                "`server.cluster.catchup.user_defined_upstream_strategy` is not set"
            }
            NoAnswer::PolicyDisabled => "the user-defined policy is empty",
            NoAnswer::PolicyInvalid => "the user-defined policy does not parse",
            NoAnswer::PolicyFailed => "the user-defined policy could not be compiled",
            NoAnswer::PolicySelectedNothing => "the user-defined policy selected no server",
            NoAnswer::NotACandidate(server) => {
                return write!(f, "answered server #{server}, which is not a candidate");
            }
            NoAnswer::Other(reason) => reason,
        };
        f.write_str(text)
    }
}

/// `connect-to-random-primary-server`: a random primary.
pub(super) struct RandomPrimary;

impl Strategy for RandomPrimary {
    fn upstream(&mut self, request: &Request<'_>, rng: &mut Rng) -> Result<ServerIdx, NoAnswer> {
        request.primaries().pick(rng).ok_or(NoAnswer::NoPrimary)
    }
}

/// `typically-connect-to-random-secondary`: a random secondary (a primary if there is none),
/// except on every 10th call a random primary (a secondary if there is none).
pub(super) struct TypicallySecondary;

/// Every this many calls, `typically-connect-to-random-secondary` turns to the primaries.
pub(super) const PRIMARY_TURN: u64 = 10;

impl Strategy for TypicallySecondary {
    fn upstream(&mut self, request: &Request<'_>, rng: &mut Rng) -> Result<ServerIdx, NoAnswer> {
        let (first, then) = if request.call().is_multiple_of(PRIMARY_TURN) {
            (request.primaries(), request.secondaries())
        } else {
            (request.secondaries(), request.primaries())
        };
        first
            .pick(rng)
            .or_else(|| then.pick(rng))
            .ok_or(NoAnswer::NoCandidate)
    }
}

/// `connect-randomly-to-server-tags`: a random secondary carrying any of the configured tags.
pub(super) struct ServerTags {
    tags: Vec<String>,
    scratch: ServerSet,
}

impl ServerTags {
    pub(super) fn new(tags: &[String]) -> ServerTags {
        ServerTags {
            tags: tags.to_vec(),
            scratch: ServerSet::default(),
        }
    }
}

impl Strategy for ServerTags {
    fn upstream(&mut self, request: &Request<'_>, rng: &mut Rng) -> Result<ServerIdx, NoAnswer> {
        if self.tags.is_empty() {
            return Err(NoAnswer::NoTagsConfigured);
        }
        let snapshot = request.snapshot();
        self.scratch.reset(snapshot.len());
        for name in &self.tags {
            if let Some(tag) = snapshot.interner().get(name) {
                add_row(&mut self.scratch, snapshot, tag);
            }
        }
        self.scratch.intersect_same(request.secondaries());
        self.scratch.pick(rng).ok_or(NoAnswer::NoTaggedSecondary)
    }
}

/// `connect-randomly-within-server-group`: a random secondary sharing a tag with the asking
/// server (its tags as the topology gives them).
#[derive(Default)]
pub(super) struct WithinServerGroup {
    scratch: ServerSet,
}

impl Strategy for WithinServerGroup {
    fn upstream(&mut self, request: &Request<'_>, rng: &mut Rng) -> Result<ServerIdx, NoAnswer> {
        let snapshot = request.snapshot();
        self.scratch.reset(snapshot.len());
        let mut tagged = false;
        let tag_count = snapshot.tag_matrix().tag_count();
        for tag in (0..tag_count).filter_map(TagId::new) {
            if snapshot.tag_matrix().has(tag, request.server()) {
                tagged = true;
                add_row(&mut self.scratch, snapshot, tag);
            }
        }
        if !tagged {
            return Err(NoAnswer::UntaggedServer);
        }
        self.scratch.intersect_same(request.secondaries());
        self.scratch
            .pick(rng)
            .ok_or(NoAnswer::NoSecondarySharingTag)
    }
}

/// `leader-only`: the leader, when it is available and not the asking server.
pub(super) struct LeaderOnly;

impl Strategy for LeaderOnly {
    fn upstream(&mut self, request: &Request<'_>, _rng: &mut Rng) -> Result<ServerIdx, NoAnswer> {
        let leader = request.database().leader().ok_or(NoAnswer::NoLeader)?;
        if leader == request.server() {
            Err(NoAnswer::LeaderIsAsking)
        } else if request.candidates().contains(leader) {
            Ok(leader)
        } else {
            Err(NoAnswer::LeaderUnavailable)
        }
    }
}

/// `set ∪= the servers carrying tag`.
fn add_row(set: &mut ServerSet, snapshot: &Snapshot, tag: TagId) {
    if let Some(row) = snapshot.tag_matrix().row(tag) {
        set.union_with_words(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{DatabaseSpec, ServerSpec, TagInterner, TopologySpec};

    /// Servers `a`..: primaries `a`, `b` (leader `a`), secondaries `c`, `d`, `e`; `e` is down.
    fn snapshot() -> Snapshot {
        let server = |name: &str, tags: &[&str]| {
            ServerSpec::new(name, format!("{name}.example:7687")).with_tags(tags.iter().copied())
        };
        let spec = TopologySpec {
            servers: vec![
                server("a", &["x"]),
                server("b", &["y"]),
                server("c", &["x", "gpu"]),
                server("d", &["y"]),
                server("e", &["x", "gpu"]).with_available(false),
                server("f", &[]),
            ],
            databases: vec![DatabaseSpec {
                name: "db".into(),
                primaries: vec!["a".into(), "b".into()],
                secondaries: vec!["c".into(), "d".into(), "e".into(), "f".into()],
                leader: Some("a".into()),
                ..DatabaseSpec::default()
            }],
        };
        Snapshot::build(&spec, &TagInterner::new()).unwrap()
    }

    /// Asks `strategy` 200 times on behalf of `asker`, returning the distinct answers or the
    /// first reason.
    fn answers(
        strategy: &mut dyn Strategy,
        snapshot: &Snapshot,
        asker: &str,
    ) -> Result<Vec<String>, NoAnswer> {
        let db = snapshot.database("db").unwrap();
        let server = snapshot.index_of(asker).unwrap();
        let mut hosting = db.primaries().clone();
        hosting.union_same(db.secondaries());
        hosting.intersect_same(snapshot.available());
        hosting.remove(server);
        let mut primaries = hosting.clone();
        primaries.intersect_same(db.primaries());
        let mut secondaries = hosting.clone();
        secondaries.intersect_same(db.secondaries());
        let mut rng = Rng::seeded(1);
        let mut seen = std::collections::BTreeSet::new();
        for call in 1..=200 {
            let request = Request {
                snapshot,
                database: db,
                server,
                candidates: &hosting,
                primaries: &primaries,
                secondaries: &secondaries,
                call,
            };
            let answer = strategy.upstream(&request, &mut rng)?;
            seen.insert(snapshot.server(answer).unwrap().name().to_owned());
        }
        Ok(seen.into_iter().collect())
    }

    #[test]
    fn random_primary_never_answers_the_asking_primary() {
        let s = snapshot();
        assert_eq!(answers(&mut RandomPrimary, &s, "c").unwrap(), ["a", "b"]);
        assert_eq!(answers(&mut RandomPrimary, &s, "a").unwrap(), ["b"]);
    }

    #[test]
    fn typically_secondary_mixes_in_primaries_on_every_tenth_call() {
        let s = snapshot();
        assert_eq!(
            answers(&mut TypicallySecondary, &s, "c").unwrap(),
            ["a", "b", "d", "f"]
        );
    }

    #[test]
    fn server_tags_choose_tagged_available_secondaries() {
        let s = snapshot();
        let mut gpu = ServerTags::new(&["gpu".into(), "unknown".into()]);
        assert_eq!(answers(&mut gpu, &s, "d").unwrap(), ["c"]);
        assert_eq!(answers(&mut gpu, &s, "c"), Err(NoAnswer::NoTaggedSecondary));
        let mut none = ServerTags::new(&[]);
        assert_eq!(answers(&mut none, &s, "d"), Err(NoAnswer::NoTagsConfigured));
    }

    #[test]
    fn within_server_group_shares_a_tag_with_the_asker() {
        let s = snapshot();
        let mut within = WithinServerGroup::default();
        assert_eq!(answers(&mut within, &s, "b").unwrap(), ["d"]);
        assert_eq!(answers(&mut within, &s, "a").unwrap(), ["c"]);
        assert_eq!(
            answers(&mut within, &s, "c"),
            Err(NoAnswer::NoSecondarySharingTag)
        );
        assert_eq!(answers(&mut within, &s, "f"), Err(NoAnswer::UntaggedServer));
    }

    #[test]
    fn leader_only_answers_the_leader_unless_it_asks() {
        let s = snapshot();
        assert_eq!(answers(&mut LeaderOnly, &s, "d").unwrap(), ["a"]);
        assert_eq!(
            answers(&mut LeaderOnly, &s, "a"),
            Err(NoAnswer::LeaderIsAsking)
        );
        let down = s
            .apply(&[crate::topology::Update::SetAvailable {
                server: "a".into(),
                available: false,
            }])
            .unwrap();
        assert_eq!(
            answers(&mut LeaderOnly, &down, "d"),
            Err(NoAnswer::LeaderUnavailable)
        );
    }

    #[test]
    fn reasons_read_as_one_lowercase_line() {
        assert_eq!(
            NoAnswer::NoPrimary.to_string(),
            "no other primary of the database is available"
        );
        assert_eq!(
            NoAnswer::NotACandidate(ServerIdx::new(3).unwrap()).to_string(),
            "answered server #3, which is not a candidate"
        );
        assert_eq!(NoAnswer::Other("rack unknown").to_string(), "rack unknown");
    }
}
