//! "Did you mean": the closest known name to a near miss, and the one error for a name that
//! does not exist.

use std::fmt;

/// The Levenshtein distance between `a` and `b`, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous
                .get(j)
                .map_or(usize::MAX, |d| d + usize::from(ca != *cb));
            let delete = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insert = current.last().map_or(usize::MAX, |d| d + 1);
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

/// The candidate closest to `name`, if it is close enough to be a typo: at most about a third of
/// the longer name's characters differ (rounded up). Separators (`-`, `_`, `.`) and case are ignored first, so
/// `user_defined` finds `user-defined`.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | '.'))
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let wanted = squash(name);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&squash(c), &wanted), c))
        .filter(|(d, c)| *d <= wanted.chars().count().max(c.chars().count()).div_ceil(3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// What kind of thing a name was asked for as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameKind {
    /// A load-balancing policy.
    Policy,
    /// A database of the topology.
    Database,
    /// A server of the topology.
    Server,
}

impl NameKind {
    fn singular(self) -> &'static str {
        match self {
            NameKind::Policy => "policy",
            NameKind::Database => "database",
            NameKind::Server => "server",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            NameKind::Policy => "policies",
            NameKind::Database => "databases",
            NameKind::Server => "servers",
        }
    }
}

/// A name that does not exist, with the names that do: the one shape of every "unknown policy",
/// "unknown database" or "unknown server" error. Its message names the known ones and the closest
/// to the name asked for:
///
/// ```
/// use tagroute::{NameKind, UnknownName};
///
/// let unknown = UnknownName::new(NameKind::Database, "neo4k", ["orders", "neo4j"]);
/// assert_eq!(
///     unknown.to_string(),
///     "unknown database `neo4k`; the databases are neo4j, orders (did you mean `neo4j`?)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    kind: NameKind,
    name: String,
    known: Vec<String>,
}

impl UnknownName {
    /// `name`, asked for as a `kind`, is not among `known` (sorted here).
    pub fn new<S: Into<String>>(
        kind: NameKind,
        name: &str,
        known: impl IntoIterator<Item = S>,
    ) -> UnknownName {
        let mut known: Vec<String> = known.into_iter().map(Into::into).collect();
        known.sort_unstable();
        UnknownName {
            kind,
            name: name.to_owned(),
            known,
        }
    }

    /// What the name was asked for as.
    pub fn kind(&self) -> NameKind {
        self.kind
    }

    /// The name asked for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The names that exist, sorted.
    pub fn known(&self) -> &[String] {
        &self.known
    }

    /// The known name closest to the one asked for, if it looks like a typo of it.
    pub fn closest(&self) -> Option<&str> {
        closest(&self.name, self.known.iter().map(String::as_str))
    }
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (one, many) = (self.kind.singular(), self.kind.plural());
        write!(f, "unknown {one} `{}`; ", self.name)?;
        if self.known.is_empty() {
            return match self.kind {
                NameKind::Policy => write!(f, "no policy is configured"),
                _ => write!(f, "the topology has no {one}"),
            };
        }
        write!(f, "the {many} are {}", self.known.join(", "))?;
        if let Some(near) = self.closest() {
            write!(f, " (did you mean `{near}`?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("tags", "tgas"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_forgives_separators_and_case_but_not_strangers() {
        let known = [
            "user-defined",
            "leader-only",
            "connect-to-random-primary-server",
        ];
        assert_eq!(closest("user_defined", known), Some("user-defined"));
        assert_eq!(closest("Leader-Only", known), Some("leader-only"));
        assert_eq!(closest("leadr-only", known), Some("leader-only"));
        assert_eq!(closest("round-robin", known), None);
        assert_eq!(closest("tgas", ["tags", "min"]), Some("tags"));
        assert_eq!(closest("xyz", ["tags", "min"]), None);
    }
}
