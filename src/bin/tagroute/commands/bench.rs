//! `tagroute bench` (being built).

use crate::args::BenchArgs;
use crate::report::{Console, Failure};

pub fn run(_args: &BenchArgs, _console: &mut Console<'_>) -> Result<(), Failure> {
    Err(Failure::Invalid("`bench` is not built yet".into()))
}
