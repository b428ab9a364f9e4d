//! The accept loop: a permit per connection, refusals counted, and a graceful end.
//!
//! Each accepted connection takes one permit of a semaphore sized `--max-connections`; with
//! none left the socket is closed at once and counted as refused (`limit`), so a flood costs
//! an accept and a close, never a task. On shutdown the loop stops accepting, each connection
//! finishes the request it is answering and closes, and the loop waits for every permit to come
//! back (at most the drain timeout): a permit back means a connection gone.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::Shared;
use super::connection;

/// Accepts on `listener` until shutdown, then drains.
pub(super) async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let max = shared.settings.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, mostly: wait a little rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            shared.metrics.refuse("limit");
            tracing::warn!(%peer, max, "connection refused: too many connections");
            drop(stream);
            continue;
        };
        shared.metrics.accepted.inc();
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            connection::serve(stream, peer, &shared).await;
            drop(permit);
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
