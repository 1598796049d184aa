//! `hero_logic tui`: the dashboard of SPEC §7 — plays, live flow trees,
//! spans, and pending pauses answered in place.
//!
//! Shaped as actions, update, render (ratatui's component template):
//! - `action`: keys become [`Action`]s through one keymap table;
//! - `app`: the state, by screen (`home`, `play`); `update(Action)` and
//!   `apply(Data)` change it and return the RPC calls to make as data
//!   ([`Effect`]);
//! - `view`: draws the state, reading only;
//! - `runtime`: the terminal, the input and subscription threads, and the
//!   calls themselves, through the shared typed client.
//!
//! Beside them: `spans` (a play's spans, indexed by parent), `form` (the
//! start form), `strings` and `theme` (every sentence and every colour).
//!
//! The flow tree is drawn by our own windowed list over an index by parent
//! (`spans`) rather than tui-tree-widget, which flattens and re-hashes the
//! whole tree on every frame and needs `&mut` state to draw: here the tree
//! is flattened only when spans arrive, and a frame draws only the rows in
//! view (`cargo bench --bench tui_render`; figures in BENCHMARKS.md).
//! Selection is by identity all the same, as in tui-tree-widget.
//!
//! Invariants: only `runtime` does IO; the state changes only through
//! `update` and `apply`; the dashboard is a client like the CLI and knows
//! nothing of redb or the wire format.

mod action;
mod app;
mod form;
mod runtime;
mod spans;
mod strings;
mod theme;
mod view;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

pub use action::{Action, Mode};
pub use app::{App, Data, Effect};

use crate::client::Client;
use crate::config::Paths;

/// Opens the dashboard on a connected client, until the user quits.
pub fn run(client: Client, paths: &Paths) -> anyhow::Result<i32> {
    runtime::run(client, paths)
}
