//! Who may write, read and route for a database, before any policy (docs/routing.md).
//!
//! What the routing settings mean, so it sits beside them: routing tables, the hot-path router,
//! `check` and the resilience analysis all read these rules (`tagroute::routing` re-exports
//! them):
//! - **writer**: the leader, if it is usable (available and not excluded by the client);
//! - **readers**: the usable secondaries; plus the usable non-leader primaries when
//!   `reads_on_primaries` is on or there are no such secondaries; plus the usable leader when
//!   `reads_on_writers` is on or there is still nobody;
//! - **routers**: the usable primaries.

use super::RoutingSettings;
use crate::topology::{Database, ServerIdx, ServerSet, Snapshot};

/// The servers of each role for one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    /// The writer, if the leader is usable.
    pub writer: Option<ServerIdx>,
    /// The servers that may serve reads, before the policy.
    pub readers: ServerSet,
    /// The servers that may route.
    pub routers: ServerSet,
}

/// The roles of `db` on `snapshot` for a client that cannot use `excluded`.
pub fn roles(
    snapshot: &Snapshot,
    db: &Database,
    excluded: &ServerSet,
    settings: &RoutingSettings,
) -> Roles {
    let mut roles = Roles::default();
    roles_into(
        snapshot,
        db,
        excluded,
        settings,
        &mut ServerSet::default(),
        &mut roles,
    );
    roles
}

/// [`roles`] written into `roles`, with `usable` as scratch (the available servers not in
/// `excluded`): no allocation once both have held sets of the snapshot's size.
pub fn roles_into(
    snapshot: &Snapshot,
    db: &Database,
    excluded: &ServerSet,
    settings: &RoutingSettings,
    usable: &mut ServerSet,
    roles: &mut Roles,
) {
    usable.reset(snapshot.len());
    usable.union_same(snapshot.available());
    usable.subtract_same(excluded);
    readers_into(db, usable, settings, &mut roles.readers);
    roles.routers.reset(snapshot.len());
    roles.routers.union_same(db.primaries());
    roles.routers.intersect_same(usable);
    roles.writer = db.leader().filter(|&l| usable.contains(l));
}

/// The readers of `db` among `usable`, written into `out` (no allocation once `out` has
/// held a set of this size).
pub(crate) fn readers_into(
    db: &Database,
    usable: &ServerSet,
    settings: &RoutingSettings,
    out: &mut ServerSet,
) {
    out.reset(usable.universe());
    out.union_same(db.secondaries());
    out.intersect_same(usable);
    let leader = db.leader().filter(|&l| usable.contains(l));
    if settings.reads_on_primaries || out.is_empty() {
        out.union_same(db.primaries());
        out.intersect_same(usable);
        if let Some(leader) = leader {
            out.remove(leader);
        }
    }
    if let Some(leader) = leader.filter(|_| settings.reads_on_writers || out.is_empty()) {
        out.insert(leader);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{DatabaseSpec, ServerSpec, TagInterner, TopologySpec};

    /// Primaries p1 (leader), p2; secondaries s1, s2; `down` servers unavailable.
    fn snapshot(down: &[&str], secondaries: &[&str]) -> Snapshot {
        let names = ["p1", "p2", "s1", "s2"];
        let servers = names
            .iter()
            .map(|n| ServerSpec::new(*n, format!("{n}:7687")).with_available(!down.contains(n)))
            .collect();
        let db = DatabaseSpec {
            name: "neo4j".into(),
            primaries: vec!["p1".into(), "p2".into()],
            secondaries: secondaries.iter().map(|s| s.to_string()).collect(),
            leader: Some("p1".into()),
            ..DatabaseSpec::default()
        };
        Snapshot::build(
            &TopologySpec {
                servers,
                databases: vec![db],
            },
            &TagInterner::new(),
        )
        .expect("valid")
    }

    fn named<'s>(
        snapshot: &'s Snapshot,
        roles: &Roles,
    ) -> (Option<&'s str>, Vec<&'s str>, Vec<&'s str>) {
        let writer = roles
            .writer
            .and_then(|w| snapshot.server(w))
            .map(|s| s.name());
        (
            writer,
            snapshot.names(&roles.readers),
            snapshot.names(&roles.routers),
        )
    }

    fn settings(reads_on_primaries: bool, reads_on_writers: bool) -> RoutingSettings {
        RoutingSettings {
            reads_on_primaries,
            reads_on_writers,
            ..RoutingSettings::default()
        }
    }

    #[test]
    fn readers_follow_the_two_settings() {
        let s = snapshot(&[], &["s1", "s2"]);
        let db = s.database("neo4j").expect("db");
        let none = ServerSet::empty(s.len());
        let of = |p, w| named(&s, &roles(&s, db, &none, &settings(p, w))).1;
        assert_eq!(of(true, false), ["p2", "s1", "s2"]);
        assert_eq!(of(false, false), ["s1", "s2"]);
        assert_eq!(of(false, true), ["p1", "s1", "s2"]);
        assert_eq!(
            named(&s, &roles(&s, db, &none, &settings(true, false))),
            (Some("p1"), vec!["p2", "s1", "s2"], vec!["p1", "p2"])
        );
    }

    #[test]
    fn with_nobody_else_the_primaries_then_the_leader_read() {
        let s = snapshot(&["s1", "s2"], &["s1", "s2"]);
        let db = s.database("neo4j").expect("db");
        let none = ServerSet::empty(s.len());
        assert_eq!(
            named(&s, &roles(&s, db, &none, &settings(false, false))).1,
            ["p2"]
        );
        let s = snapshot(&["s1", "s2", "p2"], &["s1", "s2"]);
        let db = s.database("neo4j").expect("db");
        assert_eq!(
            named(&s, &roles(&s, db, &none, &settings(false, false))),
            (Some("p1"), vec!["p1"], vec!["p1"])
        );
    }

    #[test]
    fn excluded_servers_have_no_role_at_all() {
        let s = snapshot(&[], &["s1", "s2"]);
        let db = s.database("neo4j").expect("db");
        let excluded = s.set_of(["p1", "s2"]).expect("known");
        assert_eq!(
            named(&s, &roles(&s, db, &excluded, &settings(false, false))),
            (None, vec!["s1"], vec!["p2"])
        );
    }
}
