//! Where output goes: JSON to stdout, diagnostics to stderr, and the failure that decides
//! the exit status.

use std::fmt;
use std::io::{self, BufRead, Write};

use serde_json::{Value, json};
use tagroute::span::{LineIndex, Severity, Span, render};
use tagroute::syntax::{Lint, ParseError};

/// The process's streams, passed to every command (tests pass buffers).
pub struct Console<'a> {
    pub input: &'a mut dyn BufRead,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl Console<'_> {
    /// One JSON document on a line of stdout.
    pub fn json(&mut self, value: &Value) -> Result<(), Failure> {
        serde_json::to_writer(&mut *self.out, value).map_err(io::Error::from)?;
        writeln!(self.out)?;
        Ok(())
    }

    /// A policy error, with the policy's line and a caret, on stderr.
    pub fn policy_error(
        &mut self,
        source: &str,
        origin: Option<&str>,
        error: &ParseError,
    ) -> Result<(), Failure> {
        let help = error.help();
        self.diagnostic(
            source,
            origin,
            error.span(),
            Severity::Error,
            error,
            help.as_deref(),
        )
    }

    /// Policy warnings, each with a caret, on stderr.
    pub fn lints(
        &mut self,
        source: &str,
        origin: Option<&str>,
        lints: &[Lint],
    ) -> Result<(), Failure> {
        let index = LineIndex::new(source);
        for lint in lints {
            let rendered = index.render(origin, lint.span, Severity::Warning, lint, None);
            writeln!(self.err, "{rendered}")?;
        }
        Ok(())
    }

    /// Any diagnostic with a span, rendered the one way.
    pub fn diagnostic(
        &mut self,
        source: &str,
        origin: Option<&str>,
        span: Span,
        severity: Severity,
        message: &dyn fmt::Display,
        help: Option<&str>,
    ) -> Result<(), Failure> {
        writeln!(
            self.err,
            "{}",
            render(source, origin, span, severity, message, help)
        )?;
        Ok(())
    }
}

/// A diagnostic for programs: severity, code, file, line, column, message and help (the
/// shape of `check --format json`).
pub fn diagnostic_json(
    lines: &LineIndex,
    origin: Option<&str>,
    span: Span,
    severity: Severity,
    code: &str,
    message: &dyn fmt::Display,
    help: Option<&str>,
) -> Value {
    let at = lines.line_col(span.start);
    json!({
        "severity": severity.to_string(),
        "code": code,
        "file": origin,
        "line": at.line,
        "column": at.column,
        "message": message.to_string(),
        "help": help,
    })
}

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Invalid input or no answer; the diagnostics are already on stderr (exit 1).
    Reported,
    /// Invalid input or no answer, with this message still to print (exit 1).
    Invalid(String),
    /// Reading or writing failed.
    Io(io::Error),
}

impl Failure {
    /// The exit status.
    pub fn code(&self) -> u8 {
        1
    }

    /// Prints what is left to say.
    pub fn report(&self, err: &mut dyn Write) {
        let _ = match self {
            Failure::Reported => Ok(()),
            Failure::Invalid(message) => writeln!(err, "error: {message}"),
            Failure::Io(e) => writeln!(err, "error: {e}"),
        };
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Io(e)
    }
}
