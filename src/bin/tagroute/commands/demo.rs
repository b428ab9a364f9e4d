//! `tagroute demo` (being built).

use crate::report::{Console, Failure};

pub fn run(_console: &mut Console<'_>) -> Result<(), Failure> {
    Err(Failure::Invalid("`demo` is not built yet".into()))
}
