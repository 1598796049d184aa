//! `hero_logic completions SHELL`; the generated files are committed under
//! `completions/`, and a test fails when they are stale.

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

pub fn print(shell: Shell) -> anyhow::Result<i32> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "hero_logic", &mut std::io::stdout());
    Ok(0)
}
