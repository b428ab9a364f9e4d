//! `tagroute upstream` (being built).

use crate::args::UpstreamArgs;
use crate::report::{Console, Failure};

pub fn run(_args: &UpstreamArgs, _console: &mut Console<'_>) -> Result<(), Failure> {
    Err(Failure::Invalid("`upstream` is not built yet".into()))
}
