//! `start`, `stop`, `status`, `server` and `info check`.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use super::render::{UserError, print_json};
use crate::client::{self, Client};
use crate::manifest;
use crate::server::offline;
use crate::server::socket::prepare_sockets;

/// `hero_logic server`'s arguments.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Serve the HTTP API (resume URLs, starts, signals) on ADDR, e.g. 127.0.0.1:8470 [env: HERO_LOGIC_HTTP].
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// Allow --http on an address other machines can reach; without it only loopback is taken.
    #[arg(long)]
    http_public: bool,
    /// Keep everything in this PostgreSQL database (postgres://…) instead of the redb file [env: HERO_LOGIC_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum InfoCommand {
    /// Verify that service.toml and this binary agree; prints `0 issues`.
    Check,
}

pub fn start(ctx: &Ctx) -> anyhow::Result<i32> {
    // A socket that resets connections is a server dying (a `kill -9`):
    // not running, so start one.
    if let Some((_, info)) = client::probe(&ctx.paths.socket)? {
        eprintln!("hero_logic is already running (pid {})", info["pid"]);
        return Ok(0);
    }
    client::start_server(&ctx.paths).map_err(|e| super::render::client_error(e, &ctx.paths))?;
    let info = Client::connect(&ctx.paths.socket)?.info()?;
    eprintln!(
        "hero_logic started (pid {}) on {}",
        info["pid"],
        ctx.paths.socket.display()
    );
    Ok(0)
}

/// Asks the server to stop and returns once its process has let go of the
/// data folder, so the next command may open the store or start anew.
pub fn stop(ctx: &Ctx) -> anyhow::Result<i32> {
    let Some((mut c, info)) = client::probe(&ctx.paths.socket)? else {
        eprintln!("hero_logic is not running");
        return Ok(0);
    };
    c.server_shutdown()?;
    let data_dir = info["data_dir"]
        .as_str()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| ctx.paths.data_dir.clone());
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if offline::is_free(&data_dir) && Client::connect(&ctx.paths.socket).is_err() {
            eprintln!("hero_logic stopped (pid {})", info["pid"]);
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(UserError::new(format!(
        "the server (pid {}) did not stop within 15 s",
        info["pid"]
    ))
    .hint(format!("kill it with `kill {}`", info["pid"]))
    .into())
}

pub fn status(ctx: &Ctx) -> anyhow::Result<i32> {
    let version = env!("CARGO_PKG_VERSION");
    let report = match client::probe(&ctx.paths.socket)? {
        Some((_, info)) => {
            json!({
                "running": true,
                "pid": info["pid"],
                "socket": info["socket"],
                "data_dir": info["data_dir"],
                "version": info["version"],
                "uptime_s": info["uptime_s"],
                "backend": info["backend"],
            })
        }
        None => json!({
            "running": false,
            "pid": null,
            "socket": ctx.paths.socket,
            "data_dir": ctx.paths.data_dir,
            "version": version,
            "uptime_s": null,
            // What a server started now would use.
            "backend": if crate::env::database_url().is_some() { "postgres" } else { "redb" },
        }),
    };
    let running = report["running"] == json!(true);
    if ctx.json {
        print_json(&report);
    } else if running {
        outln!(
            "running  pid {}  up {}\nsocket   {}\ndata     {}\nstore    {}",
            report["pid"],
            crate::format::duration(report["uptime_s"].as_f64().unwrap_or(0.0)),
            report["socket"].as_str().unwrap_or_default(),
            report["data_dir"].as_str().unwrap_or_default(),
            report["backend"].as_str().unwrap_or("redb"),
        );
    } else {
        outln!("not running\nsocket   {}", ctx.paths.socket.display());
    }
    Ok(if running { 0 } else { 3 })
}

/// `hero_logic server`: banner, sockets, then serve until stopped.
pub fn foreground(ctx: &Ctx, args: ServerArgs) -> anyhow::Result<i32> {
    let manifest = manifest::validate_service_toml()?;
    let http = args
        .http
        .or_else(crate::env::http)
        .map(|addr| crate::server::http::resolve(&addr, args.http_public))
        .transpose()
        .map_err(|e| {
            let hint = match e {
                crate::server::http::AddressError::NotLoopback(_) => {
                    "add --http-public to serve it there on purpose (and put TLS in front), or use 127.0.0.1:PORT"
                }
                crate::server::http::AddressError::Unreadable(_) => {
                    "give a host and a port, e.g. --http 127.0.0.1:8470"
                }
            };
            UserError::usage(e.to_string()).hint(hint)
        })?;
    out!(
        "{}",
        manifest.banner(&ctx.paths.socket, &ctx.paths.data_dir, std::process::id())
    );
    prepare_sockets(&ctx.paths.socket_dir, &ctx.paths.socket).map_err(|e| {
        UserError::new(e.to_string())
            .hint("stop it with `hero_logic stop`, or point HERO_SOCKET_DIR elsewhere")
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let released = runtime
        .block_on(crate::server::serve(
            manifest,
            ctx.paths.clone(),
            crate::env::python(),
            crate::env::max_runs(),
            http,
            args.database_url.or_else(crate::env::database_url),
        ))
        .map_err(|e| match offline::refusal(e) {
            Ok(refusal) if refusal.in_use => UserError::new(refusal.message)
                .hint("stop it with `hero_logic stop`, or use another HERO_LOGIC_DATA_DIR")
                .into(),
            Ok(refusal) => refusal.into_user_error().into(),
            Err(e) => e,
        })?;
    // The tasks go with the runtime; the connections' threads end as their
    // killed flows' sockets close. The store closes with the last of them
    // (its last fold marks the journal empty for good); a thread that
    // lingers past this only costs that mark, the process's exit closes
    // the rest.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    if !released.wait(SHUTDOWN_GRACE) {
        tracing::warn!("stopping before every connection let go of the store");
    }
    Ok(0)
}

/// How long a stopping server waits for its tasks, then for its store to
/// close.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

pub fn info(_ctx: &Ctx, command: InfoCommand) -> anyhow::Result<i32> {
    match command {
        InfoCommand::Check => {
            let issues = manifest::validate_service_toml()?.check();
            for issue in &issues {
                outln!("{issue}");
            }
            outln!("{} issues", issues.len());
            Ok(if issues.is_empty() { 0 } else { 1 })
        }
    }
}
