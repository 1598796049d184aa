//! `workers`: the servers sharing this store (SPEC §12) — with the
//! embedded store the one server; on PostgreSQL every worker, its last
//! heartbeat and the plays it runs.

use comfy_table::{Table, presets};

use super::Ctx;
use super::render::{age, client_error, print_json};

pub fn run(ctx: &Ctx) -> anyhow::Result<i32> {
    let workers = ctx
        .client()?
        .workers_list()
        .map_err(|e| client_error(e, &ctx.paths))?;
    if ctx.json {
        print_json(&workers);
        return Ok(0);
    }
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(["ID", "HOST", "PID", "STARTED", "HEARTBEAT", "RUNS"]);
    for worker in &workers {
        table.add_row([
            worker.id.clone(),
            worker.host.clone(),
            worker.pid.to_string(),
            age(&worker.started_at),
            age(&worker.heartbeat_at),
            worker.runs.join(" "),
        ]);
    }
    outln!("{table}");
    Ok(0)
}
