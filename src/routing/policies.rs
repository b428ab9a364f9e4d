//! The policy registry: compiled policies by name, swapped whole on reload.
//!
//! A [`Policies`] value is one immutable generation of named, compiled policies; the
//! [`PolicyRegistry`] publishes the current one through arc-swap, like topology snapshots. A
//! name keeps its [`PolicyId`] across reloads, so hot paths can hold ids. `default` always
//! exists: `all()` unless configured.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::{ArcSwap, Cache};

use crate::bytecode::Program;
use crate::compile::{CompileError, compile_staged};
use crate::syntax::{self, Policy};
use crate::topology::TagInterner;
use crate::{Strictness, suggest};

/// The reserved policy that always exists.
pub const DEFAULT_POLICY: &str = "default";

/// A policy's number, stable across reloads for as long as the registry lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId(u32);

impl PolicyId {
    /// The id as an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A named policy, parsed and compiled.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    name: String,
    text: String,
    policy: Policy,
    program: Program,
}

impl CompiledPolicy {
    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its text as configured.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its syntax tree.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Its verified program.
    pub fn program(&self) -> &Program {
        &self.program
    }
}

/// A policy to register: name, text, and the text's syntax tree.
#[derive(Clone, Debug)]
pub struct PolicySource {
    /// The policy's name.
    pub name: String,
    /// Its text.
    pub text: String,
    /// The text, parsed.
    pub policy: Policy,
}

impl PolicySource {
    /// Parses `text` as the policy called `name`.
    pub fn parse(
        name: &str,
        text: &str,
        strictness: Strictness,
    ) -> Result<PolicySource, syntax::ParseError> {
        Ok(PolicySource {
            name: name.into(),
            text: text.into(),
            policy: syntax::parse(text, strictness)?,
        })
    }
}

/// A client asked for a policy that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPolicy {
    /// The name asked for.
    pub name: String,
    /// The policies that exist, sorted.
    pub known: Vec<String>,
}

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown policy `{}`; the policies are {}",
            self.name,
            self.known.join(", ")
        )?;
        if let Some(near) = suggest::closest(&self.name, self.known.iter().map(String::as_str)) {
            write!(f, " (did you mean `{near}`?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownPolicy {}

/// One generation of compiled policies.
#[derive(Clone, Debug)]
pub struct Policies {
    generation: u64,
    slots: Vec<Option<Arc<CompiledPolicy>>>,
    ids: BTreeMap<String, PolicyId>,
}

impl Policies {
    /// The generation: each reload adds one.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The policy called `name`, or an error naming the known ones.
    pub fn get(&self, name: &str) -> Result<&CompiledPolicy, UnknownPolicy> {
        self.id(name)
            .and_then(|id| self.by_id(id))
            .ok_or_else(|| UnknownPolicy {
                name: name.into(),
                known: self.names().map(str::to_owned).collect(),
            })
    }

    /// The id of the policy called `name`, if it exists in this generation.
    pub fn id(&self, name: &str) -> Option<PolicyId> {
        self.ids
            .get(name)
            .copied()
            .filter(|id| self.by_id(*id).is_some())
    }

    /// The policy with id `id`, if it exists in this generation.
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

    /// Compiles `sources` as the next generation after `previous`, keeping ids by name.
    fn next(
        previous: Option<&Policies>,
        sources: &[PolicySource],
        interner: &TagInterner,
    ) -> Result<Policies, RegistryError> {
        let mut ids = previous.map(|p| p.ids.clone()).unwrap_or_default();
        let mut slots: Vec<Option<Arc<CompiledPolicy>>> = vec![None; ids.len()];
        let builtin =
            PolicySource::parse(DEFAULT_POLICY, "all()", Strictness::Strict).map_err(|e| {
                RegistryError {
                    name: DEFAULT_POLICY.into(),
                    kind: RegistryErrorKind::Parse(e),
                }
            })?;
        let has_default = sources.iter().any(|s| s.name == DEFAULT_POLICY);
        // One stage for the whole generation: a rejected reload interns nothing.
        let mut stage = interner.stage();
        for source in sources.iter().chain((!has_default).then_some(&builtin)) {
            let program =
                compile_staged(&source.policy, &mut stage).map_err(|e| RegistryError {
                    name: source.name.clone(),
                    kind: RegistryErrorKind::Compile(e),
                })?;
            let next_id = PolicyId(u32::try_from(ids.len()).unwrap_or(u32::MAX));
            let id = *ids.entry(source.name.clone()).or_insert(next_id);
            if slots.len() <= id.index() {
                slots.resize(id.index() + 1, None);
            }
            let compiled = CompiledPolicy {
                name: source.name.clone(),
                text: source.text.clone(),
                policy: source.policy.clone(),
                program,
            };
            if let Some(slot) = slots.get_mut(id.index()) {
                *slot = Some(Arc::new(compiled));
            }
        }
        stage.commit();
        Ok(Policies {
            generation: previous.map_or(0, |p| p.generation + 1),
            slots,
            ids,
        })
    }
}

/// A policy that could not be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryError {
    /// The policy's name.
    pub name: String,
    /// What went wrong.
    pub kind: RegistryErrorKind,
}

/// What went wrong registering a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryErrorKind {
    /// Its text does not parse.
    Parse(syntax::ParseError),
    /// It does not compile.
    Compile(CompileError),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RegistryErrorKind::Parse(e) => write!(f, "policy `{}`: {e}", self.name),
            RegistryErrorKind::Compile(e) => write!(f, "policy `{}`: {e}", self.name),
        }
    }
}

impl std::error::Error for RegistryError {}

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

/// The live set of policies, replaced whole and atomically on reload.
#[derive(Debug)]
pub struct PolicyRegistry {
    current: ArcSwap<Policies>,
    interner: TagInterner,
    writer: Mutex<()>,
}

impl PolicyRegistry {
    /// Compiles `sources` against `interner` (the topology's).
    pub fn new(
        sources: &[PolicySource],
        interner: &TagInterner,
    ) -> Result<PolicyRegistry, RegistryError> {
        let policies = Policies::next(None, sources, interner)?;
        Ok(PolicyRegistry {
            current: ArcSwap::from_pointee(policies),
            interner: interner.clone(),
            writer: Mutex::new(()),
        })
    }

    /// The current generation.
    pub fn load(&self) -> Arc<Policies> {
        self.current.load_full()
    }

    /// A per-thread handle on the current generation for hot paths.
    pub fn cache(&self) -> Cache<&ArcSwap<Policies>, Arc<Policies>> {
        Cache::new(&self.current)
    }

    /// Replaces every policy with `sources`. On error the current generation keeps serving.
    pub fn reload(&self, sources: &[PolicySource]) -> Result<Reload, RegistryError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = self.current.load_full();
        let next = Policies::next(Some(&previous), sources, &self.interner)?;
        let report = diff(&previous, &next);
        self.current.store(Arc::new(next));
        Ok(report)
    }
}

fn diff(before: &Policies, after: &Policies) -> Reload {
    let rules = |p: &Policies, name: &str| p.get(name).ok().map(|c| c.policy.normalize());
    let mut report = Reload::default();
    for name in before.names().filter(|n| after.id(n).is_none()) {
        report.removed.push(name.into());
    }
    for name in after.names() {
        match (rules(before, name), rules(after, name)) {
            (None, _) => report.added.push(name.into()),
            (Some(a), Some(b)) if a != b => report.changed.push(name.into()),
            _ => {}
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(pairs: &[(&str, &str)]) -> Vec<PolicySource> {
        pairs
            .iter()
            .map(|(n, t)| PolicySource::parse(n, t, Strictness::Default).expect("valid"))
            .collect()
    }

    #[test]
    fn default_always_exists_and_unknown_names_list_the_known_ones() {
        let registry =
            PolicyRegistry::new(&sources(&[("north", "tags(north)")]), &TagInterner::new())
                .expect("valid");
        let policies = registry.load();
        assert_eq!(
            policies.get("default").map(|p| p.text().to_owned()),
            Ok("all()".to_owned())
        );
        assert_eq!(policies.names().collect::<Vec<_>>(), ["default", "north"]);
        let err = policies.get("nort").expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown policy `nort`; the policies are default, north (did you mean `north`?)"
        );
    }

    #[test]
    fn reload_keeps_ids_reports_changes_and_swaps_whole() {
        let registry = PolicyRegistry::new(
            &sources(&[("a", "tags(a)"), ("b", "tags(b)")]),
            &TagInterner::new(),
        )
        .expect("valid");
        let before = registry.load();
        let b = before.id("b").expect("b");
        let report = registry
            .reload(&sources(&[("b", "tags(c)"), ("c", "tags(c)")]))
            .expect("valid");
        assert_eq!(
            report,
            Reload {
                removed: vec!["a".into()],
                added: vec!["c".into()],
                changed: vec!["b".into()]
            }
        );
        let after = registry.load();
        assert_eq!(
            (after.id("b"), after.id("a"), after.generation()),
            (Some(b), None, 1)
        );
        assert_eq!(
            before.get("a").map(|p| p.text().to_owned()),
            Ok("tags(a)".to_owned()),
            "old generations never change"
        );
    }
}
