//! A literal port of Neo4j's `FilterConfigParser.parse`, with Java's string semantics.

use std::collections::BTreeSet;
use std::fmt;

use crate::syntax::Strictness;

/// A parsed policy: its rules (dropped ones left out) and whether it halts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Rules in order; the implicit final `all()` rule is not listed.
    pub rules: Vec<Vec<Filter>>,
    /// Whether `halt()` suppressed the implicit final `all()` rule.
    pub halts: bool,
}

/// A filter of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Servers with any of these tags.
    Tags(BTreeSet<String>),
    /// The set if it has at least this many servers, else nothing.
    Min(i32),
}

/// Neo4j's rejection, with Neo4j's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected(pub String);

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

/// Parses as Neo4j does (strict mode), or after removing the whitespace of the two
/// leniencies (default mode).
pub fn parse(text: &str, strictness: Strictness) -> Result<Policy, Rejected> {
    match strictness {
        Strictness::Strict => parse_neo4j(text),
        Strictness::Default => parse_neo4j(&remove_lenient_whitespace(text)),
    }
}

/// Java's `String.trim`: strips every character up to U+0020 from both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= '\u{20}')
}

/// Java's `String.split(regex)` for a literal separator: no match gives the whole string, and
/// trailing empty strings are removed.
fn java_split<'a>(s: &'a str, separator: &str) -> Vec<&'a str> {
    if !s.contains(separator) {
        return vec![s];
    }
    let mut parts: Vec<&str> = s.split(separator).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// Java's `\w`: `[a-zA-Z_0-9]` (no Unicode classes).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn fail<T>(message: String) -> Result<T, Rejected> {
    Err(Rejected(message))
}

/// Neo4j's parser, step by step.
pub fn parse_neo4j(filter_config: &str) -> Result<Policy, Rejected> {
    if filter_config.is_empty() {
        return fail("Filter config is empty".into());
    }
    let rule_specs = java_split(filter_config, ";");
    if rule_specs.is_empty() {
        return fail("No rules specified".into());
    }
    let mut rules = Vec::new();
    let mut halt_encountered = false;
    for rule_spec in rule_specs {
        let rule_spec = java_trim(rule_spec);
        let mut chain = Vec::new();
        let mut all_encountered = false;
        for filter_spec in java_split(rule_spec, "->") {
            let filter_spec = java_trim(filter_spec);
            let name_and_args = java_split(filter_spec, "(");
            let [name_part, args_part] = name_and_args[..] else {
                return fail(format!(
                    "Syntax error filter specification: '{filter_spec}'"
                ));
            };
            let args_part = java_trim(args_part);
            let Some(args_part) = args_part.strip_suffix(')') else {
                return fail(format!("No closing parenthesis: '{filter_spec}'"));
            };
            let name = java_trim(name_part);
            if name.is_empty() || !name.chars().all(is_word_char) {
                return fail(format!("Syntax error filter name: '{name}'"));
            }
            let args: Vec<&str> = java_split(args_part, ",")
                .into_iter()
                .map(java_trim)
                .filter(|a| !a.is_empty())
                .collect();
            if let Some(arg) = args
                .iter()
                .find(|a| !a.chars().all(|c| is_word_char(c) || c == '-'))
            {
                return fail(format!("Syntax error argument: '{arg}'"));
            }
            if halt_encountered {
                return if chain.is_empty() {
                    fail(format!(
                        "Rule 'halt' may not followed by other rules: '{filter_config}'"
                    ))
                } else {
                    fail(format!(
                        "Filter 'halt' may not be followed by other filters: '{rule_spec}'"
                    ))
                };
            }
            match filter_for(name, &args)? {
                Parsed::Halt if !chain.is_empty() => {
                    return fail(format!(
                        "Filter 'halt' must be the only filter in a rule: '{rule_spec}'"
                    ));
                }
                Parsed::Halt => halt_encountered = true,
                Parsed::All if all_encountered || !chain.is_empty() => {
                    return fail(format!(
                        "Filter 'all' is implicit but allowed only first in a rule: '{rule_spec}'"
                    ));
                }
                Parsed::All => all_encountered = true,
                Parsed::Filter(filter) => chain.push(filter),
            }
        }
        if !chain.is_empty() {
            rules.push(chain);
        }
    }
    Ok(Policy {
        rules,
        halts: halt_encountered,
    })
}

enum Parsed {
    Filter(Filter),
    All,
    Halt,
}

/// Neo4j's `filterFor`; `tags` is Neo4j 5's name for 4.x's `groups`.
fn filter_for(name: &str, args: &[&str]) -> Result<Parsed, Rejected> {
    let count_error = || {
        fail(format!(
            "Invalid number of arguments for filter '{name}': {}",
            args.len()
        ))
    };
    match name {
        "groups" | "tags" => {
            if args.is_empty() {
                return count_error();
            }
            if let Some(group) = args
                .iter()
                .find(|g| g.chars().count() == 1 && !g.chars().all(is_word_char))
            {
                return fail(format!("Invalid group for filter '{name}': '{group}'"));
            }
            Ok(Parsed::Filter(Filter::Tags(
                args.iter().map(|s| s.to_string()).collect(),
            )))
        }
        "min" => {
            let [arg] = args else { return count_error() };
            match java_parse_int(arg) {
                Some(n) => Ok(Parsed::Filter(Filter::Min(n))),
                None => fail(format!("Invalid argument for filter '{name}': '{arg}'")),
            }
        }
        "all" if args.is_empty() => Ok(Parsed::All),
        "halt" if args.is_empty() => Ok(Parsed::Halt),
        "all" | "halt" => count_error(),
        _ => fail(format!("Unknown filter: {name}")),
    }
}

/// Java's `Integer.parseInt`: an optional sign and decimal digits, in the `int` range.
fn java_parse_int(s: &str) -> Option<i32> {
    let (negative, digits) = match s.chars().next()? {
        '-' => (true, &s[1..]),
        '+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut value: i64 = 0;
    for c in digits.chars() {
        value = value * 10 + i64::from(c.to_digit(10)?);
        if value > 1 << 31 {
            return None;
        }
    }
    i32::try_from(if negative { -value } else { value }).ok()
}

/// Deletes the whitespace of the two leniencies: (1) after the first `;` of the text's suffix
/// made only of `;` and whitespace, and (2) between the arrows of every rule's trailing arrow run
/// (the whole rule, when it is made only of arrows).
pub fn remove_lenient_whitespace(text: &str) -> String {
    let is_blank = |c: char| c <= '\u{20}';
    let tail_start = text
        .trim_end_matches(|c: char| c == ';' || is_blank(c))
        .len();
    let (body, tail) = text.split_at(tail_start);
    let tail = match tail.find(';') {
        Some(i) => format!("{}{}", &tail[..i], tail[i..].replace(is_blank, "")),
        None => tail.to_owned(),
    };
    let rules: Vec<String> = body
        .split(';')
        .map(|rule| join_trailing_arrows(rule, is_blank))
        .collect();
    rules.join(";") + &tail
}

/// `tags(a)-> -> ` becomes `tags(a)->-> `: the whitespace between the arrows of the run that
/// ends the rule goes; the whitespace before the run and after it stays.
fn join_trailing_arrows(rule: &str, is_blank: impl Fn(char) -> bool + Copy) -> String {
    let content_end = rule.trim_end_matches(is_blank).len();
    let mut run_start = content_end;
    let mut arrows = 0;
    while let Some(before_arrow) = rule[..run_start]
        .trim_end_matches(is_blank)
        .strip_suffix("->")
    {
        run_start = before_arrow.len();
        arrows += 1;
    }
    if arrows < 2 {
        return rule.to_owned();
    }
    let run: String = rule[run_start..content_end]
        .chars()
        .filter(|&c| !is_blank(c))
        .collect();
    format!("{}{run}{}", &rule[..run_start], &rule[content_end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_split_drops_trailing_empties_only() {
        assert_eq!(java_split(";", ";"), Vec::<&str>::new());
        assert_eq!(java_split("", ";"), vec![""]);
        assert_eq!(java_split(";a;;", ";"), vec!["", "a"]);
        assert_eq!(java_split("a; ", ";"), vec!["a", " "]);
    }

    #[test]
    fn parse_int_is_javas() {
        assert_eq!(java_parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(java_parse_int("2147483648"), None);
        assert_eq!(java_parse_int("007"), Some(7));
        assert_eq!(java_parse_int("+1"), Some(1));
        assert_eq!(java_parse_int("-"), None);
        assert_eq!(java_parse_int("1_0"), None);
    }

    #[test]
    fn lenient_whitespace_is_removed_only_where_neo4j_trips() {
        assert_eq!(remove_lenient_whitespace("halt(); "), "halt();");
        assert_eq!(remove_lenient_whitespace("tags(a) ; ; "), "tags(a) ;;");
        assert_eq!(remove_lenient_whitespace(" ;"), " ;");
        assert_eq!(
            remove_lenient_whitespace("tags(a) -> -> ;tags(b)"),
            "tags(a) ->-> ;tags(b)"
        );
        assert_eq!(remove_lenient_whitespace("-> \t->"), "->->");
        assert_eq!(
            remove_lenient_whitespace("tags(a)-> ->min(1)"),
            "tags(a)-> ->min(1)"
        );
        assert_eq!(remove_lenient_whitespace("tags(a) ->"), "tags(a) ->");
    }

    #[test]
    fn messages_are_neo4js() {
        let message = |t: &str| parse_neo4j(t).expect_err("rejected").0;
        assert_eq!(
            message("halt();tags(a)"),
            "Rule 'halt' may not followed by other rules: 'halt();tags(a)'"
        );
        assert_eq!(
            message("groups(a)x"),
            "No closing parenthesis: 'groups(a)x'"
        );
        assert_eq!(message("()"), "Syntax error filter name: ''");
    }
}
