//! Basic authentication from `--auth-file`: one user a line, `name:<argon2 PHC hash>`.
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
//! ```

use std::fmt;
use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};

use argon2::password_hash::{PasswordHash, PasswordHashString, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};

use crate::rng::Rng;

/// The users of an auth file, with their password hashes.
pub struct Credentials {
    users: Vec<(String, PasswordHashString)>,
    /// A hash of a random password, checked for unknown users.
    decoy: PasswordHashString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.users.iter().map(|(n, _)| n.as_str()).collect();
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
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
        let mut users: Vec<(String, PasswordHashString)> = Vec::new();
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
            if users.iter().any(|(n, _)| n == name) {
                return Err(error(indent + 1, format!("user `{name}` is listed twice")));
            }
            let hash_column = indent + name.len() + 2;
            let hash = parse_hash(hash).map_err(|m| error(hash_column, m))?;
            users.push((name.to_owned(), hash));
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
        let known = self.users.iter().find(|(name, _)| name == user);
        let hash = known.map_or(&self.decoy, |(_, hash)| hash);
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &hash.password_hash())
            .is_ok();
        matches && known.is_some()
    }
}

/// At most `max` callers inside [`Gate::run`] at once; the others block until one leaves. It
/// bounds the memory and CPU that argon2 checks take (19 MiB and tens of milliseconds each).
#[derive(Debug)]
pub struct Gate {
    inside: Mutex<usize>,
    left: Condvar,
    max: usize,
}

impl Gate {
    /// A gate for `max` callers at once (at least one).
    pub fn new(max: usize) -> Gate {
        Gate {
            inside: Mutex::new(0),
            left: Condvar::new(),
            max: max.max(1),
        }
    }

    /// Runs `f` once fewer than `max` callers are inside.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let inside = self.inside.lock().unwrap_or_else(PoisonError::into_inner);
            let mut inside = self
                .left
                .wait_while(inside, |n| *n >= self.max)
                .unwrap_or_else(PoisonError::into_inner);
            *inside += 1;
        }
        let result = f();
        *self.inside.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        self.left.notify_one();
        result
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
        let twice = format!("a:{0}\na:{0}\n", hash.as_str());
        assert_eq!(
            error(&twice).map_err(|e| e.to_string()),
            Err("users.auth:2:1: user `a` is listed twice".into())
        );
    }
}
