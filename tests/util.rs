//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tagroute::reference;
use tagroute::syntax::{NormalFilter, Normalized};

/// The repository's copy of the conformance vectors.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every JSON object of a `.jsonl` file under `tests/data`.
pub fn read_jsonl(relative: &str) -> Vec<Value> {
    let path = data_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// The rules of a parsed policy, as the vectors write them: `[["tags", [...]], ["min", n]]`.
pub fn rules_json(policy: &Normalized) -> Value {
    Value::Array(
        policy
            .rules
            .iter()
            .map(|rule| {
                Value::Array(
                    rule.filters
                        .iter()
                        .map(|f| match f {
                            NormalFilter::Tags(tags) => json!(["tags", tags]),
                            NormalFilter::Min(n) => json!(["min", n]),
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

/// The same for the reference parser's output.
pub fn reference_rules_json(policy: &reference::Policy) -> Value {
    Value::Array(
        policy
            .rules
            .iter()
            .map(|rule| {
                Value::Array(
                    rule.iter()
                        .map(|f| match f {
                            reference::Filter::Tags(tags) => json!(["tags", tags]),
                            reference::Filter::Min(n) => json!(["min", n]),
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}
