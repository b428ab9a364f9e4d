//! Leadership priority: the tag a database's leader should carry (docs/routing.md).

use std::collections::BTreeMap;

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::keys;
use super::properties::Properties;
use super::values::single_tag;

/// `db.cluster.raft.leader_transfer.priority_tag` and its per-database form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadershipSettings {
    /// The priority tag of every database without one of its own; `None` when unset or empty.
    pub priority_tag: Option<String>,
    /// `db.cluster.raft.leader_transfer.priority_tag.<db>`: database name to tag. A database
    /// set to the empty value is left out (it falls back to `priority_tag`).
    pub per_database: BTreeMap<String, String>,
}

impl LeadershipSettings {
    /// The priority tag of `database`: its own, or the global one.
    pub fn priority_tag_of(&self, database: &str) -> Option<&str> {
        self.per_database
            .get(database)
            .or(self.priority_tag.as_ref())
            .map(String::as_str)
    }
}

/// Reads the priority tags; an invalid tag is an error.
pub(super) fn read(properties: &Properties, diagnostics: &mut Diagnostics) -> LeadershipSettings {
    let priority_tag = keys::PRIORITY_TAG
        .lookup(properties, diagnostics)
        .and_then(|p| single_tag(&p.value, diagnostics));
    let mut per_database = BTreeMap::new();
    let setting = keys::PRIORITY_TAG_PER_DATABASE;
    for database in setting.names(properties) {
        let Some(property) = setting.lookup_named(properties, &database, diagnostics) else {
            continue;
        };
        let tag = single_tag(&property.value, diagnostics);
        if database.is_empty() {
            diagnostics.push(ConfigDiagnostic::error(
                Kind::MissingDatabaseName,
                property.key.span(),
                format!("`{}` names no database", property.key.text),
            ));
        } else if let Some(tag) = tag {
            per_database.insert(database, tag);
        }
    }
    LeadershipSettings {
        priority_tag,
        per_database,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::properties::read as read_properties;
    use crate::config::testing::{every_diagnostic, under};

    fn leadership(source: &str) -> (LeadershipSettings, Vec<ConfigDiagnostic>) {
        let mut diagnostics = Diagnostics::default();
        let properties = read_properties(source, &mut diagnostics);
        let settings = read(&properties, &mut diagnostics);
        let diagnostics = every_diagnostic(diagnostics, source);
        (settings, diagnostics)
    }

    #[test]
    fn global_and_per_database_tags() {
        let (settings, diagnostics) = leadership(
            "db.cluster.raft.leader_transfer.priority_tag=north1\n\
             db.cluster.raft.leader_transfer.priority_tag.orders= south \n\
             db.cluster.raft.leader_transfer.priority_tag.audit=\n",
        );
        assert_eq!(settings.priority_tag.as_deref(), Some("north1"));
        assert_eq!(settings.per_database.len(), 1);
        assert_eq!(settings.priority_tag_of("orders"), Some("south"));
        assert_eq!(settings.priority_tag_of("audit"), Some("north1"));
        assert!(diagnostics.is_empty());
        assert_eq!(leadership("").0, LeadershipSettings::default());
    }

    #[test]
    fn deprecated_group_keys_and_errors() {
        let source = "db.cluster.raft.leader_transfer.priority_group=n\n\
                      db.cluster.raft.leader_transfer.priority_group.orders=s\n\
                      db.cluster.raft.leader_transfer.priority_tag.=x\n\
                      db.cluster.raft.leader_transfer.priority_tag.audit=a b\n";
        let (settings, diagnostics) = leadership(source);
        assert_eq!(settings.priority_tag.as_deref(), Some("n"));
        assert_eq!(settings.priority_tag_of("orders"), Some("s"));
        let found: Vec<(Kind, &str)> = diagnostics
            .iter()
            .map(|d| (d.kind, under(source, d.span)))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Kind::MissingDatabaseName,
                    "db.cluster.raft.leader_transfer.priority_tag."
                ),
                (Kind::InvalidTag, "a b"),
                (
                    Kind::DeprecatedKey,
                    "db.cluster.raft.leader_transfer.priority_group"
                ),
                (
                    Kind::DeprecatedKey,
                    "db.cluster.raft.leader_transfer.priority_group.orders"
                ),
            ]
        );
    }
}
