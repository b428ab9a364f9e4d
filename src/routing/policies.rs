//! Compiled policies: one immutable set of a configuration's load-balancing policies.
//!
//! A [`Policies`] value holds a configuration's [`ConfiguredPolicy`]s (the built-in `default`
//! included: the configuration always has one) each with its verified [`Program`]. It is built by
//! the [`RoutingService`](super::RoutingService), which publishes it with the routing settings as
//! one [`Generation`](super::Generation); nothing else publishes policies. A name keeps its
//! [`PolicyId`] across reloads, so hot paths can hold ids.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::bytecode::Program;
use crate::compile::CompileError;
use crate::config::{Config, ConfiguredPolicy, compile_generation};
use crate::suggest::{NameKind, UnknownName};
use crate::syntax::Policy;
use crate::topology::TagInterner;

/// A policy's number, stable across reloads for as long as its service lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId(u32);

impl PolicyId {
    /// The id as an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A configured policy and its verified program.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    configured: ConfiguredPolicy,
    program: Program,
}

impl CompiledPolicy {
    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.configured.name
    }

    /// Its text as configured.
    pub fn text(&self) -> &str {
        self.configured.text()
    }

    /// Its syntax tree, parsed again from its text ([`ConfiguredPolicy::policy`]).
    pub fn policy(&self) -> Policy {
        self.configured.policy()
    }

    /// The policy as the configuration holds it, with its place in the file.
    pub fn configured(&self) -> &ConfiguredPolicy {
        &self.configured
    }

    /// Its verified program.
    pub fn program(&self) -> &Program {
        &self.program
    }
}

/// One configuration's compiled policies.
#[derive(Clone, Debug)]
pub struct Policies {
    slots: Vec<Option<Arc<CompiledPolicy>>>,
    ids: BTreeMap<String, PolicyId>,
    interner: TagInterner,
}

impl Policies {
    /// The policy called `name`, or an error naming the known ones.
    pub fn get(&self, name: &str) -> Result<&CompiledPolicy, UnknownName> {
        self.id(name).map(|id| self.by_id(id)).and_then(|policy| {
            policy.ok_or_else(|| UnknownName::new(NameKind::Policy, name, self.names()))
        })
    }

    /// The id of the policy called `name`, or an error naming the known ones.
    pub fn id(&self, name: &str) -> Result<PolicyId, UnknownName> {
        self.ids
            .get(name)
            .copied()
            .filter(|id| self.by_id(*id).is_some())
            .ok_or_else(|| UnknownName::new(NameKind::Policy, name, self.names()))
    }

    /// The policy with id `id`, if it exists in this configuration.
    pub fn by_id(&self, id: PolicyId) -> Option<&CompiledPolicy> {
        self.slots.get(id.index())?.as_deref()
    }

    /// The names of the policies, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.ids
            .iter()
            .filter(|(_, id)| self.by_id(**id).is_some())
            .map(|(name, _)| name.as_str())
    }

    /// The interner every program was compiled against.
    pub fn interner(&self) -> &TagInterner {
        &self.interner
    }

    /// Compiles `config`'s policies against `interner`, keeping the ids `previous` gave names.
    pub(crate) fn compile(
        config: &Config,
        interner: &TagInterner,
        previous: Option<&Policies>,
    ) -> Result<Policies, PolicyError> {
        let mut ids = previous.map(|p| p.ids.clone()).unwrap_or_default();
        let mut slots: Vec<Option<Arc<CompiledPolicy>>> = vec![None; ids.len()];
        // One generation: a rejected reload leaves no name behind.
        compile_generation(config.policies(), interner, |configured, program| {
            let next_id = PolicyId(u32::try_from(ids.len()).unwrap_or(u32::MAX));
            let id = *ids.entry(configured.name.clone()).or_insert(next_id);
            if slots.len() <= id.index() {
                slots.resize(id.index() + 1, None);
            }
            let compiled = CompiledPolicy {
                configured: configured.clone(),
                program,
            };
            if let Some(slot) = slots.get_mut(id.index()) {
                *slot = Some(Arc::new(compiled));
            }
        })
        .map_err(|failure| PolicyError {
            name: failure.policy.name.clone(),
            error: failure.error,
        })?;
        Ok(Policies {
            slots,
            ids,
            interner: interner.clone(),
        })
    }

    /// What changed from `before` to `self`.
    pub(crate) fn changes_since(&self, before: &Policies) -> Reload {
        fn configured<'p>(policies: &'p Policies, name: &str) -> Option<&'p ConfiguredPolicy> {
            policies.get(name).ok().map(CompiledPolicy::configured)
        }
        let mut report = Reload::default();
        for name in before.names().filter(|n| self.id(n).is_err()) {
            report.removed.push(name.into());
        }
        for name in self.names() {
            match (configured(before, name), configured(self, name)) {
                (None, _) => report.added.push(name.into()),
                (Some(a), Some(b)) if !a.decides_like(b) => report.changed.push(name.into()),
                _ => {}
            }
        }
        report
    }
}

/// A configured policy that does not compile against the topology's tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    name: String,
    error: CompileError,
}

impl PolicyError {
    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Why it does not compile.
    pub fn error(&self) -> &CompileError {
        &self.error
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy `{}`: {}", self.name, self.error)
    }
}

impl std::error::Error for PolicyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// What a reload changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reload {
    /// Policies that existed and no longer do: clients bound to them will fail.
    pub removed: Vec<String>,
    /// Policies that are new.
    pub added: Vec<String>,
    /// Policies whose rules changed.
    pub changed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::syntax::Strictness;

    const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.";

    fn config(pairs: &[(&str, &str)]) -> Config {
        let text: String = pairs
            .iter()
            .map(|(name, text)| format!("{POLICY}{name}={text}\n"))
            .collect();
        Config::parse(&text, Path::new("neo4j.conf"), Strictness::Default).expect("loads")
    }

    #[test]
    fn default_always_exists_and_unknown_names_list_the_known_ones() {
        let policies = Policies::compile(
            &config(&[("north", "tags(north)")]),
            &TagInterner::new(),
            None,
        )
        .expect("compiles");
        let default = policies.get("default").expect("exists");
        assert_eq!(default.text(), "all()");
        assert!(default.configured().is_builtin());
        assert_eq!(policies.names().collect::<Vec<_>>(), ["default", "north"]);
        let err = policies.get("nort").map(|_| ()).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown policy `nort`; the policies are default, north (did you mean `north`?)"
        );
        assert_eq!(policies.id("nort").map(|_| ()), Err(err));
    }

    #[test]
    fn a_reload_keeps_ids_and_reports_changes() {
        let interner = TagInterner::new();
        let before = Policies::compile(
            &config(&[("a", "tags(a)"), ("b", "tags(b)")]),
            &interner,
            None,
        )
        .expect("compiles");
        let b = before.id("b").expect("b");
        let after = Policies::compile(
            &config(&[("b", "tags(c)"), ("c", "tags(c)")]),
            &interner,
            Some(&before),
        )
        .expect("compiles");
        assert_eq!(
            after.changes_since(&before),
            Reload {
                removed: vec!["a".into()],
                added: vec!["c".into()],
                changed: vec!["b".into()]
            }
        );
        assert_eq!((after.id("b"), after.id("a").is_err()), (Ok(b), true));
        assert_eq!(
            before.get("a").map(|p| p.text().to_owned()),
            Ok("tags(a)".to_owned()),
            "a compiled set never changes"
        );
    }
}
