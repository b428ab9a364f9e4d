//! Helpers for the configuration tests: what a span covers, and where it starts.

use crate::span::{Span, line_col};

/// The text under `span`.
pub fn under(source: &str, span: Span) -> &str {
    &source[span.range()]
}

/// Where `span` starts, as `line:column`.
pub fn position(source: &str, span: Span) -> String {
    line_col(source, span.start).to_string()
}

/// The bytes `range` of `source`, as one piece of a file.
pub fn located(source: &str, range: std::ops::Range<usize>) -> super::located::Located<'_> {
    super::located::Located::borrowed(source, range)
}

/// Every diagnostic of a load: the errors, then the warnings.
pub fn every_diagnostic(
    diagnostics: super::error::Diagnostics,
    source: &str,
) -> Vec<super::ConfigDiagnostic> {
    match diagnostics.finish("t", source) {
        Ok(warnings) => warnings,
        Err(errors) => errors
            .errors()
            .iter()
            .chain(errors.warnings())
            .cloned()
            .collect(),
    }
}

/// Each diagnostic as its kind, the text under its span, and where that starts.
pub fn summary(
    source: &str,
    diagnostics: &[super::ConfigDiagnostic],
) -> Vec<(super::ConfigDiagnosticKind, String, String)> {
    diagnostics
        .iter()
        .map(|d| {
            (
                d.kind,
                under(source, d.span).to_owned(),
                position(source, d.span),
            )
        })
        .collect()
}
