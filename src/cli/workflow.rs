//! `hero_logic workflow save | list | show | lint`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use comfy_table::{Table, presets};
use console::style;

use super::Ctx;
use super::render::{UserError, age, client_error, print_json};
use crate::api::SavedWorkflow;
use crate::client::{Client, SaveRequest};
use crate::model::{FlowField, LintWarning};

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Save a flow script as a new version of a workflow.
    Save {
        /// The Python file; its `@flow def main(...)` is the root flow.
        file: PathBuf,
        /// The workflow's name [default: `@flow(name=...)` on main, else the file's stem].
        #[arg(long)]
        name: Option<String>,
        /// Save it even when the name belongs to a workflow saved from another file.
        #[arg(long)]
        replace: bool,
    },
    /// List the saved workflows.
    List,
    /// Show a workflow: inputs, outputs and versions.
    Show {
        /// The workflow's name or sid.
        name: String,
    },
    /// Flag non-determinism passed into step arguments, without a server.
    Lint {
        /// The Python file to check.
        file: PathBuf,
    },
}

pub fn run(ctx: &Ctx, command: WorkflowCommand) -> anyhow::Result<i32> {
    match command {
        WorkflowCommand::Save {
            file,
            name,
            replace,
        } => {
            let saved = save(ctx, &mut None, &file, name.as_deref(), replace)?;
            if ctx.json {
                print_json(&saved.workflow);
            } else {
                outln!(
                    "saved workflow {} ({}) at version {}",
                    saved.workflow.name,
                    saved.workflow.sid,
                    saved.workflow.current_version_sid
                );
            }
            Ok(0)
        }
        WorkflowCommand::List => {
            let workflows = ctx
                .client()?
                .workflow_list()
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&workflows);
                return Ok(0);
            }
            let mut table = Table::new();
            table.load_style(presets::NOTHING);
            table.set_header(["NAME", "SID", "VERSION", "INPUTS", "UPDATED"]);
            for w in &workflows {
                table.add_row([
                    w.name.clone(),
                    w.sid.clone(),
                    w.current_version_sid.clone(),
                    fields(&w.inputs),
                    age(&w.updated_at),
                ]);
            }
            outln!("{table}");
            Ok(0)
        }
        WorkflowCommand::Show { name } => {
            let detail = ctx
                .client()?
                .workflow_get(&name)
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&detail);
                return Ok(0);
            }
            let w = &detail.workflow;
            outln!("{} ({})", style(&w.name).bold(), w.sid);
            if !w.description.is_empty() {
                outln!("{}", w.description);
            }
            outln!("inputs   {}", fields(&w.inputs));
            outln!("outputs  {}", fields(&w.outputs));
            outln!("versions");
            for v in detail.versions.iter().rev() {
                let current = if v.sid == w.current_version_sid {
                    "  (current)"
                } else {
                    ""
                };
                outln!("  {}  {}{current}", v.sid, age(&v.created_at));
            }
            Ok(0)
        }
        WorkflowCommand::Lint { file } => lint(ctx, &file),
    }
}

fn fields(fields: &[FlowField]) -> String {
    if fields.is_empty() {
        return "-".into();
    }
    fields
        .iter()
        .map(|f| {
            let optional = if f.required { "" } else { "?" };
            format!("{}{optional}: {}", f.name, f.ty.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_source(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file)
        .map_err(|e| UserError::new(format!("cannot read {}: {e}", file.display())).into())
}

/// Saves a file as a workflow and prints the lint's warnings to stderr. The
/// server names it when `name` is absent, and refuses a taken name whose
/// workflow came from another file unless `replace`. On `client`'s
/// connection, opened here (once the file was read) when it is `None`:
/// `play start FILE` starts on the same one, a connection (and its probe)
/// less on its path.
pub fn save(
    ctx: &Ctx,
    client: &mut Option<Client>,
    file: &Path,
    name: Option<&str>,
    replace: bool,
) -> anyhow::Result<SavedWorkflow> {
    let source = read_source(file)?;
    let file_name = file.file_name().map(|f| f.to_string_lossy().into_owned());
    let source_path = std::fs::canonicalize(file)
        .map_err(|e| UserError::new(format!("cannot read {}: {e}", file.display())))?;
    let source_path = source_path.to_string_lossy();
    if client.is_none() {
        *client = Some(ctx.client()?);
    }
    let saved = client
        .as_mut()
        .expect("connected above")
        .workflow_save(&SaveRequest {
            name,
            source: &source,
            file_name: file_name.as_deref(),
            source_path: Some(&source_path),
            replace,
        })
        .map_err(|e| client_error(e, &ctx.paths))?;
    print_warnings(file, &saved.warnings, true);
    Ok(saved)
}

fn print_warnings(file: &Path, warnings: &[LintWarning], to_stderr: bool) {
    for w in warnings {
        let text = format!(
            "{}:{}:{}: {} {}\n  {} {}",
            file.display(),
            w.line,
            w.col,
            style("warning:").yellow().bold(),
            w.message,
            style("hint:").cyan().bold(),
            w.hint
        );
        if to_stderr {
            eprintln!("{text}");
        } else {
            outln!("{text}");
        }
    }
}

/// Runs the SDK's analysis locally: lint needs no server.
fn lint(ctx: &Ctx, file: &Path) -> anyhow::Result<i32> {
    read_source(file)?;
    crate::sdk::install(&ctx.paths.data_dir)?;
    let output = std::process::Command::new(crate::env::python())
        .args(["-m", "hero_tracing", "inspect"])
        .arg(file)
        .env("PYTHONPATH", crate::sdk::dir(&ctx.paths.data_dir))
        .output()
        .map_err(|e| {
            UserError::new(format!("cannot run {}: {e}", crate::env::python()))
                .hint("set HERO_LOGIC_PYTHON to a Python 3 interpreter")
        })?;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|_| {
        UserError::new(format!(
            "the SDK could not read {}: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })?;
    if report["ok"] != serde_json::Value::Bool(true) {
        return Err(UserError::new(
            report["error"]
                .as_str()
                .unwrap_or("cannot parse")
                .to_owned(),
        )
        .into());
    }
    let warnings: Vec<LintWarning> = serde_json::from_value(report["warnings"].clone())?;
    if ctx.json {
        print_json(&warnings);
    } else {
        print_warnings(file, &warnings, false);
        if warnings.is_empty() {
            eprintln!("{}: no issues", file.display());
        }
    }
    Ok(if warnings.is_empty() { 0 } else { 1 })
}
