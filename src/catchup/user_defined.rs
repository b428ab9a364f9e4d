//! `user-defined`: the policy of `server.cluster.catchup.user_defined_upstream_strategy`, run by
//! the same VM as load balancing.
//!
//! The policy is compiled once, against the interner of the topology it will run on (compiled
//! again only if a snapshot of another interner comes along), and evaluated on the candidates —
//! the available servers hosting the database other than the asking one — into a buffer the
//! strategy keeps. A random server of the result is the answer. This differs from Neo4j, which
//! evaluates with the asking server included and takes the first server in hash order (docs/differences.md).

use crate::bytecode::Program;
use crate::compile::compile;
use crate::config::UserDefined;
use crate::rng::Rng;
use crate::syntax::Policy;
use crate::topology::{ServerIdx, ServerSet, TagInterner};
use crate::vm;

use super::strategy::{NoAnswer, Request, Strategy};

/// The `user-defined` strategy.
pub(super) struct UserDefinedPolicy {
    state: State,
    out: ServerSet,
}

enum State {
    /// The strategy never answers, for this reason.
    Unusable(NoAnswer),
    /// A valid policy, and its program for the interner it was last compiled against.
    Ready {
        policy: Policy,
        program: Option<Program>,
    },
}

impl UserDefinedPolicy {
    /// The strategy for the configured policy, compiled against `interner`.
    pub(super) fn new(setting: &UserDefined, interner: &TagInterner) -> UserDefinedPolicy {
        let state = match setting {
            UserDefined::Absent => State::Unusable(NoAnswer::PolicyAbsent),
            UserDefined::Disabled => State::Unusable(NoAnswer::PolicyDisabled),
            UserDefined::Invalid { .. } => State::Unusable(NoAnswer::PolicyInvalid),
            UserDefined::Valid { policy, .. } => State::Ready {
                program: compile(policy, interner).ok(),
                policy: policy.clone(),
            },
        };
        UserDefinedPolicy {
            state,
            out: ServerSet::default(),
        }
    }
}

impl Strategy for UserDefinedPolicy {
    fn upstream(&mut self, request: &Request<'_>, rng: &mut Rng) -> Result<ServerIdx, NoAnswer> {
        let snapshot = request.snapshot();
        let program = match &mut self.state {
            State::Unusable(reason) => return Err(*reason),
            State::Ready { policy, program } => compiled_for(policy, program, snapshot.interner())?,
        };
        vm::eval(program, snapshot, request.candidates(), &mut self.out)
            .map_err(|_| NoAnswer::PolicyFailed)?;
        self.out.pick(rng).ok_or(NoAnswer::PolicySelectedNothing)
    }
}

/// The program of `policy` for `interner`, compiling it again if the one at hand was compiled
/// for another interner (or could not be compiled).
fn compiled_for<'p>(
    policy: &Policy,
    program: &'p mut Option<Program>,
    interner: &TagInterner,
) -> Result<&'p Program, NoAnswer> {
    let current = program
        .as_ref()
        .is_some_and(|p| p.interner_identity() == interner.identity());
    if !current {
        *program = compile(policy, interner).ok();
    }
    program.as_ref().ok_or(NoAnswer::PolicyFailed)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::syntax::Strictness;
    use crate::topology::{DatabaseSpec, ServerSpec, Snapshot, TopologySpec};

    fn setting(value: Option<&str>) -> UserDefined {
        let text = match value {
            Some(v) => format!("server.cluster.catchup.user_defined_upstream_strategy={v}\n"),
            None => String::new(),
        };
        let config = Config::parse(&text, Path::new("neo4j.conf"), Strictness::Default).unwrap();
        config.catchup().user_defined.clone()
    }

    fn snapshot(interner: &TagInterner) -> Snapshot {
        let spec = TopologySpec {
            servers: vec![
                ServerSpec::new("n2a", "n2a:7687").with_tags(["north2", "north"]),
                ServerSpec::new("n2b", "n2b:7687").with_tags(["north2", "north"]),
                ServerSpec::new("s1a", "s1a:7687").with_tags(["south"]),
            ],
            databases: vec![DatabaseSpec {
                name: "db".into(),
                primaries: vec!["s1a".into()],
                secondaries: vec!["n2a".into(), "n2b".into()],
                leader: None,
                ..DatabaseSpec::default()
            }],
        };
        Snapshot::build(&spec, interner).unwrap()
    }

    fn ask(strategy: &mut UserDefinedPolicy, snapshot: &Snapshot) -> Result<ServerIdx, NoAnswer> {
        let db = snapshot.database("db").unwrap();
        let server = snapshot.index_of("n2a").unwrap();
        let mut candidates = snapshot.available().clone();
        candidates.remove(server);
        let request = Request {
            snapshot,
            database: db,
            server,
            candidates: &candidates,
            primaries: &candidates,
            secondaries: &candidates,
            call: 1,
        };
        strategy.upstream(&request, &mut Rng::seeded(3))
    }

    #[test]
    fn the_policy_runs_without_the_asking_server() {
        let interner = TagInterner::new();
        let s = snapshot(&interner);
        let mut strategy =
            UserDefinedPolicy::new(&setting(Some("tags(north2); halt()")), &interner);
        assert_eq!(ask(&mut strategy, &s), Ok(s.index_of("n2b").unwrap()));
        let mut strategy = UserDefinedPolicy::new(&setting(Some("tags(east); halt()")), &interner);
        assert_eq!(ask(&mut strategy, &s), Err(NoAnswer::PolicySelectedNothing));
    }

    #[test]
    fn a_snapshot_of_another_interner_gets_the_policy_compiled_again() {
        let mut strategy =
            UserDefinedPolicy::new(&setting(Some("tags(south); halt()")), &TagInterner::new());
        let s = snapshot(&TagInterner::new());
        assert_eq!(ask(&mut strategy, &s), Ok(s.index_of("s1a").unwrap()));
    }

    #[test]
    fn absent_disabled_and_invalid_policies_never_answer() {
        let interner = TagInterner::new();
        let s = snapshot(&interner);
        for (value, reason) in [
            (None, NoAnswer::PolicyAbsent),
            (Some(" "), NoAnswer::PolicyDisabled),
            (Some("tags(a), tags(b)"), NoAnswer::PolicyInvalid),
        ] {
            let mut strategy = UserDefinedPolicy::new(&setting(value), &interner);
            assert_eq!(ask(&mut strategy, &s), Err(reason), "{value:?}");
        }
    }
}
