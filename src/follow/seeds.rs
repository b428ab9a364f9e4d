//! The cluster to follow, as written on the command line: `neo4j://HOST:PORT[,HOST:PORT...]`.

use std::fmt;

/// The port a seed without one is reached on, Bolt's.
pub const DEFAULT_PORT: u16 = 7687;

/// The servers to ask first, and whether the scheme asks for TLS.
///
/// Schemes: `neo4j://` and `bolt://` (plain), `neo4j+s://` and `bolt+s://` (TLS, verified
/// against the CA given beside). A seed is a host name, an IPv4 address or a bracketed IPv6
/// address, with an optional port (7687).
///
/// ```
/// use tagroute::follow::Seeds;
///
/// let seeds: Seeds = "neo4j://a.example.com,10.0.0.2:7688,[::1]:7689".parse()?;
/// assert_eq!(seeds.addresses(), ["a.example.com:7687", "10.0.0.2:7688", "[::1]:7689"]);
/// assert!(!seeds.tls());
/// let e = "neo4j://a:x".parse::<Seeds>().unwrap_err();
/// assert_eq!(e.to_string(), "`neo4j://a:x` at byte 10: the port `x` is not a number from 1 to 65535");
/// # Ok::<(), tagroute::follow::SeedsError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seeds {
    addresses: Vec<String>,
    tls: bool,
}

impl Seeds {
    /// The seeds, `host:port` each, in the order written.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// Whether the scheme is `neo4j+s` or `bolt+s`.
    pub fn tls(&self) -> bool {
        self.tls
    }
}

/// Why a `--follow` value is not a list of seeds: what, and at which byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedsError {
    text: String,
    at: usize,
    message: String,
}

impl SeedsError {
    /// The byte offset in the text of what is wrong.
    pub fn at(&self) -> usize {
        self.at
    }
}

impl fmt::Display for SeedsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` at byte {}: {}", self.text, self.at, self.message)
    }
}

impl std::error::Error for SeedsError {}

impl std::str::FromStr for Seeds {
    type Err = SeedsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |at: usize, message: String| SeedsError {
            text: text.to_owned(),
            at,
            message,
        };
        let Some((scheme, list)) = text.split_once("://") else {
            return Err(error(
                0,
                "expected `neo4j://HOST:PORT[,HOST:PORT...]`".into(),
            ));
        };
        let tls = match scheme {
            "neo4j" | "bolt" => false,
            "neo4j+s" | "bolt+s" => true,
            _ => {
                let message = format!(
                    "the scheme `{scheme}` is not one of neo4j, neo4j+s, bolt, bolt+s \
                     (for a self-signed certificate, give it as the CA)"
                );
                return Err(error(0, message));
            }
        };
        let mut at = scheme.len() + 3;
        let list = list.strip_suffix('/').unwrap_or(list);
        if let Some(query) = list.find(['?', '/', '@']) {
            let message = "a seed list has no path, query or user: give credentials apart";
            return Err(error(at + query, message.into()));
        }
        let mut addresses = Vec::new();
        for seed in list.split(',') {
            addresses.push(address(seed).map_err(|(offset, message)| error(at + offset, message))?);
            at += seed.len() + 1;
        }
        Ok(Seeds { addresses, tls })
    }
}

/// `host[:port]` as `host:port`, or the offset in `seed` and what is wrong.
fn address(seed: &str) -> Result<String, (usize, String)> {
    let (host, port) = if let Some(v6) = seed.strip_prefix('[') {
        let end = v6.find(']').ok_or((0, "`[` without its `]`".to_owned()))?;
        let (host, rest) = seed.split_at(end + 2);
        match rest.strip_prefix(':') {
            Some(port) => (host, Some((port, end + 3))),
            None if rest.is_empty() => (host, None),
            None => return Err((end + 2, format!("`{rest}` after the address"))),
        }
    } else {
        match seed.rsplit_once(':') {
            Some((host, port)) => (host, Some((port, host.len() + 1))),
            None => (seed, None),
        }
    };
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let name_ok = match bare {
        Some(v6) => !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
        None => !host.is_empty() && !host.contains(':'),
    };
    if !name_ok || host.contains(char::is_whitespace) {
        return Err((0, format!("`{seed}` is not a host name or address")));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some((port, offset)) => port
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0 && port.bytes().all(|b| b.is_ascii_digit()))
            .ok_or((
                offset,
                format!("the port `{port}` is not a number from 1 to 65535"),
            ))?,
    };
    Ok(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_say_whether_to_use_tls() {
        for (text, tls) in [
            ("neo4j://a", false),
            ("bolt://a", false),
            ("neo4j+s://a", true),
            ("bolt+s://a:1/", true),
        ] {
            assert_eq!(text.parse::<Seeds>().unwrap().tls(), tls, "{text}");
        }
    }

    #[test]
    fn seeds_are_host_and_port_with_bolt_s_port_by_default() {
        let seeds: Seeds = "neo4j://127.0.0.2:17687,127.0.0.3,[::1],n1.example.com:1"
            .parse()
            .unwrap();
        assert_eq!(
            seeds.addresses(),
            [
                "127.0.0.2:17687",
                "127.0.0.3:7687",
                "[::1]:7687",
                "n1.example.com:1"
            ]
        );
    }

    #[test]
    fn errors_name_the_byte_at_fault() {
        let cases = [
            ("a:7687", 0, "expected `neo4j://HOST:PORT[,HOST:PORT...]`"),
            (
                "http://a",
                0,
                "the scheme `http` is not one of neo4j, neo4j+s, bolt, bolt+s (for a self-signed certificate, give it as the CA)",
            ),
            (
                "neo4j://a,b:0",
                12,
                "the port `0` is not a number from 1 to 65535",
            ),
            (
                "neo4j://a,b:+1",
                12,
                "the port `+1` is not a number from 1 to 65535",
            ),
            ("neo4j://a,,b", 10, "`` is not a host name or address"),
            (
                "neo4j://a:1?policy=x",
                11,
                "a seed list has no path, query or user: give credentials apart",
            ),
            (
                "neo4j://u@a",
                9,
                "a seed list has no path, query or user: give credentials apart",
            ),
            ("neo4j://[::1", 8, "`[` without its `]`"),
            ("neo4j://[::1]x", 13, "`x` after the address"),
            (
                "neo4j://[::1]:x",
                14,
                "the port `x` is not a number from 1 to 65535",
            ),
            ("neo4j://::1", 8, "`::1` is not a host name or address"),
        ];
        for (text, at, message) in cases {
            let e = text.parse::<Seeds>().unwrap_err();
            assert_eq!((e.at(), e.message.as_str()), (at, message), "{text}");
        }
    }
}
