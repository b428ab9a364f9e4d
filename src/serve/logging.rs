//! Structured logs with `tracing`: one line per connection and per error, human-readable or
//! JSON (`--log-format json`), on stderr. Stdout stays for what a program reads.
//!
//! What a client can make the server log is bounded: a string the client sent is logged
//! [`Clipped`] (at most 64 characters, control characters escaped, and its length), and an
//! error that a client can repeat at will is logged through a [`Throttle`] (at most one line a
//! second, with the count of those left out).

use std::fmt;
use std::fs::File;
use std::os::fd::AsFd;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::format::FmtSpan;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-12-02T12:00:00Z  INFO tagroute::serve: connection closed connection=bolt-1 ...`
    #[default]
    Text,
    /// One JSON object a line, fields flattened: `{"timestamp":..., "level":"INFO", ...}`.
    Json,
}

/// A `--log-format` that is neither `text` nor `json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLogFormat(String);

impl fmt::Display for UnknownLogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown log format `{}`; expected text or json", self.0)
    }
}

impl std::error::Error for UnknownLogFormat {}

impl FromStr for LogFormat {
    type Err = UnknownLogFormat;

    fn from_str(s: &str) -> Result<LogFormat, UnknownLogFormat> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(UnknownLogFormat(other.to_owned())),
        }
    }
}

/// Installs the process's log subscriber at `level` (`info`, `debug`, ...). Call it once, from
/// a binary; a second call changes nothing.
///
/// Lines go to a duplicate of file descriptor 2, not through `std::io::stderr()`: a binary may
/// hold the standard error lock for its whole run (tagroute's does), and each line is written
/// whole in one call, so lines from several threads never interleave.
pub fn init(format: LogFormat, level: tracing::Level) {
    let writer = match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Arc::new(File::from(fd)),
        Err(_) => return,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(level)
        .with_span_events(FmtSpan::NONE)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// How many characters of a client's string are logged.
pub const CLIPPED_CHARS: usize = 64;

/// A string from a client as a log line shows it: at most [`CLIPPED_CHARS`] characters, each
/// control character escaped (so a client cannot forge a line), and when cut, its length:
/// `aaaa…` `(65536 bytes)`.
///
/// ```
/// use tagroute::serve::logging::Clipped;
///
/// assert_eq!(Clipped("app").to_string(), "app");
/// assert_eq!(Clipped("a\nb").to_string(), "a\\nb");
/// let long = "x".repeat(100_000);
/// assert_eq!(Clipped(&long).to_string(), format!("{}… (100000 bytes)", "x".repeat(64)));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Clipped<'a>(pub &'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(CLIPPED_CHARS) {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_fmt(format_args!("{c}"))?;
            }
        }
        if chars.next().is_some() {
            write!(f, "… ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// At most one line per period for an event that may repeat at any rate: [`Throttle::ready`]
/// says when to log, with how many occurrences were left out since the last line.
#[derive(Debug)]
pub struct Throttle {
    period: Duration,
    last: Mutex<Option<Instant>>,
    left_out: AtomicU64,
}

impl Throttle {
    /// One line per `period` at most.
    pub fn new(period: Duration) -> Throttle {
        Throttle {
            period,
            last: Mutex::new(None),
            left_out: AtomicU64::new(0),
        }
    }

    /// One line a second at most.
    pub fn per_second() -> Throttle {
        Throttle::new(Duration::from_secs(1))
    }

    /// Counts one occurrence; `Some(n)` if it is to be logged now, `n` being the occurrences
    /// left out since the last line logged.
    pub fn ready(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match *last {
            Some(at) if now.duration_since(at) < self.period => {
                self.left_out.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.left_out.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clipped_string_is_bounded_and_cannot_forge_a_line() {
        assert_eq!(Clipped("").to_string(), "");
        let exactly = "é".repeat(CLIPPED_CHARS);
        assert_eq!(Clipped(&exactly).to_string(), exactly);
        let over = "é".repeat(CLIPPED_CHARS + 1);
        assert_eq!(
            Clipped(&over).to_string(),
            format!("{}… (130 bytes)", "é".repeat(CLIPPED_CHARS))
        );
        assert_eq!(
            Clipped("u\nINFO forged\r\u{1b}[0m").to_string(),
            "u\\nINFO forged\\r\\u{1b}[0m"
        );
        let huge = "\n".repeat(1 << 16);
        assert!(Clipped(&huge).to_string().len() < 200);
    }

    #[test]
    fn a_throttle_logs_once_per_period_with_the_count_left_out() {
        let throttle = Throttle::new(Duration::from_secs(3600));
        assert_eq!(throttle.ready(), Some(0));
        for _ in 0..1000 {
            assert_eq!(throttle.ready(), None);
        }
        let open = Throttle::new(Duration::ZERO);
        assert_eq!(open.ready(), Some(0));
        assert_eq!(open.ready(), Some(0));
        *throttle.last.lock().unwrap_or_else(PoisonError::into_inner) = None;
        assert_eq!(throttle.ready(), Some(1000));
    }

    #[test]
    fn formats_read_from_their_names() {
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!("text".parse(), Ok(LogFormat::Text));
        assert_eq!(
            "xml".parse::<LogFormat>().map_err(|e| e.to_string()),
            Err("unknown log format `xml`; expected text or json".into())
        );
    }
}
