//! The end-to-end tests: one test binary that runs the built `hero_logic`
//! against a real server on private folders, with real Python flows.

mod api;
mod channel;
mod cli;
mod common;
mod newuser;
mod pause;
mod runs;
mod server;
mod store;
mod subflow;
mod tmux;
mod tui;
