//! The command line: clap derive, noun then verb, one module per noun.
//!
//! Parse, then resolve: [`Cli`] holds the raw arguments; [`Ctx`] the
//! resolved folders and output mode every command works with. stdout is
//! data (sids, JSON, tables), stderr is talk (progress, warnings, hints).

/// `print!` for a command's output; [`write_out`] says why.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!($($arg)*)) };
}

/// `println!` for a command's output; [`write_out`] says why.
#[macro_export]
macro_rules! outln {
    () => { $crate::cli::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

mod completions;
mod http_key;
mod play;
mod progress;
mod render;
mod resume;
mod rpc;
mod schedule;
mod server;
mod store;
mod workers;
mod workflow;

use clap::{Parser, Subcommand};

use crate::client::{self, Client};
use crate::config::Paths;

pub use completions::complete_from_env;
pub use render::{UserError, print_error};

/// Writes to stdout. A reader that has gone away (`hero_logic play list |
/// head`) ends the command quietly and successfully, as it ends `cat`,
/// where `println!` would panic.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "hero_logic",
    version,
    about = "Durable Python flows that pause, resume and replay, from one binary",
    long_about = None,
    propagate_version = true,
)]
pub struct Cli {
    /// Print objects as JSON (the RPC objects) instead of human text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Start the server in the background (alias of `hero_logic start`).
    #[arg(long = "start", conflicts_with = "stop_flag")]
    pub start_flag: bool,
    /// Stop the server (alias of `hero_logic stop`).
    #[arg(long = "stop")]
    pub stop_flag: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server in the background; returns once it answers.
    Start,
    /// Stop the server gracefully; running plays resume at its next start.
    Stop,
    /// Say whether the server runs, where, and for how long.
    Status,
    /// Run the server in the foreground.
    Server(server::ServerArgs),
    /// Check the service manifest against this binary.
    Info {
        #[command(subcommand)]
        command: server::InfoCommand,
    },
    /// Save, list, show and lint workflows.
    Workflow {
        #[command(subcommand)]
        command: workflow::WorkflowCommand,
    },
    /// Start, watch, list, cancel and restart plays.
    Play {
        #[command(subcommand)]
        command: play::PlayCommand,
    },
    /// List the open pauses of a play.
    Pending {
        /// The play's sid.
        sid: String,
    },
    /// Answer a pause: `resume SID ID JSON` for scripts, `resume SID` to be asked.
    Resume(resume::ResumeArgs),
    /// Send a signal by name: it answers a pause of that name, now or when one is reached.
    Signal(resume::SignalArgs),
    /// Start plays of a workflow by the clock: cron rules and intervals.
    Schedule {
        #[command(subcommand)]
        command: schedule::ScheduleCommand,
    },
    /// Open the dashboard.
    Tui,
    /// Call any RPC method and print its result as JSON.
    Rpc {
        /// The method, e.g. `play_get` (`rpc.discover` lists them all).
        method: String,
        /// Params by name, as a JSON object.
        params: Option<String>,
    },
    /// List the servers sharing this store, and the plays each runs.
    Workers,
    /// Make, list and revoke the keys of the HTTP API.
    HttpKey {
        #[command(subcommand)]
        command: http_key::HttpKeyCommand,
    },
    /// Check or repair the data folder offline (the server stopped).
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Where the Python SDK lives.
    Sdk {
        #[command(subcommand)]
        command: SdkCommand,
    },
    /// Print shell completions.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum SdkCommand {
    /// Print the folder to put on PYTHONPATH for the SDK, for editors and linters.
    Path,
}

/// What every command works with, resolved once.
pub struct Ctx {
    pub paths: Paths,
    pub json: bool,
}

impl Ctx {
    /// A connection to the server, started first when it is not running.
    pub fn client(&self) -> anyhow::Result<Client> {
        client::connect_or_start(&self.paths).map_err(|e| render::client_error(e, &self.paths))
    }
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    render::init_colors();
    let ctx = Ctx {
        paths: Paths::resolve(),
        json: cli.json,
    };
    let command = match (cli.command, cli.start_flag, cli.stop_flag) {
        (Some(c), false, false) => c,
        (None, true, _) => Command::Start,
        (None, _, true) => Command::Stop,
        (Some(_), _, _) => {
            return Err(
                UserError::usage("--start and --stop stand alone, without a command").into(),
            );
        }
        (None, false, false) => {
            return Err(UserError::usage(
                "no command given (hint: `hero_logic --help` lists them)",
            )
            .into());
        }
    };
    match command {
        Command::Start => server::start(&ctx),
        Command::Stop => server::stop(&ctx),
        Command::Status => server::status(&ctx),
        Command::Server(args) => server::foreground(&ctx, args),
        Command::Info { command } => server::info(&ctx, command),
        Command::Workflow { command } => workflow::run(&ctx, command),
        Command::Play { command } => play::run(&ctx, command),
        Command::Pending { sid } => resume::pending(&ctx, &sid),
        Command::Resume(args) => resume::resume(&ctx, args),
        Command::Signal(args) => resume::signal(&ctx, args),
        Command::Schedule { command } => schedule::run(&ctx, command),
        Command::Tui => crate::tui::run(ctx.client()?, &ctx.paths),
        Command::Rpc { method, params } => rpc::run(&ctx, &method, params.as_deref()),
        Command::Store { command } => store::run(&ctx, command),
        Command::HttpKey { command } => http_key::run(&ctx, command),
        Command::Workers => workers::run(&ctx),
        Command::Sdk {
            command: SdkCommand::Path,
        } => {
            let path = crate::sdk::install(&ctx.paths.data_dir)?;
            outln!("{}", path.display());
            Ok(0)
        }
        Command::Completions { shell } => completions::print(shell),
    }
}
