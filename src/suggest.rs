//! "Did you mean": the closest known name to a near miss.

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
