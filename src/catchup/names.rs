//! The names of the predefined strategies: the Neo4j 5 names and the aliases Neo4j still accepts.

/// Every strategy name tagroute accepts, as `(written, canonical)`: each canonical (Neo4j 5) name
/// maps to itself, each alias to the name it stands for. In the order of DESIGN section 6.
pub const STRATEGY_NAMES: &[(&str, &str)] = &[
    (RANDOM_PRIMARY, RANDOM_PRIMARY),
    ("connect-to-random-core-server", RANDOM_PRIMARY),
    (TYPICALLY_SECONDARY, TYPICALLY_SECONDARY),
    (
        "typically-connect-to-random-read-replica",
        TYPICALLY_SECONDARY,
    ),
    (SERVER_TAGS, SERVER_TAGS),
    ("connect-randomly-to-server-group", SERVER_TAGS),
    ("connect-randomly-to-server-with-tag", SERVER_TAGS),
    (WITHIN_SERVER_GROUP, WITHIN_SERVER_GROUP),
    (LEADER_ONLY, LEADER_ONLY),
    (USER_DEFINED, USER_DEFINED),
];

/// `connect-to-random-primary-server`: a random primary; always asked last.
pub const RANDOM_PRIMARY: &str = "connect-to-random-primary-server";
/// `typically-connect-to-random-secondary`: a random secondary, a primary every 10th call.
pub const TYPICALLY_SECONDARY: &str = "typically-connect-to-random-secondary";
/// `connect-randomly-to-server-tags`: a random secondary carrying a configured tag.
pub const SERVER_TAGS: &str = "connect-randomly-to-server-tags";
/// `connect-randomly-within-server-group` (deprecated): a random secondary sharing a tag with
/// the asking server.
pub const WITHIN_SERVER_GROUP: &str = "connect-randomly-within-server-group";
/// `leader-only`: the leader.
pub const LEADER_ONLY: &str = "leader-only";
/// `user-defined`: a random server of the user-defined policy's result.
pub const USER_DEFINED: &str = "user-defined";

/// The canonical name of the strategy written `name`, or `None` when no strategy has that name.
///
/// Names are case-sensitive, as in Neo4j: `Leader-Only` is unknown.
pub fn canonical_strategy(name: &str) -> Option<&'static str> {
    STRATEGY_NAMES
        .iter()
        .find(|(written, _)| *written == name)
        .map(|(_, canonical)| *canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_the_neo4j_5_names() {
        assert_eq!(
            canonical_strategy("connect-to-random-core-server"),
            Some("connect-to-random-primary-server")
        );
        assert_eq!(
            canonical_strategy("typically-connect-to-random-read-replica"),
            Some("typically-connect-to-random-secondary")
        );
        assert_eq!(
            canonical_strategy("connect-randomly-to-server-group"),
            Some("connect-randomly-to-server-tags")
        );
        assert_eq!(
            canonical_strategy("connect-randomly-to-server-with-tag"),
            Some("connect-randomly-to-server-tags")
        );
        assert_eq!(canonical_strategy("user-defined"), Some("user-defined"));
    }

    #[test]
    fn unknown_and_miscased_names_have_no_canonical_name() {
        assert_eq!(canonical_strategy("user_defined"), None);
        assert_eq!(canonical_strategy("Leader-Only"), None);
        assert_eq!(canonical_strategy(""), None);
    }

    #[test]
    fn every_canonical_name_maps_to_itself() {
        for (_, canonical) in STRATEGY_NAMES {
            assert_eq!(canonical_strategy(canonical), Some(*canonical));
        }
    }
}
