//! Durations as Neo4j 5 reads them (`TimeUtil.parseTimeMillis`, after Java's `trim`).
//!
//! - A bare number is seconds: `300`.
//! - Otherwise one or more `<number><unit>` pairs, summed: `1m30s`, `1h1s`, `5M`, `1500MS`,
//!   `2000000us`. Units are `ns`, `us` or `μs`, `ms`, `s`, `m`, `h` and `d`, in any case.
//! - Each number is a Java `int` (at most 2,147,483,647); nothing else is allowed: no sign, no
//!   fraction, no blank between a number and its unit, no number without a unit after the
//!   first pair (`1m30` is refused).
//! - The total is counted in nanoseconds as Java counts it (each pair saturating at
//!   `Long.MAX_VALUE` nanoseconds, the sum wrapping), then truncated to milliseconds.
//!
//! One deliberate difference: Java's `Character.isDigit` and `Integer.parseInt` take any
//! Unicode decimal digit (`٣`); tagroute takes ASCII digits only, and says so.

use std::fmt;
use std::time::Duration;

/// Why a text is not a duration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationError {
    /// Nothing, or no number before the first unit.
    MissingNumber,
    /// A number larger than a Java `int`.
    NumberTooLarge(String),
    /// A unit that is not one of `ns`, `us`, `μs`, `ms`, `s`, `m`, `h`, `d`.
    UnknownUnit(String),
    /// Digits after the last unit (`1m30`).
    TrailingNumber(String),
    /// A non-ASCII digit, which Java reads and tagroute does not.
    NonAsciiDigit(char),
    /// The total is negative, as Java's sum of nanoseconds wraps around.
    Negative,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::MissingNumber => write!(f, "a duration starts with a number"),
            DurationError::NumberTooLarge(n) => write!(f, "`{n}` is larger than 2147483647"),
            DurationError::UnknownUnit(u) => write!(f, "`{u}` is not a unit of time"),
            DurationError::TrailingNumber(n) => write!(f, "`{n}` has no unit"),
            DurationError::NonAsciiDigit(c) => write!(
                f,
                "`{c}` is a digit Neo4j reads but tagroute does not (tagroute is stricter here)"
            ),
            DurationError::Negative => write!(f, "the total overflows to a negative duration"),
        }
    }
}

/// The units TimeUtil knows, with their length in nanoseconds.
const UNITS: &[(&str, i64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// The duration `text` stands for, as Neo4j 5 reads it (`text` is trimmed first).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim_matches(|c: char| c <= ' ');
    if let Some(c) = text.chars().find(|c| c.is_numeric() && !c.is_ascii_digit()) {
        return Err(DurationError::NonAsciiDigit(c));
    }
    let runs = runs(text);
    match runs.as_slice() {
        [] => Err(DurationError::MissingNumber),
        [(number, true)] => Ok(Duration::from_secs(u64::from(int(number)?))),
        [(_, false), ..] => Err(DurationError::MissingNumber),
        _ => sum(&runs),
    }
}

/// `text` cut into runs of digits (`true`) and of anything else (`false`), alternating.
fn runs(text: &str) -> Vec<(&str, bool)> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut digits = None;
    for (i, c) in text.char_indices() {
        let is_digit = c.is_ascii_digit();
        if digits.is_some_and(|d| d != is_digit) {
            runs.push((text.get(start..i).unwrap_or_default(), !is_digit));
            start = i;
        }
        digits = Some(is_digit);
    }
    if let Some(d) = digits {
        runs.push((text.get(start..).unwrap_or_default(), d));
    }
    runs
}

/// The sum of `<number><unit>` pairs, in Java's arithmetic.
fn sum(runs: &[(&str, bool)]) -> Result<Duration, DurationError> {
    let mut nanos: i64 = 0;
    for pair in runs.chunks(2) {
        let [(number, _), (unit, _)] = pair else {
            let number = pair.first().map_or("", |(n, _)| *n);
            return Err(DurationError::TrailingNumber(number.to_owned()));
        };
        let amount = i64::from(int(number)?);
        let unit_lower = unit.to_lowercase();
        let scale = UNITS
            .iter()
            .find(|(name, _)| *name == unit_lower)
            .map(|(_, scale)| *scale)
            .ok_or_else(|| DurationError::UnknownUnit((*unit).to_owned()))?;
        nanos = nanos.wrapping_add(amount.checked_mul(scale).unwrap_or(i64::MAX));
    }
    let millis = u64::try_from(nanos / 1_000_000).map_err(|_| DurationError::Negative)?;
    Ok(Duration::from_millis(millis))
}

/// A run of ASCII digits as a Java `int`.
fn int(digits: &str) -> Result<u32, DurationError> {
    digits
        .parse::<u32>()
        .ok()
        .filter(|&n| i32::try_from(n).is_ok())
        .ok_or_else(|| DurationError::NumberTooLarge(digits.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Result<Duration, DurationError> {
        Ok(Duration::from_millis(n))
    }

    #[test]
    fn the_issue_table_and_every_unit() {
        assert_eq!(parse_duration("1m30s"), ms(90_000));
        assert_eq!(parse_duration("5M"), ms(300_000));
        assert_eq!(parse_duration("1500MS"), ms(1_500));
        assert_eq!(parse_duration("2000000us"), ms(2_000));
        assert_eq!(parse_duration("1h1s"), ms(3_601_000));
        assert_eq!(parse_duration("300"), ms(300_000));
        assert_eq!(parse_duration(" 300s \t"), ms(300_000));
        assert_eq!(parse_duration("2d"), ms(172_800_000));
        assert_eq!(parse_duration("1500000μs"), ms(1_500));
        assert_eq!(
            parse_duration("1500000ΜS"),
            ms(1_500),
            "Greek capital mu lowercases"
        );
        assert_eq!(parse_duration("2500000ns"), ms(2));
        assert_eq!(parse_duration("007s"), ms(7_000));
        assert_eq!(parse_duration("0"), ms(0));
        assert_eq!(parse_duration("1s1s1s"), ms(3_000));
        assert_eq!(parse_duration("1ms999us"), ms(1));
    }

    #[test]
    fn what_timeutil_refuses() {
        use DurationError::*;
        let cases: &[(&str, DurationError)] = &[
            ("", MissingNumber),
            ("s", MissingNumber),
            ("-5s", MissingNumber),
            ("+5", MissingNumber),
            ("1m30", TrailingNumber("30".into())),
            ("5 m", UnknownUnit(" m".into())),
            ("5min", UnknownUnit("min".into())),
            ("1.5s", UnknownUnit(".".into())),
            ("5\u{b5}s", UnknownUnit("\u{b5}s".into())),
            ("2147483648", NumberTooLarge("2147483648".into())),
            ("99999999999s", NumberTooLarge("99999999999".into())),
            ("\u{663}s", NonAsciiDigit('\u{663}')),
        ];
        for (text, error) in cases {
            assert_eq!(parse_duration(text).as_ref(), Err(error), "{text:?}");
        }
    }

    #[test]
    fn java_arithmetic_at_the_limits() {
        // 2147483647 days saturate at Long.MAX_VALUE nanoseconds.
        let max_millis = (i64::MAX / 1_000_000) as u64;
        assert_eq!(parse_duration("2147483647d"), ms(max_millis));
        assert_eq!(parse_duration("2147483647"), ms(2_147_483_647_000));
        // A second saturated pair wraps the sum negative: Java refuses the negative duration.
        assert_eq!(
            parse_duration("2147483647d1ns"),
            Err(DurationError::Negative)
        );
    }
}
