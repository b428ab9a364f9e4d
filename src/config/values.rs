//! Plain setting values: booleans, tags and tag lists.
//!
//! Values are trimmed before they are read (a trailing blank is invisible in a file); lists are
//! split on `,`, each item trimmed, empty items dropped.

use std::ops::Range;

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::keys::Setting;
use super::located::Located;
use super::properties::Properties;
use crate::topology::is_valid_tag;

/// The boolean `setting`, or `default` when it is absent or not a boolean (an error).
pub(super) fn boolean(
    setting: Setting,
    default: bool,
    properties: &Properties,
    diagnostics: &mut Diagnostics,
) -> bool {
    let Some(property) = setting.lookup(properties, diagnostics) else {
        return default;
    };
    let value = property.value.trim();
    if value.text.eq_ignore_ascii_case("true") {
        true
    } else if value.text.eq_ignore_ascii_case("false") {
        false
    } else {
        diagnostics.push(ConfigDiagnostic::error(
            Kind::InvalidBoolean,
            value.span(),
            format!("expected `true` or `false`, found {}", quoted(&value.text)),
        ));
        default
    }
}

/// `text` in backticks, or `nothing` when it is empty, for "found ..." in a message.
pub(super) fn quoted(text: &str) -> String {
    if text.is_empty() {
        "nothing".to_owned()
    } else {
        format!("`{text}`")
    }
}

/// Where in `value`'s text each tag of a comma-separated list is; each invalid one is an error
/// and left out. Eight bytes a tag, with room for no more than the list's commas allow.
pub(super) fn tag_list(value: &Located<'_>, diagnostics: &mut Diagnostics) -> Vec<Range<u32>> {
    let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut tags = Vec::with_capacity(value.text.matches(',').count() + 1);
    for item in value.list_item_ranges() {
        if check_tag(&value.slice(item.clone()), diagnostics) {
            tags.push(narrow(item.start)..narrow(item.end));
        }
    }
    tags.shrink_to_fit();
    tags
}

/// The text of the tag at `range` of `value` (from [`tag_list`]).
pub(super) fn tag_text<'v>(value: &'v Located<'_>, range: &Range<u32>) -> &'v str {
    let range = range.start as usize..range.end as usize;
    value.text.get(range).unwrap_or_default()
}

/// The tag `value` holds, trimmed: `None` when it is empty, or invalid (an error).
pub(super) fn single_tag(value: &Located, diagnostics: &mut Diagnostics) -> Option<String> {
    let tag = value.trim();
    (!tag.text.is_empty() && check_tag(&tag, diagnostics)).then(|| tag.text.into_owned())
}

/// Whether `tag` is a valid tag; reports it when it is not.
fn check_tag(tag: &Located, diagnostics: &mut Diagnostics) -> bool {
    let valid = is_valid_tag(&tag.text);
    if !valid {
        diagnostics.push(
            ConfigDiagnostic::error(
                Kind::InvalidTag,
                tag.span(),
                format!("`{}` is not a valid tag", tag.text),
            )
            .with_help("a tag is made of letters, digits, `_` and `-`, and is not `-` alone"),
        );
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::{SHUFFLE, TTL};
    use crate::config::properties::read;
    use crate::config::testing::{every_diagnostic, located, position, under};

    fn boolean_of(source: &str) -> (bool, Vec<ConfigDiagnostic>) {
        let mut diagnostics = Diagnostics::default();
        let properties = read(source, &mut diagnostics);
        let value = boolean(SHUFFLE, true, &properties, &mut diagnostics);
        let diagnostics = every_diagnostic(diagnostics, source);
        (value, diagnostics)
    }

    #[test]
    fn booleans_are_true_or_false_in_any_case() {
        let key = "dbms.routing.load_balancing.shuffle_enabled";
        assert_eq!(boolean_of(&format!("{key}=FALSE")), (false, vec![]));
        assert_eq!(boolean_of(&format!("{key}= tRuE \t")), (true, vec![]));
        assert_eq!(boolean_of(&format!("{key}=false")), (false, vec![]));
        assert_eq!(boolean_of(""), (true, vec![]));
    }

    #[test]
    fn anything_else_is_an_error_at_the_value() {
        let source = "dbms.routing.load_balancing.shuffle_enabled = yes ";
        let (value, diagnostics) = boolean_of(source);
        assert!(value, "the default stands in");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].kind, Kind::InvalidBoolean);
        assert_eq!(
            diagnostics[0].message,
            "expected `true` or `false`, found `yes`"
        );
        assert_eq!(under(source, diagnostics[0].span), "yes");
        assert_eq!(position(source, diagnostics[0].span), "1:47");
        let (_, empty) = boolean_of("dbms.routing.load_balancing.shuffle_enabled=");
        assert_eq!(
            empty[0].message,
            "expected `true` or `false`, found nothing"
        );
    }

    #[test]
    fn tag_lists_drop_empty_items_and_report_invalid_tags() {
        let source = "dbms.routing_ttl= a, ,b c,-,d_-1,";
        let mut diagnostics = Diagnostics::default();
        let properties = read(source, &mut diagnostics);
        let value = &TTL.lookup(&properties, &mut diagnostics).unwrap().value;
        let tags: Vec<&str> = tag_list(value, &mut diagnostics)
            .into_iter()
            .map(|t| tag_text(value, &t))
            .collect();
        assert_eq!(tags, ["a", "d_-1"]);
        let errors = diagnostics.finish("t", source).unwrap_err();
        let found: Vec<(&str, String)> = errors
            .errors()
            .iter()
            .map(|d| (under(source, d.span), d.message.clone()))
            .collect();
        assert_eq!(
            found,
            [
                ("b c", "`b c` is not a valid tag".to_owned()),
                ("-", "`-` is not a valid tag".to_owned())
            ]
        );
    }

    #[test]
    fn a_single_tag_is_trimmed_and_may_be_empty() {
        let mut diagnostics = Diagnostics::default();
        fn value(s: &str) -> Located<'_> {
            located(s, 0..s.len())
        }
        assert_eq!(
            single_tag(&value(" north1 "), &mut diagnostics),
            Some("north1".into())
        );
        assert_eq!(single_tag(&value("  "), &mut diagnostics), None);
        assert_eq!(single_tag(&value("a,b"), &mut diagnostics), None);
        let errors = diagnostics.finish("t", "a,b").unwrap_err();
        assert_eq!(errors.errors()[0].kind, Kind::InvalidTag);
    }
}
