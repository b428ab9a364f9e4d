//! `tagroute man [COMMAND...] [--out-dir DIR]` and `tagroute completions SHELL`: manual pages
//! and shell completions made from the command line's own definition (`args.rs`), so they say
//! what `--help` says.

use std::path::Path;

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManArgs};
use crate::report::{Console, Failure};

pub fn man(args: &ManArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let root = command();
    if let Some(dir) = &args.out_dir {
        let cannot = |e: std::io::Error| {
            Failure::Invalid(format!(
                "cannot write manual pages to {}: {e}",
                dir.display()
            ))
        };
        std::fs::create_dir_all(dir).map_err(cannot)?;
        return write_pages(&root, dir, console).map_err(|e| match e {
            Failure::Io(e) => cannot(e),
            other => other,
        });
    }
    let mut page = &root;
    for name in &args.command {
        page = page.find_subcommand(name).ok_or_else(|| {
            let known: Vec<&str> = page.get_subcommands().map(|c| c.get_name()).collect();
            Failure::Invalid(format!(
                "no command `{}`; the commands are {}",
                args.command.join(" "),
                known.join(", ")
            ))
        })?;
    }
    manual(page).render(console.out)?;
    Ok(())
}

pub fn completions(args: &CompletionsArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    clap_complete::generate(args.shell, &mut Cli::command(), "tagroute", console.out);
    Ok(())
}

/// The command line, built (so each subcommand's display name is `tagroute-serve`, and so on),
/// without clap's `help` subcommand, which has no page.
fn command() -> clap::Command {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    root
}

fn manual(command: &clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(command.clone())
        .source(format!("tagroute {}", env!("CARGO_PKG_VERSION")))
        .manual("tagroute manual")
}

/// Writes the page of `command` and of each of its subcommands into `dir`, and prints each path.
fn write_pages(
    command: &clap::Command,
    dir: &Path,
    console: &mut Console<'_>,
) -> Result<(), Failure> {
    let written = manual(command).generate_to(dir)?;
    writeln!(console.out, "{}", written.display())?;
    for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
        write_pages(sub, dir, console)?;
    }
    Ok(())
}
