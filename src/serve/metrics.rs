//! The server's Prometheus metrics, served on the admin listener's `GET /metrics` as
//! OpenMetrics text when the request's `Accept` header asks for it
//! (`application/openmetrics-text`, as Prometheus does), and in the classic Prometheus text
//! format (0.0.4) otherwise.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `tagroute_route_requests_total` | `policy`, `database`, `outcome` | ROUTE requests answered |
//! | `tagroute_policy_answers_total` | `policy`, `rule` | which rule of a policy chose the readers (`1`, `2`, …; `all` when no rule answered and the policy returned every candidate; `none` when it halted) |
//! | `tagroute_route_latency_seconds` | | from a ROUTE message decoded to its answer encoded |
//! | `tagroute_connections_open` | | Bolt connections open now |
//! | `tagroute_connections_accepted_total` | | Bolt connections accepted |
//! | `tagroute_connections_refused_total` | `reason` | Bolt connections refused or dropped for what the client did: `limit` (`--max-connections`), `peer_limit` (`--max-connections-per-peer`), `tls`, `handshake` (the handshakes and login not done within `--handshake-timeout`, or no common version), `message_timeout` (a message not whole within `--message-timeout`), `auth` (wrong credentials), `auth_backoff` (the peer's recent failures), `auth_busy` (the password checks' queue full) |
//! | `tagroute_admin_connections_refused_total` | `reason` | admin connections refused or closed: `limit` (`--admin-max-connections`), `header_timeout` (headers not whole in time, or a connection idle that long), `body_timeout` |
//! | `tagroute_tls_certificate_expiry_seconds` | | with TLS: seconds until the first certificate of the chain to expire does (negative once expired) |
//! | `tagroute_reloads_total` | `source`, `outcome` | reloads by `sighup`, `file`, `http`; `ok` or `error` |
//! | `tagroute_topology_updates_total` | `outcome` | `POST /topology/updates` batches |
//! | `tagroute_topology_epoch` | | the epoch of the snapshot being served |
//! | `tagroute_follow_polls_total` | `outcome` | with `--follow`: polls of the cluster, `ok`, `unreachable` (no server answered) or `invalid` (the records do not make a valid topology) |
//! | `tagroute_follow_last_success_timestamp_seconds` | | with `--follow`: when the last good poll ended (Unix seconds) |
//! | `tagroute_follow_changes_total` | `kind` | with `--follow`: updates published because the cluster changed, by kind (`set_leader`, `set_available`, …) |
//! | `tagroute_health_servers` | `state` | with health checks: servers `passing` and `failing` them |
//! | `tagroute_health_ignored` | | with health checks: 1 while more than half of the servers fail, so that the verdicts are set aside |
//! | `tagroute_health_server_passing` | `address` | with health checks: 1 while the server at the address passes, 0 while it fails |
//! | `tagroute_health_probes_total` | `outcome` | with health checks: probes, `pass` or `fail` |
//! | `tagroute_health_transitions_total` | `to` | with health checks: servers that began `failing` or `passing` |
//!
//! Label values come from the server, never straight from a client: a policy or database the
//! server does not know is counted as `(unknown)`, so a client cannot grow the label sets.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::certificate::unix_now;

/// The content type of the OpenMetrics text format.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the classic Prometheus text format.
pub const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    /// `ok` or `error`; for polls, `ok`, `unreachable` or `invalid`; for probes, `pass` or
    /// `fail`.
    pub outcome: &'static str,
}

/// The kind of an update.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// As `op` names it.
    pub kind: &'static str,
}

/// A health verdict.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// `passing` or `failing`.
    pub state: &'static str,
}

/// A change of health verdict.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToLabels {
    /// `passing` or `failing`.
    pub to: &'static str,
}

/// A server's Bolt address.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AddressLabels {
    /// `host:port`, from the cluster.
    pub address: String,
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
    /// Admin connections refused or closed for what the client did.
    pub admin_refused: Family<ReasonLabels, Counter>,
    /// Seconds to the TLS certificate's expiry, updated when rendered.
    tls_expiry: Gauge,
    /// When the TLS certificate expires (Unix seconds), if there is one.
    tls_not_after: Option<i64>,
    /// Reloads.
    pub reloads: Family<ReloadLabels, Counter>,
    /// Topology update batches.
    pub updates: Family<OutcomeLabels, Counter>,
    /// The served snapshot's epoch.
    pub epoch: Gauge,
    /// Polls of the cluster followed.
    pub follow_polls: Family<OutcomeLabels, Counter>,
    /// When the last good poll ended.
    pub follow_last_success: Gauge,
    /// Updates published because the cluster changed.
    pub follow_changes: Family<KindLabels, Counter>,
    /// Servers per health verdict.
    pub health_servers: Family<StateLabels, Gauge>,
    /// Whether the verdicts are set aside (most servers failing).
    pub health_ignored: Gauge,
    /// Each server's verdict.
    pub health_passing: Family<AddressLabels, Gauge>,
    /// Health probes.
    pub health_probes: Family<OutcomeLabels, Counter>,
    /// Changes of verdict.
    pub health_transitions: Family<ToLabels, Counter>,
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
            admin_refused: Family::default(),
            tls_expiry: Gauge::default(),
            tls_not_after: None,
            reloads: Family::default(),
            updates: Family::default(),
            epoch: Gauge::default(),
            follow_polls: Family::default(),
            follow_last_success: Gauge::default(),
            follow_changes: Family::default(),
            health_servers: Family::default(),
            health_ignored: Gauge::default(),
            health_passing: Family::default(),
            health_probes: Family::default(),
            health_transitions: Family::default(),
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
            "Bolt connections refused or dropped for what the client did, by reason",
            m.refused.clone(),
        );
        registry.register(
            "admin_connections_refused",
            "Admin connections refused or closed for what the client did, by reason",
            m.admin_refused.clone(),
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

    /// Tracks the expiry of the TLS certificate: `not_after` in Unix seconds.
    pub fn track_certificate(&mut self, not_after: i64) {
        self.tls_not_after = Some(not_after);
        self.registry.register(
            "tls_certificate_expiry_seconds",
            "Seconds until the TLS certificate expires (negative once expired)",
            self.tls_expiry.clone(),
        );
    }

    /// Registers the metrics of following a cluster.
    pub fn track_following(&mut self) {
        self.registry.register(
            "follow_polls",
            "Polls of the cluster followed, by outcome",
            self.follow_polls.clone(),
        );
        self.registry.register(
            "follow_last_success_timestamp_seconds",
            "When the last good poll of the cluster ended, in Unix seconds",
            self.follow_last_success.clone(),
        );
        self.registry.register(
            "follow_changes",
            "Updates published because the cluster changed, by kind",
            self.follow_changes.clone(),
        );
    }

    /// Registers the metrics of the health checks.
    pub fn track_health(&mut self) {
        self.registry.register(
            "health_servers",
            "Servers passing and failing their health checks",
            self.health_servers.clone(),
        );
        self.registry.register(
            "health_ignored",
            "1 while more than half of the servers fail their health checks, so that the verdicts are set aside",
            self.health_ignored.clone(),
        );
        self.registry.register(
            "health_server_passing",
            "1 while the server at the address passes its health checks, 0 while it fails",
            self.health_passing.clone(),
        );
        self.registry.register(
            "health_probes",
            "Health probes (RESET on the connection kept, else a new connection's handshake), by outcome",
            self.health_probes.clone(),
        );
        self.registry.register(
            "health_transitions",
            "Servers that began failing or passing their health checks",
            self.health_transitions.clone(),
        );
    }

    /// Counts a poll of the cluster.
    pub fn follow_poll(&self, outcome: &'static str) {
        self.follow_polls
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts an update published because the cluster changed.
    pub fn follow_change(&self, update: &crate::topology::Update) {
        let kind = super::updates::op(update);
        self.follow_changes
            .get_or_create(&KindLabels { kind })
            .inc();
    }

    /// Counts a round's probes: how many passed and how many failed.
    pub fn health_probes(&self, passed: usize, failed: usize) {
        for (outcome, count) in [("pass", passed), ("fail", failed)] {
            self.health_probes
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
        }
    }

    /// Records the verdict on the server at `address`.
    pub fn health_verdict(&self, address: &str, failing: bool) {
        let labels = AddressLabels {
            address: address.to_owned(),
        };
        self.health_passing
            .get_or_create(&labels)
            .set(i64::from(!failing));
    }

    /// Forgets the server at `address` (it left the cluster).
    pub fn health_forget(&self, address: &str) {
        self.health_passing.remove(&AddressLabels {
            address: address.to_owned(),
        });
    }

    /// Counts a change of verdict.
    pub fn health_transition(&self, failing: bool) {
        let to = if failing { "failing" } else { "passing" };
        self.health_transitions
            .get_or_create(&ToLabels { to })
            .inc();
    }

    /// Records how many servers pass and fail, and whether the verdicts are set aside.
    pub fn health_servers(&self, passing: usize, failing: usize, ignored: bool) {
        for (state, count) in [("passing", passing), ("failing", failing)] {
            self.health_servers
                .get_or_create(&StateLabels { state })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        self.health_ignored.set(i64::from(ignored));
    }

    /// Counts a refused or closed admin connection.
    pub fn refuse_admin(&self, reason: &'static str) {
        self.admin_refused
            .get_or_create(&ReasonLabels { reason })
            .inc();
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

    /// Every metric in the OpenMetrics text format.
    pub fn render(&self) -> String {
        if let Some(not_after) = self.tls_not_after {
            self.tls_expiry.set(not_after.saturating_sub(unix_now()));
        }
        let mut out = String::new();
        // Writing into a `String` cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Every metric in the format `accept` (a request's `Accept` header) asks for, and its
    /// content type: OpenMetrics if it names `application/openmetrics-text` at least as high as
    /// `text/plain`, the classic text format otherwise.
    pub fn render_for(&self, accept: Option<&str>) -> (String, &'static str) {
        let openmetrics = self.render();
        if accept.is_some_and(asks_for_openmetrics) {
            (openmetrics, OPENMETRICS)
        } else {
            (classic(&openmetrics), CLASSIC)
        }
    }
}

/// Whether an `Accept` header prefers OpenMetrics to the classic text format: the highest
/// quality it gives `application/openmetrics-text` is above zero and at least that of
/// `text/plain` (or `text/*`). `*/*` alone asks for neither, so gets the classic format.
fn asks_for_openmetrics(accept: &str) -> bool {
    let (mut openmetrics, mut text) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, q)| q.trim().parse::<f32>().unwrap_or(0.0));
        match media.as_str() {
            "application/openmetrics-text" => openmetrics = openmetrics.max(quality),
            "text/plain" | "text/*" => text = text.max(quality),
            _ => {}
        }
    }
    openmetrics > 0.0 && openmetrics >= text
}

/// The classic Prometheus text format (0.0.4) of an OpenMetrics exposition: a counter's family
/// takes its samples' `_total` name (the classic parsers key samples by family name), and
/// `# UNIT` and `# EOF` go.
fn classic(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut help: Option<&str> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if line.starts_with("# HELP ") {
            if let Some(held) = help.replace(line) {
                out.push_str(held);
                out.push('\n');
            }
            continue;
        }
        let counter = line
            .strip_prefix("# TYPE ")
            .and_then(|rest| rest.strip_suffix(" counter"));
        let held = help.take();
        match counter {
            Some(name) if !name.ends_with("_total") => {
                if let Some(text) = held.and_then(|h| h.strip_prefix(&format!("# HELP {name} "))) {
                    out.push_str(&format!("# HELP {name}_total {text}\n"));
                }
                out.push_str(&format!("# TYPE {name}_total counter\n"));
            }
            _ => {
                if let Some(held) = held {
                    out.push_str(held);
                    out.push('\n');
                }
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if let Some(held) = help {
        out.push_str(held);
        out.push('\n');
    }
    out
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

    #[test]
    fn the_format_follows_the_accept_header() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                          version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        for (accept, openmetrics) in [
            (None, false),
            (Some(prometheus), true),
            (Some("application/openmetrics-text"), true),
            (Some("*/*"), false),
            (Some("text/plain;version=0.0.4"), false),
            (
                Some("text/plain;q=1, application/openmetrics-text;q=0.5"),
                false,
            ),
            (Some("application/openmetrics-text;q=0"), false),
            (
                Some("Application/OpenMetrics-Text; q=0.9, text/*;q=0.9"),
                true,
            ),
        ] {
            let (_, content_type) = Metrics::new().render_for(accept);
            let want = if openmetrics { OPENMETRICS } else { CLASSIC };
            assert_eq!(content_type, want, "{accept:?}");
        }
    }

    #[test]
    fn the_classic_format_names_counter_families_by_their_samples() {
        let metrics = Metrics::new();
        metrics.refuse("limit");
        metrics.set_epoch(3);
        let (text, _) = metrics.render_for(None);
        for line in [
            "# HELP tagroute_connections_refused_total Bolt connections refused or dropped for what the client did, by reason.",
            "# TYPE tagroute_connections_refused_total counter",
            "tagroute_connections_refused_total{reason=\"limit\"} 1",
            "# TYPE tagroute_topology_epoch gauge",
            "tagroute_topology_epoch 3",
            "# TYPE tagroute_route_latency_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(!text.contains("# EOF"), "{text}");
        assert!(
            !text.lines().any(|l| l.starts_with("# TYPE")
                && l.ends_with("counter")
                && !l.contains("_total ")),
            "{text}"
        );
    }

    #[test]
    fn the_certificate_expiry_counts_down_from_now() {
        let mut metrics = Metrics::new();
        assert!(!metrics.render().contains("tls_certificate"));
        metrics.track_certificate(unix_now() + 86_400);
        let text = metrics.render();
        let seconds: i64 = text
            .lines()
            .find_map(|l| l.strip_prefix("tagroute_tls_certificate_expiry_seconds "))
            .and_then(|v| v.parse().ok())
            .expect("the gauge");
        assert!((86_300..=86_400).contains(&seconds), "{seconds}");
    }
}
