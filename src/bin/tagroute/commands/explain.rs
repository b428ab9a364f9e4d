//! `tagroute explain --topology T --policy DSL [--down SERVER,...] [--format text|json]`:
//! every rule as written, every filter with the servers it kept (a `min(n)` with the count it
//! saw), which rule answered, and the result; with `--down`, as if those servers had failed.

use serde_json::{Value, json};
use tagroute::compile::compile;
use tagroute::span::{LineIndex, Severity, Span};
use tagroute::syntax::{self, Policy};
use tagroute::topology::{ServerSet, Snapshot};
use tagroute::vm::{self, Answer, Explanation, RuleOutcome, Step};

use super::{load_topology, parse_policy};
use crate::args::{ExplainArgs, ReportFormat};
use crate::report::{Console, Failure, diagnostic_json};

pub fn run(args: &ExplainArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let snapshot = load_topology(&args.topology)?;
    let candidates = candidates(&snapshot, &args.down)?;
    let strictness = args.strict.strictness();
    let policy = match args.format {
        ReportFormat::Text => parse_policy(&args.policy, strictness, Some(&snapshot), console)?,
        ReportFormat::Json => match syntax::parse(&args.policy, strictness) {
            Ok(policy) => policy,
            Err(error) => {
                let help = error.help();
                let diagnostic = diagnostic_json(
                    &LineIndex::new(args.policy.as_str()),
                    None,
                    error.span(),
                    Severity::Error,
                    "invalid-policy",
                    &error,
                    help.as_deref(),
                );
                console.json(&json!({ "diagnostics": [diagnostic] }))?;
                return Err(Failure::Reported);
            }
        },
    };
    let program =
        compile(&policy, snapshot.interner()).map_err(|e| Failure::Invalid(e.to_string()))?;
    let trace = vm::explain(&policy, &program, &snapshot, &candidates)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let shown = Shown {
        text: &args.policy,
        policy: &policy,
        snapshot: &snapshot,
        candidates: &candidates,
        trace: &trace,
    };
    match args.format {
        ReportFormat::Text => shown.text(console),
        ReportFormat::Json => console.json(&shown.json(&args.down)),
    }
}

/// The available servers, without those named in `--down`.
fn candidates(snapshot: &Snapshot, down: &[String]) -> Result<ServerSet, Failure> {
    let mut candidates = snapshot.available().clone();
    for name in down {
        let idx = snapshot.index_of(name).ok_or_else(|| {
            let names: Vec<&str> = snapshot.servers().iter().map(|s| s.name()).collect();
            Failure::Invalid(format!(
                "--down: unknown server `{name}`; the servers are {}",
                names.join(", ")
            ))
        })?;
        candidates.remove(idx);
    }
    Ok(candidates)
}

struct Shown<'s> {
    text: &'s str,
    policy: &'s Policy,
    snapshot: &'s Snapshot,
    candidates: &'s ServerSet,
    trace: &'s Explanation,
}

impl Shown<'_> {
    fn source(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("?")
    }

    fn text(&self, console: &mut Console<'_>) -> Result<(), Failure> {
        let out = &mut *console.out;
        writeln!(out, "policy: {}", self.policy)?;
        writeln!(out, "candidates: {}", list(self.snapshot, self.candidates))?;
        for (i, rule) in self.trace.rules.iter().enumerate() {
            writeln!(out, "rule {}: {}", i + 1, self.source(rule.span))?;
            for filter in &rule.filters {
                let what = match filter.step {
                    Step::Min { n, saw, .. } if n <= 1 => format!("saw {saw} (a no-op), "),
                    Step::Min { n, saw, passed } => {
                        let sign = if passed { ">=" } else { "<" };
                        format!("saw {saw} {sign} {n}, ")
                    }
                    Step::Tags | Step::All => String::new(),
                };
                let kept = list(self.snapshot, &filter.kept);
                let label = self.source(filter.span);
                writeln!(out, "  {label:<32} {what}kept {kept}")?;
            }
            writeln!(out, "  {}", outcome(rule.outcome))?;
        }
        writeln!(out, "answer: {}", self.answer())?;
        writeln!(out, "result: {}", list(self.snapshot, &self.trace.result))?;
        Ok(())
    }

    fn answer(&self) -> String {
        match self.trace.answer {
            Answer::Rule(i) => format!("rule {}", i + 1),
            Answer::Candidates(None) => {
                "no rule answered; the implicit all() returns every candidate".to_owned()
            }
            Answer::Candidates(Some(_)) => {
                "every rule was dropped; the policy returns every candidate".to_owned()
            }
            Answer::Nothing(_) => "no rule answered and the policy halts: nothing".to_owned(),
        }
    }

    fn json(&self, down: &[String]) -> Value {
        let names = |set: &ServerSet| self.snapshot.names(set);
        let rules: Vec<Value> = self
            .trace
            .rules
            .iter()
            .map(|rule| {
                let filters: Vec<Value> = rule
                    .filters
                    .iter()
                    .map(|f| {
                        let mut value = json!({
                            "text": self.source(f.span),
                            "kept": names(&f.kept),
                            "count": f.kept.len(),
                        });
                        let (filter, extra) = match f.step {
                            Step::Tags => ("tags", None),
                            Step::All => ("all", None),
                            Step::Min { n, saw, passed } => {
                                ("min", Some(json!({"min": n, "saw": saw, "passed": passed})))
                            }
                        };
                        value["filter"] = json!(filter);
                        if let (Some(Value::Object(extra)), Value::Object(map)) =
                            (extra, &mut value)
                        {
                            map.extend(extra);
                        }
                        value
                    })
                    .collect();
                json!({
                    "text": self.source(rule.span),
                    "outcome": outcome_code(rule.outcome),
                    "filters": filters,
                })
            })
            .collect();
        let answer = match self.trace.answer {
            Answer::Rule(i) => json!({"kind": "rule", "rule": i + 1}),
            Answer::Candidates(None) => json!({"kind": "implicit-all"}),
            Answer::Candidates(Some(_)) => json!({"kind": "all-rules-dropped"}),
            Answer::Nothing(_) => json!({"kind": "halt"}),
        };
        let lines = LineIndex::new(self.text);
        let lints: Vec<Value> = syntax::lint_with(self.policy, self.snapshot)
            .iter()
            .map(|lint| {
                diagnostic_json(
                    &lines,
                    None,
                    lint.span,
                    Severity::Warning,
                    lint.kind.code(),
                    &lint.message,
                    None,
                )
            })
            .collect();
        json!({
            "policy": self.policy.to_string(),
            "candidates": names(self.candidates),
            "down": down,
            "rules": rules,
            "answer": answer,
            "result": names(&self.trace.result),
            "diagnostics": lints,
        })
    }
}

fn outcome(outcome: RuleOutcome) -> &'static str {
    match outcome {
        RuleOutcome::Answered => "=> answers",
        RuleOutcome::Empty => "=> nothing left: the next rule is tried",
        RuleOutcome::Dropped => "=> dropped (selects nothing of its own)",
        RuleOutcome::Halt => "=> halt: no implicit all()",
        RuleOutcome::NotReached => "=> not reached",
    }
}

fn outcome_code(outcome: RuleOutcome) -> &'static str {
    match outcome {
        RuleOutcome::Answered => "answered",
        RuleOutcome::Empty => "empty",
        RuleOutcome::Dropped => "dropped",
        RuleOutcome::Halt => "halt",
        RuleOutcome::NotReached => "not-reached",
    }
}

fn list(snapshot: &Snapshot, set: &ServerSet) -> String {
    let names = snapshot.names(set);
    format!("{} [{}]", names.len(), names.join(", "))
}
