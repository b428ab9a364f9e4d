//! `check --migrate`: a Neo4j 4.4 configuration rewritten for Neo4j 5 as Neo4j 5's migration
//! (`neo4j-admin server migrate-configuration`) rewrites it: each renamed key replaced by its
//! Neo4j 5 name in place (its value, layout and comments kept), each removed one commented out
//! with the reason. The text is returned, never written: the caller prints it.

use super::catalogue::{self, Migration};
use super::error::Diagnostics;
use super::{keys, properties};
use crate::span::Span;

/// A file migrated from Neo4j 4.4 to Neo4j 5, and what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Migrated {
    /// The migrated file text.
    pub text: String,
    /// Each change, in file order.
    pub changes: Vec<MigrationChange>,
}

/// One key the migration changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationChange {
    /// Where the key is in the original text.
    pub span: Span,
    /// The key, as read.
    pub key: String,
    /// Its Neo4j 5 name, or `None` when the migration removes it.
    pub renamed_to: Option<String>,
}

/// Migrates `source`, a neo4j.conf of Neo4j 4.4, to Neo4j 5.
///
/// ```
/// let migrated = tagroute::config::migrate("dbms.memory.heap.max_size=4g\ndbms.allow_upgrade=true\n");
/// assert_eq!(
///     migrated.text,
///     "server.memory.heap.max_size=4g\n# removed in Neo4j 5 (it no longer has any effect): dbms.allow_upgrade=true\n"
/// );
/// ```
pub fn migrate(source: &str) -> Migrated {
    let properties = properties::read(source, &mut Diagnostics::default());
    let mut edits: Vec<(Span, String)> = Vec::new();
    let mut changes = Vec::new();
    for property in properties.all() {
        let key = &*property.key.text;
        let renamed = match keys::tagroute_rename(key) {
            Some(name) => Some(Migration::Renamed(name)),
            None if is_dropped_jvm_option(&property) => Some(Migration::Removed),
            None => catalogue::migration(key),
        };
        let span = property.key.span();
        let renamed_to = match renamed {
            Some(Migration::Renamed(name)) => {
                edits.push((span, name.clone()));
                Some(name)
            }
            Some(Migration::Removed) => {
                let note = match is_dropped_jvm_option(&property) {
                    true => DROPPED_JVM_OPTION,
                    false => REMOVED,
                };
                comment_out(source, &property, note, &mut edits);
                None
            }
            Some(Migration::RenamedUnresolved(_)) | None => continue,
        };
        changes.push(MigrationChange {
            span,
            key: key.to_owned(),
            renamed_to,
        });
    }
    edits.sort_by_key(|(span, _)| (span.start, span.end));
    let mut text = String::with_capacity(source.len());
    let mut at = 0;
    for (span, replacement) in edits {
        text.push_str(source.get(at..span.start).unwrap_or_default());
        text.push_str(&replacement);
        at = span.end;
    }
    text.push_str(source.get(at..).unwrap_or_default());
    Migrated { text, changes }
}

const REMOVED: &str = "# removed in Neo4j 5 (it no longer has any effect): ";
const DROPPED_JVM_OPTION: &str =
    "# removed by Neo4j 5's migration (a JVM option of Neo4j 4.x's default file): ";

/// Whether `property` is the JVM option Neo4j 4.x's default file passed and Neo4j 5's
/// migration takes out of `dbms.jvm.additional` (`-XX:-UseBiasedLocking`).
fn is_dropped_jvm_option(property: &properties::Property) -> bool {
    &*property.key.text == "dbms.jvm.additional"
        && property.value.text.trim_matches(|c: char| c <= ' ') == "-XX:-UseBiasedLocking"
}

/// Comments out every line of `property` (a value may continue over several) with `note`.
fn comment_out(
    source: &str,
    property: &properties::Property,
    note: &str,
    edits: &mut Vec<(Span, String)>,
) {
    let span = property.key.span();
    let end = property.value.span().end.max(span.end);
    for start in line_starts(source, span.start, end) {
        edits.push((Span::at(start), note.to_owned()));
    }
}

/// The start of each line that `start..end` touches.
fn line_starts(source: &str, start: usize, end: usize) -> Vec<usize> {
    let first = source
        .get(..start)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    let mut starts = vec![first];
    let inner = source.get(first..end).unwrap_or_default();
    starts.extend(
        inner
            .match_indices('\n')
            .map(|(i, _)| first + i + 1)
            .filter(|&s| s < end),
    );
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_keep_values_layout_and_comments() {
        let source = "# 4.4\ndbms.connector.bolt.listen_address = :7687\n\
                      causal_clustering.load_balancing.config.server_policies.dc=groups(dc1)\n\
                      dbms.connector.bolt.type=BOLT\n\
                      dbms.logs.debug.level=INFO\\\n  \n\
                      dbms.jvm.additional=-XX:+UseG1GC\n\
                      dbms.jvm.additional=-XX:-UseBiasedLocking\n\
                      server.memory.heap.max_size=4g\n";
        let migrated = migrate(source);
        assert_eq!(
            migrated.text,
            "# 4.4\nserver.bolt.listen_address = :7687\n\
             dbms.routing.load_balancing.config.server_policies.dc=groups(dc1)\n\
             # removed in Neo4j 5 (it no longer has any effect): dbms.connector.bolt.type=BOLT\n\
             # removed in Neo4j 5 (it no longer has any effect): dbms.logs.debug.level=INFO\\\n  \n\
             server.jvm.additional=-XX:+UseG1GC\n\
             # removed by Neo4j 5's migration (a JVM option of Neo4j 4.x's default file): dbms.jvm.additional=-XX:-UseBiasedLocking\n\
             server.memory.heap.max_size=4g\n"
        );
        let renamed: Vec<Option<&str>> = migrated
            .changes
            .iter()
            .map(|c| c.renamed_to.as_deref())
            .collect();
        assert_eq!(
            renamed,
            [
                Some("server.bolt.listen_address"),
                Some("dbms.routing.load_balancing.config.server_policies.dc"),
                None,
                None,
                Some("server.jvm.additional"),
                None
            ]
        );
    }

    #[test]
    fn a_neo4j_5_file_is_unchanged() {
        let source = "server.memory.heap.max_size=4g\ninitial.server.tags=a\n";
        let migrated = migrate(source);
        assert_eq!(migrated.text, source);
        assert!(migrated.changes.is_empty());
    }
}
