//! The records of one poll as they were read: for each record, its query and the bytes of the
//! cells the import reads. Decoding is a function of those bytes, so a poll whose records equal
//! the last good poll's imports to the same topology, and need not be decoded, imported or
//! composed again: on a cluster that does not change, following costs reading and checking
//! the records, nothing more.
//!
//! One record is `[query] [cells]` (a byte each), then for each cell `[column]` (a byte), its
//! length (4 bytes, little-endian) and its PackStream bytes.

use crate::bolt::client::{ClientError, decode_field};
use crate::bolt::packstream::{Limits, Value};
use crate::topology::import::{Cell, ImportError, Imported, Importer, Row};

use super::connection::{ConnectionError, WireRecord};

/// The records of a poll, their cells as read off the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct PollRecords {
    bytes: Vec<u8>,
}

impl PollRecords {
    /// Empties it for the next poll, keeping its room.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
    }

    /// Adds a record of query number `query`.
    ///
    /// # Errors
    /// [`ClientError::ResultTooLarge`] for a query or a column numbered past 255, or a cell
    /// over 4 GiB, which no limit of a connection lets through.
    pub(super) fn push(
        &mut self,
        query: usize,
        record: &WireRecord<'_>,
    ) -> Result<(), ClientError> {
        let too_large = || ClientError::ResultTooLarge {
            max: u32::MAX as usize,
        };
        let byte = |n: usize| u8::try_from(n).map_err(|_| too_large());
        self.bytes.push(byte(query)?);
        self.bytes.push(byte(record.len())?);
        for (column, cell) in record.cells() {
            let len = u32::try_from(cell.len()).map_err(|_| too_large())?;
            self.bytes.push(byte(column)?);
            self.bytes.extend_from_slice(&len.to_le_bytes());
            self.bytes.extend_from_slice(cell);
        }
        Ok(())
    }

    /// Imports the records: those of query `servers` as `SHOW SERVERS` records, the others as
    /// `SHOW DATABASES` records, each query's cells named by `columns[query]`. The outer error
    /// is a cell that does not decode, the inner one what the import refuses.
    pub(super) fn import(
        &self,
        servers: usize,
        columns: &[&[&str]],
        limits: &Limits,
    ) -> Result<Result<Imported, ImportError>, ConnectionError> {
        let mut importer = Importer::default();
        let mut rest = self.bytes.as_slice();
        let mut cells = DecodedRecord::default();
        while let [query, n, tail @ ..] = rest {
            let query = usize::from(*query);
            cells.columns = columns.get(query).copied().unwrap_or_default();
            cells.cells.clear();
            cells.cells.resize(cells.columns.len(), None);
            rest = tail;
            for _ in 0..*n {
                let (column, bytes, tail) = next_cell(rest);
                let value = decode_field(bytes, limits)
                    .map_err(|e| ConnectionError::Protocol(ClientError::Decode(e)))?;
                if let Some(cell) = cells.cells.get_mut(column) {
                    *cell = Some(cell_of(value));
                }
                rest = tail;
            }
            let read = if query == servers {
                importer.server(&cells)
            } else {
                importer.database(&cells)
            };
            if let Err(error) = read {
                return Ok(Err(error));
            }
        }
        Ok(importer.finish())
    }
}

/// The cell at the start of `bytes`, which [`PollRecords::push`] wrote: its column, its bytes
/// and what follows it.
fn next_cell(bytes: &[u8]) -> (usize, &[u8], &[u8]) {
    let Some((&column, rest)) = bytes.split_first() else {
        return (0, &[], &[]);
    };
    let (len, rest) = rest.split_at_checked(4).unwrap_or((&[], &[]));
    let len = len.try_into().map_or(0, u32::from_le_bytes) as usize;
    let (cell, rest) = rest.split_at_checked(len).unwrap_or((rest, &[]));
    (usize::from(column), cell, rest)
}

/// A record's cells decoded, as the import reads them: `None` for a column the result does
/// not have.
#[derive(Debug, Default)]
struct DecodedRecord<'q> {
    columns: &'q [&'q str],
    cells: Vec<Option<Cell>>,
}

impl Row for DecodedRecord<'_> {
    fn cell(&self, column: &str) -> Option<&Cell> {
        let at = self.columns.iter().position(|&c| c == column)?;
        self.cells.get(at)?.as_ref()
    }
}

/// A PackStream value as the import reads cells: scalars as text, lists as text items.
fn cell_of(value: Value) -> Cell {
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
    use crate::bolt::Version;
    use crate::bolt::chunk;
    use crate::bolt::client::{Client, ClientOptions, Event};
    use crate::bolt::packstream::{self, Map, Structure};
    use crate::topology::import::{DATABASE_COLUMNS, SERVER_COLUMNS, import, read_records};
    use proptest::prelude::*;

    const COLUMNS: [&[&str]; 2] = [&SERVER_COLUMNS, &DATABASE_COLUMNS];

    /// The fields of each query as a server sends them: a column the import does not read
    /// first, then the ones it reads in another order than the import lists them.
    const SERVER_FIELDS: [&str; 5] = ["lastCommittedTxn", "health", "name", "address", "state"];
    const DATABASE_FIELDS: [&str; 6] = [
        "lastCommittedTxn",
        "writer",
        "name",
        "address",
        "role",
        "currentStatus",
    ];

    /// A cluster: for each server its health; for each database, on each server, whether it
    /// is there, online, and the writer. `txn` fills the column the import does not read.
    #[derive(Clone, Debug)]
    struct State {
        healthy: Vec<bool>,
        databases: Vec<Vec<(bool, bool, bool)>>,
        txn: i64,
    }

    fn state() -> impl Strategy<Value = State> {
        let hosting = proptest::collection::vec(any::<(bool, bool, bool)>(), 3);
        (
            proptest::collection::vec(any::<bool>(), 3),
            proptest::collection::vec(hosting, 0..3),
            any::<i64>(),
        )
            .prop_map(|(healthy, databases, txn)| State {
                healthy,
                databases,
                txn,
            })
    }

    /// Each query's rows, as `(column, value)` in the order of its fields.
    fn rows(state: &State) -> [Vec<Vec<Value>>; 2] {
        let servers = state.healthy.iter().enumerate().map(|(i, &healthy)| {
            let health = if healthy { "Available" } else { "Unavailable" };
            vec![
                Value::Int(state.txn),
                Value::from(health),
                Value::from(format!("s{i}")),
                Value::from(format!("s{i}:7687")),
                Value::from("Enabled"),
            ]
        });
        let mut databases = Vec::new();
        for (d, hosts) in state.databases.iter().enumerate() {
            for (i, &(there, online, writer)) in hosts.iter().enumerate() {
                if there {
                    databases.push(vec![
                        Value::Int(state.txn),
                        Value::Bool(writer),
                        Value::from(format!("db{d}")),
                        Value::from(format!("s{i}:7687")),
                        Value::from("primary"),
                        Value::from(if online { "online" } else { "offline" }),
                    ]);
                }
            }
        }
        [servers.collect(), databases]
    }

    /// The records of `state` read as a poll reads them: off a client, each checked and its
    /// wanted cells kept.
    fn read(state: &State) -> PollRecords {
        let mut records = PollRecords::default();
        for (query, (fields, rows)) in [&SERVER_FIELDS[..], &DATABASE_FIELDS[..]]
            .into_iter()
            .zip(rows(state))
            .enumerate()
        {
            let mut client = Client::new(Version::V5_8, ClientOptions::default());
            let mut out = Vec::new();
            client.run("SHOW", Some("system"), &mut out);
            client.pull(&mut out);
            let names = fields.iter().map(|&f| Value::from(f)).collect();
            let mut messages = vec![summary(Map::from_iter([("fields", Value::List(names))]))];
            messages.extend(rows.into_iter().map(|row| message(0x71, Value::List(row))));
            messages.push(summary(Map::new()));
            for message in messages {
                client.push(&message);
            }
            let positions: Vec<Option<usize>> = fields
                .iter()
                .map(|f| COLUMNS[query].iter().position(|c| c == f))
                .collect();
            let mut cells = Vec::new();
            while let Some(event) = client.next_event().unwrap() {
                if let Event::Record(fields) = event {
                    let record = WireRecord::scan(fields, &positions, &mut cells).unwrap();
                    records.push(query, &record).unwrap();
                }
            }
        }
        records
    }

    fn message(tag: u8, field: Value) -> Vec<u8> {
        let mut out = Vec::new();
        let message = Value::Struct(Structure::new(tag, vec![field]).unwrap());
        chunk::write_with(&mut out, |out| packstream::encode(&message, out)).unwrap();
        out
    }

    fn summary(metadata: Map) -> Vec<u8> {
        message(0x70, Value::Map(metadata))
    }

    /// The same rows as JSON records, imported by the file import.
    fn imported_from_json(state: &State) -> Imported {
        let [servers, databases] = rows(state);
        let json = |fields: &[&str], rows: Vec<Vec<Value>>| {
            let rows: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|row| {
                    let cells = fields.iter().zip(row).skip(1).map(|(f, v)| {
                        let v = match v {
                            Value::Bool(b) => serde_json::Value::Bool(b),
                            other => serde_json::Value::from(other.as_str().unwrap_or_default()),
                        };
                        ((*f).to_owned(), v)
                    });
                    serde_json::Value::Object(cells.collect())
                })
                .collect();
            read_records(&serde_json::Value::Array(rows).to_string()).unwrap()
        };
        let servers = json(&SERVER_FIELDS, servers);
        let databases = json(&DATABASE_FIELDS, databases);
        import(&servers, &databases).unwrap()
    }

    proptest! {
        #[test]
        fn records_equal_as_bytes_exactly_when_the_columns_read_are_equal(
            a in state(),
            b in state(),
            txn in any::<i64>(),
        ) {
            let read_a = read(&a);
            let imported = read_a.import(0, &COLUMNS, &Limits::default()).unwrap().unwrap();
            prop_assert_eq!(&imported, &imported_from_json(&a));
            let same = State { txn, ..a.clone() };
            prop_assert_eq!(&read(&same), &read_a, "only the column not read differs");
            // Equal rows but for `txn`: a database hosted nowhere sends no row at all.
            let sent = |state: &State| rows(&State { txn: 0, ..state.clone() });
            prop_assert_eq!(read(&b) == read_a, sent(&a) == sent(&b));
        }
    }
}
