//! PackStream v1: the binary value format of every Bolt message.
//!
//! A message body is exactly one [`Value`] (a [`Structure`] whose tag is the message's
//! signature). [`decode`] reads one value from untrusted bytes under [`Limits`] (nesting depth,
//! entries per collection, bytes per string and byte array, message length) and names the byte
//! offset of anything wrong; it never allocates more than the input can back. [`encode`] writes
//! the smallest form of every marker, as the specification asks of writers.
//!
//! All multi-byte numbers are big-endian. The markers (BOLT.md section 2):
//!
//! | type      | markers |
//! |-----------|---------|
//! | Null      | `C0` |
//! | Boolean   | `C2` false, `C3` true |
//! | Integer   | `F0`..`7F` tiny (−16..127), `C8` i8, `C9` i16, `CA` i32, `CB` i64 |
//! | Float     | `C1` + IEEE-754 double |
//! | Bytes     | `CC` u8 length, `CD` u16, `CE` u32 |
//! | String    | `80`..`8F` tiny, `D0` u8 length, `D1` u16, `D2` u32 |
//! | List      | `90`..`9F` tiny, `D4` u8 length, `D5` u16, `D6` u32 |
//! | Map       | `A0`..`AF` tiny, `D8` u8 length, `D9` u16, `DA` u32 |
//! | Structure | `B0`..`BF` (field count), then a tag byte |
//!
//! ```
//! use tagroute::bolt::packstream::{self, Limits, Value};
//!
//! let value = Value::from_iter([("policy", Value::from("europe"))]);
//! let mut bytes = Vec::new();
//! packstream::encode(&value, &mut bytes)?;
//! assert_eq!(bytes, b"\xa1\x86policy\x86europe");
//! assert_eq!(packstream::decode(&bytes, &Limits::default())?, value);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::ops::Range;

use rustc_hash::FxHashMap;

/// One PackStream value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `C0`.
    Null,
    /// `C2` or `C3`.
    Bool(bool),
    /// Any integer marker; the encoder picks the smallest.
    Int(i64),
    /// `C1`.
    Float(f64),
    /// A byte array.
    Bytes(Vec<u8>),
    /// A UTF-8 string.
    String(String),
    /// A list of values.
    List(Vec<Value>),
    /// A map with string keys.
    Map(Map),
    /// A structure: a tag byte and at most 15 fields.
    Struct(Structure),
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    /// The structure, if this is one.
    pub fn as_struct(&self) -> Option<&Structure> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages: `null`, `boolean`, `integer`, `float`,
    /// `bytes`, `string`, `list`, `map` or `structure`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Bytes(_) => "bytes",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Struct(_) => "structure",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Map(map)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        Value::Map(iter.into_iter().collect())
    }
}

/// A PackStream map: string keys, each at most once, in insertion order.
///
/// Order is kept so that what is encoded is what was built; equality ignores it.
#[derive(Clone, Debug, Default)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key` to `value`, replacing an earlier value in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The entries in order, taken out of the map.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (String, Value)> {
        self.entries.into_iter()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A map from decoded entries: on a duplicate key the last one wins (PackStream's rule),
    /// in O(n) expected time whatever the input.
    fn from_decoded(mut entries: Vec<(String, Value)>) -> Self {
        let mut last: FxHashMap<&str, usize> = FxHashMap::default();
        for (i, (key, _)) in entries.iter().enumerate() {
            last.insert(key, i);
        }
        if last.len() < entries.len() {
            let keep: Vec<bool> = (0..entries.len())
                .map(|i| entries.get(i).and_then(|(k, _)| last.get(k.as_str())) == Some(&i))
                .collect();
            let mut flags = keep.into_iter();
            entries.retain(|_| flags.next().unwrap_or(false));
        }
        Map { entries }
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

/// A structure: a tag byte and at most [`Structure::MAX_FIELDS`] fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Structure {
    tag: u8,
    fields: Vec<Value>,
}

impl Structure {
    /// The most fields a structure can carry (its marker holds the count in four bits).
    pub const MAX_FIELDS: usize = 15;

    /// A structure, or `None` with more than [`Structure::MAX_FIELDS`] fields.
    pub fn new(tag: u8, fields: Vec<Value>) -> Option<Self> {
        (fields.len() <= Self::MAX_FIELDS).then_some(Structure { tag, fields })
    }

    /// The tag byte (a message's signature).
    pub fn tag(&self) -> u8 {
        self.tag
    }

    /// The fields.
    pub fn fields(&self) -> &[Value] {
        &self.fields
    }

    /// The fields, by value.
    pub fn into_fields(self) -> Vec<Value> {
        self.fields
    }
}

/// What [`decode`] accepts. Every limit bounds memory: nothing larger is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The deepest nesting of lists, maps and structures (the message structure is depth 1).
    pub max_depth: usize,
    /// The most entries in one list or map.
    pub max_entries: usize,
    /// The most bytes in one string or byte array.
    pub max_bytes: usize,
    /// The most bytes in one message body.
    pub max_message: usize,
}

impl Default for Limits {
    /// Generous for a routing endpoint: a driver's HELLO is a few hundred bytes, nested three
    /// deep.
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_entries: 4096,
            max_bytes: 64 * 1024,
            max_message: 1024 * 1024,
        }
    }
}

/// Why bytes are not one PackStream value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    offset: usize,
    kind: DecodeErrorKind,
}

/// The kinds of [`DecodeError`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a value.
    UnexpectedEnd,
    /// A byte that is no PackStream marker (`C4`–`C7`, `CF`, `D3`, `D7`, `DB`–`EF`).
    UnknownMarker(u8),
    /// Lists, maps and structures nested deeper than [`Limits::max_depth`].
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A list or map with more entries than [`Limits::max_entries`], or a string or byte
    /// array longer than [`Limits::max_bytes`].
    TooLarge {
        /// The declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A message body longer than [`Limits::max_message`].
    MessageTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A string that is not UTF-8.
    InvalidUtf8,
    /// A map key that is not a string.
    NonStringKey,
    /// Bytes after the one value.
    TrailingBytes,
    /// A value other than the list expected here (a RECORD's fields).
    NotAList,
}

impl DecodeError {
    /// The byte offset, from the start of the input, of the marker or byte at fault.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match &self.kind {
            DecodeErrorKind::UnexpectedEnd => write!(f, "input ends inside a value at byte {at}"),
            DecodeErrorKind::UnknownMarker(m) => write!(f, "unknown marker {m:#04X} at byte {at}"),
            DecodeErrorKind::TooDeep { max } => {
                write!(f, "values nested deeper than {max} at byte {at}")
            }
            DecodeErrorKind::TooLarge { len, max } => {
                write!(f, "length {len} over the limit of {max} at byte {at}")
            }
            DecodeErrorKind::MessageTooLarge { len, max } => {
                write!(f, "message of {len} bytes over the limit of {max}")
            }
            DecodeErrorKind::InvalidUtf8 => write!(f, "string is not UTF-8 at byte {at}"),
            DecodeErrorKind::NonStringKey => write!(f, "map key is not a string at byte {at}"),
            DecodeErrorKind::TrailingBytes => write!(f, "bytes after the value at byte {at}"),
            DecodeErrorKind::NotAList => write!(f, "expected a list at byte {at}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes `bytes` as exactly one value.
///
/// # Errors
/// A [`DecodeError`] naming the offset of the first byte at fault.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Value, DecodeError> {
    let mut reader = Reader::of_message(bytes, 0, limits)?;
    let value = reader.value(0)?;
    reader.ended(value)
}

/// Decodes the list that starts at byte `start` of `bytes`, nested `depth` deep, and ends the
/// input (a RECORD's fields after its structure header), building the items `keep` selects.
/// The others are checked as [`decode`] checks them, but not built: they are `Null`. Error
/// offsets count from the start of `bytes`.
pub(crate) fn decode_list_at(
    bytes: &[u8],
    start: usize,
    depth: usize,
    keep: impl Fn(usize) -> bool,
    limits: &Limits,
) -> Result<Vec<Value>, DecodeError> {
    let (mut reader, depth, n) = Reader::list_at(bytes, start, depth, limits)?;
    let mut items = Vec::with_capacity(reader.capacity(n));
    for i in 0..n {
        items.push(if keep(i) {
            reader.value(depth)?
        } else {
            reader.skip(depth)?;
            Value::Null
        });
    }
    reader.ended(items)
}

/// Checks the list that starts at byte `start` of `bytes`, nested `depth` deep and ending the
/// input, as [`decode_list_at`] does, building nothing: hands `each` the position and the byte
/// range of every item `keep` selects, for [`decode_item`] to decode later or for a caller to
/// compare as bytes. Error offsets count from the start of `bytes`.
pub(crate) fn scan_list_at(
    bytes: &[u8],
    start: usize,
    depth: usize,
    keep: impl Fn(usize) -> bool,
    limits: &Limits,
    mut each: impl FnMut(usize, Range<usize>),
) -> Result<(), DecodeError> {
    let (mut reader, depth, n) = Reader::list_at(bytes, start, depth, limits)?;
    for i in 0..n {
        let item = reader.at;
        reader.skip(depth)?;
        if keep(i) {
            each(i, item..reader.at);
        }
    }
    reader.ended(())
}

/// Decodes one value that lies `depth` deep in the message it came from: an item
/// [`scan_list_at`] handed out, decoded as [`decode_list_at`] would have decoded it in place.
/// Error offsets count from the start of `bytes`.
pub(crate) fn decode_item(
    bytes: &[u8],
    depth: usize,
    limits: &Limits,
) -> Result<Value, DecodeError> {
    let mut reader = Reader::of_message(bytes, 0, limits)?;
    let value = reader.value(depth)?;
    reader.ended(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    limits: &'a Limits,
}

impl<'a> Reader<'a> {
    /// A reader at byte `at` of a message body, which is refused whole over the limit.
    fn of_message(bytes: &'a [u8], at: usize, limits: &'a Limits) -> Result<Self, DecodeError> {
        if bytes.len() > limits.max_message {
            return Err(DecodeError {
                offset: 0,
                kind: DecodeErrorKind::MessageTooLarge {
                    len: bytes.len(),
                    max: limits.max_message,
                },
            });
        }
        Ok(Reader { bytes, at, limits })
    }

    /// A reader past the header of the list at byte `start` of a message, nested `depth`
    /// deep: with its items' depth and their count.
    fn list_at(
        bytes: &'a [u8],
        start: usize,
        depth: usize,
        limits: &'a Limits,
    ) -> Result<(Self, usize, usize), DecodeError> {
        let mut reader = Reader::of_message(bytes, start, limits)?;
        let marker = reader.byte()?;
        let len = match marker {
            0x90..=0x9F => u64::from(marker & 0x0F),
            0xD4..=0xD6 => reader.length(marker - 0xD4)?,
            _ => return Err(reader.error_at(start, DecodeErrorKind::NotAList)),
        };
        let depth = reader.enter(start, depth)?;
        let n = reader.within(start, len, limits.max_entries)?;
        Ok((reader, depth, n))
    }

    /// `value` when the input ends where the reader is, else trailing bytes.
    fn ended<T>(&self, value: T) -> Result<T, DecodeError> {
        if self.at < self.bytes.len() {
            return Err(self.error_at(self.at, DecodeErrorKind::TrailingBytes));
        }
        Ok(value)
    }

    fn error_at(&self, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        match end.and_then(|end| self.bytes.get(self.at..end).map(|s| (end, s))) {
            Some((end, slice)) => {
                self.at = end;
                Ok(slice)
            }
            None => Err(self.error_at(self.bytes.len(), DecodeErrorKind::UnexpectedEnd)),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let start = self.at;
        let marker = self.byte()?;
        Ok(match marker {
            0x00..=0x7F => Value::Int(i64::from(marker)),
            0xF0..=0xFF => Value::Int(i64::from(marker as i8)),
            0xC0 => Value::Null,
            0xC1 => Value::Float(f64::from_be_bytes(self.array()?)),
            0xC2 => Value::Bool(false),
            0xC3 => Value::Bool(true),
            0xC8 => Value::Int(i64::from(i8::from_be_bytes(self.array()?))),
            0xC9 => Value::Int(i64::from(i16::from_be_bytes(self.array()?))),
            0xCA => Value::Int(i64::from(i32::from_be_bytes(self.array()?))),
            0xCB => Value::Int(i64::from_be_bytes(self.array()?)),
            0xCC..=0xCE => {
                let len = self.length(marker - 0xCC)?;
                Value::Bytes(self.blob(start, len)?.to_vec())
            }
            0x80..=0x8F => self.string(start, u64::from(marker & 0x0F))?,
            0xD0..=0xD2 => {
                let len = self.length(marker - 0xD0)?;
                self.string(start, len)?
            }
            0x90..=0x9F => self.list(start, u64::from(marker & 0x0F), depth)?,
            0xD4..=0xD6 => {
                let len = self.length(marker - 0xD4)?;
                self.list(start, len, depth)?
            }
            0xA0..=0xAF => self.map(start, u64::from(marker & 0x0F), depth)?,
            0xD8..=0xDA => {
                let len = self.length(marker - 0xD8)?;
                self.map(start, len, depth)?
            }
            0xB0..=0xBF => self.structure(start, usize::from(marker & 0x0F), depth)?,
            _ => return Err(self.error_at(start, DecodeErrorKind::UnknownMarker(marker))),
        })
    }

    /// Reads past one value, checking it as [`value`](Self::value) does, allocating nothing.
    fn skip(&mut self, depth: usize) -> Result<(), DecodeError> {
        let start = self.at;
        let marker = self.byte()?;
        let fixed = match marker {
            0x00..=0x7F | 0xF0..=0xFF | 0xC0 | 0xC2 | 0xC3 => 0,
            0xC8 => 1,
            0xC9 => 2,
            0xCA => 4,
            0xC1 | 0xCB => 8,
            0xCC..=0xCE => {
                let len = self.length(marker - 0xCC)?;
                return self.blob(start, len).map(drop);
            }
            0x80..=0x8F | 0xD0..=0xD2 => return self.skip_string(start, marker),
            0x90..=0x9F | 0xD4..=0xD6 => {
                let len = self.collection_length(marker, 0x90, 0xD4)?;
                let depth = self.enter(start, depth)?;
                let n = self.within(start, len, self.limits.max_entries)?;
                for _ in 0..n {
                    self.skip(depth)?;
                }
                return Ok(());
            }
            0xA0..=0xAF | 0xD8..=0xDA => {
                let len = self.collection_length(marker, 0xA0, 0xD8)?;
                let depth = self.enter(start, depth)?;
                let n = self.within(start, len, self.limits.max_entries)?;
                for _ in 0..n {
                    self.expect_key()?;
                    self.skip(depth)?;
                    self.skip(depth)?;
                }
                return Ok(());
            }
            0xB0..=0xBF => {
                let depth = self.enter(start, depth)?;
                self.byte()?;
                for _ in 0..marker & 0x0F {
                    self.skip(depth)?;
                }
                return Ok(());
            }
            _ => return Err(self.error_at(start, DecodeErrorKind::UnknownMarker(marker))),
        };
        self.take(fixed).map(drop)
    }

    /// Checks that a map key starts here: a string marker, else [`DecodeErrorKind::NonStringKey`]
    /// at its offset, before anything of it is read (so decoding and skipping a map fail
    /// alike); the end of the input is left for the key's own read to report. Returns the
    /// offset.
    fn expect_key(&self) -> Result<usize, DecodeError> {
        match self.bytes.get(self.at) {
            Some(0x80..=0x8F | 0xD0..=0xD2) | None => Ok(self.at),
            Some(_) => Err(self.error_at(self.at, DecodeErrorKind::NonStringKey)),
        }
    }

    /// The length of a list or map: in the marker (`tiny`..`tiny + 15`), or after it.
    fn collection_length(&mut self, marker: u8, tiny: u8, sized: u8) -> Result<u64, DecodeError> {
        if marker >= sized {
            self.length(marker - sized)
        } else {
            Ok(u64::from(marker - tiny))
        }
    }

    /// Reads past a string whose marker (read already, at `start`) is `marker`, checking UTF-8.
    fn skip_string(&mut self, start: usize, marker: u8) -> Result<(), DecodeError> {
        let len = match marker {
            0xD0..=0xD2 => self.length(marker - 0xD0)?,
            _ => u64::from(marker & 0x0F),
        };
        let bytes = self.blob(start, len)?;
        // Most strings a server sends are ASCII, which an inlined check clears faster.
        if bytes.is_ascii() {
            return Ok(());
        }
        let (n, invalid) = (bytes.len(), std::str::from_utf8(bytes).err());
        match invalid {
            None => Ok(()),
            Some(e) => {
                let offset = self.at - n + e.valid_up_to();
                Err(self.error_at(offset, DecodeErrorKind::InvalidUtf8))
            }
        }
    }

    /// A length of 1, 2 or 4 bytes (`size` 0, 1 or 2).
    fn length(&mut self, size: u8) -> Result<u64, DecodeError> {
        Ok(match size {
            0 => u64::from(self.byte()?),
            1 => u64::from(u16::from_be_bytes(self.array()?)),
            _ => u64::from(u32::from_be_bytes(self.array()?)),
        })
    }

    /// `len` raw bytes, checked against the limit before anything is read.
    fn blob(&mut self, start: usize, len: u64) -> Result<&[u8], DecodeError> {
        let n = self.within(start, len, self.limits.max_bytes)?;
        self.take(n)
    }

    fn within(&self, start: usize, len: u64, max: usize) -> Result<usize, DecodeError> {
        match usize::try_from(len) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(self.error_at(start, DecodeErrorKind::TooLarge { len, max })),
        }
    }

    fn string(&mut self, start: usize, len: u64) -> Result<Value, DecodeError> {
        let bytes = self.blob(start, len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Value::String(s.to_owned())),
            Err(e) => {
                let offset = self.at - len as usize + e.valid_up_to();
                Err(self.error_at(offset, DecodeErrorKind::InvalidUtf8))
            }
        }
    }

    fn enter(&self, start: usize, depth: usize) -> Result<usize, DecodeError> {
        let depth = depth + 1;
        if depth > self.limits.max_depth {
            return Err(self.error_at(
                start,
                DecodeErrorKind::TooDeep {
                    max: self.limits.max_depth,
                },
            ));
        }
        Ok(depth)
    }

    /// Room for `n` entries, but never more than the rest of the input can hold (every value is
    /// at least one byte), so a lying length cannot make us allocate.
    fn capacity(&self, n: usize) -> usize {
        n.min(self.remaining())
    }

    fn list(&mut self, start: usize, len: u64, depth: usize) -> Result<Value, DecodeError> {
        let depth = self.enter(start, depth)?;
        let n = self.within(start, len, self.limits.max_entries)?;
        let mut items = Vec::with_capacity(self.capacity(n));
        for _ in 0..n {
            items.push(self.value(depth)?);
        }
        Ok(Value::List(items))
    }

    fn map(&mut self, start: usize, len: u64, depth: usize) -> Result<Value, DecodeError> {
        let depth = self.enter(start, depth)?;
        let n = self.within(start, len, self.limits.max_entries)?;
        let mut entries = Vec::with_capacity(self.capacity(n) / 2);
        for _ in 0..n {
            let key_at = self.expect_key()?;
            let Value::String(key) = self.value(depth)? else {
                return Err(self.error_at(key_at, DecodeErrorKind::NonStringKey));
            };
            entries.push((key, self.value(depth)?));
        }
        Ok(Value::Map(Map::from_decoded(entries)))
    }

    fn structure(&mut self, start: usize, n: usize, depth: usize) -> Result<Value, DecodeError> {
        let depth = self.enter(start, depth)?;
        let tag = self.byte()?;
        let mut fields = Vec::with_capacity(self.capacity(n));
        for _ in 0..n {
            fields.push(self.value(depth)?);
        }
        Ok(Value::Struct(Structure { tag, fields }))
    }
}

/// Why a value cannot be encoded: a string, byte array, list or map longer than `u32::MAX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    len: usize,
}

impl EncodeError {
    /// The length that does not fit.
    pub fn length(&self) -> usize {
        self.len
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "length {} does not fit PackStream's 32 bits", self.len)
    }
}

impl std::error::Error for EncodeError {}

/// Appends the encoding of `value` to `out`, each marker in its smallest form.
///
/// # Errors
/// An [`EncodeError`] for a collection longer than `u32::MAX`; `out` then holds a partial value.
pub fn encode(value: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match value {
        Value::Null => out.push(0xC0),
        Value::Bool(b) => out.push(if *b { 0xC3 } else { 0xC2 }),
        Value::Int(i) => encode_int(*i, out),
        Value::Float(x) => {
            out.push(0xC1);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Bytes(bytes) => {
            header(None, 0xCC, bytes.len(), out)?;
            out.extend_from_slice(bytes);
        }
        Value::String(s) => encode_str(s, out)?,
        Value::List(items) => {
            list_header(items.len(), out)?;
            for item in items {
                encode(item, out)?;
            }
        }
        Value::Map(map) => encode_map(map, out)?,
        Value::Struct(s) => {
            // The constructor keeps the field count within the marker's four bits.
            out.push(0xB0 | (s.fields.len() as u8 & 0x0F));
            out.push(s.tag);
            for field in &s.fields {
                encode(field, out)?;
            }
        }
    }
    Ok(())
}

/// Appends a map: its header, then each key and value.
pub(crate) fn encode_map(map: &Map, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    map_header(map.len(), out)?;
    for (key, item) in map.iter() {
        encode_str(key, out)?;
        encode(item, out)?;
    }
    Ok(())
}

/// Appends the header of a list of `len` items; the items follow.
#[inline]
pub(crate) fn list_header(len: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    header(Some(0x90), 0xD4, len, out)
}

/// Appends the header of a map of `len` entries; the keys and values follow.
#[inline]
pub(crate) fn map_header(len: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    header(Some(0xA0), 0xD8, len, out)
}

#[inline]
pub(crate) fn encode_str(s: &str, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    header(Some(0x80), 0xD0, s.len(), out)?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

#[inline]
pub(crate) fn encode_int(i: i64, out: &mut Vec<u8>) {
    if let Ok(small) = i8::try_from(i) {
        if small >= -16 {
            out.push(small as u8);
        } else {
            out.push(0xC8);
            out.push(small as u8);
        }
    } else if let Ok(i) = i16::try_from(i) {
        out.push(0xC9);
        out.extend_from_slice(&i.to_be_bytes());
    } else if let Ok(i) = i32::try_from(i) {
        out.push(0xCA);
        out.extend_from_slice(&i.to_be_bytes());
    } else {
        out.push(0xCB);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

/// A length header: the tiny marker when there is one and `len` < 16, else `sized` (the 8-bit
/// form) plus 0, 1 or 2 for the 8, 16 or 32-bit length.
#[inline]
fn header(tiny: Option<u8>, sized: u8, len: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match (tiny, u8::try_from(len)) {
        (Some(tiny), Ok(n)) if n < 16 => out.push(tiny | n),
        (_, Ok(n)) => out.extend_from_slice(&[sized, n]),
        _ => return wide_header(sized, len, out),
    }
    Ok(())
}

/// [`header`] for a length over 255.
fn wide_header(sized: u8, len: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match (u16::try_from(len), u32::try_from(len)) {
        (Ok(n), _) => {
            out.push(sized + 1);
            out.extend_from_slice(&n.to_be_bytes());
        }
        (_, Ok(n)) => {
            out.push(sized + 2);
            out.extend_from_slice(&n.to_be_bytes());
        }
        _ => return Err(EncodeError { len }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::testing::{encoded, hex};
    use proptest::prelude::*;

    fn decoded(text: &str) -> Value {
        decode(&hex(text), &Limits::default()).unwrap()
    }

    fn error(bytes: &[u8], limits: &Limits) -> (usize, DecodeErrorKind) {
        let e = decode(bytes, limits).unwrap_err();
        (e.offset(), e.kind().clone())
    }

    fn string(n: usize) -> Value {
        Value::String("x".repeat(n))
    }

    fn list(n: usize) -> Value {
        Value::List(vec![Value::Null; n])
    }

    fn map(n: usize) -> Value {
        (0..n).map(|i| (format!("k{i}"), Value::Null)).collect()
    }

    #[test]
    fn every_scalar_marker_decodes() {
        let cases = [
            ("C0", Value::Null),
            ("C2", Value::Bool(false)),
            ("C3", Value::Bool(true)),
            ("00", Value::Int(0)),
            ("7F", Value::Int(127)),
            ("F0", Value::Int(-16)),
            ("FF", Value::Int(-1)),
            ("C8 80", Value::Int(-128)),
            ("C8 01", Value::Int(1)),
            ("C9 80 00", Value::Int(-32768)),
            ("CA 80 00 00 00", Value::Int(i64::from(i32::MIN))),
            ("CB 80 00 00 00 00 00 00 00", Value::Int(i64::MIN)),
            ("CB 00 00 00 00 00 00 00 01", Value::Int(1)),
            ("C1 3F F1 99 99 99 99 99 9A", Value::Float(1.1)),
            ("CC 02 01 02", Value::Bytes(vec![1, 2])),
            ("CD 00 01 FF", Value::Bytes(vec![0xFF])),
            ("CE 00 00 00 00", Value::Bytes(vec![])),
            ("80", Value::from("")),
            ("81 61", Value::from("a")),
            ("D0 01 61", Value::from("a")),
            ("D1 00 01 61", Value::from("a")),
            ("D2 00 00 00 01 61", Value::from("a")),
            ("83 C3 A9 21", Value::from("é!")),
        ];
        for (bytes, value) in cases {
            assert_eq!(decoded(bytes), value, "{bytes}");
        }
    }

    #[test]
    fn every_collection_marker_decodes() {
        let one = Value::List(vec![Value::Int(1)]);
        let entry: Value = [("a", Value::Int(1))].into_iter().collect();
        let cases = [
            ("90", Value::List(vec![])),
            ("91 01", one.clone()),
            ("D4 01 01", one.clone()),
            ("D5 00 01 01", one.clone()),
            ("D6 00 00 00 01 01", one),
            ("A0", Value::Map(Map::new())),
            ("A1 81 61 01", entry.clone()),
            ("D8 01 81 61 01", entry.clone()),
            ("D9 00 01 81 61 01", entry.clone()),
            ("DA 00 00 00 01 81 61 01", entry),
        ];
        for (bytes, value) in cases {
            assert_eq!(decoded(bytes), value, "{bytes}");
        }
        let Value::Struct(s) = decoded("B2 4E 01 C0") else {
            panic!("not a structure")
        };
        assert_eq!(
            (s.tag(), s.fields()),
            (0x4E, &[Value::Int(1), Value::Null][..])
        );
    }

    #[test]
    fn encoder_writes_the_smallest_integer() {
        let cases: [(i64, &str); 14] = [
            (0, "00"),
            (127, "7F"),
            (-16, "F0"),
            (-1, "FF"),
            (-17, "C8 EF"),
            (-128, "C8 80"),
            (128, "C9 00 80"),
            (-129, "C9 FF 7F"),
            (32767, "C9 7F FF"),
            (32768, "CA 00 00 80 00"),
            (-32769, "CA FF FF 7F FF"),
            (i64::from(i32::MAX) + 1, "CB 00 00 00 00 80 00 00 00"),
            (i64::MIN, "CB 80 00 00 00 00 00 00 00"),
            (300, "C9 01 2C"),
        ];
        for (i, bytes) in cases {
            assert_eq!(encoded(&Value::Int(i)), hex(bytes), "{i}");
        }
    }

    #[test]
    fn encoder_writes_the_smallest_length_header() {
        let cases: [(Value, &str); 15] = [
            (string(15), "8F"),
            (string(16), "D0 10"),
            (string(255), "D0 FF"),
            (string(256), "D1 01 00"),
            (string(65536), "D2 00 01 00 00"),
            (list(15), "9F"),
            (list(16), "D4 10"),
            (list(256), "D5 01 00"),
            (list(65536), "D6 00 01 00 00"),
            (map(15), "AF"),
            (map(16), "D8 10"),
            (map(256), "D9 01 00"),
            (Value::Bytes(vec![0; 3]), "CC 03"),
            (Value::Bytes(vec![0; 256]), "CD 01 00"),
            (Value::Bytes(vec![0; 65536]), "CE 00 01 00 00"),
        ];
        for (value, header) in cases {
            let bytes = encoded(&value);
            let header = hex(header);
            assert_eq!(&bytes[..header.len()], header, "{}", value.kind());
            let limits = Limits {
                max_entries: 1 << 20,
                max_bytes: 1 << 20,
                ..Limits::default()
            };
            assert_eq!(decode(&bytes, &limits).unwrap(), value);
        }
    }

    #[test]
    fn unknown_markers_are_named_with_their_offset() {
        let unknown = [0xC4, 0xC5, 0xC6, 0xC7, 0xCF, 0xD3, 0xD7]
            .into_iter()
            .chain(0xDB..=0xEF);
        for marker in unknown {
            assert_eq!(
                error(&[0x92, 0x01, marker], &Limits::default()),
                (2, DecodeErrorKind::UnknownMarker(marker))
            );
        }
        let e = decode(&[0xC7], &Limits::default()).unwrap_err();
        assert_eq!(e.to_string(), "unknown marker 0xC7 at byte 0");
    }

    #[test]
    fn truncated_input_ends_at_its_length() {
        for bytes in [
            "C9 01", "CB 00", "C1 00 00", "D0", "D1 00", "83 61", "92 01", "A1 81 61", "B1 70",
        ] {
            let bytes = hex(bytes);
            assert_eq!(
                error(&bytes, &Limits::default()),
                (bytes.len(), DecodeErrorKind::UnexpectedEnd)
            );
        }
        assert_eq!(
            error(&[], &Limits::default()),
            (0, DecodeErrorKind::UnexpectedEnd)
        );
    }

    #[test]
    fn limits_are_checked_before_anything_is_allocated() {
        let limits = Limits::default();
        // Four-gigabyte string, list and map declared in a handful of bytes.
        assert_eq!(
            error(&hex("91 D2 FF FF FF FF"), &limits),
            (
                1,
                DecodeErrorKind::TooLarge {
                    len: u64::from(u32::MAX),
                    max: limits.max_bytes
                }
            )
        );
        assert_eq!(
            error(&hex("D6 FF FF FF FF"), &limits),
            (
                0,
                DecodeErrorKind::TooLarge {
                    len: u64::from(u32::MAX),
                    max: limits.max_entries
                }
            )
        );
        assert_eq!(
            error(&hex("DA 00 00 10 01"), &limits),
            (
                0,
                DecodeErrorKind::TooLarge {
                    len: 4097,
                    max: 4096
                }
            )
        );
        assert_eq!(
            error(&hex("CE 00 01 00 01"), &limits),
            (
                0,
                DecodeErrorKind::TooLarge {
                    len: 65537,
                    max: 65536
                }
            )
        );
        // Within the limit but longer than the input: the end of the input, not an allocation.
        assert_eq!(
            error(&hex("D5 10 00 01"), &limits),
            (4, DecodeErrorKind::UnexpectedEnd)
        );
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused_where_it_starts() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(decode(&hex("91 91 91 01"), &limits).is_ok());
        assert_eq!(
            error(&hex("91 A1 81 61 B1 01 91 01"), &limits),
            (6, DecodeErrorKind::TooDeep { max: 3 })
        );
        // A long run of nested lists stays within the stack.
        let deep = vec![0x91; 100_000];
        assert_eq!(
            error(&deep, &Limits::default()).1,
            DecodeErrorKind::TooDeep { max: 32 }
        );
    }

    #[test]
    fn message_length_is_limited() {
        let limits = Limits {
            max_message: 4,
            ..Limits::default()
        };
        assert_eq!(
            error(&hex("84 61 62 63 64"), &limits),
            (0, DecodeErrorKind::MessageTooLarge { len: 5, max: 4 })
        );
        assert!(decode(&hex("83 61 62 63"), &limits).is_ok());
    }

    #[test]
    fn malformed_values_name_the_byte_at_fault() {
        let limits = Limits::default();
        assert_eq!(
            error(&hex("92 83 61 FF 62"), &limits),
            (3, DecodeErrorKind::InvalidUtf8)
        );
        assert_eq!(
            error(&hex("A1 01 01"), &limits),
            (1, DecodeErrorKind::NonStringKey)
        );
        assert_eq!(
            error(&hex("01 02"), &limits),
            (1, DecodeErrorKind::TrailingBytes)
        );
        let e = decode(&hex("A1 01 01"), &limits).unwrap_err();
        assert_eq!(e.to_string(), "map key is not a string at byte 1");
    }

    #[test]
    fn on_a_duplicate_key_the_last_one_wins() {
        let value = decoded("A3 81 61 01 81 62 02 81 61 03");
        let map = value.as_map().unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map.get("a"), Some(&Value::Int(3)));
        // The same over the hashing path of a large map.
        let mut bytes = hex("D8 40");
        for i in 0..64u8 {
            bytes.extend_from_slice(&[0x81, b'a' + i % 2, i]);
        }
        let value = decode(&bytes, &Limits::default()).unwrap();
        let map = value.as_map().unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(
            (map.get("a"), map.get("b")),
            (Some(&Value::Int(62)), Some(&Value::Int(63)))
        );
    }

    #[test]
    fn skipped_items_are_checked_as_decoded_ones_are() {
        let none = |_: usize| false;
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let skipped = |bytes: &str| decode_list_at(&hex(bytes), 0, 0, none, &limits);
        let errors = [
            ("92 01 C7", 2, DecodeErrorKind::UnknownMarker(0xC7)),
            ("91 A1 01 01", 2, DecodeErrorKind::NonStringKey),
            ("91 83 61 FF 62", 3, DecodeErrorKind::InvalidUtf8),
            ("91 91 91 91 01", 3, DecodeErrorKind::TooDeep { max: 3 }),
            (
                "91 D2 FF FF FF FF",
                1,
                DecodeErrorKind::TooLarge {
                    len: 4_294_967_295,
                    max: 65_536,
                },
            ),
            ("91 C9 01", 3, DecodeErrorKind::UnexpectedEnd),
            ("91 A1", 2, DecodeErrorKind::UnexpectedEnd),
            ("91 01 02", 2, DecodeErrorKind::TrailingBytes),
            ("A0", 0, DecodeErrorKind::NotAList),
        ];
        for (bytes, offset, kind) in errors {
            let e = skipped(bytes).unwrap_err();
            assert_eq!((e.offset(), e.kind()), (offset, &kind), "{bytes}");
        }
        assert_eq!(
            skipped("93 C1 3FF199999999999A B2 4E 01 A1 81 61 C0 CC 01 FF").unwrap(),
            [Value::Null, Value::Null, Value::Null]
        );
        // Found by the bolt fuzz target: a map key that is a list cut short. Both paths name the
        // key, not the end of the input inside it.
        let key_is_a_cut_list = hex("91 A1 92 01");
        let e = decode(&key_is_a_cut_list, &limits).unwrap_err();
        assert_eq!((e.offset(), e.kind()), (2, &DecodeErrorKind::NonStringKey));
        let e = decode_list_at(&key_is_a_cut_list, 0, 0, none, &limits).unwrap_err();
        assert_eq!((e.offset(), e.kind()), (2, &DecodeErrorKind::NonStringKey));
        // A RECORD body: the list after the structure header, one level deep.
        let record = hex("B1 71 92 81 61 91 01");
        let only_first = decode_list_at(&record, 2, 1, |i| i == 0, &limits).unwrap();
        assert_eq!(only_first, [Value::from("a"), Value::Null]);
    }

    #[test]
    fn structures_hold_at_most_fifteen_fields() {
        assert!(Structure::new(0x70, vec![Value::Null; 15]).is_some());
        assert!(Structure::new(0x70, vec![Value::Null; 16]).is_none());
    }

    fn values() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            prop_oneof![-200i64..200, -70_000i64..70_000].prop_map(Value::Int),
            any::<f64>()
                .prop_filter("NaN is not equal to itself", |x| !x.is_nan())
                .prop_map(Value::Float),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 20, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..20).prop_map(Value::List),
                proptest::collection::vec(("[a-z]{0,3}", inner.clone()), 0..20)
                    .prop_map(|entries| entries.into_iter().collect()),
                (any::<u8>(), proptest::collection::vec(inner, 0..=15))
                    .prop_map(|(tag, fields)| Value::Struct(Structure::new(tag, fields).unwrap())),
            ]
        })
    }

    proptest! {
        #[test]
        fn every_value_round_trips(value in values()) {
            let bytes = encoded(&value);
            prop_assert_eq!(decode(&bytes, &Limits::default()).unwrap(), value);
        }

        #[test]
        fn a_list_decodes_alike_whichever_items_are_skipped(
            value in values(),
            noise in proptest::collection::vec(any::<u8>(), 0..8),
            cut in any::<proptest::sample::Index>(),
            mask in any::<u64>(),
        ) {
            let list = Value::List(match value {
                Value::List(items) => items,
                other => vec![other],
            });
            let mut whole = encoded(&list);
            whole.extend_from_slice(&noise);
            let bytes = &whole[..cut.index(whole.len() + 1)];
            let keep = |i: usize| mask >> (i % 64) & 1 == 1;
            let built = decode(bytes, &Limits::default());
            let partly = decode_list_at(bytes, 0, 0, keep, &Limits::default());
            match (built, partly) {
                (Ok(Value::List(all)), Ok(some)) => {
                    prop_assert_eq!(all.len(), some.len());
                    for (i, (a, s)) in all.iter().zip(&some).enumerate() {
                        prop_assert_eq!(if keep(i) { a } else { &Value::Null }, s);
                    }
                }
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "{:?} but {:?}", a, b),
            }
        }

        #[test]
        fn any_bytes_decode_or_fail_inside_the_input(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Err(e) = decode(&bytes, &Limits::default()) {
                prop_assert!(e.offset() <= bytes.len());
            }
        }
    }
}
