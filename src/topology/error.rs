//! Errors in a topology description or update, each naming the field at fault.

use std::fmt;

use super::tags::TooManyTags;

/// A topology that cannot be built, and the field at fault (`servers[2].tags[0]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologyError {
    field: String,
    kind: TopologyErrorKind,
}

/// What is wrong with a topology.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopologyErrorKind {
    /// The text is not JSON; the message carries serde_json's line and column.
    Syntax(String),
    /// A field that the JSON form does not have.
    UnknownField(String),
    /// A required field is absent.
    MissingField,
    /// A field holds the wrong type of value.
    WrongType(&'static str),
    /// A name or address is empty.
    Empty,
    /// A server or database name that is only blanks or holds a control character.
    InvalidName(String),
    /// An address that is not `host:port` with a port from 1 to 65535.
    InvalidAddress(String),
    /// A second server with this name.
    DuplicateName(String),
    /// A second server with this address.
    DuplicateAddress(String),
    /// A second database with this name (in any case, or a name another database has as an
    /// alias).
    DuplicateDatabase(String),
    /// An alias that another database has as its name or alias, in any case.
    NameTaken(String),
    /// A second default database; the first's name.
    SecondDefault(String),
    /// A tag outside `[A-Za-z0-9_-]+`, or `-` alone.
    InvalidTag(String),
    /// A tag listed twice for one server.
    DuplicateTag(String),
    /// A reference to a server that does not exist.
    UnknownServer(String),
    /// A reference to a database that does not exist.
    UnknownDatabase(String),
    /// A server listed twice in one database's roles, or as both primary and secondary.
    DuplicateMember(String),
    /// A leader that is not one of the database's primaries.
    LeaderNotPrimary(String),
    /// More tags or servers than ids can number.
    TooLarge,
    /// A tag matrix larger than the interner's [`TagInterner::matrix_limit`], or more tags
    /// than ids can number.
    ///
    /// [`TagInterner::matrix_limit`]: super::TagInterner::matrix_limit
    TooManyTags(TooManyTags),
    /// A key given twice in one JSON object (JSON keeps neither silently).
    DuplicateKey,
}

impl TopologyError {
    pub(crate) fn new(field: impl Into<String>, kind: TopologyErrorKind) -> TopologyError {
        TopologyError {
            field: field.into(),
            kind,
        }
    }

    /// The same error inside `parent`: `updates[2]` + `tags[0]` is `updates[2].tags[0]`.
    /// Paths are built only here, when an error happens, never on the way to success.
    pub(crate) fn within(mut self, parent: impl fmt::Display) -> TopologyError {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }

    /// The field at fault, as a path: `servers[2].tags[0]`, `databases[0].leader`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong.
    pub fn kind(&self) -> &TopologyErrorKind {
        &self.kind
    }
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TopologyErrorKind::*;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        match &self.kind {
            Syntax(message) => write!(f, "invalid JSON: {message}"),
            UnknownField(expected) => write!(f, "unknown field (expected one of {expected})"),
            MissingField => write!(f, "missing field"),
            WrongType(expected) => write!(f, "expected {expected}"),
            Empty => write!(f, "must not be empty"),
            InvalidName(n) if n.chars().any(char::is_control) => write!(
                f,
                "`{}` is not a valid name: it holds a control character",
                n.escape_debug()
            ),
            InvalidName(n) => write!(
                f,
                "`{}` is not a valid name: it is only blanks",
                n.escape_debug()
            ),
            InvalidAddress(a) => write!(f, "`{}` is not a `host:port` address", a.escape_debug()),
            DuplicateName(n) => write!(f, "duplicate server name `{n}`"),
            DuplicateAddress(a) => write!(f, "duplicate address `{a}`"),
            DuplicateDatabase(n) => write!(f, "duplicate database name `{n}`"),
            NameTaken(n) => write!(f, "the name `{n}` is taken by another database or alias"),
            SecondDefault(n) => write!(f, "`{n}` is the default database already"),
            InvalidTag(t) => write!(
                f,
                "`{t}` is not a valid tag (letters, digits, `_` and `-`, not `-` alone)"
            ),
            DuplicateTag(t) => write!(f, "tag `{t}` is listed twice"),
            UnknownServer(n) => write!(f, "unknown server `{n}`"),
            UnknownDatabase(n) => write!(f, "unknown database `{n}`"),
            DuplicateMember(n) => write!(f, "server `{n}` is listed twice for this database"),
            LeaderNotPrimary(n) => write!(f, "leader `{n}` is not one of the database's primaries"),
            TooLarge => write!(f, "too many servers or tags"),
            TooManyTags(e) => write!(f, "{e}"),
            DuplicateKey => write!(f, "key given twice"),
        }
    }
}

impl std::error::Error for TopologyError {}
