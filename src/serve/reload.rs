//! Reloading: on SIGHUP, on `POST /reload`, and when a served file changes.
//!
//! A reload reads only the files whose contents changed since they were last loaded: the
//! configuration, the topology file (without `--follow`) and the auth file. Each changed file is
//! loaded and checked before anything is swapped in, and the changes are swapped in only if all
//! of them load: an invalid file is rejected, logged with every error and its position, and the
//! previous ones keep serving. A new topology file is a new *base*: the operator's overrides and
//! the health verdicts stay on top of it ([`sources`](super::sources)), and only the difference
//! is published. Reloads run one at a time. A ROUTE reads one snapshot and one generation of
//! policies and settings, each published whole, so no answer is ever computed from a
//! half-loaded configuration.
//!
//! File changes are found by polling each file's modification time and length (`--watch`):
//! a `stat` of three files a second costs nothing, and polling also sees the files an editor or
//! a Kubernetes config map replaces by renaming, which inotify watches lose track of. A change
//! that fails to load is not retried until the file changes again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::auth::Credentials;
use super::routes::{self, LoadError};
use super::{Shared, TopologySource};
use crate::topology::{Snapshot, TagInterner};

/// The contents of the files as they were last loaded, to tell which changed.
#[derive(Debug, Default)]
pub(super) struct Loaded {
    config: Vec<u8>,
    topology: Vec<u8>,
    auth: Vec<u8>,
}

impl Loaded {
    /// The files of `shared`'s settings as they are now (read at start, beside loading them).
    pub(super) fn now(settings: &super::Settings) -> Loaded {
        let read =
            |path: Option<&PathBuf>| path.and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
        let topology = match &settings.topology {
            TopologySource::File(path) => Some(path),
            TopologySource::Follow { .. } => None,
        };
        Loaded {
            config: read(Some(&settings.config)),
            topology: read(topology),
            auth: read(settings.auth_file.as_ref()),
        }
    }
}

/// Reloads what changed; `source` labels the metric and the log line. Returns the epoch served.
pub(super) async fn reload(shared: &Arc<Shared>, source: &'static str) -> Result<u64, String> {
    let mut loaded = shared.reloading.lock().await;
    let swapping = Arc::clone(shared);
    let seen = std::mem::take(&mut *loaded);
    let (seen, result) = tokio::task::spawn_blocking(move || {
        let mut seen = seen;
        let result = load_and_swap(&swapping, &mut seen);
        (seen, result)
    })
    .await
    .map_err(|e| e.to_string())?;
    *loaded = seen;
    shared.metrics.reload(source, result.is_ok());
    match &result {
        Ok(changed) => {
            let epoch = shared.routes.snapshot().epoch();
            shared.metrics.set_epoch(epoch);
            tracing::info!(source, epoch, changed = %changed.join(", "), "reloaded");
        }
        Err(errors) => tracing::error!(
            source,
            errors = %errors,
            "reload rejected; the previous configuration and topology keep serving"
        ),
    }
    result.map(|_| shared.routes.snapshot().epoch())
}

/// Loads every file whose contents changed, checks them all, then swaps them in; returns the
/// names of what changed (`config`, `topology`, `auth`).
fn load_and_swap(shared: &Shared, seen: &mut Loaded) -> Result<Vec<&'static str>, String> {
    let settings = &shared.settings;
    let error = |e: LoadError| e.to_string();
    let config_bytes = read(&settings.config)?;
    let config = match config_bytes != seen.config {
        true => Some(routes::load_config(&settings.config).map_err(error)?),
        false => None,
    };
    let topology_file = match &settings.topology {
        TopologySource::File(path) => Some(path),
        TopologySource::Follow { .. } => None,
    };
    let (topology_bytes, base) = match topology_file {
        Some(path) => {
            let bytes = read(path)?;
            let base = match bytes != seen.topology {
                true => {
                    let spec = routes::read_topology(path).map_err(error)?;
                    // Checked apart, so that a bad file changes nothing, the configuration
                    // included (the interner is a new one: a rejected file interns nothing).
                    Snapshot::build(&spec, &TagInterner::new())
                        .map_err(|e| error(routes::topology_error(path, &e)))?;
                    Some(spec)
                }
                false => None,
            };
            (bytes, base)
        }
        None => (Vec::new(), None),
    };
    let (auth_bytes, credentials) = match &settings.auth_file {
        Some(path) => {
            let bytes = read(path)?;
            let credentials = match bytes != seen.auth {
                true => Some(Credentials::load(path).map_err(|e| e.to_string())?),
                false => None,
            };
            (bytes, credentials)
        }
        None => (Vec::new(), None),
    };
    let mut changed = Vec::new();
    if let Some(config) = config {
        shared
            .routes
            .reload(&settings.config, &config)
            .map_err(error)?;
        seen.config = config_bytes;
        changed.push("config");
    }
    if let (Some(base), Some(path)) = (base, topology_file) {
        let topology = shared.routes.topology();
        shared
            .sources()
            .set_base(base, topology)
            .map_err(|e| error(routes::topology_error(path, &e)))?;
        seen.topology = topology_bytes;
        changed.push("topology");
    }
    if let Some(credentials) = credentials {
        shared.credentials.store(Some(Arc::new(credentials)));
        seen.auth = auth_bytes;
        changed.push("auth");
    }
    Ok(changed)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// What a file looked like when last seen: modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Polls the served files every `interval` and reloads when one of them changed.
pub(super) async fn watch(shared: Arc<Shared>, interval: Duration) {
    let settings = &shared.settings;
    let mut files: Vec<PathBuf> = vec![settings.config.clone()];
    if let TopologySource::File(path) = &settings.topology {
        files.push(path.clone());
    }
    files.extend(settings.auth_file.clone());
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
