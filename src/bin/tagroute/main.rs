//! `tagroute`: the command-line tool, a thin layer over the library (docs/cli.md).
//!
//! `main` only parses arguments and dispatches; each subcommand lives in `commands/<name>.rs`.
//! Machine-readable output is JSON on stdout, diagnostics go to stderr, and the exit status is
//! decided once, here: 0 ok, 1 invalid input or no answer, 2 usage error (clap's own).

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        reason = "a test fails loudly on what it did not expect"
    )
)]

/// With the server built in, mimalloc: answers allocate often, some sets 64-byte-aligned, and
/// glibc's aligned allocation was a measured share of the serving time (Cargo.toml).
#[cfg(feature = "serve")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod commands;
mod report;

use std::io;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    if let Some(bytes) = cli.max_tag_matrix {
        tagroute::topology::TagInterner::set_default_matrix_limit(bytes);
    }
    let (stdin, stdout, stderr) = (io::stdin(), io::stdout(), io::stderr());
    let mut console = report::Console {
        input: &mut stdin.lock(),
        out: &mut stdout.lock(),
        err: &mut stderr.lock(),
    };
    let result = commands::run(cli.command, &mut console);
    let _ = console.out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`tagroute eval --batch | head`) is not an error of ours.
        Err(report::Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(console.err);
            ExitCode::from(failure.code())
        }
    }
}
