//! Active health checks of the cluster followed: every interval, each server's Bolt address gets
//! a probe (TCP, TLS when the cluster uses it, and the Bolt handshake; no login), and a server
//! whose probes fail `fails` times in a row is unavailable in tagroute's tables, whatever the
//! cluster says, until `passes` probes in a row succeed.
//!
//! Neo4j learns that a server died when its discovery does, seconds to a minute later; a probe
//! learns it at the next connection refused, so a killed server leaves the tables within about
//! `fails` intervals. Probes are spread over the first half of the interval, each address at a
//! phase of its own plus a little jitter (so a thousand servers are not dialled at once, and the
//! probes do not fall in step with anything else), at most `concurrency` at a time, each within
//! `timeout`. The verdicts of a round are published together when its last probe is back; each
//! change of verdict is logged and counted.
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

use rustc_hash::FxBuildHasher;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{MissedTickBehavior, timeout};
use tokio_rustls::TlsConnector;

use super::Shared;
use super::logging::Clipped;
use crate::follow::connection::probe;
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

/// Probes every server of the sources every interval until shutdown.
pub(super) async fn check(shared: Arc<Shared>, checks: HealthChecks, tls: Option<TlsConnector>) {
    let mut verdicts: HashMap<String, Verdict> = HashMap::new();
    let mut ignored = false;
    let permits = Arc::new(Semaphore::new(checks.concurrency));
    let mut rng = Rng::from_os();
    let seed = rng.next_u64();
    let mut shutdown = shared.shutdown.subscribe();
    let mut ticks = tokio::time::interval(checks.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let spread = checks.interval / 2;
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
        let mut probes = JoinSet::new();
        for address in targets {
            let start = phase(seed, &address, spread) + jitter(&mut rng, checks.interval / 20);
            let (permits, tls, limit) = (Arc::clone(&permits), tls.clone(), checks.timeout);
            probes.spawn(async move {
                tokio::time::sleep(start).await;
                let outcome = match permits.acquire_owned().await {
                    Ok(_permit) => match timeout(limit, probe(&address, tls.as_ref())).await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(format!("no handshake within {limit:?}")),
                    },
                    Err(_) => Err("the probes were stopped".to_owned()),
                };
                (address, outcome)
            });
        }
        let round = tokio::select! {
            round = probes.join_all() => round,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let mut changes = Vec::new();
        for (address, outcome) in round {
            shared.metrics.health_probe(outcome.is_ok());
            let verdict = verdicts.entry(address.clone()).or_default();
            if verdict.record(outcome.is_ok(), checks.fails, checks.passes) {
                changes.push((address.clone(), verdict.failing(), outcome.err()));
            }
            shared.metrics.health_verdict(&address, verdict.failing());
        }
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
        publish(&shared, failing).await;
    }
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

/// Where in the first `spread` of each interval the address is probed: fixed per address (so
/// each is probed once an interval), different between addresses.
fn phase(seed: u64, address: &str, spread: Duration) -> Duration {
    let hash = FxBuildHasher.hash_one((seed, address));
    let nanos = u64::try_from(spread.as_nanos()).unwrap_or(u64::MAX).max(1);
    Duration::from_nanos(hash % nanos)
}

fn jitter(rng: &mut Rng, most: Duration) -> Duration {
    let nanos = u64::try_from(most.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.below(nanos.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn phases_are_within_the_spread_and_differ_between_addresses() {
        let spread = Duration::from_millis(500);
        let phases: BTreeSet<Duration> = (0..50)
            .map(|i| phase(7, &format!("127.0.0.{i}:7687"), spread))
            .collect();
        assert!(phases.iter().all(|p| *p < spread));
        assert!(phases.len() > 40, "{} distinct of 50", phases.len());
        assert_eq!(phase(7, "a:1", spread), phase(7, "a:1", spread));
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
