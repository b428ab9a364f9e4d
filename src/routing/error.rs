//! Why a routing table could not be given, and why a reload was refused.
//!
//! Messages follow the crate's convention: lowercase, no final period, user input in backticks.
//! A name that does not exist comes with the names that do, and the closest one.

use std::fmt;
use std::sync::Arc;

use crate::config::ConfigErrors;
use crate::routing::policies::PolicyError;
use crate::suggest::UnknownName;
use crate::topology::ServerIdx;
use crate::vm::EvalError;

/// Why no routing table was given.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RoutingError {
    /// The client asked for a database the topology does not have.
    UnknownDatabase(UnknownName),
    /// The client asked for a policy that does not exist.
    UnknownPolicy(UnknownName),
    /// The database has no usable writer, reader or router (Neo4j refuses such a table too).
    EmptyTable {
        /// The database.
        database: String,
    },
    /// A plugin put a server into a table that is not one of its snapshot's servers.
    ForeignServer {
        /// The index it used.
        server: ServerIdx,
        /// The number of servers of the snapshot.
        servers: usize,
    },
    /// A policy could not be evaluated on the snapshot (compiled against another topology).
    Evaluation(EvalError),
    /// An embedder's plugin failed for a reason of its own.
    Plugin(Arc<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for RoutingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoutingError::UnknownDatabase(e) => e.fmt(f),
            RoutingError::UnknownPolicy(e) => e.fmt(f),
            RoutingError::EmptyTable { database } => {
                write!(f, "routing table for database `{database}` is empty")
            }
            RoutingError::ForeignServer { server, servers } => write!(
                f,
                "a routing table names server {server}, the snapshot has {servers} servers"
            ),
            RoutingError::Evaluation(e) => e.fmt(f),
            RoutingError::Plugin(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RoutingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RoutingError::UnknownDatabase(e) => Some(e),
            RoutingError::UnknownPolicy(e) => Some(e),
            RoutingError::Evaluation(e) => Some(e),
            RoutingError::Plugin(e) => Some(e.as_ref()),
            RoutingError::EmptyTable { .. } | RoutingError::ForeignServer { .. } => None,
        }
    }
}

impl From<EvalError> for RoutingError {
    fn from(e: EvalError) -> RoutingError {
        RoutingError::Evaluation(e)
    }
}

/// Why a reload was refused; the service keeps serving what it had.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadError {
    /// The new configuration does not load.
    Config(ConfigErrors),
    /// One of its policies does not compile.
    Policy(PolicyError),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Config(e) => write!(f, "the configuration was not reloaded: {e}"),
            ReloadError::Policy(e) => write!(f, "the configuration was not reloaded: {e}"),
        }
    }
}

impl std::error::Error for ReloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReloadError::Config(e) => Some(e),
            ReloadError::Policy(e) => Some(e),
        }
    }
}

impl From<ConfigErrors> for ReloadError {
    fn from(e: ConfigErrors) -> ReloadError {
        ReloadError::Config(e)
    }
}

impl From<PolicyError> for ReloadError {
    fn from(e: PolicyError) -> ReloadError {
        ReloadError::Policy(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suggest::NameKind;

    #[test]
    fn unknown_databases_name_the_known_ones_and_the_closest() {
        let unknown = UnknownName::new(NameKind::Database, "neo4k", ["orders", "neo4j"]);
        assert_eq!(
            RoutingError::UnknownDatabase(unknown).to_string(),
            "unknown database `neo4k`; the databases are neo4j, orders (did you mean `neo4j`?)"
        );
        let none = UnknownName::new(NameKind::Database, "graph", [] as [&str; 0]);
        assert_eq!(
            none.to_string(),
            "unknown database `graph`; the topology has no database"
        );
    }

    #[test]
    fn an_empty_table_names_its_database() {
        let empty = RoutingError::EmptyTable {
            database: "orders".into(),
        };
        assert_eq!(
            empty.to_string(),
            "routing table for database `orders` is empty"
        );
    }

    #[test]
    fn a_plugins_own_error_speaks_for_itself() {
        let inner = UnknownName::new(NameKind::Database, "x", [] as [&str; 0]);
        let error = RoutingError::Plugin(Arc::new(inner.clone()));
        assert_eq!(error.to_string(), inner.to_string());
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source, Some(inner.to_string()));
    }
}
