//! Routing: which servers a client of a database may write to, read from and route through.
//!
//! [`RoutingService`] is the front door: the one publisher of a configuration's compiled
//! [`Policies`] and routing settings (one [`Generation`]), the maker of routing tables through its
//! [`RoutingPlugin`], and the maker of hot-path routers ([`router`]) that read the same
//! generation. [`roles`] (defined beside the settings it reads, in [`config`](crate::config)) computes the
//! role sets of docs/routing.md before any policy; routing
//! tables apply a policy to the readers and order the result; the hot-path [`router`] caches the
//! policy's readers per snapshot and generation.

mod error;
mod plugin;
pub mod policies;
pub mod router;
mod service;
mod table;

pub(crate) use crate::config::readers_into;
pub use crate::config::{Roles, roles, roles_into};
pub use error::{ReloadError, RoutingError};
pub use plugin::{RouteContext, RoutingPlugin, ServerPolicies};
pub use policies::{CompiledPolicy, Policies, PolicyError, PolicyId, Reload};
pub use service::{Generation, RoutingService};
pub use table::{Role, RouteRequest, RoutingTable, TableScratch};
