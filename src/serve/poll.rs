//! Following the cluster (`--follow`): one poll every interval; when the cluster changed, its
//! topology handed to the [`sources`](super::sources) as the new base, which publish only the
//! difference; and how following goes, for `/healthz` and the metrics.
//!
//! When no server of the cluster answers, or the answer does not import, the last topology
//! keeps serving: nothing is published, `/healthz` says `degraded` with the age of the last good
//! poll, and `tagroute_follow_polls_total{outcome}` counts the failures. The first failure of a
//! run is logged at `warn` with why, the run's end at `info` with how many polls failed; those
//! between are logged at most once a minute.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::time::MissedTickBehavior;

use super::Shared;
use super::logging::{Clipped, Throttle};
use super::metrics::Metrics;
use crate::follow::{Follower, PollError};

/// How following goes.
#[derive(Debug)]
pub(super) struct Status {
    interval: Duration,
    timeout: Duration,
    inner: Mutex<Inner>,
    /// The log of failures in a run, after the first.
    failures: Throttle,
}

#[derive(Debug)]
struct Inner {
    last_success: Instant,
    /// Polls failed since the last good one.
    failed: u64,
    last_error: Option<String>,
}

impl Status {
    /// Following every `interval`, each server given `timeout`.
    pub(super) fn new(interval: Duration, timeout: Duration) -> Status {
        Status {
            interval,
            timeout,
            inner: Mutex::new(Inner {
                last_success: Instant::now(),
                failed: 0,
                last_error: None,
            }),
            failures: Throttle::new(Duration::from_secs(60)),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A good poll, now; returns how many polls had failed before it.
    pub(super) fn succeeded(&self, metrics: &Metrics) -> u64 {
        let mut inner = self.inner();
        inner.last_success = Instant::now();
        inner.last_error = None;
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        metrics
            .follow_last_success
            .set(i64::try_from(seconds).unwrap_or(i64::MAX));
        std::mem::take(&mut inner.failed)
    }

    /// A failed poll; returns how many have failed in a row.
    fn failed(&self, error: String) -> u64 {
        let mut inner = self.inner();
        inner.failed += 1;
        inner.last_error = Some(error);
        inner.failed
    }

    /// `None` while following is healthy; else the line `/healthz` answers: the last poll
    /// failed, or none has succeeded for three intervals and the timeout (polls hang).
    pub(super) fn degraded(&self) -> Option<String> {
        let inner = self.inner();
        let age = inner.last_success.elapsed();
        let late = age > self.interval * 3 + self.timeout;
        if inner.failed == 0 && !late {
            return None;
        }
        let why = match &inner.last_error {
            Some(error) => format!(
                "; {} polls failed, the last: {}",
                inner.failed,
                Clipped(error)
            ),
            None => "; a poll is under way".to_owned(),
        };
        Some(format!(
            "degraded: the last good poll of the cluster was {:.1}s ago{why}",
            age.as_secs_f64()
        ))
    }
}

/// Polls the cluster every `interval` until shutdown (the first poll was made at start).
pub(super) async fn follow(shared: Arc<Shared>, mut follower: Follower, interval: Duration) {
    let Some(status) = shared.following.as_ref() else {
        return;
    };
    let mut shutdown = shared.shutdown.subscribe();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
        let polled = tokio::select! {
            polled = follower.poll_change() => polled,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        match polled {
            Ok(Some(polled)) => {
                if !take(&shared, status, polled.imported.spec).await {
                    // Asked again next time, and refused again while it is not valid.
                    follower.forget();
                }
            }
            Ok(None) => succeeded(&shared, status),
            Err(error) => {
                let outcome = match error {
                    PollError::Unreachable(_) => "unreachable",
                    _ => "invalid",
                };
                failed(&shared, status, outcome, error.to_string());
            }
        }
    }
    follower.close().await;
}

/// Hands a good poll's topology to the sources, off the I/O threads (composing a large
/// cluster takes milliseconds), and counts what was published; `false` when the sources
/// refused it.
async fn take(shared: &Arc<Shared>, status: &Status, base: crate::topology::TopologySpec) -> bool {
    let composing = Arc::clone(shared);
    let published = tokio::task::spawn_blocking(move || {
        let topology = composing.routes.topology();
        composing.sources().set_base(base, topology)
    })
    .await;
    let published = match published {
        Ok(Ok(published)) => published,
        Ok(Err(error)) => {
            let message = format!("the cluster's topology is not valid: {error}");
            failed(shared, status, "invalid", message);
            return false;
        }
        Err(error) => {
            failed(shared, status, "invalid", error.to_string());
            return false;
        }
    };
    succeeded(shared, status);
    if let Some(published) = published {
        for update in &published.updates {
            shared.metrics.follow_change(update);
        }
        shared.metrics.set_epoch(published.snapshot.epoch());
        tracing::info!(
            epoch = published.snapshot.epoch(),
            updates = published.updates.len(),
            "the cluster changed; published the difference"
        );
    }
    true
}

/// A good poll, whether or not the cluster changed.
fn succeeded(shared: &Shared, status: &Status) {
    shared.metrics.follow_poll("ok");
    let failed_before = status.succeeded(&shared.metrics);
    if failed_before > 0 {
        tracing::info!(failed_polls = failed_before, "following the cluster again");
    }
}

fn failed(shared: &Shared, status: &Status, outcome: &'static str, error: String) {
    shared.metrics.follow_poll(outcome);
    let clipped = Clipped(&error).to_string();
    let in_a_row = status.failed(error);
    if in_a_row == 1 {
        tracing::warn!(
            outcome, error = %clipped,
            "the cluster cannot be read; the last topology keeps serving"
        );
    } else if let Some(left_out) = status.failures.ready() {
        tracing::warn!(
            outcome, error = %clipped, failed_polls = in_a_row, not_logged = left_out,
            "the cluster still cannot be read"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn following_is_degraded_after_a_failed_poll_until_a_good_one() {
        let metrics = Metrics::new();
        let status = Status::new(Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(status.degraded(), None);
        assert_eq!(status.failed("no server of the cluster answered".into()), 1);
        assert_eq!(status.failed("no server of the cluster answered".into()), 2);
        let line = status.degraded().expect("degraded");
        assert!(
            line.starts_with("degraded: the last good poll of the cluster was 0."),
            "{line}"
        );
        assert!(
            line.ends_with("s ago; 2 polls failed, the last: no server of the cluster answered"),
            "{line}"
        );
        assert_eq!(status.succeeded(&metrics), 2);
        assert_eq!(status.degraded(), None);
    }

    #[test]
    fn a_poll_that_hangs_past_three_intervals_and_the_timeout_is_degraded_too() {
        let status = Status::new(Duration::from_millis(1), Duration::from_millis(1));
        status.inner().last_success = Instant::now() - Duration::from_millis(50);
        let line = status.degraded().expect("late");
        assert!(line.ends_with("ago; a poll is under way"), "{line}");
    }
}
