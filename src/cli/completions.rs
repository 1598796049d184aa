//! `hero_logic completions SHELL`; the generated files are committed under
//! `completions/`, and a test fails when they are stale.

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

pub fn print(shell: Shell) -> anyhow::Result<i32> {
    let mut command = Cli::command();
    // Generated whole first: clap_complete panics on a failed write, and
    // stdout may be a pipe its reader has left.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "hero_logic", &mut script);
    crate::out!("{}", String::from_utf8_lossy(&script));
    Ok(0)
}
