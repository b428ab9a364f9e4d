//! `tagroute check` (being built).

use crate::args::CheckArgs;
use crate::report::{Console, Failure};

pub fn run(_args: &CheckArgs, _console: &mut Console<'_>) -> Result<(), Failure> {
    Err(Failure::Invalid("`check` is not built yet".into()))
}
