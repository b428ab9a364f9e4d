//! Following a live Neo4j 5 cluster: its servers and databases read from the cluster itself, as
//! `SHOW SERVERS YIELD *` and `SHOW DATABASES YIELD *` on the `system` database, converted by the
//! topology import (feature `serve`).
//!
//! ```text
//! Seeds ─▶ Connection (TCP, TLS, handshake, HELLO/LOGON) ─▶ both queries, pipelined ─▶ records
//!                                          the bytes of the columns read, kept │
//!                               same bytes as the last good poll? ─ yes ─▶ poll_change: None
//!                                                                        no │ topology::import
//! Follower::poll, poll_change ◀───────────────────────────── Polled { Imported, server }
//! ```
//!
//! The protocol is [`bolt::client`](crate::bolt::client)'s, without I/O; this module is the tokio
//! connection around it ([`connection`]) and the choice of server: a [`Follower`] keeps its
//! connection open from one poll to the next and, when the server fails, tries the seeds in
//! order and then the other members the last good poll listed (their `SHOW SERVERS` addresses,
//! so a cluster whose seeds are all gone is still followed). Records are checked as they
//! stream, and only the bytes of the columns the import reads ([`SERVER_COLUMNS`],
//! [`DATABASE_COLUMNS`]) are kept; [`Follower::poll_change`] decodes and imports them only when
//! they differ from the last good poll's.
//!
//! [`SERVER_COLUMNS`]: crate::topology::import::SERVER_COLUMNS
//! [`DATABASE_COLUMNS`]: crate::topology::import::DATABASE_COLUMNS
//!
//! ```no_run
//! use std::time::Duration;
//! use tagroute::follow::{Credentials, FollowSettings, Follower};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = FollowSettings::new("neo4j://10.0.0.1:7687,10.0.0.2:7687".parse()?, None)?
//!     .with_credentials(Credentials::new("neo4j", "secret"))
//!     .with_timeout(Duration::from_secs(2));
//! let mut follower = Follower::new(settings);
//! let polled = follower.poll().await?;
//! println!("{} servers from {}", polled.imported.spec.servers.len(), polled.server);
//! # Ok(())
//! # }
//! ```

pub mod connection;
mod records;
mod seeds;
mod socket;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::bolt::client::ClientOptions;
use crate::bolt::{Auth, Version};
use crate::topology::import::{DATABASE_COLUMNS, ImportError, Imported, SERVER_COLUMNS};
use connection::{Connection, ConnectionError, Query};
use records::PollRecords;
pub use seeds::{DEFAULT_PORT, Seeds, SeedsError};

/// Where `SHOW SERVERS` is in [`QUERIES`].
const SHOW_SERVERS: usize = 0;

/// The queries of one poll, on the `system` database.
const QUERIES: [Query<'static>; 2] = [
    Query {
        text: "SHOW SERVERS YIELD *",
        columns: &SERVER_COLUMNS,
    },
    Query {
        text: "SHOW DATABASES YIELD *",
        columns: &DATABASE_COLUMNS,
    },
];

/// How many members beyond the seeds one poll tries when every seed fails.
const MEMBERS_PER_POLL: usize = 3;

/// A user and password for basic authentication. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }

    /// `user` with the password in the file at `path` (one trailing line break dropped).
    ///
    /// # Errors
    /// A message naming the file when it cannot be read.
    pub fn from_file(user: impl Into<String>, path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the password: {e}", path.display()))?;
        let password = text
            .strip_suffix('\n')
            .map(|p| p.strip_suffix('\r').unwrap_or(p))
            .unwrap_or(&text);
        Ok(Credentials::new(user, password))
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    fn auth(&self) -> Auth {
        Auth {
            scheme: Some("basic".to_owned()),
            principal: Some(self.user.clone()),
            credentials: Some(self.password.clone()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// What to follow and how.
#[derive(Clone)]
pub struct FollowSettings {
    seeds: Seeds,
    tls: Option<TlsConnector>,
    credentials: Option<Credentials>,
    timeout: Duration,
    client: ClientOptions,
}

impl fmt::Debug for FollowSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FollowSettings")
            .field("seeds", &self.seeds)
            .field("tls", &self.tls.is_some())
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl FollowSettings {
    /// Following `seeds`, over TLS verified against the CA certificates in `tls_ca` (PEM) when
    /// one is given or the scheme is `neo4j+s`; without credentials (scheme `none`), each
    /// server given 5 seconds to connect and answer.
    ///
    /// # Errors
    /// A message when the CA file is unusable, or when the scheme asks for TLS without one
    /// (tagroute carries no system trust store).
    pub fn new(seeds: Seeds, tls_ca: Option<&Path>) -> Result<Self, String> {
        let tls = match tls_ca {
            Some(ca) => Some(connection::tls_connector(ca)?),
            None if seeds.tls() => {
                return Err(
                    "a `+s` scheme needs the CA certificate to verify the servers with".into(),
                );
            }
            None => None,
        };
        Ok(FollowSettings {
            seeds,
            tls,
            credentials: None,
            timeout: Duration::from_secs(5),
            client: ClientOptions::default(),
        })
    }

    /// The same, authenticating with `credentials`.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The same, each server given `timeout` to connect and to answer a poll.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same, with these limits on what a server may send.
    pub fn with_client_options(mut self, client: ClientOptions) -> Self {
        self.client = client;
        self
    }

    /// The seeds.
    pub fn seeds(&self) -> &Seeds {
        &self.seeds
    }

    /// The TLS client configuration, when the cluster is reached over TLS.
    pub fn tls(&self) -> Option<&TlsConnector> {
        self.tls.as_ref()
    }

    /// How long each server is given to connect and to answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How to log in: with the credentials, else without authentication.
    pub fn auth(&self) -> Auth {
        self.credentials
            .as_ref()
            .map(Credentials::auth)
            .unwrap_or_default()
    }

    /// The limits of every connection to the cluster.
    pub fn client_options(&self) -> ClientOptions {
        self.client
    }
}

/// One good poll: the cluster as its records describe it, and who said so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Polled {
    /// The address of the server that answered.
    pub server: String,
    /// The Bolt version spoken with it.
    pub version: Version,
    /// The topology, aliases, default database and notes.
    pub imported: Imported,
}

/// Why a poll got no topology.
#[derive(Debug)]
#[non_exhaustive]
pub enum PollError {
    /// No server answered: each one tried, with why.
    Unreachable(Vec<(String, ConnectionError)>),
    /// A server answered with records the import refuses.
    Import {
        /// The server.
        server: String,
        /// Why.
        error: ImportError,
    },
}

impl fmt::Display for PollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollError::Unreachable(attempts) => {
                f.write_str("no server of the cluster answered")?;
                for (i, (server, error)) in attempts.iter().enumerate() {
                    write!(f, "{} {server}: {error}", if i == 0 { ":" } else { ";" })?;
                }
                Ok(())
            }
            PollError::Import { server, error } => {
                write!(f, "the records of {server} do not import: {error}")
            }
        }
    }
}

impl std::error::Error for PollError {}

/// Polls a cluster, keeping its connection from one poll to the next.
#[derive(Debug)]
pub struct Follower {
    settings: FollowSettings,
    open: Option<(String, Connection)>,
    /// The Bolt addresses of the last good poll's servers, seeds left out.
    members: Vec<String>,
    /// Where the next poll starts among `members`, so that polls try each in turn.
    next_member: usize,
    /// The records of the last good poll; `None` before one, or after one did not import.
    last: Option<PollRecords>,
    /// The records of the poll under way.
    reading: PollRecords,
}

impl Follower {
    /// A follower that has not connected yet.
    pub fn new(settings: FollowSettings) -> Self {
        Follower {
            settings,
            open: None,
            members: Vec::new(),
            next_member: 0,
            last: None,
            reading: PollRecords::default(),
        }
    }

    /// The address of the server the open connection is to, if one is open.
    pub fn server(&self) -> Option<&str> {
        self.open.as_ref().map(|(server, _)| server.as_str())
    }

    /// Reads the cluster once and imports it: on the open connection, else on the first seed
    /// that answers, else on up to three other members of the last good poll.
    ///
    /// # Errors
    /// A [`PollError`]: nobody answered, or the records do not import.
    pub async fn poll(&mut self) -> Result<Polled, PollError> {
        let (server, version) = self.read().await?;
        self.import(server, version)
    }

    /// Reads the cluster once, as [`poll`](Self::poll) does, and imports it only when it
    /// changed: `None` when every record holds what the last good poll's held, byte for byte
    /// in the columns the import reads (the other columns, such as `lastCommittedTxn`, change
    /// all the time and matter not). A follower that polls every second pays for decoding,
    /// importing and comparing a topology only when the cluster changed.
    ///
    /// # Errors
    /// A [`PollError`]: nobody answered, or the records do not import.
    pub async fn poll_change(&mut self) -> Result<Option<Polled>, PollError> {
        let (server, version) = self.read().await?;
        if self.last.as_ref() == Some(&self.reading) {
            return Ok(None);
        }
        self.import(server, version).map(Some)
    }

    /// Forgets the last good poll, so that the next [`poll_change`](Self::poll_change)
    /// imports what it reads: for a caller that refused what the last poll imported.
    pub fn forget(&mut self) {
        self.last = None;
    }

    /// Closes the open connection, if any, with GOODBYE.
    pub async fn close(&mut self) {
        if let Some((_, connection)) = self.open.take() {
            connection.close().await;
        }
    }

    /// Reads the records of a poll into `reading` from the first server that answers, whose
    /// connection is then kept open; returns that server and the Bolt version spoken.
    async fn read(&mut self) -> Result<(String, Version), PollError> {
        let mut attempts = Vec::new();
        if let Some((server, mut connection)) = self.open.take() {
            match self.read_on(&mut connection).await {
                Ok(()) => return Ok(self.keep(server, connection)),
                Err(e) => attempts.push((server, e)),
            }
        }
        for server in self.candidates() {
            if attempts.iter().any(|(tried, _)| *tried == server) {
                continue;
            }
            match self.connect_and_read(&server).await {
                Ok(connection) => return Ok(self.keep(server, connection)),
                Err(e) => attempts.push((server, e)),
            }
        }
        Err(PollError::Unreachable(attempts))
    }

    fn keep(&mut self, server: String, connection: Connection) -> (String, Version) {
        let version = connection.version();
        self.open = Some((server.clone(), connection));
        (server, version)
    }

    /// The seeds, then up to [`MEMBERS_PER_POLL`] members, from where the last poll stopped.
    fn candidates(&mut self) -> Vec<String> {
        let mut candidates = self.settings.seeds.addresses().to_vec();
        let n = self.members.len();
        let take = n.min(MEMBERS_PER_POLL);
        candidates.extend(
            (0..take)
                .filter_map(|i| self.members.get((self.next_member + i) % n))
                .cloned(),
        );
        if n > 0 {
            self.next_member = (self.next_member + take) % n;
        }
        candidates
    }

    async fn connect_and_read(&mut self, server: &str) -> Result<Connection, ConnectionError> {
        let auth = self.settings.auth();
        let open = Connection::open(
            server,
            self.settings.tls.as_ref(),
            &auth,
            self.settings.client,
        );
        let mut connection = timeout(self.settings.timeout, open)
            .await
            .map_err(|_| timed_out(self.settings.timeout))??;
        self.read_on(&mut connection).await?;
        Ok(connection)
    }

    /// Runs the queries of a poll on `connection`, their records read into `reading`.
    async fn read_on(&mut self, connection: &mut Connection) -> Result<(), ConnectionError> {
        let reading = &mut self.reading;
        reading.clear();
        let queries = connection.queries("system", &QUERIES, |query, record| {
            reading.push(query, record)
        });
        timeout(self.settings.timeout, queries)
            .await
            .map_err(|_| timed_out(self.settings.timeout))?
    }

    /// Imports the records just read from `server`; when they import, they are the last good
    /// poll's, and their servers the members to try next.
    fn import(&mut self, server: String, version: Version) -> Result<Polled, PollError> {
        let columns = QUERIES.map(|query| query.columns);
        let imported =
            match self
                .reading
                .import(SHOW_SERVERS, &columns, &self.settings.client.limits)
            {
                Ok(imported) => imported,
                Err(error) => {
                    self.open = None;
                    self.last = None;
                    return Err(PollError::Unreachable(vec![(server, error)]));
                }
            };
        let imported = match imported {
            Ok(imported) => imported,
            Err(error) => {
                self.last = None;
                return Err(PollError::Import { server, error });
            }
        };
        let last = self.last.get_or_insert_with(PollRecords::default);
        std::mem::swap(last, &mut self.reading);
        let seeds = self.settings.seeds.addresses();
        self.members = imported
            .spec
            .servers
            .iter()
            .map(|s| s.address.clone())
            .filter(|address| !seeds.contains(address))
            .collect();
        self.next_member %= self.members.len().max(1);
        Ok(Polled {
            server,
            version,
            imported,
        })
    }
}

fn timed_out(after: Duration) -> ConnectionError {
    ConnectionError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no answer within {after:?}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follower(seeds: &str, members: &[&str]) -> Follower {
        let settings = FollowSettings::new(seeds.parse().unwrap(), None).unwrap();
        let mut follower = Follower::new(settings);
        follower.members = members.iter().map(|m| (*m).to_owned()).collect();
        follower
    }

    #[test]
    fn after_the_seeds_each_poll_tries_the_next_three_members() {
        let mut many = follower("neo4j://a:1,b:1", &["m1:1", "m2:1", "m3:1", "m4:1"]);
        assert_eq!(many.candidates(), ["a:1", "b:1", "m1:1", "m2:1", "m3:1"]);
        assert_eq!(many.candidates(), ["a:1", "b:1", "m4:1", "m1:1", "m2:1"]);
        let mut few = follower("neo4j://a:1", &["m1:1"]);
        assert_eq!(few.candidates(), ["a:1", "m1:1"]);
        assert_eq!(few.candidates(), ["a:1", "m1:1"]);
        assert_eq!(follower("neo4j://a:1", &[]).candidates(), ["a:1"]);
    }

    #[test]
    fn a_tls_scheme_needs_a_ca_and_a_password_file_loses_its_line_break() {
        let seeds: Seeds = "neo4j+s://a:1".parse().unwrap();
        assert_eq!(
            FollowSettings::new(seeds, None).unwrap_err(),
            "a `+s` scheme needs the CA certificate to verify the servers with"
        );
        let missing = Path::new("/nonexistent/ca.pem");
        let seeds: Seeds = "neo4j://a:1".parse().unwrap();
        assert!(
            FollowSettings::new(seeds, Some(missing))
                .unwrap_err()
                .starts_with("/nonexistent/ca.pem: cannot read the CA certificates")
        );
        let dir = std::env::temp_dir().join(format!("tagroute-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (text, password) in [
            ("pw\n", "pw"),
            ("pw\r\n", "pw"),
            ("pw", "pw"),
            ("p w\n\n", "p w\n"),
        ] {
            let file = dir.join("password");
            std::fs::write(&file, text).unwrap();
            let credentials = Credentials::from_file("neo4j", &file).unwrap();
            assert_eq!(credentials, Credentials::new("neo4j", password), "{text:?}");
            assert!(!format!("{credentials:?}").contains("pw"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
