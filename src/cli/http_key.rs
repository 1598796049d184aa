//! `http-key create | list | revoke`: the keys that let a program outside
//! use the HTTP API (SPEC §11). The key is printed once, at creation; the
//! server keeps only its digest.

use clap::Subcommand;
use comfy_table::{Table, presets};

use super::Ctx;
use super::render::{age, client_error, print_json};

#[derive(Debug, Subcommand)]
pub enum HttpKeyCommand {
    /// Make a new key and print it, this once (keep it in your webhook sender's secrets).
    Create {
        /// What the key is for, shown by `list`.
        #[arg(long)]
        label: Option<String>,
    },
    /// List the keys: id, label, when made and last used (never the key itself).
    List,
    /// Revoke a key by its id: requests presenting it get 401 from now on.
    Revoke {
        /// The key's id, as `list` shows it.
        id: String,
    },
}

pub fn run(ctx: &Ctx, command: HttpKeyCommand) -> anyhow::Result<i32> {
    let mut client = ctx.client()?;
    match command {
        HttpKeyCommand::Create { label } => {
            let created = client
                .http_key_create(label.as_deref())
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&created);
            } else {
                outln!("{}", created.key);
                eprintln!(
                    "key {} created; it is shown this once: send it as `Authorization: Bearer KEY`",
                    created.info.id
                );
            }
        }
        HttpKeyCommand::List => {
            let keys = client
                .http_key_list()
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&keys);
                return Ok(0);
            }
            let mut table = Table::new();
            table.load_style(presets::NOTHING);
            table.set_header(["ID", "LABEL", "CREATED", "LAST USED"]);
            for key in &keys {
                table.add_row([
                    key.id.clone(),
                    key.label.clone().unwrap_or_default(),
                    age(&key.created_at),
                    key.last_used_at
                        .as_deref()
                        .map(age)
                        .unwrap_or("never".into()),
                ]);
            }
            outln!("{table}");
        }
        HttpKeyCommand::Revoke { id } => {
            let revoked = client
                .http_key_revoke(&id)
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&revoked);
            } else {
                eprintln!("key {} revoked", revoked.id);
            }
        }
    }
    Ok(0)
}
