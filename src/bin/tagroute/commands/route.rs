//! `tagroute route` (being built).

use crate::args::RouteArgs;
use crate::report::{Console, Failure};

pub fn run(_args: &RouteArgs, _console: &mut Console<'_>) -> Result<(), Failure> {
    Err(Failure::Invalid("`route` is not built yet".into()))
}
