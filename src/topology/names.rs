//! Database names as Neo4j compares them: without regard to case, each database reachable by
//! its name and by its aliases, one of them (at most) the default.
//!
//! Neo4j normalises database names and aliases to lower case (`CREATE DATABASE Sales` creates
//! `sales`), so `Sales`, `SALES` and `sales` are one name. A snapshot keeps every name and alias
//! folded to lower case in one table of database positions; a lookup folds the name asked for
//! (without allocating when it is lower case already) and reads the table once.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::error::{TopologyError, TopologyErrorKind as Kind};

/// A name as Neo4j compares it: lower case (borrowed when it is already).
///
/// ```
/// use tagroute::topology::fold_name;
///
/// assert_eq!(fold_name("Sales"), "sales");
/// assert_eq!(fold_name("ÉTÉ"), "été");
/// assert!(matches!(fold_name("neo4j"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn fold_name(name: &str) -> Cow<'_, str> {
    if name
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(name.to_lowercase())
    }
}

/// Every database's folded name and aliases, to its position, and the default's position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct DatabaseNames {
    positions: FxHashMap<Box<str>, u32>,
    /// The default database's position and name.
    default: Option<(u32, Box<str>)>,
}

/// What a database contributes to the names: its name, its aliases, whether it is the default.
pub(super) struct Naming<'d> {
    pub name: &'d str,
    pub aliases: &'d [Box<str>],
    pub default: bool,
}

impl DatabaseNames {
    /// The position of the database called `name` (or aliased so), in any case.
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        self.positions
            .get(fold_name(name).as_ref())
            .map(|&p| p as usize)
    }

    /// The default database's position.
    pub(super) fn default_position(&self) -> Option<usize> {
        self.default.as_ref().map(|(p, _)| *p as usize)
    }

    /// Adds the database at `position`; errors name the field relative to the database
    /// (`name`, `aliases[1]`, `default`) and leave the names as they were.
    pub(super) fn insert(&mut self, position: usize, db: &Naming<'_>) -> Result<(), TopologyError> {
        let position =
            u32::try_from(position).map_err(|_| TopologyError::new("", Kind::TooLarge))?;
        if db.default
            && let Some((_, other)) = self.default.as_ref().filter(|(p, _)| *p != position)
        {
            let kind = Kind::SecondDefault(other.to_string());
            return Err(TopologyError::new("default", kind));
        }
        let names = std::iter::once(("name".to_owned(), db.name)).chain(
            db.aliases
                .iter()
                .enumerate()
                .map(|(j, a)| (format!("aliases[{j}]"), &**a)),
        );
        let mut added: Vec<Box<str>> = Vec::with_capacity(db.aliases.len() + 1);
        for (field, name) in names {
            let folded: Box<str> = fold_name(name).into();
            if name.is_empty() || self.positions.contains_key(&folded) {
                for key in added {
                    self.positions.remove(&key);
                }
                let kind = match field.as_str() {
                    _ if name.is_empty() => Kind::Empty,
                    "name" => Kind::DuplicateDatabase(name.to_owned()),
                    _ => Kind::NameTaken(name.to_owned()),
                };
                return Err(TopologyError::new(field, kind));
            }
            self.positions.insert(folded.clone(), position);
            added.push(folded);
        }
        if db.default {
            self.default = Some((position, db.name.into()));
        }
        Ok(())
    }

    /// Removes the database at `position` (`db` being what it contributed) and moves the later
    /// positions down one, as the database list does.
    pub(super) fn remove(&mut self, position: usize, db: &Naming<'_>) {
        self.forget(db);
        if let Some((default, _)) = &mut self.default
            && *default as usize > position
        {
            *default -= 1;
        }
        for p in self.positions.values_mut() {
            if *p as usize > position {
                *p -= 1;
            }
        }
    }

    /// Forgets the names of `db`, keeping positions as they are (a database replaced in place).
    pub(super) fn forget(&mut self, db: &Naming<'_>) {
        let position = self.find(db.name);
        for name in std::iter::once(db.name).chain(db.aliases.iter().map(|a| &**a)) {
            self.positions.remove(fold_name(name).as_ref());
        }
        if db.default && self.default_position() == position {
            self.default = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming<'d>(name: &'d str, aliases: &'d [Box<str>], default: bool) -> Naming<'d> {
        Naming {
            name,
            aliases,
            default,
        }
    }

    #[test]
    fn names_and_aliases_are_found_in_any_case() {
        let mut names = DatabaseNames::default();
        let aliases: Vec<Box<str>> = vec!["Graph".into(), "g2".into()];
        names.insert(0, &naming("neo4j", &aliases, true)).unwrap();
        names.insert(1, &naming("Sales", &[], false)).unwrap();
        for (asked, position) in [
            ("neo4j", Some(0)),
            ("NEO4J", Some(0)),
            ("graph", Some(0)),
            ("GRAPH", Some(0)),
            ("G2", Some(0)),
            ("sales", Some(1)),
            ("SaLeS", Some(1)),
            ("nope", None),
        ] {
            assert_eq!(names.find(asked), position, "{asked}");
        }
        assert_eq!(names.default_position(), Some(0));
    }

    #[test]
    fn a_name_taken_in_any_case_or_a_second_default_is_refused_and_nothing_is_added() {
        let mut names = DatabaseNames::default();
        let aliases: Vec<Box<str>> = vec!["graph".into()];
        names.insert(0, &naming("neo4j", &aliases, true)).unwrap();
        let before = names.clone();
        let taken: Vec<Box<str>> = vec!["fresh".into(), "GRAPH".into()];
        let e = names
            .insert(1, &naming("other", &taken, false))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "aliases[1]: the name `GRAPH` is taken by another database or alias"
        );
        assert_eq!(names, before, "nothing of a refused database stays");
        let e = names.insert(1, &naming("Neo4J", &[], false)).unwrap_err();
        assert_eq!(e.to_string(), "name: duplicate database name `Neo4J`");
        let e = names.insert(1, &naming("other", &[], true)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "default: `neo4j` is the default database already"
        );
        let empty: Vec<Box<str>> = vec!["".into()];
        let e = names
            .insert(1, &naming("other", &empty, false))
            .unwrap_err();
        assert_eq!(e.to_string(), "aliases[0]: must not be empty");
    }

    #[test]
    fn removing_a_database_moves_the_later_ones_down() {
        let mut names = DatabaseNames::default();
        let aliases: Vec<Box<str>> = vec!["b2".into()];
        names.insert(0, &naming("a", &[], false)).unwrap();
        names.insert(1, &naming("b", &aliases, false)).unwrap();
        names.insert(2, &naming("c", &[], true)).unwrap();
        names.remove(1, &naming("b", &aliases, false));
        assert_eq!(
            (names.find("a"), names.find("b2"), names.find("c")),
            (Some(0), None, Some(1))
        );
        assert_eq!(names.default_position(), Some(1));
    }
}
