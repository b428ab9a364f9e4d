//! The server's Prometheus metrics, served as text on the admin listener's `GET /metrics`.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `tagroute_route_requests_total` | `policy`, `database`, `outcome` | ROUTE requests answered |
//! | `tagroute_policy_answers_total` | `policy`, `rule` | which rule of a policy chose the readers (`1`, `2`, …; `all` when no rule answered and the policy returned every candidate; `none` when it halted) |
//! | `tagroute_route_latency_seconds` | | from a ROUTE message decoded to its answer encoded |
//! | `tagroute_connections_open` | | Bolt connections open now |
//! | `tagroute_connections_accepted_total` | | Bolt connections accepted |
//! | `tagroute_connections_refused_total` | `reason` | `limit`, `tls`, `handshake`, `auth` |
//! | `tagroute_reloads_total` | `source`, `outcome` | reloads by `sighup`, `file`, `http`; `ok` or `error` |
//! | `tagroute_topology_updates_total` | `outcome` | `POST /topology/updates` batches |
//! | `tagroute_topology_epoch` | | the epoch of the snapshot being served |
//!
//! Label values come from the server, never straight from a client: a policy or database the
//! server does not know is counted as `(unknown)`, so a client cannot grow the label sets.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The label value for a name the server does not know.
pub const UNKNOWN: &str = "(unknown)";

/// Labels of a routing request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The policy asked for (`default` when none), or [`UNKNOWN`].
    pub policy: String,
    /// The database asked for, or [`UNKNOWN`].
    pub database: String,
    /// `ok`, `unknown_policy`, `unknown_database`, `no_reader`, `no_router` or `error`.
    pub outcome: &'static str,
}

/// Labels of a policy's answering rule.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    /// The policy.
    pub policy: String,
    /// The rule's number from 1, `all` or `none`.
    pub rule: String,
}

/// A refusal's reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why the connection was refused or dropped before it was served.
    pub reason: &'static str,
}

/// A reload's source and outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `sighup`, `file` or `http`.
    pub source: &'static str,
    /// `ok` or `error`.
    pub outcome: &'static str,
}

/// An outcome alone.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `ok` or `error`.
    pub outcome: &'static str,
}

/// Every metric of the server, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// ROUTE requests.
    pub routes: Family<RouteLabels, Counter>,
    /// Answering rules.
    pub rules: Family<RuleLabels, Counter>,
    /// ROUTE answer latency.
    pub latency: Histogram,
    /// Connections open now.
    pub open: Gauge,
    /// Connections accepted.
    pub accepted: Counter,
    /// Connections refused.
    pub refused: Family<ReasonLabels, Counter>,
    /// Reloads.
    pub reloads: Family<ReloadLabels, Counter>,
    /// Topology update batches.
    pub updates: Family<OutcomeLabels, Counter>,
    /// The served snapshot's epoch.
    pub epoch: Gauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tagroute");
        let metrics = Metrics {
            routes: Family::default(),
            rules: Family::default(),
            // 2 µs to about 65 ms.
            latency: Histogram::new(exponential_buckets(2e-6, 2.0, 16)),
            open: Gauge::default(),
            accepted: Counter::default(),
            refused: Family::default(),
            reloads: Family::default(),
            updates: Family::default(),
            epoch: Gauge::default(),
            registry: Registry::default(),
        };
        let m = &metrics;
        registry.register(
            "route_requests",
            "ROUTE requests by policy, database and outcome",
            m.routes.clone(),
        );
        registry.register(
            "policy_answers",
            "Which rule of each policy chose the readers",
            m.rules.clone(),
        );
        registry.register(
            "route_latency_seconds",
            "Time from a ROUTE request decoded to its answer encoded",
            m.latency.clone(),
        );
        registry.register("connections_open", "Bolt connections open", m.open.clone());
        registry.register(
            "connections_accepted",
            "Bolt connections accepted",
            m.accepted.clone(),
        );
        registry.register(
            "connections_refused",
            "Bolt connections refused or dropped before being served, by reason",
            m.refused.clone(),
        );
        registry.register(
            "reloads",
            "Reloads of the configuration and topology, by source and outcome",
            m.reloads.clone(),
        );
        registry.register(
            "topology_updates",
            "Batches of topology updates posted to the admin listener, by outcome",
            m.updates.clone(),
        );
        registry.register(
            "topology_epoch",
            "The epoch of the topology snapshot being served",
            m.epoch.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Counts a refused connection.
    pub fn refuse(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts a reload.
    pub fn reload(&self, source: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.reloads
            .get_or_create(&ReloadLabels { source, outcome })
            .inc();
    }

    /// Records the epoch being served.
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.set(i64::try_from(epoch).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a `String` cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_exposition_names_every_metric_with_its_labels() {
        let metrics = Metrics::new();
        metrics
            .routes
            .get_or_create(&RouteLabels {
                policy: "europe".into(),
                database: "neo4j".into(),
                outcome: "ok",
            })
            .inc();
        metrics.refuse("limit");
        metrics.reload("sighup", false);
        metrics.set_epoch(7);
        let text = metrics.render();
        for line in [
            "tagroute_route_requests_total{policy=\"europe\",database=\"neo4j\",outcome=\"ok\"} 1",
            "tagroute_connections_refused_total{reason=\"limit\"} 1",
            "tagroute_reloads_total{source=\"sighup\",outcome=\"error\"} 1",
            "tagroute_topology_epoch 7",
            "tagroute_connections_open 0",
            "# TYPE tagroute_route_latency_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
