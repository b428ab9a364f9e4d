//! One client connection to a Neo4j server: TCP, TLS when asked, the handshake, HELLO (and
//! LOGON), then pipelined queries whose records are read into import records as they arrive.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::bolt::client::{Client, ClientError, ClientOptions, Event};
use crate::bolt::handshake::{self, HandshakeError, Version};
use crate::bolt::packstream::{Map, Value};
use crate::bolt::{Auth, Failure, RequestKind};
use crate::topology::import::{Cell, Row};

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

/// TCP, TLS when asked, and the Bolt handshake.
async fn handshake(
    address: &str,
    tls: Option<&TlsConnector>,
) -> Result<(Box<dyn Stream>, Version), ConnectionError> {
    let tcp = TcpStream::connect(address).await?;
    tcp.set_nodelay(true)?;
    let mut stream: Box<dyn Stream> = match tls {
        None => Box::new(tcp),
        Some(connector) => {
            let name = server_name(address)?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| ConnectionError::Tls(e.to_string()))?;
            Box::new(tls)
        }
    };
    stream
        .write_all(&handshake::proposal(Version::V5_8))
        .await?;
    let mut reply = [0; 4];
    stream.read_exact(&mut reply).await.map_err(closed)?;
    let version = handshake::accepted(reply, Version::V5_8).map_err(ConnectionError::Handshake)?;
    Ok((stream, version))
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for S {}

/// An open, authenticated connection, ready for queries.
pub struct Connection {
    stream: Box<dyn Stream>,
    client: Client,
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
        let (stream, version) = handshake(address, tls).await?;
        Ok(Connection {
            stream,
            client: Client::new(version, options),
            buffer: vec![0; FIRST_READ].into_boxed_slice(),
        })
    }

    /// HELLO, and LOGON from Bolt 5.1, with `auth`.
    ///
    /// # Errors
    /// A [`ConnectionError`]; after one, the connection is of no use.
    pub async fn login(&mut self, auth: &Auth) -> Result<(), ConnectionError> {
        let mut out = Vec::new();
        self.client.hello(USER_AGENT, auth, &mut out);
        self.stream.write_all(&out).await?;
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
        let mut out = Vec::new();
        self.client.reset(&mut out);
        self.stream.write_all(&out).await?;
        self.summary().await?;
        Ok(())
    }

    /// The negotiated Bolt version.
    pub fn version(&self) -> Version {
        self.client.version()
    }

    /// Runs `queries` on `db`, pipelined (every RUN and PULL in one write), and hands `each`
    /// every record as it is read: the query's position in `queries`, and the record's cells of
    /// the query's `columns`.
    ///
    /// # Errors
    /// A [`ConnectionError`]; after one, the connection is of no use.
    pub async fn queries<const N: usize>(
        &mut self,
        db: &str,
        queries: &[Query<'_>; N],
        mut each: impl FnMut(usize, &WireRecord<'_>),
    ) -> Result<(), ConnectionError> {
        let mut out = Vec::new();
        for query in queries {
            self.client.run(query.text, Some(db), &mut out);
            self.client.pull(&mut out);
        }
        self.stream.write_all(&out).await?;
        for (i, query) in queries.iter().enumerate() {
            let fields = self.summary().await?;
            let positions = positions(&fields, query.columns)?;
            let mut record = WireRecord::new(query.columns);
            self.records(&positions, &mut record, |record| each(i, record))
                .await?;
        }
        Ok(())
    }

    /// Says GOODBYE and closes.
    pub async fn close(mut self) {
        let mut out = Vec::new();
        self.client.goodbye(&mut out);
        let _ = self.stream.write_all(&out).await;
        let _ = self.stream.shutdown().await;
    }

    /// The next summary's metadata; a FAILURE or IGNORED is an error.
    async fn summary(&mut self) -> Result<Map, ConnectionError> {
        loop {
            match self.client.next_event()? {
                Some(Event::Success { metadata, .. }) => return Ok(metadata),
                Some(Event::Failure { request, failure }) => {
                    return Err(ConnectionError::Failure { request, failure });
                }
                Some(Event::Ignored { request }) => {
                    return Err(ConnectionError::Ignored { request });
                }
                Some(Event::Record(_)) => {
                    return Err(ClientError::RecordOutsidePull {
                        request: RequestKind::Run,
                    }
                    .into());
                }
                None => self.read_more().await?,
            }
        }
    }

    /// The records of the stream being pulled, to its SUCCESS, each read into `record` (the
    /// field at position `i` into cell `positions[i]`) and handed to `each`.
    async fn records(
        &mut self,
        positions: &[Option<usize>],
        record: &mut WireRecord<'_>,
        mut each: impl FnMut(&WireRecord<'_>),
    ) -> Result<(), ConnectionError> {
        loop {
            match self.client.next_event()? {
                Some(Event::Record(fields)) => {
                    let keep = |i: usize| positions.get(i).is_some_and(Option::is_some);
                    let values = fields
                        .decode_only(keep)
                        .map_err(|e| ConnectionError::Protocol(ClientError::Decode(e)))?;
                    record.fill(positions, values);
                    each(record);
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

    async fn read_more(&mut self) -> Result<(), ConnectionError> {
        let n = self.stream.read(&mut self.buffer).await?;
        if n == 0 {
            return Err(ConnectionError::Closed);
        }
        self.client.push(self.buffer.get(..n).unwrap_or_default());
        if n == self.buffer.len() && n < MAX_READ {
            self.buffer = vec![0; n * 2].into_boxed_slice();
        }
        Ok(())
    }
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

/// A record as read off the wire: the cell of each column a query reads, `None` for a column
/// the result does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireRecord<'q> {
    columns: &'q [&'q str],
    cells: Vec<Option<Cell>>,
}

impl<'q> WireRecord<'q> {
    fn new(columns: &'q [&'q str]) -> Self {
        WireRecord {
            columns,
            cells: vec![None; columns.len()],
        }
    }

    /// Takes a record's fields: the field at position `i` into cell `positions[i]`.
    fn fill(&mut self, positions: &[Option<usize>], fields: Vec<Value>) {
        self.cells.fill(None);
        for (position, value) in positions.iter().zip(fields) {
            if let Some(cell) = position.and_then(|at| self.cells.get_mut(at)) {
                *cell = Some(self::cell(value));
            }
        }
    }
}

impl Row for WireRecord<'_> {
    fn cell(&self, column: &str) -> Option<&Cell> {
        let at = self.columns.iter().position(|&c| c == column)?;
        self.cells.get(at)?.as_ref()
    }
}

/// A PackStream value as the import reads cells: scalars as text, lists as text items.
fn cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(b),
        Value::List(items) => Cell::List(items.into_iter().map(text).collect()),
        other => Cell::Text(text(other)),
    }
}

fn text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Int(i) => i.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        other => format!("<{}>", other.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_the_wanted_columns_as_import_cells() {
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
        let mut record = WireRecord::new(&columns);
        let values = vec![
            Value::from("n1"),
            Value::Null,
            Value::List(vec![Value::from("eu"), Value::Int(3)]),
            Value::Bool(true),
            Value::Null,
        ];
        record.fill(&positions, values);
        assert_eq!(record.cell("name"), Some(&Cell::Text("n1".into())));
        let tags = Cell::List(vec!["eu".into(), "3".into()]);
        assert_eq!(record.cell("tags"), Some(&tags));
        assert_eq!(record.cell("writer"), Some(&Cell::Bool(true)));
        assert_eq!(record.cell("address"), None, "not a column of the result");
        assert_eq!(record.cell("options"), None, "not a column read");
        record.fill(&positions, vec![Value::from("n2")]);
        assert_eq!(record.cell("name"), Some(&Cell::Text("n2".into())));
        assert_eq!(
            record.cell("tags"),
            None,
            "nothing is left of the last record"
        );
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
