//! The hammer: the library driven the way a busy router drives it. Deciding threads (each with
//! its own `Decider`, through every decision form, round-robin and random) and a table thread
//! run while a writer applies random batches of every topology update kind, invalid batches,
//! and valid and invalid configuration reloads. Every decision and every table is checked
//! against the reference interpreter on the snapshot and the generation it came from; an error,
//! which carries neither, is checked when nothing was published during the call.
//!
//! Bounded: about two seconds by default; `TAGROUTE_HAMMER_SECS=120 cargo test hammer` runs
//! longer. The writer waits for the readers to make progress between batches, so the count of
//! interleavings does not depend on the machine's speed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;
use tagroute::Strictness;
use tagroute::config::Config;
use tagroute::reference;
use tagroute::rng::Rng;
use tagroute::router::{DatabaseKey, Decider, Decision, NoDecision, Pick, Router};
use tagroute::routing::Generation;
use tagroute::routing::{PolicyId, ReloadError, RouteRequest, RoutingError, RoutingService};
use tagroute::topology::Snapshot;
use tagroute::topology::{DatabaseSpec, ServerSpec, TagId, TopologySpec, Update};

use crate::cli::temp_file;
use crate::routing::{Specs, check_table, reference_table, service};

const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.";

/// The configurations the writer reloads, each with its own TTL (10 s + its index), so that a
/// table names the configuration it was computed with. Some policies exist in some of them only.
const CONFIGS: [&[(&str, &str)]; 4] = [
    &[
        ("near", "tags(t0,t1)->min(2); tags(t2); halt()"),
        ("both", "tags(t3)->tags(t4)"),
        ("many", "min(5); tags(t5)->min(2)"),
        ("default", "tags(t1,t8)"),
    ],
    &[
        ("near", "tags(t1)->min(3); halt()"),
        ("gone", "tags(t6,t7)"),
        ("many", "min(2)"),
    ],
    &[
        ("near", "tags(t0)"),
        ("both", "tags(t3,t9)->min(2); all()"),
        ("late", "tags(t11); tags(t10)->min(1)"),
    ],
    &[
        ("gone", "tags(t2)->tags(t4); halt()"),
        ("late", "all()"),
        ("default", "tags(t0,t2,t4,t6)->min(4)"),
    ],
];

/// The routing settings of each configuration: reads on primaries, reads on writers, shuffle.
const SETTINGS: [(bool, bool, bool); 4] = [
    (true, false, true),
    (false, false, false),
    (true, true, true),
    (false, true, false),
];

const POLICY_NAMES: [&str; 7] = ["near", "both", "many", "default", "gone", "late", "absent"];
const DATABASES: [&str; 4] = ["db0", "db1", "db2", "db3"];

fn conf(index: usize) -> String {
    let (primaries, writers, shuffle) = SETTINGS[index];
    let mut text: String = CONFIGS[index]
        .iter()
        .map(|(name, text)| format!("{POLICY}{name}={text}\n"))
        .collect();
    text.push_str(&format!(
        "dbms.routing_ttl={}s\n\
         dbms.routing.reads_on_primaries_enabled={primaries}\n\
         dbms.routing.reads_on_writers_enabled={writers}\n\
         dbms.routing.load_balancing.shuffle_enabled={shuffle}\n",
        10 + index
    ));
    text
}

fn config(index: usize) -> Config {
    Config::parse(&conf(index), Path::new("hammer.conf"), Strictness::Default).expect("loads")
}

/// How long to hammer: `TAGROUTE_HAMMER_SECS`, or two seconds.
fn duration() -> Duration {
    let secs = std::env::var("TAGROUTE_HAMMER_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    Duration::from_secs(secs)
}

/// 32 servers tagged from `t0..t9`, most available, and four databases.
fn cluster(rng: &mut Rng) -> TopologySpec {
    let servers = (0..32).map(|i| server(rng, &format!("srv{i}"))).collect();
    let mut spec = TopologySpec {
        servers,
        databases: Vec::new(),
    };
    spec.databases = DATABASES
        .iter()
        .map(|db| database(rng, &spec, db))
        .collect();
    spec
}

fn server(rng: &mut Rng, name: &str) -> ServerSpec {
    let tags: Vec<String> = (0..12)
        .filter(|_| rng.below(3) == 0)
        .map(|t| format!("t{t}"))
        .collect();
    ServerSpec::new(name, format!("{name}.example:7687"))
        .with_tags(tags)
        .with_available(rng.below(5) != 0)
}

/// A database of random members of `spec`'s servers: up to five primaries (the first may lead)
/// and up to eight secondaries.
fn database(rng: &mut Rng, spec: &TopologySpec, name: &str) -> DatabaseSpec {
    let mut order: Vec<String> = spec.servers.iter().map(|s| s.name.clone()).collect();
    rng.shuffle(&mut order);
    let primaries = order.len().min(1 + rng.index(5));
    let secondaries = (order.len() - primaries).min(rng.index(9));
    let leader = (rng.below(4) != 0).then(|| order[0].clone());
    DatabaseSpec {
        name: name.into(),
        leader,
        secondaries: order[primaries..primaries + secondaries].to_vec(),
        primaries: order[..primaries].to_vec(),
        ..DatabaseSpec::default()
    }
}

/// The seven update kinds, for counting.
const KINDS: [&str; 7] = [
    "set-tags",
    "set-available",
    "add-server",
    "remove-server",
    "set-leader",
    "set-database",
    "remove-database",
];

fn kind(update: &Update) -> &'static str {
    match update {
        Update::SetTags { .. } => KINDS[0],
        Update::SetAvailable { .. } => KINDS[1],
        Update::AddServer(_) => KINDS[2],
        Update::RemoveServer { .. } => KINDS[3],
        Update::SetLeader { .. } => KINDS[4],
        Update::SetDatabase(_) => KINDS[5],
        Update::RemoveDatabase { .. } => KINDS[6],
    }
}

/// A random update of any kind against `spec`, valid on its own.
fn update(rng: &mut Rng, spec: &TopologySpec, fresh: &mut usize) -> Update {
    let some_server = |rng: &mut Rng| spec.servers[rng.index(spec.servers.len())].name.clone();
    match rng.below(7) {
        0 => Update::SetTags {
            server: some_server(rng),
            tags: server(rng, "x").tags,
        },
        1 => Update::SetAvailable {
            server: some_server(rng),
            available: rng.below(3) != 0,
        },
        2 if spec.servers.len() < 48 => {
            *fresh += 1;
            Update::AddServer(server(rng, &format!("new{fresh}")))
        }
        3 if spec.servers.len() > 16 => Update::RemoveServer {
            server: some_server(rng),
        },
        4 if !spec.databases.is_empty() => {
            let db = &spec.databases[rng.index(spec.databases.len())];
            let leader = (rng.below(5) != 0 && !db.primaries.is_empty())
                .then(|| db.primaries[rng.index(db.primaries.len())].clone());
            Update::SetLeader {
                database: db.name.clone(),
                leader,
            }
        }
        6 if spec.databases.len() > 1 => Update::RemoveDatabase {
            database: spec.databases[rng.index(spec.databases.len())].name.clone(),
        },
        _ => {
            let name = DATABASES[rng.index(DATABASES.len())];
            Update::SetDatabase(database(rng, spec, name))
        }
    }
}

/// An update the topology must reject.
fn invalid_update(rng: &mut Rng, spec: &TopologySpec) -> Update {
    match rng.below(4) {
        0 => Update::SetTags {
            server: "nobody".into(),
            tags: vec!["t0".into()],
        },
        1 => Update::AddServer(ServerSpec::new(
            spec.servers[0].name.clone(),
            "again.example:7687",
        )),
        2 => Update::RemoveDatabase {
            database: "nothing".into(),
        },
        _ => Update::SetTags {
            server: spec.servers[0].name.clone(),
            tags: vec!["not a tag".into()],
        },
    }
}

/// What the writer did, to check that every kind of change happened.
#[derive(Debug, Default)]
struct Written {
    applied: BTreeMap<&'static str, usize>,
    rejected_batches: usize,
    reloads: usize,
    rejected_reloads: BTreeMap<&'static str, usize>,
}

/// What the readers checked.
#[derive(Debug, Default)]
struct Checked {
    decisions: BTreeMap<String, usize>,
    round_robin_cycles: usize,
    errors: BTreeMap<String, usize>,
    tables: usize,
}

impl Checked {
    fn merge(&mut self, other: Checked) {
        for (form, n) in other.decisions {
            *self.decisions.entry(form).or_default() += n;
        }
        for (error, n) in other.errors {
            *self.errors.entry(error).or_default() += n;
        }
        self.round_robin_cycles += other.round_robin_cycles;
        self.tables += other.tables;
    }
}

/// Sets its flag when dropped, by a return or by a panic.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn hammer_decisions_and_tables_follow_every_update_and_reload() {
    let mut rng = Rng::seeded(0x4a33e5);
    let service = service(&cluster(&mut rng), &conf(0));
    let deadline = Instant::now() + duration();
    let (done, progress) = (AtomicBool::new(false), AtomicUsize::new(0));
    let (written, checked) = std::thread::scope(|scope| {
        let deciders: Vec<_> = (0..2)
            .map(|t| {
                let (service, done, progress) = (&service, &done, &progress);
                scope.spawn(move || decide_until(service, done, progress, Rng::seeded(t)))
            })
            .collect();
        let tables = {
            let (service, done, progress) = (&service, &done, &progress);
            scope.spawn(move || tables_until(service, done, progress, Rng::seeded(7)))
        };
        // Set even when the writer panics, so that the readers stop and the panic surfaces
        // instead of a hang.
        let written = {
            let _done = SetOnDrop(&done);
            write_until(&service, deadline, &progress, &mut rng)
        };
        let mut checked = Checked::default();
        for decider in deciders {
            checked.merge(decider.join().expect("no decider failed"));
        }
        checked.merge(tables.join().expect("the table reader did not fail"));
        (written, checked)
    });
    for kind in KINDS {
        assert!(written.applied.get(kind) > Some(&0), "{kind}: {written:?}");
    }
    assert!(
        written.rejected_batches > 0 && written.reloads > 0,
        "{written:?}"
    );
    for reason in ["does not load", "does not compile"] {
        assert!(
            written.rejected_reloads.get(reason) > Some(&0),
            "{written:?}"
        );
    }
    for form in ["decide", "decide-excluding", "decide-among"] {
        for pick in ["random", "round-robin"] {
            let key = format!("{form}/{pick}");
            assert!(checked.decisions.get(&key) > Some(&0), "{key}: {checked:?}");
        }
    }
    assert!(
        checked.round_robin_cycles > 0 && checked.tables > 0,
        "{checked:?}"
    );
    // The interner holds only what was published: the tags servers and policies use
    // (`t0`..`t11`), none of the rejected batches' `ghost` tags or the refused `w` filter.
    let interner = service.topology().snapshot().interner().clone();
    let interned: Vec<String> = (0..interner.len())
        .filter_map(|i| TagId::new(i).and_then(|id| interner.name(id)))
        .map(|name| name.to_string())
        .collect();
    assert_eq!(interned.len(), interner.len());
    let published = |name: &str| {
        name.strip_prefix('t')
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n <= 11)
    };
    assert!(interned.iter().all(|name| published(name)), "{interned:?}");
}

/// The writer: random batches of every kind, a rejected batch now and then, and reloads (valid,
/// from a file that does not load, with a policy that does not compile), until the deadline and
/// at least 100 batches, each after the readers made progress.
fn write_until(
    service: &RoutingService,
    deadline: Instant,
    progress: &AtomicUsize,
    rng: &mut Rng,
) -> Written {
    let mut written = Written::default();
    let (mut batches, mut fresh) = (0, 0);
    let unloadable = temp_file("hammer-bad.conf", &format!("{POLICY}near=tgas(t0)\n"));
    while Instant::now() < deadline || batches < 100 {
        let spec = service.topology().snapshot().to_spec();
        let before = service.topology().snapshot().epoch();
        if rng.below(10) == 0 {
            // A fresh tag in a rejected batch must never be interned.
            let ghost = Update::SetTags {
                server: spec.servers[0].name.clone(),
                tags: vec![format!("ghost{batches}")],
            };
            let mut batch = vec![ghost, update(rng, &spec, &mut fresh)];
            batch.insert(rng.index(3), invalid_update(rng, &spec));
            assert!(service.topology().apply(&batch).is_err(), "{batch:?}");
            assert_eq!(service.topology().snapshot().epoch(), before);
            written.rejected_batches += 1;
        } else {
            let batch: Vec<Update> = (0..=rng.below(2))
                .map(|_| update(rng, &spec, &mut fresh))
                .collect();
            if service.topology().apply(&batch).is_ok() {
                for update in &batch {
                    *written.applied.entry(kind(update)).or_default() += 1;
                }
            }
        }
        if batches % 50 == 25 {
            reject_reload(service, &unloadable, batches == 25, &mut written);
        } else if rng.below(4) == 0 {
            service
                .reload(&config(rng.index(CONFIGS.len())))
                .expect("compiles");
            written.reloads += 1;
        }
        batches += 1;
        wait_for(progress);
    }
    written
}

/// Reloads that must change nothing: a file that does not load, and (when `wide`) a policy that
/// does not compile (a filter of 65,536 tags).
fn reject_reload(service: &RoutingService, unloadable: &Path, wide: bool, written: &mut Written) {
    let before = service.generation().number();
    let error = service.reload_file(unloadable, Strictness::Default);
    assert!(matches!(error, Err(ReloadError::Config(_))), "{error:?}");
    *written.rejected_reloads.entry("does not load").or_default() += 1;
    if wide {
        reject_wide_reload(service, written);
    }
    assert_eq!(service.generation().number(), before, "nothing changed");
}

fn reject_wide_reload(service: &RoutingService, written: &mut Written) {
    let wide: Vec<String> = (0..65_536).map(|i| format!("w{i}")).collect();
    let text = format!("{POLICY}wide=tags({})\n", wide.join(","));
    let refused = match Config::parse(&text, Path::new("wide.conf"), Strictness::Default) {
        Ok(config) => service.reload(&config).is_err(),
        Err(_) => true,
    };
    assert!(refused, "a 65,536-tag filter is refused");
    *written
        .rejected_reloads
        .entry("does not compile")
        .or_default() += 1;
}

/// Waits (at most a second) until a reader reports progress.
fn wait_for(progress: &AtomicUsize) {
    let (seen, deadline) = (
        progress.load(Ordering::Relaxed),
        Instant::now() + Duration::from_secs(1),
    );
    while progress.load(Ordering::Relaxed) == seen && Instant::now() < deadline {
        std::thread::yield_now();
    }
}

/// What a check needs to know about the published state around one call.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Published {
    epoch: u64,
    generation: u64,
}

fn published(router: &Router) -> Published {
    Current::of(router).published()
}

/// The published state, read once: a check of an error must look at the very state it compared
/// with the one before the call, not read it again (a writer may publish in between).
struct Current {
    snapshot: Arc<Snapshot>,
    generation: Arc<Generation>,
}

impl Current {
    fn of(router: &Router) -> Current {
        Current {
            snapshot: router.topology().snapshot(),
            generation: router.generation(),
        }
    }

    fn published(&self) -> Published {
        Published {
            epoch: self.snapshot.epoch(),
            generation: self.generation.number(),
        }
    }

    /// The state when it is still `before`: then the call in between saw it too (epochs and
    /// generation numbers only grow).
    fn unchanged_since(router: &Router, before: Published) -> Option<Current> {
        Some(Current::of(router)).filter(|now| now.published() == before)
    }
}

/// One deciding thread: its own decider, random policies, databases and forms, every decision
/// checked, until the writer is done (and a few decisions after).
fn decide_until(
    service: &RoutingService,
    done: &AtomicBool,
    progress: &AtomicUsize,
    mut rng: Rng,
) -> Checked {
    let router = service.router();
    let mut decider = router.decider_seeded(rng.next_u64());
    let mut ids: BTreeMap<&str, PolicyId> = BTreeMap::new();
    let mut keys: BTreeMap<&str, DatabaseKey> = BTreeMap::new();
    let (mut checked, mut specs, mut after) = (Checked::default(), Specs::default(), 0);
    while after < 50 {
        after += usize::from(done.load(Ordering::Relaxed));
        let name = POLICY_NAMES[rng.index(POLICY_NAMES.len())];
        let db = DATABASES[rng.index(DATABASES.len())];
        if !ids.contains_key(name)
            && let Ok(id) = router.policy(name)
        {
            ids.insert(name, id);
        }
        if !keys.contains_key(db)
            && let Ok(key) = router.database(db)
        {
            keys.insert(db, key);
        }
        let (Some(&id), Some(key)) = (ids.get(name), keys.get(db)) else {
            continue;
        };
        let pick = if rng.below(2) == 0 {
            Pick::Random
        } else {
            Pick::RoundRobin
        };
        let call = Call {
            router: &router,
            id,
            key,
            pick,
        };
        match rng.below(3) {
            0 => call.decide(&mut decider, &mut specs, &mut checked),
            1 => call.excluding(&mut decider, &mut specs, &mut checked, &mut rng),
            _ => call.among(&mut decider, &mut specs, &mut checked, &mut rng),
        }
        progress.fetch_add(1, Ordering::Relaxed);
    }
    checked
}

/// One decision to make and check.
struct Call<'a> {
    router: &'a Router,
    id: PolicyId,
    key: &'a DatabaseKey,
    pick: Pick,
}

fn pick_name(pick: Pick) -> &'static str {
    match pick {
        Pick::Random => "random",
        Pick::RoundRobin => "round-robin",
    }
}

impl Call<'_> {
    /// `decide`; a round-robin decision is followed by as many as its selection has servers,
    /// which must visit each once when no update or reload came in between.
    fn decide(&self, decider: &mut Decider<'_>, specs: &mut Specs, checked: &mut Checked) {
        let before = published(self.router);
        let result = decider.decide(self.id, self.key, self.pick);
        let first = match self.outcome(result, before, &[], specs, checked, "decide") {
            Some(first) if self.pick == Pick::RoundRobin => first,
            _ => return,
        };
        let (stamp, expected) = first;
        let mut visited = BTreeSet::new();
        for _ in 0..expected.len() {
            let Ok(decision) = decider.decide(self.id, self.key, Pick::RoundRobin) else {
                return;
            };
            if stamp_of(&decision) != stamp {
                return;
            }
            visited.insert(decision.server().name().to_owned());
        }
        assert_eq!(
            visited, expected,
            "one round-robin cycle visits every server once"
        );
        checked.round_robin_cycles += 1;
    }

    /// `decide_excluding` with up to three servers, some of them unknown.
    fn excluding(
        &self,
        decider: &mut Decider<'_>,
        specs: &mut Specs,
        checked: &mut Checked,
        rng: &mut Rng,
    ) {
        let excluded: Vec<String> = (0..rng.below(4))
            .map(|_| format!("srv{}", rng.below(40)))
            .collect();
        let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
        let before = published(self.router);
        let result = decider.decide_excluding(self.id, self.key, &excluded, self.pick);
        self.outcome(
            result,
            before,
            &excluded,
            specs,
            checked,
            "decide-excluding",
        );
    }

    /// `decide_among` a random subset of the current snapshot's servers.
    fn among(
        &self,
        decider: &mut Decider<'_>,
        specs: &mut Specs,
        checked: &mut Checked,
        rng: &mut Rng,
    ) {
        let before = published(self.router);
        let snapshot = self.router.topology().snapshot();
        let names: BTreeSet<String> = snapshot
            .servers()
            .iter()
            .filter(|_| rng.below(2) == 0)
            .map(|s| s.name().to_owned())
            .collect();
        let candidates = snapshot
            .set_of(names.iter().map(String::as_str))
            .expect("the snapshot's own servers");
        let form = format!("decide-among/{}", pick_name(self.pick));
        match decider.decide_among(self.id, &snapshot, &candidates, self.pick) {
            Ok(decision) => {
                let generation = decision.generation();
                let policy = generation
                    .policies()
                    .by_id(self.id)
                    .expect("decided with it");
                let expected = reference::evaluate_on(
                    &reference::parse(policy.text(), Strictness::Default).expect("parses"),
                    specs.of(decision.snapshot()),
                    &names,
                );
                let server = decision.server().name();
                assert!(expected.contains(server), "{server} not in {expected:?}");
                *checked.decisions.entry(form).or_default() += 1;
            }
            Err(error @ (NoDecision::NoServer | NoDecision::UnknownPolicy)) => {
                let key = match Current::unchanged_since(self.router, before) {
                    Some(now) => {
                        self.check_among_error(&error, &now.generation, &snapshot, &names, specs);
                        format!("among: {error}")
                    }
                    None => format!("unchecked: {error}"),
                };
                *checked.errors.entry(key).or_default() += 1;
            }
            Err(error) => panic!("{error}"),
        }
    }

    /// Checks a decision on its own snapshot and generation, or an error on the state published
    /// around the call; the decision's stamp and selection when it succeeded.
    fn outcome(
        &self,
        result: Result<Decision<'_>, NoDecision>,
        before: Published,
        excluded: &[&str],
        specs: &mut Specs,
        checked: &mut Checked,
        form: &'static str,
    ) -> Option<(Published, BTreeSet<String>)> {
        match result {
            Ok(decision) => {
                let generation = decision.generation();
                let policy = generation
                    .policies()
                    .by_id(self.id)
                    .expect("decided with it");
                let spec = specs.of(decision.snapshot());
                let expected = reference_table(
                    spec,
                    self.key.name(),
                    policy.text(),
                    generation.settings(),
                    excluded,
                )
                .readers;
                let server = decision.server().name();
                assert!(
                    expected.contains(server),
                    "{form}: {server} is not a reader that `{}` selects under generation {}: {expected:?}",
                    policy.text(),
                    generation.number()
                );
                let key = format!("{form}/{}", pick_name(self.pick));
                *checked.decisions.entry(key).or_default() += 1;
                Some((stamp_of(&decision), expected))
            }
            Err(error) => {
                if let Some(now) = Current::unchanged_since(self.router, before) {
                    self.check_error(&error, excluded, specs, &now);
                    *checked
                        .errors
                        .entry(format!("{form}: {error}"))
                        .or_default() += 1;
                } else {
                    *checked
                        .errors
                        .entry(format!("unchecked: {error}"))
                        .or_default() += 1;
                }
                None
            }
        }
    }

    /// A `decide_among` error when no generation was published during the call.
    fn check_among_error(
        &self,
        error: &NoDecision,
        generation: &Generation,
        snapshot: &Snapshot,
        names: &BTreeSet<String>,
        specs: &mut Specs,
    ) {
        match (error, generation.policies().by_id(self.id)) {
            (NoDecision::UnknownPolicy, None) => {}
            (NoDecision::NoServer, Some(policy)) => {
                let parsed = reference::parse(policy.text(), Strictness::Default).expect("parses");
                let expected = reference::evaluate_on(&parsed, specs.of(snapshot), names);
                assert!(expected.is_empty(), "spurious no-server: {expected:?}");
            }
            (error, policy) => panic!("among: {error} with policy {:?}", policy.map(|p| p.text())),
        }
    }

    /// An error when nothing was published during the call: it names what the current state
    /// says.
    fn check_error(&self, error: &NoDecision, excluded: &[&str], specs: &mut Specs, now: &Current) {
        let (snapshot, generation) = (&now.snapshot, &now.generation);
        let policy = generation.policies().by_id(self.id);
        let has_db = snapshot.database(self.key.name()).is_some();
        match (error, policy) {
            (NoDecision::UnknownPolicy, None) => {}
            (NoDecision::UnknownDatabase, Some(_)) if !has_db => {}
            (NoDecision::NoServer, Some(policy)) if has_db => {
                let spec = specs.of(snapshot);
                let expected = reference_table(
                    spec,
                    self.key.name(),
                    policy.text(),
                    generation.settings(),
                    excluded,
                );
                assert!(
                    expected.readers.is_empty(),
                    "spurious no-server: {expected:?}"
                );
            }
            (error, policy) => panic!(
                "{error} with policy {:?} and database present: {has_db}",
                policy.map(|p| p.text())
            ),
        }
    }
}

fn stamp_of(decision: &Decision<'_>) -> Published {
    Published {
        epoch: decision.snapshot().epoch(),
        generation: decision.generation().number(),
    }
}

/// The table thread: random requests, every table checked against the configuration its TTL
/// names, on its own snapshot.
fn tables_until(
    service: &RoutingService,
    done: &AtomicBool,
    progress: &AtomicUsize,
    mut rng: Rng,
) -> Checked {
    let configs: Vec<Config> = (0..CONFIGS.len()).map(config).collect();
    let (mut checked, mut specs, mut after) = (Checked::default(), Specs::default(), 0);
    while after < 20 {
        after += usize::from(done.load(Ordering::Relaxed));
        let name = POLICY_NAMES[rng.index(POLICY_NAMES.len())];
        let db = DATABASES[rng.index(DATABASES.len())];
        let excluded: Vec<String> = (0..rng.below(3))
            .map(|_| format!("srv{}", rng.below(40)))
            .collect();
        let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
        let request = RouteRequest::new(db).with_policy(name).excluding(&excluded);
        let before = service.topology().snapshot();
        match service.table(&request, &mut rng) {
            Ok(table) => {
                let index = usize::try_from(table.ttl_secs() - 10).expect("one of ours");
                let config = &configs[index];
                let text = config.policy(name).expect("routed with it").text();
                let spec = specs.of(table.snapshot());
                let expected = reference_table(spec, db, text, config.routing(), &excluded);
                let context = format!("{name} on {db}, config {index}");
                check_table(&table, &expected, &context);
                checked.tables += 1;
            }
            Err(
                RoutingError::UnknownPolicy(_)
                | RoutingError::UnknownDatabase(_)
                | RoutingError::EmptyTable { .. },
            ) if service.topology().snapshot().epoch() != before.epoch() => {}
            Err(RoutingError::UnknownDatabase(unknown)) => {
                assert!(before.database(unknown.name()).is_none());
            }
            Err(RoutingError::UnknownPolicy(unknown)) => {
                assert_eq!(unknown.name(), name);
            }
            Err(RoutingError::EmptyTable { database }) => assert_eq!(database, db),
            Err(error) => panic!("{error}"),
        }
        progress.fetch_add(1, Ordering::Relaxed);
    }
    checked
}
