//! What a TLS certificate says about itself that serving needs to know: its X.509 version and
//! its validity period, read from the DER (RFC 5280 section 4.1) with every length checked.
//!
//! rustls takes any certificate it can use and never looks at the dates: a server whose
//! certificate expired starts silently, and every driver that verifies certificates then fails.
//! So the server reads the dates itself, warns at start, on `GET /healthz` and in the
//! `tagroute_tls_certificate_expiry_seconds` metric, and names an X.509 v1 certificate
//! (which rustls refuses) as such. Reading two fields takes the few DER rules below; a general
//! X.509 crate would bring a parser of every extension for them.
//!
//! ```
//! use tagroute::serve::certificate::{Validity, format_unix};
//!
//! let validity = Validity { not_before: 0, not_after: 100 * 86_400 };
//! assert_eq!(validity.warning(86_400, "the certificate"), None);
//! assert_eq!(
//!     validity.warning(101 * 86_400, "the certificate").as_deref(),
//!     Some("the certificate expired on 1970-04-11 00:00:00 UTC")
//! );
//! assert_eq!(format_unix(951_782_400), "2000-02-29 00:00:00 UTC");
//! ```

use std::fmt;

/// When a certificate is valid, in Unix seconds (UTC), both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// `notBefore`.
    pub not_before: i64,
    /// `notAfter`.
    pub not_after: i64,
}

/// A certificate expiring within this many seconds gets a warning: 30 days.
pub const EXPIRES_SOON: i64 = 30 * 86_400;

impl Validity {
    /// The warning about this validity at `now` (Unix seconds), naming the certificate as
    /// `what`: not yet valid, expired, or expiring within [`EXPIRES_SOON`]; `None` otherwise.
    pub fn warning(&self, now: i64, what: &str) -> Option<String> {
        if now < self.not_before {
            Some(format!(
                "{what} is not valid before {}",
                format_unix(self.not_before)
            ))
        } else if now > self.not_after {
            Some(format!("{what} expired on {}", format_unix(self.not_after)))
        } else if self.not_after - now < EXPIRES_SOON {
            Some(format!(
                "{what} expires on {} (in {} days)",
                format_unix(self.not_after),
                (self.not_after - now) / 86_400
            ))
        } else {
            None
        }
    }

    /// The period in which both `self` and `other` are valid (a chain's).
    pub fn within(self, other: Validity) -> Validity {
        Validity {
            not_before: self.not_before.max(other.not_before),
            not_after: self.not_after.min(other.not_after),
        }
    }
}

/// A certificate's version and validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The X.509 version: 1, 2 or 3.
    pub version: u8,
    /// When it is valid.
    pub validity: Validity,
}

/// A certificate whose DER could not be read, with the byte where reading stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerError {
    at: usize,
    message: &'static str,
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {} of its DER", self.message, self.at)
    }
}

impl std::error::Error for DerError {}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xA0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// Reads the version and validity of a DER certificate.
pub fn summarize(der: &[u8]) -> Result<Summary, DerError> {
    let mut certificate = Reader { bytes: der, at: 0 };
    let mut tbs = certificate.enter(SEQUENCE, "not a certificate")?;
    let mut tbs = tbs.enter(SEQUENCE, "no certificate body")?;
    let version = if tbs.peek() == Some(VERSION) {
        let mut explicit = tbs.enter(VERSION, "no version")?;
        let (at, number) = explicit.element(INTEGER, "the version is not an integer")?;
        match number {
            [v @ 0..=2] => v + 1,
            _ => return Err(DerError::new(at, "an unknown certificate version")),
        }
    } else {
        1
    };
    tbs.element(INTEGER, "no serial number")?;
    tbs.element(SEQUENCE, "no signature algorithm")?;
    tbs.element(SEQUENCE, "no issuer")?;
    let mut validity = tbs.enter(SEQUENCE, "no validity")?;
    let not_before = validity.time()?;
    let not_after = validity.time()?;
    Ok(Summary {
        version,
        validity: Validity {
            not_before,
            not_after,
        },
    })
}

impl DerError {
    fn new(at: usize, message: &'static str) -> DerError {
        DerError { at, message }
    }
}

/// DER elements one after another, from `at` in `bytes` (offsets count from the start of the
/// whole certificate, for errors).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.first().copied()
    }

    /// The next element, which must have `tag`: its offset and contents.
    fn element(&mut self, tag: u8, missing: &'static str) -> Result<(usize, &'a [u8]), DerError> {
        let start = self.at;
        let error = |at| DerError::new(at, missing);
        let (&found, rest) = self.bytes.split_first().ok_or(error(start))?;
        if found != tag {
            return Err(error(start));
        }
        let (&first, mut rest) = rest.split_first().ok_or(error(start + 1))?;
        let len = match first {
            0..=0x7F => usize::from(first),
            0x81..=0x84 => {
                let n = usize::from(first & 0x7F);
                let digits = rest.get(..n).ok_or(error(start + 2))?;
                rest = rest.get(n..).unwrap_or_default();
                digits
                    .iter()
                    .fold(0usize, |len, &d| len << 8 | usize::from(d))
            }
            _ => return Err(DerError::new(start + 1, "an unsupported DER length")),
        };
        let header = self.bytes.len() - rest.len();
        let contents = rest.get(..len).ok_or(DerError::new(
            start,
            "an element longer than the certificate",
        ))?;
        self.bytes = rest.get(len..).unwrap_or_default();
        self.at = start + header + len;
        Ok((start + header, contents))
    }

    /// The contents of the next element, `tag`, to read element by element.
    fn enter(&mut self, tag: u8, missing: &'static str) -> Result<Reader<'a>, DerError> {
        let (at, bytes) = self.element(tag, missing)?;
        Ok(Reader { bytes, at })
    }

    /// A UTCTime or GeneralizedTime in Unix seconds.
    fn time(&mut self) -> Result<i64, DerError> {
        let utc = self.peek() == Some(UTC_TIME);
        let tag = if utc { UTC_TIME } else { GENERALIZED_TIME };
        let (at, text) = self.element(tag, "no validity time")?;
        parse_time(text, utc).ok_or(DerError::new(at, "a validity time that is not a date"))
    }
}

/// `YYMMDDHHMMSSZ` (UTCTime: 50-99 are 1950-1999) or `YYYYMMDDHHMMSSZ` in Unix seconds.
fn parse_time(text: &[u8], utc: bool) -> Option<i64> {
    let (year, rest) = if utc {
        let yy = digits(text.get(..2)?)?;
        (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
    } else {
        (digits(text.get(..4)?)?, text.get(4..)?)
    };
    if rest.len() != 11 || rest.last() != Some(&b'Z') {
        return None;
    }
    let field = |i: usize| digits(rest.get(i..i + 2)?);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
    })
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_unix(seconds: i64) -> String {
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_and_print_both_ways() {
        for (text, utc, seconds) in [
            (&b"700101000000Z"[..], true, 0),
            (b"491231235959Z", true, 2_524_607_999),
            (b"500101000000Z", true, -631_152_000),
            (b"20000229120000Z", false, 951_825_600),
            (b"99991231235959Z", false, 253_402_300_799),
        ] {
            assert_eq!(parse_time(text, utc), Some(seconds), "{text:?}");
            let printed = format_unix(seconds);
            let digits: String = printed.chars().filter(char::is_ascii_digit).collect();
            let written = std::str::from_utf8(text).expect("ascii");
            assert!(
                written
                    .trim_end_matches('Z')
                    .ends_with(&digits[if utc { 2 } else { 0 }..])
            );
        }
        for bad in [
            &b"7001010000Z"[..],
            b"701301000000Z",
            b"700101000000",
            b"7x0101000000Z",
        ] {
            assert_eq!(parse_time(bad, true), None, "{bad:?}");
        }
    }

    #[test]
    fn warnings_name_the_date() {
        let validity = Validity {
            not_before: 1_000_000,
            not_after: 1_000_000 + 40 * 86_400,
        };
        let warn = |now| validity.warning(now, "the certificate");
        assert_eq!(
            warn(0).as_deref(),
            Some("the certificate is not valid before 1970-01-12 13:46:40 UTC")
        );
        assert_eq!(warn(1_000_000), None);
        assert_eq!(
            warn(1_000_000 + 30 * 86_400).as_deref(),
            Some("the certificate expires on 1970-02-21 13:46:40 UTC (in 10 days)")
        );
        assert_eq!(
            warn(1_000_001 + 40 * 86_400).as_deref(),
            Some("the certificate expired on 1970-02-21 13:46:40 UTC")
        );
    }

    #[test]
    fn truncated_or_malformed_der_is_an_error_not_a_panic() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
        params.not_before = rcgen::date_time_ymd(2020, 1, 2);
        params.not_after = rcgen::date_time_ymd(2060, 3, 4);
        let key = rcgen::KeyPair::generate().expect("a key");
        let der = params.self_signed(&key).expect("a cert").der().to_vec();
        let summary = summarize(&der).expect("reads");
        assert_eq!(summary.version, 3);
        assert_eq!(
            format_unix(summary.validity.not_before),
            "2020-01-02 00:00:00 UTC"
        );
        assert_eq!(
            format_unix(summary.validity.not_after),
            "2060-03-04 00:00:00 UTC"
        );
        for cut in 0..der.len() {
            assert!(summarize(&der[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            summarize(&[0x30, 0x85, 0, 0, 0, 0, 1]).map_err(|e| e.to_string()),
            Err("an unsupported DER length at byte 1 of its DER".into())
        );
        assert!(summarize(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }
}
