//! The routing-table settings: the load-balancing plugin, shuffling, who serves reads, the TTL.

use std::time::Duration;

use super::duration::{DurationError, parse_duration};
use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::keys::{self, Setting};
use super::properties::Properties;
use super::values::{boolean, quoted};

/// How routing tables are built (docs/routing.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingSettings {
    /// `dbms.routing.load_balancing.shuffle_enabled`: shuffle each role's servers per request.
    pub shuffle: bool,
    /// `dbms.routing.reads_on_primaries_enabled`: non-writer primaries serve reads.
    pub reads_on_primaries: bool,
    /// `dbms.routing.reads_on_writers_enabled`: the writer serves reads.
    pub reads_on_writers: bool,
    /// `dbms.routing_ttl`: how long a client may keep a table; at least one second.
    pub ttl: Duration,
}

impl Default for RoutingSettings {
    /// Neo4j's defaults: shuffle, reads on primaries but not on the writer, five minutes.
    fn default() -> Self {
        RoutingSettings {
            shuffle: true,
            reads_on_primaries: true,
            reads_on_writers: false,
            ttl: DEFAULT_TTL,
        }
    }
}

const DEFAULT_TTL: Duration = Duration::from_secs(300);
const MIN_TTL: Duration = Duration::from_secs(1);

/// Reads the routing settings; an invalid value is an error and leaves the default in place.
pub(super) fn read(properties: &Properties, diagnostics: &mut Diagnostics) -> RoutingSettings {
    check_plugin(properties, diagnostics);
    let defaults = RoutingSettings::default();
    let mut flag =
        |setting: Setting, default: bool| boolean(setting, default, properties, diagnostics);
    RoutingSettings {
        shuffle: flag(keys::SHUFFLE, defaults.shuffle),
        reads_on_primaries: flag(keys::READS_ON_PRIMARIES, defaults.reads_on_primaries),
        reads_on_writers: flag(keys::READS_ON_WRITERS, defaults.reads_on_writers),
        ttl: ttl(properties, diagnostics).unwrap_or(defaults.ttl),
    }
}

/// tagroute is the `server_policies` plugin and nothing else.
fn check_plugin(properties: &Properties, diagnostics: &mut Diagnostics) {
    let Some(property) = keys::PLUGIN.lookup(properties, diagnostics) else {
        return;
    };
    let value = property.value.trim();
    if value.text != "server_policies" {
        diagnostics.push(
            ConfigDiagnostic::error(
                Kind::UnsupportedPlugin,
                value.span(),
                format!("unsupported load-balancing plugin {}", quoted(&value.text)),
            )
            .with_help("tagroute implements the `server_policies` plugin only"),
        );
    }
}

fn ttl(properties: &Properties, diagnostics: &mut Diagnostics) -> Option<Duration> {
    let property = keys::TTL.lookup(properties, diagnostics)?;
    let value = property.value.trim();
    let error = match parse_duration(&value.text) {
        Ok(ttl) if ttl >= MIN_TTL => return Some(ttl),
        Ok(_) => ConfigDiagnostic::error(
            Kind::TtlTooShort,
            value.span(),
            format!("the routing TTL `{}` is shorter than one second", value.text),
        ),
        Err(error) => ConfigDiagnostic::error(
            Kind::InvalidDuration,
            value.span(),
            format!("expected a duration, found {}: {error}", quoted(&value.text)),
        )
        .stopping_neo4j(!matches!(error, DurationError::NonAsciiDigit(_)))
        .with_help("write whole numbers with units `ns`, `us`, `ms`, `s`, `m`, `h` or `d` (any case), as in `300s`, `5m` or `1m30s`; a bare number is seconds"),
    };
    diagnostics.push(error);
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::properties::read as read_properties;
    use crate::config::testing::{every_diagnostic, position, under};

    fn routing(source: &str) -> (RoutingSettings, Vec<ConfigDiagnostic>) {
        let mut diagnostics = Diagnostics::default();
        let properties = read_properties(source, &mut diagnostics);
        let settings = read(&properties, &mut diagnostics);
        let diagnostics = every_diagnostic(diagnostics, source);
        (settings, diagnostics)
    }

    fn ttl_of(value: &str) -> Result<Duration, Kind> {
        let (settings, diagnostics) = routing(&format!("dbms.routing_ttl={value}"));
        match diagnostics.first() {
            Some(d) => Err(d.kind),
            None => Ok(settings.ttl),
        }
    }

    #[test]
    fn defaults_are_neo4j_defaults() {
        let (settings, diagnostics) = routing("");
        assert_eq!(
            settings,
            RoutingSettings {
                shuffle: true,
                reads_on_primaries: true,
                reads_on_writers: false,
                ttl: Duration::from_secs(300)
            }
        );
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn every_setting_is_read() {
        let (settings, diagnostics) = routing(
            "dbms.routing.load_balancing.shuffle_enabled=false\n\
             dbms.routing.reads_on_primaries_enabled=False\n\
             dbms.routing.reads_on_writers_enabled=TRUE\n\
             dbms.routing_ttl=1h\n\
             dbms.routing.load_balancing.plugin=server_policies\n",
        );
        assert_eq!(
            settings,
            RoutingSettings {
                shuffle: false,
                reads_on_primaries: false,
                reads_on_writers: true,
                ttl: Duration::from_secs(3600)
            }
        );
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn ttl_forms_and_the_one_second_minimum() {
        let secs = Duration::from_secs;
        assert_eq!(ttl_of("300"), Ok(secs(300)));
        assert_eq!(ttl_of("300s "), Ok(secs(300)));
        assert_eq!(ttl_of("5m"), Ok(secs(300)));
        assert_eq!(ttl_of("1h"), Ok(secs(3600)));
        assert_eq!(ttl_of("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(ttl_of("1000ms"), Ok(secs(1)));
        assert_eq!(ttl_of("1"), Ok(secs(1)));
        assert_eq!(ttl_of("999ms"), Err(Kind::TtlTooShort));
        assert_eq!(ttl_of("0"), Err(Kind::TtlTooShort));
        assert_eq!(ttl_of("5 minutes"), Err(Kind::InvalidDuration));
        assert_eq!(ttl_of("1m30s"), Ok(secs(90)));
        assert_eq!(ttl_of("5M"), Ok(secs(300)));
        assert_eq!(ttl_of("1500MS"), Ok(Duration::from_millis(1500)));
        assert_eq!(ttl_of("2000000us"), Ok(secs(2)));
        assert_eq!(ttl_of("1h1s"), Ok(secs(3601)));
        assert_eq!(ttl_of(""), Err(Kind::InvalidDuration));
    }

    #[test]
    fn a_bad_ttl_is_reported_at_its_value() {
        let source = "dbms.routing_ttl = 500ms";
        let (settings, diagnostics) = routing(source);
        assert_eq!(settings.ttl, Duration::from_secs(300));
        assert_eq!(
            diagnostics[0].message,
            "the routing TTL `500ms` is shorter than one second"
        );
        assert_eq!(under(source, diagnostics[0].span), "500ms");
        assert_eq!(position(source, diagnostics[0].span), "1:20");
    }

    #[test]
    fn the_plugin_must_be_server_policies() {
        let source = "dbms.routing.load_balancing.plugin=round_robin";
        let (_, diagnostics) = routing(source);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].kind, Kind::UnsupportedPlugin);
        assert_eq!(
            diagnostics[0].message,
            "unsupported load-balancing plugin `round_robin`"
        );
        assert_eq!(under(source, diagnostics[0].span), "round_robin");
    }

    #[test]
    fn neo4j_4x_keys_are_not_read() {
        let (settings, diagnostics) = routing(
            "causal_clustering.cluster_allow_reads_on_followers=false\n\
             causal_clustering.cluster_allow_reads_on_leader=true\n\
             causal_clustering.load_balancing.shuffle=false\n\
             causal_clustering.cluster_routing_ttl=10s\n",
        );
        assert_eq!(settings, RoutingSettings::default());
        assert!(
            diagnostics.is_empty(),
            "the key validation reports them: {diagnostics:?}"
        );
    }
}
