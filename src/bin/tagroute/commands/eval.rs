//! `tagroute eval --topology T (--policy DSL | --batch) [--neo4j]`.

use serde_json::{Value, json};
use tagroute::compile::compile;
use tagroute::syntax;
use tagroute::topology::{ServerSet, Snapshot};
use tagroute::vm;

use super::{load_topology, parse_policy};
use crate::args::EvalArgs;
use crate::report::{Console, Failure};

pub fn run(args: &EvalArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let snapshot = load_topology(&args.topology)?;
    match &args.policy {
        Some(text) => {
            let policy = parse_policy(text, args.strict.strictness(), Some(&snapshot), console)?;
            let servers = evaluate(&policy, &snapshot, &mut ServerSet::default())
                .map_err(Failure::Invalid)?;
            console.json(&json!({ "servers": servers }))
        }
        None => batch(args, &snapshot, console),
    }
}

/// One JSON string per input line, one JSON object per output line; a line that is not UTF-8
/// gets an error object like any other bad line.
fn batch(args: &EvalArgs, snapshot: &Snapshot, console: &mut Console<'_>) -> Result<(), Failure> {
    let mut out = ServerSet::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if console.input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let answer = match std::str::from_utf8(&line) {
            Ok(text) => answer(
                text.trim_end_matches(['\n', '\r']),
                args,
                snapshot,
                &mut out,
            ),
            Err(e) => json!({
                "ok": false,
                "error": format!("the line is not valid UTF-8 (byte {})", e.valid_up_to())
            }),
        };
        console.json(&answer)?;
    }
}

/// The answer to one line of `--batch`.
fn answer(line: &str, args: &EvalArgs, snapshot: &Snapshot, out: &mut ServerSet) -> Value {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::String(text)) => match syntax::parse(&text, args.strict.strictness()) {
            Ok(policy) => match evaluate(&policy, snapshot, out) {
                Ok(servers) => json!({ "ok": true, "servers": servers }),
                Err(error) => json!({ "ok": false, "error": error }),
            },
            Err(e) => {
                json!({ "ok": false, "error": e.to_string(), "span": [e.span().start, e.span().end] })
            }
        },
        Ok(other) => {
            json!({ "ok": false, "error": format!("expected a JSON string, found {}", kind(&other)) })
        }
        Err(e) => json!({ "ok": false, "error": format!("invalid JSON: {e}") }),
    }
}

/// The names, sorted, of the available servers the policy selects.
fn evaluate<'s>(
    policy: &syntax::Policy,
    snapshot: &'s Snapshot,
    out: &mut ServerSet,
) -> Result<Vec<&'s str>, String> {
    let program = compile(policy, snapshot.interner()).map_err(|e| e.to_string())?;
    vm::eval(&program, snapshot, snapshot.available(), out).map_err(|e| e.to_string())?;
    let mut names = snapshot.names(out);
    names.sort_unstable();
    Ok(names)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
