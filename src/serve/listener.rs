//! The accept loop: a permit per connection, refusals counted, and a graceful end.
//!
//! Each accepted connection takes one permit of a semaphore sized `--max-connections` and one
//! of its peer's (`--max-connections-per-peer`); without both the socket is closed at once and
//! counted as refused (`limit`, `peer_limit`), so a flood costs an accept and a close, never a
//! task. A failed accept (out of file descriptors, mostly) backs off before the next, doubling
//! from 5 ms to a second, and failures and refusals are logged at most once a second each, with
//! a count: neither a busy loop nor a log line per attempt. On shutdown the loop stops
//! accepting, each connection finishes the request it is answering and closes, and the loop
//! waits for every permit to come back (at most the drain timeout): a permit back means a
//! connection gone.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::Shared;
use super::connection;
use super::logging::Throttle;
use super::peer::{Peer, PeerLimit};

/// Accepts on `listener` until shutdown, then drains.
pub(super) async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let max = shared.settings.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let peers = PeerLimit::new(shared.settings.max_connections_per_peer());
    let mut accepting = Accepting::new("bolt", &shared.shutdown);
    let (full, peer_full) = (Throttle::per_second(), Throttle::per_second());
    while let Some((stream, peer)) = accepting.next(&listener).await {
        let Some(per_peer) = peers.try_acquire(Peer::of(peer)) else {
            shared.metrics.refuse("peer_limit");
            if let Some(left_out) = peer_full.ready() {
                tracing::warn!(
                    %peer, max = shared.settings.max_connections_per_peer(), left_out,
                    "connection refused: too many connections from this peer"
                );
            }
            continue;
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            shared.metrics.refuse("limit");
            if let Some(left_out) = full.ready() {
                tracing::warn!(%peer, max, left_out, "connection refused: too many connections");
            }
            continue;
        };
        shared.metrics.accepted.inc();
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            connection::serve(stream, peer, &shared).await;
            drop((permit, per_peer));
        });
    }
    drop(listener);
    tracing::info!("shutting down: no longer accepting, waiting for open connections");
    let limit = u32::try_from(max).unwrap_or(u32::MAX);
    let drained =
        tokio::time::timeout(shared.settings.drain_timeout, permits.acquire_many(limit)).await;
    match drained {
        Ok(_) => tracing::info!("every connection closed; stopped"),
        Err(_) => tracing::warn!(
            open = shared.metrics.open.get(),
            "drain timeout: stopping with connections still open"
        ),
    }
}

/// The shortest and the longest pause after a failed accept.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(1));

/// A listener's accepts until shutdown: failed accepts back off and are logged at most once a
/// second with their count. Shared by the Bolt and admin listeners.
pub(super) struct Accepting {
    name: &'static str,
    shutdown: watch::Receiver<bool>,
    pause: Duration,
    failures: Throttle,
}

impl Accepting {
    /// Accepts for the listener called `name` in logs, until `shutdown` says stop.
    pub(super) fn new(name: &'static str, shutdown: &watch::Sender<bool>) -> Accepting {
        Accepting {
            name,
            shutdown: shutdown.subscribe(),
            pause: BACKOFF.0,
            failures: Throttle::per_second(),
        }
    }

    /// The next connection, or `None` once the server is shutting down.
    pub(super) async fn next(&mut self, listener: &TcpListener) -> Option<(TcpStream, SocketAddr)> {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = self.shutdown.wait_for(|stop| *stop) => return None,
            };
            match accepted {
                Ok(accepted) => {
                    self.pause = BACKOFF.0;
                    return Some(accepted);
                }
                Err(error) => {
                    if let Some(left_out) = self.failures.ready() {
                        tracing::warn!(
                            listener = self.name, %error, failures_not_logged = left_out,
                            pause_ms = self.pause.as_millis() as u64,
                            "accept failed; backing off"
                        );
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(self.pause) => {}
                        _ = self.shutdown.wait_for(|stop| *stop) => return None,
                    }
                    self.pause = (self.pause * 2).min(BACKOFF.1);
                }
            }
        }
    }
}
