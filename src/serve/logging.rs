//! Structured logs with `tracing`: one line per connection and per error, human-readable or
//! JSON (`--log-format json`), on stderr. Stdout stays for what a program reads.

use std::fmt;
use std::fs::File;
use std::os::fd::AsFd;
use std::str::FromStr;
use std::sync::Arc;

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

#[cfg(test)]
mod tests {
    use super::*;

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
