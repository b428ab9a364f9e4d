//! Who a client is, for the limits that apply per client: its IP address (an IPv6 client by its
//! /64 network, the block one host is normally given), and the per-peer connection cap.
//!
//! A per-peer cap keeps one address from taking every connection permit: with
//! `--max-connections-per-peer` at half of `--max-connections` (the default), a peer that opens
//! connections as fast as it can, or trickles bytes into each, still leaves half of the permits
//! to everyone else.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

/// A client as the per-peer limits count it: an IPv4 address, or an IPv6 /64 network (an
/// IPv4-mapped IPv6 address is its IPv4 address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer(IpAddr);

impl Peer {
    /// The peer a connection from `address` belongs to.
    pub fn of(address: SocketAddr) -> Peer {
        match address.ip() {
            IpAddr::V4(v4) => Peer(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Peer(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    Peer(IpAddr::V6(network.into()))
                }
            },
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => v4.fmt(f),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Connections open per peer, each at most `max`.
#[derive(Debug)]
pub(super) struct PeerLimit {
    max: usize,
    open: Mutex<HashMap<Peer, usize>>,
}

/// One connection counted against its peer until dropped.
#[derive(Debug)]
pub(super) struct PeerPermit {
    limit: Arc<PeerLimit>,
    peer: Peer,
}

impl PeerLimit {
    /// A limit of `max` connections per peer (at least one).
    pub(super) fn new(max: usize) -> Arc<PeerLimit> {
        Arc::new(PeerLimit {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A permit for one more connection of `peer`, or `None` if it has `max` open.
    pub(super) fn try_acquire(self: &Arc<Self>, peer: Peer) -> Option<PeerPermit> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(peer).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(PeerPermit {
            limit: Arc::clone(self),
            peer,
        })
    }
}

impl Drop for PeerPermit {
    fn drop(&mut self) {
        let mut open = self
            .limit
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.peer) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> SocketAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn a_peer_is_an_ipv4_address_or_an_ipv6_slash_64() {
        let peer = |a: &str| Peer::of(address(a)).to_string();
        assert_eq!(peer("127.0.0.2:5000"), "127.0.0.2");
        assert_eq!(peer("[::ffff:10.1.2.3]:1"), "10.1.2.3");
        assert_eq!(peer("[2001:db8:1:2:3:4:5:6]:1"), "2001:db8:1:2::/64");
        assert_eq!(
            Peer::of(address("[2001:db8:1:2::9]:1")),
            Peer::of(address("[2001:db8:1:2:ffff::1]:7"))
        );
        assert_ne!(
            Peer::of(address("127.0.0.1:1")),
            Peer::of(address("127.0.0.2:1"))
        );
    }

    #[test]
    fn a_peer_gets_at_most_max_permits_and_gets_them_back() {
        let limit = PeerLimit::new(2);
        let (a, b) = (
            Peer::of(address("127.0.0.1:1")),
            Peer::of(address("127.0.0.2:1")),
        );
        let first = limit.try_acquire(a).expect("one");
        let second = limit.try_acquire(a).expect("two");
        assert!(limit.try_acquire(a).is_none(), "a third is refused");
        assert!(limit.try_acquire(b).is_some(), "another peer is not");
        drop(first);
        assert!(limit.try_acquire(a).is_some(), "a permit came back");
        drop(second);
        assert!(
            limit
                .open
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty(),
            "peers with nothing open are forgotten"
        );
    }
}
