//! The selector: asks the configured strategies in order; the first answer wins.
//!
//! A [`Selector`] is built once from the catch-up settings (and any strategies an embedder
//! registers) and then asked on every synchronisation. It owns everything a selection touches:
//! the strategies with their buffers, the random generator, the candidate sets, the calls made
//! per (database, server) for each strategy, and the list of reasons of strategies that had no
//! answer. A selection therefore allocates nothing once a (database, server) pair has been seen
//! and the buffers have grown to the cluster's size; only a failed selection allocates, to build
//! its error.

use std::borrow::Cow;
use std::fmt;

use rustc_hash::FxHashMap;

use crate::config::{CatchupSettings, StrategyName};
use crate::rng::Rng;
use crate::suggest::{NameKind, UnknownName};
use crate::topology::{Database, ServerIdx, ServerSet, Snapshot, TagInterner};

use super::strategy::{
    LeaderOnly, NoAnswer, RandomPrimary, Request, ServerTags, Strategy, TypicallySecondary,
    WithinServerGroup,
};
use super::user_defined::UserDefinedPolicy;

/// Chooses upstreams: the configured strategies in order, `connect-to-random-primary-server`
/// last.
///
/// ```
/// use std::path::Path;
/// use tagroute::Strictness;
/// use tagroute::catchup::Selector;
/// use tagroute::config::Config;
/// use tagroute::rng::Rng;
/// use tagroute::topology::{DatabaseSpec, ServerSpec, Snapshot, TagInterner, TopologySpec};
///
/// let conf = "server.cluster.catchup.upstream_strategy=user-defined\n\
///             server.cluster.catchup.user_defined_upstream_strategy=tags(north2); halt()\n";
/// let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default)?;
/// let spec = TopologySpec {
///     servers: vec![
///         ServerSpec::new("n1", "n1.example:7687").with_tags(["north1"]),
///         ServerSpec::new("n2a", "n2a.example:7687").with_tags(["north2"]),
///         ServerSpec::new("n2b", "n2b.example:7687").with_tags(["north2"]),
///     ],
///     databases: vec![DatabaseSpec {
///         name: "neo4j".into(),
///         primaries: vec!["n1".into()],
///         secondaries: vec!["n2a".into(), "n2b".into()],
///         leader: Some("n1".into()),
///         ..DatabaseSpec::default()
///     }],
/// };
/// let snapshot = Snapshot::build(&spec, &TagInterner::new())?;
/// let mut selector = Selector::builder(config.catchup())
///     .rng(Rng::seeded(7))
///     .build(snapshot.interner());
/// let selection = selector.select(&snapshot, "neo4j", "n2a")?;
/// assert_eq!(selection.strategy, "user-defined");
/// assert_eq!(snapshot.server(selection.upstream).map(|s| s.name()), Some("n2b"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Selector {
    slots: Vec<Slot>,
    rng: Rng,
    calls: Calls,
    sets: Sets,
    unanswered: Vec<(usize, NoAnswer)>,
}

/// A strategy the selector asks, under the name it answers with.
struct Slot {
    name: Cow<'static, str>,
    strategy: Box<dyn Strategy>,
}

/// What a selection chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection<'s> {
    /// The strategy that answered: the Neo4j 5 name of a predefined one (aliases resolved), or
    /// the name an embedder's strategy was registered under.
    pub strategy: &'s str,
    /// The server to pull from.
    pub upstream: ServerIdx,
}

/// Builds a [`Selector`]: the settings, the embedder's strategies, the random generator.
pub struct SelectorBuilder<'c> {
    settings: &'c CatchupSettings,
    custom: Vec<(String, Box<dyn Strategy>)>,
    rng: Option<Rng>,
}

impl Selector {
    /// A builder for the selector of `settings`.
    pub fn builder(settings: &CatchupSettings) -> SelectorBuilder<'_> {
        SelectorBuilder {
            settings,
            custom: Vec::new(),
            rng: None,
        }
    }

    /// The names of the strategies this selector asks, in order; the last one is always
    /// `connect-to-random-primary-server`.
    pub fn strategies(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|slot| &*slot.name)
    }

    /// Chooses the upstream that `server` pulls `database` from.
    ///
    /// Asks each strategy in turn and returns the first answer. Fails when the database or the
    /// server is unknown, when the server does not host the database, or when no strategy has
    /// an answer (the error lists each one with its reason).
    pub fn select(
        &mut self,
        snapshot: &Snapshot,
        database: &str,
        server: &str,
    ) -> Result<Selection<'_>, SelectError> {
        self.select_without(snapshot, database, server, None)
    }

    /// Chooses as [`Selector::select`] does, as if the servers of `down` were unavailable too:
    /// what-if analysis asks about a failure without building a snapshot for it.
    pub fn select_without(
        &mut self,
        snapshot: &Snapshot,
        database: &str,
        server: &str,
        down: Option<&ServerSet>,
    ) -> Result<Selection<'_>, SelectError> {
        let answer = self.answer(snapshot, database, server, down)?;
        let slots = &self.slots;
        answer
            .and_then(|(i, upstream)| {
                let strategy = &*slots.get(i)?.name;
                Some(Selection { strategy, upstream })
            })
            .ok_or_else(|| self.no_upstream(server, database))
    }

    /// Chooses as [`Selector::select_without`] does, with `None` where no strategy has an
    /// answer: no error listing the strategies is built, so a sweep that asks in every
    /// scenario allocates nothing for it.
    pub(crate) fn try_select_without(
        &mut self,
        snapshot: &Snapshot,
        database: &str,
        server: &str,
        down: Option<&ServerSet>,
    ) -> Result<Option<Selection<'_>>, SelectError> {
        let answer = self.answer(snapshot, database, server, down)?;
        let slots = &self.slots;
        Ok(answer.and_then(|(i, upstream)| {
            let strategy = &*slots.get(i)?.name;
            Some(Selection { strategy, upstream })
        }))
    }

    /// The slot and upstream of the first strategy that answers, after checking the request.
    fn answer(
        &mut self,
        snapshot: &Snapshot,
        database: &str,
        server: &str,
        down: Option<&ServerSet>,
    ) -> Result<Option<(usize, ServerIdx)>, SelectError> {
        let db = snapshot.database(database).ok_or_else(|| {
            let known = snapshot.databases().iter().map(|d| d.name());
            SelectError::UnknownDatabase(UnknownName::new(NameKind::Database, database, known))
        })?;
        let asker = snapshot.index_of(server).ok_or_else(|| {
            let known = snapshot.servers().iter().map(|s| s.name());
            SelectError::UnknownServer(UnknownName::new(NameKind::Server, server, known))
        })?;
        if !db.hosts(asker) {
            return Err(SelectError::NotHosting {
                server: server.to_owned(),
                database: database.to_owned(),
            });
        }
        self.sets.fill(snapshot, db, asker, down);
        let first_call = self.calls.slot_of(database, server, self.slots.len());
        Ok(self.ask(snapshot, db, asker, first_call))
    }

    /// Asks every strategy until one answers a candidate; returns it with its slot, leaving
    /// the reasons of the others in `unanswered`.
    fn ask(
        &mut self,
        snapshot: &Snapshot,
        database: &Database,
        server: ServerIdx,
        first_call: usize,
    ) -> Option<(usize, ServerIdx)> {
        self.unanswered.clear();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let request = Request {
                snapshot,
                database,
                server,
                candidates: &self.sets.candidates,
                primaries: &self.sets.primaries,
                secondaries: &self.sets.secondaries,
                call: self.calls.count(first_call + i),
            };
            match slot.strategy.upstream(&request, &mut self.rng) {
                Ok(upstream) if self.sets.candidates.contains(upstream) => {
                    return Some((i, upstream));
                }
                Ok(other) => self.unanswered.push((i, NoAnswer::NotACandidate(other))),
                Err(reason) => self.unanswered.push((i, reason)),
            }
        }
        None
    }

    fn no_upstream(&self, server: &str, database: &str) -> SelectError {
        let asked = self
            .unanswered
            .iter()
            .filter_map(|&(i, reason)| {
                let strategy = self.slots.get(i)?.name.to_string();
                Some(Asked { strategy, reason })
            })
            .collect();
        SelectError::NoUpstream(NoUpstream {
            server: server.to_owned(),
            database: database.to_owned(),
            asked,
        })
    }
}

impl<'c> SelectorBuilder<'c> {
    /// Registers `strategy` under `name`: when the configured strategy list names it, the
    /// selector asks it in that place, as it would a predefined one.
    ///
    /// The name must not be a predefined strategy's name or alias, nor registered already,
    /// and must be writable in the comma-separated list (not empty, no `,`, no whitespace).
    pub fn register(
        mut self,
        name: &str,
        strategy: impl Strategy + 'static,
    ) -> Result<Self, RegisterError> {
        if name.is_empty() || name.chars().any(|c| c == ',' || c.is_whitespace()) {
            return Err(RegisterError::InvalidName(name.to_owned()));
        }
        if StrategyName::from_written(name).is_some() {
            return Err(RegisterError::Predefined(name.to_owned()));
        }
        if self.custom.iter().any(|(taken, _)| taken == name) {
            return Err(RegisterError::Duplicate(name.to_owned()));
        }
        self.custom.push((name.to_owned(), Box::new(strategy)));
        Ok(self)
    }

    /// The random generator the selector draws from (default: seeded by the operating system).
    pub fn rng(mut self, rng: Rng) -> Self {
        self.rng = Some(rng);
        self
    }

    /// The selector, with the user-defined policy compiled against `interner` (the interner of
    /// the topology the selector will be asked about).
    ///
    /// Each strategy is asked once per selection, at the first place the list names it; names
    /// that are neither predefined nor registered are skipped (loading the configuration warned
    /// about them). `connect-to-random-primary-server` is added at the end unless listed.
    pub fn build(self, interner: &TagInterner) -> Selector {
        let SelectorBuilder {
            settings,
            mut custom,
            rng,
        } = self;
        let mut slots: Vec<Slot> = Vec::new();
        let listed = settings
            .strategies
            .iter()
            .map(|s| s.kind.ok_or(s.written.as_str()))
            .chain([Ok(StrategyName::RandomPrimary)]);
        for listed in listed {
            let name: &str = match listed {
                Ok(kind) => kind.name(),
                Err(written) => written,
            };
            if slots.iter().any(|slot| slot.name == name) {
                continue;
            }
            let slot = match listed {
                Ok(kind) => Slot {
                    name: Cow::Borrowed(kind.name()),
                    strategy: predefined(kind, settings, interner),
                },
                Err(written) => match custom.iter().position(|(taken, _)| taken == written) {
                    Some(at) => {
                        let (name, strategy) = custom.swap_remove(at);
                        Slot {
                            name: Cow::Owned(name),
                            strategy,
                        }
                    }
                    None => continue,
                },
            };
            slots.push(slot);
        }
        let unanswered = Vec::with_capacity(slots.len());
        Selector {
            slots,
            rng: rng.unwrap_or_else(Rng::from_os),
            calls: Calls::default(),
            sets: Sets::default(),
            unanswered,
        }
    }
}

/// The predefined strategy `kind`, built for `settings`.
fn predefined(
    kind: StrategyName,
    settings: &CatchupSettings,
    interner: &TagInterner,
) -> Box<dyn Strategy> {
    match kind {
        StrategyName::RandomPrimary => Box::new(RandomPrimary),
        StrategyName::TypicallySecondary => Box::new(TypicallySecondary),
        StrategyName::ServerTags => Box::new(ServerTags::new(&settings.connect_tags)),
        StrategyName::WithinServerGroup => Box::<WithinServerGroup>::default(),
        StrategyName::LeaderOnly => Box::new(LeaderOnly),
        StrategyName::UserDefined => {
            Box::new(UserDefinedPolicy::new(&settings.user_defined, interner))
        }
    }
}

/// The candidates of one selection, in buffers reused by every selection.
#[derive(Default)]
struct Sets {
    candidates: ServerSet,
    primaries: ServerSet,
    secondaries: ServerSet,
}

impl Sets {
    /// The available servers hosting `database` other than `asker` and those `down`, and their
    /// two roles.
    fn fill(
        &mut self,
        snapshot: &Snapshot,
        database: &Database,
        asker: ServerIdx,
        down: Option<&ServerSet>,
    ) {
        let n = snapshot.len();
        for (set, role) in [
            (&mut self.primaries, database.primaries()),
            (&mut self.secondaries, database.secondaries()),
        ] {
            set.reset(n);
            set.union_same(role);
            set.intersect_same(snapshot.available());
            if let Some(down) = down {
                set.subtract_same(down);
            }
            set.remove(asker);
        }
        self.candidates.reset(n);
        self.candidates.union_same(&self.primaries);
        self.candidates.union_same(&self.secondaries);
    }
}

/// How many times each strategy was asked, per (database, server): one run of counters per
/// pair, one counter per strategy, looked up by name without allocating.
#[derive(Default)]
struct Calls {
    slots: FxHashMap<Box<str>, FxHashMap<Box<str>, usize>>,
    counts: Vec<u64>,
}

impl Calls {
    /// The position of the first counter of (database, server), making `width` counters for a
    /// pair seen for the first time.
    fn slot_of(&mut self, database: &str, server: &str, width: usize) -> usize {
        if let Some(&at) = self.slots.get(database).and_then(|s| s.get(server)) {
            return at;
        }
        let at = self.counts.len();
        self.counts.resize(at + width, 0);
        self.slots
            .entry(database.into())
            .or_default()
            .insert(server.into(), at);
        at
    }

    /// Counts one more call at `at`, returning the new count.
    fn count(&mut self, at: usize) -> u64 {
        match self.counts.get_mut(at) {
            Some(count) => {
                *count += 1;
                *count
            }
            None => 1,
        }
    }
}

/// Why a selection failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectError {
    /// The topology has no database of this name.
    UnknownDatabase(UnknownName),
    /// The topology has no server of this name.
    UnknownServer(UnknownName),
    /// The asking server is neither a primary nor a secondary of the database.
    NotHosting {
        /// The asking server.
        server: String,
        /// The database.
        database: String,
    },
    /// Every strategy was asked and none had an answer.
    NoUpstream(NoUpstream),
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::UnknownDatabase(unknown) | SelectError::UnknownServer(unknown) => {
                unknown.fmt(f)
            }
            SelectError::NotHosting { server, database } => {
                write!(f, "server `{server}` does not host database `{database}`")
            }
            SelectError::NoUpstream(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SelectError {}

/// No strategy had an answer: each one asked, with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoUpstream {
    server: String,
    database: String,
    asked: Vec<Asked>,
}

/// One strategy asked in a failed selection, and why it had no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    /// The strategy's name.
    pub strategy: String,
    /// Why it had no answer.
    pub reason: NoAnswer,
}

impl NoUpstream {
    /// The asking server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Every strategy asked, in order, with its reason.
    pub fn asked(&self) -> &[Asked] {
        &self.asked
    }
}

impl fmt::Display for NoUpstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no upstream for server `{}` on database `{}`",
            self.server, self.database
        )?;
        for (i, asked) in self.asked.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            write!(f, "{sep}`{}` ({})", asked.strategy, asked.reason)?;
        }
        Ok(())
    }
}

/// Why a strategy could not be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// The name is a predefined strategy's name or alias.
    Predefined(String),
    /// A strategy is registered under this name already.
    Duplicate(String),
    /// The name cannot be written in the strategy list: empty, or with `,` or whitespace.
    InvalidName(String),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::Predefined(name) => {
                write!(f, "`{name}` is the name of a predefined strategy")
            }
            RegisterError::Duplicate(name) => write!(f, "`{name}` is registered already"),
            RegisterError::InvalidName(name) => {
                write!(f, "`{name}` cannot be written in the strategy list")
            }
        }
    }
}

impl std::error::Error for RegisterError {}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::syntax::Strictness;
    use crate::topology::{DatabaseSpec, ServerSpec, TopologySpec};

    const STRATEGIES: &str = "server.cluster.catchup.upstream_strategy";

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("neo4j.conf"), Strictness::Default).unwrap()
    }

    /// Primaries `p1`, `p2` (leader `p1`); secondaries `s1`, `s2`; `x` hosts nothing.
    fn snapshot(available: &[bool; 5]) -> Snapshot {
        let names = ["p1", "p2", "s1", "s2", "x"];
        let spec = TopologySpec {
            servers: names
                .iter()
                .zip(available)
                .map(|(n, &up)| ServerSpec::new(*n, format!("{n}:7687")).with_available(up))
                .collect(),
            databases: vec![DatabaseSpec {
                name: "db".into(),
                primaries: vec!["p1".into(), "p2".into()],
                secondaries: vec!["s1".into(), "s2".into()],
                leader: Some("p1".into()),
                ..DatabaseSpec::default()
            }],
        };
        Snapshot::build(&spec, &TagInterner::new()).unwrap()
    }

    fn selector(config: &Config, snapshot: &Snapshot) -> Selector {
        Selector::builder(config.catchup())
            .rng(Rng::seeded(9))
            .build(snapshot.interner())
    }

    fn chosen(selector: &mut Selector, snapshot: &Snapshot, server: &str) -> (String, String) {
        let selection = selector.select(snapshot, "db", server).unwrap();
        let name = snapshot.server(selection.upstream).unwrap().name();
        (selection.strategy.to_owned(), name.to_owned())
    }

    #[test]
    fn the_list_resolves_aliases_skips_unknown_names_and_ends_with_a_random_primary() {
        let config = config(&format!(
            "{STRATEGIES}=connect-to-random-core-server,round-robin,leader-only,\
             typically-connect-to-random-read-replica,leader-only"
        ));
        let s = snapshot(&[true; 5]);
        let selector = selector(&config, &s);
        assert_eq!(
            selector.strategies().collect::<Vec<_>>(),
            [
                StrategyName::RandomPrimary.name(),
                StrategyName::LeaderOnly.name(),
                StrategyName::TypicallySecondary.name()
            ],
            "a listed random primary is not asked twice"
        );
        let empty = self::config("");
        let fallback_only = self::selector(&empty, &s);
        assert_eq!(
            fallback_only.strategies().collect::<Vec<_>>(),
            [StrategyName::RandomPrimary.name()]
        );
    }

    #[test]
    fn the_first_answer_wins_and_a_strategy_without_one_passes() {
        let config = config(&format!("{STRATEGIES}=leader-only"));
        let s = snapshot(&[true; 5]);
        let mut selector = selector(&config, &s);
        assert_eq!(
            chosen(&mut selector, &s, "s1"),
            (StrategyName::LeaderOnly.name().into(), "p1".into())
        );
        assert_eq!(
            chosen(&mut selector, &s, "p1"),
            (StrategyName::RandomPrimary.name().into(), "p2".into())
        );
    }

    #[test]
    fn the_tenth_call_is_counted_per_server_and_database() {
        let config = config(&format!(
            "{STRATEGIES}=typically-connect-to-random-secondary"
        ));
        let s = snapshot(&[true; 5]);
        let mut selector = selector(&config, &s);
        let mut primary_turns = Vec::new();
        for call in 1..=20 {
            for server in ["s1", "s2"] {
                let (_, upstream) = chosen(&mut selector, &s, server);
                if upstream.starts_with('p') {
                    primary_turns.push((call, server));
                }
            }
        }
        assert_eq!(
            primary_turns,
            [(10, "s1"), (10, "s2"), (20, "s1"), (20, "s2")]
        );
    }

    #[test]
    fn no_upstream_names_every_strategy_asked_and_its_reason() {
        let config = config(&format!(
            "{STRATEGIES}=user-defined,leader-only,connect-randomly-to-server-tags"
        ));
        let s = snapshot(&[false, true, true, true, true]);
        let mut selector = selector(&config, &s);
        let Err(SelectError::NoUpstream(error)) = selector.select(&s, "db", "p2") else {
            panic!("expected no upstream");
        };
        let asked: Vec<(&str, NoAnswer)> = error
            .asked()
            .iter()
            .map(|a| (a.strategy.as_str(), a.reason))
            .collect();
        assert_eq!(
            asked,
            [
                (StrategyName::UserDefined.name(), NoAnswer::PolicyAbsent),
                (StrategyName::LeaderOnly.name(), NoAnswer::LeaderUnavailable),
                (StrategyName::ServerTags.name(), NoAnswer::NoTagsConfigured),
                (StrategyName::RandomPrimary.name(), NoAnswer::NoPrimary),
            ]
        );
        assert_eq!(
            error.to_string(),
            "no upstream for server `p2` on database `db`: `user-defined` \
             (`server.cluster.catchup.user_defined_upstream_strategy` is not set); \
             `leader-only` (the leader is unavailable); `connect-randomly-to-server-tags` \
             (`server.cluster.catchup.connect_randomly_to_server_tags` lists no tag); \
             `connect-to-random-primary-server` (no other primary of the database is available)"
        );
    }

    #[test]
    fn unknown_names_and_servers_outside_the_database_are_errors() {
        let config = config("");
        let s = snapshot(&[true; 5]);
        let mut selector = selector(&config, &s);
        assert_eq!(
            selector.select(&s, "db", "x"),
            Err(SelectError::NotHosting {
                server: "x".into(),
                database: "db".into()
            })
        );
        let message = |result: Result<Selection<'_>, SelectError>| {
            result.map(|_| ()).map_err(|e| e.to_string())
        };
        assert_eq!(
            message(selector.select(&s, "dc", "s1")),
            Err("unknown database `dc`; the databases are db (did you mean `db`?)".into())
        );
        assert_eq!(
            message(selector.select(&s, "db", "s3")),
            Err(
                "unknown server `s3`; the servers are p1, p2, s1, s2, x (did you mean `s1`?)"
                    .into()
            )
        );
        assert_eq!(
            SelectError::NotHosting {
                server: "x".into(),
                database: "db".into()
            }
            .to_string(),
            "server `x` does not host database `db`"
        );
    }

    #[test]
    fn a_registered_strategy_is_asked_in_its_place_and_kept_to_the_candidates() {
        let config = config(&format!("{STRATEGIES}=self-first,same-rack,leader-only"));
        let s = snapshot(&[true; 5]);
        let same_rack = |request: &Request<'_>, _: &mut Rng| {
            request
                .secondaries()
                .iter()
                .next()
                .ok_or(NoAnswer::Other("no secondary in the rack"))
        };
        let self_first = |request: &Request<'_>, _: &mut Rng| Ok(request.server());
        let mut selector = Selector::builder(config.catchup())
            .register("same-rack", same_rack)
            .and_then(|b| b.register("self-first", self_first))
            .unwrap()
            .rng(Rng::seeded(1))
            .build(s.interner());
        assert_eq!(
            selector.strategies().collect::<Vec<_>>(),
            [
                "self-first",
                "same-rack",
                StrategyName::LeaderOnly.name(),
                StrategyName::RandomPrimary.name()
            ]
        );
        assert_eq!(
            chosen(&mut selector, &s, "s1"),
            ("same-rack".into(), "s2".into())
        );
        let down = snapshot(&[false, false, true, false, true]);
        let Err(SelectError::NoUpstream(error)) = selector.select(&down, "db", "s1") else {
            panic!("expected no upstream");
        };
        let reasons: Vec<NoAnswer> = error.asked().iter().map(|a| a.reason).collect();
        assert_eq!(
            reasons,
            [
                NoAnswer::NotACandidate(down.index_of("s1").unwrap()),
                NoAnswer::Other("no secondary in the rack"),
                NoAnswer::LeaderUnavailable,
                NoAnswer::NoPrimary,
            ]
        );
    }

    #[test]
    fn registering_a_predefined_duplicate_or_unwritable_name_fails() {
        let config = config("");
        let answer = |_: &Request<'_>, _: &mut Rng| Err(NoAnswer::Other("never"));
        let register = |name: &str| {
            Selector::builder(config.catchup())
                .register("mine", answer)
                .and_then(|b| b.register(name, answer))
                .map(|_| ())
        };
        assert_eq!(
            register("connect-to-random-core-server"),
            Err(RegisterError::Predefined(
                "connect-to-random-core-server".into()
            ))
        );
        assert_eq!(
            register("mine"),
            Err(RegisterError::Duplicate("mine".into()))
        );
        assert_eq!(
            register("a,b"),
            Err(RegisterError::InvalidName("a,b".into()))
        );
        assert_eq!(register(""), Err(RegisterError::InvalidName(String::new())));
        assert_eq!(register("theirs"), Ok(()));
    }
}
