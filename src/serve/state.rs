//! The state file (`--state-file`): the operator overrides, kept across restarts.
//!
//! It holds the overrides as the updates `POST /topology/updates` takes, in the order they
//! apply:
//!
//! ```json
//! {"tagroute_state": 1,
//!  "overrides": [{"op": "set_available", "server": "r1", "available": false}]}
//! ```
//!
//! It is written whole on every change, atomically: to a temporary file beside it, flushed to
//! the disk (`fsync`), renamed over the old one, and the directory flushed, so after a crash
//! the file is the old state or the new one, never half of either. An override is in force
//! only once it is on the disk: when the file cannot be written, the change is refused and
//! nothing changes. A file that does not read (not JSON, an unknown update, a wrong version)
//! stops the server at start with the file, the position and what is wrong: overrides are
//! never dropped silently. A file that does not exist holds no override.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::overrides::Overrides;
use super::updates::{parse_updates, update_json};

/// The version of the file's format.
const VERSION: u64 = 1;

/// Where the overrides are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateFile {
    path: PathBuf,
}

/// A state file that cannot be read, or written.
#[derive(Debug)]
pub struct StateError {
    path: PathBuf,
    message: String,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for StateError {}

impl StateFile {
    /// The state file at `path`.
    pub fn new(path: PathBuf) -> StateFile {
        StateFile { path }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, message: impl Into<String>) -> StateError {
        StateError {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// The overrides the file holds; none when it does not exist.
    ///
    /// # Errors
    /// The file exists but cannot be read, or does not hold overrides (the position, and what
    /// is wrong).
    pub fn read(&self) -> Result<Overrides, StateError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Overrides::new()),
            Err(e) => return Err(self.error(format!("cannot read the state file: {e}"))),
        };
        self.parse(&text)
    }

    fn parse(&self, text: &str) -> Result<Overrides, StateError> {
        let fix = "fix it or move it away; tagroute never drops overrides silently";
        let value: Value = serde_json::from_str(text)
            .map_err(|e| self.error(format!("not a state file ({e}); {fix}")))?;
        let version = value.get("tagroute_state").and_then(Value::as_u64);
        if version != Some(VERSION) {
            return Err(self.error(format!(
                "not a state file of this version (`tagroute_state` must be {VERSION}); {fix}"
            )));
        }
        if let Some(key) = value.as_object().and_then(|map| {
            map.keys()
                .find(|k| *k != "tagroute_state" && *k != "overrides")
        }) {
            return Err(self.error(format!("unknown key `{key}`; {fix}")));
        }
        let overrides = value.get("overrides").cloned().unwrap_or(json!([]));
        let updates = parse_updates(&overrides.to_string()).map_err(|e| {
            let what = match e.field().strip_prefix("updates") {
                Some(_) => e.to_string().replacen("updates", "overrides", 1),
                None => format!("overrides: {e}"),
            };
            self.error(format!("{what}; {fix}"))
        })?;
        Ok(Overrides::from_updates(&updates))
    }

    /// Writes `overrides` whole, atomically (temporary file, `fsync`, rename, directory
    /// `fsync`).
    ///
    /// # Errors
    /// The file or its directory cannot be written; the old file is then left as it was.
    pub fn write(&self, overrides: &Overrides) -> Result<(), StateError> {
        let updates: Vec<Value> = overrides.updates().iter().map(update_json).collect();
        let text = format!(
            "{}\n",
            json!({ "tagroute_state": VERSION, "overrides": updates })
        );
        self.replace_with(text.as_bytes())
            .map_err(|e| self.error(format!("cannot write the state file: {e}")))
    }

    fn replace_with(&self, bytes: &[u8]) -> io::Result<()> {
        let name = self
            .path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let mut temporary = name.to_owned();
        temporary.push(format!(".tmp-{}", std::process::id()));
        let temporary = self.path.with_file_name(temporary);
        let written = (|| {
            let mut file = File::create(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, &self.path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
            return written;
        }
        // The rename is durable once the directory's entry is.
        let directory = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(directory)?.sync_all()
    }

    /// Whether the file could be written now (for a warning at start): its directory exists
    /// and takes a new file.
    pub fn writable(&self) -> Result<(), StateError> {
        let directory = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let probe = directory.join(format!(".tagroute-state-probe-{}", std::process::id()));
        File::create(&probe)
            .and_then(|_| fs::remove_file(&probe))
            .map_err(|e| self.error(format!("cannot write a file in its directory: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Update;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tagroute-state-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("creates");
        dir
    }

    fn some_overrides() -> Overrides {
        let mut overrides = Overrides::new();
        overrides.record(&[
            Update::SetAvailable {
                server: "r1".into(),
                available: false,
            },
            Update::SetLeader {
                database: "neo4j".into(),
                leader: Some("p2".into()),
            },
        ]);
        overrides
    }

    #[test]
    fn overrides_written_read_back_the_same_and_a_missing_file_holds_none() {
        let dir = scratch("roundtrip");
        let file = StateFile::new(dir.join("state.json"));
        assert_eq!(file.read().expect("missing is empty"), Overrides::new());
        file.write(&some_overrides()).expect("writes");
        assert_eq!(file.read().expect("reads"), some_overrides());
        let names: Vec<String> = fs::read_dir(&dir)
            .expect("lists")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["state.json"], "no temporary file is left behind");
        file.write(&Overrides::new()).expect("writes");
        assert_eq!(file.read().expect("reads"), Overrides::new());
        fs::remove_dir_all(&dir).expect("cleans");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_a_crashed_one_is_ignored() {
        let dir = scratch("failed");
        let path = dir.join("state.json");
        let file = StateFile::new(path.clone());
        file.write(&some_overrides()).expect("writes");
        // A crash between writing the temporary file and renaming it leaves that file beside.
        fs::write(
            dir.join("state.json.tmp-1"),
            "{\"tagroute_state\": 1, \"overr",
        )
        .expect("w");
        assert_eq!(file.read().expect("reads"), some_overrides());
        // A state file whose directory is gone cannot be written; the error says where.
        let gone = StateFile::new(dir.join("gone").join("state.json"));
        let error = gone.write(&some_overrides()).expect_err("no directory");
        assert!(
            error.to_string().starts_with(&format!(
                "{}: cannot write the state file: ",
                gone.path().display()
            )),
            "{error}"
        );
        assert!(gone.writable().is_err());
        assert!(file.writable().is_ok());
        fs::remove_dir_all(&dir).expect("cleans");
    }

    #[test]
    fn a_file_that_does_not_read_is_an_error_with_its_position_never_an_empty_state() {
        let dir = scratch("corrupt");
        let file = StateFile::new(dir.join("state.json"));
        let error = |text: &str| {
            fs::write(file.path(), text).expect("writes");
            file.read().expect_err("corrupt").to_string()
        };
        let at = file.path().display().to_string();
        assert_eq!(
            error("{\"tagroute_state\": 1, \"overrides\": [{\"op\": \"set_available\""),
            format!(
                "{at}: not a state file (EOF while parsing an object at line 1 column 58); \
                 fix it or move it away; tagroute never drops overrides silently"
            )
        );
        assert_eq!(
            error(r#"{"tagroute_state": 2, "overrides": []}"#),
            format!(
                "{at}: not a state file of this version (`tagroute_state` must be 1); fix it or \
                 move it away; tagroute never drops overrides silently"
            )
        );
        assert_eq!(
            error(
                r#"{"tagroute_state": 1, "overrides": [{"op": "set_available", "server": "a", "available": true}, {"op": "set_avail"}]}"#
            ),
            format!(
                "{at}: overrides[1].op: unknown field (expected one of set_available, set_tags, \
                 set_leader, add_server, remove_server, set_database, remove_database; got \
                 `set_avail`); fix it or move it away; tagroute never drops overrides silently"
            )
        );
        assert_eq!(
            error(r#"{"tagroute_state": 1, "extra": 1}"#),
            format!(
                "{at}: unknown key `extra`; fix it or move it away; tagroute never drops \
                 overrides silently"
            )
        );
        fs::remove_dir_all(&dir).expect("cleans");
    }
}
