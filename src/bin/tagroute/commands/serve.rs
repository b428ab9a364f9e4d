//! `tagroute serve --config CONF (--topology T | --follow neo4j://HOST:PORT[,...]
//! [--follow-user USER --follow-password-file FILE] [--follow-interval DURATION]
//! [--follow-tls-ca PEM] [--health-interval DURATION] [--health-fails N] [--health-passes N])
//! [--state-file FILE] --listen ADDR [--advertise HOST:PORT,...] [--admin ADDR]
//! [--tls-cert PEM --tls-key PEM] [--auth-file F] [--max-connections N] ...`
//!
//! Prints one JSON line on stdout once both listeners are bound, `{"bolt": "127.0.0.1:7687",
//! "admin": "127.0.0.1:7475"}` (so `--listen 127.0.0.1:0` tells which port it got), logs on
//! stderr, reloads on SIGHUP, and on SIGTERM or SIGINT stops accepting, lets open requests
//! finish and exits 0. `--hash-password NAME` prints an auth-file line for the password on
//! stdin instead. `--check` loads every file as a start would, prints what would be served and
//! exits: 0, or 1 with the diagnostics a start would print (like `haproxy -c`).
//!
//! Every flag but those two can also come from a `TAGROUTE_<FLAG>` environment variable
//! (`TAGROUTE_LISTEN`, `TAGROUTE_AUTH_FILE`, ...); a flag on the command line wins.

use std::time::Duration;

use serde_json::json;
use tagroute::config::parse_duration;
use tagroute::serve::auth::hash_password;
use tagroute::serve::certificate::format_unix;
use tagroute::serve::health::HealthChecks;
use tagroute::serve::logging::{self, LogFormat};
use tagroute::serve::{Handle, Server, Settings, TopologySource};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::args::ServeArgs;
use crate::report::{Console, Failure};

pub fn run(args: &ServeArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    if let Some(user) = &args.hash_password {
        return print_hash(user, console);
    }
    let settings = settings(args)?;
    if args.check {
        return check(&settings, console);
    }
    let format: LogFormat = args.log_format.parse().map_err(invalid)?;
    let level: tracing::Level = args
        .log_level
        .parse()
        .map_err(|_| Failure::Invalid(format!("unknown log level `{}`", args.log_level)))?;
    logging::init(format, level);
    // A fleet's idle connections need file descriptors: take the hard limit, as Go's runtime
    // does for every server.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::bind(settings).await.map_err(invalid)?;
        // Before the addresses are printed: a SIGHUP sent as soon as they are (a reload right
        // after the start) must reload, not end the process as SIGHUP does by default.
        let signals = Signals::install()?;
        console.json(&json!({
            "bolt": server.bolt_address().to_string(),
            "admin": server.admin_address().map(|a| a.to_string()),
        }))?;
        console.out.flush()?;
        let admin = server
            .admin_address()
            .map_or("off".into(), |a| a.to_string());
        tracing::info!(bolt = %server.bolt_address(), %admin, "serving");
        tokio::spawn(signals.handle(server.handle()));
        server.run().await;
        Ok(())
    })
}

/// What `serve` would serve, a line an input, on stdout; or the errors a start would print.
fn check(settings: &Settings, console: &mut Console<'_>) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let checked = runtime
        .block_on(tagroute::serve::check(settings))
        .map_err(invalid)?;
    let out = &mut console.out;
    let config = settings.config.display();
    writeln!(
        out,
        "config    {config}: policies {}",
        checked.policies.join(", ")
    )?;
    let topology = match &settings.topology {
        TopologySource::File(path) => path.display().to_string(),
        TopologySource::Follow { .. } => "the cluster followed (one poll)".to_owned(),
    };
    writeln!(
        out,
        "topology  {topology}: {} servers, {} databases",
        checked.servers, checked.databases
    )?;
    match (&settings.auth_file, checked.users) {
        (Some(file), Some(users)) => writeln!(out, "auth      {}: {users} users", file.display())?,
        _ => writeln!(out, "auth      none: every client is let in")?,
    }
    match (&settings.tls, checked.certificate) {
        (Some((cert, key)), Some(validity)) => writeln!(
            out,
            "tls       {}, {}: valid until {}",
            cert.display(),
            key.display(),
            format_unix(validity.not_after)
        )?,
        _ => writeln!(out, "tls       off")?,
    }
    writeln!(out, "bolt      {}", settings.listen)?;
    if !settings.advertise.is_empty() {
        writeln!(out, "advertise {}", settings.advertise.join(", "))?;
    }
    let admin = settings.admin.map_or("off".into(), |a| a.to_string());
    writeln!(out, "admin     {admin}")?;
    if let Some(warning) = &checked.certificate_warning {
        writeln!(console.err, "warning: {warning}")?;
    }
    writeln!(console.out, "serve: would start")?;
    Ok(())
}

/// The signals `serve` answers: SIGHUP reloads; SIGTERM and SIGINT shut down.
struct Signals {
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    /// Registers the handlers (within the runtime).
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn handle(mut self, handle: Handle) {
        loop {
            tokio::select! {
                _ = self.hangup.recv() => {
                    let _ = handle.reload("sighup").await;
                }
                _ = self.terminate.recv() => break,
                _ = self.interrupt.recv() => break,
            }
        }
        handle.shutdown();
    }
}

/// The file the overrides are kept in when `--state-file` is not given.
const STATE_FILE: &str = "tagroute-state.json";

fn settings(args: &ServeArgs) -> Result<Settings, Failure> {
    let Some(config) = &args.config else {
        return Err(Failure::Invalid("--config is required".into()));
    };
    let mut settings = match (&args.topology, &args.follow) {
        (Some(topology), None) => {
            if let Some(flag) = follow_only(args) {
                return Err(Failure::Invalid(format!(
                    "{flag} applies to a cluster followed: give --follow in place of --topology"
                )));
            }
            Settings::new(config.clone(), topology.clone())
        }
        (None, Some(uri)) => following(config, uri, args)?,
        _ => {
            return Err(Failure::Invalid("give --topology, or --follow".into()));
        }
    };
    settings.state_file = Some(
        args.state_file
            .clone()
            .unwrap_or_else(|| config.with_file_name(STATE_FILE)),
    );
    settings.listen = args.listen;
    settings.advertise.clone_from(&args.advertise);
    settings.admin = (!args.no_admin).then_some(args.admin);
    settings.tls = args.tls_cert.clone().zip(args.tls_key.clone());
    settings.auth_file.clone_from(&args.auth_file);
    settings.max_connections = args.max_connections.max(1) as usize;
    settings.max_connections_per_peer = args.max_connections_per_peer.map(|n| n as usize);
    settings.idle_timeout = timeout("--idle-timeout", &args.idle_timeout)?;
    settings.handshake_timeout = timeout("--handshake-timeout", &args.handshake_timeout)?;
    settings.message_timeout = timeout("--message-timeout", &args.message_timeout)?;
    settings.max_message_size = args.max_message_size;
    settings.max_bolt_version = args.max_bolt_version;
    settings.admin_max_connections = args.admin_max_connections.max(1) as usize;
    settings.admin_header_timeout = timeout("--admin-header-timeout", &args.admin_header_timeout)?;
    settings.admin_body_timeout = timeout("--admin-body-timeout", &args.admin_body_timeout)?;
    let watch = duration("--watch-interval", &args.watch_interval)?;
    settings.watch_interval = (!watch.is_zero()).then_some(watch);
    Ok(settings)
}

/// The first flag given that only `--follow` takes (clap's `requires` leaves them unchecked
/// beside `--topology`).
fn follow_only(args: &ServeArgs) -> Option<&'static str> {
    [
        ("--follow-user", args.follow_user.is_some()),
        (
            "--follow-password-file",
            args.follow_password_file.is_some(),
        ),
        ("--follow-interval", args.follow_interval.is_some()),
        ("--follow-tls-ca", args.follow_tls_ca.is_some()),
        ("--health-interval", args.health_interval.is_some()),
        ("--health-fails", args.health_fails.is_some()),
        ("--health-passes", args.health_passes.is_some()),
    ]
    .into_iter()
    .find_map(|(flag, given)| given.then_some(flag))
}

/// Settings following the cluster at `uri`, with its credentials, TLS and health checks.
fn following(config: &std::path::Path, uri: &str, args: &ServeArgs) -> Result<Settings, Failure> {
    let cluster = super::cluster(
        "--follow",
        uri,
        args.follow_tls_ca.as_deref(),
        args.follow_user.as_deref(),
        args.follow_password_file.as_deref(),
    )?;
    let interval = match &args.follow_interval {
        Some(text) => timeout("--follow-interval", text)?,
        None => Duration::from_secs(1),
    };
    let mut settings = Settings::following(config.to_owned(), cluster.clone());
    settings.topology = tagroute::serve::TopologySource::Follow { cluster, interval };
    let health = match &args.health_interval {
        Some(text) => duration("--health-interval", text)?,
        None => Duration::from_secs(1),
    };
    settings.health = (!health.is_zero()).then(|| {
        HealthChecks::every(health).with_counts(
            args.health_fails.unwrap_or(2),
            args.health_passes.unwrap_or(2),
        )
    });
    Ok(settings)
}

fn duration(flag: &str, text: &str) -> Result<Duration, Failure> {
    parse_duration(text).map_err(|error| {
        Failure::Invalid(format!(
            "{flag}: `{text}` is not a duration (`90s`, `30m`, `1500ms`): {error}"
        ))
    })
}

/// A timeout: a duration above zero (zero would close every connection at once).
fn timeout(flag: &str, text: &str) -> Result<Duration, Failure> {
    let limit = duration(flag, text)?;
    if limit.is_zero() {
        return Err(Failure::Invalid(format!(
            "{flag}: a timeout must be longer than zero"
        )));
    }
    Ok(limit)
}

fn print_hash(user: &str, console: &mut Console<'_>) -> Result<(), Failure> {
    if user.is_empty() || user.contains(':') {
        return Err(Failure::Invalid(
            "--hash-password: the user name must be non-empty and without `:`".into(),
        ));
    }
    let mut password = String::new();
    console.input.read_line(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']);
    let hash = hash_password(password).map_err(Failure::Invalid)?;
    writeln!(console.out, "{user}:{}", hash.as_str())?;
    Ok(())
}

fn invalid(e: impl std::fmt::Display) -> Failure {
    Failure::Invalid(e.to_string())
}
