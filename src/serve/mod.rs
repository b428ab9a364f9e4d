//! `tagroute serve`: the Bolt routing endpoint that unmodified Neo4j drivers ask for routing
//! tables, with its admin HTTP listener (feature `serve`).
//!
//! The protocol is [`bolt`](crate::bolt)'s, pure and without I/O; this module is the server
//! around it, on tokio:
//! - `listener`: the accept loop, the connection cap, graceful shutdown;
//! - `connection`: one connection's I/O: TLS, the handshake under a deadline, de-chunking
//!   under a size cap, the idle deadline, the state machine, pipelined answers;
//! - [`routes`]: the one adapter to the routing module (tables, reloads, updates);
//! - [`auth`], [`tls`]: credentials from `--auth-file`, certificates;
//! - [`admin`]: `/metrics`, `/healthz`, `/topology`, `/topology/updates`, `/reload`;
//! - [`metrics`], [`reload`], [`updates`], [`logging`].
//!
//! ```no_run
//! use tagroute::serve::{Server, Settings};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = Settings::new("neo4j.conf".into(), "topology.json".into());
//! let server = Server::bind(settings).await?;
//! println!("Bolt on {}", server.bolt_address());
//! let shutdown = server.handle();
//! tokio::spawn(async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     shutdown.shutdown();
//! });
//! server.run().await;
//! # Ok(())
//! # }
//! ```

pub mod admin;
pub mod auth;
mod connection;
mod listener;
pub mod logging;
pub mod metrics;
pub mod reload;
pub mod routes;
pub mod tls;
pub mod updates;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Mutex, watch};
use tokio_rustls::TlsAcceptor;

use crate::bolt::Version;
use auth::Credentials;
use metrics::Metrics;
use routes::{LoadError, Routes};

/// Everything `tagroute serve` is told on its command line.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// The neo4j.conf whose policies and routing settings are served.
    pub config: PathBuf,
    /// The topology (JSON, DESIGN section 4).
    pub topology: PathBuf,
    /// Where the Bolt listener binds.
    pub listen: SocketAddr,
    /// Addresses to list as ROUTE servers (tagroute's own, as drivers reach it); empty: the
    /// database's routers.
    pub advertise: Vec<String>,
    /// Where the admin HTTP listener binds; `None`: no admin listener.
    pub admin: Option<SocketAddr>,
    /// A PEM certificate chain and private key: TLS on the Bolt listener.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Users and password hashes; `None`: every client is let in.
    pub auth_file: Option<PathBuf>,
    /// The most Bolt connections open at once; more are closed on accept.
    pub max_connections: usize,
    /// A connection that sends nothing, or reads none of its answers, for this long is closed.
    pub idle_timeout: Duration,
    /// The TLS and Bolt handshakes must be done within this time.
    pub handshake_timeout: Duration,
    /// The largest message a client may send, in bytes.
    pub max_message_size: usize,
    /// The highest Bolt version offered.
    pub max_bolt_version: Version,
    /// How often to look at the files for changes; `None`: only on SIGHUP and `POST /reload`.
    pub watch_interval: Option<Duration>,
    /// How long a shutdown waits for open connections to finish.
    pub drain_timeout: Duration,
}

impl Settings {
    /// The defaults, serving `config` and `topology` on `127.0.0.1:7687` with the admin
    /// listener on `127.0.0.1:7475`.
    pub fn new(config: PathBuf, topology: PathBuf) -> Settings {
        Settings {
            config,
            topology,
            listen: SocketAddr::from(([127, 0, 0, 1], 7687)),
            advertise: Vec::new(),
            admin: Some(SocketAddr::from(([127, 0, 0, 1], 7475))),
            tls: None,
            auth_file: None,
            max_connections: 20_000,
            idle_timeout: Duration::from_secs(30 * 60),
            handshake_timeout: Duration::from_secs(10),
            max_message_size: 64 * 1024,
            max_bolt_version: Version::V5_8,
            watch_interval: Some(Duration::from_secs(2)),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration, topology or auth file does not load.
    Load(String),
    /// The certificate or key does not work.
    Tls(tls::TlsError),
    /// A listener could not bind.
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Load(message) => f.write_str(message),
            ServeError::Tls(e) => e.fmt(f),
            ServeError::Bind { address, error } => write!(f, "cannot listen on {address}: {error}"),
        }
    }
}

impl std::error::Error for ServeError {}

impl From<LoadError> for ServeError {
    fn from(e: LoadError) -> ServeError {
        ServeError::Load(e.to_string())
    }
}

/// What every connection and the admin listener share.
pub(crate) struct Shared {
    settings: Settings,
    routes: Routes,
    credentials: ArcSwapOption<Credentials>,
    /// Argon2 verifications running at once (each takes 19 MiB and tens of milliseconds).
    verifying: auth::Gate,
    tls: Option<TlsAcceptor>,
    metrics: Metrics,
    next_connection: AtomicU64,
    /// Reloads one at a time, so that the files are read and swapped in together.
    reloading: Mutex<()>,
    shutdown: watch::Sender<bool>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("settings", &self.settings)
            .field("routes", &self.routes)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn connection_id(&self) -> String {
        format!(
            "bolt-{}",
            self.next_connection.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// A bound server, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    bolt: TcpListener,
    admin: Option<TcpListener>,
}

/// A handle to a running server: shut it down or reload it from another task.
#[derive(Clone, Debug)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// Stops accepting, lets open requests finish, and makes [`Server::run`] return.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }

    /// Reloads the configuration, topology and auth file together; `source` labels the
    /// metric and the log line (`sighup`, `file`, `http`). Returns the epoch being served.
    pub async fn reload(&self, source: &'static str) -> Result<u64, String> {
        reload::reload(&self.shared, source).await
    }

    /// The metrics, rendered as Prometheus text.
    pub fn metrics(&self) -> String {
        self.shared.metrics.render()
    }
}

impl Server {
    /// Loads the files and binds the listeners.
    pub async fn bind(settings: Settings) -> Result<Server, ServeError> {
        let routes = Routes::load(
            &settings.config,
            &settings.topology,
            settings.advertise.clone(),
        )?;
        let credentials = match &settings.auth_file {
            Some(path) => Some(Arc::new(
                Credentials::load(path).map_err(|e| ServeError::Load(e.to_string()))?,
            )),
            None => None,
        };
        let tls = match &settings.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key).map_err(ServeError::Tls)?),
            None => None,
        };
        let bolt = bind(settings.listen).await?;
        let admin = match settings.admin {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        let metrics = Metrics::new();
        metrics.set_epoch(routes.snapshot().epoch());
        let shared = Arc::new(Shared {
            settings,
            routes,
            credentials: ArcSwapOption::new(credentials),
            verifying: auth::Gate::new(2),
            tls,
            metrics,
            next_connection: AtomicU64::new(1),
            reloading: Mutex::new(()),
            shutdown: watch::channel(false).0,
        });
        Ok(Server {
            shared,
            bolt,
            admin,
        })
    }

    /// Where the Bolt listener is bound (the port chosen when asked for port 0).
    pub fn bolt_address(&self) -> SocketAddr {
        self.bolt
            .local_addr()
            .unwrap_or(self.shared.settings.listen)
    }

    /// Where the admin listener is bound, if there is one.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|a| a.local_addr().ok())
    }

    /// A handle for shutting down and reloading.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serves until [`Handle::shutdown`], then waits for open connections to finish (at most
    /// the drain timeout).
    pub async fn run(self) {
        let Server {
            shared,
            bolt,
            admin,
        } = self;
        if let Some(admin) = admin {
            tokio::spawn(admin::serve(admin, Arc::clone(&shared)));
        }
        if let Some(interval) = shared.settings.watch_interval {
            tokio::spawn(reload::watch(Arc::clone(&shared), interval));
        }
        listener::accept(bolt, shared).await;
    }
}

/// A listener with a backlog deep enough for a fleet reconnecting at once.
async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    let listen = || {
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(address)?;
        socket.listen(4096)
    };
    listen().map_err(|error| ServeError::Bind { address, error })
}
