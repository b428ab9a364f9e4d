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
//! The client side ([`proposal`], [`accepted`]) offers `5.max..5.0` and `4.4` and reads the
//! server's 4-byte answer. It offers no manifest slot: a manifest buys Bolt 6, which tagroute
//! does not speak, and every Neo4j server from 4.4 to 2025.x answers the legacy slots.
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
    /// Client side: the server answered `00 00 00 00`, none of the offered versions.
    Refused {
        /// The client's highest offered version.
        max: Version,
    },
    /// Client side: the server's answer names a version that was not offered (or is not a
    /// version at all: `HTTP` from a web server, a manifest without being asked for one).
    NotOffered {
        /// The four bytes answered.
        reply: [u8; 4],
        /// The client's highest offered version.
        max: Version,
    },
}

impl HandshakeError {
    /// The four bytes to send before closing: [`NO_VERSION`] when the client spoke Bolt but
    /// offered nothing in common, `None` when it did not speak Bolt at all.
    pub fn reply(&self) -> Option<[u8; 4]> {
        match self {
            HandshakeError::NoCommonVersion { .. } => Some(NO_VERSION),
            HandshakeError::Length { .. }
            | HandshakeError::BadMagic { .. }
            | HandshakeError::Refused { .. }
            | HandshakeError::NotOffered { .. } => None,
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
            HandshakeError::Refused { max } => write!(
                f,
                "the server speaks none of the Bolt versions offered ({}, 4.4)",
                offered_5x(*max).map_or("none of 5.x".to_owned(), |o| o.to_string())
            ),
            HandshakeError::NotOffered {
                reply: [b'H', b'T', b'T', b'P'],
                max,
            } => write!(
                f,
                "the server answered `HTTP`: an HTTP port, not Bolt (offered up to {max})"
            ),
            HandshakeError::NotOffered { reply, max } => write!(
                f,
                "the server answered {:02X} {:02X} {:02X} {:02X}, not a version offered (4.4, 5.0-{max})",
                reply[0], reply[1], reply[2], reply[3]
            ),
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

/// The 5.x slot a client offers up to `max`: `5.max..5.0`, or `None` when `max` is below 5.0.
fn offered_5x(max: Version) -> Option<Offer> {
    let highest = max.min(Version::V5_8);
    (highest >= Version::V5_0).then_some(Offer {
        highest,
        range: highest.minor,
    })
}

/// The 20 bytes a client opens with: the magic, `5.max..5.0` (when `max` is 5.0 or higher),
/// `4.4` (when `max` is 4.4 or higher), then padding.
///
/// ```
/// use tagroute::bolt::handshake::{self, Version};
///
/// let bytes = handshake::proposal(Version::V5_8);
/// assert_eq!(bytes[4..12], [0, 8, 8, 5, 0, 0, 4, 4]);
/// assert_eq!(handshake::accepted([0, 0, 4, 5], Version::V5_8)?, Version::V5_4);
/// assert!(handshake::accepted([0, 0, 0, 0], Version::V5_8).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn proposal(max: Version) -> [u8; LEN] {
    let slots = [
        offered_5x(max).map(|o| [0, o.range, o.highest.minor, o.highest.major]),
        (max >= Version::V4_4).then_some([0, 0, 4, 4]),
    ];
    let offered = MAGIC
        .into_iter()
        .chain(slots.into_iter().flatten().flatten());
    let mut bytes = [0; LEN];
    for (slot, byte) in bytes.iter_mut().zip(offered) {
        *slot = byte;
    }
    bytes
}

/// The version a server's 4-byte answer to [`proposal`]`(max)` accepts.
///
/// # Errors
/// [`HandshakeError::Refused`] for `00 00 00 00`; [`HandshakeError::NotOffered`] for a version
/// that was not offered, or one that tagroute does not implement (5.5).
pub fn accepted(reply: [u8; 4], max: Version) -> Result<Version, HandshakeError> {
    if reply == NO_VERSION {
        return Err(HandshakeError::Refused { max });
    }
    let [zero, range, minor, major] = reply;
    let version = Version::new(major, minor);
    if zero != 0 || range != 0 || !version.is_supported() || version > max {
        return Err(HandshakeError::NotOffered { reply, max });
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::testing::hex;

    /// The magic and `slots`, where a lone `0` is a padding slot.
    fn offer(slots: &str) -> Vec<u8> {
        let slots: Vec<&str> = slots
            .split_whitespace()
            .map(|slot| if slot == "0" { "00000000" } else { slot })
            .collect();
        hex(&format!("6060B017 {}", slots.join(" ")))
    }

    const PYTHON_6: &str = "000001FF 00080805 00020404 00000003";
    const PYTHON_5_25: &str = "00070705 00020404 00000104 00000003";
    const PYTHON_5_0: &str = "00000005 00020404 00000104 00000003";
    const NEO4RS: &str = "00000404 00000304 00000104 00000004";

    #[test]
    fn real_drivers_get_their_best_version_under_the_cap() {
        let cases = [
            (PYTHON_6, Version::V5_8, "5.8"),
            (PYTHON_6, Version::new(5, 7), "5.7"),
            (PYTHON_6, Version::new(5, 6), "5.6"),
            (PYTHON_6, Version::new(5, 5), "5.4"), // 5.5 is skipped, as Neo4j does
            (PYTHON_6, Version::V5_0, "5.0"),
            (PYTHON_6, Version::V4_4, "4.4"), // the 5.x slot has nothing, the 4.x slot does
            (PYTHON_6, Version::new(9, 9), "5.8"),
            (PYTHON_5_25, Version::V5_8, "5.7"),
            (PYTHON_5_0, Version::V5_8, "5.0"),
            (NEO4RS, Version::V5_8, "4.4"),
        ];
        for (slots, max, expected) in cases {
            let version = negotiate(&offer(slots), max).unwrap();
            assert_eq!(version.to_string(), expected, "{slots} up to {max}");
        }
    }

    #[test]
    fn the_reply_names_one_exact_version() {
        assert_eq!(Version::V5_8.reply(), [0, 0, 8, 5]);
        assert_eq!(Version::V4_4.reply(), [0, 0, 4, 4]);
    }

    #[test]
    fn slots_are_walked_in_the_client_order() {
        // 4.4 first: the first slot that holds a supported version wins, not the highest.
        assert_eq!(
            negotiate(&offer("00000404 00080805 0 0"), Version::V5_8),
            Ok(Version::V4_4)
        );
        // A slot with nothing supported is passed over.
        assert_eq!(
            negotiate(&offer("00000003 00000505 00010605 00000000"), Version::V5_8),
            Ok(Version::new(5, 6))
        );
    }

    #[test]
    fn ranges_count_down_within_one_major() {
        // 5.3 down to 5.0 (the range of 8 saturates at minor 0, never reaching 4.x).
        assert_eq!(
            negotiate(&offer("00080305 0 0 0"), Version::V5_8),
            Ok(Version::new(5, 3))
        );
        // 5.9 down to 5.6: 5.9 is not implemented, 5.8 is.
        assert_eq!(
            negotiate(&offer("00030905 0 0 0"), Version::V5_8),
            Ok(Version::V5_8)
        );
        // 4.3 down to 4.0: none implemented.
        assert!(negotiate(&offer("00030304 0 0 0"), Version::V5_8).is_err());
    }

    #[test]
    fn the_manifest_slot_is_never_read_as_a_version() {
        // 00 00 01 FF would be "255.1"; FF FF FF FF a manifest with a range: both skipped.
        let e =
            negotiate(&offer("000001FF FFFFFFFF 00000006 00000000"), Version::V5_8).unwrap_err();
        assert_eq!(e.reply(), Some(NO_VERSION));
        assert_eq!(
            e.to_string(),
            "no common Bolt version: the client offers manifest v1, manifest v255, 6.0; \
             this server speaks 4.4 and 5.0-5.8 up to 5.8"
        );
    }

    #[test]
    fn no_common_version_replies_zeros_and_lists_the_offers() {
        let e = negotiate(&offer("00020304 00000003 0 0"), Version::V5_8).unwrap_err();
        assert_eq!(e.reply(), Some([0, 0, 0, 0]));
        assert_eq!(
            e,
            HandshakeError::NoCommonVersion {
                offered: vec![
                    Offer {
                        highest: Version::new(4, 3),
                        range: 2
                    },
                    Offer {
                        highest: Version::new(3, 0),
                        range: 0
                    },
                ],
                max: Version::V5_8,
            }
        );
        assert!(e.to_string().contains("the client offers 4.3..4.1, 3.0;"));
        // A cap below 4.4 leaves nothing to speak.
        assert!(negotiate(&offer(PYTHON_6), Version::new(4, 3)).is_err());
        let padding = negotiate(&offer("0 0 0 0"), Version::V5_8).unwrap_err();
        assert!(padding.to_string().contains("offers nothing"));
    }

    #[test]
    fn a_client_that_does_not_speak_bolt_gets_no_reply() {
        let e = negotiate(b"GET / HTTP/1.1\r\nHost", Version::V5_8).unwrap_err();
        assert_eq!(e, HandshakeError::BadMagic { found: *b"GET " });
        assert_eq!(e.reply(), None);
        assert!(e.to_string().contains("47 45 54 20 at byte 0"));
        assert_eq!(
            negotiate(&[0x60, 0x60], Version::V5_8),
            Err(HandshakeError::Length { len: 2 })
        );
    }

    #[test]
    fn versions_parse_as_major_dot_minor() {
        assert_eq!("5.4".parse(), Ok(Version::V5_4));
        assert_eq!("4.4".parse(), Ok(Version::V4_4));
        for bad in ["5", "5.", ".4", "5.x", "+5.4", "5.4.1", "256.0", " 5.4", ""] {
            let e = bad.parse::<Version>().unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("`{bad}` is not a Bolt version such as `5.4`")
            );
        }
    }

    #[test]
    fn a_client_offers_5_max_down_to_5_0_then_4_4() {
        assert_eq!(
            proposal(Version::V5_8).to_vec(),
            hex("6060B017 00080805 00000404 00000000 00000000")
        );
        assert_eq!(
            proposal(Version::V5_0).to_vec(),
            hex("6060B017 00000005 00000404 00000000 00000000")
        );
        assert_eq!(
            proposal(Version::V4_4).to_vec(),
            hex("6060B017 00000404 00000000 00000000 00000000")
        );
        // tagroute's own server picks from a tagroute proposal what the cap allows.
        for max in Version::SUPPORTED {
            for cap in Version::SUPPORTED {
                let expected = max.min(cap);
                let expected = if expected == Version::new(5, 5) {
                    Version::V5_4
                } else {
                    expected
                };
                assert_eq!(negotiate(&proposal(max), cap), Ok(expected), "{max} {cap}");
            }
        }
    }

    #[test]
    fn a_client_accepts_only_an_offered_version() {
        assert_eq!(accepted([0, 0, 8, 5], Version::V5_8), Ok(Version::V5_8));
        assert_eq!(accepted([0, 0, 4, 4], Version::V5_8), Ok(Version::V4_4));
        let refused = accepted([0; 4], Version::V5_8).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the server speaks none of the Bolt versions offered (5.8..5.0, 4.4)"
        );
        assert_eq!(refused.reply(), None);
        for reply in [
            [0, 0, 5, 5],
            [0, 0, 6, 5],
            [0, 0, 1, 0xFF],
            [0, 2, 4, 4],
            [0, 0, 0, 6],
        ] {
            assert_eq!(
                accepted(reply, Version::new(5, 4)),
                Err(HandshakeError::NotOffered {
                    reply,
                    max: Version::new(5, 4)
                }),
                "{reply:02X?}"
            );
        }
        assert_eq!(
            accepted(*b"HTTP", Version::V5_8).unwrap_err().to_string(),
            "the server answered `HTTP`: an HTTP port, not Bolt (offered up to 5.8)"
        );
        assert_eq!(
            accepted([1, 2, 3, 4], Version::V5_8)
                .unwrap_err()
                .to_string(),
            "the server answered 01 02 03 04, not a version offered (4.4, 5.0-5.8)"
        );
    }

    #[test]
    fn supported_versions_are_4_4_and_5_0_to_5_8_without_5_5() {
        let all: Vec<String> = Version::SUPPORTED.iter().map(Version::to_string).collect();
        assert_eq!(
            all,
            [
                "4.4", "5.0", "5.1", "5.2", "5.3", "5.4", "5.6", "5.7", "5.8"
            ]
        );
    }
}
