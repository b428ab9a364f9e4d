//! Reloading: on SIGHUP, on `POST /reload`, and when a served file changes.
//!
//! Every reload reads the configuration, the topology and the auth file, and swaps them in only
//! if all of them load: an invalid file is rejected, logged with every error and its position,
//! and the previous ones keep serving. Reloads run one at a time. A ROUTE reads one snapshot and
//! one generation of policies and settings, each published whole, so no answer is ever computed
//! from a half-loaded configuration.
//!
//! File changes are found by polling each file's modification time and length (`--watch`):
//! a `stat` of three files a second costs nothing, and polling also sees the files an editor or
//! a Kubernetes config map replaces by renaming, which inotify watches lose track of. A change
//! that fails to load is not retried until the file changes again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Shared;
use super::auth::Credentials;

/// Reloads everything; `source` labels the metric and the log line. Returns the epoch served.
pub(super) async fn reload(shared: &Arc<Shared>, source: &'static str) -> Result<u64, String> {
    let _one_at_a_time = shared.reloading.lock().await;
    let result = load_and_swap(shared);
    shared.metrics.reload(source, result.is_ok());
    match &result {
        Ok(epoch) => {
            shared.metrics.set_epoch(*epoch);
            tracing::info!(source, epoch, "configuration and topology reloaded");
        }
        Err(errors) => tracing::error!(
            source,
            errors = %errors,
            "reload rejected; the previous configuration and topology keep serving"
        ),
    }
    result
}

fn load_and_swap(shared: &Shared) -> Result<u64, String> {
    let credentials = match &shared.settings.auth_file {
        Some(path) => Some(Credentials::load(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let epoch = shared.routes.reload().map_err(|e| e.to_string())?;
    if let Some(credentials) = credentials {
        shared.credentials.store(Some(Arc::new(credentials)));
    }
    Ok(epoch)
}

/// What a file looked like when last seen: modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Polls the served files every `interval` and reloads when one of them changed.
pub(super) async fn watch(shared: Arc<Shared>, interval: Duration) {
    let mut files: Vec<PathBuf> = shared.routes.files().map(Path::to_owned).to_vec();
    files.extend(shared.settings.auth_file.clone());
    let mut seen: Vec<Stamp> = files.iter().map(|f| stamp(f)).collect();
    let mut shutdown = shared.shutdown.subscribe();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let now: Vec<Stamp> = files.iter().map(|f| stamp(f)).collect();
        if now != seen {
            seen = now;
            let _ = reload(&shared, "file").await;
        }
    }
}
