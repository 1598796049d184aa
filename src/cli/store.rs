//! `store check` and `store repair`: offline commands on the data folder.

use clap::Subcommand;

use super::Ctx;
use super::render::{UserError, print_json};
use crate::store::{StoreError, check};

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Say what is damaged in the data folder's store and journal; exits 1
    /// when something is. The server must be stopped.
    Check,
    /// Keep what can be kept of a damaged store, start a fresh journal, and
    /// list each play that lost acknowledged data. The server must be
    /// stopped.
    Repair,
}

pub fn run(ctx: &Ctx, command: StoreCommand) -> anyhow::Result<i32> {
    let dir = &ctx.paths.data_dir;
    let is_check = matches!(command, StoreCommand::Check);
    let outcome = match command {
        StoreCommand::Check => check::check(dir),
        StoreCommand::Repair => check::repair(dir),
    };
    let report = outcome.map_err(|e| match e {
        StoreError::Locked { .. } => UserError::new(e.to_string())
            .hint("stop it first with `hero_logic stop`, then run this again")
            .into(),
        other => anyhow::Error::new(other),
    })?;
    let damaged = !report.problems.is_empty();
    if ctx.json {
        print_json(&serde_json::json!({
            "data_dir": dir,
            "damaged": damaged,
            "problems": report.problems,
            "plays": report.plays,
            "batches": report.batches,
        }));
    } else {
        for problem in &report.problems {
            outln!("damaged  {problem}");
        }
        for sid in &report.plays {
            outln!("lost     play {sid}: acknowledged data lost");
        }
        let batches = report.batches;
        if !is_check {
            outln!(
                "repaired {}: {batches} whole journal batches kept",
                dir.display()
            );
        } else if damaged {
            eprintln!("hint: `hero_logic store repair` keeps what can be kept");
        } else {
            outln!(
                "ok       {}: no damage ({batches} whole journal batches a start applies)",
                dir.display()
            );
        }
    }
    Ok(i32::from(is_check && damaged))
}
