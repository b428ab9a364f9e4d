//! The routing service: a live topology, the policies and settings of a configuration, and a
//! plugin, answering routing requests while the cluster changes and the configuration reloads.
//!
//! The service is the one publisher of the configuration: its compiled [`Policies`] (compiled
//! against the topology's own interner, so every program can run on every snapshot) and its
//! routing settings are published together, as one [`Generation`] behind an `ArcSwap`. Tables
//! and the deciders of the routers it makes ([`RoutingService::router`]) read that same
//! generation, so nothing ever mixes the policies of one configuration with the settings of
//! another, and a reload reaches the next decision. Each table or decision reads the topology's
//! current snapshot once and is computed from it alone. A reload that fails (the file does not
//! load, a policy does not compile) changes nothing.
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use tagroute::Strictness;
//! use tagroute::config::Config;
//! use tagroute::rng::Rng;
//! use tagroute::routing::{Role, RouteRequest, RoutingService};
//! use tagroute::topology::{DatabaseSpec, ServerSpec, Topology, TopologySpec, Update};
//!
//! let spec = TopologySpec {
//!     servers: vec![
//!         ServerSpec::new("a", "a.example.com:7687").with_tags(["north"]),
//!         ServerSpec::new("b", "b.example.com:7687").with_tags(["south"]),
//!     ],
//!     databases: vec![DatabaseSpec {
//!         name: "neo4j".into(),
//!         primaries: vec!["a".into(), "b".into()],
//!         leader: Some("a".into()),
//!         ..DatabaseSpec::default()
//!     }],
//! };
//! let conf = "dbms.routing.load_balancing.config.server_policies.south=tags(south); halt()\n\
//!             dbms.routing.reads_on_writers_enabled=true\n";
//! let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default)?;
//! let service = RoutingService::new(Arc::new(Topology::new(&spec)?), &config)?;
//!
//! let request = RouteRequest::new("neo4j").with_policy("south");
//! let table = service.table(&request, &mut Rng::seeded(7))?;
//! assert_eq!(table.addresses(Role::Write), ["a.example.com:7687"]);
//! assert_eq!(table.addresses(Role::Read), ["b.example.com:7687"]);
//!
//! service.topology().apply(&[Update::SetTags { server: "a".into(), tags: vec!["south".into()] }])?;
//! let table = service.table(&request, &mut Rng::seeded(7))?;
//! assert_eq!(table.names(Role::Read).len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::error::{ReloadError, RoutingError};
use super::plugin::{RouteContext, RoutingPlugin, ServerPolicies};
use super::policies::{Policies, PolicyError, Reload};
use super::router::Router;
use super::table::{RouteRequest, RoutingTable, TableScratch};
use crate::config::{Config, RoutingSettings};
use crate::rng::Rng;
use crate::syntax::Strictness;
use crate::topology::Topology;

/// What one configuration says about routing: its compiled policies and its settings,
/// published together so that nothing ever reads the policies of one configuration with the
/// settings of another.
#[derive(Debug)]
pub struct Generation {
    number: u64,
    policies: Policies,
    settings: RoutingSettings,
}

impl Generation {
    /// The generation's number: 0 for the service's first configuration, one more for each
    /// successful reload.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The configuration's compiled policies.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// The configuration's routing settings.
    pub fn settings(&self) -> &RoutingSettings {
        &self.settings
    }
}

/// What the service shares with the routers it makes: the live topology and the one published
/// generation.
#[derive(Debug)]
pub(super) struct Published {
    pub(super) topology: Arc<Topology>,
    pub(super) generation: ArcSwap<Generation>,
}

/// Routing tables and hot-path routers for a live cluster and a reloadable configuration: the
/// one publisher of the configuration's policies and settings. `Send + Sync`: share it.
///
/// ```
/// use std::path::Path;
/// use std::sync::Arc;
/// use tagroute::config::Config;
/// use tagroute::rng::Rng;
/// use tagroute::routing::{Role, RouteRequest};
/// use tagroute::{RoutingService, Strictness, Topology};
///
/// let topology = Arc::new(Topology::from_json(r#"{
///     "servers": [
///         {"name": "n1a", "address": "n1a.example.com:7687", "tags": ["north"]},
///         {"name": "n1b", "address": "n1b.example.com:7687", "tags": ["north"]},
///         {"name": "s1a", "address": "s1a.example.com:7687", "tags": ["south"]}
///     ],
///     "databases": [{"name": "neo4j", "primaries": ["n1a"], "secondaries": ["n1b", "s1a"],
///                    "leader": "n1a"}]
/// }"#)?);
/// let policy = "dbms.routing.load_balancing.config.server_policies.local=tags(south); halt()";
/// let config = Config::parse(policy, Path::new("neo4j.conf"), Strictness::Default)?;
/// let service = RoutingService::new(topology, &config)?;
///
/// // What a driver asking for `local` gets.
/// let request = RouteRequest::new("neo4j").with_policy("local");
/// let table = service.table(&request, &mut Rng::seeded(7))?;
/// assert_eq!(table.names(Role::Write), ["n1a"]);
/// assert_eq!(table.names(Role::Read), ["s1a"]);
///
/// // A new configuration: the policies and settings change together, or not at all.
/// let moved = "dbms.routing.load_balancing.config.server_policies.local=tags(north); halt()";
/// let report = service.reload(&Config::parse(moved, Path::new("neo4j.conf"), Strictness::Default)?)?;
/// assert_eq!(report.changed, ["local"]);
/// let table = service.table(&request, &mut Rng::seeded(7))?;
/// assert_eq!(table.names(Role::Read), ["n1b"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RoutingService {
    published: Arc<Published>,
    plugin: Arc<dyn RoutingPlugin>,
    writer: Mutex<()>,
}

impl fmt::Debug for RoutingService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutingService")
            .field("plugin", &self.plugin.name())
            .field("epoch", &self.published.topology.snapshot().epoch())
            .field("generation", &self.published.generation.load().number)
            .finish_non_exhaustive()
    }
}

impl RoutingService {
    /// A service with the built-in [`ServerPolicies`] plugin, compiling `config`'s policies
    /// against the topology's interner.
    pub fn new(topology: Arc<Topology>, config: &Config) -> Result<RoutingService, PolicyError> {
        RoutingService::with_plugin(topology, config, Arc::new(ServerPolicies))
    }

    /// A service that routes through `plugin`.
    pub fn with_plugin(
        topology: Arc<Topology>,
        config: &Config,
        plugin: Arc<dyn RoutingPlugin>,
    ) -> Result<RoutingService, PolicyError> {
        let generation = Generation {
            number: 0,
            policies: Policies::compile(config, topology.interner(), None)?,
            settings: config.routing().clone(),
        };
        let published = Published {
            topology,
            generation: ArcSwap::from_pointee(generation),
        };
        Ok(RoutingService {
            published: Arc::new(published),
            plugin,
            writer: Mutex::new(()),
        })
    }

    /// The routing table for `request`, from the current snapshot and configuration; `rng`
    /// decides the shuffles (seed it for a reproducible order).
    pub fn table(
        &self,
        request: &RouteRequest<'_>,
        rng: &mut Rng,
    ) -> Result<RoutingTable, RoutingError> {
        self.in_context(rng, |plugin, context| plugin.route(request, context))
    }

    /// `route` with the plugin and a context of the current snapshot and generation.
    fn in_context<R>(
        &self,
        rng: &mut Rng,
        route: impl FnOnce(&dyn RoutingPlugin, &mut RouteContext<'_>) -> R,
    ) -> R {
        let snapshot = self.published.topology.snapshot();
        let generation = self.published.generation.load();
        let mut context = RouteContext {
            snapshot: &snapshot,
            policies: &generation.policies,
            settings: &generation.settings,
            rng,
        };
        route(self.plugin.as_ref(), &mut context)
    }

    /// [`RoutingService::table`] in caller-owned buffers: the table is computed in `scratch`
    /// and borrowed from it. Once `scratch` has held a table of the cluster's size, this
    /// allocates nothing with the built-in plugin (a plugin of one's own allocates what its
    /// `route` does, unless it implements [`RoutingPlugin::route_into`]).
    ///
    /// ```
    /// # use std::path::Path;
    /// # use std::sync::Arc;
    /// # use tagroute::Strictness;
    /// # use tagroute::config::Config;
    /// # use tagroute::rng::Rng;
    /// # use tagroute::routing::{Role, RouteRequest, RoutingService, TableScratch};
    /// # use tagroute::topology::{DatabaseSpec, ServerSpec, Topology, TopologySpec};
    /// # let spec = TopologySpec {
    /// #     servers: vec![ServerSpec::new("a", "a.example.com:7687")],
    /// #     databases: vec![DatabaseSpec {
    /// #         name: "neo4j".into(),
    /// #         primaries: vec!["a".into()],
    /// #         ..DatabaseSpec::default()
    /// #     }],
    /// # };
    /// # let config = Config::parse("", Path::new("neo4j.conf"), Strictness::Default)?;
    /// let service = RoutingService::new(Arc::new(Topology::new(&spec)?), &config)?;
    /// let (mut scratch, mut rng) = (TableScratch::new(), Rng::seeded(7));
    /// for _ in 0..3 {
    ///     let table = service.table_into(&RouteRequest::new("neo4j"), &mut rng, &mut scratch)?;
    ///     assert_eq!(table.addresses(Role::Route), ["a.example.com:7687"]);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn table_into<'s>(
        &self,
        request: &RouteRequest<'_>,
        rng: &mut Rng,
        scratch: &'s mut TableScratch,
    ) -> Result<&'s RoutingTable, RoutingError> {
        self.in_context(rng, |plugin, context| {
            plugin.route_into(request, context, scratch)
        })
    }

    /// A hot-path router whose deciders read this service's topology and current generation:
    /// the next decision after a reload uses the new policies and settings together.
    pub fn router(&self) -> Router {
        Router::new(Arc::clone(&self.published))
    }

    /// Replaces the policies and settings with `config`'s, together, as the next generation.
    /// When a policy does not compile nothing changes. The report lists the policies removed
    /// (clients bound to them will fail), added and changed.
    pub fn reload(&self, config: &Config) -> Result<Reload, ReloadError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = self.published.generation.load_full();
        let interner = self.published.topology.interner();
        let policies = Policies::compile(config, interner, Some(&previous.policies))?;
        let report = policies.changes_since(&previous.policies);
        let next = Arc::new(Generation {
            number: previous.number + 1,
            policies,
            settings: config.routing().clone(),
        });
        let published = &self.published;
        published
            .topology
            .publish_change(|| published.generation.store(next));
        Ok(report)
    }

    /// Loads the configuration file at `path` and [reloads](RoutingService::reload) it; a file
    /// that does not load changes nothing.
    pub fn reload_file(&self, path: &Path, strictness: Strictness) -> Result<Reload, ReloadError> {
        self.reload(&Config::load(path, strictness)?)
    }

    /// The live topology: apply updates through it.
    pub fn topology(&self) -> &Arc<Topology> {
        &self.published.topology
    }

    /// The current generation: policies and settings of one configuration.
    pub fn generation(&self) -> Arc<Generation> {
        self.published.generation.load_full()
    }

    /// The plugin that computes the tables.
    pub fn plugin(&self) -> &dyn RoutingPlugin {
        self.plugin.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::routing::Role;
    use crate::topology::{DatabaseSpec, ServerSpec, TopologySpec};

    const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.";

    fn service(conf: &str) -> RoutingService {
        let servers = ["a", "b", "c"]
            .iter()
            .map(|n| ServerSpec::new(*n, format!("{n}:7687")).with_tags([*n]))
            .collect();
        let db = DatabaseSpec {
            name: "neo4j".into(),
            primaries: vec!["a".into()],
            secondaries: vec!["b".into(), "c".into()],
            leader: Some("a".into()),
            ..DatabaseSpec::default()
        };
        let spec = TopologySpec {
            servers,
            databases: vec![db],
        };
        let topology = Arc::new(Topology::new(&spec).expect("valid"));
        RoutingService::new(topology, &config(conf)).expect("compiles")
    }

    fn config(conf: &str) -> Config {
        Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default).expect("loads")
    }

    fn readers(service: &RoutingService, policy: &str) -> Result<Vec<String>, String> {
        let request = RouteRequest::new("neo4j").with_policy(policy);
        let table = service
            .table(&request, &mut Rng::seeded(0))
            .map_err(|e| e.to_string())?;
        Ok(table
            .names(Role::Read)
            .into_iter()
            .map(str::to_owned)
            .collect())
    }

    #[test]
    fn a_reload_swaps_policies_and_settings_and_reports_removed_policies() {
        let service = service(&format!(
            "{POLICY}b=tags(b)\n{POLICY}gone=all()\ndbms.routing.load_balancing.shuffle_enabled=false\n"
        ));
        assert_eq!(readers(&service, "b"), Ok(vec!["b".into()]));
        let report = service
            .reload(&config(&format!(
                "{POLICY}b=tags(c)\n{POLICY}new=all()\ndbms.routing_ttl=7s\n"
            )))
            .expect("compiles");
        assert_eq!(
            report,
            Reload {
                removed: vec!["gone".into()],
                added: vec!["new".into()],
                changed: vec!["b".into()],
            }
        );
        assert_eq!(readers(&service, "b"), Ok(vec!["c".into()]));
        let generation = service.generation();
        assert_eq!(
            (
                generation.number(),
                generation.settings().ttl,
                generation.settings().shuffle
            ),
            (1, Duration::from_secs(7), true)
        );
        assert_eq!(
            readers(&service, "gone"),
            Err("unknown policy `gone`; the policies are b, default, new".into())
        );
    }

    #[test]
    fn a_reload_from_a_file_that_does_not_load_changes_nothing() {
        let service = service(&format!("{POLICY}b=tags(b)\n"));
        let dir = std::env::temp_dir().join(format!("tagroute-service-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let bad = dir.join("bad.conf");
        std::fs::write(&bad, format!("{POLICY}b=tgas(c)\ndbms.routing_ttl=7s\n")).expect("write");
        let error = service.reload_file(&bad, Strictness::Default);
        assert!(
            matches!(&error, Err(ReloadError::Config(e)) if e.errors().len() == 1),
            "{error:?}"
        );
        assert_eq!(readers(&service, "b"), Ok(vec!["b".into()]));
        let generation = service.generation();
        assert_eq!(generation.settings().ttl, Duration::from_secs(300));
        assert_eq!(generation.number(), 0);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn an_embedder_plugs_in_its_own_routing() {
        #[derive(Debug)]
        struct LeaderOnly;
        impl RoutingPlugin for LeaderOnly {
            fn name(&self) -> &str {
                "leader_only"
            }
            fn route(
                &self,
                request: &RouteRequest<'_>,
                context: &mut RouteContext<'_>,
            ) -> Result<RoutingTable, RoutingError> {
                let leader: Vec<_> = context
                    .snapshot
                    .database(request.database)
                    .and_then(|db| db.leader())
                    .into_iter()
                    .collect();
                RoutingTable::new(
                    Arc::clone(context.snapshot),
                    request.database,
                    context.settings.ttl,
                    leader.clone(),
                    leader.clone(),
                    leader,
                )
            }
        }
        let plain = service("");
        let service = RoutingService::with_plugin(
            Arc::clone(plain.topology()),
            &config(""),
            Arc::new(LeaderOnly),
        )
        .expect("compiles");
        let table = service
            .table(&RouteRequest::new("neo4j"), &mut Rng::seeded(0))
            .expect("a table");
        let roles: Vec<_> = table.roles().map(|(r, _)| (r, table.names(r))).collect();
        assert_eq!(
            roles,
            [
                (Role::Write, vec!["a"]),
                (Role::Read, vec!["a"]),
                (Role::Route, vec!["a"])
            ]
        );
        assert_eq!(service.plugin().name(), "leader_only");
    }
}
