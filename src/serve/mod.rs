//! `tagroute serve`: the Bolt routing endpoint that unmodified Neo4j drivers ask for routing
//! tables, with its admin HTTP listener (feature `serve`).
//!
//! The protocol is [`bolt`](crate::bolt)'s, pure and without I/O; this module is the server
//! around it, on tokio:
//! - `listener`: the accept loop, the connection caps (overall and per peer), backing off when
//!   accepting fails, graceful shutdown;
//! - `peer`: who a client is for the per-peer limits;
//! - `connection`: one connection's I/O: TLS, the handshakes and login under a deadline,
//!   de-chunking under a size cap and a deadline per message, the idle deadline, the state
//!   machine, pipelined answers;
//! - [`routes`]: the one adapter to the routing module (tables, reloads);
//! - [`sources`]: the served topology composed from its base (the file, or the cluster
//!   followed by `poll`), the operator's [`overrides`] (kept in the [`state`] file) and the
//!   verdicts of the [`health`] checks;
//! - [`auth`], [`tls`], [`certificate`]: credentials from `--auth-file` and their checks on a
//!   pool of their own, certificates and their validity;
//! - [`admin`]: `/metrics`, `/healthz`, `/topology`, `/topology/updates`,
//!   `/topology/overrides`, `/reload`;
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
pub mod certificate;
mod connection;
pub mod health;
mod listener;
pub mod logging;
mod login;
pub mod metrics;
pub mod overrides;
mod peer;
mod poll;
pub mod reload;
pub mod routes;
pub mod sources;
pub mod state;
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
use crate::follow::{FollowSettings, Follower};
use auth::Credentials;
use health::HealthChecks;
use metrics::Metrics;
use routes::{LoadError, Routes};
use sources::{Origin, Sources};
use state::StateFile;

/// Where the served topology's base comes from.
#[derive(Clone, Debug)]
pub enum TopologySource {
    /// A topology file (JSON), read again when it changes.
    File(PathBuf),
    /// A live Neo4j cluster, polled every `interval`.
    Follow {
        /// The cluster and how to reach it.
        cluster: FollowSettings,
        /// How often it is polled.
        interval: Duration,
    },
}

/// Everything `tagroute serve` is told on its command line.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// The neo4j.conf whose policies and routing settings are served.
    pub config: PathBuf,
    /// Where the topology's base comes from: a file, or the cluster followed.
    pub topology: TopologySource,
    /// Where the operator's overrides are kept across restarts; `None`: nowhere (they last
    /// until the server stops).
    pub state_file: Option<PathBuf>,
    /// Health checks of every server of the cluster followed; `None`: none.
    pub health: Option<HealthChecks>,
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
    /// The most Bolt connections open at once from one peer (an IPv4 address or an IPv6 /64);
    /// `None`: half of `max_connections`.
    pub max_connections_per_peer: Option<usize>,
    /// A connection that sends nothing, or reads none of its answers, for this long is closed.
    pub idle_timeout: Duration,
    /// The TLS and Bolt handshakes and the login (HELLO, LOGON) must be done within this time.
    pub handshake_timeout: Duration,
    /// A message must arrive whole within this time of its first byte.
    pub message_timeout: Duration,
    /// The largest message a client may send, in bytes.
    pub max_message_size: usize,
    /// The highest Bolt version offered.
    pub max_bolt_version: Version,
    /// How often to look at the files for changes; `None`: only on SIGHUP and `POST /reload`.
    pub watch_interval: Option<Duration>,
    /// How long a shutdown waits for open connections to finish.
    pub drain_timeout: Duration,
    /// The most admin connections open at once; more are closed on accept.
    pub admin_max_connections: usize,
    /// An admin request's headers must arrive within this time (also the most an idle admin
    /// connection is kept).
    pub admin_header_timeout: Duration,
    /// An admin request's body must arrive within this time of its headers.
    pub admin_body_timeout: Duration,
    /// Password checks run at once, each on a thread of its own (argon2 takes 19 MiB and tens
    /// of milliseconds a check).
    pub auth_threads: usize,
    /// Password checks waiting for a thread; with the queue full a login is refused at once.
    pub auth_queue: usize,
    /// After a peer's failed login, its next is refused unchecked for this long, doubling with
    /// each failure in a row up to `auth_backoff_max`.
    pub auth_backoff: Duration,
    /// The longest a peer's failed logins shut it out.
    pub auth_backoff_max: Duration,
}

impl Settings {
    /// The defaults, serving `config` and the topology file `topology` on `127.0.0.1:7687` with
    /// the admin listener on `127.0.0.1:7475`, overrides kept in no file.
    pub fn new(config: PathBuf, topology: PathBuf) -> Settings {
        Settings::with_source(config, TopologySource::File(topology))
    }

    /// The defaults, serving `config` over the topology of the cluster `cluster`, polled every
    /// second, every server health-checked ([`HealthChecks::default`]).
    pub fn following(config: PathBuf, cluster: FollowSettings) -> Settings {
        let mut settings = Settings::with_source(
            config,
            TopologySource::Follow {
                cluster,
                interval: Duration::from_secs(1),
            },
        );
        settings.health = Some(HealthChecks::default());
        settings
    }

    fn with_source(config: PathBuf, topology: TopologySource) -> Settings {
        Settings {
            config,
            topology,
            state_file: None,
            health: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 7687)),
            advertise: Vec::new(),
            admin: Some(SocketAddr::from(([127, 0, 0, 1], 7475))),
            tls: None,
            auth_file: None,
            max_connections: 20_000,
            max_connections_per_peer: None,
            idle_timeout: Duration::from_secs(30 * 60),
            handshake_timeout: Duration::from_secs(10),
            message_timeout: Duration::from_secs(10),
            max_message_size: 64 * 1024,
            max_bolt_version: Version::V5_8,
            watch_interval: Some(Duration::from_secs(2)),
            drain_timeout: Duration::from_secs(10),
            admin_max_connections: 64,
            admin_header_timeout: Duration::from_secs(5),
            admin_body_timeout: Duration::from_secs(10),
            auth_threads: 1,
            auth_queue: 32,
            auth_backoff: Duration::from_millis(100),
            auth_backoff_max: Duration::from_secs(30),
        }
    }

    /// The per-peer connection cap in force: `max_connections_per_peer`, or half of
    /// `max_connections` (at least one).
    pub fn max_connections_per_peer(&self) -> usize {
        self.max_connections_per_peer
            .unwrap_or(self.max_connections / 2)
            .max(1)
    }

    /// Whether these settings can serve: a Bolt version the server speaks, health checks only
    /// of a cluster followed, nonzero intervals and counts.
    fn check(&self) -> Result<(), ServeError> {
        if !self.max_bolt_version.is_supported() {
            return Err(ServeError::Settings(format!(
                "Bolt {} is not a version this server speaks; it speaks {}",
                self.max_bolt_version,
                supported_versions()
            )));
        }
        if let TopologySource::Follow { interval, .. } = &self.topology
            && interval.is_zero()
        {
            return Err(ServeError::Settings(
                "the follow interval must be longer than zero".into(),
            ));
        }
        match (&self.health, &self.topology) {
            (Some(_), TopologySource::File(_)) => Err(ServeError::Settings(
                "health checks probe the servers of a cluster followed (--follow); a topology \
                 file does not say how to reach them"
                    .into(),
            )),
            (Some(checks), _) => checks.check().map_err(ServeError::Settings),
            (None, _) => Ok(()),
        }
    }
}

/// The Bolt versions the server speaks, as a list for messages: `4.4, 5.0, 5.1, ...`.
pub fn supported_versions() -> String {
    let versions: Vec<String> = Version::SUPPORTED.iter().map(Version::to_string).collect();
    versions.join(", ")
}

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// Several inputs do not load: each one's error, in the order the files are read
    /// (configuration and topology, auth file, TLS).
    Several(Vec<ServeError>),
    /// The configuration, topology or auth file does not load.
    Load(String),
    /// A setting the server cannot work with.
    Settings(String),
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
            ServeError::Several(errors) => {
                let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
                f.write_str(&messages.join("\n"))
            }
            ServeError::Load(message) | ServeError::Settings(message) => f.write_str(message),
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
    /// The base, the overrides and the health verdicts, composed into what `routes` serves.
    sources: std::sync::Mutex<Sources>,
    /// How following the cluster goes, when following one.
    following: Option<poll::Status>,
    credentials: ArcSwapOption<Credentials>,
    /// The password checks' threads and queue.
    verifier: auth::Verifier,
    /// The pause of peers after failed logins.
    backoff: auth::Backoff,
    /// The summary of logins refused for a full check queue.
    auth_busy: logging::Throttle,
    tls: Option<TlsAcceptor>,
    /// When the TLS certificate chain is valid.
    certificate: Option<certificate::Validity>,
    metrics: Metrics,
    next_connection: AtomicU64,
    /// Reloads one at a time, so that the files are read and swapped in together; the files'
    /// contents as last loaded.
    reloading: Mutex<reload::Loaded>,
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

    /// What is wrong with the TLS certificate now, if anything (for `/healthz`).
    fn certificate_warning(&self) -> Option<String> {
        self.certificate.as_ref().and_then(certificate_warning)
    }

    /// Whether logins are checked against an auth file.
    fn checks_credentials(&self) -> bool {
        self.settings.auth_file.is_some()
    }

    /// The sources, locked (a panic while they were held leaves them as they were: every change
    /// to them is made aside and swapped in whole).
    fn sources(&self) -> std::sync::MutexGuard<'_, Sources> {
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The home database of `user` in the auth file, if it gives one.
    fn home_database(&self, user: Option<&str>) -> Option<String> {
        let credentials = self.credentials.load();
        let home = credentials.as_ref()?.home_database(user?)?;
        Some(home.to_owned())
    }
}

/// A bound server, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    bolt: TcpListener,
    admin: Option<TcpListener>,
    /// The follower of the cluster, connected, when following one.
    follower: Option<Follower>,
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

    /// Reloads what changed of the configuration, the topology file and the auth file, all or
    /// nothing, keeping every override and health verdict; `source` labels the metric and the
    /// log line (`sighup`, `file`, `http`). Returns the epoch being served.
    pub async fn reload(&self, source: &'static str) -> Result<u64, String> {
        reload::reload(&self.shared, source).await
    }

    /// The metrics, rendered as Prometheus text.
    pub fn metrics(&self) -> String {
        self.shared.metrics.render()
    }

    /// The snapshot being served.
    pub fn snapshot(&self) -> Arc<crate::topology::Snapshot> {
        self.shared.routes.snapshot()
    }
}

impl Server {
    /// Loads the configuration, the topology's base (the file, or a first poll of the cluster)
    /// and the overrides of the state file, and binds the listeners.
    pub async fn bind(settings: Settings) -> Result<Server, ServeError> {
        // The files' state before they are read: a change while they load is seen later.
        let loaded = reload::Loaded::now(&settings);
        let Inputs {
            routes,
            sources,
            follower,
            credentials,
            tls,
        } = Inputs::load(&settings).await?;
        let (tls, validity) = tls.unzip();
        if let Some(warning) = validity.and_then(|v| certificate_warning(&v)) {
            tracing::warn!(%warning, "TLS certificate");
        }
        let bolt = bind(settings.listen).await?;
        let admin = match settings.admin {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        let mut metrics = Metrics::new();
        if let Some(validity) = validity {
            metrics.track_certificate(validity.not_after);
        }
        let following = match &settings.topology {
            TopologySource::Follow { cluster, interval } => {
                metrics.track_following();
                let status = poll::Status::new(*interval, cluster.timeout());
                status.succeeded(&metrics);
                Some(status)
            }
            TopologySource::File(_) => None,
        };
        if settings.health.is_some() {
            metrics.track_health();
        }
        metrics.set_epoch(routes.snapshot().epoch());
        let verifier = auth::Verifier::start(settings.auth_threads, settings.auth_queue)
            .map_err(|e| ServeError::Settings(format!("cannot start the password checks: {e}")))?;
        let backoff = auth::Backoff::new(
            auth::FREE_FAILURES,
            settings.auth_backoff,
            settings.auth_backoff_max,
        );
        let shared = Arc::new(Shared {
            settings,
            routes,
            sources: std::sync::Mutex::new(sources),
            following,
            credentials: ArcSwapOption::new(credentials.map(Arc::new)),
            verifier,
            backoff,
            auth_busy: logging::Throttle::per_second(),
            tls,
            certificate: validity,
            metrics,
            next_connection: AtomicU64::new(1),
            reloading: Mutex::new(loaded),
            shutdown: watch::channel(false).0,
        });
        Ok(Server {
            shared,
            bolt,
            admin,
            follower,
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
            follower,
        } = self;
        if let Some(admin) = admin {
            tokio::spawn(admin::serve(admin, Arc::clone(&shared)));
        }
        if let Some(interval) = shared.settings.watch_interval {
            tokio::spawn(reload::watch(Arc::clone(&shared), interval));
        }
        if let Some(follower) = follower {
            follow_on_a_thread(Arc::clone(&shared), follower);
        }
        listener::accept(bolt, shared).await;
    }
}

/// Follows the cluster, and checks its servers when asked, until shutdown, on a thread of
/// their own with a runtime of one thread. Their work is many small waits (a thousand probes
/// a second on a large cluster): on the serving runtime each would wake a worker, and that
/// worker often another, for nothing that serves a driver.
fn follow_on_a_thread(shared: Arc<Shared>, follower: Follower) {
    let TopologySource::Follow { interval, cluster } = &shared.settings.topology else {
        return;
    };
    let (interval, dial) = (*interval, health::Dial::new(cluster));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start following the cluster");
            return;
        }
    };
    let started = std::thread::Builder::new()
        .name("tagroute-follow".into())
        .spawn(move || {
            runtime.block_on(async {
                let checks =
                    shared.settings.health.clone().map(|checks| {
                        tokio::spawn(health::check(Arc::clone(&shared), checks, dial))
                    });
                poll::follow(Arc::clone(&shared), follower, interval).await;
                if let Some(checks) = checks {
                    let _ = checks.await;
                }
            });
        });
    if let Err(error) = started {
        tracing::error!(%error, "cannot start following the cluster");
    }
}

/// What `settings` would serve, as [`Server::bind`] loads it, without binding a listener: the
/// check behind `tagroute serve --check`. The error is the one `bind` would return, with every
/// input that does not load.
pub async fn check(settings: &Settings) -> Result<Checked, ServeError> {
    let inputs = Inputs::load(settings).await?;
    let snapshot = inputs.routes.snapshot();
    let certificate = inputs.tls.as_ref().map(|&(_, validity)| validity);
    Ok(Checked {
        policies: inputs.routes.policy_names(),
        servers: snapshot.servers().len(),
        databases: snapshot.databases().len(),
        users: inputs.credentials.as_ref().map(Credentials::len),
        certificate,
        certificate_warning: certificate.as_ref().and_then(certificate_warning),
    })
}

/// What a [`check`] found the inputs hold.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The policies the configuration defines, by name.
    pub policies: Vec<String>,
    /// The servers of the topology.
    pub servers: usize,
    /// The databases of the topology.
    pub databases: usize,
    /// The users of the auth file; `None` without one.
    pub users: Option<usize>,
    /// When the TLS certificate chain is valid; `None` without TLS.
    pub certificate: Option<certificate::Validity>,
    /// What is wrong with the certificate's validity now (expired, not yet valid, expiring
    /// soon), as the server would warn at start.
    pub certificate_warning: Option<String>,
}

/// The inputs a server serves, loaded: what [`Server::bind`] starts with and [`check`]
/// reports.
struct Inputs {
    routes: Routes,
    sources: Sources,
    /// The follower of the cluster, connected, when following one.
    follower: Option<Follower>,
    credentials: Option<Credentials>,
    tls: Option<(TlsAcceptor, certificate::Validity)>,
}

impl Inputs {
    /// Loads every input `settings` names; when some do not load, the error names each one
    /// that does not, not only the first.
    async fn load(settings: &Settings) -> Result<Inputs, ServeError> {
        settings.check()?;
        let served = load_served(settings).await;
        let credentials = settings
            .auth_file
            .as_deref()
            .map(|path| Credentials::load(path).map_err(|e| ServeError::Load(e.to_string())))
            .transpose();
        let tls = settings
            .tls
            .as_ref()
            .map(|(cert, key)| tls::acceptor(cert, key).map_err(ServeError::Tls))
            .transpose();
        match (served, credentials, tls) {
            (Ok((routes, sources, follower)), Ok(credentials), Ok(tls)) => Ok(Inputs {
                routes,
                sources,
                follower,
                credentials,
                tls,
            }),
            (served, credentials, tls) => {
                let errors: Vec<ServeError> = [served.err(), credentials.err(), tls.err()]
                    .into_iter()
                    .flatten()
                    .collect();
                Err(match <[ServeError; 1]>::try_from(errors) {
                    Ok([one]) => one,
                    Err(several) => ServeError::Several(several),
                })
            }
        }
    }
}

/// The configuration, the topology's base (the file, or a first poll of the cluster) and the
/// overrides of the state file, composed: the routes over them, the sources, the follower.
async fn load_served(
    settings: &Settings,
) -> Result<(Routes, Sources, Option<Follower>), ServeError> {
    let (config, origin, base, follower) = match &settings.topology {
        // Both files are read before either error is returned, so that one start (or
        // `serve --check`) tells everything wrong with them.
        TopologySource::File(path) => match (
            routes::load_config(&settings.config),
            routes::read_topology(path),
        ) {
            (Ok(config), Ok(base)) => (config, Origin::File, base, None),
            (Err(error), Ok(_)) | (Ok(_), Err(error)) => return Err(error.into()),
            (Err(config), Err(topology)) => {
                return Err(LoadError::Both(Box::new([config, topology])).into());
            }
        },
        TopologySource::Follow { cluster, .. } => {
            let config = routes::load_config(&settings.config)?;
            let mut follower = Follower::new(cluster.clone());
            let polled = follower
                .poll()
                .await
                .map_err(|e| ServeError::Load(format!("cannot follow the cluster: {e}")))?;
            tracing::info!(server = %polled.server, version = %polled.version, "following the cluster");
            (
                config,
                Origin::Cluster,
                polled.imported.spec,
                Some(follower),
            )
        }
    };
    let state = settings.state_file.clone().map(StateFile::new);
    let overrides = match &state {
        Some(file) => file.read().map_err(|e| ServeError::Load(e.to_string()))?,
        None => overrides::Overrides::new(),
    };
    if let Some(Err(warning)) = state.as_ref().map(StateFile::writable) {
        tracing::warn!(%warning, "overrides cannot be kept: posting one will be refused");
    }
    let interner = crate::topology::TagInterner::new();
    let checked = settings.health.is_some();
    let (sources, snapshot) = Sources::new(origin, base, overrides, state, checked, &interner)
        .map_err(|e| match &settings.topology {
            TopologySource::File(path) => ServeError::from(routes::topology_error(path, &e)),
            TopologySource::Follow { .. } => {
                ServeError::Load(format!("the cluster's topology is not valid: {e}"))
            }
        })?;
    let routes = Routes::new(
        &settings.config,
        &config,
        snapshot,
        settings.advertise.clone(),
    )?;
    Ok((routes, sources, follower))
}

/// The warning about a TLS certificate chain valid in `validity`, now.
fn certificate_warning(validity: &certificate::Validity) -> Option<String> {
    validity.warning(certificate::unix_now(), "the TLS certificate")
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
