//! A topology from a live Neo4j 5 cluster: the records of `SHOW SERVERS YIELD *` and
//! `SHOW DATABASES YIELD *`, as a driver returns them (a JSON list of objects) or as
//! cypher-shell and Neo4j Browser export them (CSV), into a [`TopologySpec`].
//!
//! The columns read (Neo4j 5 names; every other column is ignored):
//!
//! | command | column | becomes |
//! |---|---|---|
//! | `SHOW SERVERS` | `name` (else `serverId`) | the server's name |
//! | | `serverId` | how database rows find their server |
//! | | `address` | the Bolt address; a server without one is left out, with a note |
//! | | `state` | `Free` and `Dropped` servers are not in the cluster: left out, with a note; a server in another state than `Enabled` (`Cordoned`, `Deallocating`, …) is unavailable |
//! | | `health` | available when `Available` (and `Enabled`) |
//! | | `tags` | the tags |
//! | `SHOW DATABASES` | `name` | the database (one row per database and hosting server) |
//! | | `serverID` (else `address`) | the hosting server |
//! | | `role` | `primary` or `secondary`; another role (`unknown`) is left out, with a note |
//! | | `currentStatus` | a row not `online` is left out (the server does not host the database now), with a note |
//! | | `writer` | `true` on the leader's row |
//! | | `aliases` | names that route as the database |
//! | | `default` | `true` on the rows of the default database |
//!
//! [`SERVER_COLUMNS`] and [`DATABASE_COLUMNS`] list them, so a client reading the records off the
//! wire may skip the others.
//!
//! CSV comes in two dialects, both read: Neo4j Browser's RFC 4180 export (a list cell is a
//! quoted JSON list, `"[""a"",""b""]"`) and cypher-shell's `--format plain` (values written as
//! Cypher literals after `, `: `"n1"`, `["a", "b"]`, `{k: 1}`, `NULL`, `TRUE`). The second
//! dialect is not CSV that a CSV library reads (the commas inside a list or map are not
//! quoted), hence the small reader here.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::Value;

use super::spec::{DatabaseSpec, ServerSpec, TopologySpec};

/// One record: column name to value.
pub type Record = BTreeMap<String, Cell>;

/// A value of a record, as far as the import needs to tell values apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `null`, `NULL` or an empty CSV field.
    Null,
    /// `true` or `false` (any case).
    Bool(bool),
    /// A string, or a number or other scalar in its text form.
    Text(String),
    /// A list, each item in its text form.
    List(Vec<String>),
}

/// Why records could not be read or imported: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportError {
    /// The record (1-based; a CSV header is not a record), or 0 for the whole input.
    row: usize,
    /// The column at fault, if one is.
    column: Option<String>,
    message: String,
}

impl ImportError {
    fn new(row: usize, column: Option<&str>, message: impl Into<String>) -> ImportError {
        ImportError {
            row,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }

    /// The record at fault (1-based), or 0 when the whole input is.
    pub fn row(&self) -> usize {
        self.row
    }

    /// The column at fault, if one is.
    pub fn column(&self) -> Option<&str> {
        self.column.as_deref()
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row > 0 {
            write!(f, "record {}", self.row)?;
            if let Some(column) = &self.column {
                write!(f, ", column `{column}`")?;
            }
            write!(f, ": ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ImportError {}

/// The columns of `SHOW SERVERS YIELD *` that [`import`] reads.
pub const SERVER_COLUMNS: [&str; 6] = ["serverId", "name", "address", "state", "health", "tags"];

/// The columns of `SHOW DATABASES YIELD *` that [`import`] reads (`serverId` is how some
/// exports spell `serverID`).
pub const DATABASE_COLUMNS: [&str; 9] = [
    "name",
    "aliases",
    "serverID",
    "serverId",
    "address",
    "role",
    "writer",
    "currentStatus",
    "default",
];

/// A topology read from a cluster's records, and what was left out of it and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The topology, in the order of the server records, each database with its aliases (the
    /// `aliases` column) and the default one marked (`default: true`).
    pub spec: TopologySpec,
    /// One line per record left out.
    pub notes: Vec<String>,
}

/// Reads records: a JSON list of objects when the text starts with `[`, CSV otherwise (with
/// a header row).
pub fn read_records(text: &str) -> Result<Vec<Record>, ImportError> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('[') {
        json_records(text)
    } else {
        csv_records(text)
    }
}

fn json_records(text: &str) -> Result<Vec<Record>, ImportError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ImportError::new(0, None, format!("invalid JSON: {e}")))?;
    let Value::Array(rows) = value else {
        return Err(ImportError::new(0, None, "expected a JSON list of records"));
    };
    rows.iter()
        .enumerate()
        .map(|(i, row)| match row {
            Value::Object(fields) => Ok(fields
                .iter()
                .map(|(k, v)| (k.clone(), json_cell(v)))
                .collect()),
            _ => Err(ImportError::new(i + 1, None, "expected an object")),
        })
        .collect()
}

fn json_cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(*b),
        Value::String(s) => Cell::Text(s.clone()),
        Value::Array(items) => Cell::List(items.iter().map(json_text).collect()),
        other => Cell::Text(other.to_string()),
    }
}

fn json_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_records(text: &str) -> Result<Vec<Record>, ImportError> {
    let mut lines = CsvReader { rest: text, row: 0 };
    let Some(header) = lines.next_row()? else {
        return Err(ImportError::new(0, None, "no header row"));
    };
    let header: Vec<String> = header.into_iter().map(|f| text_of(&f.cell())).collect();
    let mut records = Vec::new();
    while let Some(fields) = lines.next_row()? {
        let row = records.len() + 1;
        if fields.len() != header.len() {
            let message = format!(
                "{} fields where the header has {}",
                fields.len(),
                header.len()
            );
            return Err(ImportError::new(row, None, message));
        }
        let record = header
            .iter()
            .zip(fields)
            .map(|(name, field)| (name.clone(), field.cell()))
            .collect();
        records.push(record);
    }
    Ok(records)
}

/// A CSV field as written: quoted (RFC 4180, `""` for `"`), a bracketed list, or bare.
enum Field {
    Quoted(String),
    Bare(String),
}

impl Field {
    /// The field's value: lists and Cypher literals decoded, `NULL` and empty as null.
    fn cell(&self) -> Cell {
        match self {
            Field::Quoted(text) if text.starts_with('[') && text.ends_with(']') => list(text),
            Field::Quoted(text) => Cell::Text(text.clone()),
            Field::Bare(text) => literal(text.trim()),
        }
    }
}

/// A Cypher (or JSON) literal as cypher-shell writes it.
fn literal(text: &str) -> Cell {
    match text {
        "" => Cell::Null,
        _ if text.eq_ignore_ascii_case("null") => Cell::Null,
        _ if text.eq_ignore_ascii_case("true") => Cell::Bool(true),
        _ if text.eq_ignore_ascii_case("false") => Cell::Bool(false),
        _ if text.starts_with('[') && text.ends_with(']') => list(text),
        _ => Cell::Text(unquote(text)),
    }
}

/// `["a", "b"]` or `['a', 'b']` or `[a, b]`.
fn list(text: &str) -> Cell {
    let inner = text
        .get(1..text.len().saturating_sub(1))
        .unwrap_or("")
        .trim();
    if inner.is_empty() {
        return Cell::List(Vec::new());
    }
    Cell::List(
        split_items(inner)
            .iter()
            .map(|i| unquote(i.trim()))
            .collect(),
    )
}

/// Splits a list's inside at the commas outside quotes.
fn split_items(inner: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut quote, mut escaped) = (0, None, false);
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, ',') => {
                items.push(inner.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(inner.get(start..).unwrap_or(""));
    items
}

/// A string literal without its quotes and with `\"`, `\'`, `\\` decoded; anything else as is.
fn unquote(text: &str) -> String {
    let quoted = text.len() >= 2
        && ((text.starts_with('"') && text.ends_with('"'))
            || (text.starts_with('\'') && text.ends_with('\'')));
    if !quoted {
        return text.to_owned();
    }
    unescape(text.get(1..text.len() - 1).unwrap_or(""))
}

/// `\"`, `\'` and `\\` decoded, as cypher-shell writes them inside a string.
fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('"' | '\'' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Null => String::new(),
        Cell::Bool(b) => b.to_string(),
        Cell::List(items) => items.join(","),
    }
}

struct CsvReader<'t> {
    rest: &'t str,
    row: usize,
}

impl CsvReader<'_> {
    /// The fields of the next non-blank row, or `None` at the end.
    fn next_row(&mut self) -> Result<Option<Vec<Field>>, ImportError> {
        self.rest = self.rest.trim_start_matches(['\r', '\n']);
        if self.rest.is_empty() {
            return Ok(None);
        }
        self.row += 1;
        let mut fields = Vec::new();
        loop {
            let field = self.field()?;
            fields.push(field);
            self.rest = self.rest.trim_start_matches([' ', '\t']);
            match self.rest.chars().next() {
                Some(',') => self.rest = self.rest.get(1..).unwrap_or(""),
                Some('\r' | '\n') | None => return Ok(Some(fields)),
                Some(c) => {
                    let message = format!("unexpected `{c}` after a field");
                    return Err(ImportError::new(self.row, None, message));
                }
            }
        }
    }

    fn field(&mut self) -> Result<Field, ImportError> {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
        if let Some(quoted) = self.rest.strip_prefix('"') {
            if let Some(end) = rfc_quote_end(quoted) {
                // RFC 4180 doubles a quote (`""`), cypher-shell escapes it (`\"`): both read.
                let text = unescape(&quoted.get(..end).unwrap_or("").replace("\"\"", "\""));
                self.rest = quoted.get(end + 1..).unwrap_or("");
                return Ok(Field::Quoted(text));
            }
            let message = "a quoted field is not closed";
            return Err(ImportError::new(self.row, None, message));
        }
        let end = if self.rest.starts_with(['[', '{']) {
            bracket_end(self.rest).ok_or_else(|| {
                ImportError::new(self.row, None, "a list or map is not closed on its line")
            })?
        } else {
            self.rest.find([',', '\r', '\n']).unwrap_or(self.rest.len())
        };
        let text = self.rest.get(..end).unwrap_or("").to_owned();
        self.rest = self.rest.get(end..).unwrap_or("");
        Ok(Field::Bare(text))
    }
}

/// The byte index of the `"` that closes an RFC 4180 quoted field (`""` stands for `"`;
/// cypher-shell's `\"` is honoured too).
fn rfc_quote_end(quoted: &str) -> Option<usize> {
    let bytes = quoted.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' if bytes.get(i + 1) == Some(&b'"') => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// One past the `]` or `}` that closes the list or map at the start of `text`, quotes
/// respected, on its line.
fn bracket_end(text: &str) -> Option<usize> {
    let (mut depth, mut quote, mut escaped) = (0usize, None, false);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            (None, '\n' | '\r') => return None,
            _ => {}
        }
    }
    None
}

/// Builds a topology from the records of `SHOW SERVERS YIELD *` and `SHOW DATABASES YIELD *`.
///
/// ```
/// use tagroute::topology::import::{import, read_records};
///
/// let servers = read_records(r#"[{"serverId": "8f2a", "name": "n1", "address": "n1:7687",
///     "state": "Enabled", "health": "Available", "tags": ["north"]}]"#)?;
/// let databases = read_records(
///     "name,serverID,address,role,writer\nneo4j,8f2a,n1:7687,primary,TRUE\n",
/// )?;
/// let imported = import(&servers, &databases)?;
/// assert_eq!(imported.spec.databases[0].leader.as_deref(), Some("n1"));
/// # Ok::<(), tagroute::topology::import::ImportError>(())
/// ```
pub fn import(servers: &[Record], databases: &[Record]) -> Result<Imported, ImportError> {
    let mut importer = Importer::default();
    for record in servers {
        importer.server(record)?;
    }
    for record in databases {
        importer.database(record)?;
    }
    importer.finish()
}

/// A record as the import reads it: the cell in a column, when the record has that column.
///
/// [`Record`] is one; a client reading records off the wire may hand the import its own rows
/// instead of building a map per record.
pub trait Row {
    /// The cell in `column`, `None` when the record has no such column.
    fn cell(&self, column: &str) -> Option<&Cell>;
}

impl Row for Record {
    fn cell(&self, column: &str) -> Option<&Cell> {
        self.get(column)
    }
}

/// A topology imported a record at a time, as the records arrive: every server record first,
/// then the database records, then [`finish`](Importer::finish). [`import`] is this over two
/// lists of records.
///
/// ```
/// use tagroute::topology::import::{Importer, read_records};
///
/// let servers = read_records("name,serverId,address\nn1,8f2a,n1:7687\n")?;
/// let databases = read_records("name,serverID,role,writer\nneo4j,8f2a,primary,true\n")?;
/// let mut importer = Importer::default();
/// importer.server(&servers[0])?;
/// importer.database(&databases[0])?;
/// let imported = importer.finish()?;
/// assert_eq!(imported.spec.databases[0].leader.as_deref(), Some("n1"));
/// # Ok::<(), tagroute::topology::import::ImportError>(())
/// ```
#[derive(Debug, Default)]
pub struct Importer {
    spec: TopologySpec,
    notes: Vec<String>,
    /// Each server's `serverId`, to its name.
    ids: HashMap<String, String>,
    /// Each Bolt address, to its server's name (for database records without `serverID`).
    addresses: HashMap<String, String>,
    /// Each database's position in `spec.databases`.
    positions: HashMap<String, usize>,
    names: Names,
    server_rows: usize,
    database_rows: usize,
}

impl Importer {
    /// Reads the next record of `SHOW SERVERS`.
    ///
    /// # Errors
    /// The record has no name, or a cell of the wrong kind; the error names the record.
    pub fn server(&mut self, record: &impl Row) -> Result<(), ImportError> {
        self.server_rows += 1;
        let row = self.server_rows;
        let Some(server) = server(record, row, &mut self.notes)? else {
            return Ok(());
        };
        if let Some(id) = text(record, "serverId") {
            self.ids.insert(id.to_owned(), server.name.clone());
        }
        self.addresses
            .entry(server.address.clone())
            .or_insert_with(|| server.name.clone());
        self.spec.servers.push(server);
        Ok(())
    }

    /// Reads the next record of `SHOW DATABASES`: one database on one server.
    ///
    /// # Errors
    /// The record has no name, a cell of the wrong kind, or aliases or a default that disagree
    /// with an earlier record; the error names the record.
    pub fn database(&mut self, record: &impl Row) -> Result<(), ImportError> {
        self.database_rows += 1;
        let row = self.database_rows;
        let name = required(record, row, "name")?;
        self.names.read(record, row, name)?;
        let at = self.position(name);
        let Some(host) = self.host(record) else {
            self.notes.push(format!(
                "databases record {row}: no server of SHOW SERVERS hosts `{name}` here; left out"
            ));
            return Ok(());
        };
        let Some(db) = self.spec.databases.get_mut(at) else {
            return Ok(());
        };
        let role = text(record, "role").unwrap_or("none");
        let hosts = if role.eq_ignore_ascii_case("primary") {
            &mut db.primaries
        } else if role.eq_ignore_ascii_case("secondary") {
            &mut db.secondaries
        } else {
            let role = role.to_ascii_lowercase();
            self.notes.push(format!(
                "databases record {row}: `{name}` on `{host}` has role `{role}`; left out"
            ));
            return Ok(());
        };
        let status = text(record, "currentStatus").unwrap_or("online");
        if !status.eq_ignore_ascii_case("online") {
            self.notes.push(format!(
                "databases record {row}: `{name}` on `{host}` is {status}, not online; left out"
            ));
            return Ok(());
        }
        hosts.push(host.clone());
        if flag(record, row, "writer")? {
            db.leader = Some(host);
        }
        Ok(())
    }

    /// The topology, each database with its aliases and the default one marked.
    ///
    /// # Errors
    /// An alias is also a database's name.
    pub fn finish(mut self) -> Result<Imported, ImportError> {
        self.names.finish(&mut self.spec, &self.positions)?;
        Ok(Imported {
            spec: self.spec,
            notes: self.notes,
        })
    }

    /// Where database `name` is in the spec, added at the end when it is new.
    fn position(&mut self, name: &str) -> usize {
        if let Some(&at) = self.positions.get(name) {
            return at;
        }
        let at = self.spec.databases.len();
        self.spec.databases.push(DatabaseSpec {
            name: name.to_owned(),
            ..DatabaseSpec::default()
        });
        self.positions.insert(name.to_owned(), at);
        at
    }

    /// The name of the server a database record is on: by `serverID`, else by address.
    fn host(&self, record: &impl Row) -> Option<String> {
        let by_id = ["serverID", "serverId"]
            .iter()
            .find_map(|c| text(record, c))
            .and_then(|id| self.ids.get(id));
        by_id
            .or_else(|| self.addresses.get(text(record, "address")?))
            .cloned()
    }
}

/// The aliases and the default database, as the database records name them.
#[derive(Debug, Default)]
struct Names {
    /// Each alias, the database it names and the record that first said so.
    aliases: BTreeMap<String, (String, usize)>,
    default: Option<(String, usize)>,
}

impl Names {
    fn read(&mut self, record: &impl Row, row: usize, name: &str) -> Result<(), ImportError> {
        let aliases = match record.cell("aliases") {
            None | Some(Cell::Null) => &[][..],
            Some(Cell::List(aliases)) => aliases,
            Some(_) => return Err(ImportError::new(row, Some("aliases"), "expected a list")),
        };
        for alias in aliases {
            let (target, first) = match self.aliases.get(alias) {
                Some(known) => known,
                None => self
                    .aliases
                    .entry(alias.clone())
                    .or_insert_with(|| (name.to_owned(), row)),
            };
            if target != name {
                let message = format!(
                    "alias `{alias}` names `{name}`, but record {first} has it name `{target}`"
                );
                return Err(ImportError::new(row, Some("aliases"), message));
            }
        }
        if flag(record, row, "default")? {
            let (default, first) = self.default.get_or_insert_with(|| (name.to_owned(), row));
            if default != name {
                let message = format!(
                    "`{name}` is the default database, but record {first} says `{default}` is"
                );
                return Err(ImportError::new(row, Some("default"), message));
            }
        }
        Ok(())
    }

    /// Gives each database its aliases and marks the default; an alias that is also a
    /// database's name is an error.
    fn finish(
        self,
        spec: &mut TopologySpec,
        positions: &HashMap<String, usize>,
    ) -> Result<(), ImportError> {
        for (alias, (target, row)) in self.aliases {
            if positions.contains_key(&alias) {
                let message = format!("alias `{alias}` of `{target}` is also a database's name");
                return Err(ImportError::new(row, Some("aliases"), message));
            }
            if let Some(db) = database(spec, positions, &target) {
                db.aliases.push(alias);
            }
        }
        if let Some((default, _)) = self.default
            && let Some(db) = database(spec, positions, &default)
        {
            db.default = true;
        }
        Ok(())
    }
}

/// Database `name` of `spec`, found by its position.
fn database<'s>(
    spec: &'s mut TopologySpec,
    positions: &HashMap<String, usize>,
    name: &str,
) -> Option<&'s mut DatabaseSpec> {
    spec.databases.get_mut(*positions.get(name)?)
}

/// One server, or `None` (with a note) when it is not part of the cluster.
fn server(
    record: &impl Row,
    row: usize,
    notes: &mut Vec<String>,
) -> Result<Option<ServerSpec>, ImportError> {
    let name = text(record, "name")
        .or_else(|| text(record, "serverId"))
        .ok_or_else(|| ImportError::new(row, Some("name"), "no `name` or `serverId`"))?;
    let state = text(record, "state").unwrap_or("Enabled");
    if state.eq_ignore_ascii_case("free") || state.eq_ignore_ascii_case("dropped") {
        notes.push(format!(
            "servers record {row}: `{name}` is {state}, not in the cluster; left out"
        ));
        return Ok(None);
    }
    let Some(address) = text(record, "address") else {
        notes.push(format!(
            "servers record {row}: `{name}` has no Bolt address; left out"
        ));
        return Ok(None);
    };
    let tags = match record.cell("tags") {
        None | Some(Cell::Null) => Vec::new(),
        Some(Cell::List(tags)) => tags.clone(),
        Some(_) => return Err(ImportError::new(row, Some("tags"), "expected a list")),
    };
    let available = state.eq_ignore_ascii_case("enabled")
        && text(record, "health").is_none_or(|h| h.eq_ignore_ascii_case("available"));
    Ok(Some(
        ServerSpec::new(name, address)
            .with_tags(tags)
            .with_available(available),
    ))
}

fn text<'r>(record: &'r impl Row, column: &str) -> Option<&'r str> {
    match record.cell(column) {
        Some(Cell::Text(text)) if !text.is_empty() => Some(text),
        _ => None,
    }
}

fn required<'r>(record: &'r impl Row, row: usize, column: &str) -> Result<&'r str, ImportError> {
    text(record, column).ok_or_else(|| ImportError::new(row, Some(column), "missing"))
}

fn flag(record: &impl Row, row: usize, column: &str) -> Result<bool, ImportError> {
    match record.cell(column) {
        None | Some(Cell::Null) => Ok(false),
        Some(Cell::Bool(b)) => Ok(*b),
        Some(Cell::Text(t)) if t.eq_ignore_ascii_case("true") => Ok(true),
        Some(Cell::Text(t)) if t.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(ImportError::new(
            row,
            Some(column),
            "expected true or false",
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::topology::from_json;

    fn example(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn imported(servers: &str, databases: &str) -> Imported {
        let servers = read_records(&example(servers)).expect("servers");
        let databases = read_records(&example(databases)).expect("databases");
        import(&servers, &databases).expect("imports")
    }

    /// `examples/cluster.json` as the records describe it: `system` hosted too, `n2b` (down,
    /// so of unknown role) hosting nothing, and `neo4j` the default.
    fn expected() -> TopologySpec {
        let mut spec = from_json(&example("cluster.json")).expect("cluster.json");
        for db in &mut spec.databases {
            db.secondaries.retain(|s| s != "n2b");
            db.default = db.name == "neo4j";
        }
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let system = DatabaseSpec {
            name: "system".into(),
            primaries: names(&["n1a", "n1b", "n2a", "s1a", "s1b"]),
            secondaries: names(&["s2a"]),
            leader: Some("n1a".into()),
            ..DatabaseSpec::default()
        };
        spec.databases.insert(0, system);
        spec
    }

    #[test]
    fn every_dialect_of_the_records_gives_the_same_topology() {
        let expected = expected();
        for (servers, databases) in [
            ("show-servers.json", "show-databases.json"),
            ("show-servers.csv", "show-databases.csv"),
            ("show-servers.txt", "show-databases.txt"),
            ("show-servers.csv", "show-databases.txt"),
        ] {
            let imported = imported(servers, databases);
            assert_eq!(imported.spec, expected, "{servers} + {databases}");
            assert_eq!(
                imported.notes,
                [
                    "servers record 8: `x9` is Free, not in the cluster; left out",
                    "databases record 4: `system` on `n2b` has role `unknown`; left out",
                    "databases record 12: `neo4j` on `n2b` has role `unknown`; left out",
                ],
                "{servers} + {databases}"
            );
        }
    }

    #[test]
    fn cypher_literals_and_rfc_quotes_are_decoded() {
        let text = "name, tags, note, writer, gone\n\
                    \"a\\\"b\", ['x', \"y,z\"], \"say \"\"hi\"\"\", TRUE, NULL\n\
                    plain, [], {k: 1, j: [2, 3]}, false, \n";
        let records = read_records(text).expect("reads");
        let first = &records[0];
        assert_eq!(first["name"], Cell::Text("a\"b".into()));
        assert_eq!(first["tags"], Cell::List(vec!["x".into(), "y,z".into()]));
        assert_eq!(first["note"], Cell::Text("say \"hi\"".into()));
        assert_eq!(first["writer"], Cell::Bool(true));
        assert_eq!(first["gone"], Cell::Null);
        let second = &records[1];
        assert_eq!(second["name"], Cell::Text("plain".into()));
        assert_eq!(second["tags"], Cell::List(vec![]));
        assert_eq!(second["note"], Cell::Text("{k: 1, j: [2, 3]}".into()));
        assert_eq!(second["writer"], Cell::Bool(false));
        assert_eq!(second["gone"], Cell::Null);
    }

    #[test]
    fn bad_records_are_errors_naming_the_record_and_column() {
        let err = |text: &str| read_records(text).unwrap_err().to_string();
        assert_eq!(err("[1]"), "record 1: expected an object");
        assert!(err("[{").starts_with("invalid JSON: "));
        assert_eq!(err("a,b\n1\n"), "record 1: 1 fields where the header has 2");
        assert_eq!(err("a\n\"open\n"), "record 2: a quoted field is not closed");
        assert_eq!(
            err("a\n[1, 2\n"),
            "record 2: a list or map is not closed on its line"
        );
        assert_eq!(err(""), "no header row");
        let servers = read_records(r#"[{"address": "a:1"}]"#).expect("reads");
        let error = import(&servers, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "record 1, column `name`: no `name` or `serverId`"
        );
        assert_eq!((error.row(), error.column()), (1, Some("name")));
        let servers =
            read_records(r#"[{"name": "a", "address": "a:1", "tags": "x"}]"#).expect("reads");
        assert_eq!(
            import(&servers, &[]).unwrap_err().to_string(),
            "record 1, column `tags`: expected a list"
        );
        let databases =
            read_records("name,address,role,writer\nneo4j,a:1,primary,maybe\n").expect("reads");
        let servers = read_records(r#"[{"name": "a", "address": "a:1"}]"#).expect("reads");
        assert_eq!(
            import(&servers, &databases).unwrap_err().to_string(),
            "record 1, column `writer`: expected true or false"
        );
    }

    /// Servers `a`, `b`, `c` (`c` in `state`, `health`) and `databases` (JSON rows) imported.
    fn cluster(state: &str, health: &str, databases: &str) -> Result<Imported, ImportError> {
        let servers = read_records(&format!(
            r#"[{{"serverId": "1", "name": "a", "address": "a:1", "state": "Enabled", "health": "Available"}},
                {{"serverId": "2", "name": "b", "address": "b:1", "state": "Enabled", "health": "Available"}},
                {{"serverId": "3", "name": "c", "address": "c:1", "state": "{state}", "health": "{health}"}}]"#
        ))
        .expect("reads");
        import(&servers, &read_records(databases).expect("reads"))
    }

    #[test]
    fn a_server_not_enabled_or_not_available_is_unavailable() {
        for (state, health, available) in [
            ("Enabled", "Available", true),
            ("Cordoned", "Available", false),
            ("Deallocating", "Available", false),
            ("Deallocated", "Available", false),
            ("Enabled", "Unavailable", false),
        ] {
            let imported = cluster(state, health, "[]").expect("imports");
            assert_eq!(imported.spec.servers.len(), 3);
            assert_eq!(
                imported.spec.servers[2].available, available,
                "{state} {health}"
            );
        }
        let imported = cluster("Dropped", "Available", "[]").expect("imports");
        assert_eq!(imported.spec.servers.len(), 2);
    }

    #[test]
    fn a_database_not_online_on_a_server_is_not_hosted_there() {
        let databases = r#"[
            {"name": "neo4j", "serverID": "1", "role": "primary", "writer": false, "currentStatus": "online"},
            {"name": "neo4j", "serverID": "2", "role": "primary", "writer": true, "currentStatus": "store copying"},
            {"name": "neo4j", "serverID": "3", "role": "secondary", "writer": false, "currentStatus": "online"},
            {"name": "gone", "serverID": "1", "role": "primary", "writer": true, "currentStatus": "offline"}
        ]"#;
        let imported = cluster("Enabled", "Available", databases).expect("imports");
        let [neo4j, gone] = &imported.spec.databases[..] else {
            panic!("{:?}", imported.spec.databases)
        };
        assert_eq!(
            (&neo4j.primaries[..], &neo4j.secondaries[..], &neo4j.leader),
            (&["a".to_owned()][..], &["c".to_owned()][..], &None)
        );
        assert_eq!(
            (gone.name.as_str(), gone.primaries.len(), &gone.leader),
            ("gone", 0, &None)
        );
        assert_eq!(
            imported.notes,
            [
                "databases record 2: `neo4j` on `b` is store copying, not online; left out",
                "databases record 4: `gone` on `a` is offline, not online; left out",
            ]
        );
    }

    #[test]
    fn aliases_name_their_database_and_one_database_is_the_default() {
        let databases = r#"[
            {"name": "neo4j", "aliases": ["graph", "main"], "serverID": "1", "role": "primary", "default": true},
            {"name": "neo4j", "aliases": ["graph", "main"], "serverID": "2", "role": "primary", "default": true},
            {"name": "movies", "aliases": ["films"], "serverID": "1", "role": "primary", "default": false},
            {"name": "system", "aliases": [], "serverID": "1", "role": "primary", "default": null}
        ]"#;
        let imported = cluster("Enabled", "Available", databases).expect("imports");
        let names: Vec<(&str, Vec<&str>, bool)> = imported
            .spec
            .databases
            .iter()
            .map(|d| {
                let aliases = d.aliases.iter().map(String::as_str).collect();
                (d.name.as_str(), aliases, d.default)
            })
            .collect();
        assert_eq!(
            names,
            [
                ("neo4j", vec!["graph", "main"], true),
                ("movies", vec!["films"], false),
                ("system", vec![], false),
            ]
        );
        let none = cluster("Enabled", "Available", "[]").expect("imports");
        assert!(none.spec.databases.iter().all(|d| !d.default));
    }

    #[test]
    fn aliases_and_defaults_that_disagree_are_errors() {
        let error = |databases: &str| {
            cluster("Enabled", "Available", databases)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(
                r#"[{"name": "neo4j", "aliases": ["g"], "serverID": "1", "role": "primary"},
                    {"name": "movies", "aliases": ["g"], "serverID": "1", "role": "primary"}]"#
            ),
            "record 2, column `aliases`: alias `g` names `movies`, but record 1 has it name `neo4j`"
        );
        assert_eq!(
            error(
                r#"[{"name": "neo4j", "serverID": "1", "role": "primary", "default": true},
                    {"name": "movies", "serverID": "1", "role": "primary", "default": true}]"#
            ),
            "record 2, column `default`: `movies` is the default database, but record 1 says `neo4j` is"
        );
        assert_eq!(
            error(
                r#"[{"name": "neo4j", "aliases": ["movies"], "serverID": "1", "role": "primary"},
                    {"name": "movies", "serverID": "1", "role": "primary"}]"#
            ),
            "record 1, column `aliases`: alias `movies` of `neo4j` is also a database's name"
        );
        assert_eq!(
            error(r#"[{"name": "neo4j", "aliases": "g", "serverID": "1", "role": "primary"}]"#),
            "record 1, column `aliases`: expected a list"
        );
    }

    #[test]
    fn a_record_on_an_unknown_server_or_without_address_is_left_out_with_a_note() {
        let servers = read_records(r#"[{"name": "a", "address": null, "health": "Available"}, {"name": "b", "address": "b:1", "health": "Unavailable"}]"#).expect("reads");
        let databases = read_records(
            "name,address,role,writer\nneo4j,z:9,primary,true\nneo4j,b:1,secondary,false\n",
        )
        .expect("reads");
        let imported = import(&servers, &databases).expect("imports");
        assert_eq!(imported.spec.servers.len(), 1);
        assert!(!imported.spec.servers[0].available);
        assert_eq!(imported.spec.databases[0].secondaries, ["b"]);
        assert_eq!(
            imported.notes,
            [
                "servers record 1: `a` has no Bolt address; left out",
                "databases record 1: no server of SHOW SERVERS hosts `neo4j` here; left out",
            ]
        );
    }
}
