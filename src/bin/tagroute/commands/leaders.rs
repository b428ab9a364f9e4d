//! `tagroute leaders` (being built).

use crate::args::LeadersArgs;
use crate::report::{Console, Failure};

pub fn run(_args: &LeadersArgs, _console: &mut Console<'_>) -> Result<(), Failure> {
    Err(Failure::Invalid("`leaders` is not built yet".into()))
}
