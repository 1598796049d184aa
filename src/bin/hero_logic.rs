//! Entry point: manifest check, `--info`, clap, dispatch.
//!
//! The start-up order is the service standard: validate_service_toml →
//! handle_info_flag → Args::parse → (server only) print_startup_banner →
//! prepare_sockets. The last two live in `hero_logic server`.

use std::process::ExitCode;

use clap::Parser;
use hero_logic::cli::{self, Cli};
use hero_logic::manifest;

fn main() -> ExitCode {
    let manifest = match manifest::validate_service_toml() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if handle_info_flag(&manifest) {
        return ExitCode::SUCCESS;
    }
    cli::complete_from_env();
    let args = Cli::parse();
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(e) => cli::print_error(&e),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `hero_logic --info` prints the manifest as JSON, before any parsing.
fn handle_info_flag(manifest: &manifest::Manifest) -> bool {
    if std::env::args().nth(1).as_deref() != Some("--info") {
        return false;
    }
    let mut info = manifest.info_json();
    // Where a server started with this environment keeps everything.
    info["backend"] = serde_json::json!(if hero_logic::env::database_url().is_some() {
        "postgres"
    } else {
        "redb"
    });
    hero_logic::outln!(
        "{}",
        serde_json::to_string_pretty(&info).expect("the manifest serializes")
    );
    true
}
