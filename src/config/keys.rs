//! The keys tagroute reads (DESIGN section 3), with the names they had before.
//!
//! A setting is read from its current key; when that is absent, from the first of its
//! deprecated keys that is present (Neo4j 4.x `causal_clustering.*` names, and the 5.x
//! `connect_randomly_to_server_group`), with a warning naming the current key. A deprecated key
//! that loses to a newer one is ignored, with a warning too.

use std::collections::BTreeSet;

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::properties::{Properties, Property};

/// A setting: its key, and the keys it had before, newest first. A key ending in `.` is a
/// prefix, completed by a name (a policy, a database).
#[derive(Clone, Copy, Debug)]
pub(super) struct Setting {
    pub key: &'static str,
    pub deprecated: &'static [&'static str],
}

pub(super) const PLUGIN: Setting = Setting {
    key: "dbms.routing.load_balancing.plugin",
    deprecated: &["causal_clustering.load_balancing.plugin"],
};
pub(super) const POLICY: Setting = Setting {
    key: "dbms.routing.load_balancing.config.server_policies.",
    deprecated: &["causal_clustering.load_balancing.config.server_policies."],
};
pub(super) const SHUFFLE: Setting = Setting {
    key: "dbms.routing.load_balancing.shuffle_enabled",
    deprecated: &["causal_clustering.load_balancing.shuffle"],
};
pub(super) const READS_ON_PRIMARIES: Setting = Setting {
    key: "dbms.routing.reads_on_primaries_enabled",
    deprecated: &["causal_clustering.cluster_allow_reads_on_followers"],
};
pub(super) const READS_ON_WRITERS: Setting = Setting {
    key: "dbms.routing.reads_on_writers_enabled",
    deprecated: &["causal_clustering.cluster_allow_reads_on_leader"],
};
pub(super) const TTL: Setting = Setting {
    key: "dbms.routing_ttl",
    deprecated: &["causal_clustering.cluster_routing_ttl"],
};
pub(super) const UPSTREAM_STRATEGY: Setting = Setting {
    key: "server.cluster.catchup.upstream_strategy",
    deprecated: &["causal_clustering.upstream_selection_strategy"],
};
pub(super) const USER_DEFINED: Setting = Setting {
    key: "server.cluster.catchup.user_defined_upstream_strategy",
    deprecated: &["causal_clustering.user_defined_upstream_strategy"],
};
pub(super) const CONNECT_TAGS: Setting = Setting {
    key: "server.cluster.catchup.connect_randomly_to_server_tags",
    deprecated: &[
        "server.cluster.catchup.connect_randomly_to_server_group",
        "causal_clustering.connect-randomly-to-server-group",
    ],
};
pub(super) const INITIAL_TAGS: Setting = Setting {
    key: "initial.server.tags",
    deprecated: &["causal_clustering.server_groups"],
};
pub(super) const PRIORITY_TAG: Setting = Setting {
    key: "db.cluster.raft.leader_transfer.priority_tag",
    deprecated: &[
        "causal_clustering.leadership_priority_group",
        "causal_clustering.leadership_priority_groups",
    ],
};
pub(super) const PRIORITY_TAG_PER_DATABASE: Setting = Setting {
    key: "db.cluster.raft.leader_transfer.priority_tag.",
    deprecated: &[
        "causal_clustering.leadership_priority_group.",
        "causal_clustering.leadership_priority_groups.",
    ],
};

const SETTINGS: &[Setting] = &[
    PLUGIN,
    POLICY,
    SHUFFLE,
    READS_ON_PRIMARIES,
    READS_ON_WRITERS,
    TTL,
    UPSTREAM_STRATEGY,
    USER_DEFINED,
    CONNECT_TAGS,
    INITIAL_TAGS,
    PRIORITY_TAG,
    PRIORITY_TAG_PER_DATABASE,
];

impl Setting {
    /// Every key of the setting, current first.
    pub(super) fn keys(self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.key).chain(self.deprecated.iter().copied())
    }

    /// The property that sets this setting, warning about the deprecated keys present.
    pub fn lookup<'p>(
        self,
        properties: &'p Properties,
        diagnostics: &mut Diagnostics,
    ) -> Option<&'p Property> {
        self.lookup_named(properties, "", diagnostics)
    }

    /// The property that sets this prefix setting for `name`, warning about deprecated keys.
    pub fn lookup_named<'p>(
        self,
        properties: &'p Properties,
        name: &str,
        diagnostics: &mut Diagnostics,
    ) -> Option<&'p Property> {
        let current = format!("{}{name}", self.key);
        let mut chosen: Option<&Property> = None;
        for key in self.keys() {
            let Some(property) = properties.get(&format!("{key}{name}")) else {
                continue;
            };
            if key != self.key {
                diagnostics.push(deprecation(property, chosen, &current));
            }
            chosen = chosen.or(Some(property));
        }
        chosen
    }

    /// The names set under this prefix setting, by any of its keys.
    pub fn names(self, properties: &Properties) -> BTreeSet<String> {
        properties
            .iter()
            .filter_map(|p| self.keys().find_map(|key| p.key.text.strip_prefix(key)))
            .map(str::to_owned)
            .collect()
    }
}

fn deprecation(property: &Property, winner: Option<&Property>, current: &str) -> ConfigDiagnostic {
    let old = &property.key.text;
    match winner {
        None => ConfigDiagnostic::warning(
            Kind::DeprecatedKey,
            property.key.span(),
            format!("`{old}` is deprecated"),
        )
        .with_help(format!("use `{current}`")),
        Some(winner) => ConfigDiagnostic::warning(
            Kind::DeprecatedKeyOverridden,
            property.key.span(),
            format!("`{old}` is ignored because `{}` is set", winner.key.text),
        )
        .with_help("remove it"),
    }
}

/// Whether tagroute reads `key` (or reports it as an error), under any of its names.
pub(super) fn is_read(key: &str) -> bool {
    SETTINGS.iter().flat_map(|s| s.keys()).any(|known| {
        if known.ends_with('.') {
            key.starts_with(known)
        } else {
            key == known
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::properties::read;
    use crate::config::testing::position;

    fn properties(source: &str) -> Properties {
        read(source, &mut Diagnostics::default())
    }

    #[test]
    fn the_current_key_wins_over_deprecated_ones() {
        let source = "causal_clustering.server_groups=a\ninitial.server.tags=b\n";
        let mut diagnostics = Diagnostics::default();
        let properties = properties(source);
        let found = INITIAL_TAGS.lookup(&properties, &mut diagnostics);
        assert_eq!(found.map(|p| p.value.text.as_str()), Some("b"));
        let warnings = diagnostics.finish("t", source).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].kind, Kind::DeprecatedKeyOverridden);
        assert_eq!(
            warnings[0].message,
            "`causal_clustering.server_groups` is ignored because `initial.server.tags` is set"
        );
        assert_eq!(position(source, warnings[0].span), "1:1");
    }

    #[test]
    fn a_deprecated_key_is_read_when_the_current_one_is_absent() {
        let source = "x=1\ncausal_clustering.cluster_routing_ttl=10s\n";
        let mut diagnostics = Diagnostics::default();
        let properties = properties(source);
        let found = TTL.lookup(&properties, &mut diagnostics);
        assert_eq!(found.map(|p| p.value.text.as_str()), Some("10s"));
        let warnings = diagnostics.finish("t", source).unwrap();
        assert_eq!(warnings[0].kind, Kind::DeprecatedKey);
        assert_eq!(
            warnings[0].message,
            "`causal_clustering.cluster_routing_ttl` is deprecated"
        );
        assert_eq!(warnings[0].help.as_deref(), Some("use `dbms.routing_ttl`"));
        assert_eq!(position(source, warnings[0].span), "2:1");
    }

    #[test]
    fn among_deprecated_keys_the_newest_wins() {
        let source = "causal_clustering.connect-randomly-to-server-group=a\n\
                      server.cluster.catchup.connect_randomly_to_server_group=b\n";
        let mut diagnostics = Diagnostics::default();
        let properties = properties(source);
        let found = CONNECT_TAGS.lookup(&properties, &mut diagnostics);
        assert_eq!(found.map(|p| p.value.text.as_str()), Some("b"));
        let kinds: Vec<_> = diagnostics
            .finish("t", source)
            .unwrap()
            .iter()
            .map(|d| d.kind)
            .collect();
        assert_eq!(kinds, [Kind::DeprecatedKeyOverridden, Kind::DeprecatedKey]);
    }

    #[test]
    fn prefix_settings_list_their_names_under_every_key() {
        let source = "dbms.routing.load_balancing.config.server_policies.a=all()\n\
                      causal_clustering.load_balancing.config.server_policies.b=all()\n\
                      dbms.routing.load_balancing.config.server_policies=all()\n";
        let names: Vec<String> = POLICY.names(&properties(source)).into_iter().collect();
        assert_eq!(names, ["a", "b"]);
        let mut diagnostics = Diagnostics::default();
        let properties = properties(source);
        let b = POLICY.lookup_named(&properties, "b", &mut diagnostics);
        assert_eq!(b.map(|p| p.value.text.as_str()), Some("all()"));
        let warnings = diagnostics.finish("t", source).unwrap();
        assert_eq!(
            warnings[0].help.as_deref(),
            Some("use `dbms.routing.load_balancing.config.server_policies.b`")
        );
    }

    #[test]
    fn keys_read_under_any_name() {
        assert!(is_read("dbms.routing_ttl"));
        assert!(is_read("causal_clustering.load_balancing.shuffle"));
        assert!(is_read(
            "dbms.routing.load_balancing.config.server_policies.x"
        ));
        assert!(is_read(
            "db.cluster.raft.leader_transfer.priority_tag.orders"
        ));
        assert!(!is_read(
            "dbms.routing.load_balancing.config.server_policies"
        ));
        assert!(!is_read("server.memory.heap.max_size"));
        assert!(!is_read("dbms.routing_ttl2"));
    }
}
