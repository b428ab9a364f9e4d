//! Finding a server of a snapshot by its name or its address.
//!
//! The tables hold positions only; names and addresses are read from the snapshot's server
//! list. Copying them for a new snapshot (adding or removing a server) therefore copies
//! integers and touches no reference count, where a map keyed by shared names took an atomic
//! increment per server on the copy and a decrement when the old snapshot went, and adding a
//! server finds a taken address without comparing it with every other.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::server_set::ServerIdx;
use super::snapshot::Server;

/// Positions of servers, found by name or by address.
#[derive(Clone, Debug, Default)]
pub(super) struct ServerIndex {
    names: HashTable<ServerIdx>,
    addresses: HashTable<ServerIdx>,
}

/// Which of a server's strings a table is keyed by.
#[derive(Clone, Copy)]
enum Key {
    Name,
    Address,
}

impl Key {
    /// The key of the server at `idx` of `servers`; every position a table holds is one.
    fn of(self, servers: &[Server], idx: ServerIdx) -> &str {
        servers.get(idx.index()).map_or("", |s| match self {
            Key::Name => s.name(),
            Key::Address => s.address(),
        })
    }
}

fn hash(key: &str) -> u64 {
    FxBuildHasher.hash_one(key)
}

fn find(table: &HashTable<ServerIdx>, key: Key, servers: &[Server], s: &str) -> Option<ServerIdx> {
    table.find(hash(s), |&i| key.of(servers, i) == s).copied()
}

fn insert(table: &mut HashTable<ServerIdx>, key: Key, servers: &[Server], idx: ServerIdx) {
    let s = key.of(servers, idx);
    table.insert_unique(hash(s), idx, |&i| hash(key.of(servers, i)));
}

/// Removes `idx`, then moves every later position down one, as the server list does.
fn remove(table: &mut HashTable<ServerIdx>, key: Key, servers: &[Server], idx: ServerIdx) {
    let s = key.of(servers, idx);
    if let Ok(entry) = table.find_entry(hash(s), |&i| i == idx) {
        entry.remove();
    }
    for i in table.iter_mut() {
        if *i > idx {
            *i = ServerIdx::new(i.index() - 1).unwrap_or(*i);
        }
    }
}

impl ServerIndex {
    /// An empty index with room for `servers` servers.
    pub(super) fn with_capacity(servers: usize) -> ServerIndex {
        ServerIndex {
            names: HashTable::with_capacity(servers),
            addresses: HashTable::with_capacity(servers),
        }
    }

    /// The position of the server called `name`; `servers` is the list the index describes.
    pub(super) fn by_name(&self, name: &str, servers: &[Server]) -> Option<ServerIdx> {
        find(&self.names, Key::Name, servers, name)
    }

    /// The position of the server at `address`.
    pub(super) fn by_address(&self, address: &str, servers: &[Server]) -> Option<ServerIdx> {
        find(&self.addresses, Key::Address, servers, address)
    }

    /// Adds the server at `idx` of `servers`, whose name and address the index does not hold.
    pub(super) fn insert(&mut self, idx: ServerIdx, servers: &[Server]) {
        insert(&mut self.names, Key::Name, servers, idx);
        insert(&mut self.addresses, Key::Address, servers, idx);
    }

    /// Removes the server at `idx` and moves every later position down one, as the server
    /// list does when that server leaves it; `servers` is the list before.
    pub(super) fn remove(&mut self, idx: ServerIdx, servers: &[Server]) {
        remove(&mut self.names, Key::Name, servers, idx);
        remove(&mut self.addresses, Key::Address, servers, idx);
    }

    /// The positions of each table, in order.
    fn positions(&self) -> [Vec<ServerIdx>; 2] {
        [&self.names, &self.addresses].map(|table| {
            let mut positions: Vec<ServerIdx> = table.iter().copied().collect();
            positions.sort_unstable();
            positions
        })
    }
}

/// Two indexes over the same server list are equal when they hold the same positions.
impl PartialEq for ServerIndex {
    fn eq(&self, other: &ServerIndex) -> bool {
        self.positions() == other.positions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(names: &[&str]) -> Vec<Server> {
        names
            .iter()
            .map(|name| Server::new(name, &format!("{name}:7687")))
            .collect()
    }

    fn idx(i: usize) -> ServerIdx {
        ServerIdx::new(i).unwrap_or_else(|| panic!("{i} is a position"))
    }

    #[test]
    fn servers_are_found_added_and_removed_with_later_positions_moved_down() {
        let before = servers(&["a", "b", "c", "d"]);
        let mut index = ServerIndex::with_capacity(1);
        for i in 0..before.len() {
            index.insert(idx(i), &before);
        }
        assert_eq!(index.by_name("c", &before), Some(idx(2)));
        assert_eq!(index.by_address("c:7687", &before), Some(idx(2)));
        assert_eq!(index.by_name("c:7687", &before), None);
        assert_eq!(index.by_name("e", &before), None);
        index.remove(idx(1), &before);
        let after = servers(&["a", "c", "d"]);
        assert_eq!(
            ["a", "c", "d", "b"].map(|n| index.by_name(n, &after)),
            [Some(idx(0)), Some(idx(1)), Some(idx(2)), None]
        );
        assert_eq!(index.by_address("d:7687", &after), Some(idx(2)));
        assert_eq!(index.by_address("b:7687", &after), None);
        assert_eq!(index.clone(), index);
    }
}
