//! `tagroute serve --config CONF --topology T --listen ADDR [--advertise HOST:PORT,...]
//! [--admin ADDR] [--tls-cert PEM --tls-key PEM] [--auth-file F] [--max-connections N]
//! [--max-connections-per-peer N] [--idle-timeout DURATION] [--message-timeout DURATION]
//! [--max-bolt-version X.Y] [--admin-max-connections N] ...`
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
use tagroute::serve::logging::{self, LogFormat};
use tagroute::serve::{Handle, Server, Settings};
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
    let checked = tagroute::serve::check(settings).map_err(invalid)?;
    let out = &mut console.out;
    let config = settings.config.display();
    writeln!(
        out,
        "config    {config}: policies {}",
        checked.policies.join(", ")
    )?;
    writeln!(
        out,
        "topology  {}: {} servers, {} databases",
        settings.topology.display(),
        checked.servers,
        checked.databases
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

fn settings(args: &ServeArgs) -> Result<Settings, Failure> {
    let (Some(config), Some(topology)) = (&args.config, &args.topology) else {
        return Err(Failure::Invalid(
            "--config and --topology are required".into(),
        ));
    };
    let mut settings = Settings::new(config.clone(), topology.clone());
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
