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
