//! The routing layer as a trait, and its built-in implementation: Neo4j's `server_policies`.
//!
//! A [`RoutingPlugin`] turns a [`RouteRequest`] into a [`RoutingTable`] from a [`RouteContext`]:
//! one snapshot, one generation of policies, the routing settings and the request's random
//! generator. Everything a plugin reads is handed to it for one request, so a plugin holds no
//! state of its own and a table is computed from one snapshot by construction. [`ServerPolicies`]
//! is the plugin docs/routing.md describes; an embedder can hand the routing service another.

use std::fmt;
use std::sync::Arc;

use super::error::RoutingError;
use super::table::{RouteRequest, RoutingTable, TableScratch};
use crate::config::RoutingSettings;
use crate::config::roles_into;
use crate::rng::Rng;
use crate::routing::policies::Policies;
use crate::suggest::{NameKind, UnknownName};
use crate::topology::{Database, ServerIdx, ServerSet, Snapshot};
use crate::vm;

/// What a plugin computes one table from.
pub struct RouteContext<'a> {
    /// The snapshot every server of the table must come from.
    pub snapshot: &'a Arc<Snapshot>,
    /// The policies, compiled against the snapshot's interner.
    pub policies: &'a Policies,
    /// Who reads, whether to shuffle, the TTL.
    pub settings: &'a RoutingSettings,
    /// The generator for this request's shuffles.
    pub rng: &'a mut Rng,
}

/// The routing layer: a request and a context in, a routing table out.
///
/// An embedder implements it to route in its own way and hands it to
/// [`RoutingService::with_plugin`](super::RoutingService::with_plugin); the built-in
/// implementation is [`ServerPolicies`].
pub trait RoutingPlugin: Send + Sync + fmt::Debug {
    /// The plugin's name, as `dbms.routing.load_balancing.plugin` spells it.
    fn name(&self) -> &str;

    /// The routing table for `request`, computed from `context` alone.
    fn route(
        &self,
        request: &RouteRequest<'_>,
        context: &mut RouteContext<'_>,
    ) -> Result<RoutingTable, RoutingError>;

    /// [`RoutingPlugin::route`] in caller-owned buffers, for callers that answer many requests
    /// (what [`RoutingService::table_into`](super::RoutingService::table_into) calls). The
    /// default computes the table with `route` and keeps it in `scratch`; a plugin that can,
    /// computes it in `scratch`'s buffers without allocating, as [`ServerPolicies`] does.
    fn route_into<'s>(
        &self,
        request: &RouteRequest<'_>,
        context: &mut RouteContext<'_>,
        scratch: &'s mut TableScratch,
    ) -> Result<&'s RoutingTable, RoutingError> {
        scratch.table = None;
        let table = self.route(request, context)?;
        Ok(scratch.table.insert(table))
    }
}

/// Neo4j's `server_policies` plugin (docs/routing.md): the policy picks the readers among the
/// usable ones and orders the routers it prefers first; it never touches the writer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerPolicies;

impl ServerPolicies {
    /// The plugin's name.
    pub const NAME: &'static str = "server_policies";
}

impl RoutingPlugin for ServerPolicies {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn route(
        &self,
        request: &RouteRequest<'_>,
        context: &mut RouteContext<'_>,
    ) -> Result<RoutingTable, RoutingError> {
        let mut scratch = TableScratch::new();
        self.route_into(request, context, &mut scratch)?;
        scratch.table.ok_or(RoutingError::EmptyTable {
            database: request.database.to_owned(),
        })
    }

    fn route_into<'s>(
        &self,
        request: &RouteRequest<'_>,
        context: &mut RouteContext<'_>,
        scratch: &'s mut TableScratch,
    ) -> Result<&'s RoutingTable, RoutingError> {
        let snapshot = context.snapshot;
        let db = database(snapshot, request.database)?;
        let program = context
            .policies
            .get(request.policy_name())
            .map_err(RoutingError::UnknownPolicy)?
            .program();
        excluded_into(snapshot, request.excluded, &mut scratch.excluded);
        let (usable, roles) = (&mut scratch.usable, &mut scratch.roles);
        roles_into(
            snapshot,
            db,
            &scratch.excluded,
            context.settings,
            usable,
            roles,
        );
        let (readers, preferred) = (&mut scratch.readers, &mut scratch.preferred);
        vm::eval(program, snapshot, &roles.readers, readers)?;
        vm::eval(program, snapshot, &roles.routers, preferred)?;
        roles.routers.subtract_same(preferred);
        let (writer, others) = (roles.writer, &roles.routers);
        let mut order = Order {
            shuffle: context.settings.shuffle,
            rng: context.rng,
        };
        let fill = |[writers, chosen, routers]: [&mut Vec<ServerIdx>; 3]| {
            order.extend(writers, writer.into_iter());
            order.extend(chosen, readers.iter());
            order.extend(routers, preferred.iter());
            order.extend(routers, others.iter());
        };
        let ttl = context.settings.ttl;
        RoutingTable::refill(&mut scratch.table, snapshot, db.name(), ttl, fill)
    }
}

/// The database called `name`, or an error naming those that exist.
fn database<'s>(snapshot: &'s Snapshot, name: &str) -> Result<&'s Database, RoutingError> {
    snapshot.database(name).ok_or_else(|| {
        let known = snapshot.databases().iter().map(|d| d.name());
        RoutingError::UnknownDatabase(UnknownName::new(NameKind::Database, name, known))
    })
}

/// The servers named in `names` that the snapshot knows, into `out`.
fn excluded_into(snapshot: &Snapshot, names: &[&str], out: &mut ServerSet) {
    out.reset(snapshot.len());
    for idx in names.iter().filter_map(|name| snapshot.index_of(name)) {
        out.insert(idx);
    }
}

/// Each part of a table in the topology's order, or in a uniformly random one.
struct Order<'r> {
    shuffle: bool,
    rng: &'r mut Rng,
}

impl Order<'_> {
    /// Appends `servers` to `list` as one part: shuffled among themselves when shuffling.
    fn extend(&mut self, list: &mut Vec<ServerIdx>, servers: impl Iterator<Item = ServerIdx>) {
        let start = list.len();
        list.extend(servers);
        if self.shuffle
            && let Some(part) = list.get_mut(start..)
        {
            self.rng.shuffle(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::routing::Role;
    use crate::syntax::Strictness;
    use crate::topology::{DatabaseSpec, ServerSpec, TagInterner, TopologySpec};

    /// Primaries p1 (leader, north), p2 (south), p3 (north); secondaries s1 (north), s2 (south).
    fn snapshot(down: &[&str]) -> Arc<Snapshot> {
        let servers = [
            ("p1", "north"),
            ("p2", "south"),
            ("p3", "north"),
            ("s1", "north"),
            ("s2", "south"),
        ]
        .iter()
        .map(|(n, tag)| {
            ServerSpec::new(*n, format!("{n}:7687"))
                .with_tags([*tag])
                .with_available(!down.contains(n))
        })
        .collect();
        let db = DatabaseSpec {
            name: "neo4j".into(),
            primaries: vec!["p1".into(), "p2".into(), "p3".into()],
            secondaries: vec!["s1".into(), "s2".into()],
            leader: Some("p1".into()),
            ..DatabaseSpec::default()
        };
        let spec = TopologySpec {
            servers,
            databases: vec![db],
        };
        Arc::new(Snapshot::build(&spec, &TagInterner::new()).expect("valid"))
    }

    fn policies(snapshot: &Snapshot, pairs: &[(&str, &str)]) -> Policies {
        let text: String = pairs
            .iter()
            .map(|(n, t)| format!("dbms.routing.load_balancing.config.server_policies.{n}={t}\n"))
            .collect();
        let config =
            Config::parse(&text, Path::new("neo4j.conf"), Strictness::Default).expect("loads");
        Policies::compile(&config, snapshot.interner(), None).expect("compiles")
    }

    fn unshuffled() -> RoutingSettings {
        RoutingSettings {
            shuffle: false,
            ..RoutingSettings::default()
        }
    }

    fn route(
        snapshot: &Arc<Snapshot>,
        policies: &Policies,
        settings: &RoutingSettings,
        request: &RouteRequest<'_>,
    ) -> Result<Vec<(Role, Vec<String>)>, String> {
        let mut rng = Rng::seeded(1);
        let mut context = RouteContext {
            snapshot,
            policies,
            settings,
            rng: &mut rng,
        };
        let table = ServerPolicies
            .route(request, &mut context)
            .map_err(|e| e.to_string())?;
        Ok(table
            .roles()
            .map(|(role, _)| {
                let names = table.names(role).into_iter().map(str::to_owned).collect();
                (role, names)
            })
            .collect())
    }

    fn roles(pairs: &[(Role, &[&str])]) -> Vec<(Role, Vec<String>)> {
        pairs
            .iter()
            .map(|(role, names)| (*role, names.iter().map(|n| n.to_string()).collect()))
            .collect()
    }

    #[test]
    fn the_policy_picks_readers_and_orders_routers_but_never_drops_one() {
        let snapshot = snapshot(&[]);
        let policies = policies(&snapshot, &[("south", "tags(south); halt()")]);
        let request = RouteRequest::new("neo4j").with_policy("south");
        assert_eq!(
            route(&snapshot, &policies, &unshuffled(), &request),
            Ok(roles(&[
                (Role::Write, &["p1"]),
                (Role::Read, &["p2", "s2"]),
                (Role::Route, &["p2", "p1", "p3"]),
            ]))
        );
    }

    #[test]
    fn exclusions_come_before_the_policy_so_min_counts_usable_servers() {
        let snapshot = snapshot(&[]);
        let policies = policies(&snapshot, &[("two", "tags(north)->min(2); halt()")]);
        let excluded = ["s1", "p1"];
        let request = RouteRequest::new("neo4j")
            .with_policy("two")
            .excluding(&excluded);
        assert_eq!(
            route(&snapshot, &policies, &unshuffled(), &request),
            Ok(roles(&[(Role::Route, &["p2", "p3"])])),
            "only p3 is a usable northern reader: min(2) fails, the policy halts"
        );
        let request = RouteRequest::new("neo4j").with_policy("two");
        assert_eq!(
            route(&snapshot, &policies, &unshuffled(), &request).map(|r| r[1].clone()),
            Ok((Role::Read, vec!["p3".into(), "s1".into()]))
        );
    }

    #[test]
    fn unknown_names_and_empty_tables_are_errors() {
        let snapshot = snapshot(&["p1", "p2", "p3", "s1", "s2"]);
        let policies = policies(&snapshot, &[]);
        let settings = unshuffled();
        let error =
            |request: RouteRequest<'_>| route(&snapshot, &policies, &settings, &request).err();
        assert_eq!(
            error(RouteRequest::new("neo4j")),
            Some("routing table for database `neo4j` is empty".into())
        );
        assert_eq!(
            error(RouteRequest::new("neo4j").with_policy("nort")),
            Some("unknown policy `nort`; the policies are default".into())
        );
        assert_eq!(
            error(RouteRequest::new("neo4k")),
            Some(
                "unknown database `neo4k`; the databases are neo4j (did you mean `neo4j`?)".into()
            )
        );
    }

    #[test]
    fn a_seed_fixes_the_shuffle() {
        let snapshot = snapshot(&[]);
        let policies = policies(&snapshot, &[]);
        let request = RouteRequest::new("neo4j");
        let settings = RoutingSettings::default();
        let first = route(&snapshot, &policies, &settings, &request);
        let again = route(&snapshot, &policies, &settings, &request);
        assert_eq!(first, again);
        assert_eq!(ServerPolicies.name(), "server_policies");
    }
}
