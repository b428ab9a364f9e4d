//! Basic authentication from `--auth-file`: one user a line, `name:<argon2 PHC hash>`, then
//! optionally `:<home database>` (the database a ROUTE of this user naming none gets, as a
//! Neo4j user's home database); the pool that checks passwords ([`Verifier`]) and the per-peer
//! pause after failures ([`Backoff`]).
//!
//! The file never holds a password, only salted argon2 hashes in the PHC string format
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), which [`hash_password`] makes (and
//! `tagroute serve --hash-password NAME` prints). A line that is not such a hash is an error
//! naming its line and column, so a plain password is refused rather than compared. Checking a
//! password runs argon2's own verification, whose final comparison is constant time; an unknown
//! user is checked against a hash of a random password, so that the answer takes as long as for
//! a known one and does not tell which users exist.
//!
//! ```text
//! # users of tagroute serve
//! app:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$...
//! reports:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx1$...:sales
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHashString, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};

use tokio::sync::oneshot;

use super::peer::Peer;
use crate::rng::Rng;

/// The users of an auth file, with their password hashes and home databases.
pub struct Credentials {
    users: Vec<User>,
    /// A hash of a random password, checked for unknown users.
    decoy: PasswordHashString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.users.iter().map(|u| u.name.as_str()).collect();
        f.debug_struct("Credentials")
            .field("users", &names)
            .finish_non_exhaustive()
    }
}

/// A line of an auth file that is not `name:hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFileError {
    file: String,
    line: usize,
    column: usize,
    message: String,
}

impl fmt::Display for AuthFileError {
    /// `users:3:7: ...`, or `users: ...` for the file as a whole (it cannot be read).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}:{}: {}", self.file, self.column, self.message),
        }
    }
}

impl std::error::Error for AuthFileError {}

impl Credentials {
    /// Reads the auth file at `path`.
    pub fn load(path: &Path) -> Result<Credentials, AuthFileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| AuthFileError {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the auth file: {e}"),
        })?;
        Credentials::parse(&text, &file)
    }

    /// Reads an auth file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Credentials, AuthFileError> {
        let mut users: Vec<User> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let error = |column: usize, message: String| AuthFileError {
                file: file.to_owned(),
                line: i + 1,
                column,
                message,
            };
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let Some((name, hash)) = trimmed.split_once(':') else {
                return Err(error(indent + 1, "expected `name:hash`".into()));
            };
            if name.is_empty() {
                return Err(error(indent + 1, "the user name is empty".into()));
            }
            if users.iter().any(|u| u.name == name) {
                return Err(error(indent + 1, format!("user `{name}` is listed twice")));
            }
            let hash_column = indent + name.len() + 2;
            // A PHC string holds no `:`, so what follows one is the home database.
            let (hash_text, home) = match hash.split_once(':') {
                Some((hash, home)) => (hash, Some(home)),
                None => (hash, None),
            };
            let hash = parse_hash(hash_text).map_err(|m| error(hash_column, m))?;
            let home = match home {
                Some("") => {
                    let column = hash_column + hash_text.len() + 1;
                    return Err(error(column, "the home database after `:` is empty".into()));
                }
                home => home.map(str::to_owned),
            };
            users.push(User {
                name: name.to_owned(),
                hash,
                home,
            });
        }
        let decoy = hash_password(&format!("{:x}", Rng::from_os().next_u64())).map_err(|e| {
            AuthFileError {
                file: file.to_owned(),
                line: 0,
                column: 0,
                message: e,
            }
        })?;
        Ok(Credentials { users, decoy })
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file lists no user (then nobody can log in).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `password` is `user`'s. Slow on purpose (argon2): call it off the I/O threads.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let known = self.users.iter().find(|u| u.name == user);
        let hash = known.map_or(&self.decoy, |u| &u.hash);
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &hash.password_hash())
            .is_ok();
        matches && known.is_some()
    }

    /// The home database of `user`, if the file gives one.
    pub fn home_database(&self, user: &str) -> Option<&str> {
        let user = self.users.iter().find(|u| u.name == user)?;
        user.home.as_deref()
    }
}

/// A user of an auth file.
struct User {
    name: String,
    hash: PasswordHashString,
    /// The database a ROUTE naming none gets.
    home: Option<String>,
}

/// Password checks on a few threads of their own, behind a bounded queue.
///
/// Argon2 is slow on purpose, so a check never runs on a thread that serves connections: a
/// connection hands its check to [`Verifier::submit`] and awaits the verdict. With the queue
/// full the check is refused at once ([`Busy`]), so a flood of logins costs the server the
/// pool's threads and the queue's memory, never more, and connections that are already
/// authenticated are served by threads the checks never touch.
#[derive(Debug)]
pub struct Verifier {
    jobs: SyncSender<Job>,
}

/// The check queue is full; refuse the login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

struct Job {
    credentials: Arc<Credentials>,
    user: String,
    password: String,
    verdict: oneshot::Sender<bool>,
}

impl Verifier {
    /// Starts `threads` checking threads (at least one) behind a queue of `queue` checks.
    pub fn start(threads: usize, queue: usize) -> std::io::Result<Verifier> {
        let (jobs, waiting) = sync_channel::<Job>(queue.max(1));
        let waiting = Arc::new(Mutex::new(waiting));
        for i in 0..threads.max(1) {
            let waiting = Arc::clone(&waiting);
            std::thread::Builder::new()
                .name(format!("tagroute-auth-{i}"))
                .spawn(move || check_until_closed(&waiting))?;
        }
        Ok(Verifier { jobs })
    }

    /// Queues a check of `password` for `user`; the receiver gets whether it matches. The
    /// threads end when the verifier is dropped and the queue is empty.
    pub fn submit(
        &self,
        credentials: Arc<Credentials>,
        user: &str,
        password: &str,
    ) -> Result<oneshot::Receiver<bool>, Busy> {
        let (verdict, receiver) = oneshot::channel();
        let job = Job {
            credentials,
            user: user.to_owned(),
            password: password.to_owned(),
            verdict,
        };
        match self.jobs.try_send(job) {
            Ok(()) => Ok(receiver),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

fn check_until_closed(waiting: &Mutex<Receiver<Job>>) {
    loop {
        let job = waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = job else {
            return;
        };
        // A client gone meanwhile needs no answer, and no check.
        if job.verdict.is_closed() {
            continue;
        }
        let matches = job.credentials.verify(&job.user, &job.password);
        let _ = job.verdict.send(matches);
    }
}

/// Failed logins per peer: a peer's first [`FREE_FAILURES`] failures in a row cost it nothing
/// (a mistyped password retried at once is checked), each later one pauses it, its next login
/// within the pause refused unchecked, the pause doubling with each failure up to a cap; and
/// from its first failure until it logs in the peer has at most one check at a time (so it
/// cannot fill the check queue). A success forgets the peer. It also summarises the failures for the log: at most one line a second
/// per peer.
#[derive(Debug)]
pub struct Backoff {
    free: u32,
    first: Duration,
    max: Duration,
    peers: Mutex<HashMap<Peer, Failures>>,
}

#[derive(Debug)]
struct Failures {
    in_a_row: u32,
    until: Instant,
    /// Its checks under way that began after its first failure: at most one.
    checking: u32,
    logged: Option<Instant>,
    not_logged: u64,
}

/// Why a peer's login is refused unchecked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Its last login failed less than this long ago.
    Paused(Duration),
    /// It failed before, and another of its logins is being checked.
    Checking,
}

/// A login being checked; tell the [`Backoff`] how it went ([`Attempt::failed`],
/// [`Attempt::succeeded`]). Dropped without either (the client went away), it lets the peer's
/// next login be checked.
#[derive(Debug)]
pub struct Attempt<'a> {
    backoff: &'a Backoff,
    peer: Peer,
    /// Whether the peer's `checking` counts it: begun after the peer's first failure.
    counted: bool,
}

/// Failures in a row a peer may have before it is paused: Neo4j's own default for
/// `dbms.security.auth_max_failed_attempts`.
pub const FREE_FAILURES: u32 = 3;

/// The most peers remembered; past it, peers whose pause is over are forgotten first.
const MAX_PEERS: usize = 65_536;

impl Backoff {
    /// A pause of `first` after `free + 1` failures in a row, doubling with each further one
    /// up to `max`.
    pub fn new(free: u32, first: Duration, max: Duration) -> Backoff {
        Backoff {
            free,
            first,
            max: max.max(first),
            peers: Mutex::new(HashMap::new()),
        }
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<Peer, Failures>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A login of `peer` to check, or why it is refused unchecked; a refusal counts toward the
    /// peer's log summary.
    pub fn attempt(&self, peer: Peer) -> Result<Attempt<'_>, Refused> {
        let now = Instant::now();
        if let Some(failures) = self.peers().get_mut(&peer) {
            let refused = if failures.until > now {
                Refused::Paused(failures.until - now)
            } else if failures.checking > 0 {
                Refused::Checking
            } else {
                failures.checking += 1;
                return Ok(Attempt {
                    backoff: self,
                    peer,
                    counted: true,
                });
            };
            failures.not_logged += 1;
            return Err(refused);
        }
        Ok(Attempt {
            backoff: self,
            peer,
            counted: false,
        })
    }
}

impl Attempt<'_> {
    /// The login failed: the peer is paused. `Some(n)` when it is to be logged (at most once
    /// a second per peer), `n` being the failures and refusals left out since its last line.
    pub fn failed(self) -> Option<u64> {
        let now = Instant::now();
        let backoff = self.backoff;
        let mut peers = backoff.peers();
        if peers.len() >= MAX_PEERS && !peers.contains_key(&self.peer) {
            peers.retain(|_, f| f.until > now);
        }
        if peers.len() >= MAX_PEERS && !peers.contains_key(&self.peer) {
            return Some(0);
        }
        let failures = peers.entry(self.peer).or_insert(Failures {
            in_a_row: 0,
            until: now,
            checking: 0,
            logged: None,
            not_logged: 0,
        });
        failures.in_a_row = failures.in_a_row.saturating_add(1);
        if let Some(doublings) = failures.in_a_row.checked_sub(backoff.free + 1) {
            failures.until = now
                + backoff
                    .first
                    .saturating_mul(1 << doublings.min(30))
                    .min(backoff.max);
        }
        match failures.logged {
            Some(at) if now.duration_since(at) < Duration::from_secs(1) => {
                failures.not_logged += 1;
                None
            }
            _ => {
                failures.logged = Some(now);
                Some(std::mem::take(&mut failures.not_logged))
            }
        }
    }

    /// The login succeeded: the peer's failures are forgotten.
    pub fn succeeded(self) {
        self.backoff.peers().remove(&self.peer);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        if let Some(failures) = self.backoff.peers().get_mut(&self.peer) {
            failures.checking = failures.checking.saturating_sub(1);
        }
    }
}

fn parse_hash(text: &str) -> Result<PasswordHashString, String> {
    if !text.starts_with('$') {
        return Err(
            "expected an argon2 hash (`$argon2id$...`, as `tagroute serve --hash-password` prints), \
             never a plain password"
                .into(),
        );
    }
    let hash = PasswordHash::new(text).map_err(|e| format!("not a PHC hash string: {e}"))?;
    if !hash.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "unsupported hash algorithm `{}`; expected argon2id",
            hash.algorithm
        ));
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err("the hash has no salt or no output".into());
    }
    Ok(hash.serialize())
}

/// A salted argon2id hash of `password` with the default parameters (19 MiB, 2 passes), as an
/// auth file line holds it after `name:`.
pub fn hash_password(password: &str) -> Result<PasswordHashString, String> {
    // A salt must be unique, not secret: two independently keyed draws from the OS-seeded
    // generator give 128 bits.
    let mut salt = [0u8; 16];
    let (a, b) = (Rng::from_os().next_u64(), Rng::from_os().next_u64());
    salt[..8].copy_from_slice(&a.to_le_bytes());
    salt[8..].copy_from_slice(&b.to_le_bytes());
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.serialize())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_nothing_else_does() {
        let hash = hash_password("s3cret").expect("hashes");
        let credentials =
            Credentials::parse(&format!("# users\n\napp:{}\n", hash.as_str()), "auth").expect("ok");
        assert_eq!(credentials.len(), 1);
        assert!(credentials.verify("app", "s3cret"));
        assert!(!credentials.verify("app", "s3cret "));
        assert!(!credentials.verify("other", "s3cret"));
        assert_eq!(credentials.home_database("app"), None);
        assert_ne!(
            hash.as_str(),
            hash_password("s3cret").expect("hashes").as_str(),
            "salted"
        );
    }

    #[test]
    fn plain_passwords_and_malformed_lines_are_refused_with_their_position() {
        let error = |text: &str| Credentials::parse(text, "users.auth").map(|c| c.len());
        assert_eq!(
            error("app:hunter2\n").map_err(|e| e.to_string()),
            Err(
                "users.auth:1:5: expected an argon2 hash (`$argon2id$...`, as `tagroute serve \
                 --hash-password` prints), never a plain password"
                    .into()
            )
        );
        assert_eq!(
            error("# c\n  nocolon\n").map_err(|e| e.to_string()),
            Err("users.auth:2:3: expected `name:hash`".into())
        );
        let pbkdf2 = "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
        assert_eq!(
            error(&format!("a:{pbkdf2}")).map_err(|e| e.to_string()),
            Err(
                "users.auth:1:3: unsupported hash algorithm `pbkdf2-sha256`; expected argon2id"
                    .into()
            )
        );
        let hash = hash_password("x").expect("hashes");
        let homeless = format!("a:{}:\n", hash.as_str());
        assert_eq!(
            error(&homeless).map_err(|e| e.to_string()),
            Err(format!(
                "users.auth:1:{}: the home database after `:` is empty",
                hash.as_str().len() + 4
            ))
        );
        let twice = format!("a:{0}\na:{0}\n", hash.as_str());
        assert_eq!(
            error(&twice).map_err(|e| e.to_string()),
            Err("users.auth:2:1: user `a` is listed twice".into())
        );
    }

    #[test]
    fn a_user_may_name_a_home_database_after_the_hash() {
        let hash = hash_password("pw").expect("hashes");
        let text = format!("app:{0}:Sales\nops:{0}\n", hash.as_str());
        let credentials = Credentials::parse(&text, "auth").expect("ok");
        assert_eq!(credentials.home_database("app"), Some("Sales"));
        assert_eq!(credentials.home_database("ops"), None);
        assert_eq!(credentials.home_database("nobody"), None);
        assert!(credentials.verify("app", "pw"));
    }

    fn peer(n: u8) -> Peer {
        Peer::of(std::net::SocketAddr::from(([127, 0, 0, n], 1)))
    }

    #[test]
    fn failures_pause_their_peer_doubling_up_to_the_cap_and_a_success_forgets_them() {
        let backoff = Backoff::new(2, Duration::from_secs(10), Duration::from_secs(25));
        let paused = |p| match backoff.attempt(p) {
            Err(Refused::Paused(left)) => left,
            other => panic!("{other:?}"),
        };
        let fail = |p| backoff.attempt(p).expect("checked").failed();
        assert_eq!(fail(peer(1)), Some(0), "the first failure is logged");
        fail(peer(1));
        assert!(
            backoff.attempt(peer(1)).is_ok(),
            "the free failures do not pause"
        );
        fail(peer(1));
        assert!(paused(peer(1)) > Duration::from_secs(9));
        assert!(
            backoff.attempt(peer(2)).is_ok(),
            "other peers are not paused"
        );
        let pause_over = |p| {
            if let Some(f) = backoff.peers().get_mut(&p) {
                f.until = Instant::now();
            }
        };
        pause_over(peer(1));
        assert_eq!(fail(peer(1)), None, "within a second: summarised");
        assert!(paused(peer(1)) > Duration::from_secs(19));
        pause_over(peer(1));
        fail(peer(1));
        assert!(paused(peer(1)) <= Duration::from_secs(25), "capped");
        pause_over(peer(1));
        backoff.attempt(peer(1)).expect("checked").succeeded();
        assert!(backoff.peers().is_empty(), "forgotten");
    }

    #[test]
    fn a_peer_that_failed_has_one_check_at_a_time_until_it_logs_in() {
        let backoff = Backoff::new(0, Duration::ZERO, Duration::ZERO);
        let fresh = (backoff.attempt(peer(1)), backoff.attempt(peer(1)));
        assert!(
            fresh.0.is_ok() && fresh.1.is_ok(),
            "a peer that never failed: no limit"
        );
        drop(fresh);
        backoff.attempt(peer(1)).expect("checked").failed();
        let first = backoff.attempt(peer(1)).expect("checked");
        assert_eq!(backoff.attempt(peer(1)).map(|_| ()), Err(Refused::Checking));
        drop(first);
        assert!(
            backoff.attempt(peer(1)).is_ok(),
            "a dropped attempt frees its turn"
        );
    }

    #[test]
    fn checks_begun_before_the_first_failure_do_not_free_the_turn() {
        let backoff = Backoff::new(3, Duration::ZERO, Duration::ZERO);
        let early: Vec<_> = (0..4)
            .map(|_| backoff.attempt(peer(1)).expect("never failed"))
            .collect();
        let mut early = early.into_iter();
        early.next().expect("one").failed();
        let turn = backoff.attempt(peer(1)).expect("its one check");
        for attempt in early {
            attempt.failed();
            assert_eq!(
                backoff.attempt(peer(1)).map(|_| ()),
                Err(Refused::Checking),
                "an early check's end leaves the turn taken"
            );
        }
        drop(turn);
        assert!(backoff.attempt(peer(1)).is_ok());
    }

    #[test]
    fn the_log_summary_counts_what_it_left_out() {
        let backoff = Backoff::new(0, Duration::from_secs(60), Duration::from_secs(60));
        assert_eq!(backoff.attempt(peer(1)).expect("checked").failed(), Some(0));
        for _ in 0..5 {
            assert!(backoff.attempt(peer(1)).is_err());
        }
        if let Some(f) = backoff.peers().get_mut(&peer(1)) {
            f.logged = Some(Instant::now() - Duration::from_secs(2));
            f.until = Instant::now();
        }
        assert_eq!(backoff.attempt(peer(1)).expect("checked").failed(), Some(5));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_the_pool_answers_the_rest() {
        let hash = hash_password("pw").expect("hashes");
        let credentials =
            Arc::new(Credentials::parse(&format!("u:{}", hash.as_str()), "auth").expect("ok"));
        let verifier = Verifier::start(1, 2).expect("threads");
        let mut queued = Vec::new();
        let mut busy = 0;
        for i in 0..20 {
            let password = if i % 2 == 0 { "pw" } else { "no" };
            match verifier.submit(Arc::clone(&credentials), "u", password) {
                Ok(verdict) => queued.push((i, verdict)),
                Err(Busy) => busy += 1,
            }
        }
        assert!(
            busy >= 20 - 3,
            "one running and two queued at most: {busy} refused"
        );
        for (i, verdict) in queued {
            assert_eq!(verdict.await, Ok(i % 2 == 0));
        }
    }
}
