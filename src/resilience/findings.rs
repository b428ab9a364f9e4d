//! What an operator must act on, gathered over a sweep and ranked.
//!
//! Each kind of finding has one slot per subject (a policy of a database, a secondary of a
//! database, a database), sized before the sweep: the sweep only counts and remembers the
//! scenario to show, so the findings' memory does not grow with the number of scenarios.

use std::fmt;

use super::{Analysis, Outcome, Record, Roles, Scenario, Upstream};
use crate::topology::{Database, ServerIdx, ServerSet};

use super::domains::Domains;

/// What kind of trouble a finding reports, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FindingKind {
    /// A policy leaves its clients without readers or without routers.
    Outage,
    /// Fewer than a majority of a database's primaries survive: no leader can be elected.
    NoQuorum,
    /// A secondary gets no upstream at all.
    NoUpstream,
    /// No surviving primary carries the database's leader priority tag.
    LeaderPriority,
    /// A policy sends reads to servers outside the regions it reads from with nothing down.
    LeavesRegion,
    /// A policy's readers each take at least the alert factor times their reads of today.
    Load,
    /// A secondary's configured strategies have no answer; only the last resort, a random
    /// primary, gives it an upstream (where a configured one did with nothing down).
    UpstreamFallback,
}

impl FindingKind {
    /// The kind as JSON names it: `outage`, `no-quorum`, `no-upstream`, `leader-priority`,
    /// `leaves-region`, `load`, `upstream-fallback`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Outage => "outage",
            FindingKind::NoQuorum => "no-quorum",
            FindingKind::NoUpstream => "no-upstream",
            FindingKind::LeaderPriority => "leader-priority",
            FindingKind::LeavesRegion => "leaves-region",
            FindingKind::Load => "load",
            FindingKind::UpstreamFallback => "upstream-fallback",
        }
    }

    const POLICY: [FindingKind; 3] = [
        FindingKind::Outage,
        FindingKind::LeavesRegion,
        FindingKind::Load,
    ];
    const SERVER: [FindingKind; 2] = [FindingKind::NoUpstream, FindingKind::UpstreamFallback];
    const DATABASE: [FindingKind; 2] = [FindingKind::NoQuorum, FindingKind::LeaderPriority];
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing to act on: a kind of trouble for one subject, how many scenarios show it, and the
/// scenario to show (the first, fewest failures; for measured kinds the worst).
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    kind: FindingKind,
    database: String,
    subject: String,
    scenarios: u64,
    fewest: usize,
    example: Vec<String>,
    measure: Option<f64>,
    servers: Vec<String>,
}

impl Finding {
    /// The kind of trouble.
    pub fn kind(&self) -> FindingKind {
        self.kind
    }

    /// The database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The policy, the secondary, or the database's priority tag (for
    /// [`FindingKind::LeaderPriority`]) or the database (for [`FindingKind::NoQuorum`]).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// How many scenarios show it.
    pub fn scenarios(&self) -> u64 {
        self.scenarios
    }

    /// The fewest failed domains that show it.
    pub fn fewest(&self) -> usize {
        self.fewest
    }

    /// The failed domains of the scenario shown.
    pub fn example(&self) -> &[String] {
        &self.example
    }

    /// For [`FindingKind::LeavesRegion`], the share of reads that leave; for
    /// [`FindingKind::Load`], the growth factor; in the scenario shown.
    pub fn measure(&self) -> Option<f64> {
        self.measure
    }

    /// The servers concerned in the scenario shown: the readers outside the preferred regions,
    /// or the readers whose load grows; empty for the other kinds.
    pub fn servers(&self) -> &[String] {
        &self.servers
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = if self.example.is_empty() {
            "with nothing down".to_owned()
        } else {
            format!(
                "when {} fail{}",
                self.example.join(" + "),
                if self.example.len() == 1 { "s" } else { "" }
            )
        };
        let (db, subject) = (&self.database, &self.subject);
        let servers = self.servers.join(", ");
        match self.kind {
            FindingKind::Outage => write!(f, "{db}/{subject}: no readers or no routers {when}"),
            FindingKind::NoQuorum => write!(
                f,
                "{db}: fewer than a majority of primaries survive {when}; no leader can be elected"
            ),
            FindingKind::NoUpstream => {
                write!(f, "{db}: secondary {subject} has no upstream {when}")
            }
            FindingKind::LeaderPriority => write!(
                f,
                "{db}: no surviving primary carries the priority tag {subject} {when}"
            ),
            FindingKind::LeavesRegion => write!(
                f,
                "{db}/{subject}: {:.0}% of reads leave the preferred regions {when} (to {servers})",
                self.measure.unwrap_or(0.0) * 100.0
            ),
            FindingKind::Load => write!(
                f,
                "{db}/{subject}: {servers} {} {:.2}x {} reads {when}",
                if self.servers.len() == 1 {
                    "takes"
                } else {
                    "take"
                },
                self.measure.unwrap_or(0.0),
                if self.servers.len() == 1 {
                    "its"
                } else {
                    "their"
                },
            ),
            FindingKind::UpstreamFallback => write!(
                f,
                "{db}: secondary {subject}'s strategies have no answer {when}; only the last resort, a random primary, does"
            ),
        }?;
        if self.scenarios > 1 {
            write!(f, " [{} scenarios]", self.scenarios)?;
        }
        Ok(())
    }
}

/// The findings of a sweep, most urgent first: by kind, then the fewest failures that show
/// them, then the worst measure, then the most scenarios.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    list: Vec<Finding>,
    scenarios: u64,
}

impl Findings {
    /// The findings, ranked.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Finding> {
        self.list.iter()
    }

    /// How many findings there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many scenarios the sweep evaluated.
    pub fn scenarios(&self) -> u64 {
        self.scenarios
    }
}

/// One subject's tally for one kind.
#[derive(Clone, Default)]
struct Slot {
    count: u64,
    first: Option<Vec<usize>>,
    worst: f64,
    worst_at: Vec<usize>,
}

impl Slot {
    fn hit(&mut self, scenario: &Scenario, measure: f64) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(scenario.domains().to_vec());
        }
        if self.count == 1 || measure > self.worst {
            self.worst = measure;
            self.worst_at.clear();
            self.worst_at.extend_from_slice(scenario.domains());
        }
    }
}

/// Gathers findings during a sweep.
pub(super) struct Collector {
    policies: usize,
    servers: usize,
    policy: Vec<Slot>,
    server: Vec<Slot>,
    database: Vec<Slot>,
    today_upstream: Vec<Option<Upstream>>,
    preferred: Vec<ServerSet>,
    /// Per (database, policy), how many readers it has with nothing down.
    today_readers: Vec<usize>,
    /// Per database, the servers carrying its leader priority tag, if it has one.
    priority: Vec<Option<ServerSet>>,
    scenarios: u64,
}

impl Collector {
    pub(super) fn new(analysis: &Analysis<'_>, _domains: &Domains) -> Collector {
        let dbs = analysis.databases.len();
        let (policies, servers) = (analysis.policies.len(), analysis.snapshot.len());
        Collector {
            policies,
            servers,
            policy: vec![Slot::default(); FindingKind::POLICY.len() * dbs * policies],
            server: vec![Slot::default(); FindingKind::SERVER.len() * dbs * servers],
            database: vec![Slot::default(); FindingKind::DATABASE.len() * dbs],
            today_upstream: vec![None; dbs * servers],
            preferred: vec![ServerSet::default(); dbs * policies],
            today_readers: vec![0; dbs * policies],
            priority: analysis
                .databases
                .iter()
                .map(|db| {
                    let tag = analysis.leadership.priority_tag_of(db.name())?;
                    Some(analysis.snapshot.tagged_by_name(tag))
                })
                .collect(),
            scenarios: 0,
        }
    }

    fn slot<'a>(
        slots: &'a mut [Slot],
        kinds: &[FindingKind],
        kind: FindingKind,
        key: usize,
    ) -> Option<&'a mut Slot> {
        let k = kinds.iter().position(|&x| x == kind)?;
        slots.get_mut(key * kinds.len() + k)
    }

    /// One record: outage, reads leaving the preferred regions, load growth.
    pub(super) fn policy(
        &mut self,
        d: usize,
        p: usize,
        record: &Record<'_>,
        analysis: &Analysis<'_>,
    ) {
        let key = d * self.policies + p;
        let scenario = record.scenario;
        let (now, today) = (record.outcome, record.today);
        if scenario.number() == 0 {
            if let Some(preferred) = self.preferred.get_mut(key) {
                *preferred = analysis.regions.covering(&today.readers);
            }
            if let Some(count) = self.today_readers.get_mut(key) {
                *count = today.readers.len();
            }
        }
        let kinds = &FindingKind::POLICY;
        if now.is_outage() {
            if let Some(slot) = Self::slot(&mut self.policy, kinds, FindingKind::Outage, key) {
                slot.hit(scenario, 0.0);
            }
            return;
        }
        // Counted once per record: popcounts are most of what a record costs here.
        let readers = now.readers.len();
        if let Some(share) = self.leaving_share(key, now, readers, analysis)
            && let Some(slot) = Self::slot(&mut self.policy, kinds, FindingKind::LeavesRegion, key)
        {
            slot.hit(scenario, share);
        }
        let today_readers = self.today_readers.get(key).copied().unwrap_or(0);
        // As `growth(today, now)`, with today's count kept from the first scenario.
        let factor = today_readers as f64 / readers.max(1) as f64;
        if today_readers > 0
            && factor >= analysis.load_alert
            && overlaps(&today.readers, &now.readers)
            && let Some(slot) = Self::slot(&mut self.policy, kinds, FindingKind::Load, key)
        {
            slot.hit(scenario, factor);
        }
    }

    /// The share of `now`'s `readers` reads that go to servers with a region outside the
    /// preferred ones, if any do: one pass over the words, counting only nonzero ones.
    fn leaving_share(
        &self,
        key: usize,
        now: &Outcome,
        readers: usize,
        analysis: &Analysis<'_>,
    ) -> Option<f64> {
        let preferred = self.preferred.get(key).filter(|p| !p.is_empty())?;
        let outside: usize = now
            .readers
            .words()
            .iter()
            .zip(analysis.regioned.words())
            .zip(preferred.words())
            .map(|((r, g), p)| match r & g & !p {
                0 => 0,
                w => w.count_ones() as usize,
            })
            .sum();
        (outside > 0).then(|| outside as f64 / readers as f64)
    }

    /// One database in one scenario: quorum and leader priority.
    pub(super) fn database(&mut self, d: usize, db: &Database, scenario: &Scenario, roles: &Roles) {
        let kinds = &FindingKind::DATABASE;
        let primaries = db.primaries().len();
        if primaries > 0
            && roles.routers.len() * 2 <= primaries
            && let Some(slot) = Self::slot(&mut self.database, kinds, FindingKind::NoQuorum, d)
        {
            slot.hit(scenario, 0.0);
        }
        if let Some(eligible) = self.priority.get(d).and_then(Option::as_ref)
            && !overlaps(eligible, &roles.routers)
            && let Some(slot) =
                Self::slot(&mut self.database, kinds, FindingKind::LeaderPriority, d)
        {
            slot.hit(scenario, 0.0);
        }
        self.scenarios = self.scenarios.max(scenario.number() + 1);
    }

    /// One secondary's upstream in one scenario.
    pub(super) fn upstream(
        &mut self,
        d: usize,
        server: ServerIdx,
        answer: Upstream,
        scenario: &Scenario,
    ) {
        let key = d * self.servers + server.index();
        if scenario.number() == 0
            && let Some(today) = self.today_upstream.get_mut(key)
        {
            *today = Some(answer);
        }
        let today = self.today_upstream.get(key).copied().flatten();
        let kinds = &FindingKind::SERVER;
        let kind = match (answer, today) {
            (Upstream::None, _) => FindingKind::NoUpstream,
            (Upstream::LastResort(_), Some(Upstream::Configured(_))) => {
                FindingKind::UpstreamFallback
            }
            _ => return,
        };
        if let Some(slot) = Self::slot(&mut self.server, kinds, kind, key) {
            slot.hit(scenario, 0.0);
        }
    }

    /// The findings, ranked, with the servers of each scenario shown.
    pub(super) fn finish(self, analysis: &Analysis<'_>, domains: &Domains) -> Findings {
        let snapshot = analysis.snapshot;
        let dbs = &analysis.databases;
        let names = |positions: &[usize]| -> Vec<String> {
            positions
                .iter()
                .filter_map(|&d| domains.get(d))
                .map(|d| d.name().to_owned())
                .collect()
        };
        let mut list = Vec::new();
        let mut emit = |kind: FindingKind,
                        db: &Database,
                        subject: String,
                        slot: &Slot,
                        servers: Vec<String>| {
            let Some(first) = &slot.first else { return };
            let measured = matches!(kind, FindingKind::LeavesRegion | FindingKind::Load);
            list.push(Finding {
                kind,
                database: db.name().to_owned(),
                subject,
                scenarios: slot.count,
                fewest: first.len(),
                example: names(if measured { &slot.worst_at } else { first }),
                measure: measured.then_some(slot.worst),
                servers,
            });
        };
        for (d, &db) in dbs.iter().enumerate() {
            for (p, (policy, _)) in analysis.policies.iter().enumerate() {
                for (k, &kind) in FindingKind::POLICY.iter().enumerate() {
                    let key = (d * self.policies + p) * FindingKind::POLICY.len() + k;
                    let Some(slot) = self.policy.get(key) else {
                        continue;
                    };
                    let servers = match (kind, slot.first.is_some()) {
                        (FindingKind::Outage, _) | (_, false) => Vec::new(),
                        _ => self.shown_servers(analysis, domains, db, p, kind, &slot.worst_at),
                    };
                    emit(kind, db, policy.clone(), slot, servers);
                }
            }
            for server in 0..self.servers {
                for (k, &kind) in FindingKind::SERVER.iter().enumerate() {
                    let key = (d * self.servers + server) * FindingKind::SERVER.len() + k;
                    let (Some(slot), Some(s)) = (
                        self.server.get(key),
                        ServerIdx::new(server).and_then(|i| snapshot.server(i)),
                    ) else {
                        continue;
                    };
                    emit(kind, db, s.name().to_owned(), slot, Vec::new());
                }
            }
            for (k, &kind) in FindingKind::DATABASE.iter().enumerate() {
                let Some(slot) = self.database.get(d * FindingKind::DATABASE.len() + k) else {
                    continue;
                };
                let subject = match kind {
                    FindingKind::LeaderPriority => analysis
                        .leadership
                        .priority_tag_of(db.name())
                        .unwrap_or_default()
                        .to_owned(),
                    _ => db.name().to_owned(),
                };
                emit(kind, db, subject, slot, Vec::new());
            }
        }
        list.sort_by(|a, b| {
            (a.kind, a.fewest)
                .cmp(&(b.kind, b.fewest))
                .then(
                    b.measure
                        .unwrap_or(0.0)
                        .total_cmp(&a.measure.unwrap_or(0.0)),
                )
                .then(b.scenarios.cmp(&a.scenarios))
                .then_with(|| (&a.database, &a.subject).cmp(&(&b.database, &b.subject)))
        });
        Findings {
            list,
            scenarios: self.scenarios,
        }
    }

    /// The servers a measured finding names in the scenario shown.
    fn shown_servers(
        &self,
        analysis: &Analysis<'_>,
        domains: &Domains,
        db: &Database,
        p: usize,
        kind: FindingKind,
        shown: &[usize],
    ) -> Vec<String> {
        let snapshot = analysis.snapshot;
        let scenario = Scenario::of(domains, shown, snapshot.len());
        let (mut now, mut today) = (Outcome::default(), Outcome::default());
        let none = ServerSet::empty(snapshot.len());
        if analysis.evaluate(db, p, scenario.down(), &mut now).is_err()
            || analysis.evaluate(db, p, &none, &mut today).is_err()
        {
            return Vec::new();
        }
        let mut servers = now.readers.clone();
        match kind {
            FindingKind::LeavesRegion => {
                servers.intersect_same(&analysis.regioned);
                servers.subtract_same(&analysis.regions.covering(&today.readers));
            }
            _ => servers.intersect_same(&today.readers),
        }
        let mut names: Vec<String> = snapshot
            .names(&servers)
            .into_iter()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }
}

fn overlaps(a: &ServerSet, b: &ServerSet) -> bool {
    a.words().iter().zip(b.words()).any(|(a, b)| a & b != 0)
}

/// `dst = src`, reusing `dst`'s allocation.
pub(super) fn copy_into(dst: &mut ServerSet, src: &ServerSet) {
    dst.reset(src.universe());
    dst.union_same(src);
}
