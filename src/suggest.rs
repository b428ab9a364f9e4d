//! "Did you mean": the closest known name to a near miss, and the one error for a name that
//! does not exist.

use std::fmt;

/// The Levenshtein distance between `a` and `b`, in characters: the plain table that
/// `distance_within` is checked against.
#[cfg(test)]
fn edit_distance(a: &str, b: &str) -> usize {
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

/// The Levenshtein distance between `a` and `b` if it is at most `limit`, else `None`.
///
/// A common prefix and suffix change no distance and are skipped, a length difference above
/// `limit` needs no table, and the table stops at the first row whose every entry is above
/// `limit`. So a long name and a candidate that shares its long tail (a prefix setting completed
/// with the name's last segment) cost the length of their difference, not the product of their
/// lengths.
fn distance_within(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if !short.is_empty() && short.len() <= 64 {
        return Some(bit_parallel(short, long)).filter(|&d| d <= limit);
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = Vec::with_capacity(b.len() + 1);
    for (i, ca) in a.iter().enumerate() {
        current.clear();
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            let delete = previous[j + 1] + 1;
            let insert = current[j] + 1;
            current.push(substitute.min(delete).min(insert));
        }
        if current.iter().all(|&d| d > limit) {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().filter(|&d| d <= limit)
}

/// The Levenshtein distance between `pattern` (1 to 64 characters) and `text`, one column of
/// the table per machine word (Myers 1999, in Hyyrö's form): a few word operations per
/// character of `text` instead of one comparison per cell.
fn bit_parallel(pattern: &[char], text: &[char]) -> usize {
    let m = pattern.len();
    let mut ascii = [0u64; 128];
    let mut other: Vec<(char, u64)> = Vec::new();
    for (i, &c) in pattern.iter().enumerate() {
        match ascii.get_mut(c as usize) {
            Some(mask) => *mask |= 1 << i,
            None => match other.iter_mut().find(|(o, _)| *o == c) {
                Some((_, mask)) => *mask |= 1 << i,
                None => other.push((c, 1 << i)),
            },
        }
    }
    let last = 1u64 << (m - 1);
    let mut pv = if m == 64 { !0 } else { (1u64 << m) - 1 };
    let mut mv = 0u64;
    let mut score = m;
    for &c in text {
        let eq = match ascii.get(c as usize) {
            Some(&mask) => mask,
            None => other
                .iter()
                .find(|(o, _)| *o == c)
                .map_or(0, |&(_, mask)| mask),
        };
        let xv = eq | mv;
        let xh = ((eq & pv).wrapping_add(pv) ^ pv) | eq;
        let mut ph = mv | !(xh | pv);
        let mut mh = pv & xh;
        if ph & last != 0 {
            score += 1;
        } else if mh & last != 0 {
            score -= 1;
        }
        ph = (ph << 1) | 1;
        mh <<= 1;
        pv = mh | !(xv | ph);
        mv = ph & xv;
    }
    score
}

/// The candidate closest to `name`, if it is close enough to be a typo: at most about a third of
/// the longer name's characters differ (rounded up). Separators (`-`, `_`, `.`) and case are ignored first, so
/// `user_defined` finds `user-defined`.
///
/// The cost is about linear in the names' lengths when the candidates are short or share the
/// name's tail: an unknown neo4j.conf key of 8,000 characters used to cost seconds (its every
/// candidate completed with its last segment was compared character by character).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typo = Typo::of(name);
    let mut squashed = Vec::new();
    let mut best = None;
    for candidate in candidates {
        squashed.clear();
        squash_into(candidate, &mut squashed);
        typo.keep_closer(&mut best, candidate, &squashed, candidate.chars().count());
    }
    best.map(|(_, candidate)| candidate)
}

/// `s` as names are compared: separators (`-`, `_`, `.`) dropped and lowercased, appended to
/// `out`. Squashing is per character, so the squashed form of a concatenation is the
/// concatenation of the squashed forms.
pub(crate) fn squash_into(s: &str, out: &mut Vec<char>) {
    out.extend(
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | '.'))
            .flat_map(char::to_lowercase),
    );
}

/// A name to find the closest candidate to, squashed once: for callers that compare one name
/// with candidates they squashed once for many names.
pub(crate) struct Typo {
    wanted: Vec<char>,
}

impl Typo {
    pub(crate) fn of(name: &str) -> Typo {
        let mut wanted = Vec::new();
        squash_into(name, &mut wanted);
        Typo { wanted }
    }

    /// Replaces `best` with `(distance, candidate)` when `candidate` (squashed: `squashed`;
    /// `chars` characters before squashing) is close enough to be a typo of the name and
    /// strictly closer than `best`, so the first of equally close candidates wins.
    pub(crate) fn keep_closer<T>(
        &self,
        best: &mut Option<(usize, T)>,
        candidate: T,
        squashed: &[char],
        chars: usize,
    ) {
        let mut limit = self.wanted.len().max(chars).div_ceil(3);
        if let Some((closest, _)) = best {
            match closest.checked_sub(1) {
                Some(closer) => limit = limit.min(closer),
                None => return,
            }
        }
        if let Some(distance) = distance_within(squashed, &self.wanted, limit) {
            *best = Some((distance, candidate));
        }
    }
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
    /// A tag that servers carry.
    Tag,
}

impl NameKind {
    fn singular(self) -> &'static str {
        match self {
            NameKind::Policy => "policy",
            NameKind::Database => "database",
            NameKind::Server => "server",
            NameKind::Tag => "tag",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            NameKind::Policy => "policies",
            NameKind::Database => "databases",
            NameKind::Server => "servers",
            NameKind::Tag => "tags",
        }
    }
}

/// A name that does not exist, with the names that do: the one shape of every "unknown policy",
/// "unknown database" or "unknown server" error. Its message names the known ones (the first
/// [`UnknownName::LISTED`] in order, then how many more) and the closest to the name asked for:
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
    /// The first `LISTED` known names, sorted.
    listed: Vec<String>,
    /// How many known names there are.
    known: usize,
    closest: Option<String>,
}

impl UnknownName {
    /// How many known names an error keeps and lists: a topology of 8,192 servers must not
    /// make an error of 8,192 names.
    pub const LISTED: usize = 16;

    /// `name`, asked for as a `kind`, is not among `known`.
    pub fn new<S: AsRef<str>>(
        kind: NameKind,
        name: &str,
        known: impl IntoIterator<Item = S>,
    ) -> UnknownName {
        let mut known: Vec<S> = known.into_iter().collect();
        let closest = closest(name, known.iter().map(AsRef::as_ref)).map(str::to_owned);
        let count = known.len();
        if count > Self::LISTED {
            known.select_nth_unstable_by(Self::LISTED, |a, b| a.as_ref().cmp(b.as_ref()));
            known.truncate(Self::LISTED);
        }
        known.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        UnknownName {
            kind,
            name: name.to_owned(),
            listed: known.iter().map(|k| k.as_ref().to_owned()).collect(),
            known: count,
            closest,
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

    /// The first [`UnknownName::LISTED`] names that exist, sorted.
    pub fn known(&self) -> &[String] {
        &self.listed
    }

    /// How many names exist.
    pub fn known_count(&self) -> usize {
        self.known
    }

    /// The known name closest to the one asked for, if it looks like a typo of it.
    pub fn closest(&self) -> Option<&str> {
        self.closest.as_deref()
    }
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (one, many) = (self.kind.singular(), self.kind.plural());
        write!(f, "unknown {one} `{}`; ", self.name)?;
        if self.listed.is_empty() {
            return match self.kind {
                NameKind::Policy => write!(f, "no policy is configured"),
                NameKind::Tag => write!(f, "no server carries a tag"),
                _ => write!(f, "the topology has no {one}"),
            };
        }
        write!(f, "the {many} are {}", self.listed.join(", "))?;
        if self.known > self.listed.len() {
            write!(f, " and {} more", self.known - self.listed.len())?;
        }
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

    #[test]
    fn the_bounded_distance_is_the_distance_up_to_its_limit() {
        let words = [
            "", "a", "tags", "tgas", "kitten", "sitting", "groups", "tags-x", "xtags",
        ];
        for a in words {
            for b in words {
                let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                let d = edit_distance(a, b);
                for limit in 0..8 {
                    let expected = (d <= limit).then_some(d);
                    assert_eq!(
                        distance_within(&ca, &cb, limit),
                        expected,
                        "{a:?} {b:?} {limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_bit_parallel_distance_is_the_distance() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabet = ['a', 'b', 'c', 'é', '7'];
        for _ in 0..3_000 {
            let mut word = |max| -> Vec<char> {
                (0..1 + next(max))
                    .map(|_| alphabet[next(5) as usize])
                    .collect()
            };
            let (a, b) = (word(70), word(90));
            let (sa, sb): (String, String) = (a.iter().collect(), b.iter().collect());
            let d = edit_distance(&sa, &sb);
            if a.len() <= 64 {
                assert_eq!(bit_parallel(&a, &b), d, "{sa:?} {sb:?}");
            }
            assert_eq!(distance_within(&a, &b, 200), Some(d), "{sa:?} {sb:?}");
        }
    }

    /// Found by the `config` fuzz target's slow inputs: an unknown key in tagroute's namespaces
    /// is compared with every known key, prefix settings completed with the key's last
    /// segment, and that took time quadratic in the key's length (an 8,000-character key took
    /// 21 s in the instrumented build). Now the shared tail is skipped.
    #[test]
    fn an_unknown_name_among_many_lists_a_few_and_still_finds_the_closest() {
        let servers: Vec<String> = (0..8192).map(|i| format!("server-{i:04}")).collect();
        let unknown = UnknownName::new(NameKind::Server, "server-8191x", &servers);
        assert_eq!(unknown.known().len(), UnknownName::LISTED);
        assert_eq!(unknown.known()[0], "server-0000");
        assert_eq!(unknown.known_count(), 8192);
        assert_eq!(unknown.closest(), Some("server-8191"));
        let message = unknown.to_string();
        assert!(
            message.ends_with("server-0015 and 8176 more (did you mean `server-8191`?)"),
            "{message}"
        );
    }

    /// `closest` is the plain definition: the first candidate at the least full-table distance
    /// of the squashed names, if that is within a third of the longer name.
    #[test]
    fn closest_is_the_first_nearest_candidate_within_the_limit() {
        fn model<'k>(name: &str, known: &'k [String]) -> Option<&'k str> {
            let squashed = |s: &str| {
                let mut out = Vec::new();
                squash_into(s, &mut out);
                out.into_iter().collect::<String>()
            };
            let wanted = squashed(name);
            known
                .iter()
                .filter_map(|c| {
                    let d = edit_distance(&squashed(c), &wanted);
                    let limit = wanted.chars().count().max(c.chars().count()).div_ceil(3);
                    (d <= limit).then_some((d, c.as_str()))
                })
                .min_by_key(|(d, _)| *d)
                .map(|(_, c)| c)
        }
        let mut rng = crate::rng::Rng::seeded(7);
        let alphabet = ['a', 'b', 'A', '.', '_', 'é'];
        let word = |rng: &mut crate::rng::Rng| -> String {
            (0..rng.index(9))
                .map(|_| alphabet[rng.index(alphabet.len())])
                .collect()
        };
        for _ in 0..3_000 {
            let name = word(&mut rng);
            let known: Vec<String> = (0..rng.index(6)).map(|_| word(&mut rng)).collect();
            assert_eq!(
                closest(&name, known.iter().map(String::as_str)),
                model(&name, &known),
                "{name:?} among {known:?}"
            );
        }
    }

    #[test]
    fn a_long_name_with_long_candidates_is_fast() {
        let tail = "a".repeat(200_000);
        let name = format!("dbms.routing.{tail}");
        let near = format!("dbms.routing.x{tail}");
        let far = format!("server.{tail}");
        let started = std::time::Instant::now();
        assert_eq!(
            closest(&name, [far.as_str(), near.as_str()]),
            Some(near.as_str())
        );
        assert_eq!(closest(&name, ["dbms.routing.enabled"]), None);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }
}
