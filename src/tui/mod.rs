//! `hero_logic tui`: the dashboard of SPEC §7 — plays, live flow trees,
//! spans, and pending pauses answered in place.
//!
//! Shaped as actions, update, render (ratatui's component template):
//! - [`action`]: keys become [`Action`]s through one keymap table;
//! - [`app`]: the state; `update(Action)` and `apply(Data)` change it and
//!   return the RPC calls to make as data;
//! - [`view`]: draws the state, reading only;
//! - `runtime`: the terminal, the input and subscription threads, and the
//!   calls themselves, through the shared typed client.
//!
//! The flow tree is drawn by our own windowed list over an index by parent
//! ([`spans`]) rather than tui-tree-widget, which flattens the whole tree on
//! every frame: a play of ten thousand spans must still draw in a
//! millisecond or two. Selection is by identity all the same.
//!
//! Deliberately absent: any knowledge of redb or the wire format; the
//! dashboard is a client like the CLI.

pub mod action;
pub mod app;
mod form;
mod format;
mod runtime;
pub mod spans;
mod strings;
mod theme;
mod view;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub use action::{Action, Mode, action_for};
pub use app::{App, Data, Effect};

use crate::client::Client;
use crate::config::Paths;

/// Opens the dashboard on a connected client, until the user quits.
pub fn run(client: Client, paths: &Paths) -> anyhow::Result<i32> {
    runtime::run(client, paths)
}
