//! The handshake: which Bolt version a connection speaks.
//!
//! The client opens with the magic `60 60 B0 17` and four 4-byte slots in its order of
//! preference, each `[00, range, minor, major]`: "major.minor down to major.(minor − range)".
//! The server walks the slots in order, takes the first that holds a version it implements (the
//! highest such in that slot) and answers with it as `00 00 minor major`, or with `00 00 00 00`
//! when none does, and closes. Slots whose major is `FF` ask for a manifest handshake (Bolt 5.7's
//! `00 00 01 FF`); this server answers the legacy way, so it skips them, as Neo4j does.
//!
//! Implemented: Bolt 4.4 and 5.0–5.8 except 5.5, which no Neo4j server ever negotiated
//! (BOLT.md section 1.4), each up to a highest version the server operator may lower.
//!
//! ```
//! use tagroute::bolt::handshake::{self, Version};
//!
//! // What the Python driver 5.28 and 6.x send: manifest v1, 5.8..5.0, 4.4..4.2, 3.0.
//! let hello = [0x60, 0x60, 0xB0, 0x17, 0, 0, 1, 0xFF, 0, 8, 8, 5, 0, 2, 4, 4, 0, 0, 0, 3];
//! let version = handshake::negotiate(&hello, Version::V5_8)?;
//! assert_eq!(version, Version::V5_8);
//! assert_eq!(version.reply(), [0, 0, 8, 5]);
//!
//! let capped = handshake::negotiate(&hello, "5.4".parse()?)?;
//! assert_eq!(capped.reply(), [0, 0, 4, 5]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// The four bytes every Bolt connection opens with.
pub const MAGIC: [u8; 4] = [0x60, 0x60, 0xB0, 0x17];

/// The length of the client's handshake: the magic and four version slots.
pub const LEN: usize = 20;

/// The reply that refuses every offered version (the server then closes).
pub const NO_VERSION: [u8; 4] = [0; 4];

/// A Bolt protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    major: u8,
    minor: u8,
}

impl Version {
    /// Bolt 4.4, the only version neo4rs and the Python drivers share.
    pub const V4_4: Version = Version::new(4, 4);
    /// Bolt 5.0: auth still inside HELLO.
    pub const V5_0: Version = Version::new(5, 0);
    /// Bolt 5.1: auth in LOGON.
    pub const V5_1: Version = Version::new(5, 1);
    /// Bolt 5.4: TELEMETRY.
    pub const V5_4: Version = Version::new(5, 4);
    /// Bolt 5.7: GQL-shaped FAILURE metadata.
    pub const V5_7: Version = Version::new(5, 7);
    /// Bolt 5.8, the highest implemented.
    pub const V5_8: Version = Version::new(5, 8);

    /// Every implemented version, lowest first.
    pub const SUPPORTED: [Version; 9] = [
        Version::V4_4,
        Version::V5_0,
        Version::V5_1,
        Version::new(5, 2),
        Version::new(5, 3),
        Version::V5_4,
        Version::new(5, 6),
        Version::V5_7,
        Version::V5_8,
    ];

    /// The version `major.minor`, implemented or not.
    pub const fn new(major: u8, minor: u8) -> Self {
        Version { major, minor }
    }

    /// The major version.
    pub fn major(self) -> u8 {
        self.major
    }

    /// The minor version.
    pub fn minor(self) -> u8 {
        self.minor
    }

    /// Whether this server implements the version.
    pub fn is_supported(self) -> bool {
        Version::SUPPORTED.contains(&self)
    }

    /// The handshake reply that accepts this version: `00 00 minor major`.
    pub fn reply(self) -> [u8; 4] {
        [0, 0, self.minor, self.major]
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A version that is not written `major.minor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseVersionError {
    text: String,
}

impl fmt::Display for ParseVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a Bolt version such as `5.4`", self.text)
    }
}

impl std::error::Error for ParseVersionError {}

impl FromStr for Version {
    type Err = ParseVersionError;

    /// Parses `major.minor`, such as `4.4` or `5.8`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseVersionError {
            text: text.to_owned(),
        };
        let (major, minor) = text.split_once('.').ok_or_else(error)?;
        let number = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse::<u8>().ok())
                .flatten()
                .ok_or_else(error)
        };
        Ok(Version::new(number(major)?, number(minor)?))
    }
}

/// One slot of the client's handshake: `major.minor` down to `major.(minor − range)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The highest version of the slot.
    pub highest: Version,
    /// How many minor versions below it the slot also offers.
    pub range: u8,
}

impl Offer {
    fn from_slot(slot: [u8; 4]) -> Self {
        let [_, range, minor, major] = slot;
        Offer {
            highest: Version::new(major, minor),
            range,
        }
    }

    /// Whether this slot asks for a manifest handshake (major `FF`, as in `00 00 01 FF`).
    pub fn is_manifest(self) -> bool {
        self.highest.major == 0xFF
    }

    /// Whether the slot is padding (`00 00 00 00`).
    pub fn is_padding(self) -> bool {
        self.highest == Version::new(0, 0) && self.range == 0
    }

    /// The highest implemented version of this slot no higher than `max`.
    fn best(self, max: Version) -> Option<Version> {
        if self.is_manifest() {
            return None;
        }
        let lowest = self.highest.minor.saturating_sub(self.range);
        (lowest..=self.highest.minor)
            .rev()
            .map(|minor| Version::new(self.highest.major, minor))
            .find(|&v| v <= max && v.is_supported())
    }
}

impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Version { major, minor } = self.highest;
        match (self.is_manifest(), self.range) {
            (true, _) => write!(f, "manifest v{minor}"),
            (false, 0) => write!(f, "{major}.{minor}"),
            (false, range) => write!(
                f,
                "{major}.{minor}..{major}.{}",
                minor.saturating_sub(range)
            ),
        }
    }
}

/// Why a handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Fewer or more than [`LEN`] bytes were given.
    Length {
        /// How many.
        len: usize,
    },
    /// The first four bytes are not [`MAGIC`] (an HTTP request starts `GET ` or `POST`).
    BadMagic {
        /// What they were.
        found: [u8; 4],
    },
    /// No offered version is implemented (at or below the server's highest).
    NoCommonVersion {
        /// The client's slots, padding left out.
        offered: Vec<Offer>,
        /// The server's highest version.
        max: Version,
    },
}

impl HandshakeError {
    /// The four bytes to send before closing: [`NO_VERSION`] when the client spoke Bolt but
    /// offered nothing in common, `None` when it did not speak Bolt at all.
    pub fn reply(&self) -> Option<[u8; 4]> {
        match self {
            HandshakeError::NoCommonVersion { .. } => Some(NO_VERSION),
            HandshakeError::Length { .. } | HandshakeError::BadMagic { .. } => None,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Length { len } => {
                write!(f, "a handshake is {LEN} bytes, not {len}")
            }
            HandshakeError::BadMagic { found } => write!(
                f,
                "not a Bolt client: the handshake starts {:02X} {:02X} {:02X} {:02X} at byte 0, not 60 60 B0 17",
                found[0], found[1], found[2], found[3]
            ),
            HandshakeError::NoCommonVersion { offered, max } => {
                write!(f, "no common Bolt version: the client offers ")?;
                if offered.is_empty() {
                    write!(f, "nothing")?;
                }
                for (i, offer) in offered.iter().enumerate() {
                    write!(f, "{}{offer}", if i == 0 { "" } else { ", " })?;
                }
                write!(f, "; this server speaks 4.4 and 5.0-5.8 up to {max}")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// The version to speak, from the client's 20 handshake bytes and the server's highest version.
///
/// # Errors
/// A [`HandshakeError`]; its [`reply`](HandshakeError::reply) says what to send before closing.
pub fn negotiate(bytes: &[u8], max: Version) -> Result<Version, HandshakeError> {
    let Ok(bytes) = <&[u8; LEN]>::try_from(bytes) else {
        return Err(HandshakeError::Length { len: bytes.len() });
    };
    let (magic, slots) = bytes.split_at(4);
    if magic != MAGIC {
        let mut found = [0; 4];
        found.copy_from_slice(magic);
        return Err(HandshakeError::BadMagic { found });
    }
    let offers = slots.chunks_exact(4).map(|slot| {
        let mut bytes = [0; 4];
        bytes.copy_from_slice(slot);
        Offer::from_slot(bytes)
    });
    let mut offered = Vec::new();
    for offer in offers {
        if let Some(version) = offer.best(max) {
            return Ok(version);
        }
        if !offer.is_padding() {
            offered.push(offer);
        }
    }
    Err(HandshakeError::NoCommonVersion { offered, max })
}
