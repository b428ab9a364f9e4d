//! "Did you mean": the closest known name to a near miss, and the one error for a name that
//! does not exist.

use std::fmt;

/// The Levenshtein distance between `a` and `b`, in characters: the plain table that
/// `distance_within` is checked against.
#[cfg(test)]
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
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
    if let Some(pattern) = Pattern::new(short) {
        return pattern.distance_within(&[long], limit);
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

/// [`distance_within`] for the text that `pieces` spell one after the other. A last piece that
/// `wanted` ends with changes no distance and is dropped without copying the rest (a prefix
/// setting completed with a long name's last segment).
fn unprepared_distance_within(pieces: &[&[char]], wanted: &[char], limit: usize) -> Option<usize> {
    match pieces {
        [rest @ .., last] if !rest.is_empty() && wanted.ends_with(last) => {
            let head = wanted.get(..wanted.len() - last.len()).unwrap_or_default();
            unprepared_distance_within(rest, head, limit)
        }
        [whole] => distance_within(whole, wanted, limit),
        _ => distance_within(&pieces.concat(), wanted, limit),
    }
}

/// A name of 1 to 64 characters prepared for the Levenshtein distance to many texts, one column
/// of the table per machine word (Myers 1999, in Hyyrö's form): a few word operations per
/// character of a text instead of one comparison per cell, and the masks of its characters
/// built once rather than per text.
struct Pattern {
    /// For each ASCII character, the positions of the pattern that hold it, as bits.
    ascii: [u64; 128],
    /// The same for the other characters of the pattern.
    other: Vec<(char, u64)>,
    /// The bit of the pattern's last position.
    last: u64,
    len: usize,
}

impl Pattern {
    fn new(pattern: &[char]) -> Option<Pattern> {
        if pattern.is_empty() || pattern.len() > 64 {
            return None;
        }
        let mut prepared = Pattern {
            ascii: [0; 128],
            other: Vec::new(),
            last: 1 << (pattern.len() - 1),
            len: pattern.len(),
        };
        for (i, &c) in pattern.iter().enumerate() {
            match prepared.ascii.get_mut(c as usize) {
                Some(mask) => *mask |= 1 << i,
                None => match prepared.other.iter_mut().find(|(o, _)| *o == c) {
                    Some((_, mask)) => *mask |= 1 << i,
                    None => prepared.other.push((c, 1 << i)),
                },
            }
        }
        Some(prepared)
    }

    fn positions_of(&self, c: char) -> u64 {
        match self.ascii.get(c as usize) {
            Some(&mask) => mask,
            None => self
                .other
                .iter()
                .find(|(o, _)| *o == c)
                .map_or(0, |&(_, mask)| mask),
        }
    }

    /// The Levenshtein distance between the pattern and the text `pieces` spell one after the
    /// other, if it is at most `limit`. The distance moves by at most one per character of the
    /// text, so it stops at the first column whose distance the rest of the text cannot bring
    /// back within `limit`.
    fn distance_within(&self, pieces: &[&[char]], limit: usize) -> Option<usize> {
        let mut left: usize = pieces.iter().map(|p| p.len()).sum();
        let mut pv = if self.len == 64 {
            !0
        } else {
            self.last * 2 - 1
        };
        let mut mv = 0u64;
        let mut score = self.len;
        for &c in pieces.iter().flat_map(|p| p.iter()) {
            let eq = self.positions_of(c);
            let xv = eq | mv;
            let xh = ((eq & pv).wrapping_add(pv) ^ pv) | eq;
            let mut ph = mv | !(xh | pv);
            let mut mh = pv & xh;
            if ph & self.last != 0 {
                score += 1;
            } else if mh & self.last != 0 {
                score -= 1;
            }
            left -= 1;
            if score.saturating_sub(left) > limit {
                return None;
            }
            ph = (ph << 1) | 1;
            mh <<= 1;
            pv = mh | !(xv | ph);
            mv = ph & xv;
        }
        Some(score).filter(|&d| d <= limit)
    }
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
        let squashed = Candidate {
            pieces: &[&squashed],
            histogram: Histogram::of(&squashed),
            chars: candidate.chars().count(),
        };
        typo.keep_closer(&mut best, candidate, &squashed);
    }
    best.map(|(_, candidate)| candidate)
}

/// `s` as names are compared: separators (`-`, `_`, `.`) dropped and lowercased, appended to
/// `out`. Squashing is per character, so the squashed form of a concatenation is the
/// concatenation of the squashed forms.
pub(crate) fn squash_into(s: &str, out: &mut Vec<char>) {
    out.extend(squashed(s));
}

/// How many characters `s` squashed has (see [`squash_into`]).
pub(crate) fn squashed_len(s: &str) -> usize {
    squashed(s).count()
}

fn squashed(s: &str) -> impl Iterator<Item = char> {
    s.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
}

/// How many characters of a squashed name fall in each of 39 buckets (`c % 39`: every
/// lowercase ASCII letter and digit has its own), in 16-bit lanes, four to a word. Two names'
/// counts bound their distance from below in a few word operations and no branch per bucket
/// (which the fuzz targets' instrumentation makes costly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Histogram([u64; 10]);

impl Histogram {
    /// The lanes' top bits: a lane's count stays below it for names shorter than it.
    const HIGH: u64 = 0x8000_8000_8000_8000;

    pub(crate) fn of(squashed: &[char]) -> Histogram {
        let mut histogram = Histogram([0; 10]);
        for &c in squashed {
            let bucket = c as usize % 39;
            histogram.0[bucket / 4] = histogram.0[bucket / 4].wrapping_add(1 << (bucket % 4 * 16));
        }
        histogram
    }

    /// The counts of two names one after the other.
    pub(crate) fn add(&mut self, other: &Histogram) {
        for (count, more) in self.0.iter_mut().zip(other.0) {
            *count = count.wrapping_add(more);
        }
    }

    /// A lower bound of the distance between names of `len` and `other_len` characters with
    /// these counts (both shorter than 32,768, so that no lane overflowed): an edit adds,
    /// removes or replaces one character, so it lowers by at most one what the first has more
    /// of than the other (`surplus`), and by at most one what it has fewer of, which is the
    /// surplus less the difference of their lengths.
    fn distance_at_least(&self, len: usize, other: &Histogram, other_len: usize) -> usize {
        let mut surplus = 0;
        for (a, b) in self.0.iter().zip(other.0) {
            // Each lane: 0x8000 plus a - b, its top bit set where a >= b.
            let difference = (a | Histogram::HIGH) - b;
            let at_least = difference & Histogram::HIGH;
            let positive = difference & (at_least - (at_least >> 15));
            surplus += positive.wrapping_mul(0x0001_0001_0001_0001) >> 48;
        }
        surplus as usize + other_len.saturating_sub(len)
    }
}

/// A candidate for a near miss, squashed: its `pieces` one after the other (so that a known
/// prefix completed with part of the name need not be copied), with the counts of their
/// characters, and how many characters it has before squashing.
pub(crate) struct Candidate<'a> {
    pub pieces: &'a [&'a [char]],
    pub histogram: Histogram,
    pub chars: usize,
}

/// How far a candidate of `chars` characters (before squashing) may be from a name of
/// `wanted` squashed characters to count as its typo: about a third of the longer, rounded up.
pub(crate) fn typo_limit(wanted: usize, chars: usize) -> usize {
    wanted.max(chars).div_ceil(3)
}

/// A name to find the closest candidate to, squashed and prepared once: for callers that
/// compare one name with many candidates.
pub(crate) struct Typo {
    wanted: Vec<char>,
    /// `wanted`, prepared, unless it is empty or longer than a machine word.
    pattern: Option<Pattern>,
    histogram: Histogram,
}

impl Typo {
    pub(crate) fn of(name: &str) -> Typo {
        let mut wanted = Vec::new();
        squash_into(name, &mut wanted);
        Typo {
            pattern: Pattern::new(&wanted),
            histogram: Histogram::of(&wanted),
            wanted,
        }
    }

    /// The name as names are compared (see [`squash_into`]).
    pub(crate) fn squashed(&self) -> &[char] {
        &self.wanted
    }

    /// Replaces `best` with `(distance, value)` when `candidate` is close enough to be a typo
    /// of the name and strictly closer than `best`, so the first of equally close candidates
    /// wins.
    pub(crate) fn keep_closer<T>(
        &self,
        best: &mut Option<(usize, T)>,
        value: T,
        candidate: &Candidate,
    ) {
        let mut limit = typo_limit(self.wanted.len(), candidate.chars);
        if let Some((closest, _)) = best {
            match closest.checked_sub(1) {
                Some(closer) => limit = limit.min(closer),
                None => return,
            }
        }
        if let Some(distance) = self.distance_within(candidate, limit) {
            *best = Some((distance, value));
        }
    }

    fn distance_within(&self, candidate: &Candidate, limit: usize) -> Option<usize> {
        let (pieces, len) = (candidate.pieces, self.wanted.len());
        let other_len: usize = pieces.iter().map(|p| p.len()).sum();
        let counted = len.max(other_len) < 0x8000;
        let at_least = match counted {
            true => self
                .histogram
                .distance_at_least(len, &candidate.histogram, other_len),
            false => len.abs_diff(other_len),
        };
        if at_least > limit {
            return None;
        }
        match &self.pattern {
            Some(pattern) => pattern.distance_within(pieces, limit),
            None => unprepared_distance_within(pieces, &self.wanted, limit),
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
            if let Some(pattern) = Pattern::new(&a) {
                let limit = next(40) as usize;
                let cut = next(b.len() as u64 + 1) as usize;
                let pieces = [&b[..cut], &b[cut..]];
                let within = (d <= limit).then_some(d);
                assert_eq!(pattern.distance_within(&[&b], usize::MAX), Some(d));
                assert_eq!(
                    pattern.distance_within(&pieces, limit),
                    within,
                    "{sa:?} {sb:?}"
                );
            }
            assert_eq!(distance_within(&a, &b, 200), Some(d), "{sa:?} {sb:?}");
            let (limit, cut) = (next(40) as usize, next(b.len() as u64 + 1) as usize);
            let tail = &a[a.len() - next(a.len().min(8) as u64 + 1) as usize..];
            let spelled = [&b[..cut], &b[cut..], tail];
            let whole: String = spelled.concat().into_iter().collect();
            let within = Some(edit_distance(&sa, &whole)).filter(|&d| d <= limit);
            assert_eq!(
                unprepared_distance_within(&spelled, &a, limit),
                within,
                "{sa:?} {whole:?}"
            );
        }
    }

    #[test]
    fn the_counts_bound_the_distance_from_below() {
        let mut rng = crate::rng::Rng::seeded(22);
        let alphabet = ['a', 'b', 'z', '0', '9', 'é', 'ß', 'Σ'];
        let word = |rng: &mut crate::rng::Rng| -> Vec<char> {
            (0..rng.index(40))
                .map(|_| alphabet[rng.index(alphabet.len())])
                .collect()
        };
        for _ in 0..3_000 {
            let (a, b, c) = (word(&mut rng), word(&mut rng), word(&mut rng));
            let (sa, sbc): (String, String) = (a.iter().collect(), b.iter().chain(&c).collect());
            let mut joined = Histogram::of(&b);
            joined.add(&Histogram::of(&c));
            assert_eq!(joined, Histogram::of(&[b.clone(), c.clone()].concat()));
            let bound = Histogram::of(&a).distance_at_least(a.len(), &joined, b.len() + c.len());
            assert!(bound <= edit_distance(&sa, &sbc), "{sa:?} {sbc:?}");
        }
        let (long, short) = (vec!['a'; 300], ['a', 'b']);
        let bound = Histogram::of(&long).distance_at_least(300, &Histogram::of(&short), 2);
        assert_eq!(bound, 299);
        assert_eq!(
            Histogram::of(&short).distance_at_least(2, &Histogram::of(&long), 300),
            299
        );
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
