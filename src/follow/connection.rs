//! One client connection to a Neo4j server: TCP, TLS when asked, the handshake, HELLO (and
//! LOGON), then pipelined queries whose records are handed on, undecoded, as they arrive.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::bolt::client::{Client, ClientError, ClientOptions, Event, RecordFields};
use crate::bolt::handshake::{self, HandshakeError, Version};
use crate::bolt::packstream::{Map, Value};
use crate::bolt::{Auth, Failure, RequestKind};

use super::socket::Socket;

/// What tagroute names itself in HELLO.
pub const USER_AGENT: &str = concat!("tagroute/", env!("CARGO_PKG_VERSION"));

/// Why talking to one server failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectionError {
    /// Connecting, reading or writing failed.
    Io(io::Error),
    /// The TLS handshake failed, or the host is no TLS server name.
    Tls(String),
    /// The Bolt handshake failed.
    Handshake(HandshakeError),
    /// The server sent something that is not a valid answer.
    Protocol(ClientError),
    /// The server answered FAILURE.
    Failure {
        /// The request that failed.
        request: RequestKind,
        /// Why.
        failure: Failure,
    },
    /// The server ignored a request, as it does only after a FAILURE.
    Ignored {
        /// The request ignored.
        request: RequestKind,
    },
    /// The server closed the connection before answering.
    Closed,
    /// RUN's SUCCESS has no `fields` list of strings.
    NoFields,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Io(e) => e.fmt(f),
            ConnectionError::Tls(message) => write!(f, "TLS: {message}"),
            ConnectionError::Handshake(e) => e.fmt(f),
            ConnectionError::Protocol(e) => e.fmt(f),
            ConnectionError::Failure { request, failure } => write!(f, "{request}: {failure}"),
            ConnectionError::Ignored { request } => write!(f, "the server ignored {request}"),
            ConnectionError::Closed => f.write_str("the server closed the connection"),
            ConnectionError::NoFields => f.write_str("RUN's SUCCESS names no `fields`"),
        }
    }
}

impl std::error::Error for ConnectionError {}

impl From<io::Error> for ConnectionError {
    fn from(e: io::Error) -> Self {
        ConnectionError::Io(e)
    }
}

impl From<ClientError> for ConnectionError {
    fn from(e: ClientError) -> Self {
        ConnectionError::Protocol(e)
    }
}

/// A TLS client configuration trusting the CA certificates in `ca` (PEM), for `neo4j+s://`.
///
/// # Errors
/// A message naming the file when it cannot be read or holds no certificate.
pub fn tls_connector(ca: &Path) -> Result<TlsConnector, String> {
    let at = |message: String| format!("{}: {message}", ca.display());
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(ca)
        .map_err(|e| at(format!("cannot read the CA certificates: {e}")))?;
    for certificate in certificates {
        let certificate = certificate.map_err(|e| at(format!("not a PEM certificate: {e}")))?;
        roots
            .add(certificate)
            .map_err(|e| at(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(at("no certificate in the file".into()));
    }
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| at(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// TCP, and TLS when asked.
async fn dial(address: &str, tls: Option<&TlsConnector>) -> Result<Socket, ConnectionError> {
    let tcp = TcpStream::connect(address).await?;
    tcp.set_nodelay(true)?;
    let Some(connector) = tls else {
        return Ok(Socket::plain(tcp)?);
    };
    let name = server_name(address)?;
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| ConnectionError::Tls(e.to_string()))?;
    Ok(Socket::tls(tls)?)
}

/// An open connection, ready for queries once logged in.
///
/// Its socket is watched by the runtime only while the connection waits for it, so a kept
/// connection costs nothing at rest, and a request can be sent now
/// ([`ask_reset`](Self::ask_reset)) and its answer read later
/// ([`answered`](Self::answered)) without a wake-up in between.
pub struct Connection {
    socket: Socket,
    client: Client,
    /// Requests written by the client and not yet taken by the socket.
    out: Vec<u8>,
    /// What each read fills: it starts small (a kept connection mostly reads short summaries)
    /// and doubles, up to [`MAX_READ`], while reads fill it.
    buffer: Box<[u8]>,
}

/// The first size of a connection's read buffer.
const FIRST_READ: usize = 1024;

/// The most one read of a connection takes.
const MAX_READ: usize = 64 * 1024;

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("version", &self.client.version())
            .finish_non_exhaustive()
    }
}

/// One query of a pipelined batch: its text and the columns to read from its records.
#[derive(Clone, Copy, Debug)]
pub struct Query<'q> {
    /// The Cypher text.
    pub text: &'q str,
    /// The columns read into the records; the others are skipped undecoded.
    pub columns: &'q [&'q str],
}

impl Connection {
    /// Connects to `address` (`host:port`), over TLS when `tls` is given, and authenticates.
    ///
    /// # Errors
    /// A [`ConnectionError`]: the connection is of no use.
    pub async fn open(
        address: &str,
        tls: Option<&TlsConnector>,
        auth: &Auth,
        options: ClientOptions,
    ) -> Result<Connection, ConnectionError> {
        let mut connection = Connection::connect(address, tls, options).await?;
        connection.login(auth).await?;
        Ok(connection)
    }

    /// Connects to `address`, over TLS when `tls` is given, and agrees on a Bolt version: all a
    /// health check asks of a server that is not yet known to answer. [`login`](Self::login)
    /// comes next.
    ///
    /// # Errors
    /// A [`ConnectionError`]: the server cannot be reached or does not speak Bolt.
    pub async fn connect(
        address: &str,
        tls: Option<&TlsConnector>,
        options: ClientOptions,
    ) -> Result<Connection, ConnectionError> {
        let mut connection = Connection {
            socket: dial(address, tls).await?,
            client: Client::new(Version::V5_8, options),
            out: handshake::proposal(Version::V5_8).to_vec(),
            buffer: vec![0; FIRST_READ].into_boxed_slice(),
        };
        let mut reply = [0; 4];
        let mut got = 0;
        while got < reply.len() {
            connection.flush().await?;
            let n = connection
                .wait_for(|c| c.socket.read(reply.get_mut(got..).unwrap_or_default()))
                .await?;
            if n == 0 {
                return Err(ConnectionError::Closed);
            }
            got += n;
        }
        let version =
            handshake::accepted(reply, Version::V5_8).map_err(ConnectionError::Handshake)?;
        connection.client = Client::new(version, options);
        Ok(connection)
    }

    /// HELLO, and LOGON from Bolt 5.1, with `auth`.
    ///
    /// # Errors
    /// A [`ConnectionError`]; after one, the connection is of no use.
    pub async fn login(&mut self, auth: &Auth) -> Result<(), ConnectionError> {
        self.client.hello(USER_AGENT, auth, &mut self.out);
        while self.client.pending() > 0 {
            self.summary().await?;
        }
        Ok(())
    }

    /// RESET, answered: the server is there and serving its Bolt connections. How a health
    /// check asks a server again on the connection it keeps.
    ///
    /// # Errors
    /// A [`ConnectionError`]; after one, the connection is of no use.
    pub async fn reset(&mut self) -> Result<(), ConnectionError> {
        self.ask_reset()?;
        self.summary().await?;
        Ok(())
    }

    /// Sends RESET without waiting for its answer, which [`answered`](Self::answered) or
    /// [`reset`](Self::reset)'s wait then reads.
    ///
    /// # Errors
    /// A [`ConnectionError`]; after one, the connection is of no use.
    pub fn ask_reset(&mut self) -> Result<(), ConnectionError> {
        self.client.reset(&mut self.out);
        match self.try_flush() {
            Err(e) if !would_block(&e) => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Whether the request sent last is answered by what has arrived, without waiting: the
    /// answer's metadata, or `None` while it is still to come (then [`answer`] waits for it).
    ///
    /// # Errors
    /// A [`ConnectionError`]: a FAILURE or IGNORED, the server closing, or something that is
    /// not an answer; after one, the connection is of no use.
    ///
    /// [`answer`]: Self::answer
    pub fn answered(&mut self) -> Result<Option<Map>, ConnectionError> {
        loop {
            if let Some(summary) = self.next_summary()? {
                return Ok(Some(summary));
            }
            match self.try_flush().and_then(|()| self.try_read()) {
                Ok(()) => {}
                Err(e) if would_block(&e) => return Ok(None),
                Err(e) => return Err(closed(e)),
            }
        }
    }

    /// Waits for the answer to the request sent last: its metadata.
    ///
    /// # Errors
    /// A [`ConnectionError`]: a FAILURE or IGNORED, the server closing, or something that is
    /// not an answer; after one, the connection is of no use.
    pub async fn answer(&mut self) -> Result<Map, ConnectionError> {
        self.summary().await
    }

    /// The negotiated Bolt version.
    pub fn version(&self) -> Version {
        self.client.version()
    }

    /// Runs `queries` on `db`, pipelined (every RUN and PULL in one write), and hands `each`
    /// every record as it is read: the query's position in `queries`, and the record's cells
    /// of the query's `columns`, undecoded. Every record is checked whole as it arrives.
    ///
    /// # Errors
    /// A [`ConnectionError`], or the first error `each` returns; after one, the connection is
    /// of no use.
    pub async fn queries<const N: usize>(
        &mut self,
        db: &str,
        queries: &[Query<'_>; N],
        mut each: impl FnMut(usize, &WireRecord<'_>) -> Result<(), ClientError>,
    ) -> Result<(), ConnectionError> {
        for query in queries {
            self.client.run(query.text, Some(db), &mut self.out);
            self.client.pull(&mut self.out);
        }
        let mut cells = Vec::new();
        for (i, query) in queries.iter().enumerate() {
            let fields = self.summary().await?;
            let positions = positions(&fields, query.columns)?;
            self.records(&positions, &mut cells, |record| each(i, record))
                .await?;
        }
        Ok(())
    }

    /// Says GOODBYE and closes.
    pub async fn close(mut self) {
        self.client.goodbye(&mut self.out);
        let _ = self.try_flush();
        self.socket.shutdown();
    }

    /// The next summary's metadata, waiting for it; a FAILURE or IGNORED is an error.
    async fn summary(&mut self) -> Result<Map, ConnectionError> {
        loop {
            if let Some(summary) = self.next_summary()? {
                return Ok(summary);
            }
            self.flush().await?;
            self.read_more().await?;
        }
    }

    /// The next summary among what has arrived; a FAILURE or IGNORED is an error.
    fn next_summary(&mut self) -> Result<Option<Map>, ConnectionError> {
        match self.client.next_event()? {
            Some(Event::Success { metadata, .. }) => Ok(Some(metadata)),
            Some(Event::Failure { request, failure }) => {
                Err(ConnectionError::Failure { request, failure })
            }
            Some(Event::Ignored { request }) => Err(ConnectionError::Ignored { request }),
            Some(Event::Record(_)) => Err(ClientError::RecordOutsidePull {
                request: RequestKind::Run,
            }
            .into()),
            None => Ok(None),
        }
    }

    /// The records of the stream being pulled, to its SUCCESS, each handed to `each` with the
    /// field at position `i` as the cell of column `positions[i]` (`cells` is room for them).
    async fn records(
        &mut self,
        positions: &[Option<usize>],
        cells: &mut Vec<(usize, Range<usize>)>,
        mut each: impl FnMut(&WireRecord<'_>) -> Result<(), ClientError>,
    ) -> Result<(), ConnectionError> {
        loop {
            match self.client.next_event()? {
                Some(Event::Record(fields)) => {
                    let record = WireRecord::scan(fields, positions, cells)?;
                    each(&record)?;
                }
                Some(Event::Success { .. }) => return Ok(()),
                Some(Event::Failure { request, failure }) => {
                    return Err(ConnectionError::Failure { request, failure });
                }
                Some(Event::Ignored { request }) => {
                    return Err(ConnectionError::Ignored { request });
                }
                None => self.read_more().await?,
            }
        }
    }

    /// Writes what the client wrote, without waiting: `WouldBlock` when the socket cannot
    /// take all of it yet.
    fn try_flush(&mut self) -> io::Result<()> {
        let mut sent = 0;
        let result = loop {
            let Some(rest) = self.out.get(sent..).filter(|rest| !rest.is_empty()) else {
                break self.socket.flush();
            };
            match self.socket.write(rest) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => sent += n,
                Err(e) => break Err(e),
            }
        };
        self.out.drain(..sent);
        result
    }

    /// Writes what the client wrote, waiting for the socket to take it.
    async fn flush(&mut self) -> Result<(), ConnectionError> {
        loop {
            match self.try_flush() {
                Err(e) if would_block(&e) => self.socket.ready(Interest::WRITABLE).await?,
                result => return Ok(result?),
            }
        }
    }

    /// Reads what has arrived into the client, without waiting: `WouldBlock` when nothing has.
    fn try_read(&mut self) -> io::Result<()> {
        let n = self.socket.read(&mut self.buffer)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.client.push(self.buffer.get(..n).unwrap_or_default());
        if n == self.buffer.len() && n < MAX_READ {
            self.buffer = vec![0; n * 2].into_boxed_slice();
        }
        Ok(())
    }

    /// Reads more into the client, waiting for it.
    async fn read_more(&mut self) -> Result<(), ConnectionError> {
        self.wait_for(Self::try_read).await
    }

    /// `op` on the connection until it does not block, waiting for the socket in between: for
    /// reading, or for writing while TLS holds records it could not send.
    async fn wait_for<T>(
        &mut self,
        mut op: impl FnMut(&mut Self) -> io::Result<T>,
    ) -> Result<T, ConnectionError> {
        loop {
            match op(self) {
                Err(e) if would_block(&e) => {
                    let interest = match self.socket.wants_write() {
                        true => Interest::WRITABLE,
                        false => Interest::READABLE,
                    };
                    self.socket.ready(interest).await?;
                }
                result => return result.map_err(closed),
            }
        }
    }
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// An end of stream in the middle of a read is the server closing.
fn closed(e: io::Error) -> ConnectionError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ConnectionError::Closed
    } else {
        ConnectionError::Io(e)
    }
}

/// The TLS name of `address`'s host: an IP address, or a DNS name.
fn server_name(address: &str) -> Result<ServerName<'static>, ConnectionError> {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_owned())
        .map_err(|e| ConnectionError::Tls(format!("`{host}` is no TLS server name: {e}")))
}

/// For each column of RUN's `fields`, its position in `columns` when the query reads it.
fn positions(metadata: &Map, columns: &[&str]) -> Result<Vec<Option<usize>>, ConnectionError> {
    let fields = metadata
        .get("fields")
        .and_then(Value::as_list)
        .ok_or(ConnectionError::NoFields)?;
    fields
        .iter()
        .map(|field| {
            let name = field.as_str().ok_or(ConnectionError::NoFields)?;
            Ok(columns.iter().position(|&c| c == name))
        })
        .collect()
}

/// A record as read off the wire: the bytes of each cell a query reads, by column, undecoded
/// ([`decode_field`](crate::bolt::client::decode_field) decodes one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireRecord<'r> {
    body: &'r [u8],
    cells: &'r [(usize, Range<usize>)],
}

impl<'r> WireRecord<'r> {
    /// The record `fields`, checked whole, with the field at position `i` as the cell of
    /// column `positions[i]` (`cells` is room for them).
    pub(super) fn scan(
        fields: RecordFields<'r>,
        positions: &[Option<usize>],
        cells: &'r mut Vec<(usize, Range<usize>)>,
    ) -> Result<WireRecord<'r>, ClientError> {
        let column = |i: usize| positions.get(i).copied().flatten();
        cells.clear();
        fields
            .scan_only(
                |i| column(i).is_some(),
                |i, range| cells.extend(column(i).map(|at| (at, range))),
            )
            .map_err(ClientError::Decode)?;
        Ok(WireRecord {
            body: fields.body(),
            cells,
        })
    }

    /// How many cells it has.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether it has no cell (the result has none of the query's columns).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Each cell: its column's position in the query's `columns`, and its PackStream bytes.
    pub fn cells(&self) -> impl Iterator<Item = (usize, &'r [u8])> + 'r {
        let body = self.body;
        self.cells
            .iter()
            .map(move |(column, range)| (*column, body.get(range.clone()).unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_of_a_result_maps_to_the_column_read_if_any() {
        let fields = Map::from_iter([(
            "fields",
            Value::List(vec![
                Value::from("name"),
                Value::from("options"),
                Value::from("tags"),
                Value::from("writer"),
                Value::from("lastCommittedTxn"),
            ]),
        )]);
        let columns = ["tags", "name", "writer", "address"];
        let positions = positions(&fields, &columns).unwrap();
        assert_eq!(positions, [Some(1), None, Some(0), Some(2), None]);
        assert!(matches!(
            super::positions(&Map::new(), &["name"]),
            Err(ConnectionError::NoFields)
        ));
    }

    #[test]
    fn tls_names_are_ip_addresses_or_dns_names() {
        assert!(matches!(
            server_name("127.0.0.2:7687"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("[::1]:7687"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("n1.example.com:7687"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(server_name("bad name:1").is_err());
    }
}
