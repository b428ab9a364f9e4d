//! One module per subcommand, and the loaders they share: one conversion from raw arguments
//! to checked values (a snapshot, a parsed policy), failing with exit status 1.

mod bench;
mod check;
mod demo;
mod disasm;
mod eval;
mod explain;
mod leaders;
mod manual;
mod resilience;
mod route;
#[cfg(feature = "serve")]
mod serve;
mod topology;
mod upstream;
mod whatif;

use std::path::Path;

use tagroute::Strictness;
use tagroute::config::Config;
use tagroute::syntax::{self, Policy};
use tagroute::topology::{Snapshot, TagInterner, from_json};

use crate::args::{Command, StrictArg};
use crate::report::{Console, Failure};

/// Runs one subcommand.
pub fn run(command: Command, console: &mut Console<'_>) -> Result<(), Failure> {
    match command {
        Command::Check(args) => check::run(&args, console),
        Command::Eval(args) => eval::run(&args, console),
        Command::Disasm(args) => disasm::run(&args, console),
        Command::Explain(args) => explain::run(&args, console),
        Command::Route(args) => route::run(&args, console),
        Command::Upstream(args) => upstream::run(&args, console),
        Command::Leaders(args) => leaders::run(&args, console),
        Command::Bench(args) => bench::run(&args, console),
        Command::Demo => demo::run(console),
        Command::Whatif(args) => whatif::run(&args, console),
        Command::Resilience(args) => resilience::run(&args, console),
        Command::Topology(args) => topology::run(&args, console),
        Command::Man(args) => manual::man(&args, console),
        Command::Completions(args) => manual::completions(&args, console),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(&args, console),
    }
}

impl StrictArg {
    pub fn strictness(&self) -> Strictness {
        if self.neo4j {
            Strictness::Strict
        } else {
            Strictness::Default
        }
    }
}

/// Reads a file, or fails naming it.
pub fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Invalid(format!("cannot read {}: {e}", path.display())))
}

/// Loads a neo4j.conf (default strictness); its errors go to stderr, rendered with carets.
pub fn load_config(path: &Path, console: &mut Console<'_>) -> Result<Config, Failure> {
    Config::load(path, Strictness::Default).map_err(|errors| {
        let _ = writeln!(console.err, "{}", errors.render_all());
        Failure::Reported
    })
}

/// How to reach the cluster at `uri` (named `flag` in errors): its seeds, the CA its TLS is
/// checked against, and the credentials read from `password_file` when a user is given.
#[cfg(feature = "serve")]
pub fn cluster(
    flag: &str,
    uri: &str,
    tls_ca: Option<&Path>,
    user: Option<&str>,
    password_file: Option<&Path>,
) -> Result<tagroute::follow::FollowSettings, Failure> {
    use tagroute::follow::{Credentials, FollowSettings, Seeds};

    let invalid = |e: &dyn std::fmt::Display| Failure::Invalid(format!("{flag}: {e}"));
    let seeds: Seeds = uri.parse().map_err(|e| invalid(&e))?;
    let settings = FollowSettings::new(seeds, tls_ca).map_err(|e| invalid(&e))?;
    Ok(match (user, password_file) {
        (Some(user), Some(file)) => {
            settings.with_credentials(Credentials::from_file(user, file).map_err(Failure::Invalid)?)
        }
        _ => settings,
    })
}

/// Reads and builds a topology, or fails naming the file and the field.
pub fn load_topology(path: &Path) -> Result<Snapshot, Failure> {
    let invalid = |e: &dyn std::fmt::Display| Failure::Invalid(format!("{}: {e}", path.display()));
    let spec = from_json(&read(path)?).map_err(|e| invalid(&e))?;
    Snapshot::build(&spec, &TagInterner::new()).map_err(|e| invalid(&e))
}

/// Parses a policy given on the command line; errors and warnings go to stderr with a caret.
pub fn parse_policy(
    text: &str,
    strictness: Strictness,
    census: Option<&Snapshot>,
    console: &mut Console<'_>,
) -> Result<Policy, Failure> {
    match syntax::parse(text, strictness) {
        Ok(policy) => {
            let lints = match census {
                Some(snapshot) => syntax::lint_with(&policy, snapshot),
                None => syntax::lint(&policy),
            };
            console.lints(text, None, &lints)?;
            Ok(policy)
        }
        Err(error) => {
            console.policy_error(text, None, &error)?;
            Err(Failure::Reported)
        }
    }
}
