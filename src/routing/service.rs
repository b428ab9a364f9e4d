//! The routing service: a live topology, the policies and settings of a configuration, and a
//! plugin, answering routing requests while the cluster changes and the configuration reloads.
//!
//! The policies (a generation of the [`PolicyRegistry`], compiled against the topology's
//! interner) and the routing settings are published together, as one generation behind an
//! `ArcSwap`, so a table never mixes the policies of one configuration with the settings of
//! another. Each table reads the topology's current snapshot once and is computed from it alone.
//! A reload that fails (the file does not load, a policy does not compile) changes nothing.
//!
//! ```
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
//! let config = Config::parse(conf, "neo4j.conf", Strictness::Default)?;
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
use super::table::{RouteRequest, RoutingTable};
use crate::Strictness;
use crate::config::{Config, RoutingSettings};
use crate::rng::Rng;
use crate::routing::policies::{Policies, PolicyRegistry, PolicySource, RegistryError, Reload};
use crate::topology::Topology;

/// The load-balancing policies of a configuration, ready for a [`PolicyRegistry`] (the built-in
/// `default` included when the file does not configure it).
pub fn policy_sources(config: &Config) -> Vec<PolicySource> {
    config
        .policies()
        .values()
        .map(|p| PolicySource {
            name: p.name.clone(),
            text: p.text.clone(),
            policy: p.policy.clone(),
        })
        .collect()
}

/// What one configuration says about routing: its compiled policies and its settings.
#[derive(Debug)]
struct Generation {
    policies: Arc<Policies>,
    settings: RoutingSettings,
}

/// Routing tables for a live cluster and a reloadable configuration. `Send + Sync`: share it.
pub struct RoutingService {
    topology: Arc<Topology>,
    registry: Arc<PolicyRegistry>,
    plugin: Arc<dyn RoutingPlugin>,
    current: ArcSwap<Generation>,
    writer: Mutex<()>,
}

impl fmt::Debug for RoutingService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutingService")
            .field("plugin", &self.plugin.name())
            .field("epoch", &self.topology.snapshot().epoch())
            .field("generation", &self.current.load().policies.generation())
            .finish_non_exhaustive()
    }
}

impl RoutingService {
    /// A service with the built-in [`ServerPolicies`] plugin, compiling `config`'s policies
    /// against the topology's interner.
    pub fn new(topology: Arc<Topology>, config: &Config) -> Result<RoutingService, RegistryError> {
        RoutingService::with_plugin(topology, config, Arc::new(ServerPolicies))
    }

    /// A service that routes through `plugin`.
    pub fn with_plugin(
        topology: Arc<Topology>,
        config: &Config,
        plugin: Arc<dyn RoutingPlugin>,
    ) -> Result<RoutingService, RegistryError> {
        let registry = Arc::new(PolicyRegistry::new(
            &policy_sources(config),
            topology.interner(),
        )?);
        let generation = Generation {
            policies: registry.load(),
            settings: config.routing().clone(),
        };
        Ok(RoutingService {
            topology,
            registry,
            plugin,
            current: ArcSwap::from_pointee(generation),
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
        let snapshot = self.topology.snapshot();
        let generation = self.current.load();
        let mut context = RouteContext {
            snapshot: &snapshot,
            policies: &generation.policies,
            settings: &generation.settings,
            rng,
        };
        self.plugin.route(request, &mut context)
    }

    /// Replaces the policies and settings with `config`'s, together. When a policy does not
    /// compile nothing changes. The report lists the policies removed (clients bound to them
    /// will fail), added and changed.
    pub fn reload(&self, config: &Config) -> Result<Reload, ReloadError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let report = self.registry.reload(&policy_sources(config))?;
        self.current.store(Arc::new(Generation {
            policies: self.registry.load(),
            settings: config.routing().clone(),
        }));
        Ok(report)
    }

    /// Loads the configuration file at `path` and [reloads](RoutingService::reload) it; a file
    /// that does not load changes nothing.
    pub fn reload_file(&self, path: &Path, strictness: Strictness) -> Result<Reload, ReloadError> {
        self.reload(&Config::load(path, strictness)?)
    }

    /// The live topology: apply updates through it.
    pub fn topology(&self) -> &Arc<Topology> {
        &self.topology
    }

    /// The policy registry, to share with a hot-path [`Router`](crate::router::Router). Reload
    /// through the service, which keeps the settings in step.
    pub fn registry(&self) -> &Arc<PolicyRegistry> {
        &self.registry
    }

    /// The current policies.
    pub fn policies(&self) -> Arc<Policies> {
        Arc::clone(&self.current.load().policies)
    }

    /// The current routing settings.
    pub fn settings(&self) -> RoutingSettings {
        self.current.load().settings.clone()
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
        };
        let spec = TopologySpec {
            servers,
            databases: vec![db],
        };
        let topology = Arc::new(Topology::new(&spec).expect("valid"));
        RoutingService::new(topology, &config(conf)).expect("compiles")
    }

    fn config(conf: &str) -> Config {
        Config::parse(conf, "neo4j.conf", Strictness::Default).expect("loads")
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
        assert_eq!(
            (service.settings().ttl, service.settings().shuffle),
            (Duration::from_secs(7), true)
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
        assert_eq!(service.settings().ttl, Duration::from_secs(300));
        assert_eq!(service.policies().generation(), 0);
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
