//! Durations as neo4j.conf writes them: a whole number and an optional unit.
//!
//! `1500ms`, `300s`, `5m`, `1h`, `2d`; a bare number is seconds. Units are lowercase and follow
//! the number directly; fractions and signs are not durations.

use std::time::Duration;

/// The units, with their length in milliseconds; `ms` before `m` and `s` so that the longest
/// suffix is tried first.
const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// The duration `text` stands for, or `None` when it is not a duration (or overflows).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit_millis) = UNITS
        .iter()
        .find_map(|(unit, millis)| Some((text.strip_suffix(unit)?, *millis)))
        .unwrap_or((text, 1_000));
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = number.parse::<u64>().ok()?.checked_mul(unit_millis)?;
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form() {
        let secs = Duration::from_secs;
        assert_eq!(parse_duration("300"), Some(secs(300)));
        assert_eq!(parse_duration("300s"), Some(secs(300)));
        assert_eq!(parse_duration("5m"), Some(secs(300)));
        assert_eq!(parse_duration("1h"), Some(secs(3600)));
        assert_eq!(parse_duration("2d"), Some(secs(172_800)));
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("007s"), Some(secs(7)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
    }

    #[test]
    fn anything_else_is_not_a_duration() {
        for text in [
            "", "s", "ms", "+5s", "-5s", "1.5s", "5 m", "5M", "5min", "x", "5sm",
        ] {
            assert_eq!(parse_duration(text), None, "{text:?}");
        }
        assert_eq!(parse_duration("99999999999999999999"), None);
        assert_eq!(parse_duration("18446744073709551615d"), None);
    }
}
