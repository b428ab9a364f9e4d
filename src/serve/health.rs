//! Active health checks of the cluster followed: every interval, each server's Bolt address gets
//! a probe, and a server whose probes fail `fails` times in a row is unavailable in tagroute's
//! tables, whatever the cluster says, until `passes` probes in a row succeed.
//!
//! A probe asks RESET on the connection its server's last probe kept, and a server that answers
//! passes. With no connection kept, or when that one fails, it opens a new one (TCP, TLS when the
//! cluster uses it, the Bolt handshake): a server that agrees on a version passes, and the
//! connection then logs in (as following does) to be kept for the next probe. A login refused
//! still passes (the server speaks Bolt); the next probe connects again. Keeping connections
//! makes a probe one small write and read instead of a connection opened and closed (and a TLS
//! handshake) each second per server. The kept connections of a slot are sent their RESETs at
//! once and their answers read together 50 ms later, and the runtime does not
//! watch a kept connection between probes, so a slot of answers costs one wake-up, not one
//! each.
//!
//! Neo4j learns that a server died when its discovery does, seconds to a minute later; a probe
//! learns it when its connection is closed and a new one refused, so a killed server leaves the
//! tables within about `fails` intervals. Probes are spread over the first half of the interval
//! in slots (10 ms apart, at most 64), each address always in the same slot (so a thousand
//! servers are not dialled at once), a slot starting with a little jitter (so the probes do not
//! fall in step with anything else); the probes of a slot run together in one task, at most
//! `concurrency` at a time, each within `timeout`. The verdicts of a round are published
//! together when its last probe is back; each change of verdict is logged and counted.
//!
//! A server starts passing: until its probes say otherwise, the cluster's word stands. And when
//! more than half of the servers fail at once, tagroute is more likely cut off from the cluster
//! than the cluster gone: the verdicts are then set aside (logged, and
//! `tagroute_health_ignored` is 1) and the tables keep what the cluster last said, instead of
//! emptying them for every driver, until at least half pass again.

use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use rustc_hash::FxBuildHasher;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, timeout, timeout_at};
use tokio_rustls::TlsConnector;

use super::Shared;
use super::logging::Clipped;
use super::metrics::Metrics;
use crate::bolt::Auth;
use crate::bolt::client::ClientOptions;
use crate::follow::FollowSettings;
use crate::follow::connection::Connection;
use crate::rng::Rng;

/// How the servers are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthChecks {
    /// How often each server is probed.
    pub interval: Duration,
    /// Failed probes in a row that make a server unavailable.
    pub fails: u32,
    /// Good probes in a row that make it available again.
    pub passes: u32,
    /// How long a probe may take (connect, TLS, handshake).
    pub timeout: Duration,
    /// The most probes under way at once.
    pub concurrency: usize,
}

impl Default for HealthChecks {
    /// Every second, 2 failures to fail, 2 passes to pass, a second per probe, 64 at once.
    fn default() -> HealthChecks {
        HealthChecks {
            interval: Duration::from_secs(1),
            fails: 2,
            passes: 2,
            timeout: Duration::from_secs(1),
            concurrency: 64,
        }
    }
}

impl HealthChecks {
    /// Checks every `interval`, a probe's timeout that interval (capped at 5 s), the other
    /// settings their defaults.
    pub fn every(interval: Duration) -> HealthChecks {
        HealthChecks {
            interval,
            timeout: interval.min(Duration::from_secs(5)),
            ..HealthChecks::default()
        }
    }

    /// The same, a server failing after `fails` failures and passing after `passes` passes.
    pub fn with_counts(self, fails: u32, passes: u32) -> HealthChecks {
        HealthChecks {
            fails,
            passes,
            ..self
        }
    }

    /// Whether the settings can work: nonzero interval, timeout, counts and concurrency.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.interval.is_zero() || self.timeout.is_zero() {
            return Err("the health checks' interval and timeout must be longer than zero".into());
        }
        if self.fails == 0 || self.passes == 0 || self.concurrency == 0 {
            return Err("--health-fails and --health-passes must be at least 1".into());
        }
        Ok(())
    }
}

/// A server's verdict, and the run of probes against it that may change it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    failing: bool,
    /// Probes in a row whose outcome disagrees with the verdict.
    run: u32,
}

impl Verdict {
    /// Whether the server is failing its checks.
    pub fn failing(self) -> bool {
        self.failing
    }

    /// Records a probe's outcome; returns whether the verdict changed: `fails` failures in a
    /// row make a passing server fail, `passes` passes in a row make a failing one pass, and
    /// an outcome that agrees with the verdict starts the run again.
    pub fn record(&mut self, passed: bool, fails: u32, passes: u32) -> bool {
        if passed != self.failing {
            self.run = 0;
            return false;
        }
        self.run += 1;
        let needed = if self.failing { passes } else { fails };
        if self.run < needed {
            return false;
        }
        *self = Verdict {
            failing: !self.failing,
            run: 0,
        };
        true
    }
}

/// How probes reach the servers: the cluster's TLS and login.
pub(super) struct Dial {
    tls: Option<TlsConnector>,
    auth: Auth,
    options: ClientOptions,
}

impl Dial {
    /// As the cluster followed is reached.
    pub(super) fn new(cluster: &FollowSettings) -> Dial {
        Dial {
            tls: cluster.tls().cloned(),
            auth: cluster.auth(),
            options: cluster.client_options(),
        }
    }
}

/// Probes every server of the sources every interval until shutdown.
pub(super) async fn check(shared: Arc<Shared>, checks: HealthChecks, dial: Dial) {
    let mut verdicts: HashMap<String, Verdict> = HashMap::new();
    let mut ignored = false;
    let mut published = BTreeSet::new();
    let mut prober = Prober::new(&checks, dial);
    let mut shutdown = shared.shutdown.subscribe();
    let mut ticks = tokio::time::interval(checks.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let targets = shared.sources().addresses();
        verdicts.retain(|address, _| {
            let kept = targets.contains(address);
            if !kept {
                shared.metrics.health_forget(address);
            }
            kept
        });
        let round = tokio::select! {
            round = prober.round(targets) => round,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let changes = judge(&mut verdicts, round, &checks, &shared.metrics);
        let (failing, cut_off) = applied(&verdicts);
        let count = verdicts.values().filter(|v| v.failing()).count();
        if cut_off != ignored {
            ignored = cut_off;
            log_cut_off(cut_off, count, verdicts.len());
        }
        shared
            .metrics
            .health_servers(verdicts.len() - count, count, cut_off);
        for (address, failing, error) in &changes {
            log_transition(
                &shared,
                &checks,
                address,
                *failing,
                error.as_deref(),
                cut_off,
            );
        }
        if failing != published {
            published.clone_from(&failing);
            publish(&shared, failing).await;
        }
    }
}

/// Takes a round's outcomes into `verdicts` and the metrics; returns the changes of verdict:
/// the address, whether it now fails, and the probe's error.
fn judge(
    verdicts: &mut HashMap<String, Verdict>,
    round: Vec<(String, Result<(), String>)>,
    checks: &HealthChecks,
    metrics: &Metrics,
) -> Vec<(String, bool, Option<String>)> {
    let passed = round.iter().filter(|(_, outcome)| outcome.is_ok()).count();
    metrics.health_probes(passed, round.len() - passed);
    let mut changes = Vec::new();
    for (address, outcome) in round {
        let new = !verdicts.contains_key(&address);
        let verdict = verdicts.entry(address.clone()).or_default();
        let changed = verdict.record(outcome.is_ok(), checks.fails, checks.passes);
        if changed || new {
            metrics.health_verdict(&address, verdict.failing());
        }
        if changed {
            changes.push((address, verdict.failing(), outcome.err()));
        }
    }
    changes
}

/// How finely a round's probes are spread: a slot of them at most every 10 ms.
const SLOT: Duration = Duration::from_millis(10);

/// How long after a slot sends its RESETs their answers are read, together: a server on a
/// network that answers within it costs no wake-up of its own. (An answer not there by then is
/// waited for until the probe's timeout; half the timeout when that is shorter.)
const GATHER: Duration = Duration::from_millis(50);

/// The most slots in a round.
const MAX_SLOTS: u32 = 64;

/// The probes of the checks, and the connections they keep between rounds.
struct Prober {
    dial: Arc<Dial>,
    permits: Arc<Semaphore>,
    /// Each round takes the first half of the interval, cut in `slots`.
    spread: Duration,
    slots: u32,
    limit: Duration,
    seed: u64,
    rng: Rng,
    kept: HashMap<String, Connection>,
}

impl Prober {
    fn new(checks: &HealthChecks, dial: Dial) -> Prober {
        let spread = checks.interval / 2;
        let slots = (spread.as_nanos() / SLOT.as_nanos()).clamp(1, u128::from(MAX_SLOTS));
        let mut rng = Rng::from_os();
        Prober {
            dial: Arc::new(dial),
            permits: Arc::new(Semaphore::new(checks.concurrency)),
            spread,
            slots: u32::try_from(slots).unwrap_or(MAX_SLOTS),
            limit: checks.timeout,
            seed: rng.next_u64(),
            rng,
            kept: HashMap::new(),
        }
    }

    /// Probes every address of `targets` once and returns each outcome. Each address is
    /// probed in its slot of the spread (fixed per address, so each is probed once an
    /// interval; a slot starts with a little jitter), the probes of a slot together in one
    /// task, at most `concurrency` at once.
    async fn round(&mut self, targets: BTreeSet<String>) -> Vec<(String, Result<(), String>)> {
        self.kept.retain(|address, _| targets.contains(address));
        let mut slots: Vec<Vec<(String, Option<Connection>)>> =
            (0..self.slots).map(|_| Vec::new()).collect();
        for address in targets {
            let kept = self.kept.remove(&address);
            if let Some(slot) = slots.get_mut(slot(self.seed, &address, self.slots)) {
                slot.push((address, kept));
            }
        }
        let width = self.spread / self.slots;
        let mut tasks = JoinSet::new();
        for (k, probes) in (0..).zip(slots).filter(|(_, probes)| !probes.is_empty()) {
            let start = width * k + jitter(&mut self.rng, width);
            let (dial, permits, limit) = (
                Arc::clone(&self.dial),
                Arc::clone(&self.permits),
                self.limit,
            );
            tasks.spawn(async move {
                tokio::time::sleep(start).await;
                let asked = ask(probes, limit);
                tokio::time::sleep(GATHER.min(limit / 2)).await;
                let (dial, permits) = (&dial, &permits);
                join_all(asked.into_iter().map(|(address, kept)| async move {
                    let probed = match permits.acquire().await {
                        Ok(_permit) => probe(&address, kept, dial, limit).await,
                        Err(_) => (Err("the probes were stopped".to_owned()), None),
                    };
                    (address, probed)
                }))
                .await
            });
        }
        let mut outcomes = Vec::new();
        for (address, (outcome, kept)) in tasks.join_all().await.into_iter().flatten() {
            if let Some(connection) = kept {
                self.kept.insert(address.clone(), connection);
            }
            outcomes.push((address, outcome));
        }
        outcomes
    }
}

/// A kept connection asked RESET, and by when it must answer.
struct Asked {
    connection: Connection,
    deadline: Instant,
}

/// Sends RESET on each kept connection of a slot's `probes`, all at once; their answers are
/// read a little later, together, so that a slot costs one wake-up, not one per answer. A
/// connection that cannot send is dropped (its probe connects again).
fn ask(probes: Vec<(String, Option<Connection>)>, limit: Duration) -> Vec<(String, Option<Asked>)> {
    let deadline = Instant::now() + limit;
    probes
        .into_iter()
        .map(|(address, kept)| {
            let asked = kept.and_then(|mut connection| {
                connection.ask_reset().ok()?;
                Some(Asked {
                    connection,
                    deadline,
                })
            });
            (address, asked)
        })
        .collect()
}

/// Probes `address`: the RESET `asked` on the connection of its last probe, answered by its
/// deadline; else, or when that fails, a new connection's Bolt handshake within `limit`. Either
/// answer passes. A new connection then logs in, to be kept for the next probe; when it cannot,
/// the probe has passed all the same (the server speaks Bolt) and the next one connects again.
async fn probe(
    address: &str,
    asked: Option<Asked>,
    dial: &Dial,
    limit: Duration,
) -> (Result<(), String>, Option<Connection>) {
    if let Some(Asked {
        mut connection,
        deadline,
    }) = asked
    {
        let answered = match connection.answered() {
            Ok(Some(_)) => true,
            Ok(None) => matches!(timeout_at(deadline, connection.answer()).await, Ok(Ok(_))),
            Err(_) => false,
        };
        if answered {
            return (Ok(()), Some(connection));
        }
    }
    let deadline = Instant::now() + limit;
    let connect = Connection::connect(address, dial.tls.as_ref(), dial.options);
    let mut connection = match timeout_at(deadline, connect).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => return (Err(e.to_string()), None),
        Err(_) => return (Err(format!("no answer within {limit:?}")), None),
    };
    let login = timeout(limit, connection.login(&dial.auth)).await;
    (Ok(()), matches!(login, Ok(Ok(()))).then_some(connection))
}

/// The addresses whose failing verdicts apply, and whether they are set aside because more
/// than half of the servers fail (then none applies).
fn applied(verdicts: &HashMap<String, Verdict>) -> (BTreeSet<String>, bool) {
    let failing: BTreeSet<String> = verdicts
        .iter()
        .filter(|(_, v)| v.failing())
        .map(|(a, _)| a.clone())
        .collect();
    match failing.len() * 2 > verdicts.len() {
        true => (BTreeSet::new(), true),
        false => (failing, false),
    }
}

/// Hands the verdicts applied to the sources, off the I/O threads.
async fn publish(shared: &Arc<Shared>, failing: BTreeSet<String>) {
    let publishing = Arc::clone(shared);
    let published = tokio::task::spawn_blocking(move || {
        let topology = publishing.routes.topology();
        publishing.sources().set_failing(failing, topology)
    })
    .await;
    if let Ok(Some(published)) = published {
        let epoch = published.snapshot.epoch();
        shared.metrics.set_epoch(epoch);
        tracing::info!(
            epoch,
            updates = published.updates.len(),
            "health verdicts published"
        );
    }
}

fn log_cut_off(cut_off: bool, failing: usize, servers: usize) {
    if cut_off {
        tracing::warn!(
            failing,
            servers,
            "most servers fail their health checks: tagroute is likely cut off from the cluster; \
             the verdicts are set aside and the tables keep what the cluster last said"
        );
    } else {
        tracing::info!(
            failing,
            servers,
            "most servers pass their health checks again; verdicts apply"
        );
    }
}

/// Logs and counts a change of verdict on the server at `address`.
fn log_transition(
    shared: &Shared,
    checks: &HealthChecks,
    address: &str,
    failing: bool,
    error: Option<&str>,
    ignored: bool,
) {
    shared.metrics.health_transition(failing);
    let server = shared
        .sources()
        .base()
        .servers
        .iter()
        .find(|s| s.address == address)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    if failing {
        tracing::warn!(
            %server, %address, failed_probes = checks.fails, set_aside = ignored,
            error = error.map(Clipped).map(tracing::field::display),
            "server failing its health checks; unavailable in the tables"
        );
    } else {
        tracing::info!(
            %server, %address, passed_probes = checks.passes,
            "server passing its health checks again"
        );
    }
}

/// The slot of a round in which the address is probed: fixed per address (so each is probed
/// once an interval), spread evenly between addresses.
fn slot(seed: u64, address: &str, slots: u32) -> usize {
    let hash = FxBuildHasher.hash_one((seed, address));
    usize::try_from(hash % u64::from(slots.max(1))).unwrap_or(0)
}

fn jitter(rng: &mut Rng, most: Duration) -> Duration {
    let nanos = u64::try_from(most.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.below(nanos.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::chunk;
    use crate::bolt::packstream::{self, Map, Structure, Value};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A Bolt 5.0 server on loopback answering HELLO with `hello` (SUCCESS or FAILURE), and
    /// then closing when `close` says so, and every other message with SUCCESS; returns its
    /// address and how many connections it took.
    async fn server(hello: u8, close: bool) -> (String, Arc<AtomicUsize>) {
        server_pausing(hello, close, Duration::ZERO).await
    }

    /// The same, pausing `pause` before each answer after the login.
    async fn server_pausing(hello: u8, close: bool, pause: Duration) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(stream, hello, close, pause));
            }
        });
        (address, accepted)
    }

    async fn answer(
        mut stream: TcpStream,
        hello: u8,
        close: bool,
        pause: Duration,
    ) -> std::io::Result<()> {
        let mut handshake = [0; 20];
        stream.read_exact(&mut handshake).await?;
        stream.write_all(&[0, 0, 0, 5]).await?;
        loop {
            let mut body = Vec::new();
            loop {
                let size = usize::from(stream.read_u16().await?);
                if size == 0 {
                    break;
                }
                let at = body.len();
                body.resize(at + size, 0);
                stream.read_exact(&mut body[at..]).await?;
            }
            let tag = if body.get(1) == Some(&0x01) {
                hello
            } else {
                tokio::time::sleep(pause).await;
                0x70
            };
            let mut metadata = Map::new();
            metadata.insert("code", Value::from("Neo.ClientError.Security.Unauthorized"));
            metadata.insert("message", Value::from("no"));
            let reply = Value::Struct(Structure::new(tag, vec![Value::Map(metadata)]).unwrap());
            let mut out = Vec::new();
            chunk::write_with(&mut out, |out| packstream::encode(&reply, out)).unwrap();
            stream.write_all(&out).await?;
            if close {
                return Ok(());
            }
        }
    }

    fn dial() -> Dial {
        Dial {
            tls: None,
            auth: Auth::default(),
            options: ClientOptions::default(),
        }
    }

    const LIMIT: Duration = Duration::from_secs(10);

    /// A probe of `address` on its `kept` connection, asked now, within `limit`.
    async fn probe_now(
        address: &str,
        kept: Option<Connection>,
        limit: Duration,
    ) -> (Result<(), String>, Option<Connection>) {
        let asked = ask(vec![(address.to_owned(), kept)], limit).pop();
        probe(address, asked.and_then(|(_, asked)| asked), &dial(), limit).await
    }
    const SUCCESS: u8 = 0x70;
    const FAILURE: u8 = 0x7F;

    #[tokio::test]
    async fn a_probe_keeps_its_connection_and_asks_again_on_it() {
        let (address, accepted) = server(SUCCESS, false).await;
        let mut kept = None;
        for _ in 0..3 {
            let (outcome, connection) = probe_now(&address, kept, LIMIT).await;
            assert_eq!(outcome, Ok(()));
            kept = connection;
            assert!(kept.is_some());
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one connection, three probes"
        );
    }

    #[tokio::test]
    async fn a_kept_connection_closed_by_the_server_is_replaced() {
        let (address, accepted) = server(SUCCESS, true).await;
        let (_, kept) = probe_now(&address, None, LIMIT).await;
        assert!(kept.is_some(), "logged in, then closed by the server");
        let (outcome, kept) = probe_now(&address, kept, LIMIT).await;
        assert_eq!(outcome, Ok(()));
        assert!(kept.is_some());
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_reset_asked_is_read_later_without_waiting_or_waited_for() {
        let (address, accepted) = server(SUCCESS, false).await;
        let (_, kept) = probe_now(&address, None, LIMIT).await;
        let mut connection = kept.expect("logged in");
        connection.ask_reset().unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            connection.answered().unwrap().is_some(),
            "the answer was there, read without a wait"
        );
        assert!(
            connection.answered().unwrap().is_none(),
            "nothing more was asked"
        );
        let (slow, accepted_slow) =
            server_pausing(SUCCESS, false, Duration::from_millis(300)).await;
        let (_, kept) = probe_now(&slow, None, LIMIT).await;
        let (outcome, kept) = probe_now(&slow, kept, LIMIT).await;
        assert_eq!(
            outcome,
            Ok(()),
            "answered after the gathering, within the limit"
        );
        assert!(kept.is_some());
        assert_eq!(accepted_slow.load(Ordering::SeqCst), 1);
        let short = Duration::from_millis(100);
        let (outcome, _) = probe_now(&slow, kept, short).await;
        assert_eq!(
            outcome,
            Ok(()),
            "the kept connection too slow, a new one's handshake passes"
        );
        assert_eq!(accepted_slow.load(Ordering::SeqCst), 2);
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_server_that_refuses_the_login_passes_and_is_connected_again() {
        let (address, accepted) = server(FAILURE, false).await;
        for _ in 0..2 {
            let (outcome, kept) = probe_now(&address, None, LIMIT).await;
            assert_eq!(outcome, Ok(()), "the handshake was answered");
            assert!(kept.is_none());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_server_gone_fails_its_probe() {
        let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let nobody = gone.local_addr().unwrap().to_string();
        drop(gone);
        let (outcome, kept) = probe_now(&nobody, None, LIMIT).await;
        assert!(outcome.is_err(), "{outcome:?}");
        assert!(kept.is_none());
    }

    /// The verdicts after each outcome, `F` failing and `P` passing.
    fn run(outcomes: &str, fails: u32, passes: u32) -> String {
        let mut verdict = Verdict::default();
        outcomes
            .chars()
            .map(|c| {
                verdict.record(c == '+', fails, passes);
                if verdict.failing() { 'F' } else { 'P' }
            })
            .collect()
    }

    #[test]
    fn a_server_fails_after_fails_in_a_row_and_passes_after_passes_in_a_row() {
        assert_eq!(run("--", 2, 2), "PF");
        assert_eq!(
            run("-+-+-", 2, 2),
            "PPPPP",
            "a pass between failures starts again"
        );
        assert_eq!(run("--++", 2, 2), "PFFP");
        assert_eq!(
            run("--+-++", 2, 2),
            "PFFFFP",
            "a failure between passes starts again"
        );
        assert_eq!(run("---++++", 3, 4), "PPFFFFP");
        assert_eq!(run("-+", 1, 1), "FP");
    }

    #[test]
    fn a_change_is_reported_once() {
        let mut verdict = Verdict::default();
        let changes: Vec<bool> = [false, false, false, true, true, true]
            .iter()
            .map(|&passed| verdict.record(passed, 2, 2))
            .collect();
        assert_eq!(changes, [false, true, false, false, true, false]);
    }

    #[test]
    fn verdicts_are_set_aside_while_more_than_half_of_the_servers_fail() {
        let failing = Verdict {
            failing: true,
            run: 0,
        };
        let verdicts = |states: &[bool]| -> HashMap<String, Verdict> {
            states
                .iter()
                .enumerate()
                .map(|(i, &f)| {
                    (
                        format!("s{i}:1"),
                        if f { failing } else { Verdict::default() },
                    )
                })
                .collect()
        };
        assert_eq!(applied(&verdicts(&[])), (BTreeSet::new(), false));
        assert_eq!(
            applied(&verdicts(&[true, false, false])),
            (BTreeSet::from(["s0:1".to_owned()]), false)
        );
        assert_eq!(
            applied(&verdicts(&[true, false])),
            (BTreeSet::from(["s0:1".to_owned()]), false),
            "half is not more than half"
        );
        assert_eq!(
            applied(&verdicts(&[true, true, false])),
            (BTreeSet::new(), true)
        );
        assert_eq!(applied(&verdicts(&[true])), (BTreeSet::new(), true));
    }

    #[test]
    fn slots_are_within_the_round_and_shared_evenly_between_addresses() {
        let mut counts = [0; 50];
        for i in 0..5_000 {
            counts[slot(7, &format!("10.0.{}.{}:7687", i / 256, i % 256), 50)] += 1;
        }
        assert!(
            counts.iter().all(|&n| (50..=150).contains(&n)),
            "{counts:?}"
        );
        assert_eq!(slot(7, "a:1", 50), slot(7, "a:1", 50));
        assert_eq!(slot(7, "a:1", 1), 0);
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        assert_eq!(HealthChecks::default().check(), Ok(()));
        let never = HealthChecks::every(Duration::ZERO);
        assert!(never.check().is_err());
        let zero = HealthChecks::default().with_counts(0, 2);
        assert_eq!(
            zero.check(),
            Err("--health-fails and --health-passes must be at least 1".into())
        );
    }
}
