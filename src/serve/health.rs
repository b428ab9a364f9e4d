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
//! `timeout`. Each change of verdict is logged, counted, and published at once.
//!
//! A server starts passing: until its probes say otherwise, the cluster's word stands.

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
        forget_gone(&shared, &mut verdicts, &targets);
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
        loop {
            let done = tokio::select! {
                done = probes.join_next() => done,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let Some(Ok((address, outcome))) = done else {
                if done.is_none() {
                    break;
                }
                continue;
            };
            shared.metrics.health_probe(outcome.is_ok());
            let verdict = verdicts.entry(address.clone()).or_default();
            let changed = verdict.record(outcome.is_ok(), checks.fails, checks.passes);
            shared.metrics.health_verdict(&address, verdict.failing());
            if changed {
                transition(&shared, &checks, address, verdict.failing(), outcome.err()).await;
            }
        }
        let failing = verdicts.values().filter(|v| v.failing()).count();
        shared
            .metrics
            .health_servers(verdicts.len() - failing, failing);
    }
}

/// Forgets the verdicts on servers that left, in the sources and the metrics too.
fn forget_gone(
    shared: &Shared,
    verdicts: &mut HashMap<String, Verdict>,
    targets: &BTreeSet<String>,
) {
    let before = verdicts.len();
    verdicts.retain(|address, _| {
        let kept = targets.contains(address);
        if !kept {
            shared.metrics.health_forget(address);
        }
        kept
    });
    if verdicts.len() != before {
        shared.sources().keep_verdicts_of(targets);
    }
}

/// Logs, counts and publishes a change of verdict.
async fn transition(
    shared: &Arc<Shared>,
    checks: &HealthChecks,
    address: String,
    failing: bool,
    error: Option<String>,
) {
    let publishing = Arc::clone(shared);
    let at = address.clone();
    let (name, published) = tokio::task::spawn_blocking(move || {
        let topology = publishing.routes.topology();
        let mut sources = publishing.sources();
        let name = sources
            .base()
            .servers
            .iter()
            .find(|s| s.address == at)
            .map(|s| s.name.clone());
        (name, sources.set_failing(&at, failing, topology))
    })
    .await
    .unwrap_or((None, None));
    shared.metrics.health_transition(failing);
    let server = name.unwrap_or_default();
    let epoch = published.as_ref().map(|p| p.snapshot.epoch());
    if let Some(epoch) = epoch {
        shared.metrics.set_epoch(epoch);
    }
    if failing {
        tracing::warn!(
            %server, %address, failed_probes = checks.fails, epoch,
            error = error.as_deref().map(Clipped).map(tracing::field::display),
            "server failing its health checks; unavailable in the tables"
        );
    } else {
        tracing::info!(
            %server, %address, passed_probes = checks.passes, epoch,
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
