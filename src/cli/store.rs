//! `store check` and `store repair`: offline commands on the data folder.

use clap::Subcommand;

use super::Ctx;
use super::render::{UserError, print_json};
use crate::server::offline::{self, Refusal};

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
    if crate::env::database_url().is_some() {
        return Err(UserError::new(
            "`store check` and `store repair` look at the embedded redb store; this server keeps everything in PostgreSQL (HERO_LOGIC_DATABASE_URL)",
        )
        .hint("PostgreSQL checks its own data: use its tools (pg_amcheck, your backups)")
        .into());
    }
    let dir = &ctx.paths.data_dir;
    let is_check = matches!(command, StoreCommand::Check);
    let outcome = match command {
        StoreCommand::Check => offline::check(dir),
        StoreCommand::Repair => offline::repair(dir),
    };
    let report = outcome.map_err(|refusal| match refusal {
        Refusal { in_use: true, .. } => UserError::new(refusal.message)
            .hint("stop it first with `hero_logic stop`, then run this again"),
        other => other.into_user_error(),
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
