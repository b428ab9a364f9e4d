//! Routing: which servers a client of a database may write to, read from and route through.
//!
//! [`roles`] computes the role sets of DESIGN section 5 before any policy; routing tables
//! apply a policy to the readers and order the result; the hot-path [`router`] caches
//! the policy's readers per snapshot.

mod error;
mod plugin;
pub mod policies;
mod roles;
pub mod router;
mod service;
mod table;

pub use error::{ReloadError, RoutingError, UnknownDatabase};
pub use plugin::{RouteContext, RoutingPlugin, ServerPolicies};
pub use roles::{Roles, readers_into, roles, usable};
pub use service::{RoutingService, policy_sources};
pub use table::{Role, RouteRequest, RoutingTable};
